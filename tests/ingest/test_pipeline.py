import json
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distillguard.ingest import InputError, ingest
from tests.conftest import exchange, write_lines


def rows(ws, sql):
    return ws.sql(sql).to_pylist()


def test_malformed_lines_are_quarantined_exactly_and_good_ones_kept(ws, tmp_path):
    good = [exchange(i) for i in range(50)]
    bad = {
        7: "{not json",
        12: json.dumps({k: v for k, v in exchange(900).items() if k != "account_id"}),
        20: json.dumps(exchange(901, request_id=12345)),
        25: json.dumps(exchange(902, timestamp="2026-02-30T10:00:00Z")),
        30: json.dumps(exchange(903, timestamp="yesterday")),
        33: json.dumps(exchange(904, request="not an object")),
        36: "[1, 2, 3]",
        40: b'{"request_id": "\xff\xfe"}',
        44: json.dumps(exchange(905, account_id="")),
    }
    lines = list(good)
    for line_no in sorted(bad):
        lines.insert(line_no - 1, bad[line_no])
    path = write_lines(tmp_path / "mixed.jsonl", lines)
    report = ingest(ws, path)
    assert report.inserted == 50 and report.quarantined == len(bad) and report.records == 50 + len(bad)
    got = {r["source_line"]: r["reason"] for r in rows(ws, "SELECT source_line, reason FROM quarantine")}
    assert set(got) == set(bad)
    assert got[7] == "invalid_json"
    assert got[12] == "missing_field: account_id"
    assert got[20] == "wrong_type: request_id must be a string"
    assert got[25].startswith("bad_timestamp") and got[30].startswith("bad_timestamp")
    assert got[33] == "wrong_type: request must be an object"
    assert got[36].startswith("not_an_object")
    assert got[40].startswith("invalid_utf8")
    assert got[44] == "empty_field: account_id"
    kept = {r["request_id"] for r in rows(ws, "SELECT request_id FROM exchanges")}
    assert kept == {f"req-{i}" for i in range(50)}


def test_absurdly_large_record_is_quarantined(ws, tmp_path):
    huge = exchange(1)
    huge["request"]["messages"][1]["content"] = "x" * 20_000
    path = write_lines(tmp_path / "big.jsonl", [exchange(0), huge, exchange(2)])
    report = ingest(ws, path, max_record_bytes=10_000)
    assert report.inserted == 2 and report.reasons == {"record_too_large": 1}


def test_ingest_twice_changes_nothing(ws, tmp_path):
    path = write_lines(tmp_path / "a.jsonl", [exchange(i) for i in range(30)] + ["{broken"])
    ingest(ws, path)
    snapshot = [rows(ws, f"SELECT * EXCLUDE (ingest_run) FROM {t} ORDER BY ALL")
                for t in ("exchanges", "quarantine")]
    second = ingest(ws, path)
    assert second.inserted == 0 and second.duplicates == 30 and second.quarantined == 0
    after = [rows(ws, f"SELECT * EXCLUDE (ingest_run) FROM {t} ORDER BY ALL") for t in ("exchanges", "quarantine")]
    assert after[0] == snapshot[0]
    assert [{k: v for k, v in r.items() if k != "quarantined_at"} for r in after[1]] == \
           [{k: v for k, v in r.items() if k != "quarantined_at"} for r in snapshot[1]]


def test_first_copy_of_a_duplicate_id_wins(ws, tmp_path):
    first = exchange(1, account_id="first")
    again = exchange(1, account_id="second")
    report = ingest(ws, write_lines(tmp_path / "d.jsonl", [first, exchange(2), again]))
    assert report.inserted == 2 and report.duplicates == 1
    assert rows(ws, "SELECT account_id FROM exchanges WHERE request_id = 'req-1'") == [{"account_id": "first"}]


def test_derived_columns_openai_form(ws, tmp_path):
    record = exchange(3, request={
        "model": "m", "n": 4, "seed": 7, "logprobs": True, "top_logprobs": 5, "reasoning_effort": "high",
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}],
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "What is here?"},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]},
            {"role": "assistant", "content": None,
             "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
            {"role": "user", "content": "Thanks, and tomorrow?"}]})
    ingest(ws, write_lines(tmp_path / "o.jsonl", [record]))
    r = rows(ws, "SELECT * FROM exchanges")[0]
    assert r["system_prompt"] == "Be brief."
    assert r["first_user_message"] == "What is here?"
    assert r["last_user_message"] == "Thanks, and tomorrow?"
    assert (r["turn_count"], r["user_turns"], r["tools_defined"], r["tools_called"], r["tool_results"],
            r["image_parts"]) == (5, 2, 1, 1, 1, 1)
    assert r["tool_names"] == ["get_weather"]
    assert (r["n"], r["seed"], r["logprobs"], r["top_logprobs"], r["reasoning_effort"]) == (4, 7, True, 5, "high")
    assert (r["input_tokens"], r["output_tokens"], r["status"]) == (14, 210, 200)


def test_derived_columns_anthropic_messages_form(ws, tmp_path):
    record = exchange(4, endpoint="messages", request={
        "model": "m", "max_tokens": 64000, "system": [{"type": "text", "text": "You are an agent."}],
        "thinking": {"type": "enabled", "budget_tokens": 32000},
        "tools": [{"name": "bash", "input_schema": {"type": "object"}}],
        "messages": [
            {"role": "user", "content": [{"type": "image", "source": {"type": "base64", "data": "AA"}},
                                         {"type": "text", "text": "Fix the build."}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "bash", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}]})
    ingest(ws, write_lines(tmp_path / "a.jsonl", [record]))
    r = rows(ws, "SELECT * FROM exchanges")[0]
    assert r["endpoint"] == "messages" and r["system_prompt"] == "You are an agent."
    assert r["first_user_message"] == "Fix the build." and r["last_user_message"] is None
    assert (r["tools_defined"], r["tool_names"], r["tools_called"], r["tool_results"], r["image_parts"]) == \
           (1, ["bash"], 1, 1, 1)
    assert (r["thinking_budget"], r["max_tokens"]) == (32000, 64000)


def test_unknown_fields_are_kept_with_keep_raw_and_timestamps_normalised(ws, tmp_path):
    record = exchange(5, timestamp="2026-02-03T16:05:09.250+02:00", tenant="blue")
    path = write_lines(tmp_path / "u.jsonl", [record])
    ingest(ws, path, keep_raw=True)
    r = rows(ws, "SELECT ts, raw, source_file, source_line FROM exchanges")[0]
    assert r["ts"].isoformat() == "2026-02-03T14:05:09.250000+00:00"
    assert json.loads(r["raw"])["tenant"] == "blue"
    assert (r["source_file"], r["source_line"]) == (str(path.resolve()), 1)


def test_without_keep_raw_rows_point_back_to_their_record(ws, tmp_path):
    path = write_lines(tmp_path / "p.jsonl", [exchange(1), exchange(2)])
    ingest(ws, path)
    got = rows(ws, "SELECT raw, source_line FROM exchanges ORDER BY source_line")
    assert got == [{"raw": None, "source_line": 1}, {"raw": None, "source_line": 2}]


@pytest.mark.parametrize("nested_as", ["struct", "json_string"])
def test_parquet_input(ws, tmp_path, nested_as):
    records = [exchange(i) for i in range(10)]
    if nested_as == "json_string":
        records = [dict(r, request=json.dumps(r["request"]), response=json.dumps(r["response"])) for r in records]
    records[3] = dict(records[3], request_id=None)
    pq.write_table(pa.Table.from_pylist(records), tmp_path / "x.parquet", row_group_size=4)
    report = ingest(ws, tmp_path / "x.parquet")
    assert report.inserted == 9 and report.quarantined == 1
    assert rows(ws, "SELECT source_line, reason FROM quarantine") == [
        {"source_line": 4, "reason": "missing_field: request_id"}]
    assert rows(ws, "SELECT last_user_message FROM exchanges WHERE request_id = 'req-2'") == [
        {"last_user_message": "Solve 2x+5=20 and show every step."}]


def test_accounts_table(ws, tmp_path):
    accounts = [{"account_id": "a1", "created_at": "2026-01-01T00:00:00Z", "account_type": "startup",
                 "payment_fingerprint": "pf-1", "verified": True, "org_id": "o1"},
                {"account_id": "a2", "verified": "yes"},
                {"account_id": "a3", "created_at": "not a time"}]
    report = ingest(ws, write_lines(tmp_path / "accounts.jsonl", accounts), kind="accounts")
    assert report.inserted == 1 and report.quarantined == 2
    assert rows(ws, "SELECT account_id, verified, payment_fingerprint FROM accounts") == [
        {"account_id": "a1", "verified": True, "payment_fingerprint": "pf-1"}]


def test_compressed_directory_input(ws, tmp_path):
    (tmp_path / "logs").mkdir()
    write_lines(tmp_path / "logs" / "a.jsonl.gz", [exchange(i) for i in range(5)], "gz")
    write_lines(tmp_path / "logs" / "b.jsonl.zst", [exchange(i) for i in range(5, 9)], "zst")
    assert ingest(ws, tmp_path / "logs").inserted == 9


def test_missing_input_is_a_clear_error(ws, tmp_path):
    with pytest.raises(InputError, match="no input files"):
        ingest(ws, tmp_path / "nothing-here")


def test_parquet_columns_of_the_wrong_type_are_quarantined_with_a_reason(ws, tmp_path):
    records = [dict(exchange(i), request=json.dumps(exchange(i)["request"]),
                    response=json.dumps(exchange(i)["response"])) for i in range(6)]
    records[1]["request"] = "not json {"
    records[2]["request"] = "[1, 2]"
    records[3]["response"] = "nope"
    records[4]["timestamp"] = "yesterday"
    table = pa.Table.from_pylist(records)
    pq.write_table(table, tmp_path / "strings.parquet")
    # A whole column of the wrong type: numbers where the contract wants strings and objects.
    ints = table.set_column(table.schema.get_field_index("request_id"), "request_id", pa.array(range(6)))
    pq.write_table(ints.set_column(ints.schema.get_field_index("request"), "request", pa.array(range(6))),
                   tmp_path / "ints.parquet")
    report = ingest(ws, [tmp_path / "strings.parquet", tmp_path / "ints.parquet"])
    assert report.inserted == 2 and report.quarantined == 10
    got = rows(ws, "SELECT source_file, source_line, reason, excerpt FROM quarantine ORDER BY ALL")
    strings = {r["source_line"]: r for r in got if r["source_file"].endswith("strings.parquet")}
    assert {n: r["reason"] for n, r in strings.items()} == {
        2: "wrong_type: request must be an object", 3: "wrong_type: request must be an object",
        4: "wrong_type: response must be an object", 5: "bad_timestamp: yesterday"}
    # The excerpt is the record as JSON text, as a JSONL line would have given it.
    assert json.loads(strings[2]["excerpt"])["request"] == "not json {"
    assert json.loads(strings[3]["excerpt"])["request"] == [1, 2]
    assert {r["reason"] for r in got if r["source_file"].endswith("ints.parquet")} == {
        "wrong_type: request_id must be a string"}


def test_parquet_record_text_and_size_match_its_columns(ws, tmp_path):
    record = exchange(1, user_agent='ua "quoted" é ✓ \\ /')
    table = pa.Table.from_pylist([dict(record, request=json.dumps(record["request"], indent=2), tenant=None)])
    table = table.append_column("seen", pa.array([datetime(2026, 2, 3, 14, 0, 1, 250000)], pa.timestamp("ms")))
    pq.write_table(table.drop(["api_key_id"]), tmp_path / "x.parquet")
    ingest(ws, tmp_path / "x.parquet", keep_raw=True)
    r = rows(ws, "SELECT raw, request_bytes FROM exchanges")[0]
    # The size counts the request text as stored (indented here), as a JSON line's size counts the line.
    stored = len(table["request"][0].as_py().encode())
    assert r["request_bytes"] == len(r["raw"].encode()) - len(json.dumps(record["request"], separators=(",", ":")).encode()) + stored
    raw = json.loads(r["raw"])
    assert raw["request"] == record["request"] and raw["user_agent"] == record["user_agent"]
    assert raw["tenant"] is None and raw["seen"] == "2026-02-03T14:00:01.250000Z" and "api_key_id" not in raw


def test_parquet_columns_duckdb_cannot_read_reject_the_file(ws, tmp_path):
    table = pa.table([pa.array(["req-1"]), pa.array(["req-2"])], names=["request_id", "request_id"])
    pq.write_table(table, tmp_path / "dup.parquet")
    report = ingest(ws, tmp_path / "dup.parquet")
    assert report.inserted == 0 and report.reasons == {"unreadable_parquet": 1}


def test_a_parquet_file_is_read_in_bounded_memory(tmp_path, monkeypatch):
    import gc

    from distillguard.ingest import parquet

    monkeypatch.setattr(parquet, "BATCH_ROWS", 2_000)
    text = pa.array([f"request {i} " + "x" * 500 for i in range(2_000)])
    with pq.ParquetWriter(tmp_path / "big.parquet", pa.schema([("request_id", pa.string()), ("body", pa.string())]),
                          compression="none") as writer:
        for _ in range(30):  # 30 row groups, 30 MB
            writer.write_table(pa.table({"request_id": text, "body": text}))
    gc.collect()
    before, peak = pa.total_allocated_bytes(), 0
    for batch in parquet.iter_parquet_batches(tmp_path / "big.parquet", "exchanges"):
        peak = max(peak, pa.total_allocated_bytes() - before)
        del batch
    # A few batches' worth at a time (one is 2 MB), never the file read so far.
    assert peak < 10_000_000
