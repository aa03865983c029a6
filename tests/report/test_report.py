import json
import re

import numpy as np
import pytest

from distillguard.report import write_report
from distillguard.report.load import _indicators
from distillguard.report.svg import layout
from distillguard.workspace import Workspace
from tests.conftest import write_csv

EVIL = "camp-<script>alert(1)</script>"
CAMPAIGNS = [
    {"campaign_id": "camp-alpha", "score": 0.97, "accounts": ["a1", "a2", "a3"], "exchanges": 9,
     "first_seen": "2026-02-02T03:00:00Z", "last_seen": "2026-02-03T05:00:00Z",
     "capabilities": {"reasoning": 0.6, "coding": 0.4},
     "indicators": [{"kind": "ip", "value": "203.0.113.9", "accounts": ["a1", "a2"]},
                    {"type": "payment", "id": "fp_1", "accounts": ["a1", "a2", "a3"]}, "template:tmpl-7"],
     "evidence": ["3 accounts share one card", '<img src=x onerror="alert(2)">']},
    {"campaign_id": EVIL, "score": 0.81, "accounts": ["b1", "b2"], "exchanges": 4,
     "first_seen": "2026-02-02T10:00:00Z", "last_seen": "2026-02-02T12:00:00Z",
     "capabilities": {"<b>vision</b>": 1.0}, "indicators": {"asn": ["AS64500"]}, "evidence": []},
]
ACCOUNTS = [("a1", 0.9, "true", "camp-alpha", "sync;card"), ("a2", 0.85, "true", "camp-alpha", "sync"),
            ("a3", 0.7, "true", "camp-alpha", "card"), ("b1", 0.8, "true", EVIL, "x"), ("b2", 0.8, "true", EVIL, ""),
            ("c1", 0.6, "true", "", "<i>odd</i>"), ("u1", 0.1, "false", "", ""), ("u2", 0.0, "false", "", "")]



@pytest.fixture
def scan(tmp_path):
    d = tmp_path / "scan"
    d.mkdir()
    write_csv(d / "accounts.csv", ["account_id", "score", "flagged", "campaign_id", "reasons"], ACCOUNTS)
    (d / "campaigns.json").write_text(json.dumps(CAMPAIGNS))
    write_csv(d / "exchanges.csv", ["request_id", "account_id", "score"],
              [(f"r{i}", a, 0.5) for i, a in enumerate(["a1"] * 5 + ["a2"] * 3 + ["a3", "b1", "u1", "u2"])])
    return d


def test_report_is_self_contained_and_escaped(scan):
    out = write_report(scan)
    assert out == scan / "report.html"
    html = out.read_text()
    assert "camp-alpha" in html and "camp-&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html and "<img src=x" not in html and "<b>vision" not in html
    assert "<i>odd</i>" not in html and "&lt;i&gt;odd&lt;/i&gt;" in html  # flagged outside any campaign
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<(link|img|iframe)\b|<script[^>]*\bsrc|@import|url\(", html)
    assert html.count("<script>") == 1  # the page's own sorting script
    assert re.search(r'class="value">12</div><div class="label">exchanges', html)
    assert re.search(r'class="value">6</div><div class="label">flagged', html)


def test_graph_edges_from_indicators(scan):
    html = write_report(scan).read_text()
    alpha = html.split('id="c0"')[1].split('id="c1"')[0]
    # a1–a2 share the IP and the card; a1–a3 and a2–a3 the card: three edges.
    assert alpha.count('<line class="edge"') == 3
    assert alpha.count('<circle class="node"') == 3
    assert "ip:203.0.113.9, payment:fp_1" in alpha
    assert 'class="span"' in alpha  # no workspace: first/last seen bar


@pytest.mark.parametrize("as_object", [False, True])
def test_workspace_adds_timeline_and_links(scan, tmp_path, as_object):
    path = tmp_path / "ws.duckdb"
    with Workspace.open(path) as ws:
        for i, (a, ts) in enumerate([("a1", "2026-02-02 03:10:00+00"), ("a1", "2026-02-02 03:50:00+00"),
                                     ("a2", "2026-02-02 06:20:00+00"), ("b1", "2026-02-02 10:05:00+00")]):
            ws.backend.execute("INSERT INTO exchanges (request_id, ts, account_id) VALUES (?, ?, ?)",
                               [f"w{i}", ts, a])
        ws.backend.execute("""CREATE TABLE account_links AS SELECT * FROM (VALUES
            ('a1', 'a3', 2.0, ['ip:198.51.100.4']), ('a1', 'zz', 1.0, ['ip:x'])) t(account_a, account_b, weight, shared)""")
        if as_object:
            out = write_report(scan, tmp_path / "r.html", workspace=ws)
    if not as_object:
        out = write_report(scan, tmp_path / "r.html", workspace=path)
    assert out == tmp_path / "r.html"
    html = out.read_text()
    alpha = html.split('id="c0"')[1].split('id="c1"')[0]
    assert "Exchanges per hour" in alpha
    bars = re.search(r'<svg class="timeline".*?</svg>', alpha)[0]
    assert bars.count('<rect class="bar"') == 4  # 03:00, 04:00 and 05:00 empty, 06:00
    assert alpha.count('<line class="edge"') == 1  # only the link inside the campaign
    assert "account links in the workspace" in alpha
    # counted in the workspace, not by parsing exchanges.csv (12 rows here)
    assert re.search(r'class="value">4</div><div class="label">exchanges', html)


def test_without_campaigns_json_or_exchanges(scan):
    (scan / "campaigns.json").unlink()
    (scan / "exchanges.csv").unlink()
    html = write_report(scan).read_text()
    assert "camp-alpha" in html and "camp-&lt;script&gt;" in html  # rebuilt from accounts.csv
    assert re.search(r'class="value">—</div><div class="label">exchanges', html)


def test_no_campaigns(tmp_path):
    write_csv(tmp_path / "accounts.csv", ["account_id", "score", "flagged", "campaign_id", "reasons"],
              [("u1", 0.1, "false", "", "")])
    (tmp_path / "campaigns.json").write_text("[]")
    assert "No campaigns detected." in write_report(tmp_path).read_text()


def test_indicator_shapes():
    got = _indicators(["ip:203.0.113.9", "fe80::1", {"type": "card", "value": "fp", "accounts": ["a"]}])
    assert [(i.kind, i.value, i.accounts) for i in got] == [("ip", "203.0.113.9", None), ("", "fe80::1", None),
                                                          ("card", "fp", ["a"])]
    got = _indicators({"asn": ["AS1", "AS2"], "template": "t-1"})
    assert [(i.kind, i.value) for i in got] == [("asn", "AS1"), ("asn", "AS2"), ("template", "t-1")]
    assert _indicators(None) == []


def test_layout_is_deterministic_and_in_bounds():
    edges = [(0, 1, 1.0), (1, 2, 2.0), (3, 4, 1.0)]
    pos = layout(6, edges)
    assert pos.shape == (6, 2) and pos.min() >= 0 and pos.max() <= 1
    assert np.array_equal(pos, layout(6, edges))
    assert layout(1, []).tolist() == [[0.5, 0.5]]


def test_only_the_highest_scoring_campaigns_get_a_full_section(scan, monkeypatch):
    # A large scan finds thousands of campaigns: the table lists every one, sections go to the top ones.
    monkeypatch.setattr("distillguard.report.load.DETAILED", 1)
    html = write_report(scan).read_text()
    assert 'id="c0"' in html and 'id="c1"' not in html
    assert 'href="#c0"' in html and 'href="#c1"' not in html
    assert "camp-&lt;script&gt;alert(1)&lt;/script&gt;" in html   # still in the table
    assert "Full sections for the 1 highest-scoring of 2 campaigns" in html
