import pytest

from distillguard.ingest import ingest
from distillguard.workspace import Workspace
from tests.conftest import exchange, write_lines


def test_tables_exist_and_reopen_keeps_data(tmp_path):
    path = tmp_path / "ws.duckdb"
    with Workspace.open(path) as ws:
        for table in ("exchanges", "accounts", "quarantine", "ingest_runs"):
            assert ws.backend.table_exists(table)
        ingest(ws, write_lines(tmp_path / "x.jsonl", [exchange(i) for i in range(4)]))
    with Workspace.open(path) as ws:
        s = ws.summary()
        assert s["exchanges"] == 4 and s["active_accounts"] == 4 and s["quarantined"] == 0
        runs = ws.sql("SELECT kind, records, inserted, finished_at IS NOT NULL AS done FROM ingest_runs").to_pylist()
        assert runs == [{"kind": "exchanges", "records": 4, "inserted": 4, "done": True}]


def test_iter_batches_streams_while_writing(tmp_path):
    with Workspace.open(tmp_path / "ws.duckdb") as ws:
        ws.backend.execute("CREATE TABLE t AS SELECT range AS x FROM range(10000)")
        seen = 0
        for batch in ws.backend.iter_batches("SELECT x FROM t", rows=1000):
            ws.backend.execute("CREATE OR REPLACE TEMP TABLE scratch AS SELECT 1")
            seen += batch.num_rows
        assert seen == 10000


def test_memory_limit_is_applied_and_checked(tmp_path):
    from distillguard.workspace.backends.duckdb import DuckDBBackend

    backend = DuckDBBackend(tmp_path / "w.duckdb", memory_limit="512MiB")
    assert backend.scalar("SELECT current_setting('memory_limit')").replace(" ", "") in ("512.0MiB", "512MiB")
    backend.close()
    with pytest.raises(ValueError, match="expected a size"):
        DuckDBBackend(tmp_path / "x.duckdb", memory_limit="1GB'; DROP TABLE exchanges; --")


@pytest.mark.parametrize("limit", ["5GB", None])
def test_memory_share_lowers_the_cap_for_a_block_and_restores_it(tmp_path, limit):
    from distillguard.workspace.backends.duckdb import DuckDBBackend, _bytes

    backend = DuckDBBackend(tmp_path / "w.duckdb", memory_limit=limit)
    cap = lambda: _bytes(backend.scalar("SELECT current_setting('memory_limit')"))  # noqa: E731
    before = cap()
    with backend.memory_share(0.4):
        assert cap() == pytest.approx(0.4 * before, rel=0.03)
    assert cap() == pytest.approx(before, rel=0.01)
    with pytest.raises(RuntimeError), backend.memory_share(0.5):
        raise RuntimeError("a failing step")
    assert cap() == pytest.approx(before, rel=0.01)
    backend.close()


def test_batches_inserted_in_a_transaction_are_not_held_until_commit(tmp_path):
    import gc

    import pyarrow as pa

    with Workspace.open(tmp_path / "ws.duckdb") as ws:
        db = ws.backend
        db.execute("CREATE TABLE t (a VARCHAR)")
        db.execute("BEGIN TRANSACTION")
        before = pa.total_allocated_bytes()
        for i in range(4):
            batch = pa.table({"a": [f"a long enough value {i} {j}" for j in range(50_000)]})
            db.insert_batch("_b", batch, ["INSERT INTO t SELECT a FROM _b", "INSERT INTO t SELECT upper(a) FROM _b"])
            del batch
        gc.collect()
        # A long ingest is one transaction per million rows: what it hands over must be freed as it goes.
        assert pa.total_allocated_bytes() - before < 1_000_000
        db.execute("COMMIT")
        assert db.scalar("SELECT count(*) FROM t") == 400_000


def test_concurrent_transforms_run_on_threads_with_the_workspace_macros(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    sql = "SELECT i, dg_str(j) AS s FROM _t"
    tables = [pa.table({"i": [n], "j": [f'"text {n}"']}) for n in range(16)]
    with Workspace.open(tmp_path / "w.duckdb") as ws:
        db = ws.backend
        db.execute("BEGIN TRANSACTION")   # as during an ingest: the transforms do not touch it
        with db.concurrent_transforms() as transform, ThreadPoolExecutor(4) as pool:
            got = list(pool.map(lambda t: transform(sql, "_t", t).to_pylist(), tables))
        db.execute("COMMIT")
        assert got == [db.transform_batch(sql, "_t", t).to_pylist() for t in tables]
        assert got[3] == [{"i": 3, "s": "text 3"}]
