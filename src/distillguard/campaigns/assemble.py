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
from collections import Counter

import igraph as ig
import leidenalg
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..fingerprints.content.capability import CLASSES
from ..workspace import Workspace
from .config import CampaignConfig

# Indicators that place accounts in the same operation's infrastructure (not content, and not
# so broad that they say nothing: ASNs and user agents are left out).
INFRA_TYPES = ("ip", "payment", "org_id", "signup_ip", "created_burst", "sync", "email_domain")

# An operation's own infrastructure: what it pays and signs up with, and the addresses it sends from.
OWN_TYPES = ("ip", "payment", "signup_ip", "created_burst")
# ... of which what identifies the payer: an address may be a residential proxy's exit, someone's home too.
PAYER_TYPES = ("payment",)
# Network kinds of an address that is somebody's connection too (a residential proxy's exit is a home).
HOME_KINDS = ("residential", "mobile", "education")
# What places a plainly harvesting lone account in a group its capability mix does not match (see _attach):
# the group's infrastructure, or also a network prefix it sends from. A /24 alone groups no one (an ISP's
# customers share it); beside a strong content link and the account's own score it places one.
PLACING_TYPES = ("prefix",)


def _sql_in(values: tuple[str, ...]) -> str:
    """A constant tuple of names as an SQL IN list."""
    return ", ".join(f"'{v}'" for v in values)


def _infra_held(holders: str, types: tuple[str, ...]) -> str:
    """SQL: the telling infrastructure indicators (of `types`) held by the accounts of `holders` (account_id)."""
    return f"""
        SELECT i.* FROM account_indicators i SEMI JOIN ({holders}) h ON h.account_id = i.account_id
        WHERE i.indicator_type IN ({_sql_in(types)})
          -- every fast adopter pivots to a new model at once: that is evidence, not an identity
          AND NOT starts_with(i.indicator_value, 'pivot:')"""


_SUSPICION = """
CREATE OR REPLACE TEMP TABLE _suspicion AS
SELECT s.account_id, s.score AS suspicion, coalesce(a.exchanges, 0) AS exchanges,
       -- content evidence: the account's score, or, for a quiet account whose behaviour reads as a person's,
       -- the share of its own exchanges the exchange scorer calls harvesting
       CASE WHEN h.n >= {min_exchanges} THEN greatest(s.score, h.share) ELSE s.score END AS evidence,
       coalesce(h.share, 0) AS harvest_share, coalesce(h.n, 0) AS scored, coalesce(h.hits, 0) AS hits,
       coalesce(h.sure, 0) AS sure,
       -- the share of its own requests that are plainly harvesting, where it has enough of them
       CASE WHEN h.n >= {min_exchanges} THEN h.sure / h.n ELSE 1.0 END AS plain,
       -- a verified account bound to an organisation: content alone (public benchmark prompts, its own
       -- heavy use) does not condemn it; shared infrastructure or synchrony with others still can
       coalesce(c.verified, false) AND c.org_id IS NOT NULL AS established, c.org_id,
       -- an evaluation harness asks every model under test the same questions (public benchmarks that read like
       -- harvesting); a harvester asks one model new ones: content alone does not condemn it either
       coalesce(a.multi_model_request_share, 0) >= {evaluator_share} AS evaluator
FROM account_scores s LEFT JOIN account_features a USING (account_id) LEFT JOIN accounts c USING (account_id)
LEFT JOIN (SELECT account_id, avg(CASE WHEN score >= 0.5 THEN 1.0 ELSE 0.0 END) AS share, count(*) AS n,
                  count(*) FILTER (WHERE score >= 0.5) AS hits, count(*) FILTER (WHERE score >= {sure_score}) AS sure
           FROM exchange_scores GROUP BY account_id) h USING (account_id)
"""

_GROUP_SUMMARY = """
CREATE OR REPLACE TABLE campaign_clusters AS
WITH m AS (
    SELECT g.cluster_id, g.account_id, s.evidence, s.exchanges, g.max_link, g.pooled, s.scored, s.hits, s.sure,
           l.dense_block IS NOT NULL AS dense, coalesce(y.synced, false) AS synced
    FROM _groups g JOIN _suspicion s USING (account_id)
    LEFT JOIN account_linkage l USING (account_id)
    LEFT JOIN (SELECT DISTINCT i.account_id, true AS synced
               FROM account_indicators i JOIN _groups g1 USING (account_id)
               JOIN account_indicators j ON j.indicator_type = 'sync' AND j.indicator_value = i.indicator_value
                                         AND j.account_id <> i.account_id
               JOIN _groups g2 ON g2.account_id = j.account_id AND g2.cluster_id = g1.cluster_id
               WHERE i.indicator_type = 'sync') y USING (account_id)
)
, orgs AS (
    SELECT cluster_id, max(n) AS top_org FROM (
        SELECT g.cluster_id, s.org_id, count(*) AS n FROM _groups g JOIN _suspicion s USING (account_id)
        WHERE s.org_id IS NOT NULL GROUP BY g.cluster_id, s.org_id) GROUP BY cluster_id)
SELECT cluster_id, count(*) AS n_accounts, sum(exchanges) AS exchanges,
       -- log-weighted so one loud account cannot carry (or sink) the whole group; a pooled group (see
       -- _pooled_groups) is judged on its members' exchanges taken together
       CASE WHEN bool_or(pooled) THEN sum(hits) / greatest(sum(scored), 1)
            ELSE sum(evidence * ln(2 + exchanges)) / sum(ln(2 + exchanges)) END AS content,
       avg(least(max_link, 1.0)) AS link_strength, avg(synced::INT) AS sync_share,
       avg(dense::INT) AS dense_block_share,
       -- the share of the group inside its largest organisation
       coalesce(any_value(o.top_org), 0) / count(*) AS org_share,
       bool_or(pooled) AS pooled, sum(sure) / greatest(sum(scored), 1) AS pooled_sure
FROM m LEFT JOIN orgs o USING (cluster_id) GROUP BY cluster_id
"""


def _components(pairs: dict, members: set[str] | None, min_accounts: int, resolution: float) -> list[list[str]]:
    """Leiden communities (CPM): a chain of weak bridges does not make two operations one."""
    graph = ig.Graph.TupleList(zip(pairs["account_a"], pairs["account_b"], pairs["weight"]), weights=True)
    names = graph.vs["name"] if graph.vcount() else []
    parts = leidenalg.find_partition(graph, leidenalg.CPMVertexPartition, weights="weight",
                                     resolution_parameter=resolution, seed=7) if graph.vcount() else []
    groups = [sorted(names[i] for i in c) for c in parts]
    return [g for g in groups if len(g) >= min_accounts and (members is None or set(g) <= members)]


def _capability_profiles(ws: Workspace) -> dict[str, np.ndarray]:
    """Each suspicious account's share of exchanges per capability, as a unit vector (none when the
    capability step has not run: grouping then goes by links alone)."""
    if not ws.backend.table_exists("exchange_capabilities"):
        return {}
    rows = ws.sql("""SELECT c.account_id, list(c.capability ORDER BY c.capability) AS caps,
                            list(c.n ORDER BY c.capability) AS n
                     FROM (SELECT e.account_id, x.capability, count(*) AS n FROM exchanges e
                           JOIN exchange_capabilities x USING (request_id)
                           WHERE e.account_id IN (SELECT account_id FROM _suspicion WHERE evidence >= 0.5)
                           GROUP BY ALL) c GROUP BY c.account_id""").to_pylist()
    index = {c: i for i, c in enumerate(CLASSES)}
    out = {}
    for r in rows:
        v = np.zeros(len(CLASSES))
        for cap, n in zip(r["caps"], r["n"]):
            v[index.get(cap, 0)] += n
        out[r["account_id"]] = v / (np.linalg.norm(v) or 1.0)
    return out


def _centroid(accounts, profiles: dict[str, np.ndarray]) -> np.ndarray:
    v = sum((profiles[a] for a in accounts if a in profiles), np.zeros(len(CLASSES)))
    return v / (np.linalg.norm(v) or 1.0)


def _focused(group: list[str], profiles: dict[str, np.ndarray], min_focus: float) -> list[str]:
    """Members of a content-held group whose capability mix matches the group's.

    Shared prompts are all that hold such a group, and a reseller or a busy chat user shares some
    with anyone; an operation harvests a focus, so a member far from it is not one of them.
    """
    if not profiles:
        return group
    centre = _centroid(group, profiles)
    return [a for a in group if a in profiles and float(profiles[a] @ centre) >= min_focus]


def _attach(groups: list[list[str]], strong: list[tuple], suspicion: dict[str, float],
            profiles: dict[str, np.ndarray], cfg: CampaignConfig, places: dict[frozenset, set] | None = None,
            bound: set[frozenset] = frozenset()) -> None:
    """A lone account whose own traffic is plainly harvesting (`attach_min_score`) joins the group it links
    to most.

    Small accounts of a large operation often share too little infrastructure to be grouped
    on their own, but their content and one strong link place them. Harvesters of different
    operations share public prompts, so the pull of a group is weighed by how alike the account's
    capability mix is to the group's: an operation keeps its focus. A busy chat user shares public
    prompts with harvesters too, so a group that only content links to (no shared infrastructure or
    network prefix: `places`, pair -> the indicators it shares) must also fit the account's mix by at least
    `content_min_focus`. Where the strong link also shares telling infrastructure (pairs in `bound`),
    `attach_bound_min_score` suffices; where its strong links into one group share `attach_placed_min_places`
    distinct places (IPs, cards, /24s) between them, `attach_placed_min_score` suffices for that group: one
    shared /24 is a neighbour's, however many of the operation's accounts send from it; the same content from
    several of the group's addresses is the operation's rotating exits.
    """
    places = places or {}
    member_of = {a: i for i, g in enumerate(groups) for a in g}
    links: dict[tuple[str, int], list[tuple[float, bool]]] = {}
    shared: dict[tuple[str, int], set] = {}
    for a, b, w in strong:
        for x, y in ((a, b), (b, a)):
            if x not in member_of and y in member_of:
                pair = frozenset((x, y))
                links.setdefault((x, member_of[y]), []).append((w, pair in bound))
                if pair in places:
                    shared.setdefault((x, member_of[y]), set()).update(places[pair])
    pull: dict[str, dict[int, float]] = {}
    for (x, i), found in links.items():
        score = suspicion.get(x, 0)
        placed = score >= cfg.attach_placed_min_score and \
            len(shared.get((x, i), ())) >= cfg.attach_placed_min_places
        weights = [w for w, held in found
                   if placed or score >= cfg.attach_min_score or (held and score >= cfg.attach_bound_min_score)]
        if weights:
            pull.setdefault(x, {})[i] = sum(weights)
    zero = np.zeros(len(CLASSES))
    focus = {i: _centroid(groups[i], profiles) for i in {i for weights in pull.values() for i in weights}}
    for account, weights in pull.items():
        mine = profiles.get(account, zero)
        fit = {i: w * (float(mine @ focus[i]) if profiles else 1.0) for i, w in weights.items()
               if not profiles or (account, i) in shared or float(mine @ focus[i]) >= cfg.content_min_focus}
        if fit:
            groups[max(fit, key=fit.get)].append(account)


def _pooled_groups(ws: Workspace, cfg: CampaignConfig, taken: set[str]) -> tuple[list[list[str]], dict[str, float]]:
    """Groups of diluted accounts that share hosting infrastructure, to be judged on their pooled traffic.

    A proxy network mixes its harvesting with ordinary customers' requests on the same accounts, so no
    member's own score is high enough to be grouped above. Each member still sends a visible share of
    harvest-like requests; when several such accounts (none a verified organisation's key) share telling
    infrastructure, the group is kept and later condemned only if its exchanges, taken together, hold
    plainly harvest-like requests and its members are coordinated (see `assemble_campaigns`). Coding
    agents reach similar harvest shares, but on borderline requests and without shared hosting.
    """
    pairs = _infra_pairs(
        ws, cfg, "SELECT account_id FROM _suspicion WHERE scored >= ? AND harvest_share >= ?",
        [cfg.share_min_exchanges, cfg.pool_min_member_share],
        """SELECT l.account_a, l.account_b FROM account_links l
           JOIN _suspicion a ON a.account_id = l.account_a JOIN _suspicion b ON b.account_id = l.account_b
           -- two verified keys of one organisation share its gateway by design
           WHERE l.weight >= ? AND NOT (a.established AND b.established AND a.org_id = b.org_id)""",
        [cfg.min_link_weight])
    taken = pa.array(sorted(taken), pa.string())
    pairs = pairs.filter(pc.invert(pc.or_(_among(pairs, "account_a", taken), _among(pairs, "account_b", taken))))
    if not pairs.num_rows:
        return [], {}
    groups = _components(_links(pairs), None, max(cfg.min_accounts, cfg.pool_min_accounts), cfg.resolution)
    return groups, _max_link(pairs.column("account_a"), pairs.column("account_b"), pairs.column("weight"))


def _groups(ws: Workspace, cfg: CampaignConfig) -> dict:
    """Groups of suspicious accounts: first by shared infrastructure or synchrony, then by content.

    Two operations may send the same public prompts, so a shared template alone must not merge
    accounts that infrastructure already places in different groups; it only gathers accounts
    that nothing else links (a low-and-slow operation on residential IPs and distinct cards).
    """
    db = ws.backend
    db.execute("""CREATE OR REPLACE TEMP TABLE _strong AS
        SELECT l.account_a, l.account_b, l.weight FROM account_links l
        JOIN _suspicion a ON a.account_id = l.account_a JOIN _suspicion b ON b.account_id = l.account_b
        WHERE l.weight >= ? AND a.evidence >= ? AND b.evidence >= ?
          -- two verified keys of one organisation share its card, office and cloud by design
          AND NOT (a.established AND b.established AND a.org_id = b.org_id)""",
               [cfg.min_link_weight, cfg.min_suspicion, cfg.min_suspicion])
    shared = _infra_pairs(ws, cfg, "SELECT account_id FROM _suspicion WHERE suspicion >= ?", [cfg.min_suspicion],
                          "SELECT account_a, account_b FROM _strong", [], also=PLACING_TYPES)
    infra = shared.filter(pc.greater(shared.column("weight"), 0))
    accounts = ws.sql("SELECT account_id, suspicion, evidence, established, evaluator, plain "
                      "FROM _suspicion").to_pydict()
    suspicion = dict(zip(accounts["account_id"], accounts["suspicion"]))
    evidence = dict(zip(accounts["account_id"], accounts["evidence"]))
    plain = dict(zip(accounts["account_id"], accounts["plain"]))
    established = {a for a, e in zip(accounts["account_id"], accounts["established"]) if e}
    evaluators = {a for a, e in zip(accounts["account_id"], accounts["evaluator"]) if e}
    groups = _hub_merged(_components(_links(infra), None, cfg.min_accounts, cfg.resolution), _hubs(ws, cfg),
                         cfg.min_accounts)
    grouped = {a for g in groups for a in g}
    # Ordered: Leiden's result depends on the order vertices and edges arrive in.
    strong = ws.sql("SELECT account_a, account_b, weight FROM _strong ORDER BY account_a, account_b")
    content = strong.to_pydict()
    db.execute("DROP TABLE _strong")
    # Without shared infrastructure, content is the only evidence: it must be strong on both sides, and
    # plain. Users of one coding tool share its prompt templates and send many borderline requests, as an
    # agentic harvester does; the harvester's own traffic holds a clear share of unmistakable ones.
    loners = {a for a in set(content["account_a"]) | set(content["account_b"])
              if a not in grouped and a not in established and a not in evaluators
              and evidence[a] >= cfg.content_min_suspicion
              and plain[a] >= cfg.content_min_sure}
    keep = [i for i, (a, b) in enumerate(zip(content["account_a"], content["account_b"])) if a in loners and b in loners]
    profiles = _capability_profiles(ws)
    by_content = _components({k: [v[i] for i in keep] for k, v in content.items()}, loners, cfg.min_accounts,
                             cfg.content_resolution)
    groups += [g for g in (_focused(g, profiles, cfg.content_min_focus) for g in by_content)
               if len(g) >= cfg.min_accounts]
    # Only pairs with one account grouped and one not can attach anyone: a large scan has millions of strong
    # pairs, filtered here in Arrow rather than in the Python loop.
    members = pa.array(sorted({a for g in groups for a in g}), pa.string())
    crossing = _crossing(strong, members)
    # what each crossing pair shares, and which of them share telling infrastructure (weight > 0)
    placing = _crossing(shared, members)
    pairs = [frozenset(p) for p in zip(placing["account_a"], placing["account_b"])]
    _attach(groups, list(zip(crossing["account_a"], crossing["account_b"], crossing["weight"])),
            {a: v for a, v in suspicion.items() if a not in evaluators}, profiles, cfg,
            dict(zip(pairs, map(set, placing["places"]))), {p for p, w in zip(pairs, placing["weight"]) if w > 0})
    strength = _max_link(strong.column("account_a"), strong.column("account_b"), strong.column("weight"))
    rows = {"cluster_id": [], "account_id": [], "max_link": [], "pooled": []}
    for ids in groups:
        _add_group(rows, ids, strength, False)
    return rows


def _among(pairs: pa.Table, column: str, accounts: pa.Array) -> pa.ChunkedArray:
    return pc.is_in(pairs.column(column).cast(pa.string()), value_set=accounts)


def _crossing(pairs: pa.Table, members: pa.Array) -> dict:
    """The rows of `pairs` (account_a, account_b, ...) with exactly one account among `members`."""
    if not pairs.num_rows:
        return pairs.to_pydict()
    return pairs.filter(pc.xor(_among(pairs, "account_a", members), _among(pairs, "account_b", members))).to_pydict()


def _links(pairs: pa.Table) -> dict:
    """The pairs and their weights as lists, for Leiden."""
    return pairs.select(["account_a", "account_b", "weight"]).to_pydict()


def _infra_pairs(ws: Workspace, cfg: CampaignConfig, holders: str, holders_params: list, pairs: str,
                 pairs_params: list, also: tuple[str, ...] = ()) -> pa.Table:
    """The pairs of `pairs` (account_a, account_b) weighed by the telling infrastructure both accounts hold,
    among the accounts of `holders` (account_id): a noisy-OR over it, ordered for Leiden, with `places`, the
    hashes of the indicators they share. Pairs that share only indicators of the types `also` come too, with
    weight 0.

    Weighed by the shared infrastructure alone: harvesters of different operations send the same public
    prompts, so content must not pull their accounts into one group. Indicators on more than
    `max_indicator_accounts` of the holders are too common to tell; one of the types `also` counts only where
    at least `placing_min_share` of all the accounts holding it are holders."""
    # Indicators are narrowed to those two to `max_indicator_accounts` holders share before the pairs are
    # joined: an account sending through rotating residential exits holds dozens of /24s, nearly all its own.
    return ws.sql(f"""
        WITH ind AS ({_infra_held(holders, INFRA_TYPES + also)}),
        counted AS (SELECT indicator_type, indicator_value, count(*) AS n FROM ind GROUP BY ALL
                    HAVING count(*) BETWEEN 2 AND ?),
        -- a prefix whose senders are mostly ordinary accounts is a neighbourhood or a shared exit, not theirs
        crowded AS (SELECT c.indicator_type, c.indicator_value FROM counted c
                    JOIN account_indicators i ON i.indicator_type = c.indicator_type
                                             AND i.indicator_value = c.indicator_value
                    WHERE c.indicator_type IN ({_sql_in(also or ("",))})
                    GROUP BY ALL HAVING any_value(c.n) < ? * count(*)),
        usable AS (SELECT i.account_id, i.indicator_type, i.indicator_value, i.weight FROM ind i
                   SEMI JOIN counted c ON c.indicator_type = i.indicator_type AND c.indicator_value = i.indicator_value
                   ANTI JOIN crowded d ON d.indicator_type = i.indicator_type AND d.indicator_value = i.indicator_value)
        -- rounded: the sum's order follows the engine's threads, and Leiden reads a last-bit difference
        -- as another graph (the same workspace gave 28 or 30 campaigns from run to run)
        SELECT s.account_a, s.account_b,
               round(1 - exp(sum(CASE WHEN x.indicator_type IN ({_sql_in(INFRA_TYPES)})
                                      THEN ln(1 - least(x.weight, 0.95)) ELSE 0 END)), 9) AS weight,
               list(DISTINCT hash(x.indicator_type, x.indicator_value)) AS places
        FROM ({pairs}) s
        JOIN usable x ON x.account_id = s.account_a
        JOIN usable y ON y.account_id = s.account_b AND y.indicator_type = x.indicator_type
                      AND y.indicator_value = x.indicator_value
        GROUP BY s.account_a, s.account_b ORDER BY s.account_a, s.account_b""",
                  [*holders_params, cfg.max_indicator_accounts, cfg.placing_min_share, *pairs_params])


def _hubs(ws: Workspace, cfg: CampaignConfig) -> list[list[str]]:
    """Infrastructure shared too widely for pairwise grouping that is nonetheless one operation's: held by
    more than `hub_min_accounts` suspicious accounts (`min_suspicion`), who are at least `hub_min_share` of
    all its holders. Each hub's suspicious holders, less verified organisations' keys, which a hub never
    groups (an organisation's keys share its gateway by design).

    A link's weight falls with the number of accounts sharing the indicator (an address of eighty accounts
    weighs 0.04-0.12), linkage keeps an indicator held by more than a hundred accounts as a few random cycles
    through them (not a clique), and a Leiden CPM community must be as dense as `resolution` at any size: a
    campaign sending from one egress pool through dozens or thousands of accounts comes out as many groups.
    A cloud NAT, a campus or a mobile carrier's pool is shared with ordinary accounts; an address that
    dozens or thousands of accounts use, nearly all of them suspicious, is the campaign's own. A suspicious verified
    key on it counts towards that share (an operation recruits verified accounts too); a customer's key
    that is not suspicious counts against it."""
    rows = ws.sql(f"""
        WITH ind AS ({_infra_held("SELECT account_id FROM _suspicion WHERE suspicion >= ?", INFRA_TYPES)}),
        held AS (SELECT ind.indicator_type, ind.indicator_value, ind.account_id, s.established
                 FROM ind JOIN _suspicion s USING (account_id)),
        broad AS (SELECT indicator_type, indicator_value, count(*) AS n FROM held GROUP BY ALL
                  HAVING count(*) FILTER (WHERE NOT established) > ?),
        total AS (SELECT indicator_type, indicator_value, count(*) AS total FROM account_indicators
                  SEMI JOIN broad USING (indicator_type, indicator_value) GROUP BY ALL)
        SELECT list(held.account_id ORDER BY held.account_id) AS accounts
        FROM held JOIN broad USING (indicator_type, indicator_value) JOIN total USING (indicator_type, indicator_value)
        WHERE broad.n >= ? * total.total AND NOT held.established
        GROUP BY held.indicator_type, held.indicator_value ORDER BY held.indicator_type, held.indicator_value""",
                  [cfg.min_suspicion, cfg.hub_min_accounts, cfg.hub_min_share]).to_pydict()
    return rows["accounts"]


def _hub_merged(groups: list[list[str]], hubs: list[list[str]], min_accounts: int) -> list[list[str]]:
    """`groups` with each hub's holders joined into one group (hubs sharing holders are one), together with
    every group mostly of one hub's holders. A group where they are the lesser part is another operation that
    some hub accounts link to: it keeps its other members and lets the holders go to their hub."""
    if not hubs:
        return groups
    held = {a for h in hubs for a in h}
    names = sorted(held | {a for g in groups for a in g})
    index = {a: i for i, a in enumerate(names)}
    edges = [(index[h[0]], index[a]) for h in hubs for a in h[1:]]
    hub_of = {names[i]: k for k, c in enumerate(ig.Graph(n=len(names), edges=edges).connected_components())
              for i in c if names[i] in held}
    kept = []
    for g in groups:
        counts = Counter(hub_of[a] for a in g if a in held)
        if counts and 2 * max(counts.values()) > len(g):
            edges += [(index[g[0]], index[a]) for a in g[1:]]
        elif len(rest := [a for a in g if a not in held]) >= min_accounts:
            kept.append(rest)
    merged = [[names[i] for i in c] for c in ig.Graph(n=len(names), edges=edges).connected_components()]
    merged = [m for m in merged if held.intersection(m)]
    return sorted((g for g in (*merged, *kept) if len(g) >= min_accounts), key=lambda g: g[0])


def _max_link(a, b, weight) -> dict[str, float]:
    """Each account's heaviest link among the pairs (a[i], b[i]) of weight weight[i] (lists or Arrow columns)."""
    if not len(a):
        return {}
    t = pa.table({"account": pa.chunked_array(_chunks(a) + _chunks(b)), "w": pa.chunked_array(_chunks(weight) * 2)})
    best = t.group_by("account").aggregate([("w", "max")])
    return dict(zip(best.column("account").to_pylist(), best.column("w_max").to_pylist()))


def _chunks(values) -> list[pa.Array]:
    """A list or an Arrow column as Arrow arrays."""
    if isinstance(values, pa.ChunkedArray):
        return values.chunks
    return [values if isinstance(values, pa.Array) else pa.array(values)]


def _add_group(rows: dict, ids: list[str], strength: dict[str, float], pooled: bool) -> None:
    cluster = "c_" + hashlib.md5(ids[0].encode()).hexdigest()[:16]
    for account in ids:
        rows["cluster_id"].append(cluster)
        rows["account_id"].append(account)
        rows["max_link"].append(strength.get(account, 0.0))
        rows["pooled"].append(pooled)


def _load_groups(ws: Workspace, rows: dict) -> None:
    table = pa.table(rows, schema=pa.schema([("cluster_id", pa.string()), ("account_id", pa.string()),
                                             ("max_link", pa.float64()), ("pooled", pa.bool_())]))
    db = ws.backend
    db.register_arrow("_groups_arrow", table)
    db.execute("CREATE OR REPLACE TEMP TABLE _groups AS SELECT * FROM _groups_arrow")
    db.unregister("_groups_arrow")


def _judge(ws: Workspace, cfg: CampaignConfig) -> None:
    """Summarise each group in `campaign_clusters` and decide whether it is a campaign."""
    db = ws.backend
    db.execute(_GROUP_SUMMARY)
    # One rewrite instead of ALTER/UPDATE, so engines without UPDATE (Spark's catalog) run it too.
    db.execute("""
        CREATE OR REPLACE TABLE campaign_clusters AS
        -- one organisation's keys share its card, office and cloud by design: when a group is mostly one
        -- organisation, that sharing is no sign of strangers coordinating, so only plain harvesting condemns it
        SELECT *, CASE WHEN pooled
                       -- diluted accounts on shared hosting: condemned together when their pooled traffic holds
                       -- plainly harvest-like requests and they act in concert
                       THEN content >= ? AND pooled_sure >= ? AND coordination >= ? AND org_share < ?
                       ELSE content >= CASE WHEN org_share >= ? THEN ? ELSE ? END AND coordination >= ? AND score >= ?
                  END AS is_campaign
        FROM (SELECT *, sqrt(greatest(content, 0) * greatest(coordination, 0)) AS score
              FROM (SELECT *,
                           -- noisy-OR: any one strong form of coordination is enough, several reinforce
                           1 - (1 - least(sync_share, 1)) * (1 - least(dense_block_share, 1))
                             * (1 - least(link_strength, 1)) AS coordination
                    FROM campaign_clusters))""",
               [cfg.pool_min_harvest_share, cfg.pool_min_sure_share, cfg.pool_min_coordination, cfg.org_min_share,
                cfg.org_min_share, cfg.org_min_content, cfg.min_content, cfg.min_coordination, cfg.min_score])


def _extend(ws: Workspace, cfg: CampaignConfig) -> None:
    """Accounts on a condemned campaign's own infrastructure join it, whatever their own traffic says.

    A card, sign-up address, creation burst or client IP that a campaign's members hold, and that few
    others hold (at least `extend_min_share` of its holders are members), is the operation's own: an
    account on it is one of its accounts, however little it has sent yet (a spare key, a fresh sign-up),
    when `extend_min_members` members hold it, unless it is a home, mobile or campus address (`HOME_KINDS`):
    a residential proxy's exit is somebody's connection too, so it takes only an account whose own traffic
    is suspicious too (`extend_min_suspicion`). So does a card held by fewer members (one member's, shared
    with one other account): both kinds of evidence, as for a campaign; an address is not enough then. A
    verified organisation's key is never taken in this way. Writes
    `_extended` (account_id, cluster_id) and moves those accounts into their campaign in `_groups`."""
    db = ws.backend
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _extended AS
        WITH members AS (SELECT g.account_id, g.cluster_id FROM _groups g JOIN campaign_clusters k USING (cluster_id)
                         WHERE k.is_campaign),
        ind AS (SELECT DISTINCT account_id, indicator_type, indicator_value FROM account_indicators
                WHERE indicator_type IN ({_sql_in(OWN_TYPES)})),
        owned AS (SELECT i.indicator_type, i.indicator_value, m.cluster_id, count(*) AS k
                  FROM ind i JOIN members m USING (account_id) GROUP BY ALL),
        own AS (SELECT o.* FROM owned o JOIN ind i USING (indicator_type, indicator_value)
                GROUP BY ALL HAVING any_value(o.k) >= ? * count(*)),
        homes AS (SELECT DISTINCT ip FROM ip_intel WHERE kind IN ({_sql_in(HOME_KINDS)}))
        -- the campaign holding most of it; ties by id, so every run and engine picks the same
        SELECT i.account_id, arg_max(o.cluster_id, lpad(CAST(o.k AS VARCHAR), 10, '0') || o.cluster_id) AS cluster_id
        FROM ind i JOIN own o USING (indicator_type, indicator_value) JOIN _suspicion s USING (account_id)
        LEFT JOIN homes h ON o.indicator_type IN ('ip', 'signup_ip') AND h.ip = o.indicator_value
        WHERE NOT s.established AND i.account_id NOT IN (SELECT account_id FROM members)
          AND CASE WHEN o.k >= ? AND h.ip IS NULL THEN true
                   ELSE s.suspicion >= ? AND (o.k >= ? OR o.indicator_type IN ({_sql_in(PAYER_TYPES)})) END
        GROUP BY i.account_id""",
               [cfg.extend_min_share, cfg.extend_min_members, cfg.extend_min_suspicion, cfg.extend_min_members])
    db.execute("""CREATE OR REPLACE TEMP TABLE _groups AS
                  SELECT * FROM _groups WHERE account_id NOT IN (SELECT account_id FROM _extended)
                  UNION ALL SELECT cluster_id, account_id, 0.0 AS max_link, false AS pooled FROM _extended""")


def assemble_campaigns(ws: Workspace, config: CampaignConfig | None = None) -> int:
    """Write `campaign_clusters` and `account_verdicts`; return the number of campaigns."""
    cfg = config or CampaignConfig()
    db = ws.backend
    db.execute(_SUSPICION.format(min_exchanges=int(cfg.share_min_exchanges), sure_score=float(cfg.pool_sure_score),
                                 evaluator_share=float(cfg.evaluator_min_share)))
    rows = _groups(ws, cfg)
    _load_groups(ws, rows)
    _judge(ws, cfg)
    # Diluted accounts outside any campaign may still form one when pooled (see _pooled_groups); they leave
    # the uncondemned groups they were in, and every group is judged again.
    condemned = set(ws.sql("""SELECT g.account_id FROM _groups g JOIN campaign_clusters k USING (cluster_id)
                              WHERE k.is_campaign""").to_pydict()["account_id"])
    pooled, pooled_strength = _pooled_groups(ws, cfg, condemned)
    if pooled:
        moved = {a for g in pooled for a in g}
        kept: dict[str, list[str]] = {}
        for cluster, account in zip(rows["cluster_id"], rows["account_id"]):
            kept.setdefault(cluster, []).append(account)
        strength = dict(zip(rows["account_id"], rows["max_link"]))
        rows = {k: [] for k in rows}
        for ids in kept.values():
            rest = [a for a in ids if a not in moved]
            if len(rest) >= cfg.min_accounts:
                _add_group(rows, rest, strength, False)
        for ids in pooled:
            _add_group(rows, ids, pooled_strength, True)
        _load_groups(ws, rows)
        _judge(ws, cfg)
    _extend(ws, cfg)
    db.execute("""
        CREATE OR REPLACE TABLE account_verdicts AS
        SELECT s.account_id,
               CASE WHEN k.is_campaign THEN greatest(s.suspicion, k.score) ELSE s.suspicion END AS score,
               -- alone, machine-like behaviour (volume, cadence) is any automated client's: its own requests must
               -- read as harvesting too
               coalesce(k.is_campaign, false) OR (s.suspicion >= ? AND s.exchanges >= ? AND s.harvest_share >= ?
                                                  AND NOT s.established AND NOT s.evaluator) AS flagged,
               CASE WHEN k.is_campaign THEN 'camp-' || substr(k.cluster_id, 3) END AS campaign_id,
               g.cluster_id,
               concat_ws(';', CASE WHEN k.is_campaign THEN 'CAMPAIGN_MEMBER' END,
                         CASE WHEN x.account_id IS NOT NULL THEN 'CAMPAIGN_INFRASTRUCTURE' END,
                         nullif(r.reasons, '')) AS reasons
        FROM _suspicion s
        JOIN account_scores r USING (account_id)
        LEFT JOIN _groups g USING (account_id)
        LEFT JOIN campaign_clusters k ON k.cluster_id = g.cluster_id
        LEFT JOIN _extended x USING (account_id)""",
               [cfg.solo_min_score, cfg.solo_min_exchanges, cfg.solo_min_harvest_share])
    return int(db.scalar("SELECT count(*) FROM campaign_clusters WHERE is_campaign"))
