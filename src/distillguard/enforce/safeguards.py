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
    cap = sg.get("max_tokens")
    if cap is not None:
        keys = [k for k in ("max_tokens", "max_completion_tokens") if k in out] or ["max_tokens"]
        for k in keys:
            out[k] = min(int(out.get(k) or cap), cap)
    if sg.get("n") is not None and "n" in out:
        out["n"] = min(int(out["n"] or 1), sg["n"])
    if not sg.get("logprobs", True):
        out.pop("logprobs", None)
        out.pop("top_logprobs", None)
    effort = sg.get("reasoning_effort")
    if effort and out.get("reasoning_effort") in _EFFORT and \
            _EFFORT.index(out["reasoning_effort"]) > _EFFORT.index(effort):
        out["reasoning_effort"] = effort
    thinking = out.get("thinking")
    if effort and isinstance(thinking, dict) and isinstance(thinking.get("budget_tokens"), int):
        out["thinking"] = {**thinking, "budget_tokens": min(thinking["budget_tokens"], THINKING_MIN_BUDGET)}
    return out


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
    """A copy of a chat completion (or one stream chunk) with reasoning and logprobs withheld."""
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
