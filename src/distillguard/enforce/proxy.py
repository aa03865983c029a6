"""Standalone OpenAI-compatible reverse proxy with enforcement, for providers without a gateway.

Every POST is decided; a blocked request gets the generic error, a
safeguarded one goes upstream with its caps applied and comes back without reasoning. Other requests
(GET /v1/models, ...) pass through. Streams (SSE) are relayed chunk by chunk as they arrive, untouched
unless the decision withholds reasoning or logprobs, in which case each event is rewritten alone."""

from __future__ import annotations

import json
import re
from contextlib import asynccontextmanager
from typing import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

from .admin import ADMIN_PREFIX, admin_app
from .context import RequestContext
from .decision import Decision
from .engine import Engine

# Not forwarded: hop-by-hop headers, those httpx sets itself, and ours (the upstream must not see them).
_DROP_REQUEST = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade",
                 "proxy-authorization", "proxy-connection", "accept-encoding"}
_DROP_RESPONSE = {"content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade",
                  "content-encoding"}


def _client_ip(request: Request, trust_forwarded_for: bool) -> str | None:
    if trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else None


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": kind}}, status)


_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")  # SSE allows any of the three line endings


async def _filtered_sse(raw: AsyncIterator[bytes], engine: Engine, decision: Decision) -> AsyncIterator[bytes]:
    """Rewrite each event alone as soon as it is complete; comments, [DONE] and event names pass as sent."""
    buf = b""
    async for piece in raw:
        buf += piece
        while (m := _EVENT_END.search(buf)) is not None:
            yield _rewrite_event(buf[:m.start()], engine, decision) + m.group()
            buf = buf[m.end():]
    if buf:
        yield _rewrite_event(buf, engine, decision)


def _rewrite_event(event: bytes, engine: Engine, decision: Decision) -> bytes:
    lines = []
    for line in event.splitlines(keepends=True):
        body = line.rstrip(b"\r\n")
        if body.startswith(b"data:") and body[5:].strip() not in (b"", b"[DONE]"):
            try:
                chunk = json.loads(body[5:])
            except json.JSONDecodeError:
                lines.append(line)
                continue
            treated = json.dumps(engine.observe_chunk(chunk, decision), separators=(",", ":")).encode()
            line = b"data: " + treated + line[len(body):]
        lines.append(line)
    return b"".join(lines)


def create_app(engine: Engine, upstream: str, *, upstream_api_key: str | None = None,
               trust_forwarded_for: bool = False, admin_token: str | None = None,
               timeout_s: float = 600.0, max_connections: int = 1000,
               transport: httpx.AsyncBaseTransport | None = None) -> Starlette:
    """The proxy as an ASGI app. `upstream` is the base URL the /v1/... paths are appended to (without
    its own /v1); `upstream_api_key` replaces the client's credentials upstream when given; `transport`
    replaces the network (an upstream app in the same process, for embedding and profiling)."""
    base = upstream.rstrip("/")
    client: httpx.AsyncClient | None = None

    @asynccontextmanager
    async def lifespan(app):
        nonlocal client
        client = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=10.0),
                                   limits=httpx.Limits(max_connections=max_connections,
                                                       max_keepalive_connections=max_connections),
                                   transport=transport)
        yield
        await client.aclose()

    def upstream_headers(request: Request) -> dict[str, str]:
        headers = {k: v for k, v in request.headers.items()
                   if k not in _DROP_REQUEST and not k.startswith("x-distillguard-")}
        headers["accept-encoding"] = "identity"  # relay bytes as they are; rewriting needs them plain
        if upstream_api_key:
            headers["authorization"] = f"Bearer {upstream_api_key}"
        return headers

    async def forward(request: Request, content: bytes, engine_decision: Decision | None) -> Response:
        req = client.build_request(request.method, base + request.url.path, params=request.query_params,
                                   headers=upstream_headers(request), content=content)
        try:
            resp = await client.send(req, stream=True)
        except httpx.HTTPError:
            return _error(502, "upstream unavailable", "upstream_error")
        headers = {k: v for k, v in resp.headers.items() if k not in _DROP_RESPONSE}
        rewrite = engine_decision is not None and bool(engine_decision.safeguards)
        if resp.headers.get("content-type", "").startswith("text/event-stream"):
            body = _filtered_sse(resp.aiter_raw(), engine, engine_decision) if rewrite else resp.aiter_raw()
            return StreamingResponse(body, resp.status_code, headers=headers, background=BackgroundTask(resp.aclose))
        data = await resp.aread()
        await resp.aclose()
        if rewrite and resp.status_code == 200 and "json" in resp.headers.get("content-type", ""):
            try:
                data = json.dumps(engine.observe_response(None, json.loads(data), engine_decision)).encode()
            except json.JSONDecodeError:
                pass
        return Response(data, resp.status_code, headers=headers)

    async def guarded(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        # A body we cannot read (an upload, or JSON an upstream parses more leniently) is still decided on
        # the account: a blocked account must not get through by sending odd bytes.
        parsed = body if isinstance(body, dict) else {}
        try:
            ctx = RequestContext.from_openai(parsed, dict(request.headers), _client_ip(request, trust_forwarded_for),
                                             key_accounts=engine.policy.key_accounts,
                                             trust_headers=engine.policy.trust_account_header)
        except ValueError:
            return _error(401, "authentication required", "unauthorized")
        decision = await engine.adecide(ctx)
        if decision.blocked:
            return JSONResponse(decision.error_body(), decision.status_code, headers=decision.error_headers())
        if decision.safeguards and parsed:
            raw = json.dumps(engine.apply_safeguards(parsed, decision)).encode()
        return await forward(request, raw, decision)

    async def passthrough(request: Request) -> Response:
        return await forward(request, await request.body(), None)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True, "upstream": base, "scan": engine.verdicts.source})

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if admin_token:
        routes.append(Mount(ADMIN_PREFIX, admin_app(engine, admin_token)))
    routes += [Route("/{path:path}", guarded, methods=["POST"]),
               Route("/{path:path}", passthrough, methods=["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])]
    return Starlette(routes=routes, lifespan=lifespan)
