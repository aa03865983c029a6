"""Activity profiles: relative intensity per time slice, averaging about 1 over a day.

Expected events in slice s = rate_per_day / slices_per_day * profile[s], so a profile
only shapes *when* traffic happens, never how much.
"""

from __future__ import annotations

import numpy as np

# Local-hour shapes (index = local hour). Values are relative; each is normalised below.
SHAPES = {
    "day": (2, 1, .6, .4, .3, .4, .8, 1.5, 2.5, 3.5, 4, 4.2, 4, 4.2, 4.5, 4.4, 4.2, 4, 4.2, 4.8, 5, 4.6, 3.8, 2.8),
    "office": (.2, .1, .1, .1, .1, .2, .5, 1.5, 4, 6, 6.5, 6.2, 4.8, 5.8, 6.4, 6.2, 5.5, 3.5, 1.6, 1, .8, .6, .4, .3),
    "evening": (3, 2, 1, .4, .2, .2, .3, .6, 1, 1.5, 2, 2.5, 2.5, 2.5, 2.8, 3, 3.5, 4.5, 5.5, 6.5, 7, 7, 6, 4.5),
    "flat": (1,) * 24,
}
WEEKEND = {"day": 1.1, "office": 0.12, "evening": 0.9, "flat": 1.0}  # weekend intensity relative to weekdays


def diurnal(n_slices: int, spd: int, start_weekday: int, tz_hours: float, shape: str) -> np.ndarray:
    """Profile for people (or their users) living at UTC+tz_hours; weekday 0 is Monday."""
    hours = np.arange(n_slices) * (24.0 / spd) + tz_hours  # local hours since the window's first midnight (UTC)
    curve = np.asarray(SHAPES[shape], dtype=float)
    h = np.floor(hours).astype(int)
    frac = hours - h
    vals = curve[h % 24] * (1 - frac) + curve[(h + 1) % 24] * frac  # smooth between hours
    weekday = (start_weekday + np.floor(hours / 24).astype(int)) % 7
    vals = vals * np.where(weekday >= 5, WEEKEND[shape], 1.0)
    week = curve.mean() * (5 + 2 * WEEKEND[shape]) / 7
    return vals / week


def blend(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    return (1 - w) * a + w * b


def bursts(n_slices: int, starts: list[int], length: int) -> np.ndarray:
    """Runs of `length` slices at high intensity (eval suites, batch jobs), silence between."""
    out = np.zeros(n_slices)
    for s in starts:
        out[s:s + length] = 1.0
    total = out.sum()
    return out * (n_slices / total) if total else out


def deadline(n_slices: int, spd: int, due: int, days_before: float, peak: float) -> np.ndarray:
    """Multiplier for homework: rising to `peak` just before slice `due`, quieter after it."""
    s = np.arange(n_slices)
    rise = np.clip(1 - (due - s) / (days_before * spd), 0, 1)
    return np.where(s < due, 1 + (peak - 1) * rise, 0.6)
