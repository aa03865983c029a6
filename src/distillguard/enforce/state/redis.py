"""Shared state in Redis for a fleet of gateway replicas: one pipelined round trip per decision."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import redis
import redis.asyncio as aredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .base import Observation, Online, State, StateUnavailable, Windows, dumps, sliding

AUDIT_KEEP = 100_000
log = logging.getLogger("distillguard.enforce")


class RedisState(State):
    """HyperLogLogs (PFADD/PFCOUNT) for distinct accounts, INCR with TTL for rates and budgets, plain keys
    for overrides and verifications, a list for the audit trail.

    Timeouts are short and retries off: a slow Redis must cost a request milliseconds, not seconds. After
    `failures_to_open` failures in a row the state reports itself unavailable for `retry_interval_s`
    without trying (a circuit breaker), so a dead Redis costs nothing per request until it is probed
    again, while one slow reply on a busy host costs one request only."""

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, prefix: str = "dg:",
                 socket_timeout_ms: int = 50, retry_interval_s: float = 2.0, failures_to_open: int = 3) -> None:
        opts = dict(socket_timeout=socket_timeout_ms / 1000, socket_connect_timeout=socket_timeout_ms / 1000,
                    retry=Retry(NoBackoff(), 0), health_check_interval=0, decode_responses=True)
        self.url, self.prefix = url, prefix
        self._opts = opts
        self._sync = redis.Redis.from_url(url, **opts)
        self._async: aredis.Redis | None = None
        self._async_loop = None
        self._retry_interval, self._failures_to_open = retry_interval_s, failures_to_open
        self._down_until, self._failures = 0.0, 0

    # -- the decision round trip ------------------------------------------------------------------
    def _queue(self, pipe, obs: Observation, w: Windows) -> list[str]:
        """Queue the commands; return the names of the replies to read back, in order."""
        p, a, ts = self.prefix, obs.account_id, obs.ts
        d, r, day = int(ts // w.distinct_s), int(ts // w.rate_s), int(ts // 86_400)
        names: list[str] = []

        def distinct(name: str, key: str, member: str, window: int, ttl: int) -> None:
            cur, prev = f"{key}:{window}", f"{key}:{window - 1}"
            if obs.record:
                pipe.pfadd(cur, member)
                pipe.expire(cur, ttl)
                names.extend(("", ""))
            pipe.pfcount(cur, prev)
            names.append(name)

        def counter(name: str, key: str) -> None:
            cur, prev = f"{key}:{r}", f"{key}:{r - 1}"
            if obs.record:
                pipe.incr(cur)
                pipe.expire(cur, 2 * w.rate_s + 1)
                names.extend((name + ".cur", ""))
            else:
                pipe.get(cur)
                names.append(name + ".cur")
            pipe.get(prev)
            names.append(name + ".prev")

        ttl = 2 * w.distinct_s + 60
        if obs.ip:
            distinct("ip_accounts", f"{p}ipa:{obs.ip}", a, d, ttl)
        if obs.template:
            distinct("template_accounts", f"{p}tpa:{obs.template}", a, d, ttl)
            if obs.ip:
                distinct("ip_template_accounts", f"{p}ita:{obs.ip}:{obs.template}", a, d, ttl)
        counter("account_rate", f"{p}rate:{a}")
        if obs.budget:
            counter("budget_used", f"{p}bud:{obs.budget}")
        distinct("active_slots", f"{p}slot:{a}", str(int(ts // w.slot_s)), day, 2 * 86_400 + 60)
        pipe.mget(f"{p}ver:{a}", f"{p}ovr:account:{a}",
                  f"{p}ovr:campaign:{obs.campaign_id}" if obs.campaign_id else f"{p}ovr:campaign:")
        names.append("flags")
        return names

    @staticmethod
    def _parse(names: list[str], replies: list, obs: Observation, w: Windows) -> Online:
        out, raw = Online(), {}
        for name, value in zip(names, replies):
            if name:
                raw[name] = value
        for name in ("ip_accounts", "template_accounts", "ip_template_accounts", "active_slots"):
            if name in raw:
                setattr(out, name, int(raw[name]))
        for name in ("account_rate", "budget_used"):
            if name + ".cur" in raw:
                setattr(out, name, sliding(int(raw[name + ".cur"] or 0), int(raw[name + ".prev"] or 0),
                                           obs.ts, w.rate_s))
        ver, acc, camp = raw["flags"]
        out.verified = ver
        out.account_override = json.loads(acc) if acc else None
        out.campaign_override = json.loads(camp) if camp and obs.campaign_id else None
        return out

    def _check(self) -> None:
        if time.monotonic() < self._down_until:
            raise StateUnavailable(f"redis at {self.url} is paused after failures")

    def _failed(self, e: Exception) -> StateUnavailable:
        self._failures += 1
        if self._failures >= self._failures_to_open:
            # logged once per pause, not per request: a dead Redis must not flood the logs
            log.warning("redis at %s unreachable (%s); skipping it for %.1fs", self.url, e, self._retry_interval)
            self._down_until, self._failures = time.monotonic() + self._retry_interval, 0
        return StateUnavailable(f"redis at {self.url}: {e}")

    def _ok(self, online: Online) -> Online:
        self._failures = 0
        return online

    def observe(self, obs: Observation, w: Windows) -> Online:
        self._check()
        try:
            pipe = self._sync.pipeline(transaction=False)
            names = self._queue(pipe, obs, w)
            return self._ok(self._parse(names, pipe.execute(), obs, w))
        except redis.RedisError as e:
            raise self._failed(e) from e

    def _async_client(self) -> aredis.Redis:
        """The asyncio client of the running loop: its connections cannot be shared across loops."""
        loop = asyncio.get_running_loop()
        if self._async_loop is not loop:
            self._async, self._async_loop = aredis.Redis.from_url(self.url, **self._opts), loop
        return self._async

    async def aobserve(self, obs: Observation, w: Windows) -> Online:
        self._check()
        try:
            pipe = self._async_client().pipeline(transaction=False)
            names = self._queue(pipe, obs, w)
            return self._ok(self._parse(names, await pipe.execute(), obs, w))
        except (redis.RedisError, OSError) as e:
            raise self._failed(e) from e

    # -- analyst actions: rare, so plain calls; they raise when Redis is down ---------------------
    def _call(self, fn, *args):
        try:
            return fn(*args)
        except redis.RedisError as e:
            raise StateUnavailable(f"redis at {self.url}: {e}") from e

    def set_override(self, scope: str, target: str, record: dict | None) -> None:
        key = f"{self.prefix}ovr:{scope}:{target}"
        self._call(self._sync.delete, key) if record is None else self._call(self._sync.set, key, dumps(record))

    def set_verified(self, account_id: str, reference: str | None) -> None:
        key = f"{self.prefix}ver:{account_id}"
        self._call(self._sync.delete, key) if reference is None else self._call(self._sync.set, key, reference)

    def append_audit(self, entry: dict) -> None:
        pipe = self._sync.pipeline(transaction=True)
        pipe.lpush(f"{self.prefix}audit", dumps(entry))
        pipe.ltrim(f"{self.prefix}audit", 0, AUDIT_KEEP - 1)
        self._call(pipe.execute)

    def audit(self, limit: int = 100) -> list[dict]:
        return [json.loads(x) for x in self._call(self._sync.lrange, f"{self.prefix}audit", 0, limit - 1)]

    def close(self) -> None:
        self._sync.close()
