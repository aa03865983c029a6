"""Behaviour-fingerprint benchmark: account features of N simulated exchanges (default 1M, 20k accounts).

Simulates and ingests once into bench/out (reused by later runs), then times
``compute_account_features`` on a fresh copy of the workspace, best of --repeat runs, and prints
exchanges/s. The first run in a process also pays for loading the IP range tables; that load is
timed apart.

    python bench/behaviour.py [--exchanges 1000000] [--accounts 20000] [--repeat 2] [--threads N]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"


def prepare(exchanges: int, accounts: int) -> Path:
    from distillguard.ingest import ingest
    from distillguard.simulate import simulate
    from distillguard.workspace import Workspace

    data = OUT / f"behaviour-{exchanges}-{accounts}"
    db = data / "ws.duckdb"
    if db.exists():
        return db
    shutil.rmtree(data, ignore_errors=True)
    started = time.perf_counter()
    simulate(data, accounts=accounts, days=7, seed=11, fmt="parquet", target_exchanges=exchanges)
    with Workspace.open(db) as ws:
        ingest(ws, data / "exchanges.parquet")
        ingest(ws, data / "accounts.jsonl", kind="accounts")
    print(f"simulated and ingested into {db} in {time.perf_counter() - started:.0f}s")
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    args = parser.parse_args()

    from distillguard.fingerprints.behaviour import compute_account_features
    from distillguard.fingerprints.network import NetworkIntel
    from distillguard.workspace import Workspace

    source = prepare(args.exchanges, args.accounts)
    started = time.perf_counter()
    intel = NetworkIntel.load()
    print(f"IP range tables loaded in {time.perf_counter() - started:.1f}s")

    work = source.with_name("bench.duckdb")
    best = None
    for _ in range(args.repeat):
        shutil.copy(source, work)
        with Workspace.open(work, threads=args.threads) as ws:
            rows = ws.count("exchanges")
            steps = []
            started = time.perf_counter()
            compute_account_features(ws, intel, progress=lambda done, total: steps.append(time.perf_counter()))
            seconds = time.perf_counter() - started
            accounts = ws.count("account_features")
        split = " ".join(f"{b - a:.1f}" for a, b in zip([started, *steps], steps))
        print(f"{seconds:.1f}s for {rows:,} exchanges / {accounts:,} accounts (steps: {split})")
        best = seconds if best is None else min(best, seconds)
    work.unlink(missing_ok=True)
    print(f"\nbest: {best:.1f}s, {rows / best:,.0f} exchanges/s")


if __name__ == "__main__":
    main()
