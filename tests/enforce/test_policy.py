import pytest

from distillguard.enforce import Action, PolicyError, load_policy
from distillguard.enforce.policy import policy_summary


def test_shipped_default_is_valid_and_conservative():
    p = load_policy(None)
    assert p.state.on_error == "fail_open"
    names = [r.name for r in p.rules]
    assert len(names) == len(set(names)) >= 5
    # purely online rules never do more than monitor: one NAT can hold a classroom or an enterprise
    for r in p.rules:
        if r.when.online and not ({"campaign_member", "flagged", "linked_via_any"} & r.when.model_fields_set):
            assert r.action in (Action.ALLOW, Action.MONITOR), r.name
    assert not any(r.action is Action.SUSPEND for r in p.rules)
    assert len(policy_summary(p)) == len(p.rules) + 1


@pytest.mark.parametrize("doc, expected", [
    ({"rules": [{"name": "x", "when": {"flaged": True}, "action": "monitor"}]}, "rules.0.when.flaged: unknown field"),
    ({"rules": [{"name": "x", "when": {"flagged": True}, "action": "throttle"}]}, "needs 'limit"),
    ({"rules": [{"name": "x", "when": {"flagged": True}, "action": "monitor", "limit": {"requests": 3}}]},
     "'limit' only applies to throttle"),
    ({"rules": [{"name": "x", "when": {}, "action": "monitor"}]}, "at least one condition"),
    ({"rules": [{"name": "x", "when": {"flagged": True}, "action": "ban"}]}, "rules.0.action"),
    ({"rules": [{"name": "x", "when": {"flagged": True}, "action": "monitor"},
                {"name": "x", "when": {"flagged": False}, "action": "allow"}]}, "repeated: x"),
    ({"allow": {"networks": ["10.0.0.0/33"]}}, "allow.networks: '10.0.0.0/33' is not an IP network"),
    ({"state": {"on_error": "ignore"}}, "state.on_error"),
    ({"state": {"socket_timeout_ms": 0}}, "state.socket_timeout_ms"),
    ({"rules": [{"name": "x", "when": {"campaign_score_min": 1.5}, "action": "monitor"}]},
     "rules.0.when.campaign_score_min"),
    ({"linking": {"types": ["ip", "email"]}}, "linking.types.1"),
    ({"version": 2}, "version"),
])
def test_bad_policies_fail_with_the_field_named(doc, expected):
    with pytest.raises(PolicyError) as e:
        load_policy(doc)
    assert expected in str(e.value)
    assert str(e.value).startswith("invalid policy <dict>:")


def test_bad_files(tmp_path):
    with pytest.raises(PolicyError, match="cannot read policy"):
        load_policy(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [unclosed\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(bad)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(PolicyError, match="must be a mapping"):
        load_policy(bad)
    bad.write_text("rules:\n  - name: Bad Name\n    when: {flagged: true}\n    action: monitor\n")
    with pytest.raises(PolicyError, match=f"invalid policy {bad}:\n  rules.0.name"):
        load_policy(bad)
