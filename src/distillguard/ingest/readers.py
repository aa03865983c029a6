"""Stream input files as batches of raw lines with their line numbers, in bounded memory.

Lines are cut with numpy on raw bytes and handed to the workspace as Arrow arrays, so
Python never touches a record one by one unless a chunk holds bytes that are not UTF-8.
"""

from __future__ import annotations

import glob
import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterator

import numpy as np
import pyarrow as pa
import zstandard

if TYPE_CHECKING:
    from .sql import Source

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz",
                  ".jsonl.zst", ".ndjson.zst", ".json.zst", ".jsonl.zstd")
PARQUET_SUFFIXES = (".parquet", ".pq")
CHUNK_BYTES = 16 << 20
DEFAULT_MAX_RECORD_BYTES = 8 << 20


class InputError(ValueError):
    """A path the user gave cannot be read as input (nothing found, unknown format)."""


@dataclass
class Reject:
    line: int
    reason: str
    excerpt: str = ""


@dataclass
class LineBatch:
    """Complete records from one file: `lines` (Arrow strings of JSON text, or records in the form
    `source` reads, see parquet.py) and their 1-based `line_numbers`."""
    lines: pa.Array
    line_numbers: np.ndarray
    rejects: list[Reject] = field(default_factory=list)
    position: int = 0      # bytes of the (possibly compressed) file consumed so far, for progress
    source: Source | None = None   # None: JSON text


def _is_input(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(JSONL_SUFFIXES) or name.endswith(PARQUET_SUFFIXES)


def expand_paths(spec: str | Path | list) -> list[Path]:
    """A file, a directory (searched recursively) or a glob, in a stable order."""
    if isinstance(spec, (list, tuple)):
        return [p for s in spec for p in expand_paths(s)]
    path = Path(spec)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and _is_input(p))
    else:
        found = sorted(Path(p) for p in glob.glob(str(spec), recursive=True)
                       if Path(p).is_file() and _is_input(Path(p)))
    if not found:
        raise InputError(f"no input files found at {spec!s} "
                         f"(expected {', '.join(JSONL_SUFFIXES + PARQUET_SUFFIXES)})")
    return found


def is_parquet(path: Path) -> bool:
    return path.name.lower().endswith(PARQUET_SUFFIXES)


def open_stream(path: Path) -> tuple[BinaryIO, BinaryIO]:
    """(decompressed stream, underlying file) — the latter tells how far we are."""
    name = path.name.lower()
    raw = open(path, "rb")
    if name.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw), raw
    if name.endswith((".zst", ".zstd")):
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)), raw
    return raw, raw


def _excerpt(data: bytes, limit: int = 2000) -> str:
    return data[:limit].decode("utf-8", errors="backslashreplace")


def _utf8_lines(binary: pa.Array, numbers: np.ndarray, rejects: list[Reject]) -> tuple[pa.Array, np.ndarray]:
    """Arrow strings from Arrow binary; lines that are not UTF-8 become rejects."""
    try:
        return binary.cast(pa.large_string()), numbers
    except pa.ArrowInvalid:
        pass
    # Rare path: find the offending lines one by one.
    good, keep = [], np.ones(len(numbers), dtype=bool)
    for i, value in enumerate(binary.to_pylist()):
        try:
            good.append(value.decode("utf-8"))
        except UnicodeDecodeError as err:
            keep[i] = False
            rejects.append(Reject(int(numbers[i]), f"invalid_utf8: {err.reason} at byte {err.start}",
                                  _excerpt(value)))
    return pa.array(good, pa.large_string()), numbers[keep]


def iter_line_batches(path: Path, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
                      chunk_bytes: int = CHUNK_BYTES) -> Iterator[LineBatch]:
    """Yield the complete lines of a JSONL file (plain, gzip or zstd) chunk by chunk.

    A line longer than `max_record_bytes` is rejected and skipped without being held in
    memory; a corrupt or truncated compressed stream ends the file with a reject.
    """
    stream, raw = open_stream(path)
    carry = b""
    next_line = 1          # number of the first line in `carry`
    skipping = False       # inside an over-long line, discarding until its newline
    skipped_bytes = 0
    try:
        while True:
            try:
                chunk = stream.read(chunk_bytes)
            except (OSError, EOFError, zstandard.ZstdError) as err:
                yield LineBatch(pa.array([], pa.large_string()), np.empty(0, np.int64),
                                [Reject(next_line, f"corrupt_stream: {err}")])
                return
            if not chunk:
                break
            rejects: list[Reject] = []
            if skipping:
                cut = chunk.find(b"\n")
                if cut < 0:
                    skipped_bytes += len(chunk)
                    continue
                skipped_bytes += cut
                rejects.append(Reject(next_line, f"record_too_large: {skipped_bytes} bytes "
                                      f"(limit {max_record_bytes})"))
                skipping, next_line, chunk = False, next_line + 1, chunk[cut + 1:]
            buf = carry + chunk if carry else chunk
            view = np.frombuffer(buf, dtype=np.uint8)
            newlines = np.flatnonzero(view == 10)
            if len(newlines) == 0:
                carry = buf
            else:
                carry = buf[newlines[-1] + 1:]
                batch = _batch(view[: newlines[-1] + 1], newlines, next_line, max_record_bytes, rejects)
                batch.position = raw.tell()
                next_line += len(newlines)
                yield batch
                rejects = []
            if len(carry) > max_record_bytes:
                skipping, skipped_bytes, carry = True, len(carry), b""
            if rejects:
                yield LineBatch(pa.array([], pa.large_string()), np.empty(0, np.int64), rejects)
        if skipping:
            yield LineBatch(pa.array([], pa.large_string()), np.empty(0, np.int64),
                            [Reject(next_line, f"record_too_large: {skipped_bytes} bytes "
                                    f"(limit {max_record_bytes})")])
        elif carry.strip():
            # A last line without a trailing newline is still a record.
            yield _batch(np.frombuffer(carry + b"\n", dtype=np.uint8), np.array([len(carry)]),
                         next_line, max_record_bytes, [])
    finally:
        stream.close()
        raw.close()


def _batch(buf: np.ndarray, newlines: np.ndarray, first_line: int, max_record_bytes: int,
           rejects: list[Reject]) -> LineBatch:
    """Lines of `buf` (which ends with a newline) without their newlines; blank lines dropped."""
    data = np.delete(buf, newlines)
    offsets = np.empty(len(newlines) + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = newlines - np.arange(len(newlines))
    lengths = np.diff(offsets)
    numbers = np.arange(first_line, first_line + len(newlines), dtype=np.int64)
    binary = pa.Array.from_buffers(pa.large_binary(), len(newlines),
                                   [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    keep = (lengths > 0) & (lengths <= max_record_bytes)
    for i in np.flatnonzero(lengths > max_record_bytes):
        rejects.append(Reject(int(numbers[i]), f"record_too_large: {int(lengths[i])} bytes "
                              f"(limit {max_record_bytes})", _excerpt(binary[i].as_py()[:200])))
    for i in np.flatnonzero((lengths > 0) & (lengths <= 8)):
        keep[i] = bool(binary[i].as_py().strip())   # whitespace-only lines are not records
    if not keep.all():
        binary, numbers = binary.filter(pa.array(keep)), numbers[keep]
    lines, numbers = _utf8_lines(binary, numbers, rejects)
    return LineBatch(lines, numbers, rejects)
