import ipaddress
import itertools
import math
import random
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest

from distillguard.fingerprints.behaviour import COLUMNS, compute_account_features
from distillguard.fingerprints.network import NetworkIntel, find_shared_data
from distillguard.fingerprints.network.sources import PROVIDER_DIR, PROVIDER_FILE
from distillguard.workspace import Workspace

T0 = datetime(2026, 2, 2, tzinfo=timezone.utc)
_ids = itertools.count()


def ex(account, hours, **fields):
    """One exchange `hours` after T0; a private client IP unless given."""
    return {"request_id": f"r{next(_ids)}", "account_id": account, "ts": T0 + timedelta(hours=hours),
            "model": "model-a", "client_ip": "10.0.0.1", "turn_count": 1, "user_turns": 1, "tools_defined": 0,
            "tool_results": 0, "image_parts": 0, "input_tokens": 100, "output_tokens": 400, **fields}


def insert(ws, table, rows):
    names = dict.fromkeys(name for row in rows for name in row)
    ws.backend.register_arrow("_rows", pa.table({name: [row.get(name) for row in rows] for name in names}))
    ws.backend.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")
    ws.backend.unregister("_rows")


@pytest.fixture(scope="module")
def intel():
    return NetworkIntel.load()


def features(ws, intel, rows, **tables):
    insert(ws, "exchanges", rows)
    for name, table in tables.items():
        ws.backend.register_arrow("_t", table)
        ws.backend.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _t")
        ws.backend.unregister("_t")
    compute_account_features(ws, intel)
    return {row["account_id"]: row for row in ws.sql("SELECT * FROM account_features").to_pylist()}


def test_every_column_documented_and_one_row_per_account(ws, intel):
    steps = []
    insert(ws, "exchanges", [ex("a", 0), ex("a", 1), ex("b", 2), ex(None, 3)])
    compute_account_features(ws, intel, progress=lambda done, total: steps.append((done, total)))
    table = ws.sql("SELECT * FROM account_features ORDER BY account_id")
    assert table.column_names == list(COLUMNS)
    assert table["account_id"].to_pylist() == ["a", "b"]
    assert steps[-1][0] == steps[-1][1]


def test_empty_log_gives_empty_tables(ws, intel):
    compute_account_features(ws, intel)
    assert ws.count("account_features") == 0 and ws.count("ip_intel") == 0
    assert ws.sql("SELECT * FROM account_features").column_names == list(COLUMNS)


def test_single_exchange_without_ip_or_account_row(ws, intel):
    f = features(ws, intel, [ex("lone", 0, client_ip=None, turn_count=None, user_turns=None,
                                  input_tokens=None, output_tokens=None)])["lone"]
    assert f["exchanges"] == 1 and f["active_days"] == 1 and f["sessions"] == 1
    for name in ("volume_growth", "session_gap_cv", "burstiness", "gap_under_2s_share", "context_extension_share",
                 "output_input_token_ratio", "single_turn_share", "ip_private_share", "new_model_pivot_hours",
                 "account_type", "account_age_days", "capability_entropy", "shared_template_share"):
        assert f[name] is None, name
    assert f["distinct_ips"] == 0 and f["quietest_8h_share"] == 0 and f["hour_of_day_entropy"] == 0


def test_volume(ws, intel):
    rows = [ex("v", 0, reasoning_tokens=300, output_tokens=100), ex("v", 30), ex("v", 40), ex("v", 48)]
    f = features(ws, intel, rows)["v"]
    assert f["exchanges"] == 4 and f["active_days"] == 3
    assert f["exchanges_per_active_day"] == pytest.approx(4 / 3)
    assert f["volume_growth"] == 3  # one exchange before the midpoint of its 48 h span, three after
    assert f["input_tokens_total"] == 400 and f["output_tokens_total"] == 1300
    assert f["output_input_token_ratio"] == pytest.approx(1300 / 400)
    assert f["reasoning_token_share"] == pytest.approx(300 / 400)  # only the exchange that reports it


def test_round_the_clock_machine_vs_sleeping_human(ws, intel):
    rnd = random.Random(1)
    machine = [ex("machine", h / 6) for h in range(6 * 72)]  # every 10 min for three days
    human = [ex("human", 24 * day + rnd.uniform(9, 18)) for day in range(3) for _ in range(40)]
    f = features(ws, intel, machine + human)
    m, h = f["machine"], f["human"]
    assert m["quietest_8h_share"] == pytest.approx(1 / 3)
    assert h["quietest_8h_share"] == 0
    assert m["hour_of_day_entropy"] == pytest.approx(1)
    assert h["hour_of_day_entropy"] < 0.75
    assert m["hour_of_day_circular_std"] > 12 > 4 > h["hour_of_day_circular_std"]
    assert 12.5 < h["active_hour_mean"] < 14.5
    assert m["sessions"] == 1 and h["sessions"] >= 3


def test_periodic_sender_vs_bursty_human(ws, intel):
    rnd = random.Random(2)
    periodic = [ex("bot", i / 60) for i in range(200)]  # exactly one a minute
    times, t = [], 0.0
    for _ in range(20):  # bursts of quick follow-ups, then a pause of minutes to hours
        for _ in range(rnd.randint(2, 6)):
            times.append(t)
            t += rnd.uniform(0.5, 20) / 3600
        t += rnd.choice([5, 15, 60, 240]) / 60
    # eight workers firing together once a minute
    pool = [ex("pool", i / 60 + worker * 0.2 / 3600) for i in range(50) for worker in range(8)]
    f = features(ws, intel, periodic + pool + [ex("person", x) for x in times])
    bot, person = f["bot"], f["person"]
    assert bot["session_gap_cv"] == pytest.approx(0, abs=1e-6)
    assert bot["burstiness"] == pytest.approx(-1, abs=1e-6)
    assert bot["gap_under_2s_share"] == 0
    assert person["session_gap_cv"] > 1
    assert person["burstiness"] > 0.2
    assert person["gap_under_2s_share"] < 0.1
    assert f["pool"]["gap_under_2s_share"] == pytest.approx(350 / 399)


def test_pivot_to_new_model(ws, intel):
    rows = [ex("incumbent", h) for h in range(0, 96)]  # on the old model throughout
    rows.append(ex("early", 48, model="model-b"))  # the new model's first appearance, 48 h in
    rows += [ex("switcher", h) for h in range(0, 51)]
    rows += [ex("switcher", h, model="model-b") for h in range(51, 96)]  # 3 h after release
    rows += [ex("tester", h) for h in range(0, 96)] + [ex("tester", 60.5, model="model-b")]
    f = features(ws, intel, rows)
    assert f["switcher"]["new_model_pivot_hours"] == pytest.approx(3)
    assert f["early"]["new_model_pivot_hours"] == 0
    assert f["tester"]["new_model_pivot_hours"] is None  # one try does not carry its day
    assert f["incumbent"]["new_model_pivot_hours"] is None  # model-a was there from the start
    assert f["switcher"]["newest_model_share"] == pytest.approx(45 / 48)  # 48, 49, 50 still on model-a
    assert f["incumbent"]["newest_model_share"] == 0
    assert f["switcher"]["models_used"] == 2


def test_no_model_released_inside_the_log(ws, intel):
    f = features(ws, intel, [ex("a", 0), ex("a", 1, model="model-b"), ex("a", 30, model="model-b")])["a"]
    assert f["new_model_pivot_hours"] is None and f["newest_model_share"] is None


def test_same_request_to_several_models(ws, intel):
    q = [f"Question {i}: what is {i} squared?" for i in range(10)]
    harness = [ex("harness", i, model=m, last_user_message=q[i]) for i in range(10) for m in ("model-a", "model-b")]
    harness += [ex("harness", 20 + i, last_user_message=f"only once {i}") for i in range(5)]  # one model only
    # an agent loop: the same user text, one more message each turn, alternating models
    agent = [ex("agent", i / 60, model=("model-a", "model-b")[i % 2], turn_count=1 + 2 * i, last_user_message="fix it")
             for i in range(6)]
    repeat = [ex("repeat", i, last_user_message="same") for i in range(6)]  # the same question, one model
    empty = [ex("empty", i, model=("model-a", "model-b")[i % 2]) for i in range(6)]  # no user text at all
    f = features(ws, intel, harness + agent + repeat + empty)
    assert f["harness"]["multi_model_request_share"] == pytest.approx(20 / 25)
    assert f["agent"]["multi_model_request_share"] == 0
    assert f["repeat"]["multi_model_request_share"] == 0
    assert f["empty"]["multi_model_request_share"] == 0


def test_structure(ws, intel):
    conversation = [ex("chat", i / 60, turn_count=1 + 2 * i, user_turns=1 + i, input_tokens=100 * (i + 1),
                       system_prompt="You are helpful.") for i in range(4)]
    agent = [ex("agent", i / 60, turn_count=3 + 2 * i, tools_defined=5, tool_results=i + 1,
                input_tokens=1000 + 500 * i, system_prompt=f"Task {i % 2}") for i in range(4)]
    oneshot = [ex("oneshot", i / 60, image_parts=1 if i == 0 else 0, input_tokens=100 + (i % 2) * 50)
               for i in range(4)]
    f = features(ws, intel, conversation + agent + oneshot)
    assert f["chat"]["single_turn_share"] == 0.25 and f["chat"]["context_extension_share"] == 1
    assert f["chat"]["mean_turn_count"] == 4 and f["chat"]["distinct_system_prompts"] == 1
    assert f["agent"]["single_turn_share"] == 0 and f["agent"]["context_extension_share"] == 1
    assert f["agent"]["tools_share"] == 1 and f["agent"]["tool_result_share"] == 1
    assert f["agent"]["distinct_system_prompts"] == 2
    assert f["oneshot"]["single_turn_share"] == 1 and f["oneshot"]["context_extension_share"] == 0
    assert f["oneshot"]["image_share"] == 0.25 and f["oneshot"]["distinct_system_prompts"] == 0
    assert f["oneshot"]["exchanges_per_session"] == 4


def test_capability_concentration(ws, intel):
    rows = [ex("focused", i) for i in range(20)] + [ex("broad", i) for i in range(40)]
    caps = ["coding", "reasoning_math", "translation", "creative_writing"]
    labels = [(r["request_id"], "coding", 0.9) for r in rows[:20]]
    labels += [(r["request_id"], caps[i % 4], 1.0) for i, r in enumerate(rows[20:])]
    table = pa.table(dict(zip(["request_id", "capability", "confidence"], map(list, zip(*labels)))))
    f = features(ws, intel, rows, exchange_capabilities=table)
    focused, broad = f["focused"], f["broad"]
    assert focused["capability_entropy"] == 0 and focused["top_capability_share"] == 1
    assert focused["capabilities_over_5pct"] == 1 and focused["capability_coverage"] == 0.25
    assert broad["capability_entropy"] == pytest.approx(2) and broad["top_capability_share"] == 0.25
    assert broad["capabilities_over_5pct"] == 4 and broad["capability_coverage"] == 1


def test_shared_templates(ws, intel):
    a = [ex("a", i) for i in range(10)]
    b = [ex("b", i) for i in range(2)]
    # family 1: used by a and b; 2: generic boilerplate many accounts share; 3: a's alone.
    family = [1, 1, 1, 1, 2, 2, 3, 3, 3, None]
    templates = pa.table({"request_id": [r["request_id"] for r, fam in zip(a, family) if fam]
                                        + [b[0]["request_id"]],
                          "family_id": [fam for fam in family if fam] + [1]})
    families = pa.table({"family_id": [1, 2, 3], "exchanges": [5, 2, 3], "accounts": [2, 40, 1],
                         "generic": [False, True, False]})
    f = features(ws, intel, a + b, exchange_templates=templates, template_families=families)
    assert f["a"]["shared_template_share"] == 0.4 and f["a"]["shared_template_families"] == 1
    assert f["a"]["top_template_share"] == 0.4
    assert f["b"]["shared_template_share"] == 0.5 and f["b"]["top_template_share"] == 0.5


def test_signal_columns_are_discovered(ws, intel):
    rows = [ex("a", 0), ex("a", 1), ex("b", 2)]
    signals = pa.table({"request_id": [r["request_id"] for r in rows], "asks_for_cot": [1.0, 0.0, 0.5],
                        "refusal_probe": [0.2, 0.4, None], "note": ["x", "y", "z"]})
    f = features(ws, intel, rows, exchange_signals=signals)
    assert f["a"]["signal_asks_for_cot_mean"] == 0.5 and f["a"]["signal_refusal_probe_mean"] == pytest.approx(0.3)
    assert f["b"]["signal_refusal_probe_mean"] is None
    assert "signal_note_mean" not in f["a"]


def test_infrastructure_and_accounts(ws, intel):
    rows = [ex("a", 0, client_ip="10.0.0.1", api_key_id="k1", user_agent="ua/1"),
            ex("a", 1, client_ip="10.0.0.2", api_key_id="k2", user_agent="ua/1"),
            ex("a", 2, client_ip="10.0.1.1", api_key_id="k2", user_agent="ua/2"),
            ex("a", 3, client_ip=None), ex("a", 4, client_ip="not an ip"),
            ex("b", 0, client_ip="2001:db8::1"), ex("c", 0)]
    account = {"account_id": "a", "created_at": T0 - timedelta(days=10), "account_type": "startup",
               "verified": True, "country": "DE", "email_domain": "example.org", "payment_fingerprint": "pf1",
               "org_id": "o1", "signup_ip": "192.168.1.9"}
    insert(ws, "accounts", [account, account, {"account_id": "unused", "signup_ip": "10.9.9.9"}])
    f = features(ws, intel, rows)
    a = f["a"]
    assert (a["distinct_ips"], a["distinct_ip_prefixes"], a["distinct_api_keys"], a["distinct_user_agents"]) \
        == (4, 2, 2, 2)
    assert a["ip_private_share"] == 0.75 and a["ip_unknown_share"] == 0.25  # the NULL IP is not counted
    assert a["account_type"] == "startup" and a["account_age_days"] == pytest.approx(10)
    assert a["country"] == "DE" and a["verified"] is True and a["signup_ip_kind"] == "private"
    assert f["b"]["account_type"] is None and f["b"]["distinct_ip_prefixes"] == 1
    assert len(f) == 3  # accounts with no exchange get no row
    ips = {r["ip"]: r for r in ws.sql("SELECT * FROM ip_intel").to_pylist()}
    assert set(ips) == {"10.0.0.1", "10.0.0.2", "10.0.1.1", "not an ip", "2001:db8::1", "192.168.1.9",
                        "10.9.9.9"}
    assert ips["not an ip"]["is_valid"] is False


def test_accounts_table_with_missing_columns(ws, intel):
    ws.backend.execute("DROP TABLE accounts")
    ws.backend.execute("CREATE TABLE accounts (account_id VARCHAR, country VARCHAR)")
    ws.backend.execute("INSERT INTO accounts VALUES ('a', 'FR')")
    f = features(ws, intel, [ex("a", 0)])["a"]
    assert f["country"] == "FR" and f["account_type"] is None and f["signup_ip_kind"] is None


def test_without_accounts_table(ws, intel):
    ws.backend.execute("DROP TABLE accounts")
    f = features(ws, intel, [ex("a", 0)])["a"]
    assert f["exchanges"] == 1 and f["country"] is None


def test_hosting_share_from_real_ranges(ws, intel):
    root = find_shared_data()
    if root is None or not (root / PROVIDER_DIR / "amazon" / PROVIDER_FILE).exists():
        pytest.skip("no shared IP data")
    intel = NetworkIntel.load(root)
    cidrs = (root / PROVIDER_DIR / "amazon" / PROVIDER_FILE).read_text().split()
    cloud = next(ip for ip in (str(next(ipaddress.ip_network(c).hosts())) for c in cidrs[:50])
                 if intel.classify(ip).kind == "hosting")
    rows = [ex("farm", i, client_ip=cloud) for i in range(3)] + [ex("farm", 3), ex("home", 0)]
    f = features(ws, intel, rows)
    assert f["farm"]["ip_hosting_share"] == 0.75 and f["farm"]["ip_private_share"] == 0.25
    assert f["farm"]["distinct_asns"] == (1 if intel.classify(cloud).asn is not None else 0)
    assert f["home"]["ip_hosting_share"] == 0


def test_features_never_read_row_order_or_ids(ws, intel, tmp_path):
    rnd = random.Random(3)
    rows = [ex(f"acct{i % 5}", rnd.uniform(0, 100), model=rnd.choice(["m1", "m2"]), input_tokens=rnd.randint(1, 900),
               turn_count=rnd.randint(1, 5)) for i in range(300)]
    rows += [ex(f"acct{i % 5}", 60 + rnd.uniform(0, 40), model="m3") for i in range(60)]
    first = features(ws, intel, rows)
    renamed = [{**r, "request_id": f"other-{i}"} for i, r in enumerate(reversed(rows))]
    with Workspace.open(tmp_path / "other.duckdb") as other:
        second = features(other, intel, renamed)
    for account, row in first.items():
        for name, value in row.items():
            if isinstance(value, float):
                assert math.isclose(value, second[account][name], rel_tol=1e-9, abs_tol=1e-12), name
            else:
                assert value == second[account][name], name


def test_column_types_are_plain(ws, intel):
    rows = [ex("a", 0), ex("a", 1)]
    caps = pa.table({"request_id": [r["request_id"] for r in rows], "capability": ["coding", "coding"],
                     "confidence": [1.0, 1.0]})
    templates = pa.table({"request_id": [rows[0]["request_id"]], "family_id": [7]})
    families = pa.table({"family_id": [7], "exchanges": [1], "accounts": [1], "generic": [False]})
    features(ws, intel, rows, exchange_capabilities=caps, exchange_templates=templates, template_families=families)
    types = {r["column_name"]: r["data_type"] for r in ws.sql(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'account_features'"
    ).to_pylist()}
    assert set(types.values()) <= {"VARCHAR", "BIGINT", "DOUBLE", "BOOLEAN", "TIMESTAMP WITH TIME ZONE"}, types
