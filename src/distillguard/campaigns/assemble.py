"""Campaigns: linked groups of suspicious accounts, scored on coordination and content together.

A group becomes a campaign only when both hold: its accounts are held together by telling
links (shared hosting IPs, cards, specific templates, synchronised timing) and its traffic is
harvest-like. Either alone is ordinary: an enterprise shares a card; a benchmark runner sends
templated prompts. Groups are the connected components of the linkage graph restricted to
accounts whose own traffic is at least somewhat suspicious, so innocent accounts that happen
to share a NAT or a popular prompt cannot glue unrelated operations together.
"""

from __future__ import annotations

import hashlib

import igraph as ig
import pyarrow as pa

from ..workspace import Workspace
from .config import CampaignConfig

_SUSPICION = """
CREATE OR REPLACE TEMP TABLE _suspicion AS
SELECT s.account_id, s.score AS account_score, x.score_mean, x.high_share,
       greatest(s.score, coalesce(x.high_share, 0)) AS suspicion, coalesce(a.exchanges, 0) AS exchanges
FROM account_scores s
LEFT JOIN (SELECT account_id, avg(score) AS score_mean, avg((score >= 0.5)::INT) AS high_share
           FROM exchange_scores GROUP BY 1) x USING (account_id)
LEFT JOIN account_features a USING (account_id)
"""

_GROUP_SUMMARY = """
CREATE OR REPLACE TABLE campaign_clusters AS
WITH m AS (
    SELECT g.cluster_id, g.account_id, s.suspicion, s.exchanges, g.max_link,
           coalesce(l.dense_block, false) AS dense, coalesce(y.synced, false) AS synced
    FROM _groups g JOIN _suspicion s USING (account_id)
    LEFT JOIN account_linkage l USING (account_id)
    LEFT JOIN (SELECT DISTINCT i.account_id, true AS synced
               FROM account_indicators i JOIN _groups g1 USING (account_id)
               JOIN account_indicators j ON j.indicator_type = 'sync' AND j.indicator_value = i.indicator_value
                                         AND j.account_id <> i.account_id
               JOIN _groups g2 ON g2.account_id = j.account_id AND g2.cluster_id = g1.cluster_id
               WHERE i.indicator_type = 'sync') y USING (account_id)
)
SELECT cluster_id, count(*) AS n_accounts, sum(exchanges) AS exchanges,
       -- log-weighted so one loud account cannot carry (or sink) the whole group
       sum(suspicion * ln(2 + exchanges)) / sum(ln(2 + exchanges)) AS content,
       avg(least(max_link, 1.0)) AS link_strength, avg(synced::INT) AS sync_share,
       avg(dense::INT) AS dense_block_share
FROM m GROUP BY cluster_id
"""


def _groups(ws: Workspace, cfg: CampaignConfig) -> pa.Table:
    """Connected components of strong links among candidate accounts."""
    links = ws.sql("""
        SELECT l.account_a, l.account_b, l.weight FROM account_links l
        JOIN _suspicion a ON a.account_id = l.account_a JOIN _suspicion b ON b.account_id = l.account_b
        WHERE l.weight >= ? AND a.suspicion >= ? AND b.suspicion >= ?""",
                   [cfg.min_link_weight, cfg.min_suspicion, cfg.min_suspicion]).to_pydict()
    graph = ig.Graph.TupleList(zip(links["account_a"], links["account_b"], links["weight"]), weights=True)
    rows = {"cluster_id": [], "account_id": [], "max_link": []}
    names = graph.vs["name"] if graph.vcount() else []
    for members in graph.connected_components():
        if len(members) < cfg.min_accounts:
            continue
        ids = sorted(names[i] for i in members)
        cluster = "c_" + hashlib.md5(ids[0].encode()).hexdigest()[:16]
        for i in members:
            rows["cluster_id"].append(cluster)
            rows["account_id"].append(names[i])
            rows["max_link"].append(max(graph.es[e]["weight"] for e in graph.incident(i)))
    return pa.table(rows, schema=pa.schema([("cluster_id", pa.string()), ("account_id", pa.string()),
                                            ("max_link", pa.float64())]))


def assemble_campaigns(ws: Workspace, config: CampaignConfig | None = None) -> int:
    """Write `campaign_clusters` and `account_verdicts`; return the number of campaigns."""
    cfg = config or CampaignConfig()
    db = ws.backend
    db.execute(_SUSPICION)
    db.register_arrow("_groups_arrow", _groups(ws, cfg))
    db.execute("CREATE OR REPLACE TEMP TABLE _groups AS SELECT * FROM _groups_arrow")
    db.unregister("_groups_arrow")
    db.execute(_GROUP_SUMMARY)
    db.execute("""
        ALTER TABLE campaign_clusters ADD COLUMN coordination DOUBLE;
        -- noisy-OR: any one strong form of coordination is enough, several reinforce
        UPDATE campaign_clusters SET coordination = 1 - (1 - sync_share) * (1 - dense_block_share) * (1 - link_strength);
        ALTER TABLE campaign_clusters ADD COLUMN score DOUBLE;
        UPDATE campaign_clusters SET score = sqrt(greatest(content, 0) * greatest(coordination, 0));
        ALTER TABLE campaign_clusters ADD COLUMN is_campaign BOOLEAN;""")
    db.execute("UPDATE campaign_clusters SET is_campaign = content >= ? AND coordination >= ? AND score >= ?",
               [cfg.min_content, cfg.min_coordination, cfg.min_score])
    db.execute("""
        CREATE OR REPLACE TABLE account_verdicts AS
        SELECT s.account_id,
               CASE WHEN k.is_campaign THEN greatest(s.account_score, k.score) ELSE s.account_score END AS score,
               coalesce(k.is_campaign, false) OR (s.account_score >= ? AND s.exchanges >= ?) AS flagged,
               CASE WHEN k.is_campaign THEN 'camp-' || substr(k.cluster_id, 3) END AS campaign_id,
               g.cluster_id,
               concat_ws(';', CASE WHEN k.is_campaign THEN 'CAMPAIGN_MEMBER' END,
                         nullif(r.reasons, '')) AS reasons
        FROM _suspicion s
        JOIN account_scores r USING (account_id)
        LEFT JOIN _groups g USING (account_id)
        LEFT JOIN campaign_clusters k ON k.cluster_id = g.cluster_id""",
               [cfg.solo_min_score, cfg.solo_min_exchanges])
    return int(db.scalar("SELECT count(*) FROM campaign_clusters WHERE is_campaign"))
