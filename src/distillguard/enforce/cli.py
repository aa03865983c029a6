"""`distillguard enforce ...`: serve the proxy or the webhook, check a policy, verify or clear accounts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional

import typer
from rich.console import Console
from rich.markup import escape

# Modules that pull in FastAPI, pydantic or redis are imported inside the commands: `distillguard --help`
# stays fast.
app = typer.Typer(help="Real-time enforcement: policies, proxy, decision webhook, analyst actions.",
                  no_args_is_help=True, add_completion=False)
console = Console()
err = Console(stderr=True)

PolicyOpt = typer.Option(None, "--policy", "-p", help="Policy YAML (default: the shipped default policy).")
ScanOpt = typer.Option(None, "--scan", "-s", help="Scan output directory whose verdicts to enforce.")
UrlOpt = typer.Option(None, "--url", help="A running proxy or webhook (its admin endpoints).")
TokenOpt = typer.Option(None, "--token", help="Admin token (default: $DISTILLGUARD_ADMIN_TOKEN).")


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(2)


def _engine(policy: Optional[Path], scan: Optional[Path]):
    from .engine import Engine
    from .policy import PolicyError

    try:
        return Engine.from_config(policy, scan=scan)
    except PolicyError as e:
        _fail(str(e))
    except (OSError, ValueError) as e:
        _fail(f"cannot load the scan: {e}")


# The server settings of `serve-proxy` and `serve-webhook`; bench/gateway.py serves its test upstream
# with the same, so the proxy and the upstream it is compared with differ only in what they do.
# httptools parses HTTP in C; loop "auto" is uvloop where it is installed (a dependency, not on Windows).
# No proxy headers: uvicorn would otherwise take the client address from X-Forwarded-For on connections
# from 127.0.0.1, letting a client behind a local relay choose its own IP; `--trust-forwarded-for` decides.
UVICORN = {"loop": "auto", "http": "httptools", "access_log": False, "proxy_headers": False}


def _serve(asgi, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(asgi, host=host, port=port, log_level="info", **UVICORN)


@app.command("check-policy")
def check_policy(policy: Optional[Path] = typer.Argument(None, help="Policy YAML (default: the shipped one)."),
                 scan: Optional[Path] = ScanOpt) -> None:
    """Validate a policy (and optionally load a scan with it); exit 2 with every error otherwise."""
    from .policy import policy_summary

    engine = _engine(policy, scan)
    for line in policy_summary(engine.policy):
        console.print(line, markup=False, soft_wrap=True)
    if scan:
        v = engine.verdicts
        console.print(f"scan {scan}: {len(v.accounts):,} accounts, {len(v.campaigns)} campaigns, "
                      f"{len(v.links):,} linking indicators", markup=False, soft_wrap=True)
    console.print("[green]policy OK[/green]")


@app.command("serve-proxy")
def serve_proxy(
    upstream: str = typer.Option(..., "--upstream", "-u", help="Upstream base URL (paths like /v1/... are appended)."),
    policy: Optional[Path] = PolicyOpt, scan: Optional[Path] = ScanOpt,
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8787, help="Port to bind."),
    upstream_key_env: Optional[str] = typer.Option(None, help="Env var with the key to send upstream instead of the client's."),
    trust_forwarded_for: bool = typer.Option(False, help="Take the client IP from X-Forwarded-For (behind a load balancer)."),
) -> None:
    """Run the OpenAI-compatible reverse proxy with enforcement (admin endpoints when $DISTILLGUARD_ADMIN_TOKEN is set)."""
    from .admin import TOKEN_ENV
    from .proxy import create_app

    engine = _engine(policy, scan)
    key = os.environ.get(upstream_key_env) if upstream_key_env else None
    if upstream_key_env and not key:
        _fail(f"${upstream_key_env} is not set")
    _serve(create_app(engine, upstream, upstream_api_key=key, trust_forwarded_for=trust_forwarded_for,
                      admin_token=os.environ.get(TOKEN_ENV)), host, port)


@app.command("serve-webhook")
def serve_webhook(policy: Optional[Path] = PolicyOpt, scan: Optional[Path] = ScanOpt,
                  host: str = typer.Option("127.0.0.1", help="Address to bind."),
                  port: int = typer.Option(8788, help="Port to bind.")) -> None:
    """Run the HTTP decision webhook (POST /v1/decide, /ext_authz/...)."""
    from .admin import TOKEN_ENV
    from .webhook import create_app

    _serve(create_app(_engine(policy, scan), admin_token=os.environ.get(TOKEN_ENV)), host, port)


def _admin(url: Optional[str], token: Optional[str], path: str, payload: dict | None) -> dict | list:
    """POST `payload` to an admin endpoint of a running service (GET when there is none)."""
    import httpx

    from .admin import ADMIN_PREFIX, TOKEN_ENV

    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        _fail(f"the admin endpoints need a token: --token or ${TOKEN_ENV}")
    try:
        r = httpx.request("GET" if payload is None else "POST", url.rstrip("/") + ADMIN_PREFIX + path, json=payload,
                          headers={"authorization": f"Bearer {token}"}, timeout=10)
    except httpx.HTTPError as e:
        _fail(f"cannot reach {url}: {e}")
    if r.status_code != 200:
        _fail(f"{r.status_code}: {r.json().get('detail', r.text) if r.headers.get('content-type', '').startswith('application/json') else r.text}")
    return r.json()


def _direct(policy: Optional[Path], scan: Optional[Path]):
    """An engine on the policy's shared state; an in-process state would be forgotten at exit."""
    engine = _engine(policy, scan)
    if engine.policy.state.backend != "redis":
        _fail("this needs the fleet's shared state: pass --url of a running proxy or webhook, "
              "or a --policy whose state.backend is redis")
    return engine


def _analyst(url: Optional[str], token: Optional[str], path: str, payload: dict | None,
             policy: Optional[Path], scan: Optional[Path], act: Callable):
    """An analyst action through a running service's admin endpoint (`--url`), else `act(engine)` on the
    fleet's shared state."""
    from .state import StateUnavailable

    if url:
        return _admin(url, token, path, payload)
    try:
        return act(_direct(policy, scan))
    except (ValueError, StateUnavailable) as e:
        _fail(str(e))


ScopeOpt = typer.Option(None, help="account | campaign (default: a campaign id in the scan is a campaign).")
ForOpt = typer.Option(None, "--for", help="How long it holds, e.g. 30m, 12h, 7d (default: until removed).")
AnalystOpt = typer.Option(..., help="Who decided.")
NoteOpt = typer.Option(..., help="Why (recorded in the audit trail).")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(duration: Optional[str]) -> Optional[float]:
    """Seconds in a duration such as 90s, 30m, 12h or 7d; None for None."""
    if duration is None:
        return None
    text = duration.strip().lower()
    try:
        value = float(text[:-1]) * _UNIT_S[text[-1]]
    except (KeyError, ValueError, IndexError):
        _fail(f"--for {duration!r}: expected a number and a unit (s, m, h or d), e.g. 7d")
    if value <= 0:
        _fail(f"--for {duration!r}: must be positive")
    return value


@app.command()
def verify(account: str = typer.Argument(..., help="Account that passed verification."),
           reference: Optional[str] = typer.Option(None, "--reference", "-r",
                                                   help="The reference the account was shown (checked)."),
           analyst: str = typer.Option("verification", help="Who verified."),
           note: str = typer.Option("", help="How it was verified."),
           url: Optional[str] = UrlOpt, token: Optional[str] = TokenOpt,
           policy: Optional[Path] = PolicyOpt) -> None:
    """Mark an account as verified: step-up rules no longer block it."""
    _analyst(url, token, "/verify", {"account_id": account, "reference": reference, "analyst": analyst, "note": note},
             policy, None, lambda engine: engine.mark_verified(account, reference, analyst, note))
    console.print(f"verified {account}")


@app.command()
def clear(target: str = typer.Argument(..., help="Account or campaign id."),
          analyst: str = AnalystOpt, note: str = NoteOpt, scope: Optional[str] = ScopeOpt,
          duration: Optional[str] = ForOpt, url: Optional[str] = UrlOpt, token: Optional[str] = TokenOpt,
          policy: Optional[Path] = PolicyOpt, scan: Optional[Path] = ScanOpt) -> None:
    """Appeal upheld: allow an account or every account of a campaign from now on (audited)."""
    seconds = _seconds(duration)
    payload = {"target": target, "analyst": analyst, "note": note, "scope": scope, "expires_in_s": seconds}
    entry = _analyst(url, token, "/clear", payload, policy, scan,
                     lambda engine: engine.clear(target, analyst, note, scope=scope, expires_in_s=seconds))
    console.print(f"cleared {entry['scope']} {target}" + (f" for {duration}" if duration else ""))


@app.command()
def override(target: str = typer.Argument(..., help="Account or campaign id."),
             action: str = typer.Option(..., help="The action to force: suspend, step_up, safeguard, monitor "
                                                  "or allow."),
             analyst: str = AnalystOpt, note: str = NoteOpt, scope: Optional[str] = ScopeOpt,
             duration: Optional[str] = ForOpt, url: Optional[str] = UrlOpt, token: Optional[str] = TokenOpt,
             policy: Optional[Path] = PolicyOpt, scan: Optional[Path] = ScanOpt) -> None:
    """Force an action on an account or every account of a campaign until removed or expired (audited)."""
    seconds = _seconds(duration)
    payload = {"target": target, "action": action, "analyst": analyst, "note": note, "scope": scope,
               "expires_in_s": seconds}
    entry = _analyst(url, token, "/override", payload, policy, scan,
                     lambda engine: engine.override(target, action, analyst, note, scope=scope, expires_in_s=seconds))
    console.print(f"{entry['scope']} {target}: {action} " + (f"for {duration}" if duration else "until removed"))


@app.command("remove-override")
def remove_override(target: str = typer.Argument(..., help="Account or campaign id."),
                    analyst: str = AnalystOpt, note: str = NoteOpt, scope: Optional[str] = ScopeOpt,
                    url: Optional[str] = UrlOpt, token: Optional[str] = TokenOpt,
                    policy: Optional[Path] = PolicyOpt, scan: Optional[Path] = ScanOpt) -> None:
    """Remove an override or a clearance: the policy decides for the target again (audited)."""
    entry = _analyst(url, token, "/remove-override", {"target": target, "analyst": analyst, "note": note,
                                                      "scope": scope},
                     policy, scan, lambda engine: engine.remove_override(target, analyst, note, scope=scope))
    console.print(f"{entry['scope']} {target}: override removed")


@app.command()
def audit(limit: int = typer.Option(20, help="How many entries, newest first."),
          url: Optional[str] = UrlOpt, token: Optional[str] = TokenOpt,
          policy: Optional[Path] = PolicyOpt) -> None:
    """The analyst audit trail: who verified, cleared or overrode what, when and why."""
    from datetime import datetime, timezone

    entries = _analyst(url, token, f"/audit?limit={int(limit)}", None, policy, None,
                       lambda engine: engine.audit(limit))
    def utc(ts: float) -> str:
        return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")

    for e in entries:  # one line each, newest first: easy to grep
        when = utc(e["at"]) if "at" in e else "-"
        action = f" -> {e['action']}" if e.get("action") else ""
        if e.get("until"):
            action += " until " + utc(e["until"])
        console.print(f"{when}  {e.get('event')}{action}  {e.get('scope')} {e.get('target')}  "
                      f"by {e.get('analyst')}: {e.get('note')}", markup=False, soft_wrap=True)
