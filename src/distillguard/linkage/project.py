"""Projection of the account x indicator graph onto account pairs, in SQL, with a hub guard.

Which indicators create pairs. An indicator *seeds* pairs only when its weight reaches
``min_seed_weight``: a residential ASN, a stock user agent or a carrier's CGNAT address is too weak to
link anyone by itself, and letting it seed would fill the graph (and the synchrony search) with pairs
that end below ``min_link_weight``. A seeding indicator held by n <= hub_k accounts adds its weight to
each of its n(n-1)/2 pairs. A larger one (a card or a template on thousands of accounts) creates no
clique: its accounts are put in ``hub_fanout`` hashed orders and each linked to its successor in every
order, n * hub_fanout pairs at most. Unlike one ring with longer steps, a union of random cycles is an
expander: its diameter grows like log n, so a huge campaign stays one connected, short-hop component.
The orders depend on the account alone, not on the indicator: hubs held by the same accounts (a
campaign's twenty harvest templates) then give the same cycles, not twenty times as many pairs.

Every indicator that did not add its weight through a clique (hubs and weak ones) adds it to each pair
seeded anyway, by a clique, a cycle or synchrony, whose two accounts both hold it: a shared CGNAT address
says little alone but counts next to a shared template. So one indicator creates at most
max(hub_k^2 / 2, n * hub_fanout) pairs, and a 5,000-account hub none or 5,000 * hub_fanout.
"""

from __future__ import annotations

from ..workspace import Workspace
from .config import LinkageConfig
from .indicators import IND

CONTRIB = "_linkage_contrib"  # a, b, grp, indicator_type, indicator_value, w: one row per (pair, indicator)
RING = "_linkage_ring"  # a, b, w: pairs sampled from hubs' cycles, w the heaviest hub that put them there
PAIRS = "_linkage_pairs"  # a, b: every linked pair
SYNC_PAIRS = "_linkage_sync_pairs"  # a, b: the pairs the synchrony search tests (see `strongest`)


def start(ws: Workspace) -> None:
    ws.backend.execute(f"CREATE OR REPLACE TABLE {CONTRIB} (a VARCHAR, b VARCHAR, grp VARCHAR, "
                       "indicator_type VARCHAR, indicator_value VARCHAR, w DOUBLE)")
    ws.backend.execute(f"CREATE OR REPLACE TABLE {RING} (a VARCHAR, b VARCHAR, w DOUBLE)")


def expand(ws: Workspace, cfg: LinkageConfig, sync: bool) -> None:
    """Clique contributions and cycle pairs of the `sync` indicators of `_linkage_ind`, or of all others."""
    k, fanout = int(cfg.hub_k), int(cfg.hub_fanout)
    op = "=" if sync else "<>"
    seed = float(cfg.min_seed_weight)
    ws.backend.execute(f"""
        INSERT INTO {CONTRIB}
        SELECT x.account_id, y.account_id, x.grp, x.indicator_type, x.indicator_value, x.weight
        FROM {IND} x JOIN {IND} y
          ON y.indicator_type = x.indicator_type AND y.indicator_value = x.indicator_value
         AND x.account_id < y.account_id
        WHERE x.n <= {k} AND x.weight >= {seed} AND x.indicator_type {op} 'sync'""")
    ws.backend.execute(f"""
        INSERT INTO {RING}
        WITH h AS (
            SELECT account_id, indicator_type, indicator_value, n, weight, o.cycle,
                   row_number() OVER (PARTITION BY indicator_type, indicator_value, o.cycle
                                      ORDER BY md5(o.cycle || '|' || account_id),
                                               account_id) - 1 AS r
            FROM {IND} CROSS JOIN range({fanout}) o(cycle)
            WHERE n > {k} AND weight >= {seed} AND indicator_type {op} 'sync')
        SELECT least(x.account_id, y.account_id), greatest(x.account_id, y.account_id), max(x.weight)
        FROM h x JOIN h y ON y.indicator_type = x.indicator_type AND y.indicator_value = x.indicator_value
                         AND y.cycle = x.cycle AND y.r = (x.r + 1) % x.n
        GROUP BY ALL""")


def pairs(ws: Workspace) -> int:
    """Every pair linked so far, into `_linkage_pairs`; returns how many."""
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE {PAIRS} AS
        SELECT DISTINCT a, b FROM (SELECT a, b FROM {CONTRIB} UNION ALL SELECT a, b FROM {RING})""")
    return int(ws.backend.scalar(f"SELECT count(*) FROM {PAIRS}"))


def strongest(ws: Workspace, cfg: LinkageConfig) -> int:
    """Each account's `sync_partners` most strongly seeded pairs into `_linkage_sync_pairs`; returns how many.

    The pairwise synchrony tests read both accounts' requests, so testing every linked pair costs the
    exchanges times the pairs per account, and popular templates give an account hundreds of pairs. A
    dealer's accounts share its infrastructure and its templates, so they are among each other's
    strongest pairs, and the tests' connected components join a group larger than `sync_partners`.
    The seeded weight is the clique contributions, capped per group, plus the heaviest hub of a cycle pair.
    """
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE {SYNC_PAIRS} AS
        WITH g AS (
            SELECT a, b, least(any_value(t.cap), 1 - exp(sum(ln(1 - least(w, 0.999))))) AS gw
            FROM {CONTRIB} JOIN (SELECT DISTINCT grp, cap FROM _linkage_type) t USING (grp) GROUP BY a, b, grp),
        s AS (
            SELECT a, b, sum(w) AS s
            FROM (SELECT a, b, gw AS w FROM g UNION ALL SELECT a, b, w FROM {RING}) GROUP BY a, b),
        ranked AS (
            SELECT a, b, row_number() OVER (PARTITION BY acc ORDER BY round(s, 9) DESC, a, b) AS r
            FROM (SELECT a AS acc, a, b, s FROM s UNION ALL SELECT b, a, b, s FROM s))
        SELECT DISTINCT a, b FROM ranked WHERE r <= {int(cfg.sync_partners)}""")
    return ws.count(SYNC_PAIRS)


def write_links(ws: Workspace, cfg: LinkageConfig) -> int:
    """`account_links` from the clique contributions plus support; returns the number of links.

    The (pair, shared indicator) rows outnumber the pairs many times over in a large workspace, so they
    are never stored: they stream into one aggregate per pair and evidence group, which keeps the
    group's noisy-OR and its heaviest indicator. `shared` names those, heaviest group first."""
    k, seed = int(cfg.hub_k), float(cfg.min_seed_weight)
    # What two accounts share beyond their seeds: each support indicator of the one holding fewer looked up
    # among the other's by one integer key (account number * ids + indicator id), so the planner can only
    # take pairs first (joining pairs to indicator rows by account and indicator pairs up a hub's holders
    # first, n^2 rows for a hub of n accounts), and a hash probe per row is a third of the time of
    # intersecting lists.
    # Support indicators numbered in the order of their names, so the largest `rank` (weight, then id) of a
    # pair's shared ones is the one whose '<digits of weight>|name' is largest, as for the seeds below.
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE _linkage_sup AS
        SELECT row_number() OVER (ORDER BY named) AS iid, named, weight, grp,
               ln(1 - least(weight, 0.999)) AS lw, CAST(round(weight * 1000000) AS BIGINT) AS micro
        FROM (SELECT indicator_type || ':' || indicator_value AS named, any_value(weight) AS weight,
                     any_value(grp) AS grp
              FROM {IND} WHERE n > {k} OR weight < {seed} GROUP BY indicator_type, indicator_value)""")
    ids = int(ws.backend.scalar("SELECT coalesce(max(iid), 0) + 1 FROM _linkage_sup"))
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE _linkage_holds AS
        SELECT i.account_id, s.iid
        FROM {IND} i JOIN _linkage_sup s ON s.named = i.indicator_type || ':' || i.indicator_value""")
    # `held`: how many support indicators the account holds; a pair is probed from its side that holds fewer.
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE _linkage_num AS
        SELECT a.account_id, row_number() OVER (ORDER BY a.account_id) AS num, coalesce(h.held, 0) AS held
        FROM (SELECT DISTINCT account_id FROM {IND}) a
        LEFT JOIN (SELECT account_id, count(*) AS held FROM _linkage_holds GROUP BY account_id) h USING (account_id)""")
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE _linkage_held AS
        SELECT m.num, h.iid, m.num * {ids} + h.iid AS held_key
        FROM _linkage_holds h JOIN _linkage_num m USING (account_id)""")
    ws.backend.execute("DROP TABLE _linkage_holds")
    # Per pair and evidence group, from the clique contributions and from the support both accounts hold:
    # sum(ln(1 - w)) (noisy-OR: 1 - prod(1 - w) = 1 - exp(sum(ln(1 - w))); w < 1 keeps ln finite) and the
    # heaviest indicator, as the max of '<ten digits of weight>|type:value' (10^9 + 10^6 w has ten digits
    # for w in [0, 1], so the strings sort by weight; plain casts and ||, the same on every engine).
    part = """SELECT a, b, grp, sum(ln(1 - least(w, 0.999))) AS lw,
                     max(CAST(1000000000 + CAST(round(w * 1000000) AS BIGINT) AS VARCHAR) || '|' || named) AS best
              FROM ({rows}) GROUP BY a, b, grp"""
    # From here on a pair is its two account numbers (they follow account ids, so the smaller is `a`): the
    # later joins, sums and rankings run over integers; the ids come back with the final links.
    seeds = f"SELECT a, b, grp, w, indicator_type || ':' || indicator_value AS named FROM {CONTRIB}"
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE _linkage_seeded AS
        SELECT ma.num AS na, mb.num AS nb, x.grp, x.lw, x.best
        FROM ({part.format(rows=seeds)}) x
        JOIN _linkage_num ma ON ma.account_id = x.a JOIN _linkage_num mb ON mb.account_id = x.b""")
    # The (pair, shared support) rows carry account numbers and indicator ids only, and are summed by those;
    # names join the per-pair sums, far fewer rows.
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE _linkage_supported AS
        WITH sides AS (
            SELECT CASE WHEN ma.held <= mb.held THEN ma.num ELSE mb.num END AS fewer,
                   CASE WHEN ma.held <= mb.held THEN mb.num ELSE ma.num END AS more
            FROM {PAIRS} p JOIN _linkage_num ma ON ma.account_id = p.a JOIN _linkage_num mb ON mb.account_id = p.b),
        both_hold AS (
            SELECT s.fewer, s.more, x.iid FROM sides s JOIN _linkage_held x ON x.num = s.fewer
            SEMI JOIN _linkage_held y ON y.held_key = s.more * {ids} + x.iid),
        sums AS (
            SELECT least(h.fewer, h.more) AS na, greatest(h.fewer, h.more) AS nb, s.grp, sum(s.lw) AS lw,
                   max(s.micro * {ids} + s.iid) AS rank
            FROM both_hold h JOIN _linkage_sup s ON s.iid = h.iid GROUP BY 1, 2, 3)
        SELECT x.na, x.nb, x.grp, x.lw, CAST(1000000000 + x.rank // {ids} AS VARCHAR) || '|' || s.named AS best
        FROM sums x JOIN _linkage_sup s ON s.iid = x.rank % {ids}""")
    ws.backend.execute("""
        CREATE OR REPLACE TABLE _linkage_groups AS
        WITH parts AS (  -- a join, not a union and a second aggregate: Spark 4.0 fails on that plan
            SELECT coalesce(x.na, y.na) AS na, coalesce(x.nb, y.nb) AS nb, coalesce(x.grp, y.grp) AS grp,
                   coalesce(x.lw, 0) + coalesce(y.lw, 0) AS lw, greatest(x.best, y.best) AS best
            FROM _linkage_seeded x
            FULL OUTER JOIN _linkage_supported y ON y.na = x.na AND y.nb = x.nb AND y.grp = x.grp)
        SELECT p.na, p.nb, least(t.cap, 1 - exp(p.lw)) AS gw, p.best
        FROM parts p JOIN (SELECT DISTINCT grp, cap FROM _linkage_type) t ON t.grp = p.grp""")
    # The heaviest groups' indicators by rank and one column per rank, not an ordered list aggregate: that
    # keeps a sorted list per pair in memory and cannot spill (out of memory at 16M with a 5 GB cap).
    top = int(cfg.shared_top)
    ranks = ", ".join(f"max(CASE WHEN pos = {i} THEN named END) AS s{i}" for i in range(1, top + 1))
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE account_links AS
        WITH w AS (SELECT na, nb, sum(gw) AS weight FROM _linkage_groups GROUP BY na, nb
                   HAVING sum(gw) >= {float(cfg.min_link_weight)}),
        r AS (SELECT g.na, g.nb, substr(g.best, 12) AS named,
                     row_number() OVER (PARTITION BY g.na, g.nb ORDER BY g.gw DESC, g.best DESC) AS pos
              FROM _linkage_groups g SEMI JOIN w ON w.na = g.na AND w.nb = g.nb),
        s AS (SELECT na, nb, {ranks} FROM r WHERE pos <= {top} GROUP BY na, nb)
        -- concat_ws skips the ranks a pair lacks; chr(31), the unit separator, splits them (a name holding one
        -- would show as two)
        SELECT ma.account_id AS account_a, mb.account_id AS account_b, round(w.weight, 6) AS weight,
               string_split(concat_ws(chr(31), {", ".join(f"s.s{i}" for i in range(1, top + 1))}), chr(31)) AS shared
        FROM w JOIN s ON s.na = w.na AND s.nb = w.nb
        JOIN _linkage_num ma ON ma.num = w.na JOIN _linkage_num mb ON mb.num = w.nb""")
    ws.backend.execute("DROP TABLE _linkage_groups")
    ws.backend.execute("DROP TABLE _linkage_seeded")
    ws.backend.execute("DROP TABLE _linkage_supported")
    ws.backend.execute("DROP TABLE _linkage_held")
    ws.backend.execute("DROP TABLE _linkage_num")
    ws.backend.execute("DROP TABLE _linkage_sup")
    return ws.count("account_links")
