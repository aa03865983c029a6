"""The adapter base class: one subclass per foreign log format.

An adapter turns one parsed input document (one JSON line) into zero or more exchange
records of the traffic-log contract. It never guesses the identity fields (request id,
time, account): when a document lacks one, the adapter raises `AdapterError` and ingest
quarantines the document with the error's reason.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from .common import compact, rfc3339_from_unix_seconds

Record = dict[str, Any]

_RESPONSE_KINDS = {
    "status": "integer",
    "finish_reason": "string",
    "content": "string",
    "latency_ms": "number",
    "usage": "object",
    "error": "object",
}


class AdapterError(ValueError):
    """A document that cannot be mapped; `reason` is what the quarantine records."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def kind_name(value: Any) -> str:
    """JSON's name for a value's type, so reasons read the same whatever the source."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def is_kind(value: Any, kind: str) -> bool:
    """Whether `value` is of a JSON kind; "integer" is a whole number within I-JSON's
    interoperable range (RFC 7493), which every count and status fits."""
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= 2**53
    return kind_name(value) == kind


def wrong_kind(path: str, expected: str, value: Any, what: str = "field") -> str:
    """The reason for a value of the wrong type: "field 'id' must be a string, got number"."""
    article = "an" if expected[0] in "aeiou" else "a"
    return f"{what} '{path}' must be {article} {expected}, got {kind_name(value)}"


class Adapter(ABC):
    """Maps one foreign document onto contract exchange records."""

    name: ClassVar[str]

    @abstractmethod
    def records(self, obj: Any) -> Iterator[Record]:
        """Yield the exchanges in `obj`; raise AdapterError if it cannot be mapped."""

    def fail(self, message: str) -> AdapterError:
        return AdapterError(f"{self.name}: {message}")

    def document(self, obj: Any) -> Mapping[str, Any]:
        if not isinstance(obj, Mapping):
            raise self.fail(f"document must be a JSON object, got {kind_name(obj)}")
        return obj

    def get(self, obj: Mapping[str, Any], key: str, kind: str, path: str | None = None) -> Any:
        """`obj[key]` checked against a JSON kind ("string", "integer", "object", …).

        A missing key and an explicit null both read as None: LiteLLM and OTLP writers
        emit nulls for fields they did not fill.
        """
        value = obj.get(key)
        if value is not None and not is_kind(value, kind):
            raise self.fail(wrong_kind(path or key, kind, value))
        return value

    def require(self, obj: Mapping[str, Any], key: str, kind: str, path: str | None = None) -> Any:
        value = self.get(obj, key, kind, path)
        if value is None:
            raise self.fail(f"missing field '{path or key}'")
        if value == "":
            raise self.fail(f"field '{path or key}' is empty")
        return value

    def unix_time(self, seconds: int | float, path: str) -> str:
        try:
            return rfc3339_from_unix_seconds(seconds)
        except (ValueError, OverflowError):
            raise self.fail(
                f"field '{path}' is not a unix time in years 1-9999: {seconds!r}"
            ) from None

    def messages(self, value: Any, path: str) -> list[Any]:
        """A chat history: an array of objects with a string role and string/array content."""
        if not isinstance(value, list):
            raise self.fail(wrong_kind(path, "array", value))
        for i, message in enumerate(value):
            where = f"{path}[{i}]"
            if not isinstance(message, Mapping):
                raise self.fail(wrong_kind(where, "object", message))
            self.require(message, "role", "string", f"{where}.role")
            content = message.get("content")
            if content is not None and not isinstance(content, (str, list)):
                raise self.fail(wrong_kind(f"{where}.content", "string or array", content))
        return value

    def response(self, response: Mapping[str, Any], path: str = "response") -> dict[str, Any]:
        """A contract `response` whose fields came from the source as they were: their
        types are checked here, so a wrong one quarantines the document."""
        for key, kind in _RESPONSE_KINDS.items():
            self.get(response, key, kind, f"{path}.{key}")
        usage = response.get("usage") or {}
        for key in ("input_tokens", "output_tokens", "reasoning_tokens"):
            self.get(usage, key, "integer", f"{path}.usage.{key}")
        return compact(**response)
