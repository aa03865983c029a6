"""`scan`: the whole pipeline in one call — ingest, fingerprints, scores, linkage, campaigns, output."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .campaigns import CampaignConfig, assemble_campaigns, write_scan_output
from .fingerprints.stage import run_fingerprints
from .ingest import IngestReport, ingest
from .linkage import build_linkage
from .scoring import score_level
from .workspace import Workspace

ScanProgress = Callable[[str, int, int], None]   # (stage, done, total)


@dataclass
class ScanResult:
    out_dir: Path
    files: dict[str, Path]
    ingest: list[IngestReport]
    accounts: int
    flagged: int
    campaigns: int
    seconds: dict[str, float] = field(default_factory=dict)


def scan(exchanges, out_dir: str | Path, accounts=None, workspace: str | Path | None = None,
         fmt: str = "contract", campaign_config: CampaignConfig | None = None,
         progress: ScanProgress | None = None, report: bool = True, backend: str = "duckdb",
         spark=None, spark_master: str | None = None, memory_limit: str | None = None) -> ScanResult:
    """Scan logs into `out_dir` (the scan output contract plus report.html).

    The workspace defaults to `out_dir/workspace.duckdb`; an existing one is extended, so a
    second scan of the same logs re-uses what was ingested. With `backend="spark"` every stage runs
    on Spark (`spark`: an existing SparkSession; else `spark_master`, default local) and the workspace
    is a folder of Parquet tables, `out_dir/workspace.spark` (docs/backends.md). `memory_limit` (e.g.
    "6GB") caps DuckDB, which then spills to disk: by default it may take 80% of the machine's memory.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}

    def timed(name: str, fn):
        started = time.perf_counter()
        result = fn()
        seconds[name] = round(time.perf_counter() - started, 2)
        return result

    def step(name: str):
        return (lambda done, total: progress(name, done, total)) if progress else None

    if backend == "spark":
        opened = Workspace.open(workspace or out_dir / "workspace.spark", backend="spark", spark=spark,
                                master=spark_master)
    else:
        opened = Workspace.open(workspace or out_dir / "workspace.duckdb", backend=backend, memory_limit=memory_limit)
    with opened as ws:
        reports = [timed("ingest", lambda: ingest(ws, exchanges, fmt=fmt, progress=step("ingest")))]
        if accounts:
            reports.append(timed("ingest_accounts", lambda: ingest(ws, accounts, kind="accounts")))
        seconds.update(run_fingerprints(ws, progress=progress))
        timed("score_exchanges", lambda: score_level(ws, "exchange"))
        timed("score_accounts", lambda: score_level(ws, "account"))
        linkage = timed("linkage", lambda: build_linkage(ws, progress=step("linkage")))
        seconds.update({f"linkage.{name}": s for name, s in linkage.seconds.items()})
        cfg = campaign_config or CampaignConfig()
        campaigns = timed("campaigns", lambda: assemble_campaigns(ws, cfg))
        files = timed("output", lambda: write_scan_output(ws, out_dir, cfg))
        if report:
            from .report import write_report
            files["report.html"] = timed("report", lambda: write_report(out_dir, workspace=ws))
        counts = ws.sql("SELECT count(*) AS n, count_if(flagged) AS flagged FROM account_verdicts").to_pylist()[0]
    return ScanResult(out_dir, files, reports, counts["n"], counts["flagged"], campaigns, seconds)
