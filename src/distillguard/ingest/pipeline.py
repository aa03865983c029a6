"""Ingest: files → validated, typed, de-duplicated workspace tables, bad records quarantined.

Records are first written to a staging table batch by batch (bounded memory), then merged
into the workspace in one step that skips every `request_id` (or `account_id`) already
present, so re-ingesting the same data is a no-op.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import orjson
import pyarrow as pa

from ..contract.adapters import ADAPTERS, AdapterError, get_adapter
from ..parallel import ordered_map, usable_cores
from ..workspace import Workspace, sql_string
from .parquet import iter_parquet_batches
from .readers import (DEFAULT_MAX_RECORD_BYTES, InputError, LineBatch, Reject, expand_paths,
                      is_parquet, iter_line_batches)
from .sql import line_source, select_sql
from .warehouse import TableSource

KEYS = {"exchanges": "request_id", "accounts": "account_id"}
ProgressFn = Callable[[int, int], None]
COMMIT_ROWS = 1_000_000
PARSE_MAX_WORKERS = 4  # threads parsing batches; each holds up to two batches (raw and parsed)
INSERT_ROWS = 250_000  # parsed rows inserted at once (an INSERT of several batches appends in parallel)


@dataclass
class IngestReport:
    kind: str
    files: int = 0
    records: int = 0          # records read (valid + quarantined)
    inserted: int = 0         # new rows in the workspace
    duplicates: int = 0       # valid records whose id was already present (skipped)
    quarantined: int = 0      # new quarantine rows
    empty_documents: int = 0  # adapter inputs that held no exchange (e.g. OTLP without GenAI spans)
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _adapted(batch: LineBatch, adapter, report: IngestReport) -> LineBatch:
    """Map each line of a foreign format into zero or more contract records (same line number)."""
    lines, numbers, rejects = [], [], list(batch.rejects)
    for text, number in zip(batch.lines.to_pylist(), batch.line_numbers.tolist()):
        try:
            before = len(lines)
            for record in adapter.records(orjson.loads(text)):
                lines.append(orjson.dumps(record).decode())
                numbers.append(number)
            report.empty_documents += len(lines) == before
        except orjson.JSONDecodeError as err:
            rejects.append(Reject(number, f"invalid_json: {err}", text[:2000]))
        except AdapterError as err:
            rejects.append(Reject(number, f"adapter: {err}", text[:2000]))
    return LineBatch(pa.array(lines, pa.large_string()), np.array(numbers, dtype=np.int64),
                     rejects, batch.position)


def _batches(path: Path, fmt: str, max_record_bytes: int, report: IngestReport) -> Iterator[LineBatch]:
    if isinstance(path, TableSource):
        yield from path.batches(report.kind)
        return
    if is_parquet(path):
        yield from iter_parquet_batches(path, report.kind)
        return
    batches = iter_line_batches(path, max_record_bytes=max_record_bytes)
    if fmt == "contract":
        yield from batches
        return
    adapter = get_adapter(fmt)
    for batch in batches:
        yield _adapted(batch, adapter, report)


def ingest(workspace: Workspace, paths, kind: str = "exchanges", fmt: str = "contract",
           max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES, keep_raw: bool = False,
           progress: ProgressFn | None = None) -> IngestReport:
    """Read `paths` (file, directory, glob or a list of them) into `workspace`.

    `fmt` is "contract" (the traffic-log contract) or an adapter name ("litellm",
    "anthropic", "otel"). Every row points back to its record (`source_file`, `source_line`);
    `keep_raw` also stores the whole original record in `raw` (unknown fields included),
    which roughly triples the workspace. Raises InputError only when no input can be found.
    """
    if kind not in KEYS:
        raise InputError(f"unknown kind {kind!r}; expected one of {sorted(KEYS)}")
    if fmt != "contract" and (fmt not in ADAPTERS or kind != "exchanges"):
        raise InputError(f"unknown format {fmt!r} for {kind}; expected 'contract'"
                         + (f" or one of {sorted(ADAPTERS)}" if kind == "exchanges" else ""))
    if isinstance(paths, TableSource) and fmt != "contract":
        raise InputError("a warehouse table is read in the contract's columns; adapters take files")
    files = [paths] if isinstance(paths, TableSource) else expand_paths(paths)
    report = IngestReport(kind=kind, files=len(files))
    started = time.perf_counter()
    db = workspace.backend
    run = workspace.start_run(kind, [str(p) for p in files])
    # Commit every COMMIT_ROWS rows: a transaction of many row groups lets DuckDB write them straight
    # to the file instead of through its WAL (whose replay at checkpoint was the ingest's peak: 6.5 GiB
    # for 4M exchanges at 100k-row commits, 4.6 GiB at 1M; bench/RESULTS.md). Batches are handed over
    # by `insert_batch`, which keeps no reference to them, so a commit holds no Arrow data.
    # A failure rolls back only the open group; rows already committed are kept, and a re-run
    # is still a no-op for them because the first copy of each id wins.
    db.execute("BEGIN TRANSACTION")
    try:
        _load(db, files, fmt, kind, keep_raw, run, max_record_bytes, report, progress)
        _deduplicate(workspace, kind, KEYS[kind], run, report)
        workspace.finish_run(run, report)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    report.seconds = time.perf_counter() - started
    return report


def _load(db, files: list[Path], fmt: str, kind: str, keep_raw: bool, run: int,
          max_record_bytes: int, report: IngestReport, progress: ProgressFn | None) -> None:
    total_bytes = sum(_size(p) for p in files)
    done_bytes = uncommitted = 0
    lines = line_source(kind)
    columns = db.fetch_arrow(f"SELECT * EXCLUDE (ingest_run), NULL AS reason FROM {kind} LIMIT 0").column_names
    workers = usable_cores(PARSE_MAX_WORKERS)

    ready: list[pa.Table] = []  # parsed batches waiting to be inserted together

    def flush(literal: str) -> None:
        """Insert the parsed batches held: one INSERT over several batches appends on every core."""
        nonlocal uncommitted
        if not ready:
            return
        table = pa.concat_tables(ready)
        ready.clear()
        db.insert_batch("_batch", table, [
            f"INSERT INTO {kind} SELECT * EXCLUDE (reason), {run} FROM _batch WHERE reason IS NULL",
            f"""INSERT INTO quarantine SELECT '{kind}', {literal}, source_line, reason, left(raw, 2000),
                now(), {run} FROM _batch WHERE reason IS NOT NULL"""])
        uncommitted += table.num_rows
        if uncommitted >= COMMIT_ROWS:
            db.execute("COMMIT")
            db.execute("BEGIN TRANSACTION")
            uncommitted = 0

    def take(batch: LineBatch, parsed: pa.Table | None, literal: str) -> None:
        report.records += len(batch.rejects)
        if parsed is not None:
            ready.append(parsed.rename_columns(columns))
            report.records += parsed.num_rows
            if sum(t.num_rows for t in ready) >= INSERT_ROWS:
                flush(literal)
        if batch.rejects:
            db.insert_batch("_rejects", pa.table({
                "line": [r.line for r in batch.rejects], "reason": [r.reason for r in batch.rejects],
                "excerpt": [r.excerpt for r in batch.rejects]}),
                [f"INSERT INTO quarantine SELECT '{kind}', {literal}, line, reason, excerpt, now(), {run} "
                 "FROM _rejects"])
        if progress:
            progress(done_bytes + batch.position, total_bytes)

    # Batches are parsed on `workers` threads (a transform runs on one core) while this one reads the
    # input and inserts, in input order, the batches parsed before.
    with db.concurrent_transforms() as transform:
        for path in files:
            source = path.name if isinstance(path, TableSource) else str(path.resolve())
            literal = sql_string(source)  # batch statements take no parameters

            def parse(batch: LineBatch) -> pa.Table | None:
                if not len(batch.lines):
                    return None
                form = batch.source or lines
                raw = pa.table({"source_line": batch.line_numbers, "line" if form is lines else "record": batch.lines})
                return transform(select_sql(kind, form, keep_raw, literal), "_raw", raw)

            for batch, parsed in ordered_map(parse, _batches(path, fmt, max_record_bytes, report), workers,
                                             threads=True):
                take(batch, parsed, literal)
            flush(literal)
            done_bytes += _size(path)
            if progress:
                progress(done_bytes, total_bytes)


def _size(path) -> int:
    """Bytes of a file for progress; a table's size is not known up front."""
    return 0 if isinstance(path, TableSource) else path.stat().st_size


def _deduplicate(workspace: Workspace, kind: str, key: str, run: int, report: IngestReport) -> None:
    """Keep the first occurrence of every id: earlier runs first, then file and line order.

    Rows are appended straight to the workspace and duplicates removed afterwards: the
    common case (all new) then costs one distinct count instead of a staging copy.
    """
    db = workspace.backend
    added = int(db.scalar(f"SELECT count(*) FROM {kind} WHERE ingest_run = ?", [run]))
    # Rewrites rather than DELETEs, so engines without DELETE (Spark's catalog) run them too.
    if db.scalar(f"SELECT count(*) <> count(DISTINCT {key}) FROM {kind}"):
        db.execute(f"""
            CREATE OR REPLACE TABLE {kind} AS SELECT * FROM {kind}
            QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY ingest_run, source_file, source_line) = 1""")
    report.inserted = int(db.scalar(f"SELECT count(*) FROM {kind} WHERE ingest_run = ?", [run]))
    report.duplicates = added - report.inserted
    # A rejected line seen again (same file and line) is not quarantined twice.
    if db.scalar("SELECT count(*) <> count(DISTINCT (kind, source_file, source_line)) FROM quarantine"):
        db.execute("""
            CREATE OR REPLACE TABLE quarantine AS SELECT * FROM quarantine
            QUALIFY row_number() OVER (PARTITION BY kind, source_file, source_line ORDER BY ingest_run) = 1""")
    report.quarantined = int(db.scalar(
        "SELECT count(*) FROM quarantine WHERE ingest_run = ? AND kind = ?", [run, kind]))
    report.reasons = {r["reason"]: r["n"] for r in db.fetch_arrow(
        "SELECT split_part(reason, ':', 1) AS reason, count(*) AS n FROM quarantine "
        "WHERE ingest_run = ? AND kind = ? GROUP BY 1 ORDER BY 2 DESC", [run, kind]).to_pylist()}
