"""The standalone proxy end to end: a real upstream server, the proxy server, an HTTP client."""

import json
import time

import httpx
import pytest

from distillguard.enforce import Engine, load_policy
from distillguard.enforce.proxy import create_app
from distillguard.enforce.testing import serve
from distillguard.enforce.testing.upstream import REASONING, create_app as upstream_app
from tests.enforce.helpers import BODY, ctx

TOKEN = "admin-secret"


@pytest.fixture(scope="module")
def upstream():
    with serve(upstream_app()) as url:
        yield url


@pytest.fixture
def proxy(upstream, scan_dir):
    engine = Engine.from_config(None, scan=scan_dir, secret=b"proxy-test")
    with serve(create_app(engine, upstream, admin_token=TOKEN)) as url:
        yield url, engine


def call(url, account, body=None, headers=None, **kw):
    headers = {"x-distillguard-account": account, "authorization": "Bearer sk-client", **(headers or {})}
    return httpx.post(url + "/v1/chat/completions", json=body or BODY, headers=headers, **kw)


def test_allowed_request_reaches_upstream_untouched(proxy):
    url, _ = proxy
    r = call(url, "u1")
    assert r.status_code == 200
    saw = json.loads(r.headers["x-upstream-saw"])
    assert (saw["n"], saw["max_tokens"], saw["logprobs"]) == (4, 4096, True)
    assert r.json()["choices"][0]["message"]["reasoning_content"] == REASONING
    assert httpx.get(url + "/v1/models").json()["data"][0]["id"] == "test-model"  # passthrough


def test_a_client_cannot_choose_its_address_unless_the_proxy_trusts_forwarded_for(proxy, upstream, scan_dir):
    url, _ = proxy
    spoofed = {"x-forwarded-for": "45.32.1.1"}   # an address linked to a campaign in the scan
    assert call(url, "fresh", headers=spoofed).status_code == 200   # the connection's own address counts
    engine = Engine.from_config(None, scan=scan_dir, secret=b"proxy-test")
    with serve(create_app(engine, upstream, trust_forwarded_for=True)) as behind_balancer:
        assert call(behind_balancer, "fresh", headers=spoofed).status_code == 403


def test_blocked_requests_get_generic_errors(proxy):
    url, _ = proxy
    r = call(url, "a1")
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "verification_required" and err["reference"].startswith("DG-")
    for leak in ("CAMPAIGN", "camp-a", "score", "step_up"):
        assert leak not in r.text
    statuses = [call(url, "b1" if i % 2 else "b2").status_code for i in range(35)]
    assert statuses[:30] == [200] * 30 and statuses[-1] == 429
    assert call(url, "b1").headers["retry-after"].isdigit()


def test_safeguarded_request_is_capped_and_reasoning_withheld(proxy):
    url, _ = proxy
    r = call(url, "f1")
    assert r.status_code == 200
    saw = json.loads(r.headers["x-upstream-saw"])
    assert saw == {"max_tokens": 1024, "model": "frontier-large", "n": 1, "reasoning_effort": "low"}
    choice = r.json()["choices"][0]
    assert "reasoning_content" not in choice["message"] and "logprobs" not in choice
    assert choice["message"]["content"].startswith("Answer to: Solve")


def test_safeguards_rewrite_only_generation_requests(proxy):
    url, _ = proxy
    headers = {"x-distillguard-account": "f1", "authorization": "Bearer sk-client"}
    r = httpx.post(url + "/v1/embeddings", json={"model": "embed", "input": ["a", "b"]}, headers=headers)
    assert r.status_code == 200 and len(r.json()["data"]) == 2
    assert json.loads(r.headers["x-upstream-saw"]) == {"model": "embed"}   # no generation caps added
    assert call(url, "a1").status_code == 403   # still decided: a blocked account is blocked everywhere
    r = httpx.post(url + "/v1/embeddings", json={"model": "embed", "input": "a"},
                   headers={**headers, "x-distillguard-account": "a1"})
    assert r.status_code == 403


def _events(text):
    return [e for e in text.split("\n\n") if e]


def test_stream_passes_through_chunk_by_chunk(proxy, upstream):
    url, _ = proxy
    body = {**BODY, "stream": True, "max_tokens": 6}
    direct = httpx.post(upstream + "/v1/chat/completions", json=body).text
    arrivals, chunks = [], []
    t0 = time.monotonic()
    with httpx.stream("POST", url + "/v1/chat/completions?delay_ms=150", json=body,
                      headers={"x-distillguard-account": "u1"}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for chunk in r.iter_raw():
            arrivals.append(time.monotonic() - t0)
            chunks.append(chunk)
    relayed = b"".join(chunks).decode()
    # same events as the upstream sends directly (ids and timestamps differ per response)
    strip = [json.dumps({k: v for k, v in json.loads(e[6:]).items() if k not in ("id", "created")})
             if e != "data: [DONE]" else e for e in _events(relayed)]
    strip_direct = [json.dumps({k: v for k, v in json.loads(e[6:]).items() if k not in ("id", "created")})
                    if e != "data: [DONE]" else e for e in _events(direct)]
    assert strip == strip_direct and "reasoning_content" in relayed
    # the first words arrived long before the upstream finished: relayed as produced, not buffered
    assert len(chunks) >= 4 and arrivals[0] < arrivals[-1] - 0.5


def test_safeguarded_stream_drops_reasoning_deltas(proxy):
    url, _ = proxy
    body = {**BODY, "stream": True}
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, headers={"x-distillguard-account": "f1"}) as r:
        text = r.read().decode()
    events = _events(text)
    assert events[-1] == "data: [DONE]"
    payloads = [json.loads(e[6:]) for e in events[:-1]]
    assert all("reasoning_content" not in p["choices"][0]["delta"] for p in payloads)
    assert "".join(p["choices"][0]["delta"].get("content", "") for p in payloads).startswith("Answer to: Solve")


def test_admin_endpoints_through_the_proxy(proxy):
    url, engine = proxy
    ref = call(url, "a2").json()["error"]["reference"]
    bad = httpx.post(url + "/distillguard/admin/verify", json={"account_id": "a2", "reference": ref})
    assert bad.status_code == 401
    auth = {"authorization": f"Bearer {TOKEN}"}
    wrong = httpx.post(url + "/distillguard/admin/verify", json={"account_id": "a2", "reference": "DG-X"}, headers=auth)
    assert wrong.status_code == 400 and "not issued" in wrong.text
    ok = httpx.post(url + "/distillguard/admin/verify", json={"account_id": "a2", "reference": ref}, headers=auth)
    assert ok.status_code == 200
    assert call(url, "a2").status_code == 200
    cleared = httpx.post(url + "/distillguard/admin/clear", headers=auth,
                         json={"target": "camp-a", "analyst": "analyst-1", "note": "appeal upheld"})
    assert cleared.json()["scope"] == "campaign"
    assert call(url, "a1").status_code == 200
    audit = httpx.get(url + "/distillguard/admin/audit", headers=auth).json()
    assert [e["event"] for e in audit] == ["clear", "verify"]


def test_bad_requests(proxy):
    url, _ = proxy
    assert httpx.post(url + "/v1/chat/completions", json=BODY).status_code == 401  # no account, no key
    odd = {"content": b"{not json", "headers": {"x-distillguard-account": "a1"}}
    assert httpx.post(url + "/v1/chat/completions", **odd).status_code == 403  # still decided on the account
    odd["headers"] = {"x-distillguard-account": "u1"}
    assert httpx.post(url + "/v1/chat/completions", **odd).status_code == 400  # forwarded; upstream rejects it


def test_upstream_down_is_a_502(scan_dir):
    engine = Engine.from_config(None, scan=scan_dir)
    with serve(create_app(engine, "http://127.0.0.1:9")) as url:
        assert call(url, "u1").status_code == 502


@pytest.mark.redis
def test_proxy_on_redis_state(upstream, scan_dir, redis_url):
    """The async state path inside a real server: the throttle budget lives in Redis."""
    doc = load_policy(None).model_dump(mode="json")
    doc["state"].update(backend="redis", redis_url=redis_url)
    engine = Engine.from_config(doc, scan=scan_dir)
    with serve(create_app(engine, upstream)) as url:
        assert call(url, "a1").status_code == 403 and call(url, "u1").status_code == 200
        statuses = [call(url, "b1" if i % 2 else "b2").status_code for i in range(33)]
    assert statuses[:30] == [200] * 30 and statuses[-1] == 429
    import redis
    keys = redis.Redis.from_url(redis_url).keys("dg:bud:c:camp-b:*")
    assert keys  # the budget is in the shared state, where every replica sees it


def test_sse_rewrite_keeps_framing_and_line_endings(scan_dir):
    import asyncio

    from distillguard.enforce.proxy import _filtered_sse

    engine = Engine.from_config(None, scan=scan_dir)
    decision = engine.decide(ctx("f1"))
    stream = (b': keep-alive\r\n\r\ndata: {"choices":[{"index":0,"delta":{"reasoning_content":"s1"}}]}\r\n\r\n'
              b'event: x\ndata: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n')

    async def pieces():  # split mid-event, as the network does
        for i in range(0, len(stream), 7):
            yield stream[i:i + 7]

    async def collect():
        return [p async for p in _filtered_sse(pieces(), engine, decision)]

    out = asyncio.run(collect())
    assert b"".join(out) == (b': keep-alive\r\n\r\ndata: {"choices":[{"index":0,"delta":{}}]}\r\n\r\n'
                             b'event: x\ndata: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n')
    assert len(out) == 4  # one piece per event, each sent as soon as it is complete
