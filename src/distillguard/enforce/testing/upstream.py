"""A small OpenAI-compatible upstream for tests and benchmarks: deterministic answers, reasoning
content, logprobs on request, and SSE streaming chunk by chunk.

    python -m distillguard.enforce.testing.upstream --port 9100

The answer echoes what the request asked for (model, n, max_tokens, the last user message) so a test
can see what reached the upstream; the `x-upstream-saw` response header carries the request body's
caps as JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

REASONING = ("First, restate the problem. Next, isolate the unknown by subtracting both sides. "
             "Then divide to find the value. Finally, check the result by substitution.")



def _logprob(token: str) -> dict:
    """One entry in the full OpenAI shape (clients such as LiteLLM reject entries without bytes)."""
    return {"token": token, "logprob": -0.1, "bytes": list(token.encode()), "top_logprobs": []}

def _last_user(body: dict) -> str:
    for m in reversed(body.get("messages") or []):
        if isinstance(m, dict) and m.get("role") == "user":
            c = m.get("content")
            return c if isinstance(c, str) else json.dumps(c)
    return str(body.get("prompt", ""))


def _words(body: dict) -> list[str]:
    limit = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
    return (f"Answer to: {_last_user(body)}".split() or ["ok"])[: max(1, min(limit, 64))]


def _saw(body: dict) -> str:
    keys = ("model", "n", "max_tokens", "max_completion_tokens", "max_output_tokens", "logprobs", "top_logprobs",
            "reasoning_effort")
    return json.dumps({k: body.get(k) for k in keys if k in body}, sort_keys=True)


async def chat(request: Request):
    try:
        body = await request.json()
    except json.JSONDecodeError:
        return JSONResponse({"error": {"message": "invalid JSON", "type": "invalid_request_error"}}, 400)
    delay = float(request.query_params.get("delay_ms", 0)) / 1000
    model, n, words = body.get("model", "test-model"), int(body.get("n") or 1), _words(body)
    rid, created = f"chatcmpl-{time.monotonic_ns()}", int(time.time())
    headers = {"x-upstream-saw": _saw(body)}
    if body.get("stream"):
        async def events():
            def chunk(delta: dict, finish=None) -> bytes:
                choice = {"index": 0, "delta": delta, "finish_reason": finish}
                if body.get("logprobs") and "content" in delta:
                    choice["logprobs"] = {"content": [_logprob(delta["content"])]}
                return b"data: " + json.dumps({"id": rid, "object": "chat.completion.chunk", "created": created,
                                               "model": model, "choices": [choice]}).encode() + b"\n\n"
            yield chunk({"role": "assistant", "reasoning_content": REASONING})
            for i, w in enumerate(words):
                if delay:
                    await asyncio.sleep(delay)
                yield chunk({"content": (" " if i else "") + w})
            yield chunk({}, "stop")
            yield b"data: [DONE]\n\n"
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
    if delay:
        await asyncio.sleep(delay)
    choices = []
    for i in range(n):
        choice = {"index": i, "finish_reason": "stop",
                  "message": {"role": "assistant", "content": " ".join(words), "reasoning_content": REASONING}}
        if body.get("logprobs"):
            choice["logprobs"] = {"content": [_logprob(w) for w in words]}
        choices.append(choice)
    return JSONResponse({"id": rid, "object": "chat.completion", "created": created, "model": model,
                         "choices": choices,
                         "usage": {"prompt_tokens": len(_last_user(body).split()), "completion_tokens": len(words),
                                   "total_tokens": len(words) + len(_last_user(body).split())}},
                        headers=headers)


async def responses(request: Request):
    """The Responses API, not streamed: a reasoning item (summary and raw text) and the answer."""
    body = await request.json()
    question = body.get("input") if isinstance(body.get("input"), str) else json.dumps(body.get("input"))
    words = (f"Answer to: {question}".split() or ["ok"])[: max(1, min(int(body.get("max_output_tokens") or 16), 64))]
    return JSONResponse({
        "id": f"resp_{time.monotonic_ns()}", "object": "response", "created_at": int(time.time()),
        "status": "completed", "model": body.get("model", "test-model"), "parallel_tool_calls": True,
        "tool_choice": "auto", "tools": [],
        "output": [{"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": REASONING}],
                    "content": [{"type": "reasoning_text", "text": REASONING}], "encrypted_content": "opaque"},
                   {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": " ".join(words), "annotations": []}]}],
        "usage": {"input_tokens": len(question.split()), "output_tokens": len(words),
                  "total_tokens": len(question.split()) + len(words),
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 20}}},
        headers={"x-upstream-saw": _saw(body)})


async def embeddings(request: Request):
    body = await request.json()
    texts = body.get("input") if isinstance(body.get("input"), list) else [body.get("input")]
    return JSONResponse({"object": "list", "model": body.get("model", "test-model"),
                         "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
                                  for i, _ in enumerate(texts)]},
                        headers={"x-upstream-saw": _saw(body)})


async def models(request: Request):
    return JSONResponse({"object": "list", "data": [{"id": "test-model", "object": "model", "owned_by": "test"}]})


def create_app() -> Starlette:
    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                             Route("/chat/completions", chat, methods=["POST"]),
                             Route("/v1/embeddings", embeddings, methods=["POST"]),
                             Route("/v1/responses", responses, methods=["POST"]),
                             Route("/v1/models", models, methods=["GET"])])


app = create_app()


def main() -> None:
    import uvicorn

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9100)
    args = ap.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
