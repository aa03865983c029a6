"""Scale benchmark: the whole DuckDB scan over N simulated exchanges in Parquet, and its growth curve.

For each N, simulates a world once into bench/out/scale-N/ (re-used when present): N // 150
accounts, so at 16M about 24,000 accounts are in campaigns, the size of the public ones, with
the benign population the default mix puts around them. Then, each in a fresh child process:
DuckDB's bare scan of the same Parquet columns, the full `scan` (ingest to report), and the
bare scan again, bracketing the scan so machine load drifts into both. Prints per-stage
seconds and exchanges/s, the scan's peak RSS, the ratio of the scan to the bare scan, and,
across sizes, each stage's growth exponent (flagged where it exceeds n log n), and the detection quality
of each scan against the simulated truth (precision, recall, benign FPR, ARI).
Targets: 16M in <= 15 minutes, peak RSS <= 8 GB, no stage above n log n.

    python bench/scale.py --exchanges 1000000 4000000 16000000 [--memory-limit 5GB]
    python bench/scale.py --exchanges 1000000 4000000 --reuse --extrapolate 16000000

--reuse takes sizes already measured from their saved result.json; --extrapolate prints labelled
estimates for larger sizes from the measured curve.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"
EXCHANGES_PER_ACCOUNT = 150  # 16M exchanges -> ~107k accounts, ~24k of them in campaigns
SEED = 16
TARGET_SECONDS_16M, TARGET_RSS_GB = 15 * 60, 8.0
SMALL = 2.0  # seconds: below this a stage's exponent is mostly scheduler noise on a shared machine


# ---- child processes: each prints one JSON line last ----

def _child_bare(parquet: str) -> dict:
    """Read every column the scan reads (ingest takes all of them) and touch every byte."""
    import duckdb
    import pyarrow.parquet as pq

    cols = pq.ParquetFile(parquet).schema_arrow.names
    touch = ", ".join(f'sum(strlen(coalesce(CAST("{c}" AS VARCHAR), \'\')))' for c in cols)
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar=false")
    rows = con.execute(f"SELECT count(*), {touch} FROM read_parquet(?)", [parquet]).fetchone()[0]
    return {"seconds": time.perf_counter() - started, "rows": rows, "columns": len(cols)}


def _tree_rss_gb(pid: int) -> float:
    """Resident memory of a process and all its descendants together, in GiB (a scan may run its phases
    in child processes; 0 for a process that has gone)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 2**30


def _child_scan(parquet: str, accounts: str, out_dir: str, memory_limit: str) -> dict:
    from distillguard.scan import scan

    started, current = time.perf_counter(), [None]

    def progress(stage: str, done: int, total: int) -> None:
        # One line per stage change, so a run that dies still says where, and at what RSS.
        if stage != current[0]:
            current[0] = stage
            print(f"  [{time.perf_counter() - started:7.1f}s] {stage} (RSS {_tree_rss_gb(os.getpid()):.2f} GB)",
                  file=sys.stderr, flush=True)

    # DuckDB's default buffer pool is 80% of RAM, which a 1M scan fills (OOM-killed at 20 GB here).
    result = scan(parquet, out_dir, accounts=accounts, progress=progress, memory_limit=memory_limit or None)
    return {"seconds": time.perf_counter() - started, "stages": result.seconds,
            "rows": result.ingest[0].inserted, "accounts": result.accounts,
            "flagged": result.flagged, "campaigns": result.campaigns, "isolated": result.isolated}


def _run_child(*args: str) -> tuple[dict, float]:
    """Run this file as a child; return its JSON and its peak RSS in GB: the larger of wait4's (the
    largest single process of its tree) and the whole tree's, sampled every half second."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE, text=True)
    peak, done = [0.0], threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            peak[0] = max(peak[0], _tree_rss_gb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read()
    done.set()
    sampler.join()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child {args[0]} failed with exit code {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1]), max(peak[0], usage.ru_maxrss / 1024 / 1024)  # KiB -> GiB


# ---- parent ----

def _data(n: int) -> Path:
    from distillguard.simulate import simulate

    data = OUT / f"scale-{n}"
    # accounts.jsonl is written last, so its presence means the simulation completed.
    if not (data / "accounts.jsonl").exists():
        shutil.rmtree(data, ignore_errors=True)
        started = time.perf_counter()
        # The simulator's Parquet writer streams 100k-row groups; memory holds one time slice.
        s = simulate(data, accounts=n // EXCHANGES_PER_ACCOUNT, days=7, seed=SEED, fmt="parquet",
                     target_exchanges=n)
        print(f"simulated {s.exchanges:,} exchanges, {s.accounts:,} accounts into {data} "
              f"in {time.perf_counter() - started:.0f}s", flush=True)
    return data


def _measure(n: int, keep: bool, memory_limit: str) -> dict:
    data = _data(n)
    parquet, accounts = data / "exchanges.parquet", data / "accounts.jsonl"
    out_dir = data / "scan"
    shutil.rmtree(out_dir, ignore_errors=True)
    bare_before, _ = _run_child("bare", str(parquet))
    scan, rss = _run_child("scan", str(parquet), str(accounts), str(out_dir), memory_limit)
    bare_after, _ = _run_child("bare", str(parquet))
    quality = _quality(data, out_dir)
    if not keep:
        shutil.rmtree(out_dir, ignore_errors=True)
    bare = (bare_before["seconds"] + bare_after["seconds"]) / 2
    return {"n": scan["rows"], "requested": n, "parquet_gb": parquet.stat().st_size / 1e9,
            "bare": [bare_before["seconds"], bare_after["seconds"]], "bare_mean": bare,
            "scan": scan, "rss_gb": rss, "memory_limit": memory_limit, "ratio": scan["seconds"] / bare,
            "load": os.getloadavg(), "quality": quality}


def _quality(truth: Path, scan_dir: Path) -> dict:
    """Detection quality of the scan against the simulator's truth: speed bought with wrong verdicts is no gain."""
    from distillguard.evaluate import evaluate

    r = evaluate(truth, scan_dir)
    return {"precision": r.precision, "recall": r.recall, "benign_fpr": r.benign_fpr, "ari": r.ari_distill,
            "campaigns_detected": sum(c.detected for c in r.campaigns), "campaigns": len(r.campaigns),
            "predicted_campaigns": r.predicted_campaigns}


def _print_size(r: dict) -> None:
    n, scan = r["n"], r["scan"]
    print(f"\n== {n:,} exchanges ({r['parquet_gb']:.2f} GB Parquet), {scan['accounts']:,} accounts, "
          f"{int(scan['flagged']):,} flagged, {scan['campaigns']} campaigns; load average after: "
          f"{r['load'][0]:.1f} / {r['load'][1]:.1f} / {r['load'][2]:.1f}")
    print(f"{'stage':18}{'seconds':>9}{'share':>8}{'exchanges/s':>14}")
    for stage, s in scan["stages"].items():  # "linkage.x": a step inside linkage, indented under it
        name = f"  {stage.split('.', 1)[1]}" if "." in stage else stage
        print(f"{name:18}{s:9.1f}{s / scan['seconds']:8.0%}{n / s if s else float('inf'):14,.0f}")
    print(f"{'scan (wall)':18}{scan['seconds']:9.1f}{'':8}{n / scan['seconds']:14,.0f}")
    print(f"bare DuckDB scan of the same columns: {r['bare'][0]:.1f}s before, {r['bare'][1]:.1f}s after")
    print(f"ratio scan / bare scan: {r['ratio']:.0f}x")
    if q := r.get("quality"):
        fpr, ari = (f"{q[k]:{f}}" if q[k] is not None else "n/a" for k, f in (("benign_fpr", ".2%"), ("ari", ".3f")))
        print(f"quality: precision {q['precision']:.3f}, recall {q['recall']:.3f}, benign FPR {fpr}, "
              f"ARI {ari}, campaigns detected {q['campaigns_detected']} / {q['campaigns']} "
              f"({q['predicted_campaigns']:,} predicted)")
    phases = "each phase in its own process" if r["scan"].get("isolated") else "one process"
    print(f"scan peak RSS: {r['rss_gb']:.2f} GB ({phases}) with DuckDB memory_limit {r.get('memory_limit') or 'default'} (target <= {TARGET_RSS_GB:.0f} GB: "
          f"{'met' if r['rss_gb'] <= TARGET_RSS_GB else 'NOT met'})", flush=True)


def _label(n: int) -> str:
    return f"{round(n / 1e6, 1):g}M" if n >= 950_000 else f"{round(n / 1e3):g}k"


def _nlogn_exponent(n1: float, n2: float) -> float:
    """The exponent k with (n2/n1)^k = n2 log n2 / (n1 log n1): n log n's slope between two sizes."""
    return 1 + math.log(math.log(n2) / math.log(n1)) / math.log(n2 / n1)


def _curve(results: list[dict], extrapolate: list[int]) -> None:
    stages = list(results[0]["scan"]["stages"]) + ["scan (wall)"]

    def t(r: dict, stage: str) -> float:
        return r["scan"]["seconds"] if stage == "scan (wall)" else r["scan"]["stages"].get(stage, 0.0)

    exps: dict[str, list[float | None]] = {s: [] for s in stages}
    pairs = list(zip(results, results[1:]))
    if pairs:
        print("\n== growth: exponent k of seconds ~ n^k between consecutive sizes "
              "(1 = linear; flagged above n log n)")
        heads = [f"{_label(a['n'])}->{_label(b['n'])}" for a, b in pairs]
        print(f"{'stage':18}" + "".join(f"{h:>14}" for h in heads) + "   n log n bound: "
              + ", ".join(f"{_nlogn_exponent(a['n'], b['n']):.2f}" for a, b in pairs))
        for stage in stages:
            cells = []
            for a, b in pairs:
                ta, tb = t(a, stage), t(b, stage)
                if ta <= 0 or tb <= 0:
                    exps[stage].append(None)
                    cells.append("-")
                    continue
                k = math.log(tb / ta) / math.log(b["n"] / a["n"])
                exps[stage].append(k)
                flag = ""
                if k > _nlogn_exponent(a["n"], b["n"]):
                    flag = " (small)" if max(ta, tb) < SMALL else " SUPER"
                cells.append(f"{k:.2f}{flag}")
            print(f"{stage:18}" + "".join(f"{c:>14}" for c in cells))
        print(f"('SUPER': grows faster than n log n; '(small)': also does, but under {SMALL:.0f}s, "
              "within scheduling noise on this machine)")
    last = results[-1]
    for target in extrapolate:
        if target <= last["n"]:
            continue
        # Each stage from the last measured size along its last measured exponent, never below linear.
        total, linear = 0.0, t(last, "scan (wall)") * target / last["n"]
        print(f"\n== EXTRAPOLATION to {target:,} exchanges (not a measurement): each stage from "
              f"{last['n']:,} along its last measured exponent, at least 1")
        for stage in [s for s in stages[:-1] if "." not in s]:  # steps are inside their stage's total
            k = max(1.0, (exps[stage][-1] if exps[stage] and exps[stage][-1] is not None else 1.0))
            s = t(last, stage) * (target / last["n"]) ** k
            total += s
            print(f"{stage:18}{s:9.0f}s  (k = {k:.2f})")
        overhead = t(last, "scan (wall)") - sum(v for k, v in last["scan"]["stages"].items() if "." not in k)
        total += overhead * target / last["n"]
        print(f"{'scan (estimate)':18}{total:9.0f}s = {total / 60:.0f} min "
              f"(target <= {TARGET_SECONDS_16M / 60:.0f} min: {'met' if total <= TARGET_SECONDS_16M else 'NOT met'}); "
              f"if every stage were linear: {linear:.0f}s = {linear / 60:.0f} min")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        kind, args = sys.argv[2], sys.argv[3:]
        result = _child_bare(*args) if kind == "bare" else _child_scan(*args)
        print(json.dumps(result, default=float), flush=True)  # DuckDB sums arrive as Decimal
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--extrapolate", type=int, nargs="*", default=[],
                        help="sizes to estimate (labelled as estimates) from the measured curve")
    parser.add_argument("--memory-limit", default="5GB",
                        help="DuckDB memory_limit for the scan ('' = DuckDB's default, 80%% of RAM); "
                             "Python's own memory comes on top")
    parser.add_argument("--keep", action="store_true", help="keep each scan's output and workspace")
    parser.add_argument("--reuse", action="store_true",
                        help="take a size's figures from its saved result.json instead of scanning again")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    results = []
    for n in sorted(args.exchanges):
        saved = OUT / f"scale-{n}" / "result.json"
        if args.reuse and saved.exists():
            results.append(json.loads(saved.read_text()))
            print(f"\n(figures for {n:,} from {saved}, measured earlier)")
        else:
            results.append(_measure(n, args.keep, args.memory_limit))
            saved.write_text(json.dumps(results[-1], indent=1))
        _print_size(results[-1])
    _curve(results, args.extrapolate)


if __name__ == "__main__":
    main()
