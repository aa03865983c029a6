import pytest
import yaml
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.enforce import Action, Engine, load_policy
from distillguard.enforce.testing import serve
from distillguard.enforce.webhook import create_app
from tests.enforce.helpers import ctx

runner = CliRunner()


def test_check_policy(tmp_path, scan_dir):
    ok = runner.invoke(app, ["enforce", "check-policy", "--scan", str(scan_dir)])
    assert ok.exit_code == 0, ok.output
    assert "campaign-confirmed:" in ok.output and "2 campaigns" in ok.output and "policy OK" in ok.output
    bad = tmp_path / "p.yaml"
    bad.write_text(yaml.safe_dump({"rules": [{"name": "x", "when": {"flagged": True}, "action": "throttle"}],
                                   "state": {"backend": "memcached"}}))
    r = runner.invoke(app, ["enforce", "check-policy", str(bad)])
    assert r.exit_code == 2
    assert "state.backend" in r.output and "rules.0" in r.output and "needs 'limit" in r.output


def test_verify_and_clear_through_a_running_service(scan_dir, monkeypatch):
    engine = Engine.from_config(None, scan=scan_dir, secret=b"cli")
    ref = engine.decide(ctx("a1")).reference
    with serve(create_app(engine, admin_token="tok")) as url:
        r = runner.invoke(app, ["enforce", "verify", "a1", "--reference", "DG-WRONG", "--url", url, "--token", "tok"])
        assert r.exit_code == 2 and "not issued" in r.output
        monkeypatch.setenv("DISTILLGUARD_ADMIN_TOKEN", "tok")
        r = runner.invoke(app, ["enforce", "verify", "a1", "--reference", ref, "--url", url])
        assert r.exit_code == 0, r.output
        assert not engine.decide(ctx("a1")).blocked
        r = runner.invoke(app, ["enforce", "clear", "camp-a", "--analyst", "analyst-1", "--note", "appeal upheld",
                                "--url", url])
        assert r.exit_code == 0 and "cleared campaign camp-a" in r.output
    assert engine.decide(ctx("a2")).action is Action.ALLOW
    assert [e["event"] for e in engine.audit()] == ["clear", "verify"]


def test_override_remove_and_audit_through_a_running_service(scan_dir, monkeypatch):
    engine = Engine.from_config(None, scan=scan_dir, secret=b"cli")
    monkeypatch.setenv("DISTILLGUARD_ADMIN_TOKEN", "tok")
    with serve(create_app(engine, admin_token="tok")) as url:
        r = runner.invoke(app, ["enforce", "override", "u1", "--action", "suspend", "--analyst", "analyst-1",
                                "--note", "case 9: [b]shared card[/b]", "--for", "7d", "--url", url])
        assert r.exit_code == 0 and "account u1: suspend for 7d" in r.output, r.output
        assert runner.invoke(app, ["enforce", "override", "u1", "--action", "suspend", "--analyst", "a",
                                   "--note", "n", "--for", "a week", "--url", url]).exit_code == 2
        assert engine.decide(ctx("u1")).action is Action.SUSPEND
        bad = runner.invoke(app, ["enforce", "override", "u1", "--action", "throttle", "--analyst", "a",
                                  "--note", "n", "--url", url])
        assert bad.exit_code == 2   # throttling needs a budget: not an override
        r = runner.invoke(app, ["enforce", "remove-override", "u1", "--analyst", "analyst-1", "--note", "resolved",
                                "--url", url])
        assert r.exit_code == 0, r.output
        assert engine.decide(ctx("u1")).action is Action.ALLOW
        r = runner.invoke(app, ["enforce", "audit", "--url", url])
        assert r.exit_code == 0, r.output
        lines = r.output.splitlines()
        assert "remove_override  account u1  by analyst-1: resolved" in lines[0]   # newest first
        assert "override -> suspend until " in lines[1]
        assert "account u1  by analyst-1: case 9: [b]shared card[/b]" in lines[1]   # as typed
    assert [e["event"] for e in engine.audit()] == ["remove_override", "override"]


def test_direct_needs_shared_state(scan_dir):
    r = runner.invoke(app, ["enforce", "clear", "a1", "--analyst", "x", "--note", "y"])
    assert r.exit_code == 2 and "shared state" in r.output


@pytest.mark.redis
def test_direct_on_redis(redis_url, scan_dir, tmp_path):
    doc = load_policy(None).model_dump(mode="json")
    doc["state"].update(backend="redis", redis_url=redis_url)
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(doc))
    r = runner.invoke(app, ["enforce", "clear", "camp-a", "--analyst", "a", "--note", "n", "-p", str(policy),
                            "--scan", str(scan_dir)])
    assert r.exit_code == 0, r.output
    gateway = Engine.from_config(policy, scan=scan_dir)  # another process of the fleet
    assert gateway.decide(ctx("a1")).reasons == ("CLEARED",)
