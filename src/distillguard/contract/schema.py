"""The traffic-log contract (shared/spec/traffic-log.md) as data.

Ingest validates against these definitions, adapters map other formats onto them and
the simulator writes them, so the contract lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

# JSON value kinds, as DuckDB's json_type() names them.
STRING, OBJECT, ARRAY, BOOLEAN = "VARCHAR", "OBJECT", "ARRAY", "BOOLEAN"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    required: bool = False


EXCHANGE_FIELDS: tuple[Field, ...] = (
    Field("request_id", STRING, required=True),
    Field("timestamp", STRING, required=True),
    Field("account_id", STRING, required=True),
    Field("api_key_id", STRING),
    Field("client_ip", STRING),
    Field("user_agent", STRING),
    Field("endpoint", STRING),
    Field("request", OBJECT, required=True),
    Field("response", OBJECT),
)

ACCOUNT_FIELDS: tuple[Field, ...] = (
    Field("account_id", STRING, required=True),
    Field("created_at", STRING),
    Field("account_type", STRING),
    Field("email_domain", STRING),
    Field("payment_fingerprint", STRING),
    Field("signup_ip", STRING),
    Field("country", STRING),
    Field("verified", BOOLEAN),
    Field("org_id", STRING),
)

# Timestamps are RFC 3339: a date, a time, optional fraction, and a zone (Z or offset).
RFC3339_PATTERN = r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"

ENDPOINT_CHAT = "chat.completions"
ENDPOINT_MESSAGES = "messages"
