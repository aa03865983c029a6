"""Output safeguards: cap what a request may harvest, and withhold reasoning traces from the answer.

Capping `n`, `logprobs` and `max_tokens` cuts the training signal per call (samples to rank, token
distributions to match, long traces); reasoning traces are what a distiller values most, so they are
removed or replaced by a short extractive summary (first and last sentence: the approach and the
conclusion, not the steps)."""

from __future__ import annotations

import copy
import re
from typing import Any

from .policy import Safeguards

_EFFORT = ("minimal", "low", "medium", "high", "xhigh")
_REASONING_KEYS = ("reasoning_content", "reasoning", "reasoning_details", "thinking")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
THINKING_MIN_BUDGET = 1024  # the smallest thinking budget the Anthropic API accepts
# Endpoints whose requests and answers the safeguards rewrite (a path's end, after any /v1 or deployment
# prefix): the caps are generation parameters, which embeddings, moderation or file endpoints reject.
GENERATION_PATHS = ("/chat/completions", "/completions", "/responses", "/messages")


def generates(path: str | None) -> bool:
    """Whether a request to `path` generates text; an unknown path (None) leaves it to the body's form."""
    return path is None or path.rstrip("/").endswith(GENERATION_PATHS)


def rewrites(cfg: Safeguards) -> dict[str, Any]:
    """The safeguard settings a decision carries (only those that change something)."""
    out: dict[str, Any] = {"reasoning": cfg.reasoning, "logprobs": cfg.logprobs}
    if cfg.max_tokens is not None:
        out["max_tokens"] = cfg.max_tokens
    if cfg.n is not None:
        out["n"] = cfg.n
    if cfg.reasoning_effort is not None:
        out["reasoning_effort"] = cfg.reasoning_effort
    out["summary_chars"] = cfg.summary_chars
    return out


def rewrite_request(body: dict, sg: dict[str, Any]) -> dict:
    """A copy of `body` with the caps applied; `body` itself is left alone."""
    if not sg:
        return body
    out = dict(body)
    responses = _is_responses(out)
    cap = sg.get("max_tokens")
    if cap is not None:
        keys = ["max_output_tokens"] if responses else \
            [k for k in ("max_tokens", "max_completion_tokens") if k in out] or ["max_tokens"]
        for k in keys:
            out[k] = min(int(out.get(k) or cap), cap)
    if sg.get("n") is not None and "n" in out:
        out["n"] = min(int(out["n"] or 1), sg["n"])
    if not sg.get("logprobs", True):
        out.pop("logprobs", None)
        out.pop("top_logprobs", None)
        if isinstance(out.get("include"), list):
            out["include"] = [i for i in out["include"] if i != "message.output_text.logprobs"]
    effort = sg.get("reasoning_effort")
    if effort and out.get("reasoning_effort") in _EFFORT and \
            _EFFORT.index(out["reasoning_effort"]) > _EFFORT.index(effort):
        out["reasoning_effort"] = effort
    reasoning = out.get("reasoning")
    if effort and isinstance(reasoning, dict) and reasoning.get("effort") in _EFFORT and \
            _EFFORT.index(reasoning["effort"]) > _EFFORT.index(effort):
        out["reasoning"] = {**reasoning, "effort": effort}
    thinking = out.get("thinking")
    if effort and isinstance(thinking, dict) and isinstance(thinking.get("budget_tokens"), int):
        out["thinking"] = {**thinking, "budget_tokens": min(thinking["budget_tokens"], THINKING_MIN_BUDGET)}
    return out


def _is_responses(body: dict) -> bool:
    """A Responses API body (`input`, `max_output_tokens`, `reasoning: {effort}`), not a chat completion."""
    return "input" in body and "messages" not in body


def summarise(text: str, limit: int) -> str:
    sentences = [s for s in _SENTENCE.split(text.strip()) if s]
    if not sentences:
        return ""
    picked = sentences[0] if len(sentences) == 1 else f"{sentences[0]} … {sentences[-1]}"
    return picked if len(picked) <= limit else picked[: limit - 1].rstrip() + "…"


def _treat(holder: dict, sg: dict[str, Any], stream: bool) -> None:
    for key in _REASONING_KEYS:
        if key not in holder:
            continue
        value = holder[key]
        if sg["reasoning"] == "summarise" and not stream and isinstance(value, str):
            holder[key] = summarise(value, sg.get("summary_chars", 240))
        else:  # a stream cannot be summarised before it ends: its reasoning deltas are dropped
            del holder[key]


def rewrite_response(body: dict, sg: dict[str, Any], *, stream: bool = False) -> dict:
    """A copy of a chat completion, Responses API response or Anthropic message (or one stream chunk or
    event of them) with reasoning and logprobs withheld."""
    if not sg or not isinstance(body, dict):
        return body
    strip_reasoning = sg.get("reasoning", "keep") != "keep"
    strip_logprobs = not sg.get("logprobs", True)
    if not (strip_reasoning or strip_logprobs):
        return body
    out = copy.deepcopy(body)
    for choice in out.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        if strip_logprobs:
            choice.pop("logprobs", None)
        for part in ("message", "delta"):
            if strip_reasoning and isinstance(choice.get(part), dict):
                _treat(choice[part], sg, stream)
    _treat_responses(out, sg, stream, strip_reasoning, strip_logprobs)
    if strip_reasoning and isinstance(out.get("content"), list):  # Anthropic Messages
        blocks = []
        for block in out["content"]:
            if isinstance(block, dict) and block.get("type") in ("thinking", "redacted_thinking"):
                if sg["reasoning"] == "summarise" and isinstance(block.get("thinking"), str):
                    blocks.append({"type": "text", "text": "[reasoning summary] "
                                   + summarise(block["thinking"], sg.get("summary_chars", 240))})
                continue
            blocks.append(block)
        out["content"] = blocks
    return out


# Responses API stream events whose text is reasoning (raw or the provider's summary of it).
_REASONING_EVENTS = ("response.reasoning_text.", "response.reasoning_summary_text.", "response.reasoning_summary_part.")


def _treat_responses(out: dict, sg: dict[str, Any], stream: bool, strip_reasoning: bool, strip_logprobs: bool) -> None:
    """The Responses API in place: a response's `output` items, or one stream event (which may carry the
    whole response, one output item, or a text delta)."""
    event = out.get("type")
    if isinstance(event, str) and event.startswith(_REASONING_EVENTS) and strip_reasoning:
        for key in ("delta", "text"):   # the event stays, so a client's state machine does too; its text goes
            if isinstance(out.get(key), str):
                out[key] = ""
        if isinstance(out.get("part"), dict) and isinstance(out["part"].get("text"), str):
            out["part"]["text"] = ""
    if strip_logprobs and isinstance(event, str):   # output_text deltas carry their tokens' logprobs
        out.pop("logprobs", None)
        if isinstance(out.get("part"), dict):
            out["part"].pop("logprobs", None)
    items = out.get("output") if isinstance(out.get("output"), list) else []
    for holder in (out.get("response"), out.get("item")):
        if isinstance(holder, dict):
            items = items + (holder["output"] if isinstance(holder.get("output"), list) else [holder])
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "reasoning" and strip_reasoning:
            _reasoning_item(item, sg, stream)
        if strip_logprobs:
            for part in item.get("content") or ():
                if isinstance(part, dict):
                    part.pop("logprobs", None)


def _reasoning_item(item: dict, sg: dict[str, Any], stream: bool) -> None:
    """A reasoning output item keeps its id and encrypted content (opaque, for the API's own multi-turn
    use) and loses its text: the raw trace always, the summary unless it is summarised again here."""
    texts = {key: " ".join(p["text"] for p in item.get(key) or ()
                           if isinstance(p, dict) and isinstance(p.get("text"), str))
             for key in ("summary", "content")}
    item.pop("content", None)
    item["summary"] = []
    source = texts["summary"] or texts["content"]
    if sg["reasoning"] == "summarise" and not stream and source:
        item["summary"] = [{"type": "summary_text", "text": summarise(source, sg.get("summary_chars", 240))}]
