"""The decision webhook end to end over HTTP."""

import httpx
import pytest

from distillguard.enforce import Engine
from distillguard.enforce.testing import serve
from distillguard.enforce.webhook import create_app
from tests.enforce.helpers import BODY

TOKEN = "hook-admin"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def hook(scan_dir):
    engine = Engine.from_config(None, scan=scan_dir, secret=b"hook")
    with serve(create_app(engine, admin_token=TOKEN)) as url:
        yield url


def decide(url, **payload):
    r = httpx.post(url + "/v1/decide", json={"body": BODY, "client_ip": "203.0.113.7", **payload})
    assert r.status_code == 200, r.text
    return r.json()


def test_decide(hook):
    member = decide(hook, account_id="a1")
    assert member["allow"] is False and member["status"] == 403
    assert member["decision"]["reasons"][0] == "CAMPAIGN_CONFIRMED"  # for the gateway's logs
    assert "CAMPAIGN" not in str(member["error"]) and member["error"]["error"]["reference"]
    benign = decide(hook, headers={"x-distillguard-account": "u1"})
    assert benign["allow"] is True and benign["decision"]["action"] == "allow" and benign["body"] is None
    capped = decide(hook, account_id="f1")
    assert capped["allow"] is True and capped["body"]["n"] == 1 and "logprobs" not in capped["body"]
    linked = decide(hook, account_id="new", payment_fingerprint="card-x")
    assert linked["decision"]["action"] == "step_up"
    embeddings = decide(hook, account_id="f1", path="/v1/embeddings", body={"model": "e", "input": ["a"]})
    assert embeddings["decision"]["action"] == "safeguard" and embeddings["body"] is None   # nothing to cap
    assert decide(hook, account_id="f1", path="/v1/chat/completions")["body"]["n"] == 1


def test_response_safeguards(hook):
    d = decide(hook, account_id="f1")["decision"]
    resp = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "5", "reasoning_content": "..."}}]}
    r = httpx.post(hook + "/v1/response", json={"account_id": "f1", "body": BODY, "response": resp, "decision": d})
    assert r.json()["response"]["choices"][0]["message"] == {"role": "assistant", "content": "5"}
    looked_up = httpx.post(hook + "/v1/response", json={"account_id": "f1", "body": BODY, "response": resp})
    assert "reasoning_content" not in looked_up.json()["response"]["choices"][0]["message"]


def test_bad_payloads(hook):
    assert httpx.post(hook + "/v1/decide", json={"body": BODY}).status_code == 400  # no account
    assert httpx.post(hook + "/v1/decide", json={"account_id": "x", "bogus": 1}).status_code == 422


def test_ext_authz(hook):
    r = httpx.post(hook + "/ext_authz/v1/chat/completions", json=BODY,
                   headers={"x-distillguard-account": "a1", "x-forwarded-for": "203.0.113.7"})
    assert r.status_code == 403 and r.json()["error"]["reference"]
    ok = httpx.get(hook + "/ext_authz/v1/models", headers={"x-distillguard-account": "u1"})
    assert ok.status_code == 200 and ok.headers["x-distillguard-action"] == "allow"
    linked = httpx.post(hook + "/ext_authz/v1/chat/completions", json=BODY,
                        headers={"x-distillguard-account": "fresh", "x-forwarded-for": "45.32.1.1, 10.0.0.1"})
    assert linked.status_code == 403
    assert httpx.post(hook + "/ext_authz/x", json=BODY).status_code == 401


def test_admin_clear_and_override(hook):
    assert httpx.post(hook + "/distillguard/admin/clear", json={"target": "a1", "analyst": "x", "note": "y"}
                      ).status_code == 401
    r = httpx.post(hook + "/distillguard/admin/override", headers=AUTH,
                   json={"target": "u1", "action": "suspend", "analyst": "analyst-1", "note": "case 9"})
    assert r.status_code == 200 and r.json()["scope"] == "account"
    assert decide(hook, account_id="u1")["decision"]["action"] == "suspend"
    bad = httpx.post(hook + "/distillguard/admin/override", headers=AUTH,
                     json={"target": "u1", "action": "throttle", "analyst": "a", "note": "n"})
    assert bad.status_code == 400 and "cannot be throttle" in bad.text
    httpx.post(hook + "/distillguard/admin/remove-override", headers=AUTH,
               json={"target": "u1", "analyst": "analyst-1", "note": "closed"}).raise_for_status()
    assert decide(hook, account_id="u1")["allow"] is True
    httpx.post(hook + "/distillguard/admin/clear", headers=AUTH,
               json={"target": "camp-a", "analyst": "analyst-2", "note": "appeal"}).raise_for_status()
    assert decide(hook, account_id="a3")["decision"]["reasons"] == ["CLEARED"]
    events = [e["event"] for e in httpx.get(hook + "/distillguard/admin/audit", headers=AUTH).json()]
    assert events == ["clear", "remove_override", "override"]
    missing = httpx.post(hook + "/distillguard/admin/reload", headers=AUTH, json={"scan_dir": "/nonexistent"})
    assert missing.status_code == 400 and "not found" in missing.text
