"""Helpers the adapters share: unix time to RFC 3339, OTLP/JSON values, record assembly."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NANOS = 1_000_000_000


def rfc3339_from_unix_nanos(nanos: int) -> str:
    """UTC RFC 3339 with as many fraction digits as the time needs (OTLP keeps nanos).

    Raises ValueError (or OverflowError) outside years 1-9999.
    """
    seconds, fraction = divmod(nanos, _NANOS)
    moment = (_EPOCH + timedelta(seconds=seconds)).replace(tzinfo=None)
    text = moment.isoformat()  # pads the year to four digits, unlike strftime("%Y")
    if fraction:
        text += f".{fraction:09d}".rstrip("0")
    return text + "Z"


def rfc3339_from_unix_seconds(seconds: int | float) -> str:
    """UTC RFC 3339 from unix seconds; floats keep microseconds, the precision they hold.

    Decimal rounds the float's exact value: `seconds * 1e6` in floats can be off by a
    microsecond.
    """
    if isinstance(seconds, float):
        if not math.isfinite(seconds):
            raise ValueError("not a finite number")
        return rfc3339_from_unix_nanos(round(Decimal(seconds) * 1_000_000) * 1000)
    return rfc3339_from_unix_nanos(seconds * _NANOS)


def otlp_value(value: Any) -> Any:
    """Decode one OTLP/JSON AnyValue (`{"stringValue": ...}`, `{"intValue": "12"}`, …).

    int64 travels as a JSON string in OTLP/JSON, so intValue is parsed; bytesValue stays
    the base64 text it arrives as. Raises ValueError on a malformed value.
    """
    if not isinstance(value, Mapping):
        raise ValueError("an attribute value must be an object")
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "intValue" in value:
        return _number(int, value["intValue"], "intValue")
    if "doubleValue" in value:  # "NaN" and "Infinity" arrive as strings, which float() reads
        return _number(float, value["doubleValue"], "doubleValue")
    if "arrayValue" in value:
        return [otlp_value(item) for item in _values(value["arrayValue"], "arrayValue")]
    if "kvlistValue" in value:
        return otlp_attributes(_values(value["kvlistValue"], "kvlistValue"))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None  # an empty AnyValue is OTLP's null


def _values(holder: Any, field: str) -> list[Any]:
    """The `values` list of an arrayValue or kvlistValue; absent or null means empty."""
    holder = holder or {}
    values = holder.get("values") if isinstance(holder, Mapping) else None
    if not isinstance(holder, Mapping) or not isinstance(values, list | None):
        raise ValueError(f"{field} must be an object with a 'values' array")
    return values or []


def _number(kind: type, raw: Any, field: str) -> int | float:
    accepted = (str, int) if kind is int else (str, int, float)  # int(1.5) would truncate
    if isinstance(raw, bool) or not isinstance(raw, accepted):
        raise ValueError(f"{field} {raw!r} is not a number")
    try:
        number = kind(raw)
    except ValueError:
        raise ValueError(f"{field} {raw!r} is not a number") from None
    if kind is int and not -(2**63) <= number < 2**63:  # OTLP's int64; JSON writers choke past it
        raise ValueError(f"{field} {raw!r} is outside int64")
    return number


def otlp_attributes(items: Any) -> dict[str, Any]:
    """Decode an OTLP/JSON attribute list (`[{"key": k, "value": AnyValue}]`) to a dict."""
    if not isinstance(items, list):
        raise ValueError("attributes must be an array")
    decoded = {}
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
            raise ValueError("an attribute must be an object with a string 'key'")
        try:
            decoded[item["key"]] = otlp_value(item.get("value", {}))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"attribute '{item['key']}': {exc}") from None
    return decoded


def compact(**fields: Any) -> dict[str, Any]:
    """The fields that carry something: the contract leaves absent fields out, not null."""
    return {key: value for key, value in fields.items() if value is not None and value != {}}


def header(headers: Any, name: str) -> str | None:
    """A header value from a dict of headers, matching the name case-insensitively."""
    if not isinstance(headers, Mapping):
        return None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name and isinstance(value, str):
            return value
    return None
