"""One backend interface for every stage, so the pipeline is not tied to one engine.

Stages speak SQL in DuckDB's dialect and hand Arrow tables across the boundary; a
backend runs the SQL (transpiling where its dialect differs) and stores tables.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pyarrow as pa
from pyarrow import csv


def sql_string(value: str) -> str:
    """A text value as an SQL string literal, for statements that take no parameters."""
    return "'" + value.replace("'", "''") + "'"


CSV_TRUE = "('1', 'true', 't', 'yes')"  # the spellings of true in a CSV read as text


def csv_text(path: str | Path) -> str:
    """DuckDB SQL reading a CSV file with a header, every column as text: one odd value never changes
    how a whole column is typed."""
    return f"read_csv({sql_string(str(path))}, header = true, all_varchar = true)"


class Backend(ABC):
    name: str

    @abstractmethod
    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        """Run a statement for its effect."""

    @abstractmethod
    def fetch_arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a query and return its result as Arrow."""

    @abstractmethod
    def iter_batches(self, sql: str, rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Stream a query's result in record batches, so a stage never holds a whole table."""

    @abstractmethod
    def register_arrow(self, name: str, table: pa.Table | pa.RecordBatchReader) -> None:
        """Expose an in-memory Arrow table to SQL under `name` until unregistered."""

    @abstractmethod
    def unregister(self, name: str) -> None: ...

    @abstractmethod
    def table_exists(self, name: str) -> bool: ...

    @abstractmethod
    def close(self) -> None: ...

    def transform_batch(self, sql: str, name: str, table: pa.Table) -> pa.Table:
        """Run `sql`, a row-local transform that reads only `table` (as `name`), over one Arrow batch."""
        self.register_arrow(name, table)
        try:
            return self.fetch_arrow(sql)
        finally:
            self.unregister(name)

    @contextmanager
    def concurrent_transforms(self) -> Iterator[Callable[[str, str, pa.Table], pa.Table]]:
        """Within the block, a `transform_batch` that several threads may call at once (each on an engine
        connection of its own where the engine has them), so transforms overlap each other and the
        inserts of earlier batches. One call at a time by default."""
        lock = threading.Lock()

        def transform(sql: str, name: str, table: pa.Table) -> pa.Table:
            with lock:
                return self.transform_batch(sql, name, table)
        yield transform

    def insert_batch(self, name: str, table: pa.Table, statements: list[str]) -> None:
        """Run `statements` (INSERTs without parameters) that read one Arrow batch as `name`."""
        self.register_arrow(name, table)
        try:
            for sql in statements:
                self.execute(sql)
        finally:
            self.unregister(name)

    @contextmanager
    def memory_share(self, share: float) -> Iterator[None]:
        """Within the block, let the engine use only `share` of the memory it may use otherwise (it spills
        to disk sooner), for a step whose Python side holds much of its own. No-op by default."""
        yield

    def write_csv(self, sql: str, path: str | Path) -> None:
        """Write a query's result to a CSV file with a header (quoting only where needed)."""
        csv.write_csv(self.fetch_arrow(sql), str(path), csv.WriteOptions(quoting_style="needed"))

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        table = self.fetch_arrow(sql, params)
        return table.column(0)[0].as_py() if table.num_rows else None
