"""Table definitions and SQL helpers of the workspace, shared by every stage."""

MACROS = [
    # Text of a message content: a plain string, or the text parts of a list of blocks.
    r"""CREATE OR REPLACE TEMP MACRO dg_text(c) AS CASE
          WHEN left(c, 1) = '"' THEN json_extract_string(c, '$')
          WHEN left(c, 1) = '[' THEN nullif(array_to_string(
               list_filter(json_extract_string(c, '$[*].text'), lambda x: x IS NOT NULL), chr(10)), '')
        END""",
    "CREATE OR REPLACE TEMP MACRO dg_str(j) AS CASE WHEN left(j, 1) = '\"' THEN json_extract_string(j, '$') END",
]

# What an exchange asks: its last user message, or its first where only that one is logged. Every stage that
# reads the prompt (capabilities, templates, behaviour) reads this.
USER_TEXT = "coalesce(last_user_message, first_user_message)"

EXCHANGE_COLUMNS = """
    request_id VARCHAR, ts TIMESTAMPTZ, account_id VARCHAR, api_key_id VARCHAR,
    client_ip VARCHAR, user_agent VARCHAR, endpoint VARCHAR, model VARCHAR,
    system_prompt VARCHAR, first_user_message VARCHAR, last_user_message VARCHAR,
    turn_count INTEGER, user_turns INTEGER, tools_defined INTEGER, tool_names VARCHAR[],
    tools_called INTEGER, tool_results INTEGER, image_parts INTEGER,
    temperature DOUBLE, top_p DOUBLE, n BIGINT, max_tokens BIGINT, reasoning_effort VARCHAR,
    thinking_budget BIGINT, stream BOOLEAN, seed BIGINT, logprobs BOOLEAN, top_logprobs BIGINT,
    status INTEGER, finish_reason VARCHAR, input_tokens BIGINT, output_tokens BIGINT,
    reasoning_tokens BIGINT, latency_ms DOUBLE, request_bytes INTEGER,
    raw VARCHAR, source_file VARCHAR, source_line BIGINT, ingest_run BIGINT
"""

ACCOUNT_COLUMNS = """
    account_id VARCHAR, created_at TIMESTAMPTZ, account_type VARCHAR, email_domain VARCHAR,
    payment_fingerprint VARCHAR, signup_ip VARCHAR, country VARCHAR, verified BOOLEAN,
    org_id VARCHAR, raw VARCHAR, source_file VARCHAR, source_line BIGINT, ingest_run BIGINT
"""

QUARANTINE_COLUMNS = """
    kind VARCHAR, source_file VARCHAR, source_line BIGINT, reason VARCHAR,
    excerpt VARCHAR, quarantined_at TIMESTAMPTZ, ingest_run BIGINT
"""

INGEST_RUN_COLUMNS = """
    run BIGINT, kind VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, paths VARCHAR[],
    records BIGINT, inserted BIGINT, duplicates BIGINT, quarantined BIGINT
"""

TABLES = {"exchanges": EXCHANGE_COLUMNS, "accounts": ACCOUNT_COLUMNS,
          "quarantine": QUARANTINE_COLUMNS, "ingest_runs": INGEST_RUN_COLUMNS}
