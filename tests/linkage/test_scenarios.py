"""Each trap and each campaign shape, in a workspace of its own with ordinary background accounts."""

from datetime import timedelta

import pytest

from distillguard.linkage import LinkageConfig, build_linkage
from distillguard.workspace import Workspace
from tests.linkage.worlds import T0, World

CFG = LinkageConfig()


def run(ws, world: World, **overrides):
    world.background()
    world.write(ws)
    return build_linkage(ws, LinkageConfig.from_mapping(overrides) if overrides else None)


def clustered(ws, prefix: str) -> dict[str, list[str]]:
    rows = ws.sql("SELECT cluster_id, list(account_id ORDER BY account_id) AS members FROM account_clusters "
                  "WHERE account_id LIKE ? GROUP BY cluster_id", [prefix + "%"]).to_pylist()
    return {r["cluster_id"]: r["members"] for r in rows}


def max_link(ws, prefix: str) -> float:
    return ws.backend.scalar("SELECT coalesce(max(weight), 0) FROM account_links WHERE account_a LIKE ? "
                             "AND account_b LIKE ?", [prefix + "%", prefix + "%"])


def cluster_row(ws, account_id: str) -> dict:
    return ws.sql("SELECT c.* FROM clusters c JOIN account_clusters a USING (cluster_id) WHERE a.account_id = ?",
                  [account_id]).to_pylist()[0]


def test_cgnat_pool_of_strangers_forms_no_cluster(mem_ws, world):
    world.cgnat()
    run(mem_ws, world)
    assert clustered(mem_ws, "cg") == {}
    assert max_link(mem_ws, "cg") < CFG.cluster_min_weight
    assert not mem_ws.backend.scalar("SELECT count(*) FROM account_indicators "
                                     "WHERE account_id LIKE 'cg%' AND indicator_type = 'sync'")


def test_strangers_on_one_vpn_share_one_fact_not_six(mem_ws, world):
    users = world.exit_users()
    run(mem_ws, world)
    assert clustered(mem_ws, "vp") == {}
    assert max_link(mem_ws, "vp") < CFG.cluster_min_weight
    trio = mem_ws.sql("SELECT weight FROM account_links WHERE account_a IN ? AND account_b IN ?",
                      [users[:3], users[:3]]).to_pylist()
    assert all(r["weight"] < CFG.cluster_min_weight for r in trio)
    rows = mem_ws.sql("SELECT indicator_type, indicator_value FROM account_indicators WHERE account_id = ? "
                      "AND indicator_type IN ('ip', 'prefix', 'asn', 'exit')", [users[0]]).to_pylist()
    assert rows == [{"indicator_type": "exit", "indicator_value": "vpn"}]


def test_per_address_exits_would_link_the_vpn_strangers(mem_ws, world):
    world.exit_users()
    run(mem_ws, world, pooled_exit_kinds=[])
    assert max_link(mem_ws, "vp") >= CFG.cluster_min_weight  # the trap the pooled exits avoid


def test_a_shared_rented_proxy_pool_still_links(mem_ws, world):
    world.exit_users(n=8, kind="proxy")
    run(mem_ws, world)
    assert max_link(mem_ws, "vp") >= CFG.cluster_min_weight
    assert not mem_ws.backend.scalar("SELECT count(*) FROM account_indicators WHERE indicator_type = 'exit'")


def test_hydra_on_hosting_beside_vpn_users_is_still_one_cluster(mem_ws, world):
    hydra = world.hydra()
    world.exit_users()
    run(mem_ws, world)
    assert list(clustered(mem_ws, "hy").values()) == [hydra]
    assert clustered(mem_ws, "vp") == {}
    assert mem_ws.backend.scalar("SELECT count(DISTINCT indicator_value) FROM account_indicators "
                                 "WHERE account_id LIKE 'hy%' AND indicator_type = 'ip'") == 12


def test_enterprise_is_linked_but_reads_differently_from_a_hydra(mem_ws, world):
    ent, hydra = world.enterprise(), world.hydra()
    run(mem_ws, world)
    assert list(clustered(mem_ws, "ent").values()) == [ent]
    e, h = cluster_row(mem_ws, ent[0]), cluster_row(mem_ws, hydra[0])
    assert e["top_indicators"].startswith("payment:pf_acme")
    assert e["sync_share"] == 0 and e["dense_block_share"] == 0
    assert h["sync_share"] >= 0.9 and h["dense_block_share"] >= 0.9
    assert h["density"] > e["density"]


def test_hydra_is_one_coordinated_dense_cluster(mem_ws, world):
    hydra = world.hydra()
    stats = run(mem_ws, world)
    assert list(clustered(mem_ws, "hy").values()) == [hydra]
    # each account tests its sync_partners strongest pairs, nearly all of them hydra mates that alternate
    assert CFG.sync_partners < len(hydra) - 1
    assert stats.roundrobin_pairs >= len(hydra) * CFG.sync_partners // 2 * 0.9
    row = cluster_row(mem_ws, hydra[0])
    assert row["accounts"] == len(hydra) and row["sync_share"] == 1 and row["dense_block_share"] == 1
    assert "roundrobin:" in row["top_indicators"] and "template:" in row["top_indicators"]
    per_account = mem_ws.sql("SELECT * FROM account_linkage WHERE account_id LIKE 'hy%'").to_pylist()
    assert all(r["sync"] and r["dense_block"] == 1 and len(r["top_links"]) == CFG.top_links for r in per_account)
    assert stats.dense_blocks[0]["accounts"] == len(hydra)
    assert not mem_ws.sql("SELECT table_name FROM information_schema.tables "
                          "WHERE starts_with(table_name, '_linkage_')").num_rows  # scratch dropped


def test_low_and_slow_is_found_by_its_templates_alone(mem_ws, world):
    quiet = world.low_and_slow()
    world.background()
    world.write(mem_ws)
    calls = []
    stats = build_linkage(mem_ws, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, len(stats.seconds)) for i in range(1, len(stats.seconds) + 1)]
    assert list(clustered(mem_ws, "ls").values()) == [quiet]
    shared = mem_ws.sql("SELECT shared FROM account_links WHERE account_a LIKE 'ls%' AND account_b LIKE 'ls%'")
    assert all(s[0].startswith("template:") for s in shared.column(0).to_pylist())


def test_class_on_campus_ip_with_burst_signup_forms_no_strong_cluster(mem_ws, world):
    students = world.university_class()
    run(mem_ws, world)
    assert clustered(mem_ws, "st") == {}
    assert max_link(mem_ws, "st") < CFG.cluster_min_weight
    types = set(mem_ws.sql("SELECT DISTINCT indicator_type FROM account_indicators WHERE account_id = ?",
                           [students[0]]).column(0).to_pylist())
    assert "created_burst" in types and "template" not in types and "sync" not in types  # generic family


def test_every_shape_together_keeps_its_verdict(mem_ws, world):
    groups = {"cg": world.cgnat(), "ent": world.enterprise(), "hy": world.hydra(), "ls": world.low_and_slow(),
              "st": world.university_class()}
    run(mem_ws, world)
    for prefix, expected in (("ent", [groups["ent"]]), ("hy", [groups["hy"]]), ("ls", [groups["ls"]]),
                             ("cg", []), ("st", []), ("bg", [])):
        assert list(clustered(mem_ws, prefix).values()) == expected, prefix


@pytest.mark.parametrize("method", ["leiden", "components"])
def test_both_methods_name_the_same_clusters_the_same_way(mem_ws, world, method):
    world.hydra()
    world.low_and_slow()
    stats = run(mem_ws, world, method=method)
    assert stats.method == method and stats.clusters == 2
    ids = mem_ws.sql("SELECT DISTINCT cluster_id, method FROM account_clusters ORDER BY 1").to_pylist()
    assert [r["cluster_id"] for r in ids] == ["c_0d9b75f0f9fd3857", "c_34ee9d57f2cb7651"]  # md5 of min account
    assert {r["method"] for r in ids} == {method}


def test_runs_are_deterministic(tmp_path):
    tables = []
    for n in range(2):
        world = World()
        world.hydra()
        world.enterprise()
        with Workspace.open(tmp_path / f"{n}.db") as ws:
            run(ws, world)
            tables.append([ws.sql(f"SELECT * FROM {t} ORDER BY ALL").to_pylist()
                           for t in ("account_indicators", "account_links", "account_clusters", "clusters")])
    assert tables[0] == tables[1]


def test_simultaneous_pivot_to_a_new_model(mem_ws, world):
    release = T0 + timedelta(days=3)
    ip = world.ip("45.77.30.1", "hosting", 20473)
    pivoters = []
    for i in range(10):
        a = world.account(f"pv{i:02d}", T0 - timedelta(days=30))
        home = world.home_ip()
        world.request(a, T0 + timedelta(days=1, hours=i), home)
        world.request(a, release + timedelta(hours=2, minutes=i), ip if i < 3 else home, model="frontier-next")
        pivoters.append(a)
    for i in range(10):  # ordinary adopters, hours apart
        a = world.account(f"ad{i:02d}", T0 - timedelta(days=30))
        home = world.home_ip()
        world.request(a, T0 + timedelta(hours=5 + i), home)
        world.request(a, release + timedelta(hours=3 * i + 4), home, model="frontier-next")
    stats = run(mem_ws, world)
    rows = mem_ws.sql("SELECT account_id, indicator_value FROM account_indicators WHERE indicator_type = 'sync' "
                      "ORDER BY account_id").to_pylist()
    assert stats.pivot_accounts == 20
    assert {r["account_id"] for r in rows} == set(pivoters)
    assert {r["indicator_value"] for r in rows} == {"pivot:frontier-next+0m"}  # the first of them releases it


def test_indicator_rules(mem_ws, world):
    hosting = world.ip("45.77.40.1", "hosting", 20473)
    mobile = world.ip("37.120.9.9", "mobile", 12345)
    for i in range(3):
        for ip, tag in ((hosting, "h"), (mobile, "m")):
            a = world.account(f"{tag}{i}", T0 - timedelta(days=100 * i), mail="gmail.com" if tag == "h" else "ex.org")
            world.request(a, T0 + timedelta(hours=i * 7), ip)
    world.write(mem_ws)
    build_linkage(mem_ws)
    weight = {(r["indicator_type"], r["indicator_value"]): r["weight"] for r in
              mem_ws.sql("SELECT DISTINCT indicator_type, indicator_value, weight FROM account_indicators").to_pylist()}
    assert weight[("ip", hosting)] > 5 * weight[("ip", mobile)]
    assert ("email_domain", "gmail.com") not in weight and ("email_domain", "ex.org") in weight
    assert all(t != "payment" for t, _ in weight)  # every card is its own: nothing shared, nothing kept
    links = mem_ws.sql("SELECT * FROM account_links").to_pylist()
    assert all(r["account_a"] < r["account_b"] and 1 <= len(r["shared"]) <= CFG.shared_top for r in links)


def test_common_email_domain_is_skipped(mem_ws, world):
    for i in range(12):
        world.account(f"u{i:02d}", T0 - timedelta(days=i), mail="bigcorp.com")
    world.write(mem_ws)
    build_linkage(mem_ws, LinkageConfig(email_max_accounts=10))
    assert not mem_ws.backend.scalar("SELECT count(*) FROM account_indicators WHERE indicator_type = 'email_domain'")


def test_missing_upstream_tables_are_named(mem_ws):
    with pytest.raises(RuntimeError, match="ip_intel"):
        build_linkage(mem_ws)
    assert not mem_ws.backend.table_exists("_linkage_prior")
