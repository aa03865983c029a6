"""Dense blocks of the account x indicator graph, by greedy peeling (after FRAUDAR).

An edge (account, indicator) weighs ``tell / ln(degree + c)``: `tell` is the indicator's prior times its
network-kind factor and `degree` the number of accounts holding it. Because the weight depends only on
the indicator, an operator who pads its accounts with ordinary traffic (popular user agents, big
networks: high-degree, light columns) adds little to their rows, and the block of what they really share
stays dense. Peeling repeatedly removes the node (account or indicator) of least weighted degree and
keeps the intermediate set with the highest density f(S) / |S|; the search then runs again without the
block's accounts, up to ``dense_max_blocks`` times, stopping at the first block thinner than
``dense_min_density`` or smaller than ``dense_min_accounts`` accounts.
"""

from __future__ import annotations

import heapq

import numpy as np
import pyarrow as pa

from ..workspace import Workspace
from .config import LinkageConfig
from .indicators import IND

DENSE = "_linkage_dense"  # account_id, block (1 = densest), density


def peel(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, n_rows: int, n_cols: int
         ) -> tuple[np.ndarray, np.ndarray, float]:
    """The densest set found by peeling: (mask over rows in it, mask over columns in it, its density).
    Indicators are nodes n_rows.. of one graph with the accounts.

    Greedy peeling's set S has density d >= d*/2 (d* the densest), and no node of S has degree below d
    inside it (else dropping that node would have been denser). For any t, every node outside the t-core
    (the largest subgraph of minimum weighted degree t) is peeled before any node in it, so peeling only
    the core gives S whenever S lies in it, which holds when the core's own best density reaches t (then
    d >= t), and always for t <= d*/2. A vectorised batch peel finds a density d_b <= d*: the core at d_b
    is tried first, the one at d_b / 2 if need be. The core is the block and its close surroundings, so
    the one-node-at-a-time heap (O(E log E) Python steps) runs on a small graph."""
    n = n_rows + n_cols
    heads = np.concatenate([rows, cols + n_rows])
    tails = np.concatenate([cols + n_rows, rows])
    w = np.concatenate([weights, weights])
    reached = _batch_density(heads, tails, w, n)
    for floor in (reached, reached / 2):
        core = _core(heads, tails, w, n, floor * (1 - 1e-9))
        inside = core[heads] & core[tails]
        nodes = np.flatnonzero(core)
        index = np.full(n, -1, dtype=np.int64)
        index[nodes] = np.arange(len(nodes))
        chosen, best = _greedy(index[heads[inside]], index[tails[inside]], w[inside], len(nodes))
        if best >= floor * (1 - 1e-9):
            break
    kept = np.zeros(n, dtype=bool)
    kept[nodes[chosen]] = True
    return kept[:n_rows], kept[n_rows:], best


def _greedy(heads: np.ndarray, tails: np.ndarray, w: np.ndarray, n: int) -> tuple[np.ndarray, float]:
    """Greedy peeling of a graph given both ways round: (mask of the densest intermediate set, its
    density). Lazy heap entries, so each edge costs O(log E)."""
    if n == 0:
        return np.zeros(0, dtype=bool), 0.0
    priority = np.bincount(heads, weights=w, minlength=n)
    order = np.argsort(heads, kind="stable")
    tails, w = tails[order], w[order]
    starts = np.searchsorted(heads[order], np.arange(n + 1))
    removed = np.zeros(n, dtype=bool)
    heap = [(p, v) for v, p in enumerate(priority.tolist())]
    heapq.heapify(heap)
    total, size = float(w.sum()) / 2, n
    best, best_removed, peeled = total / size, 0, []
    while heap:
        p, v = heapq.heappop(heap)
        if removed[v] or p > priority[v] + 1e-12:  # stale entry: priorities only go down
            continue
        removed[v] = True
        peeled.append(v)
        total -= priority[v]
        size -= 1
        for u, wu in zip(tails[starts[v]:starts[v + 1]].tolist(), w[starts[v]:starts[v + 1]].tolist()):
            if not removed[u]:
                priority[u] -= wu
                heapq.heappush(heap, (priority[u], u))
        if size and total / size > best:
            best, best_removed = total / size, len(peeled)
    keep = np.ones(n, dtype=bool)
    keep[peeled[:best_removed]] = False
    return keep, best


def _batch_density(heads: np.ndarray, tails: np.ndarray, w: np.ndarray, n: int, eps: float = 0.02) -> float:
    """A density some node set reaches, within 2(1 + eps) of the densest: every pass drops all nodes of
    degree at most (1 + eps) times the average at once (a few dozen vectorised passes, not one per node)."""
    alive = np.bincount(heads, minlength=n) > 0
    live = np.ones(len(heads), dtype=bool)
    best = 0.0
    while live.any():
        degree = np.bincount(heads[live], weights=w[live], minlength=n)
        nodes = int(np.count_nonzero(alive))
        average = degree.sum() / nodes  # twice the density: each edge is in two nodes' degrees
        best = max(best, average / 2)
        alive &= degree > (1 + eps) * average
        live &= alive[heads] & alive[tails]
    return best


def _core(heads: np.ndarray, tails: np.ndarray, w: np.ndarray, n: int, floor: float) -> np.ndarray:
    """Nodes of the largest subgraph whose every node has weighted degree >= floor (its `floor`-core)."""
    alive = np.ones(n, dtype=bool)
    live = np.ones(len(heads), dtype=bool)
    while True:
        degree = np.bincount(heads[live], weights=w[live], minlength=n)
        low = alive & (degree < floor)
        if not low.any():
            return alive
        alive &= ~low
        live &= alive[heads] & alive[tails]


def dense_blocks(ws: Workspace, cfg: LinkageConfig) -> list[dict]:
    """`_linkage_dense(account_id, block, density)`; returns one summary per block found."""
    edges = ws.sql(f"""
        SELECT dense_rank() OVER (ORDER BY account_id) - 1 AS r,
               dense_rank() OVER (ORDER BY indicator_type, indicator_value) - 1 AS c,
               tell / ln(n + {float(cfg.dense_c)}) AS w, account_id
        FROM {IND} WHERE tell > 0 ORDER BY r, c""")  # ordered: float sums, hence ties, follow edge order
    rows = edges.column("r").to_numpy().astype(np.int64)
    cols = edges.column("c").to_numpy().astype(np.int64)
    weights = edges.column("w").to_numpy().astype(np.float64)
    n_rows = int(rows.max()) + 1 if len(rows) else 0
    n_cols = int(cols.max()) + 1 if len(cols) else 0
    names = np.empty(n_rows, dtype=object)
    names[rows] = edges.column("account_id").to_numpy(zero_copy_only=False)
    alive = np.ones(len(rows), dtype=bool)
    members, blocks = [], []
    for block in range(1, cfg.dense_max_blocks + 1):
        if not alive.any():
            break
        in_rows, in_cols, density = peel(rows[alive], cols[alive], weights[alive], n_rows, n_cols)
        # Nodes without edges left are peeled first; the mask can only keep them when nothing was peeled.
        accounts = np.flatnonzero(in_rows & (np.bincount(rows[alive], minlength=n_rows) > 0))
        if density < cfg.dense_min_density or len(accounts) < cfg.dense_min_accounts:
            break
        in_block = np.zeros(n_rows, dtype=bool)
        in_block[accounts] = True
        indicators = int((in_cols & (np.bincount(cols[alive], minlength=n_cols) > 0)).sum())
        blocks.append({"block": block, "accounts": len(accounts), "indicators": indicators,
                       "density": round(float(density), 4)})
        members.extend((names[a], block, float(density)) for a in accounts)
        alive &= ~in_block[rows]
    ws.backend.register_arrow("_linkage_dense_in", pa.table({
        "account_id": pa.array([m[0] for m in members], pa.string()),
        "block": pa.array([m[1] for m in members], pa.int32()),
        "density": pa.array([m[2] for m in members], pa.float64())}))
    ws.backend.execute(f"CREATE OR REPLACE TABLE {DENSE} AS SELECT * FROM _linkage_dense_in")
    ws.backend.unregister("_linkage_dense_in")
    return blocks
