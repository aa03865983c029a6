"""One incremental update: bring every table up to date with the exchanges ingested since the last one.

What is recomputed, and why that gives what a full scan of the same data gives:

* capabilities: new exchanges only (each depends on its own request alone);
* signals: new exchanges; older ones only for population signals whose per-model statistics moved;
* template families: rebuilt over the whole log (families span accounts and time); the exchanges
  whose family or family statistics changed are noted;
* exchange scores: new exchanges and those whose signals or template statistics changed;
* behaviour and account scores: accounts with any such exchange or a new account record, or every
  account when a whole-log fact (log start, a model's first appearance, capability areas) moved
  (behaviour runs over every account in place when the touched ones hold most of the log);
* linkage and campaigns: rerun (account-level, cheap).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..campaigns import CampaignConfig, assemble_campaigns
from ..fingerprints.content.templates import build_template_families
from ..fingerprints.stage import classify_capabilities
from ..linkage import build_linkage
from ..workspace import Workspace
from . import state
from .accounts import update_account_features
from .exchanges import score_rows, update_signals

# Per exchange: what the exchange score reads of its template family.
_TEMPLATE_VIEW = """SELECT t.request_id, t.family_id, f.exchanges, f.accounts, f.account_share, f.generic
                    FROM exchange_templates t JOIN template_families f USING (family_id)"""
_TEMPLATE_COLUMNS = ("family_id", "exchanges", "accounts", "account_share", "generic")
_WORK_TABLES = ("inc_new", "inc_changed", "inc_rescore", "inc_touched", "inc_tpl_before")


@dataclass
class UpdateReport:
    new_exchanges: int = 0
    rescored_exchanges: int = 0       # new ones plus older ones whose inputs changed
    touched_accounts: int = 0
    all_accounts: bool = False        # a whole-log fact moved: every account was recomputed
    behaviour_in_place: bool = False  # touched accounts held most of the log: behaviour rerun over all
    accounts: int = 0
    flagged: int = 0
    campaigns: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def update(ws: Workspace, campaign_config: CampaignConfig | None = None, intel=None) -> UpdateReport:
    """Update fingerprints, scores, linkage and campaigns for exchanges ingested since the last update."""
    if ws.backend.name != "duckdb":
        raise ValueError("incremental updates need the DuckDB workspace")
    state.ensure(ws)
    db, report = ws.backend, UpdateReport()
    started = time.perf_counter()

    def timed(name: str, fn):
        t = time.perf_counter()
        result = fn()
        report.seconds[name] = round(time.perf_counter() - t, 2)
        return result

    # After a failed update, every exchange counts as new: what it changed before failing is unknown.
    last = 0 if state.interrupted(ws) else state.watermark(ws)
    top = int(db.scalar("SELECT coalesce(max(run), 0) FROM ingest_runs"))
    db.execute(f"CREATE OR REPLACE TABLE inc_new AS SELECT request_id FROM exchanges WHERE ingest_run > {last}")
    db.execute("CREATE OR REPLACE TABLE inc_changed (request_id VARCHAR)")
    report.new_exchanges = ws.count("inc_new")
    try:
        timed("capabilities", lambda: classify_capabilities(ws, only="inc_new"))
        timed("signals", lambda: update_signals(ws, "inc_new", "inc_changed"))
        timed("templates", lambda: _templates(ws))
        db.execute("""CREATE OR REPLACE TABLE inc_rescore AS
                      SELECT request_id FROM inc_new UNION SELECT request_id FROM inc_changed""")
        report.rescored_exchanges = timed("score_exchanges", lambda: score_rows(ws, "exchange", "inc_rescore"))
        report.all_accounts = state.context_changed(ws)
        db.execute(f"""CREATE OR REPLACE TABLE inc_touched AS
            SELECT DISTINCT account_id FROM exchanges
            WHERE {report.all_accounts} OR request_id IN (SELECT request_id FROM inc_rescore)
            UNION SELECT account_id FROM accounts WHERE ingest_run > {last}
                  AND account_id IN (SELECT account_id FROM exchanges)""")
        report.touched_accounts = ws.count("inc_touched")
        if report.touched_accounts:
            report.behaviour_in_place = timed("behaviour",
                                              lambda: update_account_features(ws, "inc_touched", intel=intel))
            timed("score_accounts", lambda: score_rows(ws, "account", "inc_touched"))
        timed("linkage", lambda: build_linkage(ws))
        report.campaigns = timed("campaigns", lambda: assemble_campaigns(ws, campaign_config or CampaignConfig()))
    finally:
        for table in _WORK_TABLES:
            db.execute(f"DROP TABLE IF EXISTS {table}")
    counts = ws.sql("SELECT count(*) AS n, count_if(flagged) AS f FROM account_verdicts").to_pylist()[0]
    report.accounts, report.flagged = int(counts["n"]), int(counts["f"] or 0)
    state.promote(ws)
    db.execute("INSERT INTO inc_updates VALUES ((SELECT coalesce(max(run), 0) + 1 FROM inc_updates), now(), "
               "?, ?, ?, ?, ?, ?, ?, ?, ?)",
               [time.perf_counter() - started, top, report.new_exchanges, report.rescored_exchanges,
                report.touched_accounts, report.all_accounts, report.accounts, report.flagged, report.campaigns])
    return report


def _templates(ws: Workspace) -> None:
    """Rebuild template families; note the older exchanges whose family or its statistics changed."""
    db = ws.backend
    before = _TEMPLATE_VIEW if db.table_exists("exchange_templates") and db.table_exists("template_families") \
        else "SELECT NULL::VARCHAR AS request_id, NULL::BIGINT AS family_id, NULL::BIGINT AS exchanges, " \
             "NULL::BIGINT AS accounts, NULL::DOUBLE AS account_share, NULL::BOOLEAN AS generic WHERE false"
    db.execute(f"CREATE OR REPLACE TABLE inc_tpl_before AS {before}")
    build_template_families(ws)
    differs = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in _TEMPLATE_COLUMNS)
    db.execute(f"""INSERT INTO inc_changed SELECT request_id FROM inc_tpl_before b
                   FULL JOIN ({_TEMPLATE_VIEW}) a USING (request_id)
                   WHERE ({differs}) AND request_id NOT IN (SELECT request_id FROM inc_new)""")
