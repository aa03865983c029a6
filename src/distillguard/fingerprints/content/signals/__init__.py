"""Per-exchange harvesting signals: graded strengths in [0, 1] with reason codes.

    from distillguard.fingerprints.content.signals import SIGNALS, compute_signals
    counts = compute_signals(ws)  # writes table exchange_signals(request_id, <one DOUBLE per signal>)

Each signal is precise about one exchange and honest about near misses (a benchmark's "think step by
step", a teacher's rubric); whether an account runs a campaign is decided across thousands of them.
Add a signal by subclassing `Signal` (or `CueSignal`) and decorating it with `register`.
"""

# Importing registers the built-in signals, content first.
from . import text  # noqa: F401
from . import params  # noqa: F401
from .base import FLAG_AT, SIGNALS, TABLE, Cue, CueSignal, Signal, compute_signals, register

__all__ = ["FLAG_AT", "SIGNALS", "TABLE", "Cue", "CueSignal", "Signal", "compute_signals", "register"]
