"""Traffic simulator: realistic API logs with distillation campaigns and ground truth.

    from distillguard.simulate import simulate, SimConfig, PRESETS
    summary = simulate("out/", accounts=2000, days=7, seed=1, preset="default", fmt="jsonl.gz")

Writes `exchanges.<fmt>` (jsonl, jsonl.gz, jsonl.zst or parquet), `accounts.jsonl`,
`truth_accounts.csv` (account_id,label,campaign,archetype) and `truth_exchanges.csv`
(request_id,account_id,is_distill). Pass `target_exchanges` to scale every rate so the
total lands near that number, `progress(done, total_estimate)` to follow along, or
`config=dataclasses.replace(PRESETS["default"], camouflage=0.5)` for a custom world.
Deterministic for a given (preset or config, seed, accounts, days, target_exchanges).
"""

from .config import ARCHETYPES, BENIGN, DISTILL, PRESETS, SimConfig
from .generator import SimSummary, simulate
from .writer import FORMATS

__all__ = ["ARCHETYPES", "BENIGN", "DISTILL", "FORMATS", "PRESETS", "SimConfig", "SimSummary", "simulate"]
