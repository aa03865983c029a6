"""Behaviour fingerprint of every account: one row of features in table ``account_features``.

A distillation campaign is told apart from heavy legitimate use by how its accounts behave, not by how
much they send: volume concentrated on a few capability areas and shared templates, machine cadence
around the clock, single-shot prompts, hosting/VPN/proxy addresses, and a move to a newly released model
within hours. Each feature is one column, documented in ``COLUMNS``; later stages weigh them.

The work is SQL: plain aggregates and window functions over ``exchanges``, so the same statements can run
on another engine. Python only classifies each distinct IP address once (``NetworkIntel``) into table
``ip_intel``. Times are epoch seconds and hours of day are UTC, which is why the timing features are
either invariant to a shift of the clock (entropy, the account's own quietest hours, circular spread) or
reported as a phase (``active_hour_mean``).

Upstream content tables are optional; without one, its columns are NULL:

* ``exchange_capabilities(request_id, capability, confidence)``: the account's capability mix, each row
  weighted by its confidence, so uncertain labels count less; rows may be one top label per exchange or
  a whole distribution;
* ``exchange_templates(request_id, family_id)`` with ``template_families(family_id, exchanges, accounts,
  generic)``: traffic in prompt templates that other accounts use too;
* ``exchange_signals(request_id, <numeric signal columns>)``: each column ``x`` becomes ``signal_x_mean``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ...workspace import USER_TEXT, Workspace
from ..network import KINDS, NetworkIntel

# A pause longer than this ends a session: long enough to cover a person reading an answer or an agent
# running a slow tool, short enough that sleep and meetings split the day.
SESSION_GAP_S = 1800
# Gaps shorter than this are beyond human typing and reading; parallel workers produce them.
FAST_GAP_S = 2
QUIET_HOURS = 8
# Gap statistics of fewer gaps say nothing (one gap has no spread and would look perfectly periodic).
MIN_GAPS = 3
# A model first seen this long after the log starts was released inside the log; models present from the
# start are old, or the log began mid-stream, and a pivot to them means nothing.
NEW_MODEL_AFTER_S = 86400
# The pivot compares a model's traffic with the account's whole traffic over the day that follows.
PIVOT_WINDOW_S = 86400
# A capability counts as covered systematically when at least this many of the account's exchanges are
# labelled with it and it holds MIN_CAPABILITY_SHARE of the account's mass: a campaign sweeping a taxonomy
# revisits every area, a person drifts by once, and a classifier's small probabilities on every class
# would add up to rows but not to share.
SYSTEMATIC_MIN_EXCHANGES = 10
MIN_CAPABILITY_SHARE = 0.05

ProgressFn = Callable[[int, int], None]

# Features aggregated in one pass over the per-exchange table `_bf_ex`: (column, expression, meaning).
_HOUR_R = "sqrt(avg(hour_x) * avg(hour_x) + avg(hour_y) * avg(hour_y))"
MAIN = [
    ("exchanges", "count(*)", "exchanges the account sent"),
    ("first_seen", "min(ts)", "time of its first exchange"),
    ("last_seen", "max(ts)", "time of its last exchange"),
    ("active_days", "count(DISTINCT floor(t / 86400))", "distinct UTC days with at least one exchange"),
    ("exchanges_per_active_day", "count(*) / count(DISTINCT floor(t / 86400))",
     "exchanges per active day"),
    ("volume_growth", "CASE WHEN max(t) > min(t) THEN count_if(t > mid_t) / count_if(t <= mid_t) END",
     "exchanges in the second half of the account's own active span over the first half (1 steady, "
     ">1 ramping up); NULL when the span is zero"),
    ("input_tokens_total", "CAST(sum(input_tokens) AS BIGINT)", "input tokens over all exchanges"),
    ("output_tokens_total", "CAST(sum(output_tokens) AS BIGINT)", "output tokens over all exchanges"),
    ("output_input_token_ratio", "sum(output_tokens) / nullif(sum(input_tokens), 0)",
     "output tokens over input tokens: harvesting asks short and takes long answers"),
    ("reasoning_token_share",
     "sum(reasoning_tokens) / nullif(sum(CASE WHEN reasoning_tokens IS NOT NULL "
     "THEN output_tokens + reasoning_tokens END), 0)",
     "reasoning tokens over output plus reasoning tokens, on exchanges that report them (logs that "
     "count reasoning inside output tokens understate it, for every account alike)"),
    ("models_used", "count(DISTINCT model)", "distinct models requested"),
    # The one parametrised feature: its two parameters are the newest model and its first time.
    ("newest_model_share", "count_if(model = CAST(? AS VARCHAR)) / nullif(count_if(t >= CAST(? AS DOUBLE)), 0)",
     "share of the account's exchanges since the newest model's first appearance that went to it; "
     "NULL when no model was released inside the log or the account was silent since"),
    ("hour_of_day_circular_std", f"sqrt(-2 * ln(least(greatest({_HOUR_R}, 1e-9), 1))) * 12 / pi()",
     "circular standard deviation of the UTC time of day, in hours: small for one consistent "
     "timezone and working day, large for round-the-clock traffic"),
    ("active_hour_mean", "(degrees(atan2(avg(hour_y), avg(hour_x))) / 15 + 24) % 24",
     "circular mean UTC hour of day of its exchanges (a phase, to compare with the country)"),
    ("sessions", "CAST(count_if(session_gap IS NULL AND t IS NOT NULL) AS BIGINT)",
     f"sessions: runs of exchanges without a pause over {SESSION_GAP_S // 60} min"),
    ("exchanges_per_session", "count(t) / count_if(session_gap IS NULL AND t IS NOT NULL)",
     "mean exchanges per session"),
    ("session_gap_cv",
     f"CASE WHEN count(session_gap) >= {MIN_GAPS} "
     "THEN stddev_pop(session_gap) / nullif(avg(session_gap), 0) END",
     "coefficient of variation of the gaps inside sessions: ~0 for a fixed-rate sender, ~1 for "
     f"random (Poisson) arrivals, >1 for bursts; NULL under {MIN_GAPS} gaps"),
    ("burstiness",
     f"CASE WHEN count(gap) >= {MIN_GAPS} "
     "THEN (stddev_pop(gap) - avg(gap)) / nullif(stddev_pop(gap) + avg(gap), 0) END",
     "(sigma - mu) / (sigma + mu) of all gaps: -1 periodic, 0 random, toward 1 bursty with long "
     f"pauses; NULL under {MIN_GAPS} gaps"),
    ("gap_under_2s_share", f"avg(CAST(gap < {FAST_GAP_S} AS DOUBLE))",
     f"share of gaps between consecutive exchanges under {FAST_GAP_S} s"),
    ("single_turn_share", "avg(CAST(user_turns <= 1 AND coalesce(tool_results, 0) = 0 AS DOUBLE))",
     "share of single-shot exchanges: one user message, no tool results carried back"),
    ("mean_turn_count", "avg(turn_count)", "mean messages per request, as logged"),
    ("context_extension_share",
     "avg(CASE WHEN session_gap IS NOT NULL THEN CAST(turn_count > prev_turn_count "
     "AND input_tokens > prev_input_tokens AS DOUBLE) END)",
     "share of in-session exchanges that carry more messages and more input tokens than the one "
     "before: conversations and agent loops grow their context, independent prompts do not"),
    ("tools_share", "avg(CAST(tools_defined > 0 AS DOUBLE))", "share of exchanges defining tools"),
    ("tool_result_share", "avg(CAST(tool_results > 0 AS DOUBLE))",
     "share of exchanges carrying tool results back (agent loops)"),
    ("image_share", "avg(CAST(image_parts > 0 AS DOUBLE))", "share of exchanges with images"),
    ("distinct_system_prompts", "count(DISTINCT system_prompt_hash)", "distinct system prompts"),
    ("distinct_ips", "count(DISTINCT client_ip)", "distinct client IP addresses"),
    ("distinct_ip_prefixes", "count(DISTINCT ip_prefix)", "distinct /24 (IPv4) or /48 (IPv6) prefixes"),
    ("distinct_asns", "count(DISTINCT ip_asn)", "distinct autonomous systems of its addresses"),
    ("distinct_user_agents", "count(DISTINCT user_agent)", "distinct user agents"),
    ("distinct_api_keys", "count(DISTINCT api_key_id)", "distinct API keys"),
    *[(f"ip_{kind}_share", f"avg(CAST(ip_kind = '{kind}' AS DOUBLE))",
       f"share of exchanges (with a client IP) from {kind} networks, per ip_intel") for kind in KINDS],
]

# Features of the other blocks: column -> (SQL type, meaning). The type makes the NULL column of a block
# whose source table is missing.
HOURLY = {
    "hour_of_day_entropy": ("DOUBLE", "entropy of the 24-bin UTC hour-of-day histogram over log(24): "
                                      "1 = evenly round the clock"),
    "quietest_8h_share": ("DOUBLE", f"share of exchanges in the account's own quietest {QUIET_HOURS} "
                                    "consecutive hours of day: ~0 for a person who sleeps, ~1/3 for a machine"),
}
PIVOT = {
    "new_model_pivot_hours": ("DOUBLE", "hours from a new model's first appearance in the whole log to the "
                                        "first exchange from which it carries over half of the account's "
                                        "traffic in the following 24 h; earliest over new models; NULL "
                                        "if never"),
}
CAPABILITIES = {
    "capability_entropy": ("DOUBLE", "entropy (bits) of the account's capability mix"),
    "top_capability_share": ("DOUBLE", "share of the account's capability mass in its top capability"),
    "capabilities_over_5pct": ("BIGINT", f"capabilities with at least {MIN_CAPABILITY_SHARE:.0%} of the mass"),
    "capability_coverage": ("DOUBLE", "share of the capabilities seen in the whole log that label at least "
                                      f"{SYSTEMATIC_MIN_EXCHANGES} of the account's exchanges and hold "
                                      f"{MIN_CAPABILITY_SHARE:.0%} of its mass: breadth of systematic coverage"),
}
TEMPLATES = {
    "shared_template_share": ("DOUBLE", "share of exchanges in non-generic template families that other "
                                        "accounts use too"),
    "shared_template_families": ("BIGINT", "distinct such shared families"),
    "top_template_share": ("DOUBLE", "share of exchanges in the account's most used non-generic family"),
}
REQUESTS = {
    "multi_model_request_share": ("DOUBLE", "share of exchanges whose request (user text, system prompt, number "
                                            "of messages and of tools) the account also sent to another model: "
                                            "an evaluation harness asks every model under test the same "
                                            "questions, a harvester asks one model new ones"),
}
ACCOUNT = {
    "account_type": ("VARCHAR", "account type, from accounts"),
    "account_age_days": ("DOUBLE", "days from account creation to its first exchange"),
    "verified": ("BOOLEAN", "verified flag, from accounts"),
    "country": ("VARCHAR", "country, from accounts"),
    "email_domain": ("VARCHAR", "email domain, from accounts"),
    "payment_fingerprint": ("VARCHAR", "payment fingerprint, from accounts"),
    "org_id": ("VARCHAR", "organisation id, from accounts"),
    "signup_ip_kind": ("VARCHAR", "network kind of the signup IP, per ip_intel"),
}
_BLOCKS = {"_bf_hourly": HOURLY, "_bf_pivot": PIVOT, "_bf_capabilities": CAPABILITIES,
           "_bf_templates": TEMPLATES, "_bf_requests": REQUESTS, "_bf_account": ACCOUNT}

COLUMNS: dict[str, str] = {
    "account_id": "the account",
    **{name: doc for name, _, doc in MAIN},
    **{name: doc for block in _BLOCKS.values() for name, (_, doc) in block.items()},
}
SIGNAL_COLUMN = "signal_{}_mean"  # one per numeric column of exchange_signals: its mean over the account

_EXCHANGES = f"""
CREATE OR REPLACE TEMP TABLE _bf_ex AS
SELECT *, CASE WHEN gap <= {SESSION_GAP_S} THEN gap END AS session_gap
FROM (
SELECT *,
  t - lag(t) OVER w AS gap,
  lag(turn_count) OVER w AS prev_turn_count,
  lag(input_tokens) OVER w AS prev_input_tokens,
  (min(t) OVER a + max(t) OVER a) / 2 AS mid_t
FROM (
  SELECT e.request_id, e.account_id, e.ts, epoch(e.ts) AS t, e.model, e.api_key_id, e.client_ip, e.user_agent,
    CASE WHEN e.system_prompt IS NOT NULL THEN hash(e.system_prompt) END AS system_prompt_hash,
    e.turn_count, e.user_turns, e.tools_defined, e.tool_results, e.image_parts,
    e.input_tokens, e.output_tokens, e.reasoning_tokens,
    (epoch(e.ts) % 86400) / 3600 AS hour,
    cos(radians((epoch(e.ts) % 86400) / 240)) AS hour_x,
    sin(radians((epoch(e.ts) % 86400) / 240)) AS hour_y,
    i.kind AS ip_kind, i.prefix AS ip_prefix, i.asn AS ip_asn
  FROM exchanges e LEFT JOIN ip_intel i ON i.ip = e.client_ip
  WHERE e.account_id IS NOT NULL)
-- request_id only breaks ties between equal timestamps, so that reruns agree.
WINDOW w AS (PARTITION BY account_id ORDER BY t, request_id), a AS (PARTITION BY account_id))
"""

_MODELS = f"""
CREATE OR REPLACE TEMP TABLE _bf_models AS
SELECT model, min(epoch(ts)) AS first_t,
  min(epoch(ts)) >= (SELECT min(epoch(ts)) FROM exchanges) + {NEW_MODEL_AFTER_S} AS is_new
FROM exchanges WHERE model IS NOT NULL AND ts IS NOT NULL GROUP BY model
"""

_HOURLY = f"""
CREATE OR REPLACE TEMP TABLE _bf_hourly AS
WITH hours AS (
  SELECT account_id, CAST(floor(hour) AS INTEGER) AS hour, count(*) AS n
  FROM _bf_ex WHERE hour IS NOT NULL GROUP BY account_id, CAST(floor(hour) AS INTEGER)),
windows AS (
  SELECT h.account_id, s.start, sum(h.n) AS n
  FROM hours h JOIN range(24) s(start) ON (h.hour - s.start + 24) % 24 < {QUIET_HOURS}
  GROUP BY h.account_id, s.start),
quiet AS (
  -- A window with no exchange has no row: fewer than 24 rows means the quietest window is empty.
  SELECT account_id, CASE WHEN count(*) < 24 THEN 0 ELSE min(n) END AS n FROM windows GROUP BY account_id)
SELECT h.account_id,
  (ln(sum(h.n)) - sum(h.n * ln(h.n)) / sum(h.n)) / ln(24) AS hour_of_day_entropy,
  any_value(q.n) / sum(h.n) AS quietest_8h_share
FROM hours h JOIN quiet q USING (account_id) GROUP BY h.account_id
"""

# Forward windows over the account's own traffic: the pivot is the moment from which the new model
# carries most of the next day, not a day boundary, so a switch at 03:00 or 21:00 reads the same.
_PIVOT = f"""
CREATE OR REPLACE TEMP TABLE _bf_pivot AS
WITH movers AS (
  SELECT DISTINCT account_id FROM _bf_ex JOIN _bf_models USING (model) WHERE is_new),
forward AS (
  SELECT e.account_id, e.t, e.model,
    count(*) OVER (PARTITION BY e.account_id ORDER BY e.t
                   RANGE BETWEEN CURRENT ROW AND {PIVOT_WINDOW_S} FOLLOWING) AS all_next,
    count(*) OVER (PARTITION BY e.account_id, e.model ORDER BY e.t
                   RANGE BETWEEN CURRENT ROW AND {PIVOT_WINDOW_S} FOLLOWING) AS model_next
  FROM _bf_ex e JOIN movers USING (account_id) WHERE e.t IS NOT NULL)
SELECT f.account_id, min(f.t - m.first_t) / 3600 AS new_model_pivot_hours
FROM forward f JOIN _bf_models m USING (model)
WHERE m.is_new AND f.model_next > 0.5 * f.all_next
GROUP BY f.account_id
"""

_CAPABILITIES = f"""
CREATE OR REPLACE TEMP TABLE _bf_capabilities AS
WITH mass AS (
  SELECT e.account_id, c.capability, sum(coalesce(c.confidence, 1)) AS mass, count(*) AS exchanges
  FROM exchange_capabilities c JOIN _bf_ex e USING (request_id)
  WHERE c.capability IS NOT NULL AND coalesce(c.confidence, 1) > 0
  GROUP BY e.account_id, c.capability),
shares AS (SELECT *, mass / sum(mass) OVER (PARTITION BY account_id) AS share FROM mass)
SELECT account_id,
  -sum(share * log2(share)) AS capability_entropy,
  max(share) AS top_capability_share,
  CAST(count_if(share >= {MIN_CAPABILITY_SHARE}) AS BIGINT) AS capabilities_over_5pct,
  count_if(exchanges >= {SYSTEMATIC_MIN_EXCHANGES} AND share >= {MIN_CAPABILITY_SHARE})
    / (SELECT count(DISTINCT capability) FROM mass)
    AS capability_coverage
FROM shares GROUP BY account_id
"""

_TEMPLATES = """
CREATE OR REPLACE TEMP TABLE _bf_templates AS
WITH tagged AS (
  SELECT e.account_id, e.request_id, t.family_id,
    f.accounts > 1 AND NOT coalesce(f.generic, false) AS shared,
    t.family_id IS NOT NULL AND NOT coalesce(f.generic, false) AS specific
  FROM _bf_ex e
  LEFT JOIN exchange_templates t USING (request_id)
  LEFT JOIN template_families f USING (family_id)),
per_account AS (
  SELECT account_id,
    count(DISTINCT CASE WHEN shared THEN request_id END) AS shared_exchanges,
    count(DISTINCT CASE WHEN shared THEN family_id END) AS shared_families
  FROM tagged GROUP BY account_id),
top AS (
  SELECT account_id, max(n) AS n FROM (
    SELECT account_id, family_id, count(DISTINCT request_id) AS n FROM tagged WHERE specific
    GROUP BY account_id, family_id) GROUP BY account_id)
SELECT m.account_id,
  p.shared_exchanges / m.exchanges AS shared_template_share,
  p.shared_families AS shared_template_families,
  coalesce(top.n, 0) / m.exchanges AS top_template_share
FROM _bf_main m JOIN per_account p USING (account_id) LEFT JOIN top USING (account_id)
"""

# A request without user text (an empty agent turn) is never counted as asked again.
# Groups hold no text and no distinct set: a request's hash, and min <> max for "two models or more".
_REQUESTS = f"""
CREATE OR REPLACE TEMP TABLE _bf_requests AS
SELECT account_id, sum(CASE WHEN again THEN n ELSE 0 END) / sum(n) AS multi_model_request_share
FROM (
  SELECT account_id, count(*) AS n, coalesce(bool_or(has_text) AND min(model) <> max(model), false) AS again
  FROM (SELECT account_id, model, text IS NOT NULL AS has_text,
               hash(text, system_prompt, turn_count, tools_defined) AS h
        FROM (SELECT account_id, model, {USER_TEXT} AS text, system_prompt, turn_count, tools_defined
              FROM exchanges WHERE account_id IS NOT NULL))
  GROUP BY account_id, h)
GROUP BY account_id
"""

_NUMERIC = re.compile(r"^(DOUBLE|FLOAT|REAL|DECIMAL|NUMERIC|U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|BOOLEAN)\b")


def compute_account_features(ws: Workspace, intel: NetworkIntel | None = None,
                             progress: ProgressFn | None = None) -> None:
    """Write ``ip_intel`` (one row per distinct client and signup IP) and ``account_features`` (one row
    per account in ``exchanges``; columns ``COLUMNS`` plus one ``signal_<name>_mean`` per signal)."""
    db = ws.backend
    for table in [*_BLOCKS, "_bf_signals"]:  # left behind by an interrupted run, they would be joined
        db.execute(f"DROP TABLE IF EXISTS {table}")
    steps = [lambda: _classify_ips(ws, intel or NetworkIntel.load()),
             lambda: db.execute(_EXCHANGES), lambda: db.execute(_MODELS), lambda: _main(ws),
             lambda: db.execute(_HOURLY), lambda: _pivot(ws), lambda: db.execute(_REQUESTS), lambda: _content(ws),
             lambda: _account(ws), lambda: _assemble(ws)]
    for done, step in enumerate(steps, 1):
        step()
        if progress:
            progress(done, len(steps))


def _columns(ws: Workspace, table: str) -> dict[str, str]:
    """Column name -> type name of a table, empty when there is no such table."""
    rows = ws.sql("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
                  [table]).to_pylist()
    return {row["column_name"]: row["data_type"] for row in rows}


def _classify_ips(ws: Workspace, intel: NetworkIntel) -> None:
    sources = ["SELECT client_ip AS ip FROM exchanges"]
    if "signup_ip" in _columns(ws, "accounts"):
        sources.append("SELECT signup_ip FROM accounts")
    ips = ws.sql(f"SELECT DISTINCT ip FROM ({' UNION ALL '.join(sources)}) WHERE ip IS NOT NULL")
    ws.backend.register_arrow("_bf_ip_arrow", intel.classify_many(ips["ip"]))
    try:
        ws.backend.execute("CREATE OR REPLACE TABLE ip_intel AS SELECT * FROM _bf_ip_arrow")
    finally:
        ws.backend.unregister("_bf_ip_arrow")


def _main(ws: Workspace) -> None:
    newest = ws.sql("SELECT model, first_t FROM _bf_models WHERE is_new ORDER BY first_t DESC, model LIMIT 1")
    model, first_t = (newest["model"][0].as_py(), newest["first_t"][0].as_py()) if newest.num_rows else (None, None)
    select = ",\n  ".join(f"{expr} AS {name}" for name, expr, _ in MAIN)
    ws.backend.execute(f"CREATE OR REPLACE TEMP TABLE _bf_main AS SELECT account_id,\n  {select}\n"
                       "FROM _bf_ex GROUP BY account_id", [model, first_t])


def _pivot(ws: Workspace) -> None:
    if ws.backend.scalar("SELECT count(*) FROM _bf_models WHERE is_new"):
        ws.backend.execute(_PIVOT)


def _content(ws: Workspace) -> None:
    if _columns(ws, "exchange_capabilities"):
        ws.backend.execute(_CAPABILITIES)
    if _columns(ws, "exchange_templates") and _columns(ws, "template_families"):
        ws.backend.execute(_TEMPLATES)
    signals = [name for name, kind in _columns(ws, "exchange_signals").items()
               if name != "request_id" and _NUMERIC.match(kind)]
    if signals:
        means = ", ".join(f'avg(CAST(s."{name}" AS DOUBLE)) AS "{SIGNAL_COLUMN.format(name)}"'
                          for name in signals)
        ws.backend.execute(f"""CREATE OR REPLACE TEMP TABLE _bf_signals AS SELECT e.account_id, {means}
                               FROM exchange_signals s JOIN _bf_ex e USING (request_id) GROUP BY e.account_id""")


def _account(ws: Workspace) -> None:
    have = _columns(ws, "accounts")
    if "account_id" not in have:
        return
    field = {name: f"a.{name}" if name in have else f"CAST(NULL AS {ACCOUNT[name][0]})"
             for name in ("account_type", "verified", "country", "email_domain", "payment_fingerprint", "org_id")}
    age = ("(epoch(m.first_seen) - epoch(a.created_at)) / 86400" if "created_at" in have
           else "CAST(NULL AS DOUBLE)")
    signup = "i.kind" if "signup_ip" in have else "CAST(NULL AS VARCHAR)"
    signup_join = "LEFT JOIN ip_intel i ON i.ip = a.signup_ip" if "signup_ip" in have else ""
    # One row per account even if the accounts table holds several for one id: the first ingested.
    first = ", ".join(c for c in ("ingest_run", "source_file", "source_line") if c in have) or "account_id"
    ws.backend.execute(f"""
        CREATE OR REPLACE TEMP TABLE _bf_account AS
        SELECT m.account_id, {", ".join(f"{expr} AS {name}" for name, expr in field.items())},
          {age} AS account_age_days, {signup} AS signup_ip_kind
        FROM _bf_main m
        JOIN (SELECT *, row_number() OVER (PARTITION BY account_id ORDER BY {first}) AS nth FROM accounts) a
          ON a.account_id = m.account_id AND a.nth = 1
        {signup_join}""")


def _assemble(ws: Workspace) -> None:
    db = ws.backend
    built = [table for table in _BLOCKS if db.table_exists(table)]
    select = ["m.*"]
    for table, block in _BLOCKS.items():
        select += [name if table in built else f"CAST(NULL AS {kind}) AS {name}"
                   for name, (kind, _) in block.items()]
    if db.table_exists("_bf_signals"):
        built.append("_bf_signals")
        select += [f'"{name}"' for name in _columns(ws, "_bf_signals") if name != "account_id"]
    joins = "".join(f" LEFT JOIN {table} USING (account_id)" for table in built)
    db.execute(f"CREATE OR REPLACE TABLE account_features AS SELECT {', '.join(select)} FROM _bf_main m{joins}")
    for table in ["_bf_ex", "_bf_models", "_bf_main", *built]:
        db.execute(f"DROP TABLE IF EXISTS {table}")
