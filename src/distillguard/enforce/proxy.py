"""Standalone OpenAI-compatible reverse proxy with enforcement, for providers without a gateway.

Every POST is decided; a blocked request gets the generic error, a
safeguarded generation request (chat, completions, Responses, Messages) goes upstream with its caps applied
and comes back without reasoning; other POSTs (embeddings, moderations, files) are decided but not rewritten,
since the caps are generation parameters that those endpoints reject. Other requests
(GET /v1/models, ...) pass through. Streams (SSE) are relayed chunk by chunk as they arrive, untouched
unless the decision withholds reasoning or logprobs, in which case each event is rewritten alone.

The hot path is a bare ASGI handler over a small keep-alive HTTP/1.1 client (asyncio protocol,
httptools parser): a general-purpose framework and client (routing, middleware, URL and header
models, cookie jar, per-request pool scans) cost several times the upstream's own CPU per request.
The body a client sent is forwarded as the very bytes it sent unless a safeguard rewrites it."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections import deque
from typing import AsyncIterator
from urllib.parse import urlsplit

import httptools
import orjson

from .admin import ADMIN_PREFIX, admin_app
from .context import RequestContext
from .decision import Decision
from .engine import Engine
from .safeguards import generates

# Not forwarded: hop-by-hop headers, those we set ourselves, and ours (the upstream must not see them).
# `expect` is dropped because the whole body is read before anything goes upstream.
_DROP_REQUEST = frozenset({b"host", b"content-length", b"connection", b"keep-alive", b"transfer-encoding", b"te",
                           b"upgrade", b"proxy-authorization", b"proxy-connection", b"accept-encoding", b"expect"})
_DROP_RESPONSE = frozenset({b"content-length", b"connection", b"keep-alive", b"transfer-encoding", b"te", b"upgrade",
                            b"content-encoding"})
_PASSTHROUGH = frozenset({"GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_OWN_HEADER = b"x-distillguard-"
_JSON = (b"content-type", b"application/json")
_BUFFER_LIMIT = 1 << 20  # stop reading the upstream while this much of a stream waits for a slow client
# Idle upstream connections are dropped before uvicorn's default keep-alive timeout (5 s), so the
# upstream never closes one just as it is reused.
_KEEPALIVE_S = 4.0


class UpstreamError(Exception):
    """The upstream could not be reached, timed out, or broke the protocol."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection to the upstream, one request at a time. Parser callbacks fill the
    response head and a queue of body chunks; `body()` drains the queue as the chunks arrive."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout_s: float) -> None:
        self._loop, self._timeout = loop, timeout_s
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.status, self.headers = 0, []
        self._done, self._error, self._framed, self._keep_alive = True, None, False, False  # none in flight
        self._waiter: asyncio.Future | None = None
        self._timer: asyncio.TimerHandle | None = None

    # -- one exchange -----------------------------------------------------------------------------
    async def send(self, request: bytes, head_only: bool) -> None:
        self.status, self.headers = 0, []
        self._chunks: deque[bytes] = deque()
        self._buffered, self._paused = 0, False
        self._informational, self._head_only = False, head_only
        self._framed, self._done, self._error, self._keep_alive = False, False, None, False
        self._last = self._loop.time()
        self._timer = self._loop.call_later(self._timeout, self._check_timeout)
        self.transport.write(request)
        await self._wait(lambda: self.status)

    async def body(self) -> AsyncIterator[bytes]:
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._paused and self._buffered < _BUFFER_LIMIT // 2:
                    self._paused = False
                    self.transport.resume_reading()
                yield chunk
            elif self._done:
                return
            else:
                await self._wait(lambda: self._chunks or self._done)

    async def _wait(self, ready) -> None:
        while not ready():
            if self._error is not None:
                raise self._error
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, error: Exception) -> None:
        self._error = UpstreamError(str(error) or type(error).__name__)
        self.abort()
        self._wake()

    def cancel(self) -> None:
        """Give up on the exchange (the client left): a pending `body()` raises UpstreamError."""
        if not self._done:
            self._fail(ConnectionAbortedError("the client went away"))

    @property
    def reusable(self) -> bool:
        return self._done and self._keep_alive and not self.closed and not self._head_only

    def abort(self) -> None:
        self.closed = True
        self._release_timer()
        if self.transport is not None:
            self.transport.abort()

    def _release_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check_timeout(self) -> None:
        # One timer per exchange, pushed back lazily: cheaper than arming one per chunk.
        left = self._last + self._timeout - self._loop.time()
        if left > 0:
            self._timer = self._loop.call_later(left, self._check_timeout)
        else:
            self._timer = None
            self._fail(TimeoutError(f"no reply from the upstream for {self._timeout:g}s"))

    # -- asyncio.Protocol ---------------------------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._last = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as e:
            self._fail(e)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._done:
            return
        if self.status and not self._framed and exc is None:
            self.on_message_complete()  # a body without length or chunking ends when the connection does
        else:
            self._fail(exc or ConnectionResetError("the upstream closed the connection"))

    # -- httptools callbacks ------------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name in (b"content-length", b"transfer-encoding"):
            self._framed = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # 100 Continue and friends: the real answer follows
            self.headers, self._framed, self._informational = [], False, True
            return
        self.status = status
        if self._head_only:  # a HEAD reply announces a length but carries no body
            self._done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self._head_only:
            return
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _BUFFER_LIMIT and not self._paused:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self._done = True
        self._keep_alive = self._parser.should_keep_alive()  # the parser forgets it once this returns
        self._release_timer()
        self._wake()


class _Upstream:
    """Keep-alive connections to one upstream origin: idle ones are reused most recent first."""

    def __init__(self, url: str, *, timeout_s: float, connect_timeout_s: float, max_connections: int) -> None:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"upstream must be an http(s) URL, got {url!r}")
        self.host, self.prefix = parts.hostname, parts.path.encode()
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl = ssl.create_default_context() if parts.scheme == "https" else None
        default = (parts.scheme == "https" and self.port == 443) or (parts.scheme == "http" and self.port == 80)
        authority = self.host if default else f"{self.host}:{self.port}"
        self.host_header = b"host: " + authority.encode("idna") + b"\r\n"
        self.timeout, self.connect_timeout = timeout_s, connect_timeout_s
        self.max_connections = max_connections
        self._idle: list[_Connection] = []
        self._slots: asyncio.Semaphore | None = None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and loop.time() - conn.idle_since < _KEEPALIVE_S:
                return conn
            conn.abort()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(loop, self.timeout), self.host, self.port, ssl=self.ssl,
                                       server_hostname=self.host if self.ssl else None),
                self.connect_timeout)
        except (OSError, asyncio.TimeoutError) as e:
            raise UpstreamError(f"cannot connect to {self.host}:{self.port}: {e}") from None
        return conn

    async def open(self, method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> _Connection:
        """Send one request; return its connection once the response head arrived. The caller reads
        `body()` and must hand the connection back with `release()`."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_connections)
        await self._slots.acquire()
        conn = None
        try:
            conn = await self._connect()
            head = [method.encode(), b" ", self.prefix, target, b" HTTP/1.1\r\n", self.host_header]
            for name, value in headers:
                head += (name, b": ", value, b"\r\n")
            if body or method in ("POST", "PUT", "PATCH"):
                head += (b"content-length: ", str(len(body)).encode(), b"\r\n")
            head += (b"\r\n", body)
            await conn.send(b"".join(head), head_only=method == "HEAD")
        except BaseException:
            if conn is not None:
                conn.abort()
            self._slots.release()
            raise
        return conn

    def release(self, conn: _Connection) -> None:
        if conn.reusable:
            conn.idle_since = asyncio.get_running_loop().time()
            self._idle.append(conn)
        else:
            conn.abort()
        self._slots.release()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().abort()


def _loads(raw: bytes):
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:  # what the standard library also accepts (NaN, integers beyond 64 bits, UTF-16): decided the same
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _dumps(value) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits
        return json.dumps(value, separators=(",", ":")).encode()


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
            chunk = _loads(body[5:])
            if chunk is None:
                lines.append(line)
                continue
            line = b"data: " + _dumps(engine.observe_chunk(chunk, decision)) + line[len(body):]
        lines.append(line)
    return b"".join(lines)


async def _read_body(receive) -> bytes | None:
    """The whole request body; None when the client went away first."""
    message = await receive()
    if message["type"] == "http.disconnect":
        return None
    body = message.get("body", b"")
    if not message.get("more_body"):
        return body
    parts = [body]
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(parts)


async def _disconnected(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _send(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": headers + [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _error(send, status: int, message: str, kind: str) -> None:
    await _send(send, status, orjson.dumps({"error": {"message": message, "type": kind, "code": kind}}), [_JSON])


def create_app(engine: Engine, upstream: str, *, upstream_api_key: str | None = None,
               trust_forwarded_for: bool = False, admin_token: str | None = None,
               timeout_s: float = 600.0, max_connections: int = 1000):
    """The proxy as an ASGI app. `upstream` is the base URL the /v1/... paths are appended to (without
    its own /v1); `upstream_api_key` replaces the client's credentials upstream when given."""
    pool = _Upstream(upstream, timeout_s=timeout_s, connect_timeout_s=10.0, max_connections=max_connections)
    base = upstream.rstrip("/")
    auth = (b"authorization", f"Bearer {upstream_api_key}".encode()) if upstream_api_key else None
    admin = None
    if admin_token:
        from starlette.applications import Starlette
        from starlette.routing import Mount

        admin = Starlette(routes=[Mount(ADMIN_PREFIX, admin_app(engine, admin_token))])

    def client_ip(scope, headers: dict[str, str]) -> str | None:
        if trust_forwarded_for:
            forwarded = headers.get("x-forwarded-for", "")
            if forwarded:
                return forwarded.split(",")[0].strip()
        return scope["client"][0] if scope.get("client") else None

    def upstream_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        out = [(k, v) for k, v in raw if k not in _DROP_REQUEST and not k.startswith(_OWN_HEADER)
               and not (auth and k == b"authorization")]
        out.append((b"accept-encoding", b"identity"))  # relay bytes as they are; rewriting needs them plain
        if auth:
            out.append(auth)
        return out

    async def relay(receive, send, conn: _Connection, headers, decision: Decision | None) -> None:
        """Send each piece of a stream as it arrives; a client that leaves ends the upstream exchange."""
        await send({"type": "http.response.start", "status": conn.status, "headers": headers})
        relaying = True

        def client_left(_) -> None:  # runs later: the connection may by then serve another request
            if relaying:
                conn.cancel()

        watcher = asyncio.ensure_future(_disconnected(receive))
        watcher.add_done_callback(client_left)
        try:
            async for chunk in _filtered_sse(conn.body(), engine, decision) if decision else conn.body():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except UpstreamError:
            return  # the response stays incomplete: the client sees a broken stream, not a short answer
        finally:
            relaying = False
            watcher.cancel()
        await send({"type": "http.response.body", "body": b""})

    async def forward(scope, receive, send, body: bytes, decision: Decision | None) -> None:
        target = scope.get("raw_path") or scope["path"].encode()
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        try:
            conn = await pool.open(scope["method"], target, upstream_headers(scope["headers"]), body)
        except UpstreamError:
            return await _error(send, 502, "upstream unavailable", "upstream_error")
        try:
            headers = [(k, v) for k, v in conn.headers if k not in _DROP_RESPONSE]
            content_type = next((v for k, v in conn.headers if k == b"content-type"), b"")
            rewrite = decision is not None and bool(decision.safeguards)
            if content_type.startswith(b"text/event-stream"):
                return await relay(receive, send, conn, headers, decision if rewrite else None)
            try:
                data = b"".join([chunk async for chunk in conn.body()])
            except UpstreamError:
                return await _error(send, 502, "upstream unavailable", "upstream_error")
            if rewrite and conn.status == 200 and b"json" in content_type:
                answer = _loads(data)
                if answer is not None:
                    data = _dumps(engine.observe_response(None, answer, decision))
            await _send(send, conn.status, data, headers)
        finally:
            pool.release(conn)

    async def guarded(scope, receive, send, raw: bytes) -> None:
        body = _loads(raw)
        # A body we cannot read (an upload, or JSON an upstream parses more leniently) is still decided on
        # the account: a blocked account must not get through by sending odd bytes.
        parsed = body if isinstance(body, dict) else {}
        headers: dict[str, str] = {}
        for k, v in scope["headers"]:  # the first of repeated headers, as a mapping read gives it
            headers.setdefault(k.decode("latin-1"), v.decode("latin-1"))
        try:
            ctx = RequestContext.from_openai(parsed, headers, client_ip(scope, headers),
                                             key_accounts=engine.policy.key_accounts,
                                             trust_headers=engine.policy.trust_account_header)
        except ValueError:
            return await _error(send, 401, "authentication required", "unauthorized")
        decision = await engine.adecide(ctx)
        if decision.blocked:
            extra = [(k.encode(), v.encode()) for k, v in decision.error_headers().items()]
            return await _send(send, decision.status_code, orjson.dumps(decision.error_body()), [_JSON, *extra])
        if not generates(scope["path"]):
            return await forward(scope, receive, send, raw, None)
        if decision.safeguards and parsed:
            raw = _dumps(engine.apply_safeguards(parsed, decision))
        await forward(scope, receive, send, raw, decision)

    async def lifespan(receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def app(scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            return await lifespan(receive, send)
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if admin is not None and path.startswith(ADMIN_PREFIX + "/"):
            return await admin(scope, receive, send)
        if path == "/healthz" and method in ("GET", "HEAD"):
            return await _send(send, 200, orjson.dumps({"ok": True, "upstream": base, "scan": engine.verdicts.source}),
                               [_JSON])
        if method != "POST" and method not in _PASSTHROUGH:
            return await _send(send, 405, b"Method Not Allowed", [(b"content-type", b"text/plain; charset=utf-8")])
        body = await _read_body(receive)
        if body is None:
            return
        if method == "POST":
            await guarded(scope, receive, send, body)
        else:
            await forward(scope, receive, send, body, None)

    return app
