"""Linkage: accounts joined into campaigns through what they share and how they act together.

`build_linkage(ws)` writes

* ``account_indicators(account_id, indicator_type, indicator_value, exchanges, weight)``: each indicator an
  account shares with at least one other account, weighed by rarity, type and network kind;
* ``account_links(account_a, account_b, weight, shared VARCHAR[])``: the projected account graph (a < b),
  ``shared`` the heaviest indicator of each evidence group, as ``type:value``, heaviest group first;
* ``account_clusters(account_id, cluster_id, method)``: clusters of two or more accounts;
* ``clusters(cluster_id, accounts, exchanges, internal_weight, density, top_indicators, dense_block_share,
  sync_share)``: how strong (weight, density) and how specific (which indicators, coordination) a
  cluster's linkage is;
* ``account_linkage(account_id, cluster_id, indicators, links, strength, max_link, top_links VARCHAR[],
  dense_block, dense_density, sync)``: per account its strongest links, dense block and coordination.

Which clusters are campaigns is decided downstream, together with content scores.
"""

from .build import LinkageStats, build_linkage
from .cluster import components
from .config import LinkageConfig

__all__ = ["LinkageConfig", "LinkageStats", "build_linkage", "components"]
