"""Campaigns: linked clusters whose traffic reads as harvesting, with the evidence behind them.

A cluster becomes a campaign only when both hold: its accounts are held together by
telling links (shared hosting IPs, cards, specific templates, synchronised timing) and its
traffic is harvest-like. Either alone is ordinary: an enterprise shares a card; a
benchmark runner sends templated prompts.
"""

from __future__ import annotations

from ..workspace import Workspace
from .config import CampaignConfig

_CLUSTER_VERDICTS = """
CREATE OR REPLACE TABLE campaign_clusters AS
WITH members AS (
    SELECT c.cluster_id, c.account_id, s.score, coalesce(a.exchanges, 0) AS exchanges,
           coalesce(l.max_link, 0) AS max_link
    FROM account_clusters c
    JOIN account_scores s USING (account_id)
    LEFT JOIN account_features a USING (account_id)
    LEFT JOIN account_linkage l USING (account_id)
), per_cluster AS (
    SELECT cluster_id, count(*) AS n_accounts, sum(exchanges) AS exchanges,
           -- log-weighted so one loud account cannot carry (or sink) the whole cluster
           sum(score * ln(2 + exchanges)) / sum(ln(2 + exchanges)) AS content,
           avg(least(max_link, 1.0)) AS link_strength
    FROM members GROUP BY cluster_id
)
SELECT p.*, k.sync_share, k.dense_block_share, k.top_indicators,
       -- noisy-OR: any one strong form of coordination is enough, several reinforce
       1 - (1 - coalesce(k.sync_share, 0)) * (1 - coalesce(k.dense_block_share, 0))
         * (1 - coalesce(p.link_strength, 0)) AS coordination
FROM per_cluster p JOIN clusters k USING (cluster_id)
"""


def assemble_campaigns(ws: Workspace, config: CampaignConfig | None = None) -> int:
    """Write `campaign_clusters`, `account_verdicts` and `campaigns`; return the number of campaigns."""
    cfg = config or CampaignConfig()
    db = ws.backend
    db.execute(_CLUSTER_VERDICTS)
    db.execute("""
        ALTER TABLE campaign_clusters ADD COLUMN score DOUBLE;
        UPDATE campaign_clusters SET score = sqrt(greatest(content, 0) * greatest(coordination, 0));
        ALTER TABLE campaign_clusters ADD COLUMN is_campaign BOOLEAN;""")
    db.execute("""UPDATE campaign_clusters SET is_campaign = n_accounts >= ? AND content >= ?
                  AND coordination >= ? AND score >= ?""",
               [cfg.min_accounts, cfg.min_content, cfg.min_coordination, cfg.min_score])
    db.execute("""
        CREATE OR REPLACE TABLE account_verdicts AS
        SELECT s.account_id,
               CASE WHEN k.is_campaign THEN greatest(s.score, k.score) ELSE s.score END AS score,
               coalesce(k.is_campaign, false)
                 OR (s.score >= ? AND coalesce(a.exchanges, 0) >= ?) AS flagged,
               CASE WHEN k.is_campaign THEN 'camp-' || substr(k.cluster_id, 3) END AS campaign_id,
               concat_ws(';', CASE WHEN k.is_campaign THEN 'CAMPAIGN_MEMBER' END,
                         nullif(s.reasons, '')) AS reasons
        FROM account_scores s
        LEFT JOIN account_clusters c USING (account_id)
        LEFT JOIN campaign_clusters k ON k.cluster_id = c.cluster_id
        LEFT JOIN account_features a USING (account_id)""", [cfg.solo_min_score, cfg.solo_min_exchanges])
    return int(db.scalar("SELECT count(*) FROM campaign_clusters WHERE is_campaign"))
