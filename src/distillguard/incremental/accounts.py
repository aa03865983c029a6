"""Behaviour features of the touched accounts only, by running the unchanged stage on a small workspace.

The behaviour stage is SQL over the whole `exchanges` table. Its per-account parts only read the
account's own rows; its whole-log parts read when the log starts, when each model first appears and
which capability areas occur. So the delta workspace holds every exchange of the touched accounts
plus *anchors*: the first exchange of every model (the log's first among them) and one exchange of
every capability area. Anchors belong to other accounts, whose rows from the delta are discarded;
with them the whole-log parts come out as over the whole log, and every touched account's row equals
what a full run computes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..fingerprints.behaviour import COLUMNS, compute_account_features
from ..workspace import Workspace, sql_string

_ANCHORS = """
SELECT request_id FROM exchanges
QUALIFY row_number() OVER (PARTITION BY model ORDER BY ts, request_id) = 1
UNION
SELECT c.request_id FROM exchange_capabilities c JOIN exchanges e USING (request_id)
WHERE e.account_id IS NOT NULL AND c.capability IS NOT NULL AND coalesce(c.confidence, 1) > 0
QUALIFY row_number() OVER (PARTITION BY c.capability ORDER BY e.ts, c.request_id) = 1
"""
# Per-exchange tables the stage reads, copied for the delta's rows only; small whole tables copied whole.
_PER_EXCHANGE = ("exchange_capabilities", "exchange_templates", "exchange_signals")
_WHOLE = ("template_families", "accounts")


# Above this share of the log in touched accounts, copying them out costs more than recomputing all.
IN_PLACE_SHARE = 0.5


def update_account_features(ws: Workspace, touched: str, intel=None, tmp_dir: str | Path | None = None) -> bool:
    """Recompute `account_features` rows (and new `ip_intel` rows) of the accounts in table `touched`;
    True when every account was recomputed in place instead."""
    db = ws.backend
    share = db.scalar(f"SELECT avg(CAST(account_id IN (SELECT account_id FROM {touched}) AS DOUBLE)) FROM exchanges")
    # A table written by an older version lacks the newer columns: rows of this version would not fit.
    stale = not db.table_exists("account_features") or bool(
        set(COLUMNS) - set(db.fetch_arrow("SELECT * FROM account_features LIMIT 0").column_names))
    if share is None or share >= IN_PLACE_SHARE or stale:
        compute_account_features(ws, intel=intel)
        return True
    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix="dg-delta-") as tmp:
        path = Path(tmp) / "delta.duckdb"
        _copy_delta(ws, touched, path)
        with Workspace.open(path) as delta:
            compute_account_features(delta, intel=intel)
        # Asked before attaching: information_schema would also list the delta's tables.
        have_ips = db.table_exists("ip_intel")
        db.execute(f"ATTACH {sql_string(str(path))} AS inc_delta (READ_ONLY)")
        try:
            mine = f"account_id IN (SELECT account_id FROM {touched})"
            db.execute(f"DELETE FROM main.account_features WHERE {mine}")
            db.execute(f"INSERT INTO main.account_features BY NAME "
                       f"SELECT * FROM inc_delta.account_features WHERE {mine}")
            if have_ips:
                db.execute("""INSERT INTO main.ip_intel BY NAME SELECT * FROM inc_delta.ip_intel
                              WHERE ip NOT IN (SELECT ip FROM main.ip_intel)""")
            else:
                db.execute("CREATE TABLE main.ip_intel AS SELECT * FROM inc_delta.ip_intel")
        finally:
            db.execute("DETACH inc_delta")
    return False


def _copy_delta(ws: Workspace, touched: str, path: Path) -> None:
    """Write the delta workspace: SQL copies inside DuckDB, nothing passes through Python."""
    db = ws.backend
    present = [t for t in (*_PER_EXCHANGE, *_WHOLE) if db.table_exists(t)]
    db.execute(f"ATTACH {sql_string(str(path))} AS inc_delta")
    try:
        db.execute(f"""CREATE TABLE inc_delta.exchanges AS SELECT * FROM exchanges
                       WHERE account_id IN (SELECT account_id FROM {touched}) OR request_id IN ({_ANCHORS})""")
        for table in _PER_EXCHANGE:
            if table in present:
                db.execute(f"""CREATE TABLE inc_delta.{table} AS SELECT * FROM {table}
                               WHERE request_id IN (SELECT request_id FROM inc_delta.exchanges)""")
        for table in _WHOLE:
            if table in present:
                db.execute(f"CREATE TABLE inc_delta.{table} AS SELECT * FROM {table}")
    finally:
        db.execute("DETACH inc_delta")
