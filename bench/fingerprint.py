"""Fingerprint benchmark: every per-exchange and per-account fingerprint over N simulated exchanges.

Prints seconds and exchanges/s per step (capabilities, signals, templates, behaviour), the
capability fast path in prompts/s, peak RSS, and the ratio of the whole stage to a bare DuckDB
scan of the text columns it reads, measured in the same process.

    python bench/fingerprint.py [--exchanges 1000000]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

from distillguard.fingerprints.stage import run_fingerprints
from distillguard.ingest import ingest
from distillguard.simulate import simulate
from distillguard.workspace import Workspace

OUT = Path(__file__).parent / "out"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=1_000_000)
    args = parser.parse_args()
    data = OUT / f"fingerprint-{args.exchanges}"
    db = data / "workspace.duckdb"
    if not db.exists():
        shutil.rmtree(data, ignore_errors=True)
        simulate(data, accounts=max(200, args.exchanges // 500), days=7, seed=12, fmt="jsonl.gz",
                 target_exchanges=args.exchanges)
        with Workspace.open(db) as ws:
            ingest(ws, data / "exchanges.jsonl.gz")
            ingest(ws, data / "accounts.jsonl", kind="accounts")
    with Workspace.open(db) as ws:
        n = ws.count("exchanges")
        started = time.perf_counter()
        ws.sql("SELECT count(*), sum(strlen(coalesce(last_user_message, ''))), sum(strlen(coalesce(system_prompt, ''))) "
               "FROM exchanges")
        bare = time.perf_counter() - started
        seconds = run_fingerprints(ws)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    total = sum(seconds.values())
    print(f"\n{n:,} exchanges")
    print(f"{'step':14}{'seconds':>9}{'exchanges/s':>14}")
    for step, s in seconds.items():
        print(f"{step:14}{s:9.1f}{n / s:14,.0f}")
    print(f"{'total':14}{total:9.1f}{n / total:14,.0f}")
    print(f"\ncapability fast path: {n / seconds['capabilities']:,.0f} prompts/s (target >= 20,000 on one core)")
    print(f"peak RSS: {rss:.2f} GB")
    print(f"ratio fingerprints / bare scan of the text columns: {total / bare:.0f}x")


if __name__ == "__main__":
    main()
