"""Ingest benchmark: distillguard's ingest vs DuckDB's bare read_json of the same file.

Simulates N exchanges (default 1M) once, then runs each contender in a fresh child
process (so each peak RSS is its own), alternating, and prints the best of the runs and
the ratio. Targets: ingest within 3x of the bare read, peak RSS under 2 GB.

    python bench/ingest.py [--exchanges 1000000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import shutil
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"


def _bare(path: str, db: str, queue) -> None:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect(db)
    con.execute("SET enable_progress_bar=false")
    # Explicit top-level columns: nested request bodies differ too much for schema inference.
    columns = {"request_id": "VARCHAR", "timestamp": "TIMESTAMPTZ", "account_id": "VARCHAR",
               "api_key_id": "VARCHAR", "client_ip": "VARCHAR", "user_agent": "VARCHAR",
               "endpoint": "VARCHAR", "request": "JSON", "response": "JSON"}
    con.execute(f"CREATE TABLE exchanges AS SELECT * FROM read_json(?, format='newline_delimited', "
                f"columns={columns!r})", [path])
    rows = con.execute("SELECT count(*) FROM exchanges").fetchone()[0]
    con.close()
    queue.put((time.perf_counter() - started, rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def _ours(path: str, db: str, queue) -> None:
    from distillguard.ingest import ingest
    from distillguard.workspace import Workspace

    started = time.perf_counter()
    with Workspace.open(db) as ws:
        report = ingest(ws, path)
    queue.put((time.perf_counter() - started, report.inserted, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def _measure(target, path: Path, db: Path) -> tuple[float, int, float]:
    db.unlink(missing_ok=True)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(str(path), str(db), queue))
    proc.start()
    seconds, rows, rss_kib = queue.get()
    proc.join()
    db.unlink(missing_ok=True)
    return seconds, rows, rss_kib / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from distillguard.simulate import simulate

    data = OUT / f"ingest-{args.exchanges}"
    path = data / "exchanges.jsonl"
    if not path.exists():
        shutil.rmtree(data, ignore_errors=True)
        started = time.perf_counter()
        simulate(data, accounts=max(200, args.exchanges // 500), days=7, seed=11, fmt="jsonl",
                 target_exchanges=args.exchanges)
        print(f"simulated into {path} in {time.perf_counter() - started:.0f}s")
    size_gb = path.stat().st_size / 1e9
    best = {}
    for _ in range(args.repeat):
        for name, target in (("bare read_json", _bare), ("distillguard ingest", _ours)):
            result = _measure(target, path, OUT / f"bench-{name.split()[0]}.duckdb")
            if name not in best or result[0] < best[name][0]:
                best[name] = result
    print(f"\ninput: {path} ({size_gb:.2f} GB)")
    print(f"{'':22}{'seconds':>9}{'rows':>11}{'rows/s':>11}{'peak RSS GB':>13}")
    for name, (seconds, rows, rss) in best.items():
        print(f"{name:22}{seconds:9.1f}{rows:11,}{rows / seconds:11,.0f}{rss:13.2f}")
    ratio = best["distillguard ingest"][0] / best["bare read_json"][0]
    rss = best["distillguard ingest"][2]
    print(f"\nratio ingest / bare read: {ratio:.2f}x (target <= 3x: {'met' if ratio <= 3 else 'NOT met'})")
    print(f"ingest peak RSS: {rss:.2f} GB (target < 2 GB: {'met' if rss < 2 else 'NOT met'})")


if __name__ == "__main__":
    main()
