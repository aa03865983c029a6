"""What a gateway knows about one request at decision time, in one value every adapter builds."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

ACCOUNT_HEADER = "x-distillguard-account"
ORG_HEADER = "x-distillguard-org"
PAYMENT_HEADER = "x-distillguard-payment"

# A cheap template key: the fixed wording of a prompt with its slots masked. The batch scan clusters
# templates with MinHash; at request time a hash of the masked opening is enough to count how many
# accounts send the same form, and costs a few microseconds.
_MASKS = (
    (re.compile(r"https?://\S+"), " u "),
    (re.compile(r"\S+@\S+\.\w+"), " e "),
    (re.compile(r"\"[^\"\n]*\"|'[^'\n]*'|“[^”\n]*”|`[^`]*`"), " q "),
    (re.compile(r"\d+(?:[.,]\d+)*"), " 0 "),
)
_WORD = re.compile(r"\w+")
TEMPLATE_WORDS = 10  # the opening words that carry the template; slots usually come later
TEMPLATE_MIN_WORDS = 4  # shorter prompts ("hi", "continue") say nothing about a template


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI parts or Anthropic blocks
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def template_key(body: Mapping[str, Any]) -> str | None:
    """Masked hash of the system prompt and the opening of the last user turn; None when too short.
    Chat completions and Anthropic messages (`system`, `messages`), the Responses API (`instructions`,
    `input` as text or as messages) and legacy completions (`prompt`)."""
    system, user = _text(body.get("system")) or _text(body.get("instructions")), ""
    turns = body.get("messages") or (body["input"] if isinstance(body.get("input"), list) else ())
    for m in turns:
        if not isinstance(m, dict):
            continue
        if m.get("role") in ("system", "developer"):
            system = _text(m.get("content"))
        elif m.get("role") == "user":
            user = _text(m.get("content"))
    for prompt in (body.get("input"), body.get("prompt")):
        if not user and isinstance(prompt, str):
            user = prompt
    text = user[:400].lower()
    for pattern, repl in _MASKS:
        text = pattern.sub(repl, text)
    words = _WORD.findall(text)[:TEMPLATE_WORDS]
    if len(words) < TEMPLATE_MIN_WORDS:
        return None
    key = " ".join(words) + "\x00" + " ".join(_WORD.findall(system[:300].lower()))
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def key_account(api_key: str) -> str:
    """A stable account id for an API key nobody mapped: never the key itself."""
    return "key:" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


def _bearer(headers: Mapping[str, str]) -> str | None:
    auth = headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return headers.get("x-api-key") or headers.get("api-key") or None


@dataclass(slots=True)
class RequestContext:
    account_id: str
    client_ip: str | None = None
    org_id: str | None = None
    model: str | None = None
    user_agent: str | None = None
    api_key: str | None = None
    payment_fingerprint: str | None = None
    body: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    ts: float = field(default_factory=time.time)
    template: str | None = None  # filled from body when not given

    def __post_init__(self) -> None:
        if not isinstance(self.account_id, str) or not self.account_id:
            raise ValueError("RequestContext needs a non-empty account_id")
        if self.template is None and self.body:
            self.template = template_key(self.body)

    @classmethod
    def from_openai(cls, body: Mapping[str, Any] | None, headers: Mapping[str, str] | None = None,
                    client_ip: str | None = None, *, account_id: str | None = None,
                    key_accounts: Mapping[str, str] | None = None, trust_headers: bool = True,
                    ts: float | None = None, **extra: Any) -> "RequestContext":
        """Build a context from an OpenAI-style body and the HTTP headers.

        The account is, in order: `account_id`; the `x-distillguard-account` header (only with
        `trust_headers`, i.e. when an upstream hop sets it and strips it from clients); the API key's
        account in `key_accounts`; a hash of the API key. Without any of these it is an error."""
        body = dict(body or {})
        headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
        api_key = _bearer(headers)
        account = account_id or (headers.get(ACCOUNT_HEADER) if trust_headers else None)
        if not account and api_key:
            account = (key_accounts or {}).get(api_key) or key_account(api_key)
        if not account:
            raise ValueError(f"no account for this request: pass account_id, the {ACCOUNT_HEADER} header "
                             "or an API key (Authorization: Bearer ...)")
        return cls(account_id=account, client_ip=client_ip, model=body.get("model"),
                   org_id=extra.pop("org_id", None) or (headers.get(ORG_HEADER) if trust_headers else None),
                   payment_fingerprint=extra.pop("payment_fingerprint", None)
                   or (headers.get(PAYMENT_HEADER) if trust_headers else None),
                   user_agent=headers.get("user-agent"), api_key=api_key, body=body, headers=headers,
                   ts=time.time() if ts is None else ts, **extra)
