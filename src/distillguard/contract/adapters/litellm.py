"""LiteLLM `StandardLoggingPayload` lines to exchanges.

The payload is what the LiteLLM proxy hands its logging callbacks (field names as in
litellm/types/utils.py). One payload is one call, so one line yields one record, or
none when the call is not a model exchange (embeddings, files, batches, images, audio,
…: any call_type outside the chat, text-completion and Anthropic-messages ones). A
payload without call_type is read as a chat completion, LiteLLM's default call.

Decisions:
- account_id: `metadata.user_api_key_team_id`, else `metadata.user_api_key_user_id`,
  else AdapterError. A virtual key belongs to a user and usually to a team; the team is
  the customer organisation in LiteLLM's model (its members, keys and budget hang off
  it), so it wins, and several keys or members of one team are one customer.
  `end_user` is never the account: it is the `user` field of the request body, set
  freely by the caller to name its own end users, so a campaign could rotate it at will.
  It is kept in the `litellm` extra, with the other key-owner fields.
- api_key_id: `metadata.user_api_key_hash` (LiteLLM logs only the hash of the key).
- request: `model_parameters` (temperature, max_tokens, n, tools, …) plus `messages`,
  and `model_group` as the model: it is the name the caller asked the proxy for, while
  `model` is the deployment LiteLLM routed to (kept as `litellm.deployment_model`).
  A string `messages` (text completion) becomes one user message; null `messages` (the
  prompt was not logged) leaves `messages` out rather than claim an empty prompt.
- user_agent: the User-Agent header, where the payload carries request headers
  (`metadata.requester_custom_headers`, or `proxy_server_request.headers` in dumps that
  keep the proxy's request).
- response: status 200 on `status: "success"`; on `"failure"` the
  `error_information.error_code` when it is an HTTP status, else 500, HTTP's generic
  failure (the error class and message go to `response.error`). prompt_tokens and
  completion_tokens become input/output tokens; finish_reason and content come from
  the first choice; latency is endTime - startTime.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..schema import ENDPOINT_CHAT, ENDPOINT_MESSAGES
from .anthropic import message_response
from .base import Adapter, Record
from .common import compact, header

_ENDPOINTS = {
    **dict.fromkeys(
        ("completion", "acompletion", "text_completion", "atext_completion"), ENDPOINT_CHAT
    ),
    "anthropic_messages": ENDPOINT_MESSAGES,
}

# Fields about the caller, or the call, that have no contract field of their own.
_KEPT_METADATA = (
    "user_api_key_team_id",
    "user_api_key_user_id",
    "user_api_key_org_id",
    "user_api_key_alias",
    "user_api_key_team_alias",
    "user_api_key_user_email",
    "user_api_key_end_user_id",
    "requester_metadata",
    "requester_custom_headers",
    "spend_logs_metadata",
)
_KEPT_PAYLOAD = (
    "trace_id",
    "call_type",
    "end_user",
    "request_tags",
    "cache_hit",
    "response_cost",
    "custom_llm_provider",
    "completionStartTime",
)


class LiteLLMAdapter(Adapter):
    name = "litellm"

    def records(self, obj: Any) -> Iterator[Record]:
        payload = self.document(obj)
        call_type = self.get(payload, "call_type", "string") or "completion"
        endpoint = _ENDPOINTS.get(call_type)
        if endpoint is None:
            return
        request_id = self.require(payload, "id", "string")
        start = self.require(payload, "startTime", "number")
        metadata = self.get(payload, "metadata", "object") or {}

        yield compact(
            request_id=request_id,
            timestamp=self.unix_time(start, "startTime"),
            account_id=self._account(metadata),
            api_key_id=self.get(
                metadata, "user_api_key_hash", "string", "metadata.user_api_key_hash"
            ),
            client_ip=self.get(payload, "requester_ip_address", "string")
            or self.get(
                metadata, "requester_ip_address", "string", "metadata.requester_ip_address"
            ),
            user_agent=self._user_agent(payload, metadata),
            endpoint=endpoint,
            request=self._request(payload),
            response=self._response(payload, endpoint, start),
            litellm=compact(
                deployment_model=payload.get("model") if payload.get("model_group") else None,
                **{k: payload.get(k) for k in _KEPT_PAYLOAD},
                **{k: metadata.get(k) for k in _KEPT_METADATA},
            ),
        )

    def _account(self, metadata: Mapping[str, Any]) -> str:
        for key in ("user_api_key_team_id", "user_api_key_user_id"):
            account = self.get(metadata, key, "string", f"metadata.{key}")
            if account:
                return account
        raise self.fail("no account in metadata.user_api_key_team_id or user_api_key_user_id")

    @staticmethod
    def _user_agent(payload: Mapping[str, Any], metadata: Mapping[str, Any]) -> str | None:
        proxy_request = payload.get("proxy_server_request")
        return header(metadata.get("requester_custom_headers"), "user-agent") or (
            header(proxy_request.get("headers"), "user-agent")
            if isinstance(proxy_request, Mapping)
            else None
        )

    def _request(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        model = self.get(payload, "model_group", "string") or self.require(
            payload, "model", "string"
        )
        params = self.get(payload, "model_parameters", "object") or {}
        request = {**params, "model": model}
        messages = payload.get("messages")
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        # null means the prompt was not logged: no messages, rather than an empty prompt.
        if messages is not None:
            request["messages"] = self.messages(messages, "messages")
        if "stream" not in request and isinstance(payload.get("stream"), bool):
            request["stream"] = payload["stream"]
        return request

    def _response(self, payload: Mapping[str, Any], endpoint: str, start: float) -> dict[str, Any]:
        status = self.get(payload, "status", "string")
        if status not in (None, "success", "failure"):
            raise self.fail(f"field 'status' must be 'success' or 'failure', got {status!r}")
        failed = status == "failure"
        error = self.get(payload, "error_information", "object") or {}
        if failed:
            code = str(error.get("error_code") or "")
            http_status = int(code) if code.isdigit() and len(code) == 3 else 500
        else:
            http_status = 200 if status == "success" else None

        # Only the response object is read; LiteLLM logs a bare string for some call types.
        body = payload["response"] if isinstance(payload.get("response"), Mapping) else {}
        if endpoint == ENDPOINT_MESSAGES:
            answer = message_response(self, body)
            finish_reason, content = answer.get("finish_reason"), answer.get("content")
        else:
            choices = self.get(body, "choices", "array", "response.choices") or [{}]
            first = choices[0] if isinstance(choices[0], Mapping) else {}
            path = "response.choices[0]"
            message = self.get(first, "message", "object", f"{path}.message") or {}
            finish_reason = self.get(first, "finish_reason", "string", f"{path}.finish_reason")
            content = self.get(message, "content", "string", f"{path}.message.content")
            if "message" not in first:  # text completions answer in `text`
                content = self.get(first, "text", "string", f"{path}.text")

        usage = self.get(body, "usage", "object", "response.usage") or {}
        path = "response.usage.completion_tokens_details"
        details = self.get(usage, "completion_tokens_details", "object", path) or {}
        end = self.get(payload, "endTime", "number")
        return compact(
            status=http_status,
            finish_reason=finish_reason,
            usage=compact(
                input_tokens=self.get(payload, "prompt_tokens", "integer"),
                output_tokens=self.get(payload, "completion_tokens", "integer"),
                reasoning_tokens=self.get(
                    details, "reasoning_tokens", "integer", f"{path}.reasoning_tokens"
                ),
            ),
            content=content,
            latency_ms=round((end - start) * 1000, 3) if end is not None and end >= start else None,
            # LiteLLM fills absent error fields with "", so empty reads as absent.
            error=compact(
                type=error.get("error_class") or None,
                message=payload.get("error_str") or error.get("error_message") or None,
            )
            if failed
            else None,
        )
