"""SQL that validates records against the contract and derives typed columns.

Each record is parsed once into a typed struct `f` (a JSON line by `json_transform`; a Parquet row
column by column, see parquet.py); everything after works on that struct. Checks are generated from
`contract.schema` so the contract has one home.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable

from ..contract.schema import ACCOUNT_FIELDS, EXCHANGE_FIELDS, OBJECT, RFC3339_PATTERN, Field

_REQUEST = {
    "model": "VARCHAR",
    "messages": [{"role": "VARCHAR", "content": "JSON", "tool_calls": "JSON"}],
    "system": "JSON", "tools": "JSON",
    "temperature": "DOUBLE", "top_p": "DOUBLE", "n": "BIGINT",
    "max_tokens": "BIGINT", "max_completion_tokens": "BIGINT",
    "reasoning_effort": "VARCHAR", "stream": "BOOLEAN", "seed": "BIGINT",
    "logprobs": "BOOLEAN", "top_logprobs": "BIGINT",
    "thinking": {"type": "VARCHAR", "budget_tokens": "BIGINT"},
}
_RESPONSE = {
    "status": "BIGINT", "finish_reason": "VARCHAR", "latency_ms": "DOUBLE",
    "usage": {"input_tokens": "BIGINT", "output_tokens": "BIGINT", "reasoning_tokens": "BIGINT"},
}


def field_structure(name: str) -> str | dict:
    """The `json_transform` type of one top-level field."""
    # Scalars stay JSON text so their type can be checked; objects parse straight to structs.
    return {"request": _REQUEST, "response": _RESPONSE}.get(name, "JSON")


def _structure(fields: tuple[Field, ...]) -> str:
    return json.dumps({f.name: field_structure(f.name) for f in fields})


@dataclass(frozen=True)
class Source:
    """How the SQL reads records: `rows`, a SELECT over `_raw` giving `source_line` and the parsed
    struct `f`, and expressions over its columns for the record's JSON text (`line`, only computed
    for rows that keep it), its length, whether it is an object, and `json_type` of a top-level field."""
    rows: str
    line: str
    size: str
    is_object: str
    field_type: Callable[[str], str]


def line_source(kind: str) -> Source:
    """Records given as JSON text: `_raw(source_line, line)`."""
    fields = EXCHANGE_FIELDS if kind == "exchanges" else ACCOUNT_FIELDS
    return Source(f"SELECT source_line, line, try(json_transform(line, '{_structure(fields)}')) AS f FROM _raw",
                  "line", "strlen(line)", "starts_with(ltrim(line), '{')", lambda name: f"json_type(line, '$.{name}')")


# The first character of a JSON text tells its kind without parsing it again.
_KIND_TEST = {"VARCHAR": "left({v}, 1) = '\"'", "BOOLEAN": "{v} IN ('true', 'false')"}
_KIND_WORD = {"VARCHAR": "a string", "BOOLEAN": "a boolean", OBJECT: "an object"}


def _field_checks(fields: tuple[Field, ...], source: Source) -> list[str]:
    checks = []
    for f in fields:
        v = f"f.{f.name}"
        if f.kind == OBJECT:
            # A non-object value parses to a struct of NULLs: only then look at the raw kind.
            empty = " AND ".join(f"{v}.{k} IS NULL" for k in (_REQUEST if f.name == "request" else _RESPONSE))
            wrong = f"({empty}) AND coalesce({source.field_type(f.name)}, 'NULL') NOT IN ('OBJECT', 'NULL')"
        else:
            wrong = f"{v} IS NOT NULL AND {v} <> 'null' AND NOT ({_KIND_TEST[f.kind].format(v=v)})"
        if f.required:
            missing = f"{v} IS NULL" + ("" if f.kind == OBJECT else f" OR {v} = 'null'")
            checks.append(f"WHEN {missing} THEN 'missing_field: {f.name}'")
        checks.append(f"WHEN {wrong} THEN 'wrong_type: {f.name} must be {_KIND_WORD[f.kind]}'")
        if f.required and f.kind == "VARCHAR":
            checks.append(f"WHEN {v} = '\"\"' THEN 'empty_field: {f.name}'")
    return checks


def _timestamp_check(name: str, required: bool) -> str:
    text = f"json_extract_string(f.{name}, '$')"
    valid = (f"regexp_full_match({text}, '{RFC3339_PATTERN}') "
             f"AND try_cast({text} AS TIMESTAMPTZ) IS NOT NULL")
    guard = "" if required else f"f.{name} IS NOT NULL AND f.{name} <> 'null' AND "
    return f"WHEN {guard}NOT ({valid}) THEN 'bad_timestamp: ' || {text}"


def parse_sql(kind: str, source: Source) -> str:
    """SELECT over `source.rows` giving its columns and `reason` (NULL if valid)."""
    fields = EXCHANGE_FIELDS if kind == "exchanges" else ACCOUNT_FIELDS
    ts = _timestamp_check("timestamp", True) if kind == "exchanges" else _timestamp_check("created_at", False)
    cases = "\n      ".join(_field_checks(fields, source) + [ts])
    return f"""
    SELECT *,
      CASE
      WHEN f IS NULL THEN 'invalid_json'
      WHEN NOT {source.is_object} THEN 'not_an_object: a record must be a JSON object'
      {cases}
      END AS reason
    FROM ({source.rows})
    """


def select_sql(kind: str, source: Source, keep_raw: bool, file: str) -> str:
    """The typed columns of `kind`, plus `reason`, over `_raw`; `file` is the source path as an SQL literal.
    `raw` keeps the record's text: all of it with `keep_raw`, else only for rejected rows."""
    parts = {"parse": parse_sql(kind, source), "size": source.size, "file": file,
             "raw": source.line if keep_raw else f"CASE WHEN reason IS NOT NULL THEN {source.line} END"}
    # One pass, so column names inside the inserted SQL are never taken for placeholders.
    return re.sub(r"\$(parse|size|file|raw)", lambda m: parts[m[1]], SELECTS[kind])


# Typed columns, plus `reason`, over the parse query `$parse`; `$size` is the record's length,
# `$file` the source path and `$raw` what is kept of the original record (see select_sql).
# Derived values of rejected rows are computed but never kept, hence try_cast.
EXCHANGE_SELECT = """
  SELECT
    dg_str(f.request_id), try_cast(json_extract_string(f.timestamp, '$') AS TIMESTAMPTZ),
    dg_str(f.account_id), dg_str(f.api_key_id), dg_str(f.client_ip), dg_str(f.user_agent),
    coalesce(dg_str(f.endpoint), 'chat.completions'), f.request.model,
    coalesce(dg_text(f.request.system), CASE WHEN msgs[1].role IN ('system', 'developer')
             THEN dg_text(msgs[1].content) END),
    dg_text(umsgs[1].content), dg_text(umsgs[-1].content),
    len(msgs), len(umsgs),
    coalesce(json_array_length(f.request.tools), 0),
    CASE WHEN f.request.tools IS NOT NULL THEN list_filter(list_concat(
        json_extract_string(f.request.tools, '$[*].function.name'),
        json_extract_string(f.request.tools, '$[*].name')), lambda x: x IS NOT NULL) END,
    coalesce(list_sum(list_transform(msgs, lambda m: coalesce(json_array_length(m.tool_calls), 0))), 0)
      + len(list_filter(part_types, lambda t: t = 'tool_use')),
    len(list_filter(msgs, lambda m: m.role = 'tool'))
      + len(list_filter(part_types, lambda t: t = 'tool_result')),
    len(list_filter(part_types, lambda t: t IN ('image_url', 'image', 'input_image'))),
    f.request.temperature, f.request.top_p, f.request.n,
    coalesce(f.request.max_tokens, f.request.max_completion_tokens), f.request.reasoning_effort,
    CASE WHEN f.request.thinking.type = 'enabled' THEN f.request.thinking.budget_tokens END,
    f.request.stream, f.request.seed, f.request.logprobs, f.request.top_logprobs,
    f.response.status, f.response.finish_reason, f.response.usage.input_tokens,
    f.response.usage.output_tokens, f.response.usage.reasoning_tokens, f.response.latency_ms,
    $size, $raw, $file, source_line, reason
  FROM (SELECT *, list_filter(msgs, lambda m: m.role = 'user') AS umsgs,
          -- Block types only exist in list-form content; skip the lookup when none is a list.
          CASE WHEN list_bool_or(list_transform(msgs, lambda m: left(m.content, 1) = '['))
               THEN flatten(list_transform(msgs, lambda m: CASE WHEN left(m.content, 1) = '['
                    THEN json_extract_string(m.content, '$[*].type') ELSE [] END))
               ELSE [] END AS part_types
        FROM (SELECT *, coalesce(f.request.messages, []) AS msgs FROM ($parse)))
"""

ACCOUNT_SELECT = """
  SELECT dg_str(f.account_id), try_cast(json_extract_string(f.created_at, '$') AS TIMESTAMPTZ),
    dg_str(f.account_type), dg_str(f.email_domain), dg_str(f.payment_fingerprint),
    dg_str(f.signup_ip), dg_str(f.country), CAST(f.verified AS BOOLEAN), dg_str(f.org_id),
    $raw, $file, source_line, reason
  FROM ($parse)
"""

SELECTS = {"exchanges": EXCHANGE_SELECT, "accounts": ACCOUNT_SELECT}
