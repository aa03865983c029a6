import csv
import json
import random

import pytest
from rich.console import Console
from sklearn.metrics import roc_auc_score

from distillguard.evaluate import evaluate
from distillguard.evaluate.metrics import _auroc
from tests.conftest import write_csv

# account -> (label, campaign, archetype)
TRUTH = {
    "a1": ("distill", "camp-A", "reasoning_harvest"), "a2": ("distill", "camp-A", "reasoning_harvest"),
    "a3": ("distill", "camp-A", "reasoning_harvest"), "a4": ("distill", "camp-A", "reasoning_harvest"),
    "a5": ("distill", "camp-A", "reasoning_harvest"),
    "h1": ("distill", "camp-H", "hydra_proxy"), "h2": ("distill", "camp-H", "hydra_proxy"),
    "e1": ("benign", "", "enterprise"), "e2": ("benign", "", "enterprise"),
    **{f"u{i}": ("benign", "", "chat_user") for i in range(1, 6)},
}
PERFECT = {a: (1.0, "X" if c == "camp-A" else "Y") if lab == "distill" else (0.1, "")
           for a, (lab, c, _) in TRUTH.items()}



@pytest.fixture
def truth(tmp_path):
    """Truth: accounts above; 4 exchanges each; the hydra accounts mix harvest (even) and normal (odd)."""
    d = tmp_path / "truth"
    d.mkdir()
    write_csv(d / "truth_accounts.csv", ["account_id", "label", "campaign", "archetype"],
              [(a, *v) for a, v in TRUTH.items()])
    rows = []
    for a, (label, _, _) in TRUTH.items():
        for i in range(4):
            distill = (i % 2 == 0) if a.startswith("h") else label == "distill"
            rows.append((f"{a}-r{i}", a, int(distill)))
    write_csv(d / "truth_exchanges.csv", ["request_id", "account_id", "is_distill"], rows)
    return d


def make_scan(root, accounts, exchange_score=None, campaigns=True):
    """accounts: id -> (score, campaign_id); flagged where a campaign id or score >= 0.5."""
    d = root / "scan"
    d.mkdir(exist_ok=True)
    write_csv(d / "accounts.csv", ["account_id", "score", "flagged", "campaign_id", "reasons"],
              [(a, s, "true" if c or s >= 0.5 else "false", c, "") for a, (s, c) in accounts.items()])
    if exchange_score:
        write_csv(d / "exchanges.csv", ["request_id", "account_id", "score"],
                  [(f"{a}-r{i}", a, exchange_score(a, i)) for a in TRUTH for i in range(4)])
    if campaigns:
        ids = sorted({c for _, c in accounts.values() if c})
        (d / "campaigns.json").write_text(json.dumps([{"campaign_id": c} for c in ids]))
    return d


def perfect_exchange(a, i):
    return 0.9 if (TRUTH[a][0] == "distill" and not (a.startswith("h") and i % 2)) else 0.2


def target(report, prefix):
    return next(t for t in report.targets if t.name.startswith(prefix))


def test_perfect_scan(truth, tmp_path):
    r = evaluate(truth, make_scan(tmp_path, PERFECT, perfect_exchange))
    assert (r.precision, r.recall, r.f1) == (1, 1, 1)
    assert r.ari_distill == r.ari_flagged == 1
    assert r.benign_fpr == 0 and r.archetypes_with_fp == []
    assert r.detected_campaigns == ["camp-H", "camp-A"] and r.missed_campaigns == []
    assert r.account_auroc == r.exchange_auroc == r.hydra_exchange_auroc == 1
    assert r.hydra_accounts == 2 and r.truth_exchanges == 4 * len(TRUTH)
    assert all(t.met for t in r.targets) and r.targets_met
    json.dumps(r.to_dict())  # serialisable as is


def test_one_enterprise_flagged(truth, tmp_path):
    r = evaluate(truth, make_scan(tmp_path, {**PERFECT, "e1": (0.7, "")}, perfect_exchange))
    assert r.fp == 1 and r.precision == pytest.approx(7 / 8)
    enterprise = next(a for a in r.benign_by_archetype if a.archetype == "enterprise")
    assert (enterprise.flagged, enterprise.total, enterprise.rate) == (1, 2, 0.5)
    assert r.archetypes_with_fp == ["enterprise"]
    assert r.benign_fpr == pytest.approx(1 / 7)
    protected = target(r, "no benign flagged")
    assert protected.met is False and "enterprise 1/2" in protected.detail
    assert target(r, "benign flagged").met is False
    assert not r.targets_met
    console = Console(record=True, width=200)
    console.print(r)
    assert "NOT met" in console.export_text()


def test_split_campaign_lowers_ari(truth, tmp_path):
    split = {**PERFECT, "a4": (1.0, "X2"), "a5": (1.0, "X2")}
    r = evaluate(truth, make_scan(tmp_path, split, perfect_exchange))
    assert r.recall == 1 and r.ari_distill < 1 and r.ari_flagged < 1
    assert r.predicted_campaigns == 3


def test_campaign_detected_needs_80_percent(truth, tmp_path):
    scan = {**PERFECT, "a5": (0.2, "")}  # 4 of 5 flagged: exactly 80%
    assert "camp-A" in evaluate(truth, make_scan(tmp_path, scan)).detected_campaigns
    scan["a4"] = (0.2, "")  # 3 of 5
    r = evaluate(truth, make_scan(tmp_path, scan))
    camp = next(c for c in r.campaigns if c.campaign == "camp-A")
    assert (camp.flagged, camp.recall, camp.detected) == (3, 0.6, False)
    assert r.archetypes_detected == {"hydra_proxy": True, "reasoning_harvest": False}
    archetypes = target(r, "every campaign archetype")
    assert archetypes.met is False and archetypes.detail == "reasoning_harvest"


def test_hydra_auroc_only_over_mixed_accounts(truth, tmp_path):
    rng = random.Random(5)
    scores = {(a, i): round(rng.random(), 1) for a in TRUTH for i in range(4)}  # coarse: many ties
    r = evaluate(truth, make_scan(tmp_path, PERFECT, lambda a, i: scores[a, i]))
    labels = {(a, i): int((i % 2 == 0) if a.startswith("h") else TRUTH[a][0] == "distill")
              for a in TRUTH for i in range(4)}
    keys = list(labels)
    hydra = [k for k in keys if k[0].startswith("h")]
    assert r.exchange_auroc == pytest.approx(roc_auc_score([labels[k] for k in keys], [scores[k] for k in keys]))
    assert r.hydra_exchange_auroc == pytest.approx(
        roc_auc_score([labels[k] for k in hydra], [scores[k] for k in hydra]))
    assert r.hydra_accounts == 2


def test_hydra_found_from_data_not_archetype_name(truth, tmp_path):
    rows = list(csv.reader(open(truth / "truth_accounts.csv")))
    write_csv(truth / "truth_accounts.csv", rows[0], [r[:3] + ["renamed"] if r[0].startswith("h") else r
                                                      for r in rows[1:]])
    r = evaluate(truth, make_scan(tmp_path, PERFECT, perfect_exchange))
    assert r.hydra_accounts == 2 and r.hydra_exchange_auroc == 1


def test_missing_extra_and_empty_campaigns(truth, tmp_path):
    scan = {a: v for a, v in PERFECT.items() if a != "a1"}  # a1 absent: not flagged, score 0
    scan["zz-not-in-truth"] = (0.99, "X")
    scan["h2"] = (0.9, "")  # flagged with no campaign
    r = evaluate(truth, make_scan(tmp_path, scan, campaigns=False))
    assert (r.missing_from_scan, r.extra_in_scan) == (1, 1)
    assert (r.tp, r.fn, r.fp) == (6, 1, 0)
    assert r.recall == pytest.approx(6 / 7)
    assert r.exchange_note == "exchanges.csv absent from the scan"
    assert r.exchange_auroc is None and r.hydra_exchange_auroc is None
    assert target(r, "exchange AUROC inside hydra").met is False
    assert 0 < r.ari_distill < 1


def test_scan_with_no_campaigns(truth, tmp_path):
    scan = {a: (s, "") for a, (s, _) in PERFECT.items()}
    r = evaluate(truth, make_scan(tmp_path, scan, perfect_exchange))
    assert r.recall == 1 and r.predicted_campaigns == 0
    assert r.ari_distill == 0  # every account its own cluster against two real campaigns
    Console(record=True).print(r)


def test_without_truth_exchanges(truth, tmp_path):
    (truth / "truth_exchanges.csv").unlink()
    r = evaluate(truth, make_scan(tmp_path, PERFECT, perfect_exchange))
    assert r.exchange_auroc is None and r.hydra_accounts == 0
    assert target(r, "exchange AUROC inside hydra").met is None
    assert r.targets_met


def test_missing_scan_accounts_is_an_error(truth, tmp_path):
    with pytest.raises(FileNotFoundError, match="accounts.csv"):
        evaluate(truth, tmp_path)


def test_auroc_matches_sklearn_with_ties():
    import duckdb

    rng = random.Random(11)
    rows = [(round(rng.random(), 1), rng.random() < 0.3) for _ in range(500)]
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t (s DOUBLE, y BOOLEAN)")
        con.executemany("INSERT INTO t VALUES (?, ?)", rows)
        got = _auroc(con, "SELECT s, y::INT AS p, (NOT y)::INT AS n FROM t")
        assert _auroc(con, "SELECT s, 1 AS p, 0 AS n FROM t") is None  # one class only
    assert got == pytest.approx(roc_auc_score([y for _, y in rows], [s for s, _ in rows]))
