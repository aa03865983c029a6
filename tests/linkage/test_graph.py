"""Graph machinery: the hub guard, dense-block peeling, the config (SQL components against igraph, on
every backend: tests/workspace/test_backend_parity.py)."""

from datetime import timedelta

import numpy as np
import pytest

from distillguard.linkage import LinkageConfig, build_linkage, components
from distillguard.linkage.dense import _greedy, peel
from tests.linkage.worlds import T0


def test_hub_ip_of_3000_accounts_creates_bounded_edges(mem_ws, world):
    n, cfg = 3000, LinkageConfig()
    hub = world.ip("37.120.5.9", "mobile", 12345)
    for i in range(n):
        a = world.account(f"m{i:04d}", T0 - timedelta(days=i % 400))
        world.request(a, T0 + timedelta(seconds=97 * i), hub, ua="OpenAI/Python 1.55.0")
    world.write(mem_ws)
    stats = build_linkage(mem_ws, cfg)
    hubs = 4  # the IP, its /24, its ASN and the user agent: all on every account
    assert stats.hub_indicators == hubs
    assert stats.candidate_pairs <= hubs * n * cfg.hub_fanout  # not n(n-1)/2 = 4.5M per hub
    assert mem_ws.count("account_links") == 0  # a CGNAT address and a stock client say nothing alone
    assert mem_ws.count("account_clusters") == 0


def test_heavy_hub_is_sampled_into_a_short_connected_component(mem_ws, world):
    n, cfg = 500, LinkageConfig(method="components", cluster_min_weight=0.2)
    for i in range(n):  # one non-generic template on 500 accounts, nothing else shared
        a = world.account(f"t{i:03d}", T0 - timedelta(days=i))
        world.request(a, T0 + timedelta(seconds=613 * i), world.home_ip(), ua=f"client-{i}", family=77)
    world.write(mem_ws)
    stats = build_linkage(mem_ws, cfg)
    assert stats.hub_indicators == 2  # the template, and the home ASN (too light to seed pairs)
    assert stats.candidate_pairs <= n * cfg.hub_fanout
    assert mem_ws.sql("SELECT count(DISTINCT cluster_id) AS c, count(*) AS n FROM account_clusters").to_pylist() == [
        {"c": 1, "n": n}]
    steps = components(mem_ws, "SELECT account_a AS a, account_b AS b FROM account_links", "cc")
    assert steps <= 15  # random cycles: a diameter like log n, not n / (2 * fanout)


def test_hub_adds_weight_to_pairs_linked_anyway(mem_ws, world):
    hub = world.ip("45.77.50.1", "hosting", 20473)
    for i in range(300):
        a = world.account(f"h{i:03d}", T0 - timedelta(days=i), card="pf_shared" if i < 2 else None)
        world.request(a, T0 + timedelta(seconds=61 * i), hub)
    world.write(mem_ws)
    build_linkage(mem_ws)
    row = mem_ws.sql("SELECT * FROM account_links WHERE account_a = 'h000' AND account_b = 'h001'").to_pylist()[0]
    assert row["shared"][0] == "payment:pf_shared" and f"ip:{hub}" in row["shared"]


def test_peeling_finds_a_camouflaged_block():
    rng = np.random.default_rng(0)
    n_rows, n_cols, block_rows, block_cols = 500, 300, 25, 12
    rows, cols = [], []
    for r in range(n_rows):  # ordinary accounts: a few columns each, popular ones more often
        for c in rng.choice(n_cols - block_cols, size=3, replace=False):
            rows.append(r)
            cols.append(block_cols + c)
    for r in range(block_rows):  # the block: every block column, plus camouflage on popular columns
        rows += [r] * block_cols + [r] * 6
        cols += list(range(block_cols)) + list(block_cols + rng.choice(10, size=6))
    rows, cols = np.array(rows), np.array(cols)
    degree = np.bincount(cols, minlength=n_cols)
    weights = 1 / np.log(degree[cols] + 5)
    in_rows, in_cols, density = peel(rows, cols, weights, n_rows, n_cols)
    assert set(np.flatnonzero(in_rows)) == set(range(block_rows))
    assert set(range(block_cols)) <= set(np.flatnonzero(in_cols))
    assert density > 2


def test_peeling_the_core_gives_what_peeling_everything_gives():
    # peel() peels only a core around the densest part; plain greedy peeling of the whole graph must agree
    rng = np.random.default_rng(3)
    for trial in range(60):
        n_rows, n_cols = int(rng.integers(20, 200)), int(rng.integers(5, 60))
        rows, cols = rng.integers(0, n_rows, 600), rng.integers(0, n_cols, 600)
        if trial % 2:  # a planted block
            block = np.array(np.meshgrid(np.arange(12), np.arange(5))).reshape(2, -1)
            rows, cols = np.r_[rows, block[0]], np.r_[cols, block[1]]
        rows, cols = np.unique(np.c_[rows, cols], axis=0).T
        weights = rng.random(len(rows)) + 0.05
        n = n_rows + n_cols
        whole, density = _greedy(np.r_[rows, cols + n_rows], np.r_[cols + n_rows, rows], np.r_[weights, weights], n)
        in_rows, in_cols, found = peel(rows, cols, weights, n_rows, n_cols)
        assert np.array_equal(np.r_[in_rows, in_cols], whole) and found == pytest.approx(density)


def test_config_is_validated_and_merged():
    cfg = LinkageConfig.from_mapping({"prior": {"ip": 0.4}, "hub_k": 50})
    assert cfg.prior["ip"] == 0.4 and cfg.prior["payment"] == LinkageConfig().prior["payment"] and cfg.hub_k == 50
    with pytest.raises(ValueError, match="unknown linkage settings"):
        LinkageConfig.from_mapping({"hubk": 50})
    with pytest.raises(ValueError, match="outside"):
        LinkageConfig.from_mapping({"kind_factor": {"mobile": 2.0}})
    with pytest.raises(ValueError, match="unknown"):
        LinkageConfig.from_mapping({"prior": {"phone": 0.5}})
    with pytest.raises(ValueError, match="pooled_exit_kinds"):
        LinkageConfig.from_mapping({"pooled_exit_kinds": ["vpn", "proxies"]})
    with pytest.raises(ValueError, match="hub_k"):
        LinkageConfig(hub_k=0)
    with pytest.raises(ValueError, match="method"):
        LinkageConfig(method="louvain")


def test_synchrony_reads_a_bounded_part_and_still_joins_the_whole_hydra(mem_ws, world):
    hydra = world.hydra(n=12)
    world.background()
    world.write(mem_ws)
    cfg = LinkageConfig(sync_partners=3, rr_max_requests=16)
    stats = build_linkage(mem_ws, cfg)
    accounts = mem_ws.backend.scalar("SELECT count(DISTINCT account_id) FROM exchanges")
    assert stats.tested_pairs <= accounts * cfg.sync_partners < stats.candidate_pairs
    groups = mem_ws.sql("SELECT account_id, indicator_value FROM account_indicators "
                        "WHERE indicator_type = 'sync' AND indicator_value LIKE 'roundrobin:%'").to_pylist()
    # three tested partners each, about 16 requests per pair, yet one round-robin group of all twelve
    assert {r["account_id"] for r in groups} == set(hydra)
    assert len({r["indicator_value"] for r in groups}) == 1
