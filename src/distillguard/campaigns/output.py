"""The scan output contract (shared/spec/scan-output.md): accounts.csv, campaigns.json, exchanges.csv."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from ..workspace import Workspace
from .config import CampaignConfig

INDICATORS = 15  # the most telling shared indicators a campaign record lists

_SIGNAL_WORDS = {
    "cot_elicitation": "ask for the model's full reasoning",
    "reward_model_grading": "use the model as a grader of candidate answers",
    "censorship_rewrite": "ask for politically 'safe' rewrites",
    "magpie_prefix": "send a bare chat-template prefix",
    "self_instruct": "ask for batches of new training tasks",
    "sampling_harvest": "harvest several or scored samples",
}


def _rows(ws: Workspace, sql: str) -> list[dict]:
    return ws.sql(sql).to_pylist()


def _grouped(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        out[r.pop("campaign_id")].append(r)
    return out


def campaign_records(ws: Workspace, cfg: CampaignConfig) -> list[dict]:
    db = ws.backend
    db.execute("""CREATE OR REPLACE TEMP TABLE _cm AS
                  SELECT account_id, campaign_id FROM account_verdicts WHERE campaign_id IS NOT NULL""")
    db.execute("""CREATE OR REPLACE TEMP TABLE _cx AS
                  SELECT m.campaign_id, e.request_id, e.account_id, e.ts, e.model, e.source_file, e.source_line
                  FROM exchanges e JOIN _cm m USING (account_id)""")
    heads = _rows(ws, """
        SELECT v.campaign_id, any_value(k.score) AS score, any_value(k.content) AS content,
               any_value(k.coordination) AS coordination, any_value(k.sync_share) AS sync_share,
               any_value(k.dense_block_share) AS dense_block_share, list(v.account_id ORDER BY v.account_id) AS accounts
        FROM account_verdicts v JOIN campaign_clusters k USING (cluster_id)
        WHERE v.campaign_id IS NOT NULL GROUP BY v.campaign_id ORDER BY score DESC, v.campaign_id""")
    spans = {r["campaign_id"]: r for r in _rows(ws, """
        SELECT campaign_id, count(*) AS exchanges, min(ts) AS first_seen, max(ts) AS last_seen
        FROM _cx GROUP BY 1""")}
    caps = _grouped(_rows(ws, """
        SELECT x.campaign_id, c.capability, count(*) / sum(count(*)) OVER (PARTITION BY x.campaign_id) AS share
        FROM _cx x JOIN exchange_capabilities c USING (request_id) GROUP BY x.campaign_id, c.capability
        ORDER BY share DESC, c.capability"""))
    # Ranked before the member lists are built: a campaign of thousands of accounts holds thousands of
    # shared indicators, of which the record keeps INDICATORS.
    indicators = _grouped(_rows(ws, f"""
        WITH held AS (SELECT m.campaign_id, i.account_id, i.indicator_type, i.indicator_value, i.exchanges, i.weight
                      FROM account_indicators i JOIN _cm m USING (account_id)),
        sums AS (SELECT campaign_id, indicator_type, indicator_value, count(DISTINCT account_id) AS account_count,
                        sum(exchanges) AS exchanges, max(weight) AS weight
                 FROM held GROUP BY campaign_id, indicator_type, indicator_value
                 HAVING count(DISTINCT account_id) >= 2),
        top AS (SELECT campaign_id, indicator_type, indicator_value, account_count, exchanges, weight FROM (
                    SELECT *, row_number() OVER (PARTITION BY campaign_id ORDER BY account_count * weight DESC,
                                                 indicator_type, indicator_value) AS r FROM sums)
                WHERE r <= {INDICATORS})
        SELECT t.campaign_id, t.indicator_type AS type, t.indicator_value AS value, any_value(t.account_count)
                   AS account_count, list(DISTINCT h.account_id ORDER BY h.account_id) AS accounts,
               any_value(t.exchanges) AS exchanges, any_value(t.weight) AS weight,
               any_value(p.kind) AS network_kind, any_value(p.provider) AS provider,
               any_value(left(f.example, 120)) AS example
        FROM top t JOIN held h USING (campaign_id, indicator_type, indicator_value)
        LEFT JOIN ip_intel p ON t.indicator_type IN ('ip', 'signup_ip') AND p.ip = t.indicator_value
        LEFT JOIN template_families f ON t.indicator_type = 'template'
                                     AND f.family_id = try_cast(t.indicator_value AS BIGINT)
        GROUP BY t.campaign_id, t.indicator_type, t.indicator_value
        ORDER BY any_value(t.account_count) * any_value(t.weight) DESC, type, value"""))
    models = _grouped(_rows(ws, """
        SELECT x.campaign_id, x.model, count(*) AS exchanges, min(x.ts) AS first_used,
               (epoch(min(x.ts)) - epoch(any_value(g.first_seen))) / 3600.0 AS after_release
        FROM _cx x JOIN (SELECT model, min(ts) AS first_seen FROM exchanges GROUP BY 1) g USING (model)
        GROUP BY ALL ORDER BY first_used, x.model"""))
    signal_cols = [c for c in _SIGNAL_WORDS if c in ws.sql("SELECT * FROM exchange_signals LIMIT 0").column_names]
    signals = {r.pop("campaign_id"): r for r in _rows(ws, f"""
        SELECT x.campaign_id, {', '.join(f'avg(({c} >= 0.5)::INT) AS {c}' for c in signal_cols)}
        FROM _cx x JOIN exchange_signals s USING (request_id) GROUP BY 1""")} if signal_cols else {}
    templates = _grouped(_rows(ws, """
        SELECT x.campaign_id, f.family_id, any_value(f.example) AS example, count(*) AS exchanges,
               count(DISTINCT x.account_id) AS accounts
        FROM _cx x JOIN exchange_templates t USING (request_id) JOIN template_families f USING (family_id)
        WHERE NOT f.generic GROUP BY ALL HAVING count(DISTINCT x.account_id) >= 2 ORDER BY exchanges DESC, f.family_id"""))
    examples = _grouped(_rows(ws, """
        SELECT campaign_id, request_id, account_id, source_file, source_line, score FROM (
            SELECT x.*, s.score, row_number() OVER (PARTITION BY x.campaign_id ORDER BY s.score DESC, x.request_id) AS r
            FROM _cx x JOIN exchange_scores s USING (request_id)) WHERE r <= 2"""))
    db.execute("DROP TABLE _cx")
    db.execute("DROP TABLE _cm")

    records = []
    for h in heads:
        cid = h["campaign_id"]
        span = spans.get(cid, {"exchanges": 0, "first_seen": None, "last_seen": None})
        inds = indicators.get(cid, [])
        record = {
            "campaign_id": cid, "score": round(h["score"], 4), "accounts": h["accounts"],
            "exchanges": span["exchanges"],
            "first_seen": span["first_seen"].isoformat() if span["first_seen"] else None,
            "last_seen": span["last_seen"].isoformat() if span["last_seen"] else None,
            "capabilities": {c["capability"]: round(c["share"], 4) for c in caps.get(cid, []) if c["share"] >= 0.005},
            "indicators": [{k: v for k, v in i.items() if v is not None} for i in inds],
            "model_timeline": [{"model": m["model"], "exchanges": m["exchanges"],
                                "first_used": m["first_used"].isoformat(),
                                "hours_after_first_seen": round(m["after_release"], 1)}
                               for m in models.get(cid, [])],
            "content_score": round(h["content"], 4), "coordination_score": round(h["coordination"], 4),
        }
        record["evidence"] = _evidence(record, h, signals.get(cid, {}), templates.get(cid, []),
                                       examples.get(cid, []))[: cfg.evidence_lines]
        records.append(record)
    return records


def _evidence(record: dict, head: dict, signals: dict, templates: list[dict], examples: list[dict]) -> list[str]:
    n = len(record["accounts"])
    lines = [f"{n} accounts, {record['exchanges']:,} exchanges from {record['first_seen']} to {record['last_seen']}; "
             f"content score {head['content']:.2f}, coordination score {head['coordination']:.2f}."]
    for ind in record["indicators"][:3]:
        where = f" ({ind['network_kind']}{', ' + ind['provider'] if ind.get('provider') else ''})" \
            if ind.get("network_kind") else ""
        what = f" ({ind['example']!r})" if ind.get("example") else ""
        lines.append(f"{ind['account_count']} of {n} accounts share {ind['type']} {ind['value']}{where}{what}.")
    if (head["sync_share"] or 0) > 0:
        lines.append(f"{head['sync_share']:.0%} of accounts act in synchrony (co-active windows, round-robin turns "
                     f"or a simultaneous model pivot).")
    for t in templates[:2]:
        example = f", e.g. {t['example'][:120]!r}" if t["example"] else ""
        lines.append(f"{t['accounts']} accounts sent {t['exchanges']:,} exchanges from one template{example}.")
    for name, share in sorted(signals.items(), key=lambda kv: -(kv[1] or 0)):
        if share and share >= 0.1:
            lines.append(f"{share:.0%} of exchanges {_SIGNAL_WORDS[name]}.")
    for m in record["model_timeline"]:
        if m["hours_after_first_seen"] > 0 and m["hours_after_first_seen"] <= 48 and m["exchanges"] >= 10:
            lines.append(f"Began using {m['model']} {m['hours_after_first_seen']} h after it first appeared "
                         f"({m['exchanges']:,} exchanges).")
    for e in examples:
        where = f" at {Path(e['source_file']).name}:{e['source_line']}" if e["source_file"] else ""
        lines.append(f"Example: request {e['request_id']} from {e['account_id']}{where} "
                     f"(exchange score {e['score']:.2f}).")
    return lines


def write_scan_output(ws: Workspace, out_dir: Path, cfg: CampaignConfig | None = None) -> dict[str, Path]:
    cfg = cfg or CampaignConfig()
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {name: out_dir / name for name in ("accounts.csv", "campaigns.json", "exchanges.csv")}
    db = ws.backend
    db.write_csv("""SELECT account_id, round(score, 6) AS score, flagged, coalesce(campaign_id, '') AS campaign_id,
                           coalesce(reasons, '') AS reasons FROM account_verdicts ORDER BY account_id""",
                 files["accounts.csv"])
    db.write_csv("SELECT request_id, account_id, round(score, 6) AS score FROM exchange_scores", files["exchanges.csv"])
    files["campaigns.json"].write_text(json.dumps(campaign_records(ws, cfg), indent=1, default=str))
    return files
