"""Replay: scan the first half of a simulated world, enforce the second half, compare with the truth.

The scan is yesterday's batch job, the replay is today's traffic through the gateway. Enforcement must
block nearly all traffic of the campaigns the scan found, and add no false positive of its own: every
benign account it blocks must be one the scan itself wrongly flagged (those get step-up, which a real
customer passes), never one blocked by online counters or by linking alone."""

import csv
import gzip
import json
from collections import Counter, defaultdict
from datetime import datetime

import httpx
import pytest

from distillguard.enforce import Action, Engine, RequestContext
from distillguard.enforce.proxy import create_app
from distillguard.enforce.testing import serve
from distillguard.enforce.testing.upstream import create_app as upstream_app

pytestmark = pytest.mark.slow
BLOCKING = {Action.THROTTLE, Action.STEP_UP, Action.SUSPEND}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from distillguard.scan import scan
    from distillguard.simulate import simulate

    root = tmp_path_factory.mktemp("replay")
    simulate(root / "logs", accounts=200, days=2, seed=5)
    records = sorted((json.loads(line) for line in gzip.open(root / "logs" / "exchanges.jsonl.gz")),
                     key=lambda r: r["timestamp"])
    cut = len(records) // 2
    first = root / "first.jsonl"
    first.write_text("".join(json.dumps(r) + "\n" for r in records[:cut]))
    scan(first, root / "scan", accounts=root / "logs" / "accounts.jsonl")
    accounts = {a["account_id"]: a for a in map(json.loads, open(root / "logs" / "accounts.jsonl"))}
    truth = {r["account_id"]: r for r in csv.DictReader(open(root / "logs" / "truth_accounts.csv"))}
    return {"root": root, "today": records[cut:], "accounts": accounts, "truth": truth}


def _context(r, accounts, ts=None):
    a = accounts.get(r["account_id"], {})
    when = datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")).timestamp() if ts is None else ts
    return RequestContext(r["account_id"], client_ip=r.get("client_ip"), org_id=a.get("org_id"),
                          model=r["request"].get("model"), user_agent=r.get("user_agent"),
                          payment_fingerprint=a.get("payment_fingerprint"), body=r["request"], ts=when)


def _report(title, per_account, truth, engine):
    """Print requests and accounts by truth label and action; return the benign accounts blocked."""
    table, accounts = Counter(), Counter()
    blocked_benign = []
    for acc, actions in per_account.items():
        label = truth[acc]["label"]
        known = "scanned" if acc in engine.verdicts.accounts else "new"
        for action, n in actions.items():
            table[(label, action)] += n
        blocked = any(a in BLOCKING for a in actions)
        accounts[(label, known, "blocked" if blocked else "passed")] += 1
        if blocked and label == "benign":
            blocked_benign.append(acc)
    print(f"\n{title}: requests by truth label and action")
    for key in sorted(table):
        print(f"  {key[0]:8} {key[1]:10} {table[key]:6}")
    print("  accounts:", ", ".join(f"{'/'.join(k)} {v}" for k, v in sorted(accounts.items())))
    return table, blocked_benign


def _assert_outcome(table, blocked_benign, engine):
    distill = sum(n for (label, _), n in table.items() if label == "distill")
    distill_blocked = sum(n for (label, a), n in table.items() if label == "distill" and Action(a) in BLOCKING)
    benign = sum(n for (label, _), n in table.items() if label == "benign")
    benign_blocked = sum(n for (label, a), n in table.items() if label == "benign" and Action(a) in BLOCKING)
    assert distill_blocked / distill >= 0.8
    assert benign_blocked / benign <= 0.05
    for acc in blocked_benign:  # only the scan's own false positives: enforcement adds none
        assert engine.verdicts.accounts[acc].flagged, acc


def test_replay_through_the_engine(world):
    engine = Engine.from_config(None, scan=world["root"] / "scan")
    per_account = defaultdict(Counter)
    for r in world["today"]:
        per_account[r["account_id"]][engine.decide(_context(r, world["accounts"])).action.value] += 1
    table, blocked_benign = _report("engine replay", per_account, world["truth"], engine)
    _assert_outcome(table, blocked_benign, engine)


def test_replay_through_the_proxy(world):
    """Every fourth request of the day over HTTP through the real proxy (in arrival order, compressed in
    time, which can only make rate budgets trip sooner: those apply to scanned campaigns only)."""
    engine = Engine.from_config(None, scan=world["root"] / "scan")
    per_account = defaultdict(Counter)
    by_status = {200: "allow", 403: "step_up", 429: "throttle"}
    with serve(upstream_app()) as upstream, serve(create_app(engine, upstream, trust_forwarded_for=True)) as proxy, \
            httpx.Client(base_url=proxy, timeout=30) as client:
        for r in world["today"][::4]:
            a = world["accounts"].get(r["account_id"], {})
            headers = {"x-distillguard-account": r["account_id"], "x-forwarded-for": r.get("client_ip") or ""}
            if a.get("payment_fingerprint"):
                headers["x-distillguard-payment"] = a["payment_fingerprint"]
            resp = client.post("/v1/chat/completions", json=r["request"], headers=headers)
            assert resp.status_code in by_status, resp.text
            per_account[r["account_id"]][by_status[resp.status_code]] += 1
    table, blocked_benign = _report("proxy replay (HTTP statuses)", per_account, world["truth"], engine)
    _assert_outcome(table, blocked_benign, engine)
