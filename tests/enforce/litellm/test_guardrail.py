"""End to end through a real LiteLLM proxy process (deploy/litellm/config.yaml as shipped, the
guardrail in .venv-litellm) in front of the local OpenAI-compatible upstream.

The upstream reports the caps it received in its `x-upstream-saw` header, which LiteLLM relays as
`llm_provider-x-upstream-saw`; that is how these tests see what reached the model."""

import json
import secrets
import time
from importlib import resources

import httpx
import pytest
import yaml

from distillguard.enforce import Engine
from distillguard.enforce.litellm.launch import CONFIG, LITELLM_BIN, litellm_proxy
from distillguard.enforce.testing import free_port, serve
from distillguard.enforce.testing.upstream import create_app

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LITELLM_BIN.exists(),
                       reason=f"{LITELLM_BIN} is missing: `make litellm` builds LiteLLM's own venv"),
]

THROTTLE_LIMIT = 3
# What would tell a blocked operator what tripped (reason codes, rule names, campaign ids, the
# scan's scores) or that distillguard is what checks.
LEAKS = ("CAMPAIGN_", "FLAGGED", "HARVEST", "campaign-", "camp-", "0.97", "0.96", "0.95", "distillguard")


def _scan(tmp_path, late: bool = False):
    """A small scan; `late` rewrites it as the next scan would, with one more campaign member."""
    d = tmp_path / "scan"
    d.mkdir(exist_ok=True)
    rows = ["acct-benign,0.01,false,,",
            "acct-hydra-1,0.97,true,camp-A,CAMPAIGN_MEMBER;HARVEST_CONTENT",
            "acct-hydra-2,0.95,true,camp-A,CAMPAIGN_MEMBER",
            "acct-hydra-3,0.95,true,camp-A,CAMPAIGN_MEMBER",
            "acct-pool-1,0.95,true,camp-C,CAMPAIGN_MEMBER",
            "acct-pool-2,0.95,true,camp-C,CAMPAIGN_MEMBER",
            "acct-weak-1,0.7,true,camp-B,CAMPAIGN_MEMBER",
            "acct-weak-2,0.7,true,camp-B,CAMPAIGN_MEMBER",
            "acct-flagged,0.8,true,,HARVEST_CONTENT"] + (["acct-late,0.9,true,camp-A,CAMPAIGN_MEMBER"] if late else [])
    (d / "accounts.csv").write_text("account_id,score,flagged,campaign_id,reasons\n" + "\n".join(rows) + "\n")
    (d / "campaigns.json").write_text(json.dumps([
        {"campaign_id": "camp-A", "score": 0.96,
         "accounts": ["acct-hydra-1", "acct-hydra-2", "acct-hydra-3"] + (["acct-late"] if late else []),
         "indicators": [{"type": "ip", "value": "203.0.113.50", "network_kind": "hosting"}]},
        {"campaign_id": "camp-B", "score": 0.6, "accounts": ["acct-weak-1", "acct-weak-2"], "indicators": []},
        # camp-C is the step-up test's own: every campaign also has a (campaign-wide) throttle budget
        {"campaign_id": "camp-C", "score": 0.95, "accounts": ["acct-pool-1", "acct-pool-2"], "indicators": []}]))
    return d


def _policy(tmp_path, **state):
    """The shipped policy with a throttle budget a test can exhaust."""
    policy = yaml.safe_load(resources.files("distillguard.enforce").joinpath("policies", "default.yaml").read_text())
    for rule in policy["rules"]:
        if rule["name"] == "campaign-suspected":
            rule["limit"] = {"requests": THROTTLE_LIMIT}
    policy["state"].update(state)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


class Client:
    def __init__(self, url: str, master_key: str, admin_token: str, tmp=None):
        self.url, self.master_key, self.admin_token, self.tmp = url, master_key, admin_token, tmp
        self.http = httpx.Client(timeout=60)

    def chat(self, account: str, *, ip: str | None = None, **body) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.master_key}", "x-distillguard-account": account}
        if ip:
            headers["x-forwarded-for"] = ip
        payload = {"model": "frontier-large", "max_tokens": 4000,
                   "messages": [{"role": "user", "content": "Solve 3x + 5 = 20 and show every step."}], **body}
        return self.http.post(self.url + "/v1/chat/completions", json=payload, headers=headers)

    def admin(self, path: str, body: dict, token: str | None = None) -> httpx.Response:
        return self.http.post(self.url + "/distillguard/admin" + path, json=body,
                              headers={"authorization": f"Bearer {token or self.admin_token}"})


def _saw(r: httpx.Response) -> dict:
    return json.loads(r.headers["llm_provider-x-upstream-saw"])


def _stream(r: httpx.Response) -> list[dict]:
    return [json.loads(line[5:]) for line in r.text.splitlines()
            if line.startswith("data:") and line[5:].strip() != "[DONE]"]


def _assert_generic(r: httpx.Response) -> str:
    """The error a blocked client sees: a generic message and a support reference, nothing else."""
    error = r.json()["error"]
    ours = error["provider_specific_fields"]["error"]
    assert ours["reference"].startswith("DG-") and ours["reference"] in error["message"]
    exposed = r.text + json.dumps(dict(r.headers))
    for word in LEAKS:
        assert word not in exposed, word
    return ours["reference"]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("litellm")
    master_key, admin_token = "sk-" + secrets.token_hex(24), secrets.token_hex(16)
    with serve(create_app()) as upstream:
        env = {"DISTILLGUARD_UPSTREAM": upstream + "/v1", "DISTILLGUARD_UPSTREAM_KEY": "upstream-key",
               "LITELLM_MASTER_KEY": master_key, "DISTILLGUARD_POLICY": str(_policy(tmp)),
               "DISTILLGUARD_SCAN": str(_scan(tmp)), "DISTILLGUARD_ADMIN_TOKEN": admin_token,
               "DISTILLGUARD_SCAN_RELOAD_S": "1"}
        with litellm_proxy(free_port(), env, log=tmp / "litellm.log") as gw:
            client = Client(gw.url, master_key, admin_token, tmp)
            yield client
            client.http.close()
        assert gw.proc.poll() is not None  # stopped by its PID


def test_benign_request_gets_the_upstream_answer_untouched(gateway):
    r = gateway.chat("acct-benign", n=2, reasoning_effort="high")
    assert r.status_code == 200, r.text
    assert _saw(r) == {"model": "frontier-large", "max_tokens": 4000, "n": 2, "reasoning_effort": "high"}
    choices = r.json()["choices"]
    assert len(choices) == 2
    assert choices[0]["message"]["content"] == "Answer to: Solve 3x + 5 = 20 and show every step."
    assert choices[0]["message"]["reasoning_content"].startswith("First, restate the problem.")
    # an account the scan never saw is no suspect either
    assert gateway.chat("acct-never-scanned").status_code == 200


def test_campaign_is_blocked_as_a_whole_with_a_generic_error(gateway):
    refs = set()
    for account in ("acct-hydra-1", "acct-hydra-3"):  # a key pool cannot fail over to a sibling
        r = gateway.chat(account)
        assert r.status_code == 403
        refs.add(_assert_generic(r))
    assert len(refs) == 2  # a reference per account, so support can find each decision
    # a fresh account on the campaign's hosting IP is caught before any scan has seen it
    r = gateway.chat("acct-brand-new", ip="203.0.113.50")
    assert r.status_code == 403
    _assert_generic(r)
    assert gateway.chat("acct-brand-new-elsewhere", ip="198.51.100.9").status_code == 200


def test_step_up_then_verification_lets_the_account_through(gateway):
    r = gateway.chat("acct-pool-1")
    assert r.status_code == 403
    reference = _assert_generic(r)
    assert gateway.chat("acct-pool-1").json()["error"]["provider_specific_fields"]["error"]["reference"] \
        == reference  # stable across retries: the client quotes one reference

    assert gateway.admin("/verify", {"account_id": "acct-pool-1", "reference": reference},
                         token="wrong").status_code == 401
    assert gateway.admin("/verify", {"account_id": "acct-pool-1", "reference": "DG-NOTISSUEDTOTHEM"}).status_code == 400
    assert gateway.admin("/verify", {"account_id": "acct-pool-1", "reference": reference}).status_code == 200

    r = gateway.chat("acct-pool-1")  # the campaign's third request: still within its throttle budget
    assert r.status_code == 200, r.text
    # verified, it is still a campaign member: the weaker rules cap its answers
    assert _saw(r)["max_tokens"] == 1024
    assert "reasoning_content" not in r.json()["choices"][0]["message"]
    assert gateway.chat("acct-pool-2").status_code == 403  # verification is per account

    # an analyst suspends the whole campaign: the verified member is blocked again
    assert gateway.admin("/override", {"target": "camp-C", "action": "suspend", "analyst": "a1",
                                       "note": "confirmed harvesting"}).status_code == 200
    r = gateway.chat("acct-pool-1")
    assert r.status_code == 403
    _assert_generic(r)


def test_safeguards_cap_what_reaches_the_upstream_and_withhold_reasoning(gateway):
    r = gateway.chat("acct-flagged", n=4, logprobs=True, top_logprobs=5, reasoning_effort="high")
    assert r.status_code == 200, r.text
    assert _saw(r) == {"model": "frontier-large", "max_tokens": 1024, "n": 1, "reasoning_effort": "low"}
    choice = r.json()["choices"][0]
    assert choice["message"]["content"].startswith("Answer to:")
    assert "reasoning_content" not in choice["message"]
    assert not choice.get("logprobs")

    with gateway.http.stream("POST", gateway.url + "/v1/chat/completions",
                             headers={"authorization": f"Bearer {gateway.master_key}",
                                      "x-distillguard-account": "acct-flagged"},
                             json={"model": "frontier-large", "stream": True, "max_tokens": 4000,
                                   "messages": [{"role": "user", "content": "Explain recursion briefly."}]}) as s:
        s.read()
    assert s.status_code == 200
    assert _saw(s)["max_tokens"] == 1024
    chunks = _stream(s)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Answer to: Explain recursion briefly."
    assert not any("reasoning_content" in c["choices"][0]["delta"] for c in chunks if c["choices"])

    # the same stream for a benign account keeps its reasoning
    r = gateway.chat("acct-benign", stream=True)
    assert any("reasoning_content" in c["choices"][0]["delta"] for c in _stream(r) if c["choices"])


def test_responses_api_answers_lose_their_reasoning_text(gateway):
    def ask(account):
        return gateway.http.post(gateway.url + "/v1/responses",
                                 headers={"authorization": f"Bearer {gateway.master_key}",
                                          "x-distillguard-account": account},
                                 json={"model": "frontier-large", "input": "Solve 3x + 5 = 20.",
                                       "max_output_tokens": 4000})

    r = ask("acct-flagged")
    assert r.status_code == 200, r.text
    assert _saw(r)["max_output_tokens"] == 1024
    reasoning = next(i for i in r.json()["output"] if i["type"] == "reasoning")
    assert reasoning["summary"] == [] and not reasoning.get("content") and reasoning["encrypted_content"] == "opaque"
    message = next(i for i in r.json()["output"] if i["type"] == "message")
    assert message["content"][0]["text"].startswith("Answer to:")
    benign = next(i for i in ask("acct-benign").json()["output"] if i["type"] == "reasoning")
    assert benign["summary"][0]["text"].startswith("First, restate")


def test_throttle_budget_is_campaign_wide(gateway):
    for _ in range(THROTTLE_LIMIT):
        r = gateway.chat("acct-weak-1")
        assert r.status_code == 200, r.text
        assert _saw(r)["max_tokens"] == 1024  # within the budget: safeguarded
    r = gateway.chat("acct-weak-1")
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 60
    _assert_generic(r)
    r = gateway.chat("acct-weak-2")  # the sibling shares the campaign's budget
    assert r.status_code == 429
    _assert_generic(r)
    assert gateway.chat("acct-benign").status_code == 200


def test_a_new_scan_is_picked_up_without_a_restart(gateway):
    assert gateway.chat("acct-late").status_code == 200
    _scan(gateway.tmp, late=True)
    deadline = time.monotonic() + 30
    while (status := gateway.chat("acct-late").status_code) == 200 and time.monotonic() < deadline:
        time.sleep(0.5)  # the guardrail looks every second and loads in the background
    assert status == 403


def test_verification_through_shared_redis_state_reaches_the_gateway(tmp_path, redis_url):
    """A fleet: the gateway keeps its state in Redis, so an analyst tool with its own engine on the
    same Redis (and the same reference secret) verifies an account every replica then honours."""
    secret = secrets.token_hex(16)
    policy = _policy(tmp_path, backend="redis", redis_url=redis_url)
    master_key = "sk-" + secrets.token_hex(24)
    with serve(create_app()) as upstream:
        env = {"DISTILLGUARD_UPSTREAM": upstream + "/v1", "DISTILLGUARD_UPSTREAM_KEY": "upstream-key",
               "LITELLM_MASTER_KEY": master_key, "DISTILLGUARD_POLICY": str(policy),
               "DISTILLGUARD_SCAN": str(_scan(tmp_path)), "DISTILLGUARD_REFERENCE_SECRET": secret}
        with litellm_proxy(free_port(), env, log=tmp_path / "litellm.log") as gw:
            client = Client(gw.url, master_key, "")
            r = client.chat("acct-hydra-1")
            assert r.status_code == 403
            reference = _assert_generic(r)
            analyst = Engine.from_config(policy, secret=secret.encode())
            analyst.mark_verified("acct-hydra-1", reference)
            analyst.close()
            r = client.chat("acct-hydra-1")
            assert r.status_code == 200, r.text
            client.http.close()
