"""Output files: exchanges in JSONL (plain, gzip, zstd) or Parquet, plus the truth and account files.

Compressed JSONL is written from a background thread (zlib and zstd release the GIL), so
compression overlaps generation; the queue is short, so memory stays bounded.
"""

from __future__ import annotations

import gzip
import queue
import threading
from pathlib import Path

import orjson

from ..contract.schema import EXCHANGE_FIELDS

FORMATS = ("jsonl", "jsonl.gz", "jsonl.zst", "parquet")
NESTED = ("request", "response")  # stored as JSON strings in Parquet (the contract allows it)


class _Sink:
    """Writes byte chunks to a binary file object from a worker thread."""

    def __init__(self, f):
        self.f, self.err = f, None
        self.q: queue.Queue = queue.Queue(maxsize=4)
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self) -> None:
        while (chunk := self.q.get()) is not None:
            if self.err is None:
                try:
                    self.f.write(chunk)
                except BaseException as e:  # re-raised in the producer thread
                    self.err = e

    def write(self, chunk: bytes) -> None:
        if self.err:
            raise self.err
        self.q.put(chunk)

    def close(self) -> None:
        self.q.put(None)
        self.t.join()
        self.f.close()
        if self.err:
            raise self.err


class JsonlWriter:
    def __init__(self, path: Path, fmt: str):
        if fmt == "jsonl.gz":
            f = gzip.open(path, "wb", compresslevel=1)  # fast; choose zst for size
        elif fmt == "jsonl.zst":
            import zstandard

            f = zstandard.ZstdCompressor(level=3).stream_writer(open(path, "wb"))
        else:
            f = open(path, "wb", buffering=1 << 20)
        self.sink = _Sink(f)

    def write(self, records: list[dict]) -> None:
        if records:
            dumps, nl = orjson.dumps, orjson.OPT_APPEND_NEWLINE
            self.sink.write(b"".join([dumps(r, option=nl) for r in records]))

    def close(self) -> None:
        self.sink.close()


class ParquetWriter:
    """Row groups of `group_rows` records; top-level optional fields missing -> null."""

    def __init__(self, path: Path, group_rows: int = 100_000):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa, self.group_rows = pa, group_rows
        self.cols = [f.name for f in EXCHANGE_FIELDS]
        self.schema = pa.schema([(c, pa.string()) for c in self.cols])
        self.w = pq.ParquetWriter(path, self.schema, compression="zstd")
        self.buf: dict[str, list] = {c: [] for c in self.cols}

    def write(self, records: list[dict]) -> None:
        for c in self.cols:
            col = self.buf[c]
            if c in NESTED:
                col.extend(orjson.dumps(r[c]).decode() if c in r else None for r in records)
            else:
                col.extend(r.get(c) for r in records)
        if len(self.buf["request_id"]) >= self.group_rows:
            self._flush()

    def _flush(self) -> None:
        if self.buf["request_id"]:
            cols = {c: self.pa.array(v, self.pa.string()) for c, v in self.buf.items()}
            self.w.write_table(self.pa.table(cols, schema=self.schema))
            self.buf = {c: [] for c in self.cols}

    def close(self) -> None:
        self._flush()
        self.w.close()


def exchange_writer(path: Path, fmt: str):
    return ParquetWriter(path) if fmt == "parquet" else JsonlWriter(path, fmt)
