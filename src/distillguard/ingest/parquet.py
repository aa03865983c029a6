"""Parquet input: each row becomes the same JSON text a JSONL line would be.

Nested objects may be stored as structs or as JSON strings; both end up as JSON objects,
so one validator serves every input format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .readers import LineBatch, Reject

BATCH_ROWS = 65_536
_NESTED = ("request", "response")


def column_sql(name: str, dtype: pa.DataType, nested: bool | None = None) -> str:
    """SQL turning one column into its JSON-ready value; `nested` (default: `request`/`response`)
    columns holding text are parsed as JSON."""
    col = f'"{name}"'
    if pa.types.is_timestamp(dtype):
        zone = f"timezone('UTC', {col})" if dtype.tz else col
        return f"strftime({zone}, '%Y-%m-%dT%H:%M:%S.%fZ')"
    if (name in _NESTED if nested is None else nested) and (pa.types.is_string(dtype) or pa.types.is_large_string(dtype)):
        # JSON kept as text: parse it; text that is not JSON stays a string and is quarantined.
        return f"coalesce(try(json({col})), to_json({col}))"
    return col


def iter_parquet_batches(path: Path) -> Iterator[LineBatch]:
    try:
        file = pq.ParquetFile(path)
        schema = file.schema_arrow
    except (pa.ArrowException, OSError) as err:
        yield LineBatch(pa.array([], pa.large_string()), np.empty(0, np.int64),
                        [Reject(0, f"unreadable_parquet: {err}")])
        return
    select = ", ".join(f'"{f.name}" := {column_sql(f.name, f.type)}' for f in schema)
    con = duckdb.connect()
    row = 1
    try:
        for batch in file.iter_batches(batch_size=BATCH_ROWS):
            con.register("_batch", batch)
            lines = con.sql(f"SELECT to_json(struct_pack({select}))::VARCHAR AS line FROM _batch").to_arrow_table()
            numbers = np.arange(row, row + batch.num_rows, dtype=np.int64)
            yield LineBatch(lines.column(0).combine_chunks().cast(pa.large_string()), numbers)
            row += batch.num_rows
    except (pa.ArrowException, OSError, duckdb.Error) as err:
        yield LineBatch(pa.array([], pa.large_string()), np.empty(0, np.int64),
                        [Reject(row, f"unreadable_parquet: {err}")])
    finally:
        con.close()
