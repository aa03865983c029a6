"""The workspace: typed tables every stage reads and writes, on one backend."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from .backends import Backend, DuckDBBackend
from .tables import MACROS, TABLES

DEFAULT_PATH = "distillguard.duckdb"

class Workspace:
    """Tables `exchanges`, `accounts`, `quarantine` (one row per rejected record), `ingest_runs`."""

    def __init__(self, backend: Backend):
        self.backend = backend
        for name, columns in TABLES.items():
            backend.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
        for macro in MACROS:
            backend.execute(macro)

    @classmethod
    def open(cls, path: str | Path | None = DEFAULT_PATH, backend: str = "duckdb", **backend_options) -> "Workspace":
        """A workspace on `backend`: "duckdb" (a file, or ":memory:") or "spark" (a folder of Parquet
        tables, or None for a session-only workspace; `spark=` an existing SparkSession, `master=`)."""
        if backend == "spark":
            from .backends.spark import SparkBackend
            return cls(SparkBackend(path, **backend_options))
        if backend != "duckdb":
            raise ValueError(f"unknown backend {backend!r}; expected 'duckdb' or 'spark'")
        return cls(DuckDBBackend(path or ":memory:", **backend_options))

    def sql(self, query: str, params: list | None = None) -> pa.Table:
        return self.backend.fetch_arrow(query, params)

    def count(self, table: str) -> int:
        return int(self.backend.scalar(f"SELECT count(*) FROM {table}"))

    def start_run(self, kind: str, paths: list[str]) -> int:
        """Record an ingest run; its number orders data so the first copy of a record wins."""
        run = int(self.backend.scalar("SELECT coalesce(max(run), 0) + 1 FROM ingest_runs"))
        self.backend.execute("INSERT INTO ingest_runs (run, kind, started_at, paths) VALUES (?, ?, now(), ?)",
                             [run, kind, paths])
        return run

    def finish_run(self, run: int, report) -> None:
        # A rewrite, not an UPDATE, so engines without UPDATE (Spark's catalog) run it; the table is tiny.
        mine = f"run = {int(run)}"
        self.backend.execute(f"""
            CREATE OR REPLACE TABLE ingest_runs AS
            SELECT run, kind, started_at, CASE WHEN {mine} THEN now() ELSE finished_at END AS finished_at, paths,
                   CASE WHEN {mine} THEN CAST(? AS BIGINT) ELSE records END AS records,
                   CASE WHEN {mine} THEN CAST(? AS BIGINT) ELSE inserted END AS inserted,
                   CASE WHEN {mine} THEN CAST(? AS BIGINT) ELSE duplicates END AS duplicates,
                   CASE WHEN {mine} THEN CAST(? AS BIGINT) ELSE quarantined END AS quarantined
            FROM ingest_runs""", [report.records, report.inserted, report.duplicates, report.quarantined])

    def summary(self) -> dict:
        """Headline figures of what the workspace holds."""
        row = self.sql("""
            SELECT count(*) AS exchanges, count(DISTINCT account_id) AS active_accounts,
                   min(ts) AS first_seen, max(ts) AS last_seen,
                   count(DISTINCT model) AS models, count(DISTINCT client_ip) AS client_ips
            FROM exchanges""").to_pylist()[0]
        row["accounts"] = self.count("accounts")
        row["quarantined"] = self.count("quarantine")
        return row

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
