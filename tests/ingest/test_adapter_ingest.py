"""Foreign log formats go through the same ingest: mapped records land, unmappable ones are quarantined."""

import json
from pathlib import Path

import pytest

from distillguard.ingest import InputError, ingest
from tests.conftest import write_lines

FIXTURES = Path(__file__).parents[1] / "contract" / "fixtures"


def documents(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.mark.parametrize("fmt, fixture", [("litellm", "litellm_payloads.json"),
                                          ("anthropic", "anthropic_documents.json"),
                                          ("otel", "otel_exports.json")])
def test_adapter_files_ingest_with_quarantine(ws, tmp_path, fmt, fixture):
    docs = list(documents(fixture).values())
    path = write_lines(tmp_path / f"{fmt}.jsonl", docs + ["{truncated", {"unrelated": True}])
    report = ingest(ws, path, fmt=fmt)
    assert report.inserted > 0
    reasons = {r["source_line"]: r["reason"] for r in
               ws.sql("SELECT source_line, reason FROM quarantine").to_pylist()}
    assert set(reasons) == {len(docs) + 1, len(docs) + 2}
    assert reasons[len(docs) + 1].startswith("invalid_json")
    assert reasons[len(docs) + 2].startswith(f"adapter: {fmt}")
    rows = ws.sql("SELECT source_line, last_user_message, model FROM exchanges").to_pylist()
    assert all(1 <= r["source_line"] <= len(docs) and r["model"] for r in rows)
    again = ingest(ws, path, fmt=fmt)
    assert again.inserted == 0 and again.quarantined == 0


def test_otel_export_without_genai_spans_is_counted_not_lost(ws, tmp_path):
    path = write_lines(tmp_path / "otel.jsonl", [documents("otel_exports.json")["no_genai_spans"]])
    report = ingest(ws, path, fmt="otel")
    assert report.inserted == 0 and report.quarantined == 0 and report.empty_documents == 1


def test_adapters_only_apply_to_exchanges(ws, tmp_path):
    with pytest.raises(InputError):
        ingest(ws, write_lines(tmp_path / "a.jsonl", [{"account_id": "a"}]), kind="accounts", fmt="litellm")
