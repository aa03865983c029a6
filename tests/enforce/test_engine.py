import json
import time

import pytest

from distillguard.enforce import Action, Engine, MemoryState, StateUnavailable, load_policy
from distillguard.enforce.policy import Policy
from distillguard.enforce.state import State
from tests.enforce.helpers import BODY, ctx


@pytest.fixture
def engine(scan_dir, tmp_path):
    doc = load_policy(None).model_dump(mode="json")
    doc["audit_log"] = str(tmp_path / "audit.jsonl")
    doc["allow"] = {"accounts": ["bench-1"], "orgs": ["org-school"], "networks": ["192.0.2.0/24"]}
    e = Engine.from_config(doc, scan=scan_dir, secret=b"test-secret")
    return e


def test_campaign_members_are_all_stepped_up_and_benign_untouched(engine):
    for a in ("a1", "a2", "a3"):
        d = engine.decide(ctx(a))
        assert d.action is Action.STEP_UP and d.campaign_id == "camp-a" and d.status_code == 403
        assert d.reasons[0] == "CAMPAIGN_CONFIRMED"
    for a in ("u1", "u2", "u3", "never-seen"):
        d = engine.decide(ctx(a))
        assert d.action is Action.ALLOW and not d.blocked and d.reasons == ()
    assert engine.decide(ctx("f1")).action is Action.SAFEGUARD


def test_throttle_budget_is_campaign_wide(engine):
    """Two accounts of one campaign share one budget: switching keys does not buy more requests."""
    ts = 1_770_000_000.0
    decisions = [engine.decide(ctx("b1" if i % 2 else "b2", ts=ts + i * 0.01)) for i in range(40)]
    actions = [d.action for d in decisions]
    assert actions[:30] == [Action.SAFEGUARD] * 30  # within budget: capped answers
    assert set(actions[31:]) == {Action.THROTTLE}   # both accounts, once the shared budget is spent
    d = decisions[-1]
    assert d.status_code == 429 and 1 <= d.retry_after <= 60 and d.error_headers() == {"retry-after": str(d.retry_after)}
    # a minute later the budget has refilled
    assert engine.decide(ctx("b1", ts=ts + 125)).action is Action.SAFEGUARD


def test_new_accounts_on_campaign_infrastructure(engine):
    hosting = engine.decide(ctx("fresh-1", ip="45.32.1.1"))
    assert hosting.action is Action.STEP_UP and hosting.campaign_id == "camp-a"
    assert "CAMPAIGN_INFRASTRUCTURE" in hosting.reasons
    card = engine.decide(ctx("fresh-2", payment_fingerprint="card-x"))
    assert card.action is Action.STEP_UP
    # a residential IP the campaign used is shared by unrelated people: it links nobody
    assert engine.decide(ctx("fresh-3", ip="98.0.0.1")).action is Action.ALLOW
    # an account the scan judged benign is not re-judged for sharing a hosting IP
    assert engine.decide(ctx("u1", ip="45.32.1.1")).action is Action.ALLOW


def test_allow_list_wins_and_is_not_counted(engine):
    assert engine.decide(ctx("bench-1", ip="45.32.1.1")).reasons == ("ALLOWLISTED",)
    assert engine.decide(ctx("a1", org_id="org-school")).action is Action.ALLOW
    assert engine.decide(ctx("a1", ip="192.0.2.9")).action is Action.ALLOW
    online = engine.state.observe(ctx_obs("x", "45.32.1.1"), engine._windows)
    assert online.ip_accounts == 1  # only x itself: bench-1 was never counted


def ctx_obs(account, ip):
    from distillguard.enforce.state import Observation
    return Observation(account, 1_770_000_000.0, ip)


def test_error_bodies_teach_nothing(engine):
    for a in ("a1", "b1"):
        d = engine.decide(ctx(a))
        if not d.blocked:
            continue
        text = json.dumps(d.error_body())
        assert d.reference in text
        for secret in (*d.reasons, "camp-", "score", "0.9", d.rule):
            assert secret not in text
    with pytest.raises(ValueError, match="has no error body"):
        engine.decide(ctx("u1")).error_body()


def test_step_up_round_trip(engine):
    d = engine.decide(ctx("a2"))
    assert d.action is Action.STEP_UP
    assert engine.decide(ctx("a2")).reference == d.reference  # stable: a retry shows the same reference
    with pytest.raises(ValueError, match="not issued to account 'a2'"):
        engine.mark_verified("a2", engine.step_up_reference("a1"))
    engine.mark_verified("a2", d.reference)
    after = engine.decide(ctx("a2"))
    assert not after.blocked and "VERIFIED" in after.reasons
    assert after.action is Action.SAFEGUARD  # still in a campaign: answers stay capped
    assert engine.decide(ctx("a3")).action is Action.STEP_UP  # verification is per account
    assert engine.audit(1)[0]["event"] == "verify"


def test_override_and_appeal_are_campaign_wide_and_audited(engine, tmp_path):
    engine.override("camp-a", "suspend", analyst="analyst-1", note="confirmed by case 17")
    assert {engine.decide(ctx(a)).action for a in ("a1", "a2", "a3")} == {Action.SUSPEND}
    assert engine.decide(ctx("fresh", ip="45.32.1.1")).action is Action.SUSPEND  # linked accounts too
    engine.clear("a3", analyst="analyst-2", note="appeal: research lab, verified contract")
    assert engine.decide(ctx("a3")).reasons == ("CLEARED",)
    assert engine.decide(ctx("a1")).action is Action.SUSPEND
    engine.clear("camp-a", analyst="analyst-2", note="appeal upheld")
    assert {engine.decide(ctx(a)).action for a in ("a1", "a2")} == {Action.ALLOW}
    trail = engine.audit()
    assert [e["event"] for e in trail] == ["clear", "clear", "override"]
    assert trail[0]["scope"] == "campaign" and trail[0]["accounts"] == 3 and trail[1]["scope"] == "account"
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [x["analyst"] for x in lines] == ["analyst-1", "analyst-2", "analyst-2"]
    with pytest.raises(ValueError, match="analyst and a note"):
        engine.clear("a1", analyst="", note="x")
    with pytest.raises(ValueError, match="cannot be throttle"):
        engine.override("a1", "throttle", analyst="a", note="n")


def test_an_override_given_a_lifetime_lapses_and_the_account_falls_back_to_the_campaigns(engine):
    import time

    engine.override("camp-a", "suspend", analyst="analyst-1", note="confirmed by case 17")
    engine.clear("a1", analyst="analyst-2", note="lab study, cleared for a week", expires_in_s=7 * 86400)
    now = time.time()
    assert engine.decide(ctx("a1", ts=now + 86400)).reasons == ("CLEARED",)
    assert engine.decide(ctx("a1", ts=now + 8 * 86400)).action is Action.SUSPEND   # back under the campaign's
    assert engine.audit()[0]["until"] == pytest.approx(now + 7 * 86400, abs=60)
    with pytest.raises(ValueError, match="positive"):
        engine.override("a1", "suspend", analyst="a", note="n", expires_in_s=0)


def test_classroom_on_one_ip_is_only_monitored(engine):
    """Thirty students on one campus IP sending the same assignment prompt: never blocked by counters."""
    decisions = [engine.decide(ctx(f"student-{i}", ip="130.1.1.1", ts=1_770_000_000 + i)) for i in range(30)]
    assert not any(d.blocked for d in decisions)
    assert decisions[-1].action is Action.MONITOR and decisions[-1].reasons == ("IP_TEMPLATE_FANOUT",)
    assert decisions[0].action is Action.ALLOW


class _Down(State):
    def observe(self, obs, windows):
        raise StateUnavailable("down for the test")

    def set_override(self, *a): raise StateUnavailable("down")
    def set_verified(self, *a): raise StateUnavailable("down")
    def append_audit(self, *a): raise StateUnavailable("down")
    def audit(self, limit=100): raise StateUnavailable("down")


@pytest.mark.parametrize("mode", ["fail_open", "fail_closed"])
def test_state_unavailable(scan_dir, mode):
    doc = load_policy(None).model_dump(mode="json")
    doc["state"]["on_error"] = mode
    doc["allow"] = {"accounts": ["bench-1"]}
    e = Engine.from_config(doc, state=_Down(), scan=scan_dir)
    benign, member = e.decide(ctx("u1")), e.decide(ctx("a1"))
    assert member.action is Action.STEP_UP  # batch verdicts hold either way
    assert "STATE_UNAVAILABLE" in benign.reasons
    assert benign.action is (Action.ALLOW if mode == "fail_open" else Action.THROTTLE)
    assert e.decide(ctx("bench-1")).action is Action.ALLOW


def test_context_resolution():
    from distillguard.enforce import RequestContext

    c = RequestContext.from_openai(BODY, {"Authorization": "Bearer sk-123"}, "1.2.3.4")
    assert c.account_id.startswith("key:") and "sk-123" not in c.account_id and c.api_key == "sk-123"
    assert RequestContext.from_openai(BODY, {"authorization": "Bearer sk-123"},
                                      key_accounts={"sk-123": "acct-9"}).account_id == "acct-9"
    spoofed = {"x-distillguard-account": "victim", "authorization": "Bearer sk-1"}
    assert RequestContext.from_openai(BODY, spoofed, trust_headers=False).account_id.startswith("key:")
    with pytest.raises(ValueError, match="no account for this request"):
        RequestContext.from_openai(BODY, {})
    # the template key ignores the slot values, not the wording
    other = {**BODY, "messages": [BODY["messages"][0], {"role": "user", "content":
                                                          "Solve 17x+2=99 and show every step of your reasoning."}]}
    assert ctx("x", body=other).template == ctx("x").template
    assert ctx("x", body={"messages": [{"role": "user", "content": "hi there"}]}).template is None


def test_decide_is_fast_in_process(engine):
    samples = {"member": ctx("a1"), "benign": ctx("u1"), "linked": ctx("n1", ip="45.32.1.1")}
    for c in samples.values():
        engine.decide(c)
    times = []
    for i in range(3000):
        c = samples[("member", "benign", "linked")[i % 3]]
        t = time.perf_counter_ns()
        engine.decide(c)
        times.append(time.perf_counter_ns() - t)
    times.sort()
    # targets are p50 <= 0.2 ms and p99 <= 1 ms; the p99 bound is loose for a shared CI machine
    assert times[len(times) // 2] < 200_000, times[len(times) // 2]
    assert times[int(len(times) * 0.99)] < 2_000_000


def test_load_scan_errors(tmp_path):
    e = Engine(Policy(), MemoryState())
    with pytest.raises(FileNotFoundError, match="scan output directory"):
        e.load_scan(tmp_path)
    (tmp_path / "accounts.csv").write_text("account_id,score\nx,0.1\n")
    (tmp_path / "campaigns.json").write_text("[]")
    with pytest.raises(ValueError, match="lacks the column"):
        e.load_scan(tmp_path)


def test_workspace_indicators_link_only_what_the_campaign_alone_shares(scan_dir):
    import duckdb

    con = duckdb.connect(str(scan_dir / "workspace.duckdb"))
    con.execute("CREATE TABLE account_indicators (account_id VARCHAR, indicator_type VARCHAR, indicator_value VARCHAR)")
    con.execute("CREATE TABLE ip_intel (ip VARCHAR, kind VARCHAR)")
    con.executemany("INSERT INTO account_indicators VALUES (?, ?, ?)", [
        ("a1", "ip", "45.32.9.9"), ("a2", "ip", "45.32.9.9"),        # two members: links
        ("a1", "ip", "100.64.0.1"), ("u1", "ip", "100.64.0.1"),      # shared with an outsider
        ("a1", "ip", "8.8.4.4"), ("b1", "ip", "8.8.4.4"),            # shared by two campaigns
        ("a1", "ip", "81.2.3.4"), ("a2", "ip", "81.2.3.4"),          # residential
        ("a2", "payment", "card-y"), ("a3", "payment", "card-y")])
    con.executemany("INSERT INTO ip_intel VALUES (?, ?)", [("45.32.9.9", "hosting"), ("81.2.3.4", "residential")])
    con.close()
    engine = Engine.from_config(None, scan=scan_dir)
    step_up = {ip for ip in ("45.32.9.9", "100.64.0.1", "8.8.4.4", "81.2.3.4")
               if engine.decide(ctx("newcomer-" + ip, ip=ip)).action is Action.STEP_UP}
    assert step_up == {"45.32.9.9"}
    assert engine.decide(ctx("newcomer-card", payment_fingerprint="card-y")).campaign_id == "camp-a"
    without = Engine.from_config(None)
    without.load_scan(scan_dir, use_workspace=False)
    assert without.decide(ctx("newcomer-x", ip="45.32.9.9")).action is Action.ALLOW


def test_ip_kind_condition(scan_dir):
    doc = {"rules": [{"name": "hosting-fanout", "when": {"ip_kind_in": ["hosting", "vpn"], "ip_accounts_min": 3},
                      "action": "monitor"}]}
    engine = Engine.from_config(doc, scan=scan_dir)
    cloud = [engine.decide(ctx(f"c{i}", ip="8.8.8.8")).action for i in range(3)]   # a cloud range
    office = [engine.decide(ctx(f"o{i}", ip="192.168.1.1")).action for i in range(3)]
    assert cloud == [Action.ALLOW, Action.ALLOW, Action.MONITOR] and set(office) == {Action.ALLOW}
