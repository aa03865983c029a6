"""The fingerprint stage: every per-exchange and per-account signal, in dependency order.

capabilities → harvesting signals → template families → behaviour (which aggregates
the three) → scores. Each step replaces its own tables, so a re-run is clean.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pyarrow as pa

from ..parallel import ordered_map, usable_cores
from ..workspace import USER_TEXT, Workspace
from .content.capability import CLASSES, CapabilityClassifier

StageProgress = Callable[[str, int, int], None]   # (step, done, total)

# What the classifier reads of an exchange. Prompts repeat (templates, retries, campaigns): each distinct
# input is classified once (2.5M of 16M exchanges in the scale benchmark), and exchanges take its result by
# its 64-bit hash.
_INPUT_COLUMNS = f"""coalesce({USER_TEXT}, '') AS text, coalesce(system_prompt, '') AS system,
                    tools_defined, image_parts, tools_called, turn_count"""
_INPUT_KEY = "hash(text, system, tools_defined, image_parts, tools_called, turn_count)"
_DISTINCT_INPUTS = f"""
    SELECT {_INPUT_KEY} AS k, any_value(text) AS text, any_value(system) AS system,
           any_value(tools_defined) AS tools_defined, any_value(image_parts) AS image_parts,
           any_value(tools_called) AS tools_called, any_value(turn_count) AS turn_count
    FROM (SELECT {_INPUT_COLUMNS} FROM exchanges {{where}}) GROUP BY k"""


# Featurizing is Python (tokens, hashes): from this many distinct inputs it runs on a process per core,
# which costs about a second to start; at most POOL_MAX_WORKERS, each holding the model, a batch and a
# token cache (a few hundred MB).
POOL_MIN_INPUTS = 200_000
POOL_MAX_WORKERS = 4
_classifier: CapabilityClassifier | None = None  # the classifier of this process (see _use_classifier)


def _use_classifier(classifier: CapabilityClassifier) -> None:
    global _classifier
    _classifier = classifier


def _predict(batch: pa.RecordBatch) -> np.ndarray:
    cols = batch.drop_columns(["k"]).to_pydict()
    return _classifier.predict_proba(cols["text"], cols["system"], cols["tools_defined"], cols["image_parts"],
                                     cols["tools_called"], cols["turn_count"])


def classify_capabilities(ws: Workspace, classifier: CapabilityClassifier | None = None,
                          progress: StageProgress | None = None, only: str | None = None) -> int:
    """Write `exchange_capabilities(request_id, capability, confidence, p_<class>...)`.

    With `only` (a table with a `request_id` column), classify just those exchanges and add their
    rows, for incremental updates; otherwise replace the table. Returns the exchanges classified.
    """
    classifier = classifier or CapabilityClassifier.load()
    db = ws.backend
    probs = ", ".join(f"p_{c} REAL" for c in CLASSES)
    where = f"WHERE request_id IN (SELECT request_id FROM {only})" if only else ""
    db.execute(f"CREATE OR REPLACE TABLE _capability_inputs AS {_DISTINCT_INPUTS.format(where=where)}")
    nulls = ", ".join(f"CAST(NULL AS REAL) AS p_{c}" for c in CLASSES)
    db.execute(f"""CREATE OR REPLACE TABLE _capability_out AS  -- k typed as the engine's hash
                   SELECT k, CAST(NULL AS VARCHAR) AS capability, CAST(NULL AS REAL) AS confidence, {nulls}
                   FROM _capability_inputs LIMIT 0""")
    total, done = ws.count("_capability_inputs"), 0
    workers = usable_cores(POOL_MAX_WORKERS) if total >= POOL_MIN_INPUTS else 1
    try:
        batches = db.iter_batches("SELECT * FROM _capability_inputs", rows=50_000)
        for batch, p in ordered_map(_predict, batches, workers, _use_classifier, (classifier,)):
            top = p.argmax(axis=1)
            table = pa.table({"k": batch.column("k"),
                              "capability": pa.array(np.asarray(classifier.classes)[top]),
                              "confidence": p[np.arange(len(top)), top],
                              **{f"p_{c}": p[:, i] for i, c in enumerate(classifier.classes)}})
            db.insert_batch("_caps", table, ["INSERT INTO _capability_out SELECT * FROM _caps"])
            done += batch.num_rows
            if progress:
                progress("capabilities", done, total)
        create = "CREATE TABLE IF NOT EXISTS" if only else "CREATE OR REPLACE TABLE"
        db.execute(f"{create} exchange_capabilities (request_id VARCHAR, capability VARCHAR, confidence REAL, {probs})")
        if only:
            db.execute(f"DELETE FROM exchange_capabilities WHERE request_id IN (SELECT request_id FROM {only})")
        db.execute(f"""
            INSERT INTO exchange_capabilities
            SELECT e.request_id, o.* EXCLUDE (k)
            FROM (SELECT request_id, {_INPUT_KEY} AS k
                  FROM (SELECT request_id, {_INPUT_COLUMNS} FROM exchanges {where})) e
            JOIN _capability_out o USING (k)""")
        return int(db.scalar(f"SELECT count(*) FROM exchanges {where}"))
    finally:
        db.execute("DROP TABLE IF EXISTS _capability_inputs")
        db.execute("DROP TABLE IF EXISTS _capability_out")


def run_fingerprints(ws: Workspace, progress: StageProgress | None = None, intel=None) -> dict[str, float]:
    """Compute every fingerprint table; return seconds per step."""
    from .behaviour import compute_account_features
    from .content.signals import compute_signals
    from .content.templates import build_template_families

    def step(name: str):
        return (lambda done, total: progress(name, done, total)) if progress else None

    steps = [
        ("capabilities", lambda: classify_capabilities(ws, progress=progress)),
        ("signals", lambda: compute_signals(ws, progress=step("signals"))),
        ("templates", lambda: build_template_families(ws, progress=step("templates"))),
        ("behaviour", lambda: compute_account_features(ws, intel=intel, progress=step("behaviour"))),
    ]
    seconds = {}
    for name, run in steps:
        started = time.perf_counter()
        run()
        seconds[name] = time.perf_counter() - started
    return seconds
