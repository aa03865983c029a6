"""The same cases on DuckDB and on Spark: ingest, linkage components, and a whole scan.

Cases parametrised by `backend` assert the same literal expectations on both engines. The scan
case runs a small simulated world on Spark and requires what DuckDB gives on the same input:
every fingerprint table, the links, the flagged accounts and the campaign grouping (compared as
partitions of accounts, not by id).
"""

import json
import math
import random

import igraph as ig
import pyarrow as pa
import pytest

from distillguard.ingest import ingest
from distillguard.linkage import components
from distillguard.report import write_report
from distillguard.scan import scan
from distillguard.simulate import simulate
from distillguard.workspace import Workspace
from tests.conftest import exchange, write_lines


def test_ingest_quarantines_and_deduplicates_alike(open_ws, tmp_path):
    lines = [exchange(i) for i in range(6)] + [
        exchange(1),                                         # duplicate request_id: first copy wins
        "{not json",
        exchange(7, request_id=None),
        exchange(8, timestamp="yesterday"),
        exchange(9, account_id=42),
        "[1, 2]",
    ]
    path = write_lines(tmp_path / "x.jsonl", lines)
    ws = open_ws()
    report = ingest(ws, path)
    assert (report.records, report.inserted, report.duplicates, report.quarantined) == (12, 6, 1, 5)
    assert report.reasons == {"invalid_json": 1, "missing_field": 1, "bad_timestamp": 1, "wrong_type": 1,
                              "not_an_object": 1}
    rows = ws.sql("SELECT source_line, reason FROM quarantine ORDER BY source_line").to_pylist()
    assert [(r["source_line"], r["reason"].split(":")[0]) for r in rows] == [
        (8, "invalid_json"), (9, "missing_field"), (10, "bad_timestamp"), (11, "wrong_type"), (12, "not_an_object")]
    kept = ws.sql("SELECT request_id, source_line, turn_count, user_turns FROM exchanges ORDER BY request_id")
    assert kept.column("request_id").to_pylist() == [f"req-{i}" for i in range(6)]
    assert kept.column("source_line").to_pylist() == [1, 2, 3, 4, 5, 6]  # line 7 was the later copy
    assert set(kept.column("turn_count").to_pylist()) == {2} and set(kept.column("user_turns").to_pylist()) == {1}
    again = ingest(ws, path)  # the same file again: nothing new, nothing quarantined twice
    assert (again.inserted, again.duplicates, again.quarantined) == (0, 7, 0)
    assert ws.count("quarantine") == 5 and ws.count("exchanges") == 6
    runs = ws.sql("SELECT run, inserted, finished_at IS NOT NULL AS done FROM ingest_runs ORDER BY run").to_pylist()
    assert runs == [{"run": 1, "inserted": 6, "done": True}, {"run": 2, "inserted": 0, "done": True}]


@pytest.mark.parametrize("seed", [1, 2])
def test_label_propagation_components_alike(open_ws, seed):
    r = random.Random(seed)
    n = 120
    edges = {tuple(sorted(r.sample(range(n), 2))) for _ in range(70)}
    edges |= {(i, i + 1) for i in range(n - 25, n - 1)}  # a long path: many rounds, each a new table
    names = [f"n{i:03d}" for i in range(n)]
    ws = open_ws()
    ws.backend.register_arrow("g", pa.table({"a": [names[a] for a, _ in edges], "b": [names[b] for _, b in edges]}))
    steps = components(ws, "SELECT a, b FROM g", "cc")
    ours: dict[str, set] = {}
    for row in ws.sql("SELECT node, label FROM cc").to_pylist():
        ours.setdefault(row["label"], set()).add(row["node"])
    graph = ig.Graph(n=n, edges=sorted(edges))
    theirs = [{names[v] for v in comp} for comp in graph.connected_components() if len(comp) > 1]
    assert sorted(map(sorted, ours.values())) == sorted(map(sorted, theirs))
    assert all(label == min(members) for label, members in ours.items())
    assert 2 <= steps < 12


# --- a whole scan on both engines -----------------------------------------------------------------

# (table, key columns): each table must hold the same keys and the same values on both engines.
TABLES = [
    ("exchanges", ["request_id"]), ("accounts", ["account_id"]), ("exchange_capabilities", ["request_id"]),
    ("exchange_signals", ["request_id"]), ("exchange_templates", ["request_id"]),
    ("template_families", ["family_id"]), ("ip_intel", ["ip"]), ("account_features", ["account_id"]),
    ("exchange_scores", ["request_id"]), ("account_scores", ["account_id"]),
    ("account_indicators", ["account_id", "indicator_type", "indicator_value"]),
    ("account_links", ["account_a", "account_b"]), ("account_clusters", ["account_id"]),
]


def _same(a, b) -> bool:
    if isinstance(a, (float, int)) and isinstance(b, (float, int)) and not isinstance(a, bool):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    if hasattr(a, "tzinfo") and hasattr(b, "tzinfo"):
        return a.replace(tzinfo=None) == b.replace(tzinfo=None)
    return a == b


def _rows(ws: Workspace, table: str, keys: list[str]) -> dict[tuple, dict]:
    rows = ws.sql(f"SELECT * FROM {table}").to_pylist()
    return {tuple(r[k] for k in keys): r for r in rows}


def _partition(groups: dict[str, str]) -> list[list[str]]:
    members: dict[str, list[str]] = {}
    for account, group in groups.items():
        if group:
            members.setdefault(group, []).append(account)
    return sorted(sorted(m) for m in members.values())


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("world")
    simulate(out, accounts=80, days=1, seed=11)
    return out


def _scan(world, out, **options):
    result = scan(world / "exchanges.jsonl.gz", out, accounts=world / "accounts.jsonl", report=False, **options)
    ws = Workspace.open(out / ("workspace.spark" if options.get("backend") == "spark" else "workspace.duckdb"),
                        **({"backend": "spark", "spark": options["spark"]} if options.get("backend") == "spark"
                           else {}))
    return result, ws


@pytest.mark.spark
def test_scan_on_spark_gives_what_duckdb_gives(world, tmp_path, spark_session):
    reference, duck = _scan(world, tmp_path / "duckdb")
    result, spark = _scan(world, tmp_path / "spark", backend="spark", spark=spark_session)
    try:
        assert reference.flagged > 0 and reference.campaigns > 0  # a world where there is something to find
        for table, keys in TABLES:
            mine, theirs = _rows(spark, table, keys), _rows(duck, table, keys)
            assert mine.keys() == theirs.keys(), table
            for key, row in theirs.items():
                bad = [c for c, v in row.items() if not _same(v, mine[key][c])]
                assert not bad, f"{table} {key}: {[(c, row[c], mine[key][c]) for c in bad]}"
        verdicts = {}
        for name, ws in (("duckdb", duck), ("spark", spark)):
            rows = ws.sql("SELECT account_id, flagged, campaign_id FROM account_verdicts").to_pylist()
            verdicts[name] = ({r["account_id"] for r in rows if r["flagged"]},
                              _partition({r["account_id"]: r["campaign_id"] for r in rows}))
        assert verdicts["spark"] == verdicts["duckdb"]
        assert (result.accounts, result.flagged, result.campaigns) == \
            (reference.accounts, reference.flagged, reference.campaigns)
        # The output contract is written the same way: the same verdict and campaign id on every line.
        lines = [[[f[0], f[2], f[3]] for f in (line.split(",") for line in (tmp_path / f"{b}/accounts.csv")
                                                 .read_text().splitlines())] for b in ("duckdb", "spark")]
        assert lines[0] == lines[1]
        campaigns = [sorted(sorted(c["accounts"]) for c in json.loads((tmp_path / f"{b}/campaigns.json").read_text()))
                     for b in ("duckdb", "spark")]
        assert campaigns[0] == campaigns[1]
        page = write_report(tmp_path / "spark", workspace=spark).read_text()  # the report reads Spark too
        ids = [c["campaign_id"] for c in json.loads((tmp_path / "spark/campaigns.json").read_text())]
        assert ids and all(cid in page for cid in ids)
    finally:
        duck.close()
        spark.close()
