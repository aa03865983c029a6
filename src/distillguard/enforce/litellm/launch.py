"""Start and stop a LiteLLM proxy process on loopback, for tests, benchmarks and replays.

LiteLLM runs from its own venv (.venv-litellm), so it is always a child process, never imported
here; this module needs only the standard library."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

REPO = Path(__file__).resolve().parents[4]
LITELLM_BIN = REPO / ".venv-litellm" / "bin" / "litellm"
CONFIG = REPO / "deploy" / "litellm" / "config.yaml"
# What the child inherits from us; everything else is passed explicitly so a developer's
# OPENAI_API_KEY or LiteLLM settings cannot change what a test measures.
_INHERIT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")


@dataclass
class Gateway:
    proc: subprocess.Popen
    url: str
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health/liveliness", timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def litellm_proxy(port: int, env: Mapping[str, str], *, config: Path = CONFIG, log: Path,
                  litellm_bin: Path = LITELLM_BIN, timeout_s: float = 120.0) -> Iterator[Gateway]:
    """Run `litellm --config config` on 127.0.0.1:port with `env`; yields once it answers."""
    if not litellm_bin.exists():
        raise FileNotFoundError(f"{litellm_bin} not found: build it with `make litellm`")
    child_env = {k: os.environ[k] for k in _INHERIT if k in os.environ}
    # No model cost map download (there is no network, and the start-up waits on it otherwise).
    child_env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"})
    child_env.update(env)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(litellm_bin), "--config", str(config), "--host", "127.0.0.1",
                                 "--port", str(port), "--num_workers", "1"],
                                stdout=out, stderr=subprocess.STDOUT, env=child_env, cwd=str(log.parent))
    gw = Gateway(proc, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + timeout_s
        while not _ready(gw.url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"LiteLLM did not start on port {port} "
                                   f"(exit {proc.poll()}); its log:\n{gw.log_tail()}")
            time.sleep(0.25)
        yield gw
    finally:
        gw.stop()
