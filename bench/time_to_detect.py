"""Time to detect: simulated traffic fed to the incremental scan slice by slice, as it would arrive.

For each campaign of the simulated world it prints how long after the campaign's start (its first
harvesting exchange) and after how many of the campaign's exchanges it is first flagged: at least one
of its accounts, and at least 80% of them. Detection is read at the end of each slice (15 minutes
for the first two hours, then hourly, by default), so a figure is an upper bound at that granularity.
Also prints the cost of each incremental update, by step, against a full scan of all the data.

    python bench/time_to_detect.py --accounts 300 --days 2 --preset default
    python bench/time_to_detect.py --accounts 300 --days 2 --preset shifted --seed 1313
"""

from __future__ import annotations

import argparse
import csv
import shutil
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

from distillguard.incremental import scan_incremental
from distillguard.simulate import simulate
from distillguard.workspace import Workspace

SHARE = 0.8


def load_world(world: Path):
    records = sorted((orjson.loads(line) for line in (world / "exchanges.jsonl").read_bytes().splitlines()),
                     key=lambda r: r["timestamp"])
    with open(world / "truth_accounts.csv") as f:
        members = defaultdict(list)
        archetype = {}
        for row in csv.DictReader(f):
            if row["campaign"]:
                members[row["campaign"]].append(row["account_id"])
                archetype[row["campaign"]] = row["archetype"]
    with open(world / "truth_exchanges.csv") as f:
        harvest = {row["request_id"] for row in csv.DictReader(f) if row["is_distill"] == "1"}
    return records, members, archetype, harvest


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=300)
    ap.add_argument("--days", type=float, default=2)
    ap.add_argument("--seed", type=int, default=1212)
    ap.add_argument("--preset", default="default")
    ap.add_argument("--slice-minutes", type=int, default=60)
    ap.add_argument("--warmup-minutes", type=int, default=15, help="shorter slices at first, for finer early figures")
    ap.add_argument("--warmup-hours", type=float, default=2)
    ap.add_argument("--out", type=Path, default=Path("bench/out/time_to_detect"))
    args = ap.parse_args()

    shutil.rmtree(args.out, ignore_errors=True)
    world, inbox, scan_dir = args.out / "world", args.out / "inbox", args.out / "scan"
    inbox.mkdir(parents=True)
    simulate(world, accounts=args.accounts, days=args.days, seed=args.seed, preset=args.preset, fmt="jsonl")
    records, members, archetype, harvest = load_world(world)
    owner = {a: c for c, accounts in members.items() for a in accounts}
    start: dict[str, datetime] = {}
    for r in records:
        c = owner.get(r["account_id"])
        if c and r["request_id"] in harvest and c not in start:
            start[c] = when(r["timestamp"])

    t0 = when(records[0]["timestamp"])
    step, warm = timedelta(minutes=args.slice_minutes), timedelta(minutes=args.warmup_minutes)
    cut, i, n = t0 + (warm if args.warmup_hours > 0 else step), 0, 0
    seen = defaultdict(int)      # campaign -> its exchanges ingested so far (from its start on)
    first, most = {}, {}         # campaign -> (hours after start, campaign exchanges by then)
    costs, steps = [], defaultdict(float)
    while i < len(records):
        j = i
        while j < len(records) and when(records[j]["timestamp"]) < cut:
            c = owner.get(records[j]["account_id"])
            if c and c in start and when(records[j]["timestamp"]) >= start[c]:
                seen[c] += 1
            j += 1
        if j > i:
            (inbox / f"slice{n:04d}.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in records[i:j]) + b"\n")
            started = time.perf_counter()
            result = scan_incremental(inbox, scan_dir, accounts=world / "accounts.jsonl", report=False)
            costs.append((j - i, time.perf_counter() - started))
            for name, seconds in (result.update.seconds if result.update else {}).items():
                steps[name] += seconds
            with Workspace.open(scan_dir / "workspace.duckdb") as ws:
                flagged = set(ws.sql("SELECT account_id FROM account_verdicts WHERE flagged").column(0).to_pylist())
            for c, accounts in members.items():
                if c not in start or cut <= start[c]:
                    continue
                hit = sum(a in flagged for a in accounts)
                mark = ((cut - start[c]).total_seconds() / 3600, seen[c])
                if hit and c not in first:
                    first[c] = mark
                if hit >= SHARE * len(accounts) and c not in most:
                    most[c] = mark
            n += 1
        i, cut = j, cut + (warm if cut - t0 < timedelta(hours=args.warmup_hours) else step)

    full_started = time.perf_counter()
    from distillguard.scan import scan
    scan(world / "exchanges.jsonl", args.out / "full", accounts=world / "accounts.jsonl", report=False)
    full_s = time.perf_counter() - full_started

    print(f"world: preset {args.preset}, seed {args.seed}, {args.accounts} accounts, {args.days:g} days, "
          f"{len(records):,} exchanges; {n} slices: {args.warmup_minutes} min for the first "
          f"{args.warmup_hours:g} h, then {args.slice_minutes} min")
    print(f"{'campaign':<16}{'archetype':<20}{'accts':>6}  {'first flagged: h / exch':>24}  "
          f"{'>=80% flagged: h / exch':>24}")
    fmt = lambda m: f"{m[0]:.2f} h / {m[1]:,}" if m else "never"
    for c in sorted(members, key=lambda c: start.get(c, datetime.max.replace(tzinfo=timezone.utc))):
        print(f"{c:<16}{archetype[c]:<20}{len(members[c]):>6}  {fmt(first.get(c)):>24}  {fmt(most.get(c)):>24}")
    rows, secs = sum(r for r, _ in costs), [s for _, s in costs]
    print(f"incremental update: mean {sum(secs) / len(secs):.1f} s, max {max(secs):.1f} s per slice "
          f"({rows / len(secs):,.0f} exchanges per slice); full scan of all {len(records):,}: {full_s:.1f} s")
    print("mean seconds per update by step: " + ", ".join(f"{k} {v / len(secs):.2f}" for k, v in steps.items()))


if __name__ == "__main__":
    main()
