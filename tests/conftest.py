import csv
import gzip
import json
from pathlib import Path

import pytest
import zstandard

from distillguard.workspace import Workspace


def exchange(i: int = 0, **overrides) -> dict:
    record = {
        "request_id": f"req-{i}", "timestamp": "2026-02-03T14:05:09Z", "account_id": f"acct-{i % 7}",
        "api_key_id": f"key-{i % 3}", "client_ip": "203.0.113.7", "user_agent": "OpenAI/Python 1.55.0",
        "request": {"model": "frontier-large", "max_tokens": 4096, "temperature": 0.7,
                    "messages": [{"role": "system", "content": "You are a tutor."},
                                 {"role": "user", "content": f"Solve {i}x+5=20 and show every step."}]},
        "response": {"status": 200, "finish_reason": "stop", "usage": {"input_tokens": 14, "output_tokens": 210}},
    }
    record.update(overrides)
    return record


def write_lines(path: Path, lines: list, compress: str | None = None) -> Path:
    data = b"".join((line if isinstance(line, bytes) else
                     (line if isinstance(line, str) else json.dumps(line)).encode()) + b"\n" for line in lines)
    if compress == "gz":
        data = gzip.compress(data)
    elif compress == "zst":
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture
def ws(tmp_path):
    with Workspace.open(tmp_path / "ws.duckdb") as workspace:
        yield workspace
