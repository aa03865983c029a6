"""`explain ACCOUNT`: an account's fingerprint and the strongest reasons behind its score, for an analyst."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Group
from rich.table import Table

from ..scoring.features import ACCOUNT_FEATURES, ACCOUNT_SQL, catalogue, feature_sql
from ..scoring.score import load_model, matrix
from ..workspace import Workspace

_SHOWN = ["exchanges", "active_days", "exchanges_per_active_day", "first_seen", "last_seen", "models_used",
          "single_turn_share", "tools_share", "image_share", "quietest_8h_share", "session_gap_cv",
          "top_capability_share", "capability_coverage", "shared_template_share", "distinct_ips",
          "ip_hosting_share", "ip_residential_share", "ip_mobile_share", "new_model_pivot_hours",
          "account_type", "verified", "payment_fingerprint", "org_id"]


def _has(ws: Workspace, table: str) -> bool:
    return ws.backend.table_exists(table)


def explain_account(ws: Workspace, account: str, top: int = 5) -> Group:
    if not _has(ws, "account_features"):
        raise LookupError("no fingerprints in this workspace: run `distillguard fingerprint` or `scan` first")
    features = ws.sql("SELECT * FROM account_features WHERE account_id = ?", [account]).to_pylist()
    if not features:
        raise LookupError(f"account {account!r} has no traffic in this workspace")
    parts = []
    verdict = ws.sql("SELECT * FROM account_verdicts WHERE account_id = ?", [account]).to_pylist() \
        if _has(ws, "account_verdicts") else []
    score = ws.sql("SELECT score, reasons FROM account_scores WHERE account_id = ?", [account]).to_pylist() \
        if _has(ws, "account_scores") else []
    head = Table(show_header=False, title=f"Account {account}")
    if verdict:
        v = verdict[0]
        head.add_row("verdict", "[red]FLAGGED[/red]" if v["flagged"] else "[green]not flagged[/green]")
        head.add_row("campaign", v["campaign_id"] or "—")
        head.add_row("score", f"{v['score']:.3f}")
    if score:
        head.add_row("account score", f"{score[0]['score']:.3f}")
        head.add_row("reasons", score[0]["reasons"] or "—")
    parts.append(head)

    if _has(ws, "account_scores"):
        parts.append(_contributions(ws, account, top))
    fp = Table("feature", "value", title="Behaviour fingerprint")
    for name in _SHOWN:
        value = features[0].get(name)
        fp.add_row(name, f"{value:.3f}" if isinstance(value, float) else str(value if value is not None else "—"))
    parts.append(fp)
    caps = ws.sql("""SELECT c.capability, count(*) AS n FROM exchanges e JOIN exchange_capabilities c USING (request_id)
                     WHERE e.account_id = ? GROUP BY 1 ORDER BY n DESC LIMIT 6""", [account]).to_pylist()
    total = sum(c["n"] for c in caps) or 1
    parts.append(Group(*["Capabilities: " + ", ".join(f"{c['capability']} {c['n'] / total:.0%}" for c in caps)]))
    if _has(ws, "account_linkage"):
        links = ws.sql("SELECT cluster_id, top_links FROM account_linkage WHERE account_id = ?", [account]).to_pylist()
        if links and links[0]["top_links"]:
            parts.append(Group(*["Strongest links:"] + [f"  {l}" for l in links[0]["top_links"][:top]]))
    if _has(ws, "exchange_scores"):
        ex = Table("request", "score", "reasons", "prompt", "source", title="Most harvest-like exchanges")
        for r in ws.sql("""SELECT s.request_id, s.score, s.reasons, left(coalesce(e.last_user_message, ''), 70) AS prompt,
                                  e.source_file, e.source_line
                           FROM exchange_scores s JOIN exchanges e USING (request_id)
                           WHERE s.account_id = ? ORDER BY s.score DESC LIMIT ?""", [account, top]).to_pylist():
            ex.add_row(r["request_id"], f"{r['score']:.2f}", r["reasons"] or "", r["prompt"],
                       f"{Path(r['source_file']).name}:{r['source_line']}")
        parts.append(ex)
    return Group(*parts)


def _contributions(ws: Workspace, account: str, top: int) -> Table:
    """What pushed the account score up or down, feature by feature."""
    model = load_model("account")
    rows = ws.sql(f"SELECT * FROM ({feature_sql(ACCOUNT_SQL, ACCOUNT_FEATURES)}) WHERE account_id = ?", [account])
    x = matrix(rows, model.features)
    contrib = model.contributions(x)[0]
    names = catalogue(ACCOUNT_FEATURES)
    out = Table("reason", "contribution", "value", "meaning", title="Why this score (largest first)")
    for i in np.argsort(-np.abs(contrib))[:top]:
        f = names[model.features[i]]
        out.add_row(f.reason, f"{contrib[i]:+.2f}", f"{x[0, i]:.3f}", f.description)
    return out
