"""The fingerprint stage: every per-exchange and per-account signal, in dependency order.

capabilities → harvesting signals → template families → behaviour (which aggregates
the three) → scores. Each step replaces its own tables, so a re-run is clean.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pyarrow as pa

from ..workspace import Workspace
from .content.capability import CLASSES, CapabilityClassifier

StageProgress = Callable[[str, int, int], None]   # (step, done, total)

# Ordered by prompt, so the classifier sees repeats of a prompt together and featurizes it once.
_CAPABILITY_INPUT = """
    SELECT * FROM (
      SELECT request_id, coalesce(last_user_message, first_user_message, '') AS text,
             coalesce(system_prompt, '') AS system, tools_defined, image_parts, tools_called, turn_count
      FROM exchanges {where})
    ORDER BY hash(text, system)"""


def classify_capabilities(ws: Workspace, classifier: CapabilityClassifier | None = None,
                          progress: StageProgress | None = None, only: str | None = None) -> int:
    """Write `exchange_capabilities(request_id, capability, confidence, p_<class>...)`.

    With `only` (a table with a `request_id` column), classify just those exchanges and add their
    rows, for incremental updates; otherwise replace the table.
    """
    classifier = classifier or CapabilityClassifier.load()
    db = ws.backend
    probs = ", ".join(f"p_{c} REAL" for c in CLASSES)
    create = "CREATE TABLE IF NOT EXISTS" if only else "CREATE OR REPLACE TABLE"
    db.execute(f"{create} exchange_capabilities (request_id VARCHAR, capability VARCHAR, confidence REAL, {probs})")
    total, done = ws.count(only or "exchanges"), 0
    where = f"WHERE request_id IN (SELECT request_id FROM {only})" if only else ""
    if only:
        db.execute(f"DELETE FROM exchange_capabilities WHERE request_id IN (SELECT request_id FROM {only})")
    for batch in db.iter_batches(_CAPABILITY_INPUT.format(where=where), rows=50_000):
        cols = batch.to_pydict()
        p = classifier.predict_proba(cols["text"], cols["system"], cols["tools_defined"], cols["image_parts"],
                                     cols["tools_called"], cols["turn_count"])
        top = p.argmax(axis=1)
        table = pa.table({"request_id": batch.column("request_id"),
                          "capability": pa.array(np.asarray(classifier.classes)[top]),
                          "confidence": p[np.arange(len(top)), top],
                          **{f"p_{c}": p[:, i] for i, c in enumerate(classifier.classes)}})
        db.register_arrow("_caps", table)
        db.execute("INSERT INTO exchange_capabilities SELECT * FROM _caps")
        db.unregister("_caps")
        done += batch.num_rows
        if progress:
            progress("capabilities", done, total)
    return done


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
