"""Fit the exchange and account scorers on one simulated world and report them on another.

    python -m distillguard.scoring.train [--work DIR] [--accounts N] [--days D]

Trains on the `default` preset (one seed), then measures on the `shifted` preset (other
archetype mix, volumes, camouflage, wordings, models, seed) that the models never saw,
and prints the drop. Writes `scoring/models/{exchange,account}.json` with the figures in
their metadata, so the shipped weights say how they were made and how well they transfer.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from ..fingerprints.stage import run_fingerprints
from ..ingest import ingest
from ..simulate import simulate
from ..workspace import Workspace, csv_text
from .model import LinearModel, TreeModel
from .score import LEVELS, MODEL_FILES, MODELS, feature_table, matrix, score_level

MAX_TRAIN_ROWS = 300_000


def prepare(work: Path, preset: str, seed: int, accounts: int, days: int) -> Workspace:
    """Simulate a world, ingest it, fingerprint it, and load its truth into the workspace."""
    data = work / f"{preset}-{seed}"
    if not (data / "truth_accounts.csv").exists():
        shutil.rmtree(data, ignore_errors=True)
        simulate(data, accounts=accounts, days=days, seed=seed, preset=preset, fmt="jsonl.gz")
    ws = Workspace.open(data / "workspace.duckdb")
    if not ws.backend.table_exists("account_features"):   # fingerprints are reused across fits
        ingest(ws, data / "exchanges.jsonl.gz")
        ingest(ws, data / "accounts.jsonl", kind="accounts")
        run_fingerprints(ws)
    ws.backend.execute(f"CREATE OR REPLACE TABLE truth_accounts AS SELECT * FROM {csv_text(data / 'truth_accounts.csv')}")
    ws.backend.execute(f"CREATE OR REPLACE TABLE truth_exchanges AS SELECT * FROM {csv_text(data / 'truth_exchanges.csv')}")
    return ws


def labelled(ws: Workspace, level: str):
    table = feature_table(ws, level)
    key = "request_id" if level == "exchange" else "account_id"
    truth_sql = ("SELECT request_id AS id, is_distill::INT AS y FROM truth_exchanges" if level == "exchange" else
                 "SELECT account_id AS id, (label = 'distill')::INT AS y FROM truth_accounts")
    truth = dict(zip(*ws.sql(truth_sql).to_pydict().values()))
    y = np.array([truth.get(k, 0) for k in table.column(key).to_pylist()])
    return table, y


def fit(ws: Workspace, level: str, seed: int) -> LinearModel | TreeModel:
    table, y = labelled(ws, level)
    names = [f.name for f, _ in LEVELS[level][0]]
    x = np.nan_to_num(matrix(table, names))
    if len(y) > MAX_TRAIN_ROWS:
        keep = np.random.default_rng(seed).choice(len(y), MAX_TRAIN_ROWS, replace=False)
        x, y = x[keep], y[keep]
    if level == "exchange":
        trees = HistGradientBoostingClassifier(max_iter=200, max_leaf_nodes=31, l2_regularization=1.0,
                                               random_state=seed).fit(x, y)
        rows = np.random.default_rng(seed).choice(len(y), min(len(y), 20_000), replace=False)
        importance = permutation_importance(trees, x[rows], y[rows], scoring="roc_auc", n_repeats=2,
                                            random_state=seed).importances_mean
        return TreeModel(trees, names, importance.tolist())
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=0.1, class_weight="balanced", max_iter=2000)
    lr.fit((x - mean) / scale, y)
    return LinearModel(names, mean.tolist(), scale.tolist(), lr.coef_[0].tolist(), float(lr.intercept_[0]))


def measure(ws: Workspace, models: dict) -> dict[str, float]:
    out = {}
    for level in ("exchange", "account"):
        score_level(ws, level, models[level])
    ex = ws.sql("""SELECT s.score, t.is_distill::INT AS y, t.account_id FROM exchange_scores s
                   JOIN truth_exchanges t USING (request_id)""").to_pydict()
    out["exchange_auroc"] = roc_auc_score(ex["y"], ex["score"])
    hydra = ws.sql("""SELECT s.score, t.is_distill::INT AS y FROM exchange_scores s
                      JOIN truth_exchanges t USING (request_id)
                      WHERE t.account_id IN (SELECT account_id FROM truth_exchanges GROUP BY 1
                                             HAVING min(is_distill) <> max(is_distill))""").to_pydict()
    out["exchange_auroc_mixed_accounts"] = roc_auc_score(hydra["y"], hydra["score"]) if hydra["y"] else float("nan")
    acc = ws.sql("""SELECT s.score, (t.label = 'distill')::INT AS y FROM account_scores s
                    JOIN truth_accounts t USING (account_id)""").to_pydict()
    out["account_auroc"] = roc_auc_score(acc["y"], acc["score"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="Fit and measure the exchange and account scorers.")
    parser.add_argument("--work", type=Path, default=Path("bench/out/train"))
    parser.add_argument("--accounts", type=int, default=1200)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--train-seed", type=int, default=101)
    parser.add_argument("--test-seed", type=int, default=202)
    parser.add_argument("--models", type=Path, default=MODELS)
    args = parser.parse_args()

    train = prepare(args.work, "default", args.train_seed, args.accounts, args.days)
    models = {"exchange": fit(train, "exchange", args.train_seed)}
    score_level(train, "exchange", models["exchange"])      # account features read exchange scores
    models["account"] = fit(train, "account", args.train_seed)
    on_train = measure(train, models)
    test = prepare(args.work, "shifted", args.test_seed, args.accounts, args.days)
    on_test = measure(test, models)
    report = {k: {"train(default)": round(on_train[k], 4), "test(shifted)": round(on_test[k], 4),
                  "drop": round(on_train[k] - on_test[k], 4)} for k in on_train}
    args.models.mkdir(parents=True, exist_ok=True)
    for level, model in models.items():
        model.metadata = {"trained_on": f"simulate preset=default seed={args.train_seed} accounts={args.accounts} "
                                        f"days={args.days}",
                          "measured_on": f"simulate preset=shifted seed={args.test_seed}", "auroc": report}
        model.save(args.models / MODEL_FILES[level][0])
    print(json.dumps(report, indent=1))
    for level, model in models.items():
        weights = model.coef if level == "account" else model.importance
        print(f"\n{level} {'coefficients (standardised)' if level == 'account' else 'permutation importance'}:")
        for name, c in sorted(zip(model.features, weights), key=lambda p: -abs(p[1])):
            print(f"  {name:28} {c:+.3f}")


if __name__ == "__main__":
    main()
