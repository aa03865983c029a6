"""In-process state for a single gateway instance."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from .base import Observation, Online, State, Windows, sliding

# Distinct counts are exact up to this many members per key, then saturate: policy thresholds sit far
# below it, and the cap bounds memory for an IP that sees millions of accounts.
DISTINCT_CAP = 4096
SWEEP_EVERY = 50_000  # observations between purges of keys whose windows have passed


class _Distinct:
    """Distinct members per key over the current and previous window (the union, kept incrementally)."""
    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data: dict[str, list] = {}  # key -> [window, current set, previous set, union size]

    def add(self, key: str, member: str, window: int, record: bool) -> int:
        e = self.data.get(key)
        if e is None or e[0] < window - 1:
            e = [window, set(), set(), 0]
            if record:
                self.data[key] = e
        elif e[0] == window - 1:  # roll forward one window
            e[0], e[2], e[1], e[3] = window, e[1], set(), len(e[1])
        cur, prev = e[1], e[2]
        if record and member not in cur and len(cur) < DISTINCT_CAP:
            cur.add(member)
            if member not in prev:
                e[3] += 1
        return e[3]

    def sweep(self, window: int) -> None:
        for k in [k for k, e in self.data.items() if e[0] < window - 1]:
            del self.data[k]


class _Counter:
    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data: dict[str, list] = {}  # key -> [window, current, previous]

    def incr(self, key: str, window: int, record: bool) -> tuple[int, int]:
        e = self.data.get(key)
        if e is None or e[0] < window - 1:
            e = [window, 0, 0]
            if record:
                self.data[key] = e
        elif e[0] == window - 1:
            e[0], e[2], e[1] = window, e[1], 0
        if record:
            e[1] += 1
        return e[1], e[2]

    def sweep(self, window: int) -> None:
        for k in [k for k, e in self.data.items() if e[0] < window - 1]:
            del self.data[k]


class MemoryState(State):
    def __init__(self, audit_size: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._distinct = _Distinct()
        self._slots = _Distinct()
        self._rates = _Counter()
        self._overrides: dict[tuple[str, str], tuple[dict, float]] = {}  # record, when it lapses
        self._verified: dict[str, tuple[str, float]] = {}  # account -> (reference, lapses at; inf: never)
        self._audit: deque[dict] = deque(maxlen=audit_size)
        self._seen = 0

    def observe(self, obs: Observation, w: Windows) -> Online:
        d, r = int(obs.ts // w.distinct_s), int(obs.ts // w.rate_s)
        a, rec = obs.account_id, obs.record
        with self._lock:
            out = Online()
            if obs.ip:
                out.ip_accounts = self._distinct.add("ip:" + obs.ip, a, d, rec)
            if obs.template:
                out.template_accounts = self._distinct.add("t:" + obs.template, a, d, rec)
                if obs.ip:
                    out.ip_template_accounts = self._distinct.add(f"it:{obs.ip}:{obs.template}", a, d, rec)
            out.account_rate = sliding(*self._rates.incr("a:" + a, r, rec), obs.ts, w.rate_s)
            if obs.budget:
                out.budget_used = sliding(*self._rates.incr("b:" + obs.budget, r, rec), obs.ts, w.rate_s)
            out.active_slots = self._slots.add(a, str(int(obs.ts // w.slot_s)), int(obs.ts // 86_400), rec)
            reference, lapses = self._verified.get(a, (None, 0.0))
            out.verified = reference if lapses > time.time() else None
            out.account_override = self._override("account", a)
            if obs.campaign_id:
                out.campaign_override = self._override("campaign", obs.campaign_id)
            self._seen += 1
            if self._seen % SWEEP_EVERY == 0:
                self._distinct.sweep(d)
                self._rates.sweep(r)
                self._slots.sweep(int(obs.ts // 86_400))
        return out

    def _override(self, scope: str, target: str) -> dict | None:
        record, lapses = self._overrides.get((scope, target), (None, 0.0))
        if record is not None and lapses <= time.time():
            del self._overrides[(scope, target)]
            return None
        return record

    def set_override(self, scope: str, target: str, record: dict | None, ttl_s: float | None = None) -> None:
        with self._lock:
            if record is None:
                self._overrides.pop((scope, target), None)
            else:
                self._overrides[(scope, target)] = (record, math.inf if ttl_s is None else time.time() + ttl_s)

    def set_verified(self, account_id: str, reference: str | None, ttl_s: float | None = None) -> None:
        with self._lock:
            if reference is None:
                self._verified.pop(account_id, None)
            else:
                self._verified[account_id] = (reference, math.inf if ttl_s is None else time.time() + ttl_s)

    def append_audit(self, entry: dict) -> None:
        with self._lock:
            self._audit.append(entry)

    def audit(self, limit: int = 100) -> list[dict]:
        with self._lock:
            return list(reversed(self._audit))[:limit]
