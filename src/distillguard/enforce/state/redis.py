"""Shared state in Redis for a fleet of gateway replicas: one round trip (one script call) per decision."""

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

# Everything a decision records and reads, as one command: one round trip, and one reply to parse
# instead of some twenty. KEYS come in pairs (this window, the one before) and end with the three flag
# keys; ARGV[1] is 1 to record, then one group per pair: "d" member ttl for a distinct-count sketch,
# "c" ttl for a counter; "f" reads the flags. The reply has one entry per name `_request` lists.
_OBSERVE = """
local record, out, k, a = ARGV[1] == '1', {}, 1, 2
while ARGV[a] ~= 'f' do
  if ARGV[a] == 'd' then
    if record then
      redis.call('PFADD', KEYS[k], ARGV[a + 1])
      redis.call('EXPIRE', KEYS[k], ARGV[a + 2])
    end
    out[#out + 1] = redis.call('PFCOUNT', KEYS[k], KEYS[k + 1])
    a = a + 3
  else
    if record then
      out[#out + 1] = redis.call('INCR', KEYS[k])
      redis.call('EXPIRE', KEYS[k], ARGV[a + 1])
    else
      out[#out + 1] = redis.call('GET', KEYS[k])
    end
    out[#out + 1] = redis.call('GET', KEYS[k + 1])
    a = a + 2
  end
  k = k + 2
end
for _, v in ipairs(redis.call('MGET', KEYS[k], KEYS[k + 1], KEYS[k + 2])) do out[#out + 1] = v end
return out
"""
log = logging.getLogger("distillguard.enforce")


def _ms(ttl_s: float | None) -> int | None:
    """A lifetime in seconds as Redis's PX (at least 1 ms), or None for no expiry."""
    return None if ttl_s is None else max(1, int(ttl_s * 1000))


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
        # Sent by hash (EVALSHA); loaded again after a Redis restart.
        self._observe = self._sync.register_script(_OBSERVE)
        self._async: aredis.Redis | None = None
        self._aobserve = None
        self._async_loop = None
        self._retry_interval, self._failures_to_open = retry_interval_s, failures_to_open
        self._down_until, self._failures = 0.0, 0

    # -- the decision round trip ------------------------------------------------------------------
    def _request(self, obs: Observation, w: Windows) -> tuple[list[str], list, list[str]]:
        """Keys, arguments and reply names of the one script call that records and reads a request."""
        p, a, ts = self.prefix, obs.account_id, obs.ts
        d, r, day = int(ts // w.distinct_s), int(ts // w.rate_s), int(ts // 86_400)
        keys: list[str] = []
        args: list = [1 if obs.record else 0]
        names: list[str] = []

        def distinct(name: str, key: str, member: str, window: int, ttl: int) -> None:
            keys.extend((f"{key}:{window}", f"{key}:{window - 1}"))
            args.extend(("d", member, ttl))
            names.append(name)

        def counter(name: str, key: str) -> None:
            keys.extend((f"{key}:{r}", f"{key}:{r - 1}"))
            args.extend(("c", 2 * w.rate_s + 1))
            names.extend((name + ".cur", name + ".prev"))

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
        keys.extend((f"{p}ver:{a}", f"{p}ovr:account:{a}",
                     f"{p}ovr:campaign:{obs.campaign_id}" if obs.campaign_id else f"{p}ovr:campaign:"))
        args.append("f")
        names.extend(("verified", "account_override", "campaign_override"))
        return keys, args, names

    @staticmethod
    def _parse(names: list[str], replies: list, obs: Observation, w: Windows) -> Online:
        out, raw = Online(), dict(zip(names, replies))
        for name in ("ip_accounts", "template_accounts", "ip_template_accounts", "active_slots"):
            if name in raw:
                setattr(out, name, int(raw[name]))
        for name in ("account_rate", "budget_used"):
            if name + ".cur" in raw:
                setattr(out, name, sliding(int(raw[name + ".cur"] or 0), int(raw[name + ".prev"] or 0),
                                           obs.ts, w.rate_s))
        acc, camp = raw["account_override"], raw["campaign_override"]
        out.verified = raw["verified"]
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
            keys, args, names = self._request(obs, w)
            return self._ok(self._parse(names, self._observe(keys, args), obs, w))
        except redis.RedisError as e:
            raise self._failed(e) from e

    def _async_script(self):
        """The script on the running loop's asyncio client: its connections cannot be shared across loops."""
        loop = asyncio.get_running_loop()
        if self._async_loop is not loop:
            self._async, self._async_loop = aredis.Redis.from_url(self.url, **self._opts), loop
            self._aobserve = self._async.register_script(_OBSERVE)
        return self._aobserve

    async def aobserve(self, obs: Observation, w: Windows) -> Online:
        self._check()
        try:
            keys, args, names = self._request(obs, w)
            replies = await self._async_script()(keys, args)
            return self._ok(self._parse(names, replies, obs, w))
        except (redis.RedisError, OSError) as e:
            raise self._failed(e) from e

    # -- analyst actions: rare, so plain calls; they raise when Redis is down ---------------------
    def _call(self, fn, *args):
        try:
            return fn(*args)
        except redis.RedisError as e:
            raise StateUnavailable(f"redis at {self.url}: {e}") from e

    def set_override(self, scope: str, target: str, record: dict | None, ttl_s: float | None = None) -> None:
        key = f"{self.prefix}ovr:{scope}:{target}"
        if record is None:
            self._call(self._sync.delete, key)
        else:
            self._call(lambda: self._sync.set(key, dumps(record), px=_ms(ttl_s)))

    def set_verified(self, account_id: str, reference: str | None, ttl_s: float | None = None) -> None:
        key = f"{self.prefix}ver:{account_id}"
        if reference is None:
            self._call(self._sync.delete, key)
        else:  # Redis lets the key lapse: every replica stops honouring it at once
            self._call(lambda: self._sync.set(key, reference, px=_ms(ttl_s)))

    def append_audit(self, entry: dict) -> None:
        pipe = self._sync.pipeline(transaction=True)
        pipe.lpush(f"{self.prefix}audit", dumps(entry))
        pipe.ltrim(f"{self.prefix}audit", 0, AUDIT_KEEP - 1)
        self._call(pipe.execute)

    def audit(self, limit: int = 100) -> list[dict]:
        return [json.loads(x) for x in self._call(self._sync.lrange, f"{self.prefix}audit", 0, limit - 1)]

    def close(self) -> None:
        self._sync.close()
