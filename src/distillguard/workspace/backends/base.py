"""One backend interface for every stage, so the pipeline is not tied to one engine.

Stages speak SQL in DuckDB's dialect and hand Arrow tables across the boundary; a
backend runs the SQL (transpiling where its dialect differs) and stores tables.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Iterator

import pyarrow as pa


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

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        table = self.fetch_arrow(sql, params)
        return table.column(0)[0].as_py() if table.num_rows else None
