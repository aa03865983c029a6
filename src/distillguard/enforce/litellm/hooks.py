"""LiteLLM's request data and response objects translated to and from the engine's calls.

Nothing here imports LiteLLM, so it is tested in the project's own venv; `guardrail.py` only wires
these functions into LiteLLM's hooks. Every decision comes from the engine: this module finds the
account, client IP and body in LiteLLM's request data, and applies a decision's safeguards to
LiteLLM's request dict and response objects."""

from __future__ import annotations

from typing import Any

from ..context import ACCOUNT_HEADER, RequestContext, key_account
from ..decision import Decision
from ..engine import Engine

# LiteLLM's user for requests made with the master key (admin tools, a front that authenticates
# customers itself): not a customer account.
PROXY_ADMIN = "default_user_id"
# Call types whose body carries max_tokens-style caps (the Responses API's under its own names). Embeddings,
# images and the like are decided (a blocked account is blocked everywhere) but have nothing to cap.
CAPPED_CALLS = frozenset({"completion", "acompletion", "text_completion", "atext_completion",
                          "anthropic_messages", "responses", "aresponses"})
STASH = "distillguard"  # the decision's key in the request metadata (LiteLLM's spend logs keep it)


def metadata(data: dict) -> dict | None:
    for name in ("metadata", "litellm_metadata"):
        if isinstance(data.get(name), dict):
            return data[name]
    return None


def request_context(engine: Engine, key: Any, data: dict) -> RequestContext:
    """The request as the engine sees it.

    The account is the virtual key's team, else its user: the same precedence as the LiteLLM log
    adapter (`contract/adapters/litellm.py`), so a scan of LiteLLM's logs names the accounts this
    guardrail enforces on. A key with neither is its own account (a hash of it). Only a request made
    with the master key (a front that authenticated the customer itself) may name its account,
    organisation and payment fingerprint in the `x-distillguard-*` headers, and only when the policy
    trusts them: a customer holding a virtual key must not be able to pass for another account."""
    server_request = data.get("proxy_server_request") or {}
    headers = server_request.get("headers") or {}
    body = server_request.get("body") or data
    user = getattr(key, "user_id", None)
    master = user == PROXY_ADMIN
    trusted = engine.policy.trust_account_header and master
    account = None if master else getattr(key, "team_id", None) or user
    if account is None and not (trusted and any(k.lower() == ACCOUNT_HEADER and v for k, v in headers.items())):
        # LiteLLM strips the Authorization header from what hooks see; its key hash stands in.
        account = key_account(getattr(key, "token", None) or getattr(key, "api_key", None) or "anonymous")
    return RequestContext.from_openai(body, headers, (metadata(data) or {}).get("requester_ip_address") or None,
                                      account_id=account, trust_headers=trusted,
                                      org_id=None if master else getattr(key, "org_id", None))


def cap_request(engine: Engine, data: dict, decision: Decision, call_type: str) -> None:
    """Apply the decision's request caps to LiteLLM's request dict in place (LiteLLM and its other
    callbacks hold references to that very dict)."""
    if not decision.safeguards:
        return
    if call_type in CAPPED_CALLS:
        capped = engine.apply_safeguards(data, decision)
        for k in [k for k in data if k not in capped]:
            del data[k]
        data.update(capped)


def stash(data: dict, decision: Decision) -> None:
    """Keep the decision with the request for the post-call hooks."""
    meta = metadata(data)
    if meta is not None:
        meta[STASH] = decision.to_dict()


def stashed(data: dict) -> Decision | None:
    d = (metadata(data) or {}).get(STASH)
    return Decision.from_dict(d) if isinstance(d, dict) else None


def withhold(engine: Engine, response: Any, decision: Decision, ctx: RequestContext | None = None) -> None:
    """Apply the engine's response safeguards to a LiteLLM response (given `ctx`) or stream chunk, in place.

    The engine works on OpenAI JSON; LiteLLM hands over pydantic objects that also carry its cost and
    header bookkeeping, so the engine's result is copied back field by field."""
    if not decision.safeguards:
        return
    if not hasattr(response, "choices"):
        if hasattr(response, "output") or isinstance(getattr(response, "type", None), str):
            _withhold_responses(engine, response, decision, ctx)
        return
    body = response.model_dump()
    if ctx is None:
        treated, part = engine.observe_chunk(body, decision), "delta"
    else:
        treated, part = engine.observe_response(ctx, body, decision), "message"
    strip = decision.safeguards.get("reasoning", "keep") != "keep"
    for choice, new in zip(response.choices, treated.get("choices") or ()):
        if "logprobs" not in new and getattr(choice, "logprobs", None) is not None:
            choice.logprobs = None
        holder, new_holder = getattr(choice, part, None), new.get(part) or {}
        if holder is None:
            continue
        if getattr(holder, "reasoning_content", None) is not None:
            holder.reasoning_content = new_holder.get("reasoning_content")  # removed, or the engine's summary
        if strip and getattr(holder, "thinking_blocks", None) is not None:
            holder.thinking_blocks = None  # LiteLLM's carrier of Anthropic thinking, unknown to the engine


def _withhold_responses(engine: Engine, response: Any, decision: Decision, ctx: RequestContext | None) -> None:
    """A Responses API answer (`output` items) or stream event (`type`), in place: the engine treats its
    JSON (reasoning items lose their text, reasoning events their deltas, logprobs go) and every field it
    changed is put back as an object of the field's own class."""
    body = response.model_dump()
    treated = engine.observe_chunk(body, decision) if ctx is None else engine.observe_response(ctx, body, decision)
    _put_back(response, body, treated)


def _put_back(obj: Any, old: dict, new: dict) -> None:
    for key, before in old.items():
        if key not in new:   # removed by the engine (logprobs): emptied, the field itself may be required
            setattr(obj, key, [] if isinstance(before, list) else None)
        elif new[key] != before:
            setattr(obj, key, _rebuilt(getattr(obj, key), new[key]))


def _rebuilt(current: Any, value: Any) -> Any:
    """`value` (JSON) as the kind of object `current` is: a model of the same class, a list of them."""
    if isinstance(current, list) and isinstance(value, list) and len(current) == len(value):
        return [_rebuilt(c, v) for c, v in zip(current, value)]
    if hasattr(current, "model_validate") and isinstance(value, dict):
        return type(current).model_validate(value)
    return value
