"""Property: any valid record written to any supported format comes back with the same values."""

import json
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings, strategies as st

from distillguard.ingest import ingest
from distillguard.workspace import Workspace
from tests.conftest import write_lines

text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)
record = st.fixed_dictionaries({
    "request_id": text, "account_id": text,
    "timestamp": st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1),
                              timezones=st.just(timezone.utc)),
    "offset_minutes": st.integers(-12 * 60, 14 * 60),
    "client_ip": st.ip_addresses().map(str),
    "prompt": text, "system": text,
    "temperature": st.floats(0, 2, allow_nan=False), "max_tokens": st.integers(1, 2**31),
    "output_tokens": st.integers(0, 10**6),
})


def to_contract(r: dict) -> dict:
    zone = timezone(timedelta(minutes=r["offset_minutes"]))
    return {"request_id": r["request_id"], "account_id": r["account_id"], "client_ip": r["client_ip"],
            "timestamp": r["timestamp"].astimezone(zone).isoformat(timespec="microseconds"),
            "request": {"model": "m", "temperature": r["temperature"], "max_tokens": r["max_tokens"],
                        "messages": [{"role": "system", "content": r["system"]},
                                     {"role": "user", "content": r["prompt"]}]},
            "response": {"usage": {"output_tokens": r["output_tokens"]}}}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(record, min_size=1, max_size=8, unique_by=lambda r: r["request_id"]),
       fmt=st.sampled_from(["jsonl", "jsonl.gz", "jsonl.zst", "parquet"]))
def test_record_file_ingest_roundtrip(tmp_path_factory, records, fmt):
    folder = tmp_path_factory.mktemp("rt")
    contract = [to_contract(r) for r in records]
    path = folder / f"x.{fmt}"
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pylist([dict(c, request=json.dumps(c["request"]),
                                                  response=json.dumps(c["response"])) for c in contract]), path)
    else:
        write_lines(path, contract, {"jsonl": None, "jsonl.gz": "gz", "jsonl.zst": "zst"}[fmt])
    with Workspace.open(folder / "ws.duckdb") as ws:
        report = ingest(ws, path)
        assert report.quarantined == 0 and report.inserted == len(records)
        got = {r["request_id"]: r for r in ws.sql("SELECT * FROM exchanges").to_pylist()}
    for r in records:
        row = got[r["request_id"]]
        assert row["account_id"] == r["account_id"] and row["client_ip"] == r["client_ip"]
        assert row["ts"] == r["timestamp"]
        assert row["last_user_message"] == r["prompt"] and row["system_prompt"] == r["system"]
        assert row["temperature"] == r["temperature"] and row["max_tokens"] == r["max_tokens"]
        assert row["output_tokens"] == r["output_tokens"]
