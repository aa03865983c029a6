"""Assemble the report page: one HTML file, its CSS and JS inline, nothing fetched when opened.

Everything that comes from the data (ids, indicators, evidence, reasons) is attacker-
controlled — it passes through `_e` (html.escape) on its way into the page, attributes included.
"""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from pathlib import Path
from string import Template
from typing import Any

from . import svg
from .load import Campaign, Scan, load

# Caps on what one panel shows, so that a huge campaign still gives a light, readable page.
MAX_NODES = 150
MAX_EDGES = 600
MAX_ROWS = 500


def write_report(scan_dir: str | Path, out_path: str | Path | None = None, workspace: Any = None) -> Path:
    """Write `scan_dir/report.html` (or `out_path`) from a scan output directory.

    `workspace` (a path to the DuckDB workspace, or an open Workspace) adds activity timelines
    and, where the table `account_links` exists, the graph's edges."""
    scan_dir = Path(scan_dir)
    out = Path(out_path) if out_path else scan_dir / "report.html"
    scan = load(scan_dir, workspace)
    out.write_text(render(scan, source=scan_dir.resolve().name), encoding="utf-8")
    return out


def render(scan: Scan, source: str) -> str:
    known = [t for c in scan.campaigns for t in (c.first_seen, c.last_seen) if t]
    window = (min(known), max(known)) if known else (None, None)
    figures = [("accounts scanned", _n(scan.accounts)), ("flagged", _n(scan.flagged)),
               ("campaigns", _n(len(scan.campaigns))), ("exchanges", _n(scan.exchanges))]
    unassigned = sorted(((a, r) for a, r in scan.account_rows.items() if r["flagged"] and not r["campaign_id"]),
                        key=lambda ar: -(ar[1]["score"] or 0))
    return PAGE.substitute(
        css=CSS, js=JS, source=_e(source),
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        figures="".join(f'<div class="figure"><div class="value">{v}</div><div class="label">{k}</div></div>'
                        for k, v in figures),
        campaign_table=_campaign_table(scan.campaigns, len(scan.detailed)),
        panels="".join(_panel(i, c, scan, window) for i, c in enumerate(scan.detailed))
        + (f'<p class="note">Full sections for the {len(scan.detailed):,} highest-scoring of {len(scan.campaigns):,} '
           'campaigns; campaigns.json and accounts.csv hold them all.</p>' if len(scan.detailed) < len(scan.campaigns) else ""),
        unassigned=_unassigned(unassigned),
    )


def _campaign_table(campaigns: list[Campaign], detailed: int) -> str:
    if not campaigns:
        return '<p class="muted">No campaigns detected.</p>'
    rows = []
    for i, c in enumerate(campaigns):
        caps = " · ".join(f"{_e(k)} {v:.0%}" for k, v in c.capabilities[:3])
        inds = ", ".join(f'<span class="mono">{_e(_ind(x))}</span>' for x in c.indicators[:3])
        if len(c.indicators) > 3:
            inds += f' <span class="muted">+{len(c.indicators) - 3}</span>'
        name = f'<a href="#c{i}">{_e(c.id)}</a>' if i < detailed else _e(c.id)  # a link where a section is
        rows.append(
            f'<tr><td class="mono nowrap">{name}</td>'
            f'<td class="num" data-v="{c.score or 0}">{_score(c.score)}</td>'
            f'<td class="num" data-v="{len(c.accounts)}">{len(c.accounts):,}</td>'
            f'<td class="num" data-v="{c.exchanges or 0}">{_n(c.exchanges)}</td>'
            f'<td class="nowrap" data-v="{_e(_iso(c.first_seen))}">{_e(_day(c.first_seen, c.first_seen_text))}</td>'
            f'<td class="nowrap" data-v="{_e(_iso(c.last_seen))}">{_e(_day(c.last_seen, c.last_seen_text))}</td>'
            f'<td>{caps}</td><td>{inds}</td></tr>')
    return ('<table class="sortable"><thead><tr><th>campaign</th><th data-type="num" class="num">score</th>'
            '<th data-type="num" class="num">accounts</th><th data-type="num" class="num">exchanges</th>'
            '<th>first seen</th><th>last seen</th><th>top capabilities</th><th>top indicators</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _panel(i: int, c: Campaign, scan: Scan, window: tuple) -> str:
    per_account = scan.account_exchanges or {}
    rows = scan.account_rows
    shown = sorted(c.accounts, key=lambda a: (-per_account.get(a, 0), -(rows.get(a, {}).get("score") or 0), a))
    shown = shown[:MAX_NODES]
    index = {a: k for k, a in enumerate(shown)}
    links = sorted((link for link in c.links if link[0] in index and link[1] in index and link[0] != link[1]),
                   key=lambda link: -link[2])
    nodes = [{"id": a, "exchanges": per_account.get(a, 0) if scan.account_exchanges is not None else 1,
              "score": rows.get(a, {}).get("score")} for a in shown]
    graph = svg.account_graph(nodes, [(index[a], index[b], w, s) for a, b, w, s in links[:MAX_EDGES]])
    cut = (f" Showing the {len(shown)} busiest of {len(c.accounts):,} accounts." if len(c.accounts) > len(shown)
           else "") + (f" Strongest {MAX_EDGES} of {len(links):,} links." if len(links) > MAX_EDGES else "")
    links_note = f"Edges: {scan.links_source}." if links else "No per-account links recorded for these accounts."
    size_note = "size: exchanges; " if scan.account_exchanges is not None else ""
    activity = (svg.timeline(c.timeline, c.bucket_seconds) if c.timeline
                else svg.span(c.first_seen, c.last_seen, *window))
    activity_title = ("Exchanges per " + ("hour" if c.bucket_seconds == 3600 else "day")) if c.timeline \
        else "Active span within the scan"
    evidence = "".join(f"<li>{_e(line)}</li>" for line in c.evidence) or '<li class="muted">None recorded.</li>'
    return f"""
<section class="panel" id="c{i}">
  <div class="panel-head">
    <h2 class="mono">{_e(c.id)}</h2><span class="badge {_level(c.score)}">score {_score(c.score)}</span>
    <span class="muted">{len(c.accounts):,} accounts · {_n(c.exchanges)} exchanges ·
      {_e(_day(c.first_seen, c.first_seen_text))} → {_e(_day(c.last_seen, c.last_seen_text))}</span>
  </div>
  <div class="grid">
    <div class="card"><h3>Account graph</h3>{graph}
      <p class="note">Node {size_note}colour: account score (grey &lt; 0.5, amber &lt; 0.8, red). {links_note}{cut}</p>
    </div>
    <div class="stack">
      <div class="card"><h3>{activity_title}</h3>{activity}</div>
      <div class="card"><h3>Capabilities</h3>{svg.capability_bars(c.capabilities[:12])}</div>
    </div>
  </div>
  <div class="grid">
    <div class="card"><h3>Indicators</h3>{_indicator_table(c)}</div>
    <div class="card"><h3>Evidence</h3><ul class="evidence">{evidence}</ul></div>
  </div>
  <details><summary>Accounts ({len(c.accounts):,})</summary>{_account_table(c.accounts, scan)}</details>
</section>"""


def _indicator_table(c: Campaign) -> str:
    if not c.indicators:
        return '<p class="muted">None listed.</p>'
    rows = "".join(f'<tr><td>{_e(x.kind) or "—"}</td><td class="mono">{_e(x.value)}</td>'
                   f'<td class="num">{len(x.accounts) if x.accounts is not None else "—"}</td></tr>'
                   for x in c.indicators[:MAX_ROWS])
    return ('<table class="compact"><thead><tr><th>kind</th><th>value</th><th class="num">accounts</th></tr>'
            f'</thead><tbody>{rows}</tbody></table>')


def _account_table(accounts: list[str], scan: Scan) -> str:
    per_account = scan.account_exchanges or {}
    rows = []
    for a in accounts[:MAX_ROWS]:
        r = scan.account_rows.get(a, {})
        rows.append(f'<tr><td class="mono">{_e(a)}</td><td class="num" data-v="{r.get("score") or 0}">'
                    f'{_score(r.get("score"))}</td><td class="num" data-v="{per_account.get(a, 0)}">'
                    f'{_n(per_account.get(a)) if scan.account_exchanges is not None else "—"}</td>'
                    f'<td class="mono">{_e(r.get("reasons", ""))}</td></tr>')
    more = (f'<p class="note">First {MAX_ROWS} of {len(accounts):,} shown; accounts.csv has them all.</p>'
            if len(accounts) > MAX_ROWS else "")
    return ('<table class="sortable compact"><thead><tr><th>account</th><th data-type="num" class="num">score</th>'
            '<th data-type="num" class="num">exchanges</th><th>reasons</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>{more}')


def _unassigned(rows: list[tuple[str, dict]]) -> str:
    if not rows:
        return ""
    body = "".join(f'<tr><td class="mono">{_e(a)}</td><td class="num" data-v="{r["score"] or 0}">'
                   f'{_score(r["score"])}</td><td class="mono">{_e(r["reasons"])}</td></tr>'
                   for a, r in rows[:MAX_ROWS])
    return (f'<section class="panel"><h2>Flagged outside any campaign ({len(rows):,})</h2>'
            '<table class="sortable compact"><thead><tr><th>account</th><th data-type="num" class="num">score'
            f'</th><th>reasons</th></tr></thead><tbody>{body}</tbody></table></section>')


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _ind(x) -> str:
    return f"{x.kind}:{x.value}" if x.kind else x.value


def _n(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _level(score: float | None) -> str:
    return "high" if (score or 0) >= 0.8 else "mid" if (score or 0) >= 0.5 else "low"


def _iso(t: datetime | None) -> str:
    return t.isoformat() if t else ""


def _day(t: datetime | None, raw: str) -> str:
    return t.strftime("%Y-%m-%d %H:%M") if t else (raw or "—")


PAGE = Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>distillguard scan report — $source</title>
<style>$css</style></head>
<body>
<header><h1>Distillation scan report</h1><p class="muted">Scan <span class="mono">$source</span> · generated $generated</p></header>
<section class="figures">$figures</section>
<section class="panel"><h2>Campaigns</h2>$campaign_table</section>
$panels
$unassigned
<footer class="muted">distillguard · a self-contained file: nothing is loaded from the network.</footer>
<script>$js</script>
</body></html>
""")

CSS = """
:root { --ink:#1f2933; --muted:#66788a; --line:#e1e5ea; --bg:#f5f6f8; --card:#fff; --accent:#3d5a80;
        --alert:#b5533c; --warn:#c99a3b; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1240px; padding: 28px 32px 48px; background: var(--bg); color: var(--ink);
       font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; font-weight: 600; }
h2 { font-size: 16px; margin: 0; font-weight: 600; }
h3 { font-size: 12px; margin: 0 0 8px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em;
     color: var(--muted); }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
.mono { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px;
        overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.nowrap { white-space: nowrap; overflow-wrap: normal; }
header { margin-bottom: 18px; }
.figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin-bottom: 18px; }
.figure { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 14px 16px; }
.figure .value { font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; }
.figure .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 18px 20px; overflow-x: auto;
         margin-bottom: 18px; }
.panel > h2 { margin-bottom: 12px; }
.panel-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 12px; margin-bottom: 14px; }
.badge { font-size: 12px; padding: 2px 8px; border-radius: 10px; font-weight: 600; color: #fff; }
.badge.high { background: var(--alert); } .badge.mid { background: var(--warn); } .badge.low { background: #8a99ad; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; margin-bottom: 14px; }
.stack { display: grid; gap: 14px; align-content: start; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; min-width: 0; }
.note { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; background: #fafbfc; white-space: nowrap; }
tbody tr:hover { background: #f7f9fb; }
.compact th, .compact td { padding: 4px 8px; font-size: 13px; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.sortable th { cursor: pointer; user-select: none; }
.sortable th[data-dir="asc"]::after { content: " ▲"; } .sortable th[data-dir="desc"]::after { content: " ▼"; }
details summary { cursor: pointer; color: var(--accent); font-weight: 600; margin: 4px 0 8px; }
ul.evidence { margin: 0; padding-left: 18px; } ul.evidence li { margin-bottom: 4px; }
svg { width: 100%; height: auto; display: block; }
svg .edge { stroke: #9aa5b1; stroke-opacity: .5; }
svg .node { stroke: #fff; stroke-width: 1; }
svg .nlabel { font: 9px ui-monospace, Menlo, Consolas, monospace; fill: #3e4c59; }
svg .axis { font-size: 10px; fill: var(--muted); }
svg .bar { fill: var(--accent); opacity: .85; }
svg .window { fill: #e6e9ee; }
svg .baseline { stroke: var(--line); }
footer { margin-top: 24px; font-size: 12px; }
@media (max-width: 900px) { .grid, .figures { grid-template-columns: 1fr; } }
@media print { body { background: #fff; } .panel { break-inside: avoid; } }
"""

# Sorts any table.sortable by the clicked column; numeric columns sort on data-v.
JS = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var dir = th.dataset.dir === 'desc' ? 'asc' : 'desc';
      table.querySelectorAll('th').forEach(function (h) { delete h.dataset.dir; });
      th.dataset.dir = dir;
      var numeric = th.dataset.type === 'num';
      var body = table.tBodies[0];
      var key = function (row) {
        var cell = row.cells[col];
        var v = cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent;
        return numeric ? parseFloat(v) || 0 : v.toLowerCase();
      };
      Array.prototype.slice.call(body.rows).sort(function (a, b) {
        var x = key(a), y = key(b), c = x < y ? -1 : x > y ? 1 : 0;
        return dir === 'asc' ? c : -c;
      }).forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""
