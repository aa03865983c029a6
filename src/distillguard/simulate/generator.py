"""The simulation loop: build the world, then generate and write it one time slice at a time.

Each slice draws every actor's unit count from a Poisson law (vectorised), lets the busy
actors emit, sorts the slice by timestamp and writes it. Output is therefore globally
time-ordered like a real log, and memory holds one slice of traffic, not the whole run.
"""

from __future__ import annotations

import csv
import gc
import time
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Callable

import numpy as np
import orjson

from .archetypes import FACTORIES, MIN_ACCOUNTS
from .config import ARCHETYPES, DISTILL, PRESETS, SimConfig
from .corpora import load_corpus, shared_data_dir
from .world import World
from .writer import FORMATS, exchange_writer


@dataclass
class SimSummary:
    preset: str
    seed: int
    accounts: int
    exchanges: int
    distill_exchanges: int
    campaigns: dict[str, str]  # campaign id -> archetype
    accounts_by_archetype: dict[str, int]
    exchanges_by_archetype: dict[str, int]
    files: dict[str, Path]
    sources: tuple[str, ...]  # prompt sources used ("builtin" when no real corpus was found)
    seconds: float = 0.0

    @property
    def exchanges_per_second(self) -> float:
        return self.exchanges / self.seconds if self.seconds else 0.0


def allocate(cfg: SimConfig, accounts: int) -> dict[str, int]:
    """Accounts per archetype: the configured mix, with enough accounts for each group to exist."""
    total = sum(cfg.mix.values()) or 1.0
    out = {}
    for a in ARCHETYPES:
        if cfg.mix.get(a, 0) > 0:
            camps = cfg.campaigns.get(a, 1) if a in DISTILL else 1
            lo = MIN_ACCOUNTS.get(a, 2 if a in DISTILL else 1) * camps
            out[a] = max(lo, round(accounts * cfg.mix[a] / total))
    return out


def _campaign_sizes(w: World, n: int, k: int, lo: int) -> list[int]:
    """Split n accounts over k campaigns of uneven size, each at least `lo`."""
    weights = [w.r.uniform(0.5, 1.5) for _ in range(k)]
    sizes = [lo + int((n - lo * k) * x / sum(weights)) for x in weights]
    sizes[0] += n - sum(sizes)
    return sizes


def build(cfg: SimConfig, seed: int, accounts: int, days: float) -> tuple[World, list]:
    d = shared_data_dir()
    w = World(cfg, seed, days, load_corpus(), str(d) if d else None)
    actors = []
    for archetype, n in allocate(cfg, accounts).items():
        rate, make = cfg.rates[archetype], FACTORIES[archetype]
        if archetype in DISTILL:
            k = cfg.campaigns.get(archetype, 1)
            for size in _campaign_sizes(w, n, k, MIN_ACCOUNTS.get(archetype, 2)):
                actors += make(w, size, rate, w.campaign(archetype))
        else:
            actors += make(w, n, rate)
    return w, actors


def simulate(out_dir: str | Path, accounts: int = 2000, days: float = 7, seed: int = 1, preset: str = "default",
             fmt: str = "jsonl.gz", target_exchanges: int | None = None,
             progress: Callable[[int, int], None] | None = None, config: SimConfig | None = None) -> SimSummary:
    """Write a simulated traffic log with ground truth into out_dir; see the package docstring.

    config, when given, replaces the preset (e.g. dataclasses.replace(PRESETS["default"], camouflage=0.5))."""
    if config is None and preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)} or pass config=")
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
    cfg = config or PRESETS[preset]
    t_start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    w, actors = build(cfg, seed, accounts, days)

    # Expected exchanges per actor = units/slice x profile mass x exchanges per unit.
    P = np.stack(w.profiles)
    base = np.array([a.rate for a in actors]) / w.spd
    prof = np.array([a.profile for a in actors])
    unit = np.array([a.unit for a in actors])
    expected = float((base * P[prof].sum(axis=1) * unit).sum())
    scale = target_exchanges / expected if target_exchanges else 1.0
    estimate = int(expected * scale)

    files = {"exchanges": out / f"exchanges.{fmt}", "accounts": out / "accounts.jsonl",
             "truth_accounts": out / "truth_accounts.csv", "truth_exchanges": out / "truth_exchanges.csv"}
    writer = exchange_writer(files["exchanges"], fmt)
    per_arch, n_total, n_distill = Counter(), 0, 0
    by_time = itemgetter(0)  # sort is stable, so equal timestamps keep emission order
    # Records are acyclic and freed by reference counting; the cyclic collector would only
    # rescan each slice's short-lived dicts (about 15% of the run time), so pause it.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    with open(files["truth_exchanges"], "w", buffering=1 << 20) as truth:
        truth.write("request_id,account_id,is_distill\n")
        try:
            for s in range(w.n_slices):
                t0 = w.t0 + s * w.slice_ms
                counts = w.np.poisson(base * P[prof, s] * scale)
                for i in np.flatnonzero(counts):
                    actors[i].emit(w, t0, int(counts[i]))
                batch = w.batch
                batch.sort(key=by_time)
                records, lines = [], []
                for _, _, rec, distill, archetype in batch:
                    records.append(rec)
                    lines.append(f"{rec['request_id']},{rec['account_id']},{1 if distill else 0}\n")
                    per_arch[archetype] += 1
                    n_distill += distill
                writer.write(records)
                truth.write("".join(lines))
                n_total += len(batch)
                w.batch = []
                if progress:
                    progress(n_total, max(estimate, n_total))
        finally:
            writer.close()
            if gc_was_enabled:
                gc.enable()

    rows = sorted(w.accounts, key=lambda a: a.id)  # random ids: the order says nothing about the label
    with open(files["accounts"], "wb") as f:
        f.write(b"".join(orjson.dumps(a.row) + b"\n" for a in rows))
    with open(files["truth_accounts"], "w", newline="") as f:
        out_csv = csv.writer(f, lineterminator="\n")
        out_csv.writerow(("account_id", "label", "campaign", "archetype"))
        out_csv.writerows((a.id, "distill" if a.distill else "benign", a.campaign, a.archetype) for a in rows)
    return SimSummary(
        preset=cfg.name, seed=seed, accounts=len(rows), exchanges=n_total, distill_exchanges=n_distill,
        campaigns=dict(w.campaigns), accounts_by_archetype=dict(Counter(a.archetype for a in rows)),
        exchanges_by_archetype=dict(per_arch), files=files, sources=w.k.c.sources,
        seconds=time.perf_counter() - t_start)
