"""Coordination: accounts that act together, found among the pairs the indicators already link.

Three detectors, each a few SQL statements:

* co-activity (after SynchroTrap / CopyCatch): each account's requests fall into ``window_s`` buckets; a
  pair is co-active when it shares many buckets (Jaccard) and far more than two independent accounts
  with as many active buckets would (lift = shared * T / (|A| * |B|), T = buckets with any traffic),
  over several clock hours (a class in one lab session is in step for an hour, a campaign for days);
* round-robin: a load balancer that deals requests out to accounts in turn makes any two of them
  alternate. Inside the span both are active (its first ``rr_span_s``, and no longer than the busier account
  takes for ``rr_max_requests`` at its mean rate, which bounds the work a pair of busy accounts costs), the
  Wald-Wolfowitz runs test scores how much more often the merged request
  sequence switches account than chance, and the two volumes must be near-equal. Two steady bots of
  different owners also alternate (each keeps its own rhythm), so the same test is run again with one
  account's requests moved on by a few mean gaps of the merged stream: dealing from one queue survives only
  in the true alignment, and the observed z must beat the best moved one by ``rr_min_excess_z``. A dealer fed
  by a steady queue makes both accounts steady, so moving one changes nothing; it is told apart by phase
  lock instead: b's requests fall at a fixed point of a's cycle, while two free-running clocks drift;
* pivot: accounts already active before a model first appears whose first use of it falls in the same
  ``pivot_window_s`` bucket within ``pivot_horizon_s`` of its appearance.

Co-active and round-robin pairs are grouped by connected components; every group and every pivot bucket
becomes a ``sync`` indicator (``coactive:<group>``, ``roundrobin:<group>``, ``pivot:<model>+<minutes>m``)
and is weighed and projected like any other indicator. The pairwise tests run only on each account's
``sync_partners`` most strongly linked pairs (``project.strongest``), so their work is linear in the
number of accounts, with at most that many pairs per account and a bounded number of requests per pair.
"""

from __future__ import annotations

from ..workspace import Workspace
from .cluster import components
from .config import LinkageConfig
from .project import SYNC_PAIRS

SYNC_RAW = "_linkage_sync_raw"  # raw sync indicator rows, the same columns as _linkage_raw


def _coactive(ws: Workspace, cfg: LinkageConfig) -> int:
    window = int(cfg.window_s)
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE _linkage_act AS
        SELECT account_id, floor(epoch(ts) / {window})::BIGINT AS w FROM exchanges
        WHERE ts IS NOT NULL AND account_id IN (SELECT a FROM {SYNC_PAIRS} UNION SELECT b FROM {SYNC_PAIRS})
        GROUP BY ALL""")
    total = ws.backend.scalar(f"SELECT count(DISTINCT floor(epoch(ts) / {window})) FROM exchanges") or 1
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE _linkage_coactive AS
        WITH nw AS (SELECT account_id, count(*) AS nw FROM _linkage_act GROUP BY ALL),
        ov AS (
            SELECT p.a, p.b, count(*) AS ov, count(DISTINCT x.w * {window} // 3600) AS hours
            FROM {SYNC_PAIRS} p JOIN _linkage_act x ON x.account_id = p.a
            JOIN _linkage_act y ON y.account_id = p.b AND y.w = x.w GROUP BY ALL)
        SELECT a, b FROM ov JOIN nw na ON na.account_id = a JOIN nw nb ON nb.account_id = b
        WHERE ov >= {int(cfg.coactive_min_windows)} AND hours >= {int(cfg.coactive_min_hours)}
          AND ov / (na.nw + nb.nw - ov) >= {float(cfg.coactive_min_jaccard)}
          AND ov * {float(total)} / (na.nw * nb.nw) >= {float(cfg.coactive_min_lift)}""")
    ws.backend.execute("DROP TABLE _linkage_act")
    return ws.count("_linkage_coactive")


def _roundrobin(ws: Workspace, cfg: LinkageConfig) -> int:
    least, span, most = int(cfg.rr_min_requests), int(cfg.rr_span_s) * 1_000_000, int(cfg.rr_max_requests)
    shifts = ", ".join(f"({v}, {float(f)})" for v, f in enumerate(cfg.rr_null_shift_gaps, 1))
    # Integer pair ids and microsecond times: the per-pair sort below runs several times faster on them.
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE _linkage_ts AS
        SELECT account_id, epoch_us(ts) AS t FROM exchanges
        WHERE ts IS NOT NULL AND account_id IN (SELECT a FROM {SYNC_PAIRS} UNION SELECT b FROM {SYNC_PAIRS})""")
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE _linkage_span AS
        WITH st AS (
            SELECT account_id, min(t) AS lo, max(t) AS hi, count(*) AS n,
                   -- how long this account takes for `most` requests at its mean rate
                   CAST({most} * (max(t) - min(t)) / greatest(count(*) - 1, 1) AS BIGINT) AS most_us
            FROM _linkage_ts GROUP BY ALL)
        SELECT row_number() OVER (ORDER BY p.a, p.b) AS pid, p.a, p.b, greatest(sa.lo, sb.lo) AS lo,
               least(sa.hi, sb.hi, greatest(sa.lo, sb.lo) + least({span}, greatest(least(sa.most_us, sb.most_us), 1)))
                 AS hi
        FROM {SYNC_PAIRS} p JOIN st sa ON sa.account_id = p.a JOIN st sb ON sb.account_id = p.b
        WHERE sa.n >= {least} AND sb.n >= {least} AND greatest(sa.lo, sb.lo) < least(sa.hi, sb.hi)""")
    # The runs test of a merged sequence: `events` has (pid, v, t, is_a); one z per pair and variant.
    runs_z = """
        sw AS (
            SELECT pid, v, is_a,
                   CASE WHEN is_a <> lag(is_a) OVER (PARTITION BY pid, v ORDER BY t, is_a) THEN 1 ELSE 0 END AS sw
            FROM events),
        agg AS (
            SELECT pid, v, count(*) FILTER (WHERE is_a)::DOUBLE AS n1, count(*) FILTER (WHERE NOT is_a)::DOUBLE AS n2,
                   1 + sum(sw) AS runs
            FROM sw GROUP BY pid, v)
        SELECT pid, v, least(n1, n2) / greatest(n1, n2) AS balance, (runs - mu) / sqrt(var) AS z
        FROM (SELECT *, 2 * n1 * n2 / (n1 + n2) + 1 AS mu,
                     2 * n1 * n2 * (2 * n1 * n2 - n1 - n2) / ((n1 + n2) ^ 2 * (n1 + n2 - 1)) AS var FROM agg)
        WHERE least(n1, n2) >= {least} AND var > 0"""
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE _linkage_rr_events AS
        SELECT s.pid, e.t, true AS is_a FROM _linkage_span s
        JOIN _linkage_ts e ON e.account_id = s.a AND e.t BETWEEN s.lo AND s.hi
        UNION ALL
        SELECT s.pid, e.t, false FROM _linkage_span s
        JOIN _linkage_ts e ON e.account_id = s.b AND e.t BETWEEN s.lo AND s.hi""")
    # First the plain test on every pair; the costlier checks below run only on the few that pass it.
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE _linkage_rr_z AS
        WITH events AS (SELECT pid, 0 AS v, t, is_a FROM _linkage_rr_events), {runs_z.format(least=least)}""")
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE _linkage_rr_cand AS
        SELECT e.* FROM _linkage_rr_events e
        SEMI JOIN _linkage_rr_z z ON z.pid = e.pid AND z.z >= {float(cfg.rr_min_z)}
                                 AND z.balance >= {float(cfg.rr_min_balance)}""")
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE _linkage_rr AS
        WITH sh AS (SELECT * FROM (VALUES {shifts}) v(v, f)),
        gap AS (SELECT pid, count(*) AS n FROM _linkage_rr_cand GROUP BY pid),
        -- variant v moves b's requests on by f mean gaps of the merged stream (wrapping inside the span):
        -- each account keeps its own rhythm, daily cycle and bursts, but dealing from one queue breaks
        events AS (
            SELECT c.pid, sh.v, c.is_a,
                   CASE WHEN c.is_a THEN c.t
                        ELSE s.lo + (c.t - s.lo + CAST(sh.f * (s.hi - s.lo) / g.n AS BIGINT)) % (s.hi - s.lo)
                   END AS t
            FROM _linkage_rr_cand c JOIN gap g USING (pid) JOIN _linkage_span s USING (pid) CROSS JOIN sh),
        null_z AS (WITH {runs_z.format(least=least)}),
        -- where each of b's requests falls inside a's cycle (previous and next request of a), as an angle:
        -- a dealer keeps it fixed, free-running clocks drift. Running max and min, one in each direction.
        cyc AS (
            SELECT pid, is_a, t,
                   max(CASE WHEN is_a THEN t END) OVER (PARTITION BY pid ORDER BY t, is_a ROWS UNBOUNDED PRECEDING) AS prev_a,
                   min(CASE WHEN is_a THEN t END) OVER (PARTITION BY pid ORDER BY t DESC, is_a DESC
                                                        ROWS UNBOUNDED PRECEDING) AS next_a
            FROM _linkage_rr_cand),
        phase AS (
            SELECT pid, sqrt(avg(cos(2 * pi() * (t - prev_a) / (next_a - prev_a))) ^ 2
                             + avg(sin(2 * pi() * (t - prev_a) / (next_a - prev_a))) ^ 2) AS lock
            FROM cyc WHERE NOT is_a AND next_a > prev_a GROUP BY pid)
        SELECT s.a, s.b FROM _linkage_rr_z z JOIN _linkage_span s USING (pid)
        LEFT JOIN (SELECT pid, max(z) AS z_null FROM null_z GROUP BY pid) n USING (pid)
        LEFT JOIN phase USING (pid)
        WHERE z.z >= {float(cfg.rr_min_z)} AND z.balance >= {float(cfg.rr_min_balance)}
          AND (z.z - coalesce(n.z_null, 0) >= {float(cfg.rr_min_excess_z)}
               OR coalesce(phase.lock, 0) >= {float(cfg.rr_min_phase_lock)})""")
    for table in ("_linkage_rr_events", "_linkage_rr_z", "_linkage_rr_cand"):
        ws.backend.execute(f"DROP TABLE {table}")
    ws.backend.execute("DROP TABLE _linkage_ts")
    ws.backend.execute("DROP TABLE _linkage_span")
    return ws.count("_linkage_rr")


def detect(ws: Workspace, cfg: LinkageConfig) -> dict[str, int]:
    """Raw `sync` indicator rows into `_linkage_sync_raw`; returns what each detector found."""
    found = {"coactive_pairs": _coactive(ws, cfg), "roundrobin_pairs": _roundrobin(ws, cfg)}
    components(ws, "SELECT a, b FROM _linkage_coactive", "_linkage_co_groups")
    components(ws, "SELECT a, b FROM _linkage_rr", "_linkage_rr_groups")
    window, horizon, warmup = int(cfg.pivot_window_s), int(cfg.pivot_horizon_s), int(cfg.pivot_warmup_s)
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE {SYNC_RAW} AS
        WITH tot AS (SELECT account_id, count(*) AS exchanges, min(ts) AS first_any FROM exchanges GROUP BY ALL),
        released AS (
            SELECT model, min(ts) AS released FROM exchanges WHERE model IS NOT NULL GROUP BY model
            HAVING min(ts) >= (SELECT min(ts) FROM exchanges) + to_seconds({warmup})),
        first_use AS (
            SELECT account_id, model, min(ts) AS first_use FROM exchanges
            WHERE model IN (SELECT model FROM released) GROUP BY ALL)
        SELECT node AS account_id, 'sync' AS indicator_type, 'coactive:' || label AS indicator_value,
               t.exchanges, NULL::VARCHAR AS kind
        FROM _linkage_co_groups g JOIN tot t ON t.account_id = g.node
        UNION ALL
        SELECT node, 'sync', 'roundrobin:' || label, t.exchanges, NULL
        FROM _linkage_rr_groups g JOIN tot t ON t.account_id = g.node
        UNION ALL
        SELECT f.account_id, 'sync',
               'pivot:' || f.model || '+'
               || (floor((epoch(f.first_use) - epoch(r.released)) / {window}) * {window} // 60)::BIGINT || 'm',
               t.exchanges, NULL
        FROM first_use f JOIN released r USING (model) JOIN tot t USING (account_id)
        WHERE t.first_any < r.released AND f.first_use < r.released + to_seconds({horizon})""")
    found["pivot_accounts"] = int(ws.backend.scalar(
        f"SELECT count(DISTINCT account_id) FROM {SYNC_RAW} WHERE indicator_value LIKE 'pivot:%'"))
    for table in ("_linkage_coactive", "_linkage_rr", "_linkage_co_groups", "_linkage_rr_groups"):
        ws.backend.execute(f"DROP TABLE {table}")
    return found
