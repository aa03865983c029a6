"""How traffic is sent: actors, their timing, account choice and IP behaviour.

An Actor emits the traffic of one account (a person, an app) or of a coordinated group
(a campaign, an org, a proxy network). `archetypes.py` decides who is who.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from typing import Callable

from . import phrasing as ph
from . import schedule
from .content import AgentSession
from .exchange import Client, restyle
from .world import Account, World


def geom(r: random.Random, mean: float) -> int:
    """1 + geometric draw with the given mean (exact mean, so volume targets hold)."""
    if mean <= 1:
        return 1
    p = 1.0 / mean
    return 1 + int(math.log(1.0 - r.random()) / math.log(1.0 - p))


def hetero(r: random.Random, sigma: float = 0.8) -> float:
    """Lognormal multiplier with mean 1: a few heavy users, many light ones."""
    return math.exp(r.gauss(0, sigma) - sigma * sigma / 2)


class Actor:
    """Emits `n` units per slice; a unit is one request, or a session chain of requests."""

    def __init__(self, w: World, accounts: list[Account], rate: float, profile: int, kinds: dict[str, float], *,
                 unit: float = 1.0, timing: str = "random", gap: float = 60.0, pick: str = "one", curve: str = "benign",
                 throttle: float = 0.0, rounds: int = 10, windows: list[tuple[int, int]] | None = None,
                 shared: dict | None = None):
        self.accounts, self.profile, self.unit = accounts, profile, unit
        self.rate = rate / unit  # units per day; exchanges per day is `rate`
        self.names = list(kinds)
        self.cum = list(_cumsum(kinds.values()))
        self.timing, self.gap, self.pick_mode, self.curve = timing, gap, pick, curve
        self.throttle, self.rounds, self.windows = throttle, rounds, windows
        self.shared = shared if shared is not None else {}
        self.weights = [hetero(w.r, 1.0) for _ in accounts]
        self._rr, self._slice, self._active, self._cw = 0, -1, accounts, None

    # choosing -----------------------------------------------------------------------
    def kind(self, r: random.Random) -> str:
        return self.names[bisect.bisect(self.cum, r.random() * self.cum[-1])]

    def pick(self, w: World, t0: int) -> Account | None:
        if self.pick_mode == "one":
            return self.accounts[0]
        if self.windows:
            s = w.slice_of(t0)
            if s != self._slice:  # fail-over: only accounts inside their active window take traffic
                self._slice = s
                idx = [i for i, (a, b) in enumerate(self.windows) if a <= s < b]
                self._active = [self.accounts[i] for i in idx]
                self._cw = list(_cumsum(self.weights[i] for i in idx))
            if not self._active:
                return None
        if self.pick_mode == "rr":  # round-robin load balancing across the pool
            self._rr += 1
            return self._active[self._rr % len(self._active)]
        cw = self._cw or list(_cumsum(self.weights))
        self._cw = cw
        return self._active[bisect.bisect(cw, w.r.random() * cw[-1])]

    # emitting -----------------------------------------------------------------------
    def emit(self, w: World, t0: int, n: int) -> None:
        r, S = w.r, w.slice_ms
        if self.timing == "session":
            for _ in range(n):
                length = geom(r, self.unit)
                gaps = [r.expovariate(1.0 / self.gap) * 1000 for _ in range(length - 1)]
                span = sum(gaps)
                if span > 0.9 * S:
                    gaps, span = [g * 0.9 * S / span for g in gaps], 0.9 * S
                ms = t0 + int(r.random() * (S - span - 1))
                acct = self.pick(w, t0)
                if acct is None:
                    return
                ip, kind = acct.ip(), self.kind(r)
                thread = r.choice(w.k.c.convs) if kind == "chat" else None
                for i in range(length):
                    self.send(w, ms, acct, ip, kind, i, thread)
                    if i < length - 1:
                        ms += int(gaps[i])
            return
        if self.timing == "cadence":  # evenly spaced, small jitter: synchronised, load-balanced harvesting
            step, jit = S / n, 0.05 + 0.9 * w.cfg.camouflage
            times = sorted(min(t0 + S - 1, max(t0, t0 + int((i + 0.5 + r.gauss(0, jit)) * step))) for i in range(n))
        else:
            times = sorted(t0 + int(r.random() * S) for _ in range(n))
        for ms in times:
            acct = self.pick(w, t0)
            if acct is None:
                return
            self.send(w, ms, acct, acct.ip(), self.kind(r), 0, None)

    def send(self, w: World, ms: int, acct: Account, ip: str, kind: str, turn: int, thread, *,
             client: Client | None = None, distill: bool | None = None) -> None:
        conv = self.conv(w, acct, kind, turn, thread)
        keys = acct.keys
        key = keys[0] if len(keys) == 1 or w.r.random() < 0.6 else keys[w.r.randrange(len(keys))]
        model = w.model(ms, acct, self.curve)
        rec = w.b.record(ms, acct.id, key, ip, client or acct.client, model, conv, self.throttle)
        w.emit(ms, rec, acct.distill if distill is None else distill, acct.archetype)

    def conv(self, w: World, acct: Account, kind: str, turn: int, thread):
        k, r = w.k, w.r
        if kind == "chat":
            return k.thread(thread, turn, acct.state.get("system")) if thread else k.chat(acct.state.get("system"))
        if kind == "agent":
            s = acct.state.get("agent")
            if s is None or s.done:
                system = acct.state.get("agent_system") or r.choice(ph.AGENT_SYSTEM[w.cfg.wording])
                s = acct.state["agent"] = AgentSession(k, system, r.choice(k.c.code), self.rounds)
            return s.step()
        if kind == "app":
            return k.app(acct.state["system"])
        if kind == "homework":
            return k.homework(acct.state["topic"] + r.randrange(2))
        if kind == "probe":  # the campaign walks its capability grid in order, across all its accounts
            self.shared["i"] = self.shared.get("i", r.randrange(500)) + 1
            return k.probe(self.shared["i"])
        return getattr(k, kind)()


class Bench(Actor):
    """An eval harness: each unit is one item sent to every model under test, back to back."""

    def emit(self, w: World, t0: int, n: int) -> None:
        r, cfg = w.r, w.cfg
        acct = self.accounts[0]
        after = t0 >= w.release
        models = ([cfg.new_model] + ([cfg.models[0]] if r.random() < 0.5 else [])) if after else list(cfg.models)
        for ms in sorted(t0 + int(r.random() * (w.slice_ms - 5000)) for _ in range(n)):
            self.shared["item"] = item = self.shared.get("item", 0) + 1
            conv = w.k.benchmark(self.shared["suite"], item)
            for j, model in enumerate(models):
                at = ms + 700 * j
                w.emit(at, w.b.record(at, acct.id, acct.keys[0], acct.ip(), acct.client, model, conv, self.throttle),
                       False, acct.archetype)


class Proxy(Actor):
    """A reseller or proxy network: each request is a downstream customer's, or (hydra) the
    operator's own harvest. Styles vary per request because they are the customers' own."""

    def __init__(self, *a, harvest: tuple[float, dict, dict, dict, dict], **kw):
        super().__init__(*a, **kw)
        share, hk, hs, ok, os_ = harvest
        self.share = share
        self.mixes = [(list(d), list(_cumsum(d.values()))) for d in (hk, hs, ok, os_)]
        self._clients: dict[tuple[str, str], list[Client]] = {}

    def kind(self, r: random.Random) -> str:
        return ""  # chosen per request in `send`, together with the label

    def send(self, w: World, ms: int, acct: Account, ip: str, kind: str, turn: int, thread, **_) -> None:
        r = w.r
        harvest = r.random() < self.share
        (kn, kc), (sn, sc) = self.mixes[0:2] if harvest else self.mixes[2:4]
        kind = kn[bisect.bisect(kc, r.random() * kc[-1])]
        style = sn[bisect.bisect(sc, r.random() * sc[-1])]
        variants = self._clients.get((acct.id, style))
        if variants is None:  # a handful of customer set-ups per account and style
            variants = self._clients[(acct.id, style)] = [restyle(r, acct.client, style) for _ in range(4)]
        super().send(w, ms, acct, ip, kind, 0, None, client=variants[int(r.random() * 4)], distill=harvest)


def _cumsum(values) -> list[float]:
    total, out = 0.0, []
    for v in values:
        total += v
        out.append(total)
    return out


# ip behaviours -------------------------------------------------------------------------
def home_or(w: World, home: str, other: Callable[[], str], share: float) -> Callable[[], str]:
    return lambda: other() if w.r.random() < share else home


def from_pool(w: World, pool: list[str]) -> Callable[[], str]:
    return lambda: pool[w.r.randrange(len(pool))]


def fresh(w: World, kind: str, countries: tuple[str, ...]) -> Callable[[], str]:
    """A new exit per session (residential proxy networks rotate exits)."""
    return lambda: w.net.ip(kind, w.r.choice(countries))


def relay(w: World, n: int, active: float) -> list[tuple[int, int]]:
    """Active windows where a fraction of accounts works at a time and each one that goes
    quiet (banned, rotated out) is replaced by a fresh one: fail-over across the pool."""
    r, S = w.r, w.n_slices
    k = max(1, min(n, round(n * active)))
    life = max(4.0, k * S / n)
    wins: list[tuple[int, int] | None] = [None] * n
    heap = []
    for i in range(k):
        start = 0 if r.random() < 0.8 else r.randrange(S)
        wins[i] = (start, start + max(2, int(r.expovariate(1 / life))))
        heapq.heappush(heap, (wins[i][1], i))
    for i in range(k, n):
        end, _ = heapq.heappop(heap)
        start = min(end, S - 1) if end < S else r.randrange(S)
        wins[i] = (start, start + max(2, int(r.expovariate(1 / life))))
        heapq.heappush(heap, (wins[i][1], i))
    return [(a, min(b, S)) for a, b in wins]


def diurnal(w: World, tz: float, shape: str) -> int:
    return w.profile(("diurnal", tz, shape), lambda: schedule.diurnal(w.n_slices, w.spd, w.weekday0, tz, shape))


def campaign_profile(w: World, tz: float, emulate: float) -> int:
    """Flat 24/7 machine traffic, blended toward a human day as camouflage rises."""
    def make():
        flat = schedule.diurnal(w.n_slices, w.spd, w.weekday0, 0, "flat")
        return schedule.blend(flat, schedule.diurnal(w.n_slices, w.spd, w.weekday0, tz, "day"), emulate)
    return w.profile(("campaign", tz, round(emulate, 3)), make)


def kind_of(r: random.Random, mix: dict[str, float]) -> str:
    return r.choices(list(mix), list(mix.values()))[0]
