"""Parquet input: each row is read column by column into the typed record a JSONL line gives.

Nested objects may be stored as structs or as JSON strings; only the strings are parsed. The JSON
text a JSONL line would hold is written only for rows that keep it (quarantined ones) and its length
is summed from the columns', so one validator serves every input format without turning every row
into JSON text and parsing it back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..contract.schema import ACCOUNT_FIELDS, EXCHANGE_FIELDS
from .readers import LineBatch, Reject
from .sql import Source, field_structure

BATCH_ROWS = 65_536
_NESTED = ("request", "response")


def _is_text(dtype: pa.DataType) -> bool:
    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype)


def column_sql(name: str, dtype: pa.DataType, nested: bool | None = None, within: str = "") -> str:
    """SQL turning one column (a field of the struct `within`, if given) into its JSON-ready value;
    `nested` (default: `request`/`response`) columns holding text are parsed as JSON."""
    col = f'{within}"{name}"'
    if pa.types.is_timestamp(dtype):
        zone = f"timezone('UTC', {col})" if dtype.tz else col
        return f"strftime({zone}, '%Y-%m-%dT%H:%M:%S.%fZ')"
    if (name in _NESTED if nested is None else nested) and _is_text(dtype):
        # JSON kept as text: parse it; text that is not JSON stays a string and is quarantined.
        return f"coalesce(try(json({col})), to_json({col}))"
    return col


def record_source(schema: pa.Schema, kind: str) -> Source:
    """How the ingest SQL reads rows given as `_raw(source_line, record)`, `record` a struct of the
    file's columns. `v` packs each column's JSON-ready value (nested JSON as validated text), from which
    `line` writes the record's JSON text; `f` takes each contract field from `v` as `json_transform` of
    that text would."""
    types = {f.name: f.type for f in schema}
    text = {f.name for f in schema if f.name in _NESTED and _is_text(f.type)}

    def value(f: pa.Field) -> str:
        if f.name not in text:
            return column_sql(f.name, f.type, within="record.")
        # JSON kept as text stays text, validated rather than parsed (json() would parse it a second
        # time before json_transform): text that is not JSON becomes a JSON string and is quarantined.
        col = f'record."{f.name}"'
        return f"CASE WHEN json_valid({col}) THEN {col} ELSE to_json({col})::VARCHAR END"

    values = ", ".join(f'"{f.name}" := {value(f)}' for f in schema)

    def as_json(name: str) -> str:
        # Nested text is JSON text already (above); any other value is written as JSON.
        return f'v."{name}"' if name in text else f'to_json(v."{name}")'

    def parsed(name: str) -> str:
        structure = field_structure(name)
        if name not in types:
            return f"NULL::{_sql_type(structure)}"
        return as_json(name) if structure == "JSON" else f"json_transform({as_json(name)}, '{json.dumps(structure)}')"

    fields = EXCHANGE_FIELDS if kind == "exchanges" else ACCOUNT_FIELDS
    record = ", ".join(f'"{f.name}" := {parsed(f.name)}' for f in fields)
    line = ", ".join(f'"{f.name}" := v."{f.name}"' + ("::JSON" if f.name in text else "") for f in schema)
    # The text's length: its frame (braces, keys, colons, commas: the length with every value null,
    # less 4 per `null`) plus the length of each value, a null writing as `null`.
    nulls = ", ".join(f'"{f.name}" := NULL' for f in schema)
    size = " + ".join([f"strlen(to_json(struct_pack({nulls}))) - {4 * len(schema)}"]
                      + [f"coalesce(strlen({as_json(f.name)}), 4)" for f in schema])
    # No try(): nested text is valid JSON by now, and json_transform never fails on valid JSON.
    return Source(rows=f"SELECT source_line, v, struct_pack({record}) AS f "
                       f"FROM (SELECT source_line, struct_pack({values}) AS v FROM _raw)",
                  line=f"to_json(struct_pack({line}))::VARCHAR", size=size, is_object="true",
                  field_type=lambda name: f"json_type({as_json(name)})" if name in types else "NULL")


def _sql_type(structure: str | list | dict) -> str:
    """The SQL type `json_transform` gives for `structure`."""
    if isinstance(structure, list):
        return f"{_sql_type(structure[0])}[]"
    if isinstance(structure, dict):
        fields = ", ".join(f'"{k}" {_sql_type(t)}' for k, t in structure.items())
        return f"STRUCT({fields})"
    return structure


def iter_parquet_batches(path: Path, kind: str) -> Iterator[LineBatch]:
    """Batches of rows as structs (`LineBatch.lines`) with the `Source` that reads them."""
    try:
        # Without pre-buffering: pyarrow keeps every pre-buffered range of the file until it is closed,
        # about 24 MB per batch here (2 GB after 80 batches of a 6 GB file, flat at 0.2 GB without).
        file = pq.ParquetFile(path, pre_buffer=False)
        source = record_source(file.schema_arrow, kind)
    except (pa.ArrowException, OSError) as err:
        yield _unreadable(0, err)
        return
    row = 1
    try:
        for batch in file.iter_batches(batch_size=BATCH_ROWS):
            records = pa.StructArray.from_arrays(batch.columns, fields=list(batch.schema))
            if row == 1:
                _bind(source, records)
            yield LineBatch(records, np.arange(row, row + batch.num_rows, dtype=np.int64), source=source)
            row += batch.num_rows
    except (pa.ArrowException, OSError, duckdb.Error) as err:
        yield _unreadable(row, err)


def _unreadable(row: int, err: Exception) -> LineBatch:
    return LineBatch(pa.array([], pa.large_string()), np.empty(0, np.int64), [Reject(row, f"unreadable_parquet: {err}")])


def _bind(source: Source, records: pa.StructArray) -> None:
    """Bind the source's SQL to the file's columns, so columns DuckDB cannot read reject the file
    here rather than fail the ingest."""
    con = duckdb.connect()
    try:
        con.register("_raw", pa.table({"source_line": pa.array([], pa.int64()), "record": records.slice(0, 0)}))
        con.sql(f"SELECT {source.line}, {source.size}, f FROM ({source.rows})")
    finally:
        con.close()
