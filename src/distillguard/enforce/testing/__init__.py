"""Helpers for tests and benchmarks of the enforcement adapters: a local upstream and a server runner."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(app, port: int | None = None, *, host: str = "127.0.0.1", timeout: float = 10.0) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a background thread, with the server settings of the
    `distillguard enforce` commands; yields its base URL, stops it on exit."""
    import uvicorn

    from ..cli import UVICORN

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on", **UVICORN))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on {host}:{port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
