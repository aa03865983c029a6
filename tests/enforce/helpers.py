"""A hand-made scan output and request helpers shared by the enforcement tests."""

import csv
import json

CAMPAIGNS = [
    {"campaign_id": "camp-a", "score": 0.97, "accounts": ["a1", "a2", "a3"], "exchanges": 900,
     "indicators": [{"type": "ip", "value": "45.32.1.1", "network_kind": "hosting", "account_count": 3},
                    {"type": "ip", "value": "98.0.0.1", "network_kind": "residential", "account_count": 2},
                    {"type": "payment", "value": "card-x", "account_count": 3},
                    {"type": "template", "value": "123", "account_count": 3}]},
    {"campaign_id": "camp-b", "score": 0.6, "accounts": ["b1", "b2"], "exchanges": 300, "indicators": []},
]
ACCOUNTS = [("a1", 0.99, "true", "camp-a", "CAMPAIGN_MEMBER;HOSTING_IPS"), ("a2", 0.98, "true", "camp-a", ""),
            ("a3", 0.97, "true", "camp-a", ""), ("b1", 0.7, "true", "camp-b", ""), ("b2", 0.65, "true", "camp-b", ""),
            ("f1", 0.8, "true", "", "HARVEST_CONTENT"), ("u1", 0.01, "false", "", ""),
            ("u2", 0.02, "false", "", ""), ("u3", 0.3, "false", "", "")]


def write_scan(path):
    path.mkdir(parents=True, exist_ok=True)
    with open(path / "accounts.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["account_id", "score", "flagged", "campaign_id", "reasons"])
        w.writerows(ACCOUNTS)
    (path / "campaigns.json").write_text(json.dumps(CAMPAIGNS))
    return path


BODY = {"model": "frontier-large", "max_tokens": 4096, "n": 4, "logprobs": True, "top_logprobs": 5,
        "reasoning_effort": "high",
        "messages": [{"role": "system", "content": "You are a tutor."},
                     {"role": "user", "content": "Solve 3x+5=20 and show every step of your reasoning."}]}


def ctx(account, ip="203.0.113.7", ts=None, body=None, **kw):
    from distillguard.enforce import RequestContext

    return RequestContext.from_openai(body or BODY, {"x-distillguard-account": account}, ip,
                                      ts=1_770_000_000.0 if ts is None else ts, **kw)
