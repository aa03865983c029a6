"""Turning a `Conv` into one contract record: ids, timestamp, request body, response.

This is the hot path (tens of thousands of calls per second), so it avoids per-call
allocation beyond the record itself. Field presence here depends only on the client's
style, the endpoint and the response status, never on the label.
"""

from __future__ import annotations

import math
import random
import time
from typing import NamedTuple

import orjson

from ..contract.schema import ENDPOINT_CHAT, ENDPOINT_MESSAGES
from .content import Conv

# User agents by family. Archetypes draw from overlapping mixes of these families.
UA = {
    "openai_py": ("OpenAI/Python 1.55.3", "OpenAI/Python 1.58.1", "OpenAI/Python 1.61.0", "OpenAI/Python 1.66.2",
                  "AsyncOpenAI/Python 1.61.0"),
    "openai_js": ("OpenAI/JS 4.77.0", "OpenAI/JS 4.85.1", "OpenAI/JS 4.89.0"),
    "anthropic": ("Anthropic/Python 0.42.0", "Anthropic/Python 0.49.0", "Anthropic/TypeScript 0.36.3",
                  "Anthropic/TypeScript 0.39.0"),
    "langchain": ("langchain-openai/0.3.7 OpenAI/Python 1.61.0", "langchain-anthropic/0.3.9 Anthropic/Python 0.49.0"),
    "http": ("python-httpx/0.27.2", "python-httpx/0.28.1", "python-requests/2.32.3", "curl/8.5.0", "curl/7.88.1",
             "axios/1.7.9", "Go-http-client/2.0"),
    "browser": ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/132.0.0.0 Safari/537.36",
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Safari/605.1.15",
                "Mozilla/5.0 (X11; Linux x86_64; rv:134.0) Gecko/20100101 Firefox/134.0"),
    "mobile": ("okhttp/4.12.0", "MyAssistant/3.2.1 (iPhone; iOS 18.2; Scale/3.00)",
               "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/AP2A)"),
    # Coding-agent front ends wrap an SDK and prepend their own product token (fictional names here).
    "agent": ("code-agent/0.3.1 OpenAI/JS 4.85.1", "devpilot-cli/2.4.0 OpenAI/Python 1.61.0",
              "repo-assistant/3.4.0 Anthropic/TypeScript 0.36.3", "agentkit/0.24 python-httpx/0.27.2"),
}
UA_DROP = 0.015  # some gateways strip the header; the same rate for every account
RESPONSE_DROP = 0.004  # logging gaps: the same rate for every account


class Client(NamedTuple):
    """How one client calls the API: fixed for an account, since SDK code rarely changes per call."""
    ua: str
    endpoint: str
    style: str  # plain, stream, eval, reasoning, agent or sampling (see restyle)
    params: dict  # request parameters sent with every call
    cap: int  # output-token cap implied by the parameters
    think: int  # typical reasoning tokens (0 when reasoning is off)


def pick_client(rng: random.Random, families: dict[str, float], styles: dict[str, float],
                messages_share: float) -> Client:
    endpoint = ENDPOINT_MESSAGES if rng.random() < messages_share else ENDPOINT_CHAT
    # SDK user agents must match the endpoint's wire format; generic HTTP clients and agents fit both.
    fam = [f for f in families if (f == "anthropic") == (endpoint == ENDPOINT_MESSAGES) or f in ("http", "agent")]
    fam = fam or (["anthropic"] if endpoint == ENDPOINT_MESSAGES else ["openai_py"])
    family = rng.choices(fam, [families.get(f, 1.0) for f in fam])[0]
    style = rng.choices(list(styles), list(styles.values()))[0]
    return restyle(rng, Client(rng.choice(UA[family]), endpoint, "", {}, 0, 0), style)


def restyle(r: random.Random, client: Client, style: str) -> Client:
    """The same client software with the parameters of another style."""
    chat = client.endpoint == ENDPOINT_CHAT
    cap, think = 4096, 0
    if style == "plain":
        p = {"temperature": r.choice((0.2, 0.5, 0.7, 1.0))} if r.random() < 0.6 else {}
        cap = r.choice((1024, 2048, 4096))
        if not chat or r.random() < 0.4:
            p["max_tokens"] = cap
    elif style == "stream":
        p, cap = {"stream": True, "temperature": 0.7, "max_tokens": 2048}, 2048
    elif style == "eval":
        p, cap = {"temperature": 0, "max_tokens": 1024}, 1024
        if chat:
            p["seed"] = r.choice((0, 42, 1234))
            if r.random() < 0.2:
                p.update(logprobs=True, top_logprobs=5)
    elif style == "reasoning":
        if chat:
            effort = r.choice(("high", "high", "medium"))
            p, cap = {"reasoning_effort": effort, "max_completion_tokens": 32768}, 32768
            think = {"high": 6000, "medium": 2500}[effort]
        else:
            budget = r.choice((8000, 16000, 24000))
            p, cap, think = {"max_tokens": 32000, "thinking": {"type": "enabled", "budget_tokens": budget}}, 32000, budget
            think //= 2  # thinking rarely uses the whole budget
    elif style == "agent":
        p, cap = {"temperature": 0, "max_tokens": 8192, "stream": True}, 8192
    else:  # sampling: several completions per prompt at high temperature
        p = {"temperature": 1.0, "top_p": 0.95, "max_tokens": 4096}
        if chat:
            p["n"] = r.choice((1, 2, 4))
    if not chat:
        p.setdefault("max_tokens", cap)  # required by the Messages API
    return client._replace(style=style, params=p, cap=cap, think=think)


def _anthropic(messages: list, tools: tuple | None, cache: dict) -> tuple[str | None, list, list | None]:
    """OpenAI chat messages -> Anthropic Messages (system, content blocks, tool_use/tool_result)."""
    system, out = None, []
    for m in messages:
        role, c = m["role"], m.get("content")
        if role == "system":
            system = c
            continue
        if role == "tool":
            block = {"type": "tool_result", "tool_use_id": "toolu_" + m["tool_call_id"][5:], "content": c}
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
            continue
        if isinstance(c, list):
            blocks = [{"type": "text", "text": p["text"]} if p["type"] == "text"
                      else _image_block(p["image_url"]["url"]) for p in c]
        elif c is None:
            blocks = []
        else:
            blocks = [{"type": "text", "text": c}]
        for tc in m.get("tool_calls", ()):
            blocks.append({"type": "tool_use", "id": "toolu_" + tc["id"][5:], "name": tc["function"]["name"],
                           "input": orjson.loads(tc["function"]["arguments"])})
        out.append({"role": role, "content": blocks})
    if tools is None:
        return system, out, None
    key = id(tools)
    if key not in cache:
        cache[key] = (tools, [{"name": t["function"]["name"], "description": t["function"]["description"],
                               "input_schema": t["function"]["parameters"]} for t in tools])
    return system, out, cache[key][1]


def _image_block(url: str) -> dict:
    if url.startswith("data:"):
        media, data = url[5:].split(";base64,", 1)
        return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


ERRORS = (400, 400, 400, 401, 404, 413, 500, 503, 529)
SECONDS = tuple("%02d." % i for i in range(60))
MILLIS = tuple("%03dZ" % i for i in range(1000))


class Builder:
    def __init__(self, rng: random.Random, error_rate: float, content_keep: float):
        self.r, self.error_rate, self.content_keep = rng, error_rate, content_keep
        self._minutes: dict[int, str] = {}
        self._tools: dict[int, tuple] = {}
        # Lognormal multipliers drawn once: indexing a table is much cheaper than gauss()+exp() per request.
        self._spread = [math.exp(rng.gauss(0, 0.6)) for _ in range(4096)]

    def timestamp(self, ms: int) -> str:
        """RFC 3339 in UTC with milliseconds, assembled from cached pieces (called per record)."""
        sec, milli = divmod(ms, 1000)
        minute, s = divmod(sec, 60)
        prefix = self._minutes.get(minute)
        if prefix is None:
            prefix = self._minutes[minute] = time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(minute * 60))
        return prefix + SECONDS[s] + MILLIS[milli]

    def ident(self, prefix: str, bits: int = 64) -> str:
        return "%s%0*x" % (prefix, bits // 4, self.r.getrandbits(bits))

    def record(self, ms: int, account: str, key: str, ip: str, client: Client, model: str, conv: Conv,
               throttle: float = 0.0) -> dict:
        """throttle: extra chance of HTTP 429 for this request (bursty, high-volume clients)."""
        r = self.r
        if client.endpoint == ENDPOINT_CHAT:
            body = {"model": model, "messages": conv.messages}
            if conv.tools:
                body["tools"] = conv.tools
                if client.style == "agent":
                    body["tool_choice"] = "auto"
        else:
            system, msgs, tools = _anthropic(conv.messages, conv.tools, self._tools)
            body = {"model": model, "system": system} if system else {"model": model}
            body["messages"] = msgs
            if tools:
                body["tools"] = tools
        body.update(client.params)
        rec = {"request_id": "req_%024x" % r.getrandbits(96), "timestamp": self.timestamp(ms), "account_id": account,
               "api_key_id": key, "client_ip": ip}
        if r.random() >= UA_DROP:
            rec["user_agent"] = client.ua
        rec["endpoint"] = client.endpoint
        rec["request"] = body
        if r.random() >= RESPONSE_DROP:
            rec["response"] = self.response(conv, client, throttle)
        return rec

    def response(self, conv: Conv, client: Client, throttle: float) -> dict:
        r = self.r
        x, rnd, spread = r.random(), r.random, self._spread
        if x < throttle + 0.002:
            return {"status": 429, "latency_ms": round(3 + 37 * rnd(), 1)}
        if x < throttle + 0.002 + self.error_rate:
            return {"status": ERRORS[int(rnd() * len(ERRORS))], "latency_ms": round(5 + 900 * rnd(), 1)}
        chat = client.endpoint == ENDPOINT_CHAT
        n, cap, think = client.params.get("n", 1), client.cap, client.think
        out = int(conv.out * spread[int(rnd() * 4096)]) + 1
        reasoning = int(think * spread[int(rnd() * 4096)]) if think else 0
        if out + reasoning > cap:
            finish, out = ("length" if chat else "max_tokens"), max(1, cap - reasoning)
        elif conv.tools and rnd() < 0.55:
            finish = "tool_calls" if chat else "tool_use"
        else:
            finish = "stop" if chat else "end_turn"
        usage = {"input_tokens": conv.chars // 4 + 8, "output_tokens": out * n, "reasoning_tokens": reasoning * n}
        latency = 180 + 720 * rnd() + (out + reasoning) * (6 + 16 * rnd())
        resp = {"status": 200, "finish_reason": finish, "usage": usage, "latency_ms": round(latency, 1)}
        if rnd() < self.content_keep:
            resp["content"] = conv.answer[:400]
        return resp
