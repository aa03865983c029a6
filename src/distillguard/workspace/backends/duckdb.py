"""Embedded DuckDB backend: the default, a single file on disk."""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import duckdb
import pyarrow as pa

from ..tables import MACROS
from .base import Backend, sql_string


def check_memory_limit(value: str) -> str:
    """A DuckDB memory size such as 6GB or 512MiB, else ValueError (it goes into a SET statement)."""
    value = value.strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value, re.I):
        raise ValueError(f"memory limit {value!r}: expected a size such as 6GB or 512MiB")
    return value


_UNITS = {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
          "kib": 2 ** 10, "mib": 2 ** 20, "gib": 2 ** 30, "tib": 2 ** 40}


def _bytes(size: str) -> float:
    """Bytes in a DuckDB size setting as it reads back ("4.6 GiB", "512.0 MiB")."""
    number, unit = re.fullmatch(r"\s*([\d.]+)\s*([A-Za-z]*)\s*", size).groups()
    return float(number) * _UNITS[unit.lower()]



def _transform(con: duckdb.DuckDBPyConnection, sql: str, name: str, table: pa.Table) -> pa.Table:
    """`sql` over `table` (as `name`) on one connection or cursor, as Arrow."""
    return con.from_arrow(table).query(name, sql).to_arrow_table()


class DuckDBBackend(Backend):
    name = "duckdb"

    def __init__(self, path: str | Path = ":memory:", memory_limit: str | None = None,
                 threads: int | None = None):
        self.path = str(path)
        self.memory_limit = memory_limit and check_memory_limit(memory_limit)
        self.con = duckdb.connect(self.path)
        # Spill to disk rather than fail when a scan outgrows memory.
        if memory_limit:
            self.con.execute(f"SET memory_limit='{self.memory_limit}'")
        if threads:
            self.con.execute(f"SET threads={int(threads)}")
        self.con.execute("SET preserve_insertion_order=false")
        self.con.execute("SET TimeZone='UTC'")
        self.con.execute("SET enable_progress_bar=false")

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        self.con.execute(sql, params or [])

    def fetch_arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        return self.con.sql(sql, params=params).to_arrow_table()

    def iter_batches(self, sql: str, rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        # A cursor of its own, so the caller may write to the workspace while reading.
        yield from self.con.cursor().sql(sql).to_arrow_reader(rows)

    # Batches go through a relation, not a registered view: inside a transaction (a long ingest) a view
    # dropped by `unregister` lives on, with the Arrow data it holds, until the transaction commits.
    def transform_batch(self, sql: str, name: str, table: pa.Table) -> pa.Table:
        return _transform(self.con, sql, name, table)

    @contextmanager
    def concurrent_transforms(self) -> Iterator[Callable[[str, str, pa.Table], pa.Table]]:
        # A transform runs on one thread however many the engine has; a cursor per calling thread lets
        # several run at once. Cursors see no TEMP objects of this connection: the macros are made again.
        local, cursors = threading.local(), []

        def transform(sql: str, name: str, table: pa.Table) -> pa.Table:
            con = getattr(local, "con", None)
            if con is None:
                con = local.con = self.con.cursor()
                for macro in MACROS:
                    con.execute(macro)
                cursors.append(con)  # list.append is atomic
            return _transform(con, sql, name, table)
        try:
            yield transform
        finally:
            for con in cursors:
                con.close()

    def insert_batch(self, name: str, table: pa.Table, statements: list[str]) -> None:
        relation = self.con.from_arrow(table)
        for sql in statements:
            relation.query(name, sql)

    @contextmanager
    def memory_share(self, share: float) -> Iterator[None]:
        # Restored as configured, not as it reads back (rounded: "4.6 GiB" for 5GB).
        cap = self.memory_limit or self.scalar("SELECT current_setting('memory_limit')")
        self.con.execute(f"SET memory_limit='{int(_bytes(cap) * share)}B'")
        try:
            yield
        finally:
            self.con.execute(f"SET memory_limit='{self.memory_limit}'" if self.memory_limit else "RESET memory_limit")

    def write_csv(self, sql: str, path: str | Path) -> None:
        self.con.execute(f"COPY ({sql}) TO {sql_string(str(path))} (HEADER, DELIMITER ',')")  # COPY takes no parameters

    def register_arrow(self, name: str, table: pa.Table | pa.RecordBatchReader) -> None:
        self.con.register(name, table)

    def unregister(self, name: str) -> None:
        self.con.unregister(name)

    def table_exists(self, name: str) -> bool:
        return bool(self.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]))

    def close(self) -> None:
        self.con.close()
