"""`scan`: the whole pipeline in one call — ingest, fingerprints, scores, linkage, campaigns, output.

The scan runs in phases that hand over only through the workspace. A large scan runs each phase in a
child process (`isolate`): a process gives the system back all it took, while one process running every
phase keeps DuckDB's cache at its cap beside what each Python step left in its heap (16M exchanges: no
phase alone above 7.5 GiB, all of them in one process 16.7 GiB; bench/RESULTS.md).
"""

from __future__ import annotations

import multiprocessing
import pickle
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any, Callable

from .campaigns import CampaignConfig, assemble_campaigns, write_scan_output
from .fingerprints.stage import run_fingerprints
from .ingest import IngestReport, ingest
from .ingest.readers import expand_paths
from .linkage import build_linkage
from .scoring import score_level
from .workspace import Workspace

ScanProgress = Callable[[str, int, int], None]   # (stage, done, total)
ISOLATE_BYTES = 1 << 30  # inputs at least this large run each phase in its own process by default


@dataclass
class ScanResult:
    out_dir: Path
    files: dict[str, Path]
    ingest: list[IngestReport]
    accounts: int
    flagged: int
    campaigns: int
    seconds: dict[str, float] = field(default_factory=dict)
    isolated: bool = False  # whether the phases ran in child processes


@dataclass(frozen=True)
class _Job:
    """What the phases need besides the workspace; picklable, so a phase can run in a child process."""
    exchanges: Any
    accounts: Any
    out_dir: Path
    fmt: str
    campaign_config: CampaignConfig
    report: bool


def _timed(seconds: dict, name: str, fn):
    started = time.perf_counter()
    result = fn()
    seconds[name] = round(time.perf_counter() - started, 2)
    return result


def _step(progress: ScanProgress | None, name: str):
    return (lambda done, total: progress(name, done, total)) if progress else None


def _ingest(ws: Workspace, job: _Job, progress: ScanProgress | None) -> dict:
    seconds: dict[str, float] = {}
    reports = [_timed(seconds, "ingest", lambda: ingest(ws, job.exchanges, fmt=job.fmt,
                                                         progress=_step(progress, "ingest")))]
    if job.accounts:
        reports.append(_timed(seconds, "ingest_accounts", lambda: ingest(ws, job.accounts, kind="accounts")))
    return {"seconds": seconds, "ingest": reports}


def _fingerprints(ws: Workspace, job: _Job, progress: ScanProgress | None) -> dict:
    return {"seconds": run_fingerprints(ws, progress=progress)}


def _scores(ws: Workspace, job: _Job, progress: ScanProgress | None) -> dict:
    seconds: dict[str, float] = {}
    _timed(seconds, "score_exchanges", lambda: score_level(ws, "exchange"))
    _timed(seconds, "score_accounts", lambda: score_level(ws, "account"))
    return {"seconds": seconds}


def _linkage(ws: Workspace, job: _Job, progress: ScanProgress | None) -> dict:
    seconds: dict[str, float] = {}
    stats = _timed(seconds, "linkage", lambda: build_linkage(ws, progress=_step(progress, "linkage")))
    seconds.update({f"linkage.{name}": s for name, s in stats.seconds.items()})
    return {"seconds": seconds}


def _campaigns(ws: Workspace, job: _Job, progress: ScanProgress | None) -> dict:
    seconds: dict[str, float] = {}
    cfg = job.campaign_config
    campaigns = _timed(seconds, "campaigns", lambda: assemble_campaigns(ws, cfg))
    files = _timed(seconds, "output", lambda: write_scan_output(ws, job.out_dir, cfg))
    if job.report:
        from .report import write_report
        files["report.html"] = _timed(seconds, "report", lambda: write_report(job.out_dir, workspace=ws))
    return {"seconds": seconds, "files": files, "campaigns": campaigns}


PHASES = (_ingest, _fingerprints, _scores, _linkage, _campaigns)


def scan(exchanges, out_dir: str | Path, accounts=None, workspace: str | Path | None = None,
         fmt: str = "contract", campaign_config: CampaignConfig | None = None,
         progress: ScanProgress | None = None, report: bool = True, backend: str = "duckdb",
         spark=None, spark_master: str | None = None, memory_limit: str | None = None,
         isolate: bool | None = None) -> ScanResult:
    """Scan logs into `out_dir` (the scan output contract plus report.html).

    The workspace defaults to `out_dir/workspace.duckdb`; an existing one is extended, so a
    second scan of the same logs re-uses what was ingested. With `backend="spark"` every stage runs
    on Spark (`spark`: an existing SparkSession; else `spark_master`, default local) and the workspace
    is a folder of Parquet tables, `out_dir/workspace.spark` (docs/backends.md). `memory_limit` (e.g.
    "6GB") caps DuckDB, which then spills to disk: by default it may take 80% of the machine's memory.
    `isolate` runs each phase in a child process (DuckDB only); by default when the input files reach
    `ISOLATE_BYTES`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    job = _Job(exchanges, accounts, out_dir, fmt, campaign_config or CampaignConfig(), report)
    if backend == "spark":
        if isolate:
            raise ValueError("isolate runs DuckDB phases in child processes; a Spark scan runs in its session")
        with Workspace.open(workspace or out_dir / "workspace.spark", backend="spark", spark=spark,
                            master=spark_master) as ws:
            results = [phase(ws, job, progress) for phase in PHASES]
            counts = _counts(ws)
    else:
        path = Path(workspace or out_dir / "workspace.duckdb")
        if isolate is None:
            isolate = _input_bytes(exchanges) + _input_bytes(accounts) >= ISOLATE_BYTES
        if isolate:
            results = [_in_child(phase, path, memory_limit, job, progress) for phase in PHASES]
            with Workspace.open(path, memory_limit=memory_limit) as ws:
                counts = _counts(ws)
        else:
            with Workspace.open(path, memory_limit=memory_limit) as ws:
                results = [phase(ws, job, progress) for phase in PHASES]
                counts = _counts(ws)
    seconds = {name: s for r in results for name, s in r["seconds"].items()}
    ingested, _, _, _, assembled = results
    return ScanResult(out_dir, assembled["files"], ingested["ingest"], counts["n"], counts["flagged"],
                      assembled["campaigns"], seconds, bool(isolate))


def _counts(ws: Workspace) -> dict:
    return ws.sql("SELECT count(*) AS n, count_if(flagged) AS flagged FROM account_verdicts").to_pylist()[0]


def _input_bytes(paths) -> int:
    """Total size of the input files; 0 for what is not files (a warehouse table)."""
    if not paths or not isinstance(paths, (str, Path, list, tuple)):
        return 0
    try:
        return sum(p.stat().st_size for p in expand_paths(paths))
    except (OSError, ValueError):
        return 0  # missing inputs are reported by the ingest itself


def _in_child(phase, path: Path, memory_limit: str | None, job: _Job, progress: ScanProgress | None) -> dict:
    """Run one phase in a fresh process (spawned, so it shares no DuckDB threads or locks with this one),
    relaying its progress; its exception is raised here."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_main, args=(phase.__name__, str(path), memory_limit, job, queue),
                        name=f"distillguard-scan{phase.__name__}")
    child.start()
    try:
        while True:
            try:
                message = queue.get(timeout=1.0)
            except Empty:
                if child.is_alive():
                    continue
                try:  # it may have reported just before it ended
                    message = queue.get(timeout=1.0)
                except Empty:
                    raise RuntimeError(f"the scan's {phase.__name__.strip('_')} phase ended (exit code "
                                       f"{child.exitcode}) without a result; killed for memory?") from None
            kind, payload = message
            if kind == "progress":
                if progress:
                    progress(*payload)
            elif kind == "done":
                return payload
            else:
                raise pickle.loads(payload)
    finally:
        child.join()
        queue.close()


def _child_main(name: str, path: str, memory_limit: str | None, job: _Job, queue) -> None:
    phase = next(p for p in PHASES if p.__name__ == name)
    try:
        with Workspace.open(path, memory_limit=memory_limit) as ws:
            result = phase(ws, job, lambda stage, done, total: queue.put(("progress", (stage, done, total))))
        queue.put(("done", result))
    except BaseException as e:  # noqa: BLE001 - every failure goes back to the parent, which raises it
        try:
            payload = pickle.dumps(e)
        except Exception:  # noqa: BLE001 - an exception that does not pickle goes back as its traceback
            payload = pickle.dumps(RuntimeError("".join(traceback.format_exception(e))))
        queue.put(("failed", payload))
