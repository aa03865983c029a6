"""Template-family benchmark: `build_template_families` over N simulated exchanges (default 200k).

Simulates and ingests the traffic once (kept under bench/out/), then times the stage on a fresh copy
of the workspace, best of --repeat runs, and prints exchanges per second, the time per step, and how
the simulator's ground truth falls into families: the share of harvesting and of benign exchanges that
sit in a specific (non-generic) family shared by several accounts.

    python bench/templates.py [--exchanges 200000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"
STEPS = ("read distinct prompts", "mask", "MinHash", "LSH + union-find", "write tables")


def prepare(exchanges: int) -> Path:
    from distillguard.ingest import ingest
    from distillguard.simulate import simulate
    from distillguard.workspace import Workspace

    data = OUT / f"templates-{exchanges}"
    db = data / "workspace.duckdb"
    if not db.exists():
        shutil.rmtree(data, ignore_errors=True)
        started = time.perf_counter()
        simulate(data, accounts=max(200, exchanges // 500), days=7, seed=11, fmt="jsonl", target_exchanges=exchanges)
        with Workspace.open(db) as ws:
            ingest(ws, data / "exchanges.jsonl")
        print(f"simulated and ingested into {db} in {time.perf_counter() - started:.0f}s")
    return data


def run(data: Path) -> tuple[float, list[float], object, list[dict]]:
    from distillguard.fingerprints.content.templates import build_template_families
    from distillguard.workspace import Workspace

    copy = data / "bench.duckdb"
    shutil.copyfile(data / "workspace.duckdb", copy)
    marks = [time.perf_counter()]
    with Workspace.open(copy) as ws:
        stats = build_template_families(ws, progress=lambda done, total: marks.append(time.perf_counter()))
        truth = ws.sql(f"""
            SELECT t.is_distill = 1 AS distill, count(*) AS exchanges,
                   avg((f.family_id IS NOT NULL AND NOT f.generic AND f.accounts > 1)::INT) AS in_shared_specific
            FROM exchanges e JOIN read_csv('{data / "truth_exchanges.csv"}') t USING (request_id)
            LEFT JOIN exchange_templates x USING (request_id) LEFT JOIN template_families f USING (family_id)
            GROUP BY ALL ORDER BY ALL""").to_pylist()
    copy.unlink()
    return marks[-1] - marks[0], [b - a for a, b in zip(marks, marks[1:])], stats, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    data = prepare(args.exchanges)
    best = min((run(data) for _ in range(args.repeat)), key=lambda r: r[0])
    seconds, steps, stats, truth = best
    print(f"\n{stats.exchanges:,} exchanges, {stats.distinct_masked:,} distinct masked prompts, "
          f"{stats.families:,} families ({stats.generic_families:,} generic), {stats.in_families:,} exchanges in one")
    for name, s in zip(STEPS, steps):
        print(f"  {name:24}{s:7.2f}s")
    print(f"  {'total':24}{seconds:7.2f}s   {stats.exchanges / seconds:,.0f} exchanges/s")
    for row in truth:
        label = "harvesting" if row["distill"] else "benign"
        print(f"  {label:11} {row['exchanges']:9,} exchanges, {row['in_shared_specific']:.1%} in a specific family "
              f"shared across accounts")


if __name__ == "__main__":
    main()
