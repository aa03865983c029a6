"""End to end: simulated logs → scan → output contract, report, explain, eval."""

import csv
import json

import pytest
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.evaluate import evaluate
from distillguard.report.explain import explain_account
from distillguard.scan import scan
from distillguard.simulate import simulate
from distillguard.workspace import Workspace


@pytest.mark.slow
def test_scan_end_to_end(tmp_path):
    logs = tmp_path / "logs"
    simulate(logs, accounts=250, days=2, seed=31, fmt="jsonl.gz")
    result = scan(logs / "exchanges.jsonl.gz", tmp_path / "scan", accounts=logs / "accounts.jsonl")
    assert set(result.files) == {"accounts.csv", "campaigns.json", "exchanges.csv", "report.html"}
    with open(result.files["accounts.csv"]) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == result.accounts and sum(r["flagged"] == "true" for r in rows) == result.flagged
    campaigns = json.loads(result.files["campaigns.json"].read_text())
    assert len(campaigns) == result.campaigns >= 1
    assert {r["campaign_id"] for r in rows if r["campaign_id"]} == {c["campaign_id"] for c in campaigns}

    report = evaluate(logs, tmp_path / "scan")
    figures = report.to_dict()
    assert figures["recall"] > 0.5 and figures["precision"] > 0.5

    flagged = next(r["account_id"] for r in rows if r["flagged"] == "true")
    with Workspace.open(tmp_path / "scan" / "workspace.duckdb") as ws:
        assert explain_account(ws, flagged) is not None
        with pytest.raises(LookupError):
            explain_account(ws, "no-such-account")
    out = CliRunner().invoke(app, ["explain", flagged, "-w", str(tmp_path / "scan" / "workspace.duckdb")])
    assert out.exit_code == 0 and "Why this score" in out.output


@pytest.mark.slow
def test_phases_in_child_processes_give_what_one_process_gives(tmp_path):
    logs = tmp_path / "logs"
    simulate(logs, accounts=150, days=1, seed=47)
    args = (logs / "exchanges.jsonl.gz",)
    seen = []
    alone = scan(*args, tmp_path / "alone", accounts=logs / "accounts.jsonl", report=False, isolate=True,
                 progress=lambda stage, done, total: seen.append(stage))
    together = scan(*args, tmp_path / "together", accounts=logs / "accounts.jsonl", report=False, isolate=False)
    for name in ("accounts.csv", "campaigns.json"):
        assert alone.files[name].read_text() == together.files[name].read_text()
    assert (alone.accounts, alone.flagged, alone.campaigns) == (together.accounts, together.flagged, together.campaigns)
    assert alone.isolated and not together.isolated
    assert set(alone.seconds) == set(together.seconds) and alone.ingest[0].inserted == together.ingest[0].inserted
    assert {"ingest", "capabilities", "linkage"} <= set(seen)  # progress comes back from the children


def test_a_phase_failing_in_its_process_raises_here(tmp_path):
    from distillguard.ingest import InputError

    with pytest.raises(InputError, match="no input files"):
        scan(tmp_path / "nothing-here", tmp_path / "out", isolate=True)
