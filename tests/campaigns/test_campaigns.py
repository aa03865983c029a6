"""Campaign verdicts on hand-built worlds: every trap stays unflagged, every campaign shape is caught."""

import csv
import json
from datetime import timedelta

import pytest

from distillguard.campaigns import CampaignConfig, assemble_campaigns, write_scan_output
from distillguard.linkage import build_linkage
from distillguard.workspace import Workspace
from tests.linkage.worlds import T0, World

# The behaviour features the campaign step reads (no account asks several models the same questions).
FEATURES = ("CREATE OR REPLACE TABLE account_features AS "
            "SELECT account_id, count(*) AS exchanges, 0.0 AS multi_model_request_share FROM exchanges GROUP BY 1")
# How harvest-like each group's own traffic reads (what the scorers would say).
CONTENT = {"hydra": 0.75, "slow": 0.6, "ent": 0.1, "class": 0.05, "cgnat": 0.05, "bg": 0.05}


def _scores(ws: Workspace, world: World, groups: dict[str, list[str]], levels: dict[str, float] = CONTENT) -> None:
    content = {a: levels[g] for g, ids in groups.items() for a in ids}
    ws.backend.execute("CREATE OR REPLACE TABLE account_scores (account_id VARCHAR, score DOUBLE, reasons VARCHAR)")
    ws.backend.execute("CREATE OR REPLACE TABLE exchange_scores (request_id VARCHAR, account_id VARCHAR, score DOUBLE, reasons VARCHAR)")
    ws.backend.execute(FEATURES)
    for a, c in content.items():
        ws.backend.execute("INSERT INTO account_scores VALUES (?, ?, 'TEST')", [a, c])
    ws.backend.execute("""INSERT INTO exchange_scores SELECT e.request_id, e.account_id, s.c, ''
                          FROM exchanges e JOIN (SELECT unnest(?) AS account_id, unnest(?) AS c) s USING (account_id)""",
                       [list(content), list(content.values())])


@pytest.fixture
def verdicts():
    world = World(seed=3)
    groups = {"hydra": world.hydra(40), "slow": world.low_and_slow(5), "ent": world.enterprise(20),
              "class": world.university_class(30), "cgnat": world.cgnat(30), "bg": world.background(40)}
    with Workspace.open(":memory:") as ws:
        world.write(ws)
        build_linkage(ws)
        _scores(ws, world, groups)
        n = assemble_campaigns(ws, CampaignConfig())
        rows = {r["account_id"]: r for r in ws.sql("SELECT * FROM account_verdicts").to_pylist()}
        yield n, rows, groups, ws


def test_campaign_shapes_are_caught_as_one_campaign_each(verdicts):
    n, rows, groups, _ = verdicts
    for shape in ("hydra", "slow"):
        ids = {rows[a]["campaign_id"] for a in groups[shape]}
        assert all(rows[a]["flagged"] for a in groups[shape]), shape
        assert len(ids) == 1 and None not in ids, shape
    assert {rows[groups["hydra"][0]]["campaign_id"]} != {rows[groups["slow"][0]]["campaign_id"]}
    assert n == 2


@pytest.mark.parametrize("trap", ["ent", "class", "cgnat", "bg"])
def test_traps_stay_unflagged(verdicts, trap):
    _, rows, groups, _ = verdicts
    assert not any(rows[a]["flagged"] for a in groups[trap])


def test_scan_output_contract(verdicts, tmp_path):
    _, rows, groups, ws = verdicts
    ws.backend.execute("CREATE OR REPLACE TABLE exchange_capabilities AS SELECT request_id, 'coding' AS capability FROM exchanges")
    ws.backend.execute("CREATE OR REPLACE TABLE exchange_signals AS SELECT request_id, 0.9 AS cot_elicitation FROM exchanges")
    ws.backend.execute("ALTER TABLE template_families ADD COLUMN IF NOT EXISTS example VARCHAR")
    files = write_scan_output(ws, tmp_path)
    with open(files["accounts.csv"]) as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames[:5] == ["account_id", "score", "flagged", "campaign_id", "reasons"]
        accounts = list(reader)
    assert {r["flagged"] for r in accounts} <= {"true", "false"}
    with open(files["exchanges.csv"]) as f:
        assert csv.DictReader(f).fieldnames[:3] == ["request_id", "account_id", "score"]
    campaigns = json.loads(files["campaigns.json"].read_text())
    assert len(campaigns) == 2
    for c in campaigns:
        for key in ("campaign_id", "score", "accounts", "exchanges", "first_seen", "last_seen", "capabilities",
                    "indicators", "evidence"):
            assert key in c
        assert c["capabilities"] == {"coding": 1.0} and c["evidence"] and c["indicators"]
    hydra = next(c for c in campaigns if set(groups["hydra"]) <= set(c["accounts"]))
    assert any("reasoning" in line for line in hydra["evidence"])


def test_plainly_harvesting_loner_joins_the_group_it_links_to_most():
    from distillguard.campaigns.assemble import _attach

    groups = [["a1", "a2", "a3"], ["b1", "b2"]]
    strong = [("a1", "x", 0.7), ("b1", "x", 0.9), ("b2", "x", 0.8), ("a2", "y", 0.9), ("a3", "z", 0.9)]
    _attach(groups, strong, {"x": 0.99, "y": 0.5, "z": 0.96}, {}, CampaignConfig(attach_min_score=0.95))
    assert groups == [["a1", "a2", "a3", "z"], ["b1", "b2", "x"]]   # y is not suspicious enough


def _profile(*shares):
    import numpy as np

    from distillguard.fingerprints.content.capability import CLASSES

    v = np.zeros(len(CLASSES))
    v[:len(shares)] = shares
    return v / np.linalg.norm(v)


def test_loner_joins_the_group_whose_capability_focus_it_shares():
    from distillguard.campaigns.assemble import _attach

    groups = [["a1", "a2"], ["b1", "b2"]]
    strong = [("a1", "x", 0.6), ("b1", "x", 0.9)]
    # x links harder to b, but harvests what group a harvests (first capability) and nothing b does
    profiles = {"a1": _profile(1, 0), "a2": _profile(0.9, 0.1), "b1": _profile(0, 1), "b2": _profile(0.1, 0.9),
                "x": _profile(1, 0.05)}
    _attach(groups, strong, {"x": 0.99}, profiles, CampaignConfig(attach_min_score=0.95))
    assert groups == [["a1", "a2", "x"], ["b1", "b2"]]


def test_content_group_keeps_only_members_of_its_focus():
    from distillguard.campaigns.assemble import _focused

    profiles = {"h1": _profile(1, 0.1), "h2": _profile(0.9, 0.2), "h3": _profile(1, 0), "reseller": _profile(0.05, 1)}
    assert _focused(["h1", "h2", "h3", "reseller"], profiles, 0.5) == ["h1", "h2", "h3"]
    assert _focused(["h1", "reseller"], {}, 0.5) == ["h1", "reseller"]   # no capabilities: links alone decide


def test_one_organisations_fleet_is_not_coordination_by_its_own_infrastructure():
    world = World(seed=5)
    fleet = world.enterprise(20)
    with Workspace.open(":memory:") as ws:
        world.write(ws)
        build_linkage(ws)
        _scores(ws, world, {"hydra": fleet})   # its traffic reads as fairly harvest-like (0.75)
        flagged = lambda: ws.sql("SELECT count_if(flagged) FROM account_verdicts").column(0)[0].as_py()  # noqa: E731
        assemble_campaigns(ws, CampaignConfig())
        assert flagged() == 0   # one organisation's keys share its card and office by design
        ws.backend.execute("UPDATE accounts SET org_id = NULL")
        assemble_campaigns(ws, CampaignConfig())
        assert flagged() == len(fleet)   # strangers sharing a card and an office are a campaign


def test_content_alone_does_not_attach_a_loner_outside_the_groups_focus():
    from distillguard.campaigns.assemble import _attach

    profiles = {"a1": _profile(1, 0), "a2": _profile(0.9, 0.1), "x": _profile(0.1, 1)}
    groups = [["a1", "a2"]]
    # a busy chat user sharing public prompts with the group, but not what the group harvests
    cfg = CampaignConfig(attach_min_score=0.95, content_min_focus=0.5)
    _attach(groups, [("a1", "x", 0.9)], {"x": 0.99}, profiles, cfg)
    assert groups == [["a1", "a2"]]
    # shared infrastructure places it whatever it asks for
    _attach(groups, [("a1", "x", 0.9)], {"x": 0.99}, profiles, cfg, places={frozenset(("a1", "x")): {"ip1"}})
    assert groups == [["a1", "a2", "x"]]


def test_a_link_that_shares_infrastructure_takes_in_a_less_suspicious_loner():
    from distillguard.campaigns.assemble import _attach

    groups = [["a1", "a2"], ["b1", "b2"]]
    strong = [("a1", "x", 0.9), ("b1", "y", 0.9)]
    bound = {frozenset(("a1", "x"))}   # x also shares a card or an address with a1; y shares only prompts
    cfg = CampaignConfig(attach_min_score=0.97, attach_bound_min_score=0.9)
    _attach(groups, strong, {"x": 0.92, "y": 0.92}, {}, cfg, bound=bound)
    assert groups == [["a1", "a2", "x"], ["b1", "b2"]]
    _attach(groups, [("b1", "z", 0.9)], {"z": 0.85}, {}, cfg, bound={frozenset(("b1", "z"))})
    assert groups == [["a1", "a2", "x"], ["b1", "b2"]]   # z is not suspicious enough even so


def test_a_loner_placed_on_several_of_the_groups_places_joins_at_a_lower_score():
    from distillguard.campaigns.assemble import _attach

    cfg = CampaignConfig(attach_min_score=0.97, attach_placed_min_places=2, attach_placed_min_score=0.8)
    members = ["a1", "a2", "a3", "a4"]
    strong = [(m, "x", 0.9) for m in members]

    def attached(places, score=0.82):
        groups = [list(members)]
        _attach(groups, strong, {"x": score}, {}, cfg, places={frozenset((m, "x")): p for m, p in places.items()})
        return groups != [members]

    # its links share two of the group's /24s: the operation's rotating exits
    assert attached({"a1": {"net1"}, "a2": {"net2"}, "a3": {"net1"}})
    assert attached({"a1": {"net1", "net2"}})
    # one /24 that every member sends from too: a neighbour's, however many links cross it
    assert not attached({m: {"net1"} for m in members})
    # placed, but its own traffic is not enough
    assert not attached({"a1": {"net1"}, "a2": {"net2"}}, score=0.75)


@pytest.mark.parametrize("harvest_share, flagged", [(0.0, False), (0.8, True)])
def test_lone_account_needs_harvest_like_requests_not_only_machine_behaviour(harvest_share, flagged):
    world = World(seed=7)
    bot = world.account("bot", T0)
    ip = world.home_ip()
    for i in range(250):   # a benchmark runner: steady, high volume
        world.request(bot, T0 + timedelta(minutes=5 * i), ip)
    with Workspace.open(":memory:") as ws:
        world.write(ws)
        build_linkage(ws)
        ws.backend.execute("CREATE OR REPLACE TABLE account_scores AS SELECT 'bot' AS account_id, 0.99 AS score, '' AS reasons")
        ws.backend.execute(FEATURES)
        ws.backend.execute("""CREATE OR REPLACE TABLE exchange_scores AS
            SELECT request_id, account_id, CASE WHEN row_number() OVER (ORDER BY ts) <= ? * 250 THEN 0.9 ELSE 0.1 END
                   AS score, '' AS reasons FROM exchanges""", [harvest_share])
        assemble_campaigns(ws, CampaignConfig())
        assert ws.sql("SELECT flagged FROM account_verdicts WHERE account_id = 'bot'").column(0)[0].as_py() is flagged


@pytest.mark.parametrize("asked_again, flagged", [(0.0, True), (0.9, False)])
def test_an_evaluation_harness_is_not_condemned_by_content_alone(asked_again, flagged):
    world = World(seed=3)
    hydra = world.hydra(40)
    # public benchmark questions read like harvesting and meet the operation's templates; a harness asks
    # every model under test the same ones
    bench = world.account("bench", T0)
    ip = world.home_ip()
    for i in range(300):
        world.request(bench, T0 + timedelta(days=1, minutes=3 * i), ip, family=101 + i % 3)
    with Workspace.open(":memory:") as ws:
        world.write(ws)
        build_linkage(ws)
        _scores(ws, world, {"hydra": hydra, "bench": [bench]}, {**CONTENT, "bench": 0.99})
        ws.backend.execute("UPDATE account_features SET multi_model_request_share = ? WHERE account_id = 'bench'",
                           [asked_again])
        ws.backend.execute("UPDATE exchange_scores SET score = 0.95 WHERE account_id = 'bench'")
        assemble_campaigns(ws, CampaignConfig())
        rows = {r["account_id"]: r for r in ws.sql("SELECT * FROM account_verdicts").to_pylist()}
    assert rows[hydra[0]]["campaign_id"] and rows[bench]["flagged"] is flagged


def _diluted_scores(ws: Workspace, accounts: list[str], share: float = 0.3, score: float = 0.3,
                    rest: float = 0.1) -> None:
    """Every account scores `score`; about `share` of its exchanges read as plain harvesting (0.95), the
    rest score `rest`."""
    ws.backend.execute("CREATE OR REPLACE TABLE account_scores (account_id VARCHAR, score DOUBLE, reasons VARCHAR)")
    ws.backend.execute(FEATURES)
    ws.backend.execute("INSERT INTO account_scores SELECT unnest(?), ?, 'TEST'", [accounts, score])
    ws.backend.execute("""CREATE OR REPLACE TABLE exchange_scores AS
        SELECT request_id, account_id, CASE WHEN hash(request_id) % 1000 < ? THEN 0.95 ELSE ? END AS score,
               '' AS reasons FROM exchanges""", [int(share * 1000), rest])


def test_diluted_coordinated_group_is_condemned_on_its_pooled_traffic():
    world = World(seed=11)
    proxy, fleet, agents = world.hydra(40), world.enterprise(20), world.background(40)
    with Workspace.open(":memory:") as ws:
        world.write(ws)
        # the enterprise's keys are verified and bound to its organisation
        ws.backend.execute("UPDATE accounts SET verified = starts_with(account_id, 'ent')")
        build_linkage(ws)
        _diluted_scores(ws, proxy + fleet + agents)
        flagged = lambda ids: sum(r["flagged"] for r in ws.sql("SELECT account_id, flagged FROM account_verdicts")  # noqa: E731
                                  .to_pylist() if r["account_id"] in set(ids))
        assemble_campaigns(ws, CampaignConfig())
        # a proxy network: no member alone is suspicious, but the dealt, co-hosted group harvests as a whole
        assert flagged(proxy) >= len(proxy) - 2   # a member whose own sample is too clean may stay out
        assert len({r["campaign_id"] for r in ws.sql("SELECT campaign_id FROM account_verdicts").to_pylist()
                    if r["campaign_id"]}) == 1
        assert flagged(fleet) == 0    # one verified organisation behind its gateway, same content
        assert flagged(agents) == 0   # the same content without coordination (independent coding agents)
        # the pooled rule is what condemns it: without it, the diluted members stay below every threshold
        assemble_campaigns(ws, CampaignConfig(pool_min_harvest_share=1.0))
        assert flagged(proxy) == 0
        # and a group whose pooled traffic is only borderline stays unflagged
        _diluted_scores(ws, proxy + fleet + agents, share=0.05)
        assemble_campaigns(ws, CampaignConfig())
        assert flagged(proxy) == 0


@pytest.mark.parametrize("plain_share, flagged", [(0.0, False), (0.4, True)])
def test_content_alone_groups_only_accounts_that_plainly_harvest(plain_share, flagged):
    # Accounts linked only by shared templates (residential IPs, own cards): users of one coding tool
    # send its templates and many borderline requests; a low-and-slow operation sends unmistakable ones too.
    world = World(seed=5, days=30)
    quiet = world.low_and_slow(5)
    with Workspace.open(":memory:") as ws:
        world.write(ws)
        build_linkage(ws)
        _diluted_scores(ws, quiet, share=plain_share, score=0.7, rest=0.7)
        assemble_campaigns(ws, CampaignConfig())
        verdicts = ws.sql("SELECT flagged FROM account_verdicts").column(0).to_pylist()
        assert verdicts == [flagged] * len(quiet)


def test_large_sparse_operation_is_one_group_and_a_bridge_joins_nothing():
    import random

    from distillguard.campaigns.assemble import _components

    r = random.Random(1)
    # 80 accounts, each sharing infrastructure (weight 0.6) with 60% of the others: one hydra
    hydra = [f"h{i:02d}" for i in range(80)]
    pairs = [(a, b, 0.6) for i, a in enumerate(hydra) for b in hydra[i + 1:] if r.random() < 0.6]
    # two tight rings of ten joined by a single strong link: two operations
    rings = [[f"{p}{i}" for i in range(10)] for p in "xy"]
    pairs += [(a, b, 0.9) for ring in rings for i, a in enumerate(ring) for b in ring[i + 1:]] + [("x0", "y0", 0.9)]
    groups = _components({"account_a": [p[0] for p in pairs], "account_b": [p[1] for p in pairs],
                          "weight": [p[2] for p in pairs]}, None, 3, CampaignConfig().resolution)
    assert sorted(map(sorted, groups)) == sorted([hydra, *rings])


def test_accounts_on_a_campaigns_own_infrastructure_join_it():
    world = World(seed=3)
    hydra = world.hydra(40)
    # a spare key on one of the operation's cards, that has sent one clean request from home
    spare = world.account("spare", T0, card="pf_hy0")
    world.request(spare, T0 + timedelta(days=1), world.home_ip())
    # a verified organisation's key on another of its cards: never taken in on that alone
    org = world.account("orgkey", T0, card="pf_hy1", org="org_x")
    world.request(org, T0 + timedelta(days=1), world.home_ip())
    # many strangers behind one of its exit IPs: the operation is a minority of that IP's users
    cafe = [world.account(f"cafe{i:02d}", T0) for i in range(60)]
    for i, a in enumerate(cafe):
        world.request(a, T0 + timedelta(days=1, minutes=i), "45.77.10.20")
    with Workspace.open(":memory:") as ws:
        world.write(ws)
        ws.backend.execute("UPDATE accounts SET verified = account_id = 'orgkey'")
        build_linkage(ws)
        _scores(ws, world, {"hydra": hydra, "spare": [spare], "org": [org], "cafe": cafe},
                {**CONTENT, "spare": 0.05, "org": 0.05, "cafe": 0.05})
        assemble_campaigns(ws, CampaignConfig())
        rows = {r["account_id"]: r for r in ws.sql("SELECT * FROM account_verdicts").to_pylist()}
    campaign = rows[hydra[0]]["campaign_id"]
    assert campaign and rows[spare]["campaign_id"] == campaign and rows[spare]["flagged"]
    assert "CAMPAIGN_INFRASTRUCTURE" in rows[spare]["reasons"]
    assert not rows[org]["flagged"] and not any(rows[a]["flagged"] for a in cafe)


def test_a_card_one_member_shares_takes_in_only_a_suspicious_account():
    world = World(seed=3)
    hydra = world.hydra(40)
    cards = {hydra[0]: "pf_pair", hydra[1]: "pf_pair2"}
    for row in world.accounts:
        row["payment_fingerprint"] = cards.get(row["account_id"], row["payment_fingerprint"])
    # on a member's card: a suspicious account, and a clean one; on a member's home address: a suspicious one
    mate, clean, neighbour = (world.account(a, T0, card=c) for a, c in
                              (("mate", "pf_pair"), ("clean", "pf_pair2"), ("neighbour", None)))
    home = world.home_ip()
    for a in (mate, clean, neighbour):
        for h in range(5):
            world.request(a, T0 + timedelta(days=1, hours=h), home if a == neighbour else world.home_ip())
    world.request(hydra[2], T0 + timedelta(days=2, hours=12), home)
    with Workspace.open(":memory:") as ws:
        world.write(ws)
        build_linkage(ws)
        _scores(ws, world, {"hydra": hydra, "mate": [mate], "clean": [clean], "neighbour": [neighbour]},
                {**CONTENT, "mate": 0.5, "clean": 0.05, "neighbour": 0.5})
        assemble_campaigns(ws, CampaignConfig())
        rows = {r["account_id"]: r for r in ws.sql("SELECT * FROM account_verdicts").to_pylist()}
    campaign = rows[hydra[0]]["campaign_id"]
    assert campaign and rows[mate]["campaign_id"] == campaign and "CAMPAIGN_INFRASTRUCTURE" in rows[mate]["reasons"]
    assert not rows[clean]["flagged"] and not rows[neighbour]["flagged"]


def test_an_egress_pool_held_almost_only_by_suspicious_accounts_is_one_campaign():
    from distillguard.linkage import LinkageConfig

    world = World(seed=3)
    hydra = world.hydra(40)
    # strangers on one anonymiser, half of them harvesting: its exits are not one operation's own
    strangers = world.exit_users(40)
    groups = {"hydra": hydra, "slow": strangers[::2], "bg": strangers[1::2]}
    found = {}
    # Scaled down: linkage keeps an indicator on more than 10 accounts as sparse cycles (as it does past a
    # hundred), and indicators on more than 10 suspicious accounts are hubs (as past fifty).
    for name, broad in (("pairwise", 1000), ("hubs", 10)):
        with Workspace.open(":memory:") as ws:
            world.write(ws)
            build_linkage(ws, LinkageConfig(hub_k=10))
            _scores(ws, world, groups)
            assemble_campaigns(ws, CampaignConfig(max_indicator_accounts=broad, hub_min_accounts=broad))
            found[name] = {r["account_id"]: r["campaign_id"] for r in ws.sql("SELECT * FROM account_verdicts").to_pylist()}
    assert len({found["pairwise"][a] for a in hydra}) > 1
    assert len({found["hubs"][a] for a in hydra}) == 1 and found["hubs"][hydra[0]]
    assert not any(found["hubs"][a] for a in strangers)


def test_a_prefix_shared_with_many_ordinary_accounts_does_not_place():
    from distillguard.campaigns.assemble import PLACING_TYPES, _infra_pairs

    rows = [("a", "prefix", "10.0.1.0/24"), ("b", "prefix", "10.0.1.0/24"),     # the operation's own exit range
            ("c", "prefix", "10.0.2.0/24"), ("d", "prefix", "10.0.2.0/24"),     # a shared exit ...
            *((f"user{i}", "prefix", "10.0.2.0/24") for i in range(6)),         # ... that ordinary customers use
            ("a", "payment", "pf1"), ("e", "payment", "pf1")]
    with Workspace.open(":memory:") as ws:
        ws.backend.execute("CREATE TABLE account_indicators (account_id VARCHAR, indicator_type VARCHAR, "
                           "indicator_value VARCHAR, weight DOUBLE)")
        ws.backend.execute("INSERT INTO account_indicators SELECT *, 0.9 FROM (VALUES " +
                           ", ".join(f"('{a}', '{t}', '{v}')" for a, t, v in rows) + ")")
        pairs = _infra_pairs(ws, CampaignConfig(placing_min_share=0.8),
                             "SELECT unnest(['a', 'b', 'c', 'd', 'e']) AS account_id", [],
                             "SELECT * FROM (VALUES ('a', 'b'), ('c', 'd'), ('a', 'e')) t(account_a, account_b)", [],
                             also=PLACING_TYPES)
    pairs = pairs.to_pydict()
    found = {(a, b): round(w, 2) for a, b, w in zip(pairs["account_a"], pairs["account_b"], pairs["weight"])}
    assert found == {("a", "b"): 0.0, ("a", "e"): 0.9}   # c and d share only a crowded range
    assert [len(p) for p in pairs["places"]] == [1, 1]


def _indicator_world(ws: Workspace, rows: list[tuple[str, str, str]], suspicion: dict[str, tuple[float, bool]]):
    """account_indicators from (account, type, value) rows; _suspicion from account -> (score, established)."""
    ws.backend.execute("CREATE TABLE account_indicators (account_id VARCHAR, indicator_type VARCHAR, "
                       "indicator_value VARCHAR, weight DOUBLE)")
    ws.backend.execute("INSERT INTO account_indicators SELECT *, 0.9 FROM (VALUES " +
                       ", ".join(f"('{a}', '{t}', '{v}')" for a, t, v in rows) + ")")
    ws.backend.execute("CREATE TEMP TABLE _suspicion AS SELECT * FROM (VALUES " +
                       ", ".join(f"('{a}', {s}, {e})" for a, (s, e) in suspicion.items()) +
                       ") t(account_id, suspicion, established)")


def test_a_hub_counts_the_operations_verified_keys_but_not_a_customers():
    from distillguard.campaigns.assemble import _hubs

    ops = [f"h{i:02d}" for i in range(12)]
    rows = [(a, "ip", ip) for a in ops for ip in ("pool", "nat")]
    # the operation recruited three verified keys onto its pool; a customer's three clean keys share the NAT
    rows += [(f"v{i}", "ip", "pool") for i in range(3)] + [(f"c{i}", "ip", "nat") for i in range(3)]
    suspicion = {**{a: (0.9, False) for a in ops}, **{f"v{i}": (0.9, True) for i in range(3)},
                 **{f"c{i}": (0.1, True) for i in range(3)}}
    with Workspace.open(":memory:") as ws:
        _indicator_world(ws, rows, suspicion)
        hubs = _hubs(ws, CampaignConfig(hub_min_accounts=10, hub_min_share=0.9))
    assert hubs == [ops]   # the pool, without the verified keys; the NAT's holders are 80% suspicious


def test_a_hub_takes_in_only_groups_mostly_of_its_holders():
    from distillguard.campaigns.assemble import _hub_merged

    hub = [f"h{i}" for i in range(6)]
    groups = [["h0", "h1", "h2", "x1"],            # mostly the hub's accounts: one of its fragments
              ["h3", "o1", "o2", "o3"],            # another operation that one hub account links to
              ["p1", "p2", "p3"]]
    merged = _hub_merged(groups, [hub], 3)
    assert merged == [[*hub, "x1"], ["o1", "o2", "o3"], ["p1", "p2", "p3"]]


def test_a_campaigns_home_exit_takes_in_only_suspicious_accounts():
    world = World(seed=3)
    hydra = world.hydra(40)
    # a residential proxy's exit the operation used a few times: somebody's home connection too
    home = world.home_ip()
    resident, accomplice = world.account("resident", T0), world.account("accomplice", T0)
    for h in range(5):
        for a in (resident, accomplice):
            world.request(a, T0 + timedelta(days=3, hours=h, minutes=len(a)), home)
    for i, a in enumerate(hydra[:4]):
        world.request(a, T0 + timedelta(days=2, hours=10 + i), home, ua="python-httpx/0.27.0")
    with Workspace.open(":memory:") as ws:
        world.write(ws)
        build_linkage(ws)
        _scores(ws, world, {"hydra": hydra, "resident": [resident], "accomplice": [accomplice]},
                {**CONTENT, "resident": 0.05, "accomplice": 0.5})
        assemble_campaigns(ws, CampaignConfig())
        rows = {r["account_id"]: r for r in ws.sql("SELECT * FROM account_verdicts").to_pylist()}
    campaign = rows[hydra[0]]["campaign_id"]
    assert campaign and rows[accomplice]["campaign_id"] == campaign
    assert not rows[resident]["flagged"]
