"""The proxy's own keep-alive client against a raw loopback upstream: exact bytes forwarded, every way an
HTTP/1.1 reply can end, timeouts, and a client that leaves a stream."""

import socket
import threading
import time
from contextlib import ExitStack

import httpx
import pytest

from distillguard.enforce import Engine
from distillguard.enforce.proxy import create_app
from distillguard.enforce.testing import serve

OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


class RawUpstream:
    """Answers each request with the pieces `reply(request_line, headers, body)` yields (None: never
    answers); records requests, connections and when the proxy closed one."""

    def __init__(self, reply) -> None:
        self.reply, self.requests, self.connections = reply, [], 0
        self.closed = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        self.closed.set()
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                line, *rest = head.split(b"\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(b":") for h in rest)}
                size = int(headers.get(b"content-length", 0))
                while len(buf) < size:
                    buf += conn.recv(65536)
                body, buf = buf[:size], buf[size:]
                self.requests.append((line, headers, body))
                pieces = self.reply(line, headers, body)
                try:
                    for piece in pieces if pieces is not None else ():
                        conn.sendall(piece)
                except OSError:
                    self.closed.set()
                    return
                if pieces is None:  # wait for the proxy to give up
                    while conn.recv(65536):
                        pass
                    self.closed.set()
                    return
                if isinstance(pieces, list) and b"connection: close" in pieces[0]:
                    return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def gateway(scan_dir):
    """start(reply, **create_app options) -> (proxy URL, its raw upstream)."""
    engine = Engine.from_config(None, scan=scan_dir)
    with ExitStack() as stack:
        def start(reply, **options):
            up = RawUpstream(reply)
            stack.callback(up.close)
            return stack.enter_context(serve(create_app(engine, up.url + "/base", **options))), up

        yield start


def test_body_and_target_forwarded_as_sent_over_one_connection(gateway):
    url, up = gateway(lambda *_: [OK])
    body = b'{"z": 1.50,  "model":"m", "messages": [{"role": "user", "content": "caf\\u00e9 and more words here"}]}'
    for _ in range(3):
        r = httpx.post(url + "/v1/chat/completions?x=1%202&y", content=body,
                       headers={"x-distillguard-account": "u1", "authorization": "Bearer sk-client",
                                "accept-encoding": "gzip", "content-type": "application/json"})
        assert r.status_code == 200 and r.json() == {}
    line, headers, sent = up.requests[0]
    assert line == b"POST /base/v1/chat/completions?x=1%202&y HTTP/1.1" and sent == body  # not re-serialised
    assert headers[b"host"] == up.url[7:].encode() and headers[b"accept-encoding"] == b"identity"
    assert headers[b"authorization"] == b"Bearer sk-client" and b"x-distillguard-account" not in headers
    assert up.connections == 1  # kept alive and reused


def test_upstream_key_replaces_the_clients(gateway):
    url, up = gateway(lambda *_: [OK], upstream_api_key="sk-upstream")
    httpx.post(url + "/v1/chat/completions", json={}, headers={"authorization": "Bearer sk-client"})
    assert up.requests[0][1][b"authorization"] == b"Bearer sk-upstream"


REPLIES = {
    b"/base/close": [b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n", b"read until ", b"the end"],
    b"/base/chunked": [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nchunk\r\n",
                       b"3\r\ned!\r\n0\r\n\r\n"],
    b"/base/continue": [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 201 Created\r\ncontent-length: 4\r\n\r\ndone"],
    b"/base/head": [b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n"],
    b"/base/empty": [b"HTTP/1.1 204 No Content\r\n\r\n"],
}


def test_every_way_a_reply_ends(gateway):
    url, _ = gateway(lambda line, *_: REPLIES[line.split()[1]])
    with httpx.Client(timeout=5) as client:
        assert client.get(url + "/close").text == "read until the end"
        assert client.get(url + "/chunked").text == "chunked!"
        r = client.get(url + "/continue")
        assert (r.status_code, r.text) == (201, "done")
        r = client.head(url + "/head")  # announces a length, sends no body: must not wait for one
        assert r.status_code == 200
        assert client.get(url + "/empty").status_code == 204
        assert client.get(url + "/chunked").text == "chunked!"


def test_upstream_that_never_answers_is_a_502_after_the_timeout(gateway):
    url, up = gateway(lambda *_: None, timeout_s=0.3)
    t = time.monotonic()
    r = httpx.post(url + "/v1/chat/completions", json={}, headers={"x-distillguard-account": "u1"}, timeout=5)
    assert r.status_code == 502 and 0.25 < time.monotonic() - t < 3
    assert up.closed.wait(2)  # and the connection is given up, not returned to the pool


def test_client_leaving_a_stream_ends_the_upstream_exchange(gateway):
    def endless(*_):
        yield b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        for _ in range(600):
            yield b"f\r\ndata: {\"x\":1}\n\n\r\n"
            time.sleep(0.05)

    url, up = gateway(endless)
    with httpx.stream("POST", url + "/v1/chat/completions", json={}, headers={"x-distillguard-account": "u1"}) as r:
        assert next(r.iter_raw()).startswith(b"data: ")
    assert up.closed.wait(5)  # well before the 30 s the upstream would stream for
