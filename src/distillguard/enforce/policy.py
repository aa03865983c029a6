"""Enforcement policy: one YAML file, validated at start-up so a typo fails loudly, not silently."""

from __future__ import annotations

import ipaddress
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .decision import Action

DEFAULT_POLICY = "default.yaml"
LINK_TYPES = ("ip", "prefix", "payment", "user_agent")


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and every bad field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StateConfig(_Strict):
    backend: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "dg:"
    # What to do when the shared state cannot be reached: fail_open decides on batch verdicts alone,
    # fail_closed throttles every request that is not allow-listed.
    on_error: Literal["fail_open", "fail_closed"] = "fail_open"
    socket_timeout_ms: int = Field(50, ge=1, le=5000)
    # After this many failures in a row, skip the state for retry_interval_s so requests do not each
    # wait for a timeout (a circuit breaker); one slow reply alone does not open it.
    failures_to_open: int = Field(3, ge=1, le=100)
    retry_interval_s: float = Field(2.0, ge=0, le=300)


class AllowList(_Strict):
    accounts: frozenset[str] = frozenset()
    orgs: frozenset[str] = frozenset()
    campaigns: frozenset[str] = frozenset()
    networks: tuple[str, ...] = ()

    @field_validator("networks")
    @classmethod
    def _cidrs(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for net in v:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"{net!r} is not an IP network (CIDR such as 10.0.0.0/8)") from None
        return v


class Online(_Strict):
    distinct_window_s: int = Field(86_400, ge=60, description="window of the distinct-account sketches")
    rate_window_s: int = Field(60, ge=1, description="window of the per-account rate and the throttle budgets")
    slot_s: int = Field(600, ge=60, description="activity slot for the no-sleep signal")


class Linking(_Strict):
    """Which campaign indicators catch accounts the last scan never saw."""
    types: tuple[Literal["ip", "prefix", "payment", "user_agent"], ...] = ("ip", "payment")
    # IPs of these network kinds are shared by unrelated people (homes behind carrier NAT, campuses,
    # offices), so they never link a new account to a campaign.
    ignore_ip_kinds: frozenset[str] = frozenset({"relay", "residential", "mobile", "education", "business", "private"})


class Safeguards(_Strict):
    max_tokens: int | None = Field(1024, ge=1)
    n: int | None = Field(1, ge=1)
    logprobs: bool = False  # False removes logprobs / top_logprobs
    reasoning_effort: Literal["minimal", "low", "medium"] | None = "low"
    reasoning: Literal["keep", "strip", "summarise"] = "strip"  # reasoning text in the answer
    summary_chars: int = Field(240, ge=40)


class Limit(_Strict):
    requests: int = Field(..., ge=1, description="requests per online.rate_window_s, shared campaign-wide")


class When(_Strict):
    """Conditions of a rule; all given ones must hold."""
    campaign_member: bool | None = None
    campaign_score_min: float | None = Field(None, ge=0, le=1)
    flagged: bool | None = None
    account_score_min: float | None = Field(None, ge=0, le=1)
    reasons_any: frozenset[str] | None = None
    new_account: bool | None = None
    linked_via_any: frozenset[Literal["ip", "prefix", "payment", "user_agent"]] | None = None
    ip_kind_in: frozenset[str] | None = None
    ip_accounts_min: int | None = Field(None, ge=1)
    template_accounts_min: int | None = Field(None, ge=1)
    ip_template_accounts_min: int | None = Field(None, ge=1)
    account_rate_min: int | None = Field(None, ge=1)
    active_slots_min: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _not_empty(self) -> "When":
        if not self.model_fields_set:
            raise ValueError("a rule needs at least one condition in 'when'")
        return self

    @property
    def online(self) -> bool:
        return any(getattr(self, f) is not None for f in ONLINE_FIELDS)


ONLINE_FIELDS = ("ip_accounts_min", "template_accounts_min", "ip_template_accounts_min", "account_rate_min",
                 "active_slots_min")


class Rule(_Strict):
    name: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]*$")
    when: When
    action: Action
    limit: Limit | None = None  # throttle only: the budget; within it the request passes
    within_limit: Literal["monitor", "safeguard"] = "safeguard"
    reason: str | None = Field(None, pattern=r"^[A-Z][A-Z0-9_]*$")  # reason code; default from the rule name

    @model_validator(mode="after")
    def _limit(self) -> "Rule":
        if self.action is Action.THROTTLE and self.limit is None:
            raise ValueError("a throttle rule needs 'limit: {requests: N}'")
        if self.action is not Action.THROTTLE and self.limit is not None:
            raise ValueError(f"'limit' only applies to throttle rules, not {self.action.value}")
        return self

    @property
    def code(self) -> str:
        return self.reason or self.name.upper().replace("-", "_")


class Policy(_Strict):
    version: Literal[1] = 1
    state: StateConfig = StateConfig()
    allow: AllowList = AllowList()
    online: Online = Online()
    linking: Linking = Linking()
    safeguards: Safeguards = Safeguards()
    rules: tuple[Rule, ...] = ()
    trust_account_header: bool = True
    key_accounts: dict[str, str] = {}  # API key -> account id, for the standalone proxy
    reference_secret_env: str = "DISTILLGUARD_REFERENCE_SECRET"
    # A passed step-up verification lapses after this many days (None: never); an account sold on or
    # taken over after its check must pass it again.
    verification_days: float | None = Field(None, gt=0)
    audit_log: Path | None = None

    @field_validator("rules")
    @classmethod
    def _unique(cls, v: tuple[Rule, ...]) -> tuple[Rule, ...]:
        names = [r.name for r in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(dup)}")
        return v


def _format(e: ValidationError, source: str) -> str:
    lines = [f"invalid policy {source}:"]
    for err in e.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (misspelt?)"
        lines.append(f"  {where}: {msg}")
    return "\n".join(lines)


def load_policy(source: str | Path | dict | Policy | None = None) -> Policy:
    """A validated policy from a YAML path, a dict, or the shipped default (None)."""
    if isinstance(source, Policy):
        return source
    name = "<dict>"
    if source is None:
        text = resources.files(__package__).joinpath("policies", DEFAULT_POLICY).read_text()
        source, name = yaml.safe_load(text), f"(shipped {DEFAULT_POLICY})"
    elif isinstance(source, (str, Path)):
        name = str(source)
        try:
            source = yaml.safe_load(Path(source).read_text())
        except OSError as e:
            raise PolicyError(f"cannot read policy {name}: {e.strerror}") from None
        except yaml.YAMLError as e:
            raise PolicyError(f"policy {name} is not valid YAML: {e}") from None
    if not isinstance(source, dict):
        raise PolicyError(f"policy {name} must be a mapping of settings, not {type(source).__name__}")
    try:
        return Policy.model_validate(source)
    except ValidationError as e:
        raise PolicyError(_format(e, name)) from None


def policy_summary(policy: Policy) -> list[str]:
    """One line per rule, for `check-policy`."""
    out = [f"state: {policy.state.backend} ({policy.state.on_error}); "
           f"{len(policy.allow.accounts) + len(policy.allow.orgs) + len(policy.allow.networks)} allow-list entries"]
    for r in policy.rules:
        cond = ", ".join(f"{k}={_show(getattr(r.when, k))}" for k in sorted(r.when.model_fields_set))
        extra = f" ({r.limit.requests}/{policy.online.rate_window_s}s, then {r.within_limit})" if r.limit else ""
        out.append(f"{r.name}: {cond} -> {r.action.value}{extra}")
    return out


def _show(v: Any) -> str:
    return ",".join(sorted(map(str, v))) if isinstance(v, frozenset) else str(v)
