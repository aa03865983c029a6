from tests.conftest import exchange, write_lines

from distillguard.fingerprints import stage
from distillguard.ingest import ingest


def _capabilities(ws) -> list[tuple]:
    return [tuple(r.values()) for r in ws.sql("SELECT * FROM exchange_capabilities ORDER BY request_id").to_pylist()]


def test_capabilities_on_worker_processes_equal_those_computed_here(ws, tmp_path, monkeypatch):
    texts = ["Write a Python function that merges two sorted lists.", "Translate 'good morning' into French.",
             "Grade this answer from 1 to 10 against the rubric below.", "What is the capital of Peru?"]
    records = [exchange(i, request={"model": "m", "messages": [{"role": "user", "content": f"{texts[i % 4]} #{i}"}]})
               for i in range(60)]
    ingest(ws, write_lines(tmp_path / "x.jsonl", records))
    assert stage.classify_capabilities(ws) == 60
    here = _capabilities(ws)
    monkeypatch.setattr(stage, "POOL_MIN_INPUTS", 1)
    monkeypatch.setattr(stage, "usable_cores", lambda at_most=None: 2)
    assert stage.classify_capabilities(ws) == 60
    assert _capabilities(ws) == here and len({r[1] for r in here}) > 1
