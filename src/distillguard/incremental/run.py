"""Incremental scans and `watch`: ingest only what is new, update, write the scan output again."""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Callable

from ..campaigns import CampaignConfig, write_scan_output
from ..ingest import IngestReport, InputError, ingest
from ..ingest.readers import expand_paths
from ..ingest.warehouse import SinceNeedsTimestamp, TableSource
from ..scan import ScanResult
from ..workspace import Workspace
from . import state
from .update import UpdateReport, update

# A warehouse table is read again from its newest stored timestamp minus this margin, so rows that
# arrive a little late are still picked up; rows read twice are no-ops (the first copy wins).
LATENESS = timedelta(hours=1)


@dataclasses.dataclass
class IncrementalResult(ScanResult):
    update: UpdateReport | None = None   # None when nothing new was found


def scan_incremental(exchanges, out_dir: str | Path, accounts=None, workspace: str | Path | None = None,
                     fmt: str = "contract", campaign_config: CampaignConfig | None = None,
                     report: bool = True) -> IncrementalResult:
    """Like `scan`, on a workspace that persists between calls: files already ingested are skipped
    (a changed file is read again), a warehouse table is read from its last timestamp on, and only
    what the new exchanges touch is recomputed (see `update`)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = campaign_config or CampaignConfig()
    with Workspace.open(workspace or out_dir / "workspace.duckdb") as ws:
        state.ensure(ws)
        skip = _paths(accounts) if accounts else set()
        reports = [r for r in (_ingest_new(ws, exchanges, "exchanges", fmt, skip),
                               _ingest_new(ws, accounts, "accounts", "contract") if accounts else None) if r]
        fresh = int(ws.backend.scalar("SELECT coalesce(max(run), 0) FROM ingest_runs")) > state.watermark(ws)
        if fresh and ws.count("exchanges"):
            result = update(ws, cfg)
            files = write_scan_output(ws, out_dir, cfg)
            if report:
                from ..report import write_report
                files["report.html"] = write_report(out_dir, workspace=ws)
            return IncrementalResult(out_dir, files, reports, result.accounts, result.flagged, result.campaigns,
                                     result.seconds, update=result)
        last = ws.sql("SELECT accounts, flagged, campaigns FROM inc_updates ORDER BY run DESC LIMIT 1").to_pylist()
        last = last[0] if last else {"accounts": 0, "flagged": 0, "campaigns": 0}
    return IncrementalResult(out_dir, _existing(out_dir), reports, last["accounts"], last["flagged"],
                             last["campaigns"])


def _paths(spec) -> set[Path]:
    return set() if isinstance(spec, TableSource) else {p.resolve() for p in expand_paths(spec)}


def _ingest_new(ws: Workspace, spec, kind: str, fmt: str, skip: set[Path] = frozenset()) -> IngestReport | None:
    if isinstance(spec, TableSource):
        if spec.since is not None:
            return ingest(ws, spec, kind=kind, fmt=fmt)
        newest = ws.backend.scalar(f"SELECT max({'ts' if kind == 'exchanges' else 'created_at'}) "
                                   f"FROM {kind} WHERE source_file = ?", [spec.name])
        try:
            since = (newest - LATENESS).isoformat() if newest else None
            return ingest(ws, dataclasses.replace(spec, since=since), kind=kind, fmt=fmt)
        except SinceNeedsTimestamp:   # times stored as text: read it all, stored rows are no-ops
            return ingest(ws, spec, kind=kind, fmt=fmt)
    files = [p for p in expand_paths(spec) if p.resolve() not in skip]
    fresh = state.new_files(ws, files)
    if not fresh:
        return None
    report = ingest(ws, fresh, kind=kind, fmt=fmt)
    state.record_files(ws, fresh, int(ws.backend.scalar("SELECT max(run) FROM ingest_runs")))
    return report


def _existing(out_dir: Path) -> dict[str, Path]:
    return {p.name: p for p in sorted(out_dir.iterdir()) if p.is_file() and p.suffix in (".csv", ".json", ".html")}


def parse_every(text: str) -> float:
    """'30s', '5m', '1h' (or plain seconds) -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"bad interval {text!r}: expected e.g. 30s, 5m or 1h")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def watch(directory, out_dir: str | Path, every_s: float, accounts=None, workspace: str | Path | None = None,
          iterations: int | None = None, on_update: Callable[[IncrementalResult], None] | None = None,
          report: bool = True, sleep: Callable[[float], None] = time.sleep) -> None:
    """Every `every_s` seconds, scan what is new in `directory` (or a warehouse table) incrementally."""
    done = 0
    while iterations is None or done < iterations:
        started = time.monotonic()
        try:
            result = scan_incremental(directory, out_dir, accounts=accounts, workspace=workspace, report=report)
        except InputError as err:   # nothing to read yet: wait for the first files
            if "no input files" not in str(err):
                raise
            result = None
        if on_update and result:
            on_update(result)
        done += 1
        if iterations is None or done < iterations:
            sleep(max(0.0, every_s - (time.monotonic() - started)))
