"""Anthropic Messages API request bodies to exchanges (`endpoint: "messages"`).

A line is either a wrapper, `{"request_id"|"id", "timestamp", "account_id", "api_key_id",
"client_ip", "user_agent", "body": {...}, "response": {...}}`, or a bare Messages body
with those same fields beside it (then every other field belongs to the body). The
body is kept as received, in Anthropic form (system, messages with content blocks,
tools, thinking, max_tokens), as the contract allows; only `model` and `messages` are
checked. Other wrapper keys are kept as extra record fields.

Decisions:
- request_id: `request_id`, else `id`, else the response's own id (`msg_…`, or the
  `request_id` an error response carries): each names exactly one exchange.
- timestamp: RFC 3339 text, or unix seconds. Absent means AdapterError: the time a
  request arrived cannot be recovered from anything else in the line.
- account_id: required. `body.metadata.user_id` is never used instead: the client sets
  it (to name its own end user), so it proves nothing about who is billed.
- response: a Messages response object (`type: "message"`), an error object
  (`type: "error"`, its HTTP status taken from the documented error type), or a
  response already in contract form, passed through.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..schema import ENDPOINT_MESSAGES, RFC3339_PATTERN
from .base import Adapter, Record, kind_name, wrong_kind
from .common import compact

_ENVELOPE = (
    "request_id",
    "id",
    "timestamp",
    "account_id",
    "api_key_id",
    "client_ip",
    "user_agent",
    "response",
)
_RFC3339 = re.compile(RFC3339_PATTERN)

# HTTP status of each documented error type (docs.claude.com/en/api/errors).
_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def message_response(adapter: Adapter, response: Mapping[str, Any]) -> dict[str, Any]:
    """Contract `response` fields from an Anthropic Messages response or error object
    (found under `response` in both this format and LiteLLM's, hence the reason paths).

    input_tokens adds the cache reads and writes back in: Anthropic counts them apart,
    while the contract's input_tokens is the whole prompt, as OpenAI's prompt_tokens is.
    The breakdown stays beside it. Only text blocks make `content`; thinking and tool_use
    blocks are not answer text.
    """
    if response.get("type") == "error":
        error = adapter.get(response, "error", "object", "response.error") or {}
        kind = adapter.get(error, "type", "string", "response.error.type")
        return compact(
            status=_ERROR_STATUS.get(kind),
            error=compact(
                type=kind, message=adapter.get(error, "message", "string", "response.error.message")
            ),
        )
    usage = adapter.get(response, "usage", "object", "response.usage") or {}
    counts = {
        key: adapter.get(usage, key, "integer", f"response.usage.{key}")
        for key in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    }
    prompt = [n for n in counts.values() if n is not None]
    blocks = adapter.get(response, "content", "array", "response.content") or []
    texts = [
        adapter.get(block, "text", "string", f"response.content[{i}].text")
        for i, block in enumerate(blocks)
        if isinstance(block, Mapping) and block.get("type") == "text"
    ]
    return compact(
        status=200,
        finish_reason=adapter.get(response, "stop_reason", "string", "response.stop_reason"),
        usage=compact(
            input_tokens=sum(prompt) if prompt else None,
            output_tokens=adapter.get(
                usage, "output_tokens", "integer", "response.usage.output_tokens"
            ),
            cache_read_input_tokens=counts["cache_read_input_tokens"],
            cache_creation_input_tokens=counts["cache_creation_input_tokens"],
        ),
        content="".join(t for t in texts if t is not None) if texts else None,
    )


class AnthropicAdapter(Adapter):
    name = "anthropic"

    def records(self, obj: Any) -> Iterator[Record]:
        doc = self.document(obj)
        if "body" in doc:
            body = self.require(doc, "body", "object")
            extras = {k: v for k, v in doc.items() if k not in _ENVELOPE and k != "body"}
            prefix = "body."
        else:
            body = {k: v for k, v in doc.items() if k not in _ENVELOPE}
            extras, prefix = {}, ""
        self.require(body, "model", "string", f"{prefix}model")
        self.messages(body.get("messages"), f"{prefix}messages")

        raw_response = self.get(doc, "response", "object")
        response = None
        if raw_response is not None:
            if raw_response.get("type") in ("message", "error"):
                # A wrapper may add what the API object lacks: HTTP status, latency.
                added = {k: raw_response.get(k) for k in ("status", "latency_ms")}
                response = message_response(self, raw_response) | compact(**added)
            else:
                response = raw_response  # already in contract form
            response = self.response(response)

        yield compact(**extras) | compact(
            request_id=self._request_id(doc, raw_response),
            timestamp=self._timestamp(doc),
            account_id=self.require(doc, "account_id", "string"),
            api_key_id=self.get(doc, "api_key_id", "string"),
            client_ip=self.get(doc, "client_ip", "string"),
            user_agent=self.get(doc, "user_agent", "string"),
            endpoint=ENDPOINT_MESSAGES,
            request=dict(body),
            response=response,
        )

    def _request_id(self, doc: Mapping[str, Any], response: Mapping[str, Any] | None) -> str:
        for key in ("request_id", "id"):
            if doc.get(key) is not None:
                return self.require(doc, key, "string")
        if response is not None:
            for key in ("id", "request_id"):
                if isinstance(response.get(key), str) and response[key]:
                    return response[key]
        raise self.fail("missing field 'request_id'")

    def _timestamp(self, doc: Mapping[str, Any]) -> str:
        value = doc.get("timestamp")
        if value is None:
            raise self.fail("missing field 'timestamp'")
        if kind_name(value) == "number":
            return self.unix_time(value, "timestamp")
        if not isinstance(value, str):
            raise self.fail(wrong_kind("timestamp", "string or number", value))
        if not _RFC3339.fullmatch(value):
            raise self.fail(f"field 'timestamp' is not RFC 3339: {value!r}")
        return value
