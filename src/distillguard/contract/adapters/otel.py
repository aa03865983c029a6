"""OpenTelemetry GenAI spans, exported as OTLP/JSON, to exchanges.

A line is one OTLP/JSON export (`{"resourceSpans": [{"resource", "scopeSpans":
[{"spans": [...]}]}]}`) and yields one exchange per inference span: `gen_ai.operation.name`
chat, text_completion or generate_content, or, without an operation name, a span with
`gen_ai.request.model`. Other spans (HTTP, database, embeddings, tool runs, agents) are
not exchanges and are skipped; a line with no inference span yields nothing, which the
caller counts. A line maps whole or not at all: one unmappable span raises AdapterError
for the line, so a quarantined line is never also half-ingested.

Decisions:
- request_id: `gen_ai.response.id` (the provider's id for the completion), else
  `<traceId>/<spanId>`, which OTLP makes unique per span.
- timestamp: startTimeUnixNano, kept to the nanosecond; latency is end - start.
- account_id: the first of `account_keys` (default `enduser.id`, then `user.id`) on the
  span, then on its resource; AdapterError if none. `service.name` is never used: it
  names the instrumented service (often the provider's own gateway), so every exchange
  would collapse onto one account and the multi-account pattern would vanish. Gateways
  that record the account under another attribute pass `account_keys`.
- request: `gen_ai.request.*` become Chat Completions parameters (model, temperature,
  max_tokens, top_p, top_k, seed, penalties, stop, n, stream) and
  `gen_ai.tool.definitions` the tools. Messages come from the first source present:
  `gen_ai.input.messages` (parts-based) with `gen_ai.system_instructions` before it;
  the older flattened `gen_ai.prompt.N.*` attributes; the `gen_ai.{system,user,
  assistant,tool}.message` events; the `gen_ai.content.prompt` event. Content capture is
  opt-in in OTel, so without any of them the request has no `messages` at all rather
  than an empty list that would claim an empty prompt.
- response: usage from `gen_ai.usage.*` (or the older prompt/completion token names);
  finish_reason is the first of `gen_ai.response.finish_reasons`; status is
  `http.response.status_code` when recorded, else 500 when the span failed (status
  ERROR or `error.type`, which the conventions require on failure), else 200.
- Everything else on the span (unmapped attributes, other events, the resource's
  attributes) is kept under the `otel` extra.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..schema import ENDPOINT_CHAT
from .base import Adapter, Record, is_kind, kind_name, wrong_kind
from .common import compact, otlp_attributes, rfc3339_from_unix_nanos

_INFERENCE_OPERATIONS = {"chat", "text_completion", "generate_content"}
_PARAMS = {
    "gen_ai.request.model": "model",
    "gen_ai.request.temperature": "temperature",
    "gen_ai.request.max_tokens": "max_tokens",
    "gen_ai.request.top_p": "top_p",
    "gen_ai.request.top_k": "top_k",
    "gen_ai.request.seed": "seed",
    "gen_ai.request.frequency_penalty": "frequency_penalty",
    "gen_ai.request.presence_penalty": "presence_penalty",
    "gen_ai.request.stop_sequences": "stop",
    "gen_ai.request.choice.count": "n",
    "gen_ai.request.stream": "stream",
}
_MESSAGE_EVENTS = {
    f"gen_ai.{role}.message": role for role in ("system", "user", "assistant", "tool")
}
_FLAT_PROMPT = re.compile(r"gen_ai\.prompt\.(\d+)\.(.+)")
_FLAT_TOOL_CALL = re.compile(r"tool_calls\.(\d+)\.(id|name|arguments)")
_ERROR_CODES = {2, "STATUS_CODE_ERROR"}  # OTLP/JSON writes enums as numbers or names
# Token counts under their current names, then the names older instrumentations use.
_INPUT_TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
_OUTPUT_TOKENS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
_REASONING_TOKENS = ("gen_ai.usage.reasoning.output_tokens",)


class OtelAdapter(Adapter):
    name = "otel"

    def __init__(self, account_keys: tuple[str, ...] = ("enduser.id", "user.id")) -> None:
        self.account_keys = account_keys

    def records(self, obj: Any) -> Iterator[Record]:
        # Map every span before yielding any, so that a failure leaves nothing half-ingested.
        found = [
            self._exchange(span, attributes, resource, path)
            for span, attributes, resource, path in self._spans(self.document(obj))
            if self._is_inference(attributes)
        ]
        yield from found

    def _spans(self, doc: Mapping[str, Any]) -> Iterator[tuple[Mapping, dict, dict, str]]:
        """Each span with its decoded attributes, its resource's attributes and its path."""
        for r, resource_spans in enumerate(self.require(doc, "resourceSpans", "array")):
            where = f"resourceSpans[{r}]"
            resource_spans = self._object(resource_spans, where)
            holder = self._object(resource_spans.get("resource") or {}, f"{where}.resource")
            resource = self._attributes(holder, f"{where}.resource")
            for s, scope_spans in enumerate(self._array(resource_spans, "scopeSpans", where)):
                scope_path = f"{where}.scopeSpans[{s}]"
                spans = self._array(self._object(scope_spans, scope_path), "spans", scope_path)
                for k, span in enumerate(spans):
                    path = f"{scope_path}.spans[{k}]"
                    span = self._object(span, path)
                    yield span, self._attributes(span, path), resource, path

    @staticmethod
    def _is_inference(attributes: Mapping[str, Any]) -> bool:
        operation = attributes.get("gen_ai.operation.name")
        if operation is None:
            return "gen_ai.request.model" in attributes
        return isinstance(operation, str) and operation in _INFERENCE_OPERATIONS

    def _exchange(
        self,
        span: Mapping[str, Any],
        attributes: dict[str, Any],
        resource: dict[str, Any],
        path: str,
    ) -> Record:
        rest = dict(attributes)  # what is left unmapped goes to the `otel` extra
        start = self._nanos(span, "startTimeUnixNano", path, required=True)
        try:
            timestamp = rfc3339_from_unix_nanos(start)
        except (ValueError, OverflowError):
            raise self.fail(
                f"{path}: field 'startTimeUnixNano' is past year 9999: {start}"
            ) from None
        end = self._nanos(span, "endTimeUnixNano", path, required=False)
        trace_id = self.get(span, "traceId", "string", f"{path}.traceId")
        span_id = self.get(span, "spanId", "string", f"{path}.spanId")
        request_id = self._take(rest, "gen_ai.response.id", "string", path)
        if not request_id:
            if not (trace_id and span_id):
                raise self.fail(f"{path}: no gen_ai.response.id and no traceId/spanId")
            request_id = f"{trace_id}/{span_id}"

        request = {name: rest.pop(key) for key, name in _PARAMS.items() if key in rest}
        tools = self._json(
            rest.pop("gen_ai.tool.definitions", None), "gen_ai.tool.definitions", path
        )
        if tools is not None:
            request["tools"] = (
                [_chat_tool(tool) for tool in tools] if isinstance(tools, list) else tools
            )
        events = [
            self._event(event, f"{path}.events[{i}]")
            for i, event in enumerate(self._array(span, "events", path))
        ]
        messages = self._messages(rest, events, path)
        if messages is not None:
            request["messages"] = messages

        status = span.get("status") if isinstance(span.get("status"), Mapping) else {}
        return compact(
            request_id=request_id,
            timestamp=timestamp,
            account_id=self._account(rest, resource, path),
            client_ip=self._take(rest, "client.address", "string", path),
            user_agent=self._take(rest, "user_agent.original", "string", path),
            endpoint=ENDPOINT_CHAT,
            request=request,
            response=self._response(rest, status, start, end, path),
            otel=compact(
                trace_id=trace_id,
                span_id=span_id,
                name=span.get("name"),
                attributes=rest,
                events=events or None,
                resource=resource,
            ),
        )

    def _account(self, rest: dict[str, Any], resource: Mapping[str, Any], path: str) -> str:
        for attributes in (rest, resource):
            for key in self.account_keys:
                account = self._check(attributes.get(key), "string", key, path)
                if account:
                    return account
        keys = " or ".join(self.account_keys)
        raise self.fail(f"{path}: no account in {keys} on the span or its resource")

    def _response(
        self,
        rest: dict[str, Any],
        status: Mapping[str, Any],
        start: int,
        end: int | None,
        path: str,
    ) -> dict[str, Any]:
        # The first choice speaks for the exchange, as in the other adapters.
        output = self._json(
            rest.pop("gen_ai.output.messages", None), "gen_ai.output.messages", path
        )
        first = (
            output[0]
            if isinstance(output, list) and output and isinstance(output[0], Mapping)
            else {}
        )
        parts = first.get("parts") if isinstance(first.get("parts"), list) else []
        texts = [
            p["content"]
            for p in parts
            if isinstance(p, Mapping)
            and p.get("type") == "text"
            and isinstance(p.get("content"), str)
        ]
        content = "".join(texts) or self._take(rest, "gen_ai.completion.0.content", "string", path)
        finish = rest.pop("gen_ai.response.finish_reasons", None)
        if isinstance(finish, list):  # one reason per choice
            finish = finish[0] if finish else None
        finish_reason = (
            self._check(finish, "string", "gen_ai.response.finish_reasons", path)
            or self._check(first.get("finish_reason"), "string", "gen_ai.output.messages", path)
            or self._take(rest, "gen_ai.completion.0.finish_reason", "string", path)
        )

        error_type = self._take(rest, "error.type", "string", path)
        http_status = self._take(rest, "http.response.status_code", "integer", path)
        code = status.get("code")
        failed = error_type is not None or (isinstance(code, int | str) and code in _ERROR_CODES)
        return compact(
            status=http_status or (500 if failed else 200),
            finish_reason=finish_reason,
            usage=compact(
                input_tokens=self._take_first(rest, _INPUT_TOKENS, path),
                output_tokens=self._take_first(rest, _OUTPUT_TOKENS, path),
                reasoning_tokens=self._take_first(rest, _REASONING_TOKENS, path),
            ),
            content=content or None,
            latency_ms=(end - start) / 1e6 if end is not None and end >= start else None,
            error=compact(type=error_type, message=status.get("message") or None)
            if failed
            else None,
        )

    def _messages(self, rest: dict[str, Any], events: list[Any], path: str) -> list[Any] | None:
        """The chat history from the first content source the span carries, or None."""
        system = self._json(
            rest.pop("gen_ai.system_instructions", None), "gen_ai.system_instructions", path
        )
        history = self._json(rest.pop("gen_ai.input.messages", None), "gen_ai.input.messages", path)
        if history is not None or system is not None:
            self._check(history, "array", "gen_ai.input.messages", path)
            messages = (
                []
                if system is None
                else [{"role": "system", "content": _chat_content(_parts(system))}]
            )
            for i, message in enumerate(history or []):
                messages.extend(self._from_parts(message, f"{path}: gen_ai.input.messages[{i}]"))
            return messages

        flat = self._from_flat(rest)
        if flat:
            return self.messages(flat, f"{path}.gen_ai.prompt")

        messages = []
        for event in [e for e in events if e["name"] in _MESSAGE_EVENTS]:
            events.remove(event)
            body = event["attributes"]
            # Some writers put the whole event body in one JSON attribute.
            if "gen_ai.event.content" in body:
                body = self._json(body["gen_ai.event.content"], "gen_ai.event.content", path)
                body = self._object(body, f"{path}: event {event['name']} gen_ai.event.content")
            content = body.get("content")
            messages.append(
                compact(
                    role=body.get("role") or _MESSAGE_EVENTS[event["name"]],
                    content=_decoded(content) if isinstance(content, str) else content,
                    tool_calls=body.get("tool_calls"),
                    tool_call_id=body.get("id"),
                )
            )
        for event in [e for e in events if e["name"] == "gen_ai.content.prompt"]:
            events.remove(event)
            prompt = self._json(event["attributes"].get("gen_ai.prompt"), "gen_ai.prompt", path)
            messages.extend(self._check(prompt, "array", "gen_ai.prompt", path) or [])
        return self.messages(messages, f"{path}.events") if messages else None

    def _from_parts(self, message: Any, where: str) -> list[dict[str, Any]]:
        """One parts-based message as Chat Completions messages (tool results become tool turns)."""
        if not isinstance(message, Mapping) or not isinstance(message.get("role"), str):
            raise self.fail(f"{where} must be an object with a string 'role'")
        parts = message.get("parts") or []
        if not isinstance(parts, list):
            raise self.fail(f"{where}.parts must be an array, got {kind_name(parts)}")
        content, tool_calls, tool_turns = [], [], []
        for part in parts:
            kind = part.get("type") if isinstance(part, Mapping) else None
            if kind == "tool_call":
                tool_calls.append(
                    {
                        "id": part.get("id"),
                        "type": "function",
                        "function": {
                            "name": part.get("name"),
                            "arguments": _json_text(part.get("arguments")),
                        },
                    }
                )
            elif kind == "tool_call_response":
                # The JSON schema names the payload `response`; registry examples say `result`.
                result = part.get("response", part.get("result"))
                tool_turns.append(
                    {"role": "tool", "tool_call_id": part.get("id"), "content": _json_text(result)}
                )
            else:
                content.append(part)
        turn = compact(
            role=message["role"],
            content=_chat_content(content),
            tool_calls=tool_calls or None,
            name=message.get("name"),
        )
        return ([turn] if content or tool_calls or not tool_turns else []) + tool_turns

    @staticmethod
    def _from_flat(rest: dict[str, Any]) -> list[dict[str, Any]]:
        """Messages from the flattened `gen_ai.prompt.N.role/content/tool_calls.M.*` attributes."""
        turns: dict[int, dict[str, Any]] = {}
        for key in [k for k in rest if _FLAT_PROMPT.fullmatch(k)]:
            index, field = _FLAT_PROMPT.fullmatch(key).groups()
            turn = turns.setdefault(int(index), {})
            value = rest.pop(key)
            call = _FLAT_TOOL_CALL.fullmatch(field)
            if call:
                calls = turn.setdefault("tool_calls", {})
                calls.setdefault(int(call[1]), {})[call[2]] = value
            else:
                turn[field] = (
                    _decoded(value) if field == "content" and isinstance(value, str) else value
                )
        messages = []
        for _, turn in sorted(turns.items()):
            calls = turn.pop("tool_calls", {})
            if calls:
                turn["tool_calls"] = [
                    {
                        "id": c.get("id"),
                        "type": "function",
                        "function": {
                            "name": c.get("name"),
                            "arguments": _json_text(c.get("arguments")),
                        },
                    }
                    for _, c in sorted(calls.items())
                ]
            messages.append(turn)
        return messages

    def _object(self, value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(wrong_kind(path, "object", value))
        return value

    def _array(self, holder: Mapping[str, Any], key: str, path: str) -> list[Any]:
        return self.get(holder, key, "array", f"{path}.{key}") or []

    def _event(self, event: Any, path: str) -> dict[str, Any]:
        """A span event with its attributes decoded, as the `otel` extra keeps it."""
        event = self._object(event, path)
        return {
            "name": self.get(event, "name", "string", f"{path}.name"),
            "timeUnixNano": event.get("timeUnixNano"),
            "attributes": self._attributes(event, path),
        }

    def _attributes(self, holder: Mapping[str, Any], path: str) -> dict[str, Any]:
        try:
            return otlp_attributes(holder.get("attributes") or [])
        except ValueError as exc:
            raise self.fail(f"{path}.attributes: {exc}") from None

    def _nanos(self, span: Mapping[str, Any], key: str, path: str, *, required: bool) -> int | None:
        value = span.get(key)
        if value is None:
            if required:
                raise self.fail(f"{path}: missing field '{key}'")
            return None
        # uint64 is a JSON string in OTLP/JSON; some writers emit a plain number.
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).isdigit():
            raise self.fail(f"{path}: field '{key}' must be unix nanoseconds, got {value!r}")
        if int(value) == 0 and required:
            raise self.fail(f"{path}: field '{key}' is 0 (unset)")
        return int(value)

    def _check(self, value: Any, kind: str, key: str, path: str) -> Any:
        if value is not None and not is_kind(value, kind):
            raise self.fail(f"{path}: " + wrong_kind(key, kind, value, "attribute"))
        return value

    def _take(self, rest: dict[str, Any], key: str, kind: str, path: str) -> Any:
        """Remove a mapped attribute (so the extra does not repeat it), checking its type."""
        return self._check(rest.pop(key, None), kind, key, path)

    def _take_first(self, rest: dict[str, Any], keys: tuple[str, ...], path: str) -> int | None:
        """The first of `keys` present, current name before older ones; the others stay."""
        for key in keys:
            if key in rest:
                return self._take(rest, key, "integer", path)
        return None

    def _json(self, value: Any, key: str, path: str) -> Any:
        """A structured attribute: either structured already, or a JSON string of it."""
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise self.fail(f"{path}: attribute '{key}' is not valid JSON") from None


def _parts(value: Any) -> list[Any]:
    """System instructions are a parts array, but some writers record a bare string."""
    if isinstance(value, str):
        return [{"type": "text", "content": value}]
    return value if isinstance(value, list) else [value]


def _chat_content(parts: list[Any]) -> str | list[Any] | None:
    """Parts as Chat Completions content: a lone text part is a string, images become
    image_url parts, anything else (reasoning, files, server tools) is kept as it came."""
    converted = []
    for part in parts:
        kind = part.get("type") if isinstance(part, Mapping) else None
        mime = part.get("mime_type") if kind and isinstance(part.get("mime_type"), str) else ""
        image = kind in ("uri", "blob") and (
            part.get("modality") == "image" or mime.startswith("image/")
        )
        if kind == "text":
            converted.append({"type": "text", "text": part.get("content")})
        elif image and kind == "uri":
            converted.append({"type": "image_url", "image_url": {"url": part.get("uri")}})
        elif image:
            data_url = f"data:{mime or 'application/octet-stream'};base64,{part.get('content')}"
            converted.append({"type": "image_url", "image_url": {"url": data_url}})
        else:
            converted.append(part)
    if (
        len(converted) == 1
        and isinstance(converted[0], Mapping)
        and converted[0].get("type") == "text"
    ):
        return converted[0]["text"]
    return converted or None


def _chat_tool(tool: Any) -> Any:
    """A GenAI tool definition (`{type, name, description, parameters}`) as Chat Completions'."""
    if isinstance(tool, Mapping) and "name" in tool and "function" not in tool:
        function = {k: v for k, v in tool.items() if k != "type"}
        return {"type": tool.get("type", "function"), "function": function}
    return tool


def _json_text(value: Any) -> Any:
    """Chat Completions carries tool arguments and results as text."""
    return value if value is None or isinstance(value, str) else json.dumps(value)


def _decoded(content: str) -> str | list[Any]:
    """Flattened and event content holds multimodal parts as a JSON array string; plain
    text that merely looks like JSON stays text."""
    if content.startswith("["):
        try:
            parts = json.loads(content)
        except ValueError:
            return content
        if parts and all(isinstance(p, Mapping) and "type" in p for p in parts):
            return parts
    return content
