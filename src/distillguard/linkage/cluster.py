"""Clusters of linked accounts: Leiden on one machine, or connected components as plain SQL steps.

Both ignore links lighter than ``cluster_min_weight``: modularity does not care how light a graph's
edges are, so without the cut the weak links of a CGNAT pool would make a community of its own.
A cluster is named after its smallest account id, hashed, so the same accounts give the same id on any
engine and in any run; communities of one account are not clusters.
"""

from __future__ import annotations

import random
from itertools import count

import igraph as ig
import numpy as np
import pyarrow as pa

from ..workspace import Workspace
from .config import LinkageConfig


def components(ws: Workspace, edges_sql: str, out: str) -> int:
    """Connected components of the undirected graph `edges_sql` (columns a, b) into `out(node, label)`,
    label = the smallest node of the component. Min-label propagation with pointer jumping: each step
    one SQL statement (a node takes the least of its own label, its neighbours' and its label's label),
    repeated until no label changes. Labels only decrease, so it ends, after at most diameter + 1 steps
    (fewer where labels jump); the projection keeps diameters small (cliques, cycles over random orders).
    Returns the number of steps."""
    run = ws.backend.execute
    run(f"CREATE OR REPLACE TABLE _linkage_edges AS SELECT a, b FROM ({edges_sql}) WHERE a <> b")
    run(f"""CREATE OR REPLACE TABLE {out} AS
            SELECT DISTINCT node, node AS label FROM (SELECT a AS node FROM _linkage_edges
                                                       UNION ALL SELECT b FROM _linkage_edges)""")
    for step in count(1):
        run(f"""CREATE OR REPLACE TABLE _linkage_lp AS
                WITH offer AS (
                    SELECT e.a AS node, l.label FROM _linkage_edges e JOIN {out} l ON l.node = e.b
                    UNION ALL SELECT e.b, l.label FROM _linkage_edges e JOIN {out} l ON l.node = e.a
                    UNION ALL SELECT l.node, j.label FROM {out} l JOIN {out} j ON j.node = l.label)
                SELECT l.node, least(l.label, min(o.label)) AS label, least(l.label, min(o.label)) <> l.label AS moved
                FROM {out} l JOIN offer o USING (node) GROUP BY l.node, l.label""")
        moved = int(ws.backend.scalar("SELECT count(*) FROM _linkage_lp WHERE moved"))
        run(f"CREATE OR REPLACE TABLE {out} AS SELECT node, label FROM _linkage_lp")
        if not moved:
            run("DROP TABLE _linkage_lp")
            run("DROP TABLE _linkage_edges")
            return step


def _leiden(ws: Workspace, cfg: LinkageConfig) -> pa.Table:
    # Accounts are numbered in SQL (sorted: a stable vertex order), so the graph is built from integer
    # arrays; igraph's own Leiden runs in C, ten times faster than leidenalg on a million-link graph.
    coded = ws.sql("""
        WITH e AS (SELECT account_a, account_b, weight FROM account_links WHERE weight >= ?),
        v AS (SELECT account_id, row_number() OVER (ORDER BY account_id) - 1 AS code
              FROM (SELECT account_a AS account_id FROM e UNION SELECT account_b FROM e))
        SELECT x.code AS a, y.code AS b, e.weight FROM e
        JOIN v x ON x.account_id = e.account_a JOIN v y ON y.account_id = e.account_b
        ORDER BY e.account_a, e.account_b""", [cfg.cluster_min_weight])
    names = ws.sql("""
        WITH e AS (SELECT account_a, account_b FROM account_links WHERE weight >= ?)
        SELECT account_id FROM (SELECT account_a AS account_id FROM e UNION SELECT account_b FROM e)
        ORDER BY account_id""", [cfg.cluster_min_weight]).column("account_id")
    if not coded.num_rows:
        return pa.table({"node": pa.array([], pa.string()), "community": pa.array([], pa.int64())})
    graph = ig.Graph(n=len(names), edges=np.column_stack([coded.column("a").to_numpy(),
                                                         coded.column("b").to_numpy()]))
    # igraph draws from the generator it is given: a seeded one makes the partition reproducible.
    ig.set_random_number_generator(random.Random(cfg.seed))
    try:
        part = graph.community_leiden(objective_function="modularity" if cfg.leiden_partition == "rb" else "CPM",
                                      weights=coded.column("weight").to_numpy().tolist(),
                                      resolution=cfg.resolution, n_iterations=2)
    finally:
        ig.set_random_number_generator(random)
    return pa.table({"node": names, "community": pa.array(part.membership, pa.int64())})


def cluster(ws: Workspace, cfg: LinkageConfig) -> int:
    """`account_clusters(account_id, cluster_id, method)` by `cfg.method`; returns the number of clusters."""
    if cfg.method == "components":
        components(ws, f"SELECT account_a AS a, account_b AS b FROM account_links "
                       f"WHERE weight >= {float(cfg.cluster_min_weight)}", "_linkage_cc")
        labelled = "SELECT node, label FROM _linkage_cc"
    else:
        ws.backend.register_arrow("_linkage_leiden", _leiden(ws, cfg))
        labelled = "SELECT node, min(node) OVER (PARTITION BY community) AS label FROM _linkage_leiden"
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE account_clusters AS
        WITH m AS ({labelled})
        SELECT node AS account_id, 'c_' || left(md5(label), 16) AS cluster_id, '{cfg.method}' AS method
        FROM m WHERE label IN (SELECT label FROM m GROUP BY label HAVING count(*) >= 2)""")
    if cfg.method == "components":
        ws.backend.execute("DROP TABLE _linkage_cc")
    else:
        ws.backend.unregister("_linkage_leiden")
    return int(ws.backend.scalar("SELECT count(DISTINCT cluster_id) FROM account_clusters"))
