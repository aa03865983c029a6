"""Warehouse tables as ingest input, through Ibis: scan a table where it lives, no export first.

A `TableSource` streams a table (DuckDB, PostgreSQL, ClickHouse, Spark... any Ibis backend whose
driver is installed) as Arrow record batches and turns each row into the JSON text of a contract
record, so rows are validated and quarantined by the same SQL as JSONL and Parquet lines.

Columns map onto the traffic-log contract by name (rename others with `columns`):

* nested form: `request` and `response` columns holding structs or JSON text, as in Parquet;
* flat form, usual in warehouses: the request fields as columns of their own (`model`, `messages`,
  `tools`, `max_tokens`, ... or prefixed `request_model`, ...), the response fields likewise
  (`status`, `finish_reason`, `latency_ms`, `usage` or `input_tokens`/`output_tokens`/
  `reasoning_tokens`, or `response_status`, ...). Nested values (`messages`, `tools`, `usage`...)
  may be native structs/lists or JSON text. A row whose request columns are all NULL has no request
  and is quarantined as such.

Columns the contract does not know are kept at the top level of the record (stored with
`keep_raw`). Provenance: `source_file` is the connection URL with its password removed plus
`#table`, `source_line` the 1-based row number in (timestamp, id) order, which is stable as long as
rows are only added.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator

import duckdb
import numpy as np
import pyarrow as pa

from ..contract.schema import ACCOUNT_FIELDS, EXCHANGE_FIELDS
from .parquet import column_sql
from .readers import InputError, LineBatch, Reject

BATCH_ROWS = 65_536
# Request and response fields of the contract (shared/spec/traffic-log.md); the nested ones may
# arrive as JSON text.
REQUEST_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "temperature", "top_p", "n",
                  "max_tokens", "max_completion_tokens", "reasoning_effort", "stream", "seed", "logprobs",
                  "top_logprobs", "thinking")
RESPONSE_FIELDS = ("status", "finish_reason", "usage", "content", "latency_ms")
USAGE_FIELDS = ("input_tokens", "output_tokens", "reasoning_tokens")
# Values that are objects or lists: text in such a column must be JSON. `system` and `tool_choice`
# may also be plain strings, so their text is parsed when it is JSON and kept as a string otherwise.
JSON_ONLY = {"request", "response", "messages", "tools", "thinking", "usage"}
NESTED = JSON_ONLY | {"system", "tool_choice"}
# Ordering and identity per kind: rows are numbered in (time, id) order.
ORDER = {"exchanges": ("timestamp", "request_id"), "accounts": ("created_at", "account_id")}
_SECRET_PARAMS = re.compile(r"pass|pwd|secret|token|key|credential", re.IGNORECASE)


def redact(url: str) -> str:
    """The URL without its password or secret-looking query values: safe to store and print."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user = parts.username or ""
        host = netloc.rsplit("@", 1)[1]
        netloc = f"{user}:***@{host}"
    query = urllib.parse.urlencode([(k, "***" if _SECRET_PARAMS.search(k) else v)
                                    for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)])
    # Assembled by hand: urlunsplit drops the '//' of an empty host (duckdb:///path).
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def is_table_url(spec: Any) -> bool:
    """True for `scheme://...` strings other than file paths (which the file readers take)."""
    return isinstance(spec, str) and bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", spec)) \
        and not spec.startswith("file://")


class SinceNeedsTimestamp(InputError):
    """`since` was given but the table's time column is not a timestamp (text cannot be compared)."""


@dataclass
class TableSource:
    """One warehouse table: `url` (an Ibis connection string) and `table` (`name` or `schema.name`).

    `columns` renames warehouse columns to contract names ({"ts": "timestamp"}); `since` keeps only
    rows after that time (pushed down to the warehouse; row numbers still count the whole table).
    """
    url: str
    table: str
    columns: dict[str, str] = field(default_factory=dict)
    since: str | None = None

    def __post_init__(self) -> None:
        if not is_table_url(self.url):
            raise InputError(f"not a connection URL: {redact(self.url)!r} (expected e.g. "
                             "postgres://user:pw@host:5432/db or duckdb:///path/to.db)")
        if not self.table:
            raise InputError("a warehouse source needs a table name")
        if self.since is not None:
            try:
                datetime.fromisoformat(self.since)
            except ValueError:
                raise InputError(f"bad --since {self.since!r}: expected a time like 2026-02-03T14:00:00Z") from None

    @property
    def name(self) -> str:
        """What provenance records: the redacted URL and the table."""
        return f"{redact(self.url)}#{self.table}"

    def __str__(self) -> str:
        return self.name

    def connect(self):
        try:
            import ibis
        except ImportError as err:  # the optional extra
            raise InputError("warehouse sources need `pip install 'distillguard[warehouse]'`") from err
        try:
            return ibis.connect(self.url)
        except Exception as err:  # drivers raise their own types; the message is what matters
            raise InputError(f"cannot connect to {redact(self.url)}: {_clean(err, self.url)}") from err

    def batches(self, kind: str) -> Iterator[LineBatch]:
        """The table's rows as contract JSON lines, numbered in (timestamp, id) order."""
        con = self.connect()
        try:
            schema_name, _, name = self.table.rpartition(".")
            try:
                table = con.table(name, database=schema_name or None)
            except Exception as err:
                raise InputError(f"no table {self.table!r} at {redact(self.url)}: {_clean(err, self.url)}") from err
            expr, select, checks = _plan(table, kind, self.columns, self.since)
            yield from _json_lines(_arrow_batches(con, expr), select, checks, lambda e: _clean(e, self.url))
        finally:
            con.disconnect()


def _clean(err: Exception, url: str) -> str:
    """A driver's message without the password, which some drivers echo back."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    password = urllib.parse.urlsplit(url).password
    return text.replace(password, "***") if password else text


def _plan(table, kind: str, columns: dict[str, str], since: str | None):
    """(Ibis expression with `_dg_row`, DuckDB select list of the contract record, JSON-text checks)."""
    import ibis

    unknown = set(columns) - set(table.columns)
    if unknown:
        raise InputError(f"--map names columns the table lacks: {sorted(unknown)} (has {table.columns})")
    named = {columns.get(c, c): c for c in table.columns}   # contract name -> warehouse column
    fields = EXCHANGE_FIELDS if kind == "exchanges" else ACCOUNT_FIELDS
    time_name, id_name = ORDER[kind]
    for f in fields:
        if f.required and f.name not in named and not (f.name == "request" and _flat(named, REQUEST_FIELDS, "request")):
            raise InputError(f"the table has no column for required field {f.name!r} "
                             f"(columns: {', '.join(table.columns)}); rename one with --map COLUMN={f.name}")
    expr = table.rename({contract: column for contract, column in named.items() if contract != column})
    # Network addresses, UUIDs and types Ibis does not know come back as Python objects Arrow cannot
    # hold: read them as text (a client_ip is text in the contract anyway).
    text = {n: expr[n].cast("string") for n, t in expr.schema().items()
            if t.is_inet() or t.is_macaddr() or t.is_uuid() or t.is_unknown()}
    # PostgreSQL writes a host address as 203.0.113.7/32: drop the host-length suffix.
    text.update({n: text[n].re_replace(r"/(32|128)$", "") for n, t in expr.schema().items() if t.is_inet()})
    expr = expr.mutate(**text) if text else expr
    order = [expr[n] for n in (time_name, id_name) if n in named]
    expr = expr.mutate(_dg_row=ibis.row_number().over(order_by=order) + 1)
    if since is not None and time_name in named:
        if not expr[time_name].type().is_timestamp():
            raise SinceNeedsTimestamp(f"--since needs a timestamp-typed {time_name!r} column, "
                                      f"not {expr[time_name].type()}")
        expr = expr.filter(expr[time_name] > ibis.timestamp(since))
    expr = expr.order_by("_dg_row")
    return expr, _record_sql(expr.schema(), kind), _json_checks(expr.schema())


def _flat(named: dict, names: tuple[str, ...], prefix: str) -> dict[str, str]:
    """Field -> column for a flattened object: `field` or `prefix_field` columns."""
    found = {}
    for n in names:
        for column in (f"{prefix}_{n}", n):
            if column in named:
                found[n] = column
                break
    return found


def _object_sql(fields: dict[str, str], types: dict[str, pa.DataType], extra: dict[str, str] | None = None,
                presence: tuple[str, ...] = ()) -> str:
    """struct_pack of `fields` (and `extra` SQL), NULL when every column behind it is NULL."""
    parts = {name: column_sql(column, types[column], name in NESTED) for name, column in fields.items()}
    parts.update(extra or {})
    packed = ", ".join(f'"{name}" := {sql}' for name, sql in parts.items())
    present = " OR ".join(f'"{column}" IS NOT NULL' for column in (*fields.values(), *presence))
    return f"CASE WHEN {present} THEN struct_pack({packed}) END"


def _json_checks(schema) -> str:
    """SQL naming the nested text columns of a row that are not JSON (NULL when all are)."""
    text = [n for n, t in schema.items() if t.is_string() and n in JSON_ONLY]
    cases = ", ".join(f"CASE WHEN \"{n}\" IS NOT NULL AND try(json(\"{n}\")) IS NULL THEN '{n}' END" for n in text)
    return f"nullif(concat_ws(', ', {cases}), '')" if text else "NULL"


def _record_sql(schema, kind: str) -> str:
    """The select list of one contract record over a batch of warehouse columns."""
    types = {name: dtype.to_pyarrow() for name, dtype in schema.items()}
    names = [n for n in types if n != "_dg_row"]
    top = {f.name for f in (EXCHANGE_FIELDS if kind == "exchanges" else ACCOUNT_FIELDS)}
    loose = {n: n for n in names if n not in top}   # candidates for flattened request/response fields
    parts: dict[str, str] = {}
    used: set[str] = set()
    for obj, own in ((("request", REQUEST_FIELDS), ("response", RESPONSE_FIELDS)) if kind == "exchanges" else ()):
        if obj in types:
            continue   # nested form: taken as is below
        flat, extra, presence = _flat(loose, own, obj), {}, ()
        if obj == "response" and "usage" not in flat and (usage := _flat(loose, USAGE_FIELDS, "usage")):
            extra["usage"] = _object_sql(usage, types)
            presence = tuple(usage.values())
        if flat or extra:
            parts[obj] = _object_sql(flat, types, extra, presence)
            used |= set(flat.values()) | set(presence)
    for name in names:
        if name not in used and name not in parts:
            parts[name] = column_sql(name, types[name])
    return ", ".join(f'"{name}" := {sql}' for name, sql in parts.items())


def _arrow_batches(con, expr) -> Iterator[pa.RecordBatch]:
    if con.name == "duckdb":
        # ibis 12 streams DuckDB results with fetch_record_batch, which DuckDB 2 no longer has.
        yield from con.con.sql(con.compile(expr)).to_arrow_reader(BATCH_ROWS)
    else:
        yield from expr.to_pyarrow_batches(chunk_size=BATCH_ROWS)


def _json_lines(batches: Iterator[pa.RecordBatch], select: str, checks: str, scrub) -> Iterator[LineBatch]:
    """Arrow batches from the warehouse -> JSON text per row in DuckDB, as the Parquet reader does.

    A nested column holding text that is not JSON would otherwise pass as an odd string deep in the
    request; such a row is rejected here, naming the column. A read that fails midway (a dropped
    connection, a value Arrow cannot hold) ends with one reject at the row it reached; the rows
    before it are kept.
    """
    con = duckdb.connect()
    row = 0
    try:
        con.execute("SET TimeZone='UTC'")
        for batch in batches:
            if not batch.num_rows:
                continue
            con.register("_batch", batch)
            out = con.sql(f"SELECT _dg_row, to_json(struct_pack({select}))::VARCHAR AS line, {checks} AS bad "
                          "FROM _batch").to_arrow_table()
            con.unregister("_batch")
            numbers = out.column("_dg_row").to_numpy().astype(np.int64)
            row = int(numbers[-1])
            bad = out.column("bad").is_valid().to_numpy(zero_copy_only=False)
            rejects = [Reject(int(n), f"invalid_json: column {b} does not hold JSON", line[:2000])
                       for n, b, line in zip(numbers[bad], out.column("bad").filter(bad).to_pylist(),
                                             out.column("line").filter(bad).to_pylist())]
            lines = out.column("line").filter(~bad) if bad.any() else out.column("line")
            yield LineBatch(lines.combine_chunks().cast(pa.large_string()), numbers[~bad], rejects, position=row)
    except Exception as err:  # drivers raise their own types
        yield LineBatch(pa.array([], pa.large_string()), np.empty(0, np.int64),
                        [Reject(row + 1, f"unreadable_table: {scrub(err)}")])
    finally:
        con.close()
