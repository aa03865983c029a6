"""The linkage stage end to end: indicators -> projection -> synchrony -> links -> dense blocks ->
clusters -> per-cluster and per-account summaries. Scratch tables are named `_linkage_*` and dropped."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from ..workspace import Workspace
from . import cluster, dense, indicators, project, synchrony
from .config import LinkageConfig

ProgressFn = Callable[[int, int], None]


@dataclass
class LinkageStats:
    indicators: int = 0  # account_indicators rows
    hub_indicators: int = 0  # indicators on more than hub_k accounts: no clique (see project.py)
    candidate_pairs: int = 0  # pairs linked by some indicator before synchrony
    tested_pairs: int = 0  # the strongest of them per account, which synchrony tested
    coactive_pairs: int = 0
    roundrobin_pairs: int = 0
    pivot_accounts: int = 0
    links: int = 0
    dense_blocks: list[dict] = field(default_factory=list)
    method: str = ""
    clusters: int = 0
    clustered_accounts: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def build_linkage(ws: Workspace, config: LinkageConfig | None = None,
                  progress: ProgressFn | None = None) -> LinkageStats:
    """Write `account_indicators`, `account_links`, `account_clusters`, `clusters` and `account_linkage`."""
    cfg = config or LinkageConfig()
    stats = LinkageStats(method=cfg.method)
    stages = [("indicators", _indicators), ("projection", _projection), ("synchrony", _synchrony),
              ("links", _links), ("dense_blocks", _dense), ("clustering", _cluster), ("summary", _summary)]
    try:
        for done, (name, stage) in enumerate(stages, 1):
            started = time.perf_counter()
            stage(ws, cfg, stats)
            stats.seconds[name] = round(time.perf_counter() - started, 3)
            if progress:
                progress(done, len(stages))
    finally:  # also after a failure, so a rerun starts clean
        scratch = ws.sql("SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                         "AND starts_with(table_name, '_linkage_')").column(0).to_pylist()
        for table in scratch:
            ws.backend.execute(f"DROP TABLE IF EXISTS {table}")
    return stats


def _indicators(ws: Workspace, cfg: LinkageConfig, stats: LinkageStats) -> None:
    indicators.config_tables(ws, cfg)
    indicators.gather(ws, cfg)
    indicators.weigh(ws, cfg, "_linkage_raw")


def _projection(ws: Workspace, cfg: LinkageConfig, stats: LinkageStats) -> None:
    project.start(ws)
    project.expand(ws, cfg, sync=False)
    stats.candidate_pairs = project.pairs(ws)
    stats.tested_pairs = project.strongest(ws, cfg)


def _synchrony(ws: Workspace, cfg: LinkageConfig, stats: LinkageStats) -> None:
    found = synchrony.detect(ws, cfg)
    stats.coactive_pairs, stats.roundrobin_pairs = found["coactive_pairs"], found["roundrobin_pairs"]
    stats.pivot_accounts = found["pivot_accounts"]
    indicators.weigh(ws, cfg, synchrony.SYNC_RAW, append=True)
    project.expand(ws, cfg, sync=True)
    project.pairs(ws)


def _links(ws: Workspace, cfg: LinkageConfig, stats: LinkageStats) -> None:
    stats.links = project.write_links(ws, cfg)
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE account_indicators AS
        SELECT account_id, indicator_type, indicator_value, exchanges, round(weight, 6) AS weight
        FROM {indicators.IND}""")
    stats.indicators = ws.count("account_indicators")
    stats.hub_indicators = int(ws.backend.scalar(f"SELECT count(DISTINCT (indicator_type, indicator_value)) "
                                                 f"FROM {indicators.IND} WHERE n > {int(cfg.hub_k)}"))


def _dense(ws: Workspace, cfg: LinkageConfig, stats: LinkageStats) -> None:
    stats.dense_blocks = dense.dense_blocks(ws, cfg)


def _cluster(ws: Workspace, cfg: LinkageConfig, stats: LinkageStats) -> None:
    stats.clusters = cluster.cluster(ws, cfg)
    stats.clustered_accounts = ws.count("account_clusters")


def _summary(ws: Workspace, cfg: LinkageConfig, stats: LinkageStats) -> None:
    # sync_share: members holding a sync indicator that a cluster-mate holds too (coordination inside the
    # cluster, not with outsiders); dense_block_share: members inside any dense block.
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE clusters AS
        WITH m AS (SELECT account_id, cluster_id FROM account_clusters),
        size AS (SELECT cluster_id, count(*) AS accounts FROM m GROUP BY ALL),
        ex AS (
            SELECT m.cluster_id, sum(t.n)::BIGINT AS exchanges FROM m
            JOIN (SELECT account_id, count(*) AS n FROM exchanges GROUP BY ALL) t USING (account_id) GROUP BY ALL),
        iw AS (
            SELECT ma.cluster_id, sum(l.weight) AS w FROM account_links l
            JOIN m ma ON ma.account_id = l.account_a
            JOIN m mb ON mb.account_id = l.account_b AND mb.cluster_id = ma.cluster_id GROUP BY ALL),
        inside AS (
            SELECT m.cluster_id, i.indicator_type, i.indicator_value, count(*) AS k, any_value(i.weight) AS w
            FROM m JOIN account_indicators i USING (account_id) GROUP BY ALL HAVING count(*) >= 2),
        top AS (
            SELECT cluster_id, string_agg(printf('%s:%s [%d/%d w=%.2f]', indicator_type, indicator_value, k,
                                                 accounts, w), '; ' ORDER BY rank) AS top_indicators
            FROM (SELECT inside.*, size.accounts, row_number() OVER (PARTITION BY cluster_id
                         ORDER BY w * k DESC, indicator_type, indicator_value) AS rank
                  FROM inside JOIN size USING (cluster_id))
            WHERE rank <= {int(cfg.top_indicators)} GROUP BY ALL),
        sync AS (
            SELECT m.cluster_id, count(DISTINCT m.account_id) AS n
            FROM m JOIN account_indicators i USING (account_id)
            JOIN inside s ON s.cluster_id = m.cluster_id AND s.indicator_type = i.indicator_type
                         AND s.indicator_value = i.indicator_value
            WHERE i.indicator_type = 'sync' GROUP BY ALL),
        dense AS (SELECT m.cluster_id, count(*) AS n FROM m JOIN {dense.DENSE} USING (account_id) GROUP BY ALL)
        SELECT size.cluster_id, size.accounts, coalesce(ex.exchanges, 0) AS exchanges,
               round(coalesce(iw.w, 0), 6) AS internal_weight,
               round(coalesce(iw.w, 0) / (size.accounts * (size.accounts - 1) / 2), 6) AS density,
               top.top_indicators,
               round(coalesce(dense.n, 0) / size.accounts, 6) AS dense_block_share,
               round(coalesce(sync.n, 0) / size.accounts, 6) AS sync_share
        FROM size LEFT JOIN ex USING (cluster_id) LEFT JOIN iw USING (cluster_id) LEFT JOIN top USING (cluster_id)
        LEFT JOIN sync USING (cluster_id) LEFT JOIN dense USING (cluster_id)""")
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE account_linkage AS
        WITH l AS (
            SELECT account_a AS account_id, account_b AS other, weight FROM account_links
            UNION ALL SELECT account_b, account_a, weight FROM account_links),
        sums AS (SELECT account_id, count(*) AS links, sum(weight) AS strength, max(weight) AS max_link
                 FROM l GROUP BY ALL),
        -- ranked before formatting: an account of a large campaign has thousands of links, the record keeps a few
        best AS (
            SELECT account_id, list(printf('%s:%.3f', other, weight) ORDER BY weight DESC, other) AS top_links
            FROM (SELECT account_id, other, weight,
                         row_number() OVER (PARTITION BY account_id ORDER BY weight DESC, other) AS r FROM l)
            WHERE r <= {int(cfg.top_links)} GROUP BY account_id),
        agg AS (SELECT * FROM sums JOIN best USING (account_id)),
        ind AS (
            SELECT account_id, count(*) AS indicators, bool_or(indicator_type = 'sync') AS sync
            FROM account_indicators GROUP BY ALL)
        SELECT ind.account_id, c.cluster_id, ind.indicators, coalesce(agg.links, 0) AS links,
               round(coalesce(agg.strength, 0), 6) AS strength, round(coalesce(agg.max_link, 0), 6) AS max_link,
               coalesce(agg.top_links, []::VARCHAR[]) AS top_links, d.block AS dense_block,
               round(d.density, 6) AS dense_density, ind.sync
        FROM ind LEFT JOIN agg USING (account_id) LEFT JOIN account_clusters c USING (account_id)
        LEFT JOIN {dense.DENSE} d USING (account_id)""")
