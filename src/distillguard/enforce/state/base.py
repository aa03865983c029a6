"""The online state interface: one call per decision that records the request and reads back its counts."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass


class StateUnavailable(RuntimeError):
    """The shared state could not be reached in time; the engine applies the policy's on_error."""


@dataclass(frozen=True, slots=True)
class Windows:
    distinct_s: int = 86_400   # distinct-account sketches; counted over this window and the one before
    rate_s: int = 60           # request rates and throttle budgets (sliding, two fixed windows blended)
    slot_s: int = 600          # activity slots for the no-sleep signal


@dataclass(slots=True)
class Observation:
    """What one request contributes. `budget` is the throttle scope (a campaign, else the account)."""
    account_id: str
    ts: float
    ip: str | None = None
    template: str | None = None
    budget: str | None = None
    campaign_id: str | None = None
    record: bool = True  # False reads the counts without counting this request (post-call look-ups)


@dataclass(slots=True)
class Online:
    """Counts as of this request (this request included when recorded)."""
    ip_accounts: int = 0            # distinct accounts on this IP
    template_accounts: int = 0      # distinct accounts sending this template
    ip_template_accounts: int = 0   # distinct accounts on this IP sending this template
    account_rate: float = 0.0       # this account's requests in the last rate window
    budget_used: float = 0.0        # the budget scope's requests in the last rate window
    active_slots: int = 0           # distinct activity slots of this account over two days
    verified: str | None = None     # the step-up reference this account was verified with
    account_override: dict | None = None
    campaign_override: dict | None = None


def sliding(cur: int, prev: int, ts: float, window: int) -> float:
    """Requests in the last `window` seconds from two fixed windows, weighting the previous by overlap."""
    return cur + prev * (1.0 - (ts % window) / window)


def dumps(record: dict) -> str:
    return json.dumps(record, sort_keys=True, default=str)


class State(ABC):
    """Counters, sketches, overrides and the audit trail of the enforcement engine."""

    @abstractmethod
    def observe(self, obs: Observation, windows: Windows) -> Online: ...

    async def aobserve(self, obs: Observation, windows: Windows) -> Online:
        return self.observe(obs, windows)

    @abstractmethod
    def set_override(self, scope: str, target: str, record: dict | None, ttl_s: float | None = None) -> None:
        """scope 'account' or 'campaign'; record None removes the override; with `ttl_s` it lapses (and is
        gone from the state) after that many seconds."""

    @abstractmethod
    def set_verified(self, account_id: str, reference: str | None, ttl_s: float | None = None) -> None:
        """reference None removes the verification; with `ttl_s` it lapses after that many seconds."""

    @abstractmethod
    def append_audit(self, entry: dict) -> None: ...

    @abstractmethod
    def audit(self, limit: int = 100) -> list[dict]:
        """Newest first."""

    def close(self) -> None:
        pass
