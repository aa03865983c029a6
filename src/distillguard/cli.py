"""Command line: a thin shell over the library API (each command calls one library function)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeRemainingColumn)
from rich.table import Table

from .ingest import InputError, ingest as ingest_logs
from .workspace import DEFAULT_PATH, Workspace

app = typer.Typer(help="Find, stop and prove distillation campaigns in LLM API traffic.",
                  no_args_is_help=True, add_completion=False)
console = Console()
err = Console(stderr=True)

WorkspaceOpt = typer.Option(DEFAULT_PATH, "--workspace", "-w", help="DuckDB workspace file.")


def _bytes_progress(label: str) -> Progress:
    return Progress(TextColumn(f"[bold]{label}"), BarColumn(), DownloadColumn(),
                    TimeRemainingColumn(), console=err, transient=True)


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


SourceOpt = typer.Option(None, "--source", help="Read a warehouse table instead of files: an Ibis connection "
                         "URL (postgres://user:pw@host:5432/db, duckdb:///path.db, clickhouse://..., pyspark://...).")
TableOpt = typer.Option(None, "--table", help="Table (or schema.table) to read with --source.")
MapOpt = typer.Option(None, "--map", help="COLUMN=FIELD: read a table column as a contract field "
                      "(e.g. --map event_time=timestamp); repeatable.")
SinceOpt = typer.Option(None, "--since", help="With --source: only rows after this time (RFC 3339).")


def _exchange_source(paths: list[str] | None, source: str | None, table: str | None,
                     mapping: list[str] | None, since: str | None):
    """The exchange input of a command: files, or a warehouse table (`--source` with `--table`)."""
    from .ingest.warehouse import TableSource

    if bool(paths) == bool(source):
        _fail("give exchange logs or --source with --table, not both or neither")
    if not source:
        if table or mapping or since:
            _fail("--table, --map and --since go with --source")
        return paths
    if not table:
        _fail("--source needs --table")
    pairs = [m.split("=", 1) for m in mapping or []]
    if any(len(p) != 2 or not all(p) for p in pairs):
        _fail("--map takes COLUMN=FIELD")
    try:
        return TableSource(source, table, columns=dict(pairs), since=since)
    except InputError as e:
        _fail(str(e))


@app.command()
def ingest(
    exchanges: Optional[list[str]] = typer.Argument(None, help="Exchange logs: files, directories or globs."),
    accounts: Optional[list[str]] = typer.Option(None, "--accounts", "-a", help="Account table(s)."),
    workspace: Path = WorkspaceOpt,
    fmt: str = typer.Option("contract", "--format", "-f",
                            help="contract | litellm | anthropic | otel (exchanges only)."),
    max_record_bytes: int = typer.Option(8 << 20, help="Records larger than this are quarantined."),
    keep_raw: bool = typer.Option(False, help="Also store each whole original record (about 3x the space)."),
    source: Optional[str] = SourceOpt, table: Optional[str] = TableOpt,
    mapping: Optional[list[str]] = MapOpt, since: Optional[str] = SinceOpt,
) -> None:
    """Validate logs (files or a warehouse table) and load them into the workspace; bad records go to quarantine."""
    logs = _exchange_source(exchanges, source, table, mapping, since)
    with Workspace.open(workspace) as ws:
        jobs = [("exchanges", logs, fmt)] + ([("accounts", accounts, "contract")] if accounts else [])
        for kind, paths, kind_fmt in jobs:
            with _bytes_progress(f"ingest {kind}") as bar:
                task = bar.add_task(kind, total=None)
                try:
                    report = ingest_logs(ws, paths, kind=kind, fmt=kind_fmt, max_record_bytes=max_record_bytes,
                                         keep_raw=keep_raw,
                                         progress=lambda done, total: bar.update(task, completed=done, total=total))
                except InputError as e:
                    _fail(str(e))
            _print_ingest(report)
        _print_summary(ws)


def _print_ingest(report) -> None:
    rate = report.records / report.seconds if report.seconds else 0
    colour = "yellow" if report.quarantined else "green"
    console.print(f"[bold]{report.kind}[/bold]: {report.records:,} records from {report.files} file(s) "
                  f"in {report.seconds:.1f}s ({rate:,.0f}/s) — {report.inserted:,} new, "
                  f"{report.duplicates:,} already present, [{colour}]{report.quarantined:,} quarantined[/{colour}]")
    if report.empty_documents:
        console.print(f"  {report.empty_documents:,} input document(s) held no exchange (e.g. non-GenAI spans)")
    for reason, n in report.reasons.items():
        console.print(f"  quarantine reason [yellow]{reason}[/yellow]: {n:,}")


def _print_summary(ws: Workspace) -> None:
    s = ws.summary()
    table = Table(title="Workspace", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for label, key in (("exchanges", "exchanges"), ("accounts (table)", "accounts"),
                       ("accounts (active)", "active_accounts"), ("models", "models"),
                       ("client IPs", "client_ips"), ("first seen", "first_seen"),
                       ("last seen", "last_seen"), ("quarantined records", "quarantined")):
        value = s[key]
        table.add_row(label, f"{value:,}" if isinstance(value, int) else str(value or "—"))
    console.print(table)


@app.command()
def summary(workspace: Path = WorkspaceOpt) -> None:
    """Show what the workspace holds."""
    if not workspace.exists():
        _fail(f"no workspace at {workspace}")
    with Workspace.open(workspace) as ws:
        _print_summary(ws)


@app.command()
def quarantine(workspace: Path = WorkspaceOpt,
               limit: int = typer.Option(20, help="Rows to show.")) -> None:
    """List quarantined records with their file, line and reason."""
    if not workspace.exists():
        _fail(f"no workspace at {workspace}")
    with Workspace.open(workspace) as ws:
        rows = ws.sql("""SELECT kind, source_file, source_line, reason, left(excerpt, 60) AS excerpt
                         FROM quarantine ORDER BY source_file, source_line LIMIT ?""", [limit]).to_pylist()
        table = Table("kind", "file", "line", "reason", "excerpt", title=f"Quarantine ({ws.count('quarantine'):,})")
        for r in rows:
            table.add_row(r["kind"], Path(r["source_file"]).name, str(r["source_line"]), r["reason"], r["excerpt"])
        console.print(table)


@app.command()
def simulate(
    out: Path = typer.Option(..., "--out", "-o", help="Output directory."),
    accounts: int = typer.Option(2000, help="Accounts to simulate."),
    days: int = typer.Option(7, help="Days of traffic."),
    seed: int = typer.Option(1, help="Random seed."),
    preset: str = typer.Option("default", help="World preset (default | shifted)."),
    fmt: str = typer.Option("jsonl.gz", "--format", help="jsonl | jsonl.gz | jsonl.zst | parquet"),
    exchanges: Optional[int] = typer.Option(None, help="Approximate total exchanges (scales rates)."),
) -> None:
    """Write simulated traffic logs with ground truth (campaigns and hard benign traps)."""
    from .simulate import simulate as run_simulation

    with Progress(TextColumn("[bold]simulate"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("simulate", total=None)
        summary = run_simulation(out, accounts=accounts, days=days, seed=seed, preset=preset, fmt=fmt,
                                 target_exchanges=exchanges,
                                 progress=lambda done, total: bar.update(task, completed=done, total=total))
    console.print(summary)


def _stage_progress(bar: Progress):
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)
    return update


def _stage_bar() -> Progress:
    return Progress(TextColumn("[bold]{task.description:>14}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=err, transient=True)


@app.command()
def fingerprint(workspace: Path = WorkspaceOpt) -> None:
    """Compute content and behaviour fingerprints and the exchange/account scores in the workspace."""
    from .fingerprints.stage import run_fingerprints
    from .scoring import score_level

    if not workspace.exists():
        _fail(f"no workspace at {workspace}")
    with Workspace.open(workspace) as ws, _stage_bar() as bar:
        seconds = run_fingerprints(ws, progress=_stage_progress(bar))
        score_level(ws, "exchange")
        score_level(ws, "account")
    console.print("fingerprints: " + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items()))


@app.command()
def explain(account: str = typer.Argument(..., help="Account id."), workspace: Path = WorkspaceOpt,
            top: int = typer.Option(5, help="Reasons and examples to show.")) -> None:
    """Print an account's fingerprint and the strongest reasons behind its score."""
    from .report.explain import explain_account

    if not workspace.exists():
        _fail(f"no workspace at {workspace}")
    with Workspace.open(workspace) as ws:
        try:
            console.print(explain_account(ws, account, top=top))
        except LookupError as e:
            _fail(str(e))


@app.command()
def scan(
    exchanges: Optional[list[str]] = typer.Argument(None, help="Exchange logs: files, directories or globs."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory."),
    accounts: Optional[list[str]] = typer.Option(None, "--accounts", "-a", help="Account table(s)."),
    workspace: Optional[Path] = typer.Option(None, "--workspace", "-w",
                                             help="Workspace file (default OUT/workspace.duckdb)."),
    fmt: str = typer.Option("contract", "--format", "-f", help="contract | litellm | anthropic | otel."),
    top: int = typer.Option(15, help="Campaigns to list."),
    source: Optional[str] = SourceOpt, table: Optional[str] = TableOpt,
    mapping: Optional[list[str]] = MapOpt, since: Optional[str] = SinceOpt,
    incremental: bool = typer.Option(False, "--incremental", help="Keep the workspace in OUT and process only "
                                     "new files or rows, updating only what they touch (see `watch`)."),
    backend: str = typer.Option("duckdb", "--backend", help="duckdb (embedded, default) | spark (PySpark; "
                                "docs/backends.md)."),
    spark_master: Optional[str] = typer.Option(None, "--spark-master", help="With --backend spark: the master "
                                               "URL of a cluster (default local[2])."),
    memory_limit: Optional[str] = typer.Option(None, "--memory-limit", help="Cap DuckDB's memory (e.g. 6GB); "
                                               "it spills to disk beyond it. Default: 80% of the machine's."),
    isolate: Optional[bool] = typer.Option(None, "--isolate/--no-isolate", help="Run each phase in its own "
                                           "process, so what one phase held is given back before the next. "
                                           "Default: on for inputs of 1 GB or more (DuckDB backend)."),
) -> None:
    """Ingest, fingerprint, link and score in one go; write accounts.csv, campaigns.json, exchanges.csv, report.html."""
    import json

    from .scan import scan as run_scan

    if backend not in ("duckdb", "spark"):
        _fail(f"unknown backend {backend!r}; expected duckdb or spark")
    if backend != "spark" and spark_master:
        _fail("--spark-master goes with --backend spark")
    if backend == "spark" and incremental:
        _fail("incremental scans run on the DuckDB backend only")
    if isolate and (backend == "spark" or incremental):
        _fail("--isolate runs the phases of a full DuckDB scan in their own processes; not with "
              + ("--backend spark" if backend == "spark" else "--incremental"))
    if memory_limit:
        from .workspace.backends.duckdb import check_memory_limit
        try:
            check_memory_limit(memory_limit)
        except ValueError as e:
            _fail(str(e))
    logs = _exchange_source(exchanges, source, table, mapping, since)
    with _stage_bar() as bar:
        try:
            if incremental:
                from .incremental import scan_incremental
                result = scan_incremental(logs, out, accounts=accounts, workspace=workspace, fmt=fmt)
            else:
                result = run_scan(logs, out, accounts=accounts, workspace=workspace, fmt=fmt,
                                  progress=_stage_progress(bar), backend=backend, spark_master=spark_master,
                                  memory_limit=memory_limit, isolate=isolate)
        except InputError as e:
            _fail(str(e))
    for report in result.ingest:
        _print_ingest(report)
    if "campaigns.json" not in result.files:
        console.print("nothing to scan yet")
        return
    campaigns = json.loads(result.files["campaigns.json"].read_text())
    table = Table(title=f"{result.campaigns} campaign(s); {result.flagged:,} of {result.accounts:,} accounts flagged")
    table.add_column("campaign", no_wrap=True)
    for name in ("score", "accts", "exch"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("active", no_wrap=True)
    table.add_column("top capabilities", no_wrap=True)
    for c in campaigns[:top]:
        caps = "\n".join(f"{k} {v:.0%}" for k, v in list(c["capabilities"].items())[:3])
        span = f"{(c['first_seen'] or '')[5:10]} → {(c['last_seen'] or '')[5:10]}"
        table.add_row(c["campaign_id"], f"{c['score']:.2f}", f"{len(c['accounts']):,}", f"{c['exchanges']:,}",
                      span, caps)
    console.print(table)
    for name, path in result.files.items():
        console.print(f"  {name}: {path}")
    console.print("stages: " + ", ".join(f"{k} {v:.1f}s" for k, v in result.seconds.items()))


@app.command()
def watch(
    directory: Optional[Path] = typer.Argument(None, help="Folder that receives exchange log files."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (keeps the workspace between rounds)."),
    every: str = typer.Option("5m", "--every", help="Interval between rounds: 30s, 5m, 1h."),
    accounts: Optional[list[str]] = typer.Option(None, "--accounts", "-a", help="Account table(s), re-read when changed."),
    source: Optional[str] = SourceOpt, table: Optional[str] = TableOpt, mapping: Optional[list[str]] = MapOpt,
    iterations: Optional[int] = typer.Option(None, help="Stop after this many rounds (default: run until stopped)."),
) -> None:
    """Scan new logs every interval: only new files (or table rows) are read and only what they touch recomputed."""
    from .incremental import parse_every, watch as run_watch

    try:
        seconds = parse_every(every)
    except ValueError as e:
        _fail(str(e))
    logs = _exchange_source([str(directory)] if directory else None, source, table, mapping, None)

    def show(result) -> None:
        u = result.update
        if u is None:
            console.print("no new logs")
            return
        console.print(f"{u.new_exchanges:,} new exchanges, {u.rescored_exchanges:,} rescored, "
                      f"{u.touched_accounts:,} accounts updated{' (all)' if u.all_accounts else ''}: "
                      f"{result.campaigns} campaign(s), {result.flagged:,} of {result.accounts:,} accounts flagged "
                      f"in {sum(u.seconds.values()):.1f}s")
    try:
        run_watch(logs if source else directory, out, seconds, accounts=accounts, iterations=iterations,
                  on_update=show)
    except InputError as e:
        _fail(str(e))


@app.command("eval")
def evaluate_scan(
    truth: Path = typer.Option(..., "--truth", help="Directory with truth_accounts.csv (and truth_exchanges.csv)."),
    scan: Path = typer.Option(..., "--scan", help="A scan output directory."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Measure a scan against ground truth: precision, recall, false positives per archetype, ARI, AUROC."""
    import json

    from .evaluate import evaluate

    try:
        report = evaluate(truth, scan)
    except FileNotFoundError as e:
        _fail(str(e))
    if as_json:
        console.print_json(json.dumps(report.to_dict(), default=str))
    else:
        console.print(report)
    raise typer.Exit(0 if report.targets_met else 1)


# Real-time enforcement (policies, proxy, webhook, analyst actions) lives in its own sub-app.
from .enforce.cli import app as enforce_app  # noqa: E402

app.add_typer(enforce_app, name="enforce")


if __name__ == "__main__":
    app()
