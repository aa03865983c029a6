"""The decision value every adapter acts on, and the generic error a client sees."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping


class Action(str, Enum):
    """Graduated actions, mildest first; when several rules match, the most severe wins."""
    ALLOW = "allow"
    MONITOR = "monitor"        # shadow: pass, log the decision
    SAFEGUARD = "safeguard"    # pass with the request capped and reasoning withheld from the answer
    THROTTLE = "throttle"      # 429 until the (campaign-wide) budget refills
    STEP_UP = "step_up"        # 403 until the account passes verification
    SUSPEND = "suspend"        # 403

    @property
    def severity(self) -> int:
        return _ORDER[self]


_ORDER = {a: i for i, a in enumerate(Action)}
_STATUS = {Action.THROTTLE: 429, Action.STEP_UP: 403, Action.SUSPEND: 403}

# What the client reads. Deliberately the same for every rule and without scores or reason codes, so a
# rejected operator learns nothing about what tripped; the reference lets support find the decision.
_MESSAGES = {
    Action.THROTTLE: ("rate_limit_exceeded", "Too many requests. Please retry later."),
    Action.STEP_UP: ("verification_required",
                     "Additional account verification is required to continue. "
                     "Contact support and quote this reference."),
    Action.SUSPEND: ("request_denied",
                     "This request cannot be processed. Contact support and quote this reference."),
}


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reasons: tuple[str, ...] = ()
    reference: str = ""
    campaign_id: str | None = None
    safeguards: Mapping[str, Any] = field(default_factory=dict)
    retry_after: int | None = None
    rule: str | None = None

    @property
    def blocked(self) -> bool:
        return self.action in _STATUS

    @property
    def status_code(self) -> int:
        """HTTP status for the client: 200 when the request goes through."""
        return _STATUS.get(self.action, 200)

    def error_body(self) -> dict:
        """OpenAI-style error body for a blocked request: a generic message and the support reference."""
        if not self.blocked:
            raise ValueError(f"a {self.action.value} decision lets the request through; it has no error body")
        code, message = _MESSAGES[self.action]
        return {"error": {"message": f"{message} Reference: {self.reference}", "type": code, "code": code,
                          "reference": self.reference}}

    def error_headers(self) -> dict[str, str]:
        return {"retry-after": str(self.retry_after)} if self.retry_after else {}

    def to_dict(self) -> dict:
        """Full decision for trusted callers (logs, the webhook's gateway); never for the client."""
        return {"action": self.action.value, "reasons": list(self.reasons), "reference": self.reference,
                "campaign_id": self.campaign_id, "safeguards": dict(self.safeguards),
                "retry_after": self.retry_after, "rule": self.rule, "status": self.status_code}

    @classmethod
    def from_dict(cls, d: dict) -> "Decision":
        """The inverse of `to_dict`, for adapters that carry a decision between pre- and post-call hooks."""
        try:
            return cls(Action(d["action"]), tuple(d.get("reasons") or ()), d.get("reference") or "",
                       d.get("campaign_id"), dict(d.get("safeguards") or {}), d.get("retry_after"), d.get("rule"))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"not a decision: {e}") from None
