"""Warehouse sources: a DuckDB file and a real PostgreSQL server read through Ibis."""

import json

import duckdb
import pytest

from distillguard.ingest import InputError, ingest
from distillguard.ingest.warehouse import TableSource, redact
from distillguard.workspace import Workspace
from tests.conftest import exchange, write_lines
from tests.ingest.pg_server import PASSWORD, PostgresServer, binaries

# Typed columns compared between a file ingest and a table ingest of the same records.
COMPARED = """request_id, ts, account_id, api_key_id, client_ip, user_agent, endpoint, model, system_prompt,
    first_user_message, last_user_message, turn_count, user_turns, tools_defined, tool_names, tools_called,
    tool_results, image_parts, temperature, top_p, n, max_tokens, reasoning_effort, thinking_budget, stream,
    seed, logprobs, top_logprobs, status, finish_reason, input_tokens, output_tokens, reasoning_tokens,
    latency_ms"""


def varied(n: int = 12) -> list[dict]:
    """Records covering the nested shapes: content parts, tools and tool calls, Messages form, usage."""
    out = []
    for i in range(n):
        r = exchange(i, timestamp=f"2026-02-03T14:{i:02d}:09Z")
        if i % 3 == 1:
            r["request"]["messages"].append({"role": "user", "content": [
                {"type": "text", "text": "and this image"}, {"type": "image_url", "image_url": {"url": "x"}}]})
            r["request"]["tools"] = [{"type": "function", "function": {"name": f"lookup{i}"}}]
        if i % 3 == 2:
            r["endpoint"] = "messages"
            r["request"] = {"model": "frontier-large", "system": "Be terse.", "max_tokens": 2048,
                            "thinking": {"type": "enabled", "budget_tokens": 1024},
                            "messages": [{"role": "user", "content": [{"type": "text", "text": f"Q{i}"}]}]}
            r["response"]["usage"]["reasoning_tokens"] = 99
        out.append(r)
    return out


def duckdb_table(path, records, form: str) -> None:
    """The records as table `exchanges`: `nested` (structs), `json` (JSON text) or `flat` columns."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE src (j JSON)")
    con.executemany("INSERT INTO src VALUES (?)", [[json.dumps(r)] for r in records])
    top = ("j->>'request_id' AS request_id, CAST(j->>'timestamp' AS TIMESTAMPTZ) AS event_time, "
           "j->>'account_id' AS account_id, j->>'api_key_id' AS api_key_id, j->>'client_ip' AS client_ip, "
           "j->>'user_agent' AS user_agent, j->>'endpoint' AS endpoint")
    if form == "json":
        body = "CAST(j->'request' AS VARCHAR) AS request, CAST(j->'response' AS VARCHAR) AS response"
    elif form == "nested":   # native structs, as a warehouse with typed nested columns holds them
        body = ("json_transform(j->'response', '{\"status\":\"INTEGER\",\"finish_reason\":\"VARCHAR\","
                "\"usage\":{\"input_tokens\":\"BIGINT\",\"output_tokens\":\"BIGINT\","
                "\"reasoning_tokens\":\"BIGINT\"}}')"
                " AS response, CAST(j->'request' AS VARCHAR) AS request")
    else:   # flat: request fields as columns (nested ones as JSON text, system as plain text), usage split
        body = ("j->>'$.request.model' AS model, CAST(j->'$.request.messages' AS VARCHAR) AS messages, "
                "CAST(j->'$.request.tools' AS VARCHAR) AS tools, j->>'$.request.system' AS system, "
                "CAST(j->>'$.request.max_tokens' AS INTEGER) AS max_tokens, "
                "CAST(j->>'$.request.temperature' AS DOUBLE) AS temperature, "
                "CAST(j->'$.request.thinking' AS VARCHAR) AS thinking, "
                "CAST(j->>'$.response.status' AS INTEGER) AS response_status, "
                "j->>'$.response.finish_reason' AS finish_reason, "
                "CAST(j->>'$.response.usage.input_tokens' AS BIGINT) AS input_tokens, "
                "CAST(j->>'$.response.usage.output_tokens' AS BIGINT) AS output_tokens, "
                "CAST(j->>'$.response.usage.reasoning_tokens' AS BIGINT) AS reasoning_tokens")
    con.execute(f"CREATE TABLE exchanges AS SELECT {top}, {body} FROM src")
    con.execute("DROP TABLE src")
    con.close()


@pytest.mark.parametrize("form", ["nested", "json", "flat"])
def test_duckdb_table_gives_the_same_rows_as_the_jsonl_file(ws, tmp_path, form):
    records = varied()
    ingest(ws, write_lines(tmp_path / "x.jsonl", records))
    db = tmp_path / "warehouse.db"
    duckdb_table(db, records, form)
    with Workspace.open(tmp_path / "ws2.duckdb") as ws2:
        report = ingest(ws2, TableSource(f"duckdb://{db}", "exchanges", columns={"event_time": "timestamp"}))
        assert (report.inserted, report.quarantined) == (len(records), 0)
        from_table = ws2.sql(f"SELECT {COMPARED} FROM exchanges ORDER BY request_id").to_pylist()
        provenance = ws2.sql("SELECT DISTINCT source_file FROM exchanges").column(0).to_pylist()
        lines = ws2.sql("SELECT request_id, source_line FROM exchanges ORDER BY source_line").to_pylist()
    assert from_table == ws.sql(f"SELECT {COMPARED} FROM exchanges ORDER BY request_id").to_pylist()
    assert provenance == [f"duckdb://{db}#exchanges"]
    # Row numbers follow (timestamp, request_id): the records' timestamps rise with i.
    assert [r["request_id"] for r in lines] == [r["request_id"] for r in records]
    assert [r["source_line"] for r in lines] == list(range(1, len(records) + 1))


def bad_rows_table(path) -> None:
    con = duckdb.connect(str(path))
    con.execute("""CREATE TABLE ex (request_id VARCHAR, "timestamp" TIMESTAMPTZ, account_id VARCHAR,
                                    model VARCHAR, messages VARCHAR, max_tokens INTEGER)""")
    con.executemany("INSERT INTO ex VALUES (?, ?, ?, ?, ?, ?)", [
        ["ok-1", "2026-02-03 10:00:00+00", "a1", "m", '[{"role":"user","content":"hi"}]', 10],
        ["no-request", "2026-02-03 10:01:00+00", "a1", None, None, None],
        ["bad-json", "2026-02-03 10:02:00+00", "a2", "m", "[{role: user", 10],
        [None, "2026-02-03 10:03:00+00", "a2", "m", "[]", 10],
        ["no-time", None, "a3", "m", "[]", 10],
        ["ok-2", "2026-02-03 10:04:00+00", "", "m", "[]", 10],
    ])
    con.close()


def test_bad_rows_are_quarantined_with_reason_and_row_number(ws, tmp_path):
    bad_rows_table(tmp_path / "w.db")
    report = ingest(ws, TableSource(f"duckdb://{tmp_path}/w.db", "ex"))
    assert report.records == 6 and report.inserted == 1 and report.quarantined == 5
    got = {r["source_line"]: r["reason"] for r in ws.sql("SELECT source_line, reason FROM quarantine").to_pylist()}
    assert got == {2: "missing_field: request", 3: "invalid_json: column messages does not hold JSON",
                   4: "missing_field: request_id", 5: "empty_field: account_id", 6: "missing_field: timestamp"}
    # Reading the table again adds nothing, and quarantines nothing twice.
    again = ingest(ws, TableSource(f"duckdb://{tmp_path}/w.db", "ex"))
    assert (again.inserted, again.duplicates, ws.count("quarantine")) == (0, 1, 5)


def test_since_reads_only_newer_rows_and_keeps_row_numbers(ws, tmp_path):
    bad_rows_table(tmp_path / "w.db")
    report = ingest(ws, TableSource(f"duckdb://{tmp_path}/w.db", "ex", since="2026-02-03T10:02:30Z"))
    # The null-id row at 10:03 and the empty-account row at 10:04; the row without a time is not after.
    assert report.records == 2 and report.inserted == 0
    assert sorted(ws.sql("SELECT source_line FROM quarantine").column(0).to_pylist()) == [4, 5]


def test_missing_required_column_and_bad_mapping_are_clear_errors(ws, tmp_path):
    bad_rows_table(tmp_path / "w.db")
    with pytest.raises(InputError, match="no column for required field 'request_id'"):
        ingest(ws, TableSource(f"duckdb://{tmp_path}/w.db", "ex", columns={"request_id": "rid"}))
    with pytest.raises(InputError, match="lacks"):
        ingest(ws, TableSource(f"duckdb://{tmp_path}/w.db", "ex", columns={"nope": "timestamp"}))
    with pytest.raises(InputError, match="no table 'missing'"):
        ingest(ws, TableSource(f"duckdb://{tmp_path}/w.db", "missing"))
    with pytest.raises(InputError, match="not a connection URL"):
        TableSource("/some/path.db", "ex")
    with pytest.raises(InputError, match="bad --since"):
        TableSource(f"duckdb://{tmp_path}/w.db", "ex", since="yesterday")
    con = duckdb.connect(str(tmp_path / "w.db"))
    con.execute("CREATE TABLE text_times AS SELECT request_id, CAST(\"timestamp\" AS VARCHAR) AS \"timestamp\", "
                "account_id, messages FROM ex")
    con.close()
    with pytest.raises(InputError, match="--since needs a timestamp-typed"):
        ingest(ws, TableSource(f"duckdb://{tmp_path}/w.db", "text_times", since="2026-02-03T10:00:00Z"))
    assert ws.count("exchanges") == 0


def test_redact_removes_passwords_and_secret_parameters():
    assert redact("postgres://u:pw@h:5432/db") == "postgres://u:***@h:5432/db"
    assert redact("clickhouse://u@h/db?password=x&secure=true") == "clickhouse://u@h/db?password=%2A%2A%2A&secure=true"
    assert redact("duckdb:///tmp/a.db") == "duckdb:///tmp/a.db"


@pytest.fixture(scope="module")
def postgres():
    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries not installed (`make test` installs them)")
    server = PostgresServer(bin_dir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.postgres
def test_postgres_table_with_jsonb_and_flat_columns(ws, postgres):
    import psycopg

    records = varied(6)
    with psycopg.connect(postgres.url) as con:
        con.execute("""CREATE TABLE exchanges (request_id text, "timestamp" timestamptz, account_id text,
                       client_ip inet, request jsonb, status int, input_tokens bigint, output_tokens bigint,
                       note text)""")
        for r in records:
            con.execute("INSERT INTO exchanges VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'kept')",
                        [r["request_id"], r["timestamp"], r["account_id"], r["client_ip"], json.dumps(r["request"]),
                         200, 14, 210])
        con.execute("INSERT INTO exchanges (request_id, \"timestamp\", account_id) VALUES "
                    "('no-request', '2026-02-04T00:00:00Z', 'acct-x')")
    source = TableSource(postgres.url, "public.exchanges")
    report = ingest(ws, source, keep_raw=True)
    assert (report.inserted, report.quarantined) == (6, 1)
    rows = ws.sql("SELECT request_id, model, last_user_message, status, output_tokens, client_ip, raw, "
                  "source_file, source_line FROM exchanges ORDER BY source_line").to_pylist()
    assert [r["request_id"] for r in rows] == [r["request_id"] for r in records]
    assert rows[0]["model"] == "frontier-large" and rows[0]["status"] == 200 and rows[0]["output_tokens"] == 210
    assert rows[2]["last_user_message"] == "Q2" and rows[0]["client_ip"] == "203.0.113.7"
    assert json.loads(rows[0]["raw"])["note"] == "kept"   # unknown columns are kept
    q = ws.sql("SELECT source_file, source_line, reason FROM quarantine").to_pylist()
    assert q == [{"source_file": rows[0]["source_file"], "source_line": 7, "reason": "missing_field: request"}]
    # The password is nowhere in the workspace.
    assert rows[0]["source_file"] == f"postgres://dg:***@127.0.0.1:{postgres.port}/postgres#public.exchanges"
    stored = ws.sql("SELECT string_agg(DISTINCT source_file) FROM exchanges").column(0)[0].as_py() \
        + json.dumps(ws.sql("SELECT * FROM ingest_runs").to_pylist(), default=str)
    assert PASSWORD not in stored


@pytest.mark.postgres
def test_postgres_wrong_password_is_a_clear_error_without_the_password(ws, postgres):
    url = postgres.url.replace(PASSWORD, "wrong-secret")
    with pytest.raises(InputError, match="cannot connect") as err:
        ingest(ws, TableSource(url, "exchanges"))
    assert "wrong-secret" not in str(err.value)


def test_cli_ingests_a_table_and_rejects_bad_arguments(tmp_path):
    from typer.testing import CliRunner

    from distillguard.cli import app

    runner = CliRunner()
    bad_rows_table(tmp_path / "w.db")
    url, ws = f"duckdb://{tmp_path}/w.db", str(tmp_path / "ws.duckdb")
    ok = runner.invoke(app, ["ingest", "--source", url, "--table", "ex", "-w", ws])
    text = " ".join(ok.output.split())
    assert ok.exit_code == 0 and "1 new" in text and "5 quarantined" in text, ok.output
    for args, message in [([], "not both or neither"), (["x.jsonl", "--source", url, "--table", "ex"], "not both"),
                          (["--source", url], "needs --table"), (["x.jsonl", "--table", "ex"], "go with --source"),
                          (["--source", url, "--table", "ex", "--map", "oops"], "COLUMN=FIELD"),
                          (["--source", url, "--table", "nope"], "no table 'nope'")]:
        result = runner.invoke(app, ["ingest", *args, "-w", ws])
        assert result.exit_code == 2 and message in " ".join(result.output.split()), (args, result.output)
