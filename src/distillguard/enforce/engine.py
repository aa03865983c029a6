"""The policy engine: batch verdicts + online counts + analyst actions -> one Decision per request.

Per request it does dictionary look-ups on the last scan's verdicts, one state round trip (record the
request, read its counts and the analyst flags) and a walk over a handful of rules; nothing else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import os
import secrets
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable

from . import safeguards as sg
from .context import RequestContext
from .decision import Action, Decision
from .policy import Policy, Rule, When, load_policy
from .state import MemoryState, Observation, Online, State, StateUnavailable, Windows
from .verdicts import Verdicts, ip_prefix, load_verdicts

log = logging.getLogger("distillguard.enforce")
OVERRIDE_ACTIONS = (Action.ALLOW, Action.MONITOR, Action.SAFEGUARD, Action.STEP_UP, Action.SUSPEND)


@dataclass(slots=True)
class Facts:
    """What the last scan says about this request's account."""
    score: float = 0.0
    flagged: bool = False
    reasons: tuple[str, ...] = ()
    known: bool = False            # the account was in the scan
    campaign_id: str | None = None
    campaign_score: float = 0.0
    member: bool = False           # the scan put the account in the campaign
    linked_via: frozenset[str] = frozenset()  # indicators that tie an outside account to the campaign


@lru_cache(maxsize=65_536)
def _ip_kind(ip: str) -> str:
    import iporigin  # offline lookup; never iporigin.online

    kind = iporigin.classify(ip).kind
    return "private" if kind == "reserved" else kind


def _match(w: When, f: Facts, o: Online | None, ip: str | None) -> bool:
    if w.campaign_member is not None and (f.member and f.campaign_id is not None) != w.campaign_member:
        return False
    if w.campaign_score_min is not None and (f.campaign_id is None or f.campaign_score < w.campaign_score_min):
        return False
    if w.flagged is not None and f.flagged != w.flagged:
        return False
    if w.account_score_min is not None and f.score < w.account_score_min:
        return False
    if w.reasons_any is not None and w.reasons_any.isdisjoint(f.reasons):
        return False
    if w.new_account is not None and f.known == w.new_account:
        return False
    if w.linked_via_any is not None and w.linked_via_any.isdisjoint(f.linked_via):
        return False
    if w.ip_kind_in is not None and (not ip or _ip_kind(ip) not in w.ip_kind_in):
        return False
    if w.online:
        if o is None:  # counts unknown (state down): an online condition cannot hold
            return False
        if w.ip_accounts_min is not None and o.ip_accounts < w.ip_accounts_min:
            return False
        if w.template_accounts_min is not None and o.template_accounts < w.template_accounts_min:
            return False
        if w.ip_template_accounts_min is not None and o.ip_template_accounts < w.ip_template_accounts_min:
            return False
        if w.account_rate_min is not None and o.account_rate < w.account_rate_min:
            return False
        if w.active_slots_min is not None and o.active_slots < w.active_slots_min:
            return False
    return True


class Engine:
    def __init__(self, policy: Policy, state: State | None = None, *, secret: bytes | None = None,
                 on_decision: Callable[[RequestContext, Decision], None] | None = None) -> None:
        self.policy = policy
        self.state = state if state is not None else self._state_from(policy)
        self.verdicts = Verdicts()
        self.on_decision = on_decision
        env = os.environ.get(policy.reference_secret_env)
        # Step-up references must match across replicas: set the same secret on all of them.
        self._secret = secret or (env.encode() if env else secrets.token_bytes(32))
        if not (secret or env) and policy.state.backend == "redis":
            log.warning("$%s is not set: step-up references will differ between replicas",
                        policy.reference_secret_env)
        self._windows = Windows(policy.online.distinct_window_s, policy.online.rate_window_s,
                                policy.online.slot_s)
        self._networks = tuple(ipaddress.ip_network(n, strict=False) for n in policy.allow.networks)
        self._safeguards = MappingProxyType(sg.rewrites(policy.safeguards))  # shared by decisions: read-only
        self._audit_lock = threading.Lock()

    @staticmethod
    def _state_from(policy: Policy) -> State:
        if policy.state.backend == "redis":
            from .state.redis import RedisState
            return RedisState(policy.state.redis_url, prefix=policy.state.key_prefix,
                              socket_timeout_ms=policy.state.socket_timeout_ms,
                              retry_interval_s=policy.state.retry_interval_s,
                              failures_to_open=policy.state.failures_to_open)
        return MemoryState()

    @classmethod
    def from_config(cls, source: str | Path | dict | Policy | None = None, *, state: State | None = None,
                    scan: str | Path | None = None, **kw: Any) -> "Engine":
        """An engine from a policy file or dict (None: the shipped default); raises PolicyError."""
        engine = cls(load_policy(source), state, **kw)
        if scan is not None:
            engine.load_scan(scan)
        return engine

    # -- batch verdicts ---------------------------------------------------------------------------
    def load_scan(self, scan_dir: str | Path, *, use_workspace: bool = True) -> dict[str, int]:
        """Swap in the verdicts of a scan output directory; requests in flight keep the old ones."""
        self.verdicts = load_verdicts(scan_dir, self.policy.linking, use_workspace=use_workspace)
        v = self.verdicts
        return {"accounts": len(v.accounts), "flagged": sum(a.flagged for a in v.accounts.values()),
                "campaigns": len(v.campaigns), "links": len(v.links)}

    def _facts(self, ctx: RequestContext) -> Facts:
        v = self.verdicts
        f = Facts()
        av = v.accounts.get(ctx.account_id)
        if av is not None:
            f.known, f.score, f.flagged, f.reasons = True, av.score, av.flagged, av.reasons
            if av.campaign_id and av.campaign_id in v.campaigns:
                f.campaign_id, f.member = av.campaign_id, True
        if f.campaign_id is None and v.links:
            via, best = set(), None
            for kind, value in (("ip", ctx.client_ip), ("payment", ctx.payment_fingerprint),
                                ("user_agent", ctx.user_agent),
                                ("prefix", ip_prefix(ctx.client_ip) if ctx.client_ip else None)):
                cid = v.link(kind, value)
                if cid is not None:
                    via.add(kind)
                    if best is None or v.campaigns[cid].score > v.campaigns[best].score:
                        best = cid
            if best is not None:
                f.campaign_id, f.linked_via = best, frozenset(via)
        if f.campaign_id is not None:
            f.campaign_score = v.campaigns[f.campaign_id].score
        return f

    def _allow_listed(self, ctx: RequestContext, f: Facts) -> bool:
        a = self.policy.allow
        if ctx.account_id in a.accounts or (ctx.org_id and ctx.org_id in a.orgs) or \
                (f.campaign_id and f.campaign_id in a.campaigns):
            return True
        if self._networks and ctx.client_ip:
            try:
                addr = ipaddress.ip_address(ctx.client_ip)
            except ValueError:
                return False
            return any(addr in n for n in self._networks)
        return False

    # -- deciding ---------------------------------------------------------------------------------
    def _prepare(self, ctx: RequestContext, record: bool) -> tuple[Facts, Observation | None]:
        f = self._facts(ctx)
        if self._allow_listed(ctx, f):  # not counted either: it must not push a shared IP over a threshold
            return f, None
        budget = ("c:" + f.campaign_id) if f.campaign_id else ("a:" + ctx.account_id)
        return f, Observation(ctx.account_id, ctx.ts, ctx.client_ip, ctx.template, budget, f.campaign_id, record)

    def decide(self, ctx: RequestContext, *, record: bool = True) -> Decision:
        """The action for this request. `record=False` reads without counting it (post-call hooks)."""
        f, obs = self._prepare(ctx, record)
        if obs is None:
            return self._emit(ctx, Decision(Action.ALLOW, ("ALLOWLISTED",), campaign_id=f.campaign_id))
        try:
            online = self.state.observe(obs, self._windows)
        except StateUnavailable:  # the state logs its own outages, once per pause
            online = None
        return self._emit(ctx, self._evaluate(ctx, f, online))

    async def adecide(self, ctx: RequestContext, *, record: bool = True) -> Decision:
        """`decide` for async gateways: the state round trip does not block the event loop."""
        f, obs = self._prepare(ctx, record)
        if obs is None:
            return self._emit(ctx, Decision(Action.ALLOW, ("ALLOWLISTED",), campaign_id=f.campaign_id))
        try:
            online = await self.state.aobserve(obs, self._windows)
        except StateUnavailable:  # the state logs its own outages, once per pause
            online = None
        return self._emit(ctx, self._evaluate(ctx, f, online))

    def _evaluate(self, ctx: RequestContext, f: Facts, o: Online | None) -> Decision:
        cid = f.campaign_id
        # Analyst actions first; the account's own outranks its campaign's (clearing one member of a
        # suspended campaign lets that member through); one past its `until` is as good as removed.
        live = [] if o is None else [r for r in (o.account_override, o.campaign_override)
                                     if r is not None and r.get("until", ctx.ts) >= ctx.ts]
        override = live[0] if live else None
        if override is not None:
            action = Action(override["action"])
            code = "CLEARED" if action is Action.ALLOW else "ANALYST_OVERRIDE"
            return self._decision(ctx, action, (code,), cid, None)
        best: tuple[Action, Rule | None] = (Action.ALLOW, None)
        codes: list[tuple[int, str]] = []
        retry = None
        verified_skip = False
        for rule in self.policy.rules:
            if not _match(rule.when, f, o, ctx.client_ip):
                continue
            action = rule.action
            if action is Action.STEP_UP and o is not None and o.verified:
                verified_skip = True
                continue
            if action is Action.THROTTLE:
                if o is not None and o.budget_used > rule.limit.requests:
                    rate_s = self._windows.rate_s
                    retry = max(1, math.ceil(rate_s - ctx.ts % rate_s))
                else:
                    action = Action(rule.within_limit)
            codes.append((action.severity, rule.code))
            if action.severity > best[0].severity:
                best = (action, rule)
        action, rule = best
        reasons = [c for _, c in sorted(codes, key=lambda x: -x[0])]
        if verified_skip:
            reasons.append("VERIFIED")
        if o is None:
            reasons.append("STATE_UNAVAILABLE")
            if self.policy.state.on_error == "fail_closed" and action.severity < Action.THROTTLE.severity:
                action, rule = Action.THROTTLE, None
                retry = max(1, math.ceil(self.policy.state.retry_interval_s))
        return self._decision(ctx, action, tuple(reasons), cid, rule,
                              retry if action is Action.THROTTLE else None)

    def _decision(self, ctx: RequestContext, action: Action, reasons: tuple[str, ...], cid: str | None,
                  rule: Rule | None, retry: int | None = None) -> Decision:
        if action is Action.ALLOW:
            return Decision(action, reasons, campaign_id=cid)
        ref = self.step_up_reference(ctx.account_id) if action is Action.STEP_UP else self._new_reference()
        return Decision(action, reasons, ref, cid, self._safeguards if action is Action.SAFEGUARD else {},
                        retry, rule.name if rule else None)

    def _emit(self, ctx: RequestContext, d: Decision) -> Decision:
        if d.action is not Action.ALLOW and log.isEnabledFor(logging.INFO):
            log.info("decision %s", json.dumps({"account_id": ctx.account_id, "client_ip": ctx.client_ip,
                                                **d.to_dict()}))
        if self.on_decision is not None:
            self.on_decision(ctx, d)
        return d

    # -- references and step-up -------------------------------------------------------------------
    @staticmethod
    def _new_reference() -> str:
        return "DG-" + base64.b32encode(secrets.token_bytes(10)).decode()[:16]

    def step_up_reference(self, account_id: str) -> str:
        """Stable per account (a client retrying sees the same one), unforgeable without the secret."""
        mac = hmac.new(self._secret, b"step-up\x00" + account_id.encode(), hashlib.sha256).digest()
        return "DG-" + base64.b32encode(mac[:10]).decode()[:16]

    def mark_verified(self, account_id: str, reference: str | None, analyst: str = "verification",
                      note: str = "") -> None:
        """Record that the account passed step-up verification; step-up rules then skip it (for the policy's
        `verification_days`, when set). The reference, when given, must be the one this account was shown."""
        if reference is not None and not hmac.compare_digest(reference, self.step_up_reference(account_id)):
            raise ValueError(f"reference {reference!r} was not issued to account {account_id!r}")
        days = self.policy.verification_days
        self.state.set_verified(account_id, reference or "analyst", None if days is None else days * 86_400)
        self._audit("verify", "account", account_id, analyst, note, reference=reference)

    # -- analyst actions (each recorded in the audit trail) ---------------------------------------
    def _scope(self, target: str, scope: str | None) -> str:
        if scope is None:
            return "campaign" if target in self.verdicts.campaigns else "account"
        if scope not in ("account", "campaign"):
            raise ValueError(f"scope must be 'account' or 'campaign', not {scope!r}")
        return scope

    def override(self, target: str, action: Action | str, analyst: str, note: str, *,
                 scope: str | None = None, expires_in_s: float | None = None) -> dict:
        """Force an action on an account or a whole campaign until removed, or for `expires_in_s` seconds."""
        action = Action(action)
        if action not in OVERRIDE_ACTIONS:
            raise ValueError(f"an override cannot be {action.value}: throttling needs a budget; "
                             f"choose one of {', '.join(a.value for a in OVERRIDE_ACTIONS)}")
        if not analyst or not note:
            raise ValueError("an override needs the analyst and a note saying why")
        if expires_in_s is not None and not expires_in_s > 0:
            raise ValueError(f"an override's lifetime must be positive, not {expires_in_s}")
        scope = self._scope(target, scope)
        now = time.time()
        until = {} if expires_in_s is None else {"until": now + expires_in_s}
        # `until` is read against each request's time (a replay of old logs honours it as it was); the state
        # also lets the record lapse, so lapsed overrides do not pile up in a fleet's Redis
        self.state.set_override(scope, target, {"action": action.value, "analyst": analyst, "note": note,
                                                "at": now, **until}, ttl_s=expires_in_s)
        return self._audit("override", scope, target, analyst, note, action=action.value, **until)

    def clear(self, target: str, analyst: str, note: str, *, scope: str | None = None,
              expires_in_s: float | None = None) -> dict:
        """Appeal upheld: the account (or every account of the campaign) is allowed from now on (for
        `expires_in_s` seconds, when given: a lab cleared for its study, not for ever)."""
        entry = self.override(target, Action.ALLOW, analyst, note, scope=scope, expires_in_s=expires_in_s)
        entry["event"] = "clear"
        return entry

    def remove_override(self, target: str, analyst: str, note: str, *, scope: str | None = None) -> dict:
        scope = self._scope(target, scope)
        self.state.set_override(scope, target, None)
        return self._audit("remove_override", scope, target, analyst, note)

    def _audit(self, event: str, scope: str, target: str, analyst: str, note: str, **extra: Any) -> dict:
        entry = {"at": time.time(), "event": event, "scope": scope, "target": target, "analyst": analyst,
                 "note": note, **extra}
        if scope == "campaign" and target in self.verdicts.campaigns:
            entry["accounts"] = len(self.verdicts.campaigns[target].accounts)
        self.state.append_audit(entry)
        if self.policy.audit_log is not None:
            with self._audit_lock, open(self.policy.audit_log, "a") as fh:
                fh.write(json.dumps(entry, sort_keys=True) + "\n")
        return entry

    def audit(self, limit: int = 100) -> list[dict]:
        return self.state.audit(limit)

    # -- safeguards -------------------------------------------------------------------------------
    def apply_safeguards(self, body: dict, decision: Decision) -> dict:
        """The request body with the decision's caps applied (a copy; unchanged when there are none)."""
        return sg.rewrite_request(body, decision.safeguards)

    def observe_response(self, ctx: RequestContext, response_body: dict,
                         decision: Decision | None = None) -> dict:
        """The response with output safeguards applied. Without the pre-call decision, it is looked up
        again without counting the request twice."""
        decision = decision if decision is not None else self.decide(ctx, record=False)
        return sg.rewrite_response(response_body, decision.safeguards)

    def observe_chunk(self, chunk: dict, decision: Decision) -> dict:
        """One parsed SSE chunk with output safeguards applied (reasoning deltas dropped)."""
        return sg.rewrite_response(chunk, decision.safeguards, stream=True)

    def close(self) -> None:
        self.state.close()
