"""Compute the evaluation inside DuckDB so that millions of exchanges never sit in Python."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
from sklearn.metrics import adjusted_rand_score

from ..workspace import CSV_TRUE, csv_text, sql_string
from .result import ArchetypeFP, CampaignRecall, EvalReport, check_targets

# Stands for "no campaign": each such account becomes a cluster of its own, keyed by its id.
# A NUL byte cannot occur in a campaign id written to CSV, so it never collides with one.
SINGLETON = "chr(0) || account_id"


def evaluate(truth_dir: str | Path, scan_dir: str | Path, memory_limit: str | None = None) -> EvalReport:
    """Score the scan in `scan_dir` (scan output contract) against the truth in `truth_dir`."""
    truth_dir, scan_dir = Path(truth_dir), Path(scan_dir)
    for required in (truth_dir / "truth_accounts.csv", scan_dir / "accounts.csv"):
        if not required.is_file():
            raise FileNotFoundError(f"{required} not found")
    # A temp directory of our own: an in-memory database would otherwise spill into the cwd.
    with tempfile.TemporaryDirectory(prefix="dg-eval-") as spill, duckdb.connect() as con:
        con.execute(f"SET temp_directory = {sql_string(spill)}")
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")
        if memory_limit:
            con.execute(f"SET memory_limit = {sql_string(memory_limit)}")
        return _evaluate(con, truth_dir, scan_dir)


def _evaluate(con: duckdb.DuckDBPyConnection, truth_dir: Path, scan_dir: Path) -> EvalReport:
    con.execute(f"""CREATE TABLE truth AS
        SELECT trim(account_id) AS account_id, lower(trim(label)) = 'distill' AS distill,
               nullif(trim(campaign), '') AS campaign, coalesce(nullif(trim(archetype), ''), '?') AS archetype
        FROM {csv_text(truth_dir / 'truth_accounts.csv')}""")
    # Grouped, so that an account listed twice cannot count twice.
    con.execute(f"""CREATE TABLE scan AS
        SELECT trim(account_id) AS account_id, coalesce(max(try_cast(score AS DOUBLE)), 0) AS score,
               coalesce(bool_or(lower(trim(flagged)) IN {CSV_TRUE}), false) AS flagged,
               max(nullif(trim(campaign_id), '')) AS predicted
        FROM {csv_text(scan_dir / 'accounts.csv')} GROUP BY 1""")
    # Accounts absent from the scan were not flagged, and score 0.
    con.execute("""CREATE TABLE acc AS
        SELECT t.*, coalesce(s.flagged, false) AS flagged, coalesce(s.score, 0) AS score, s.predicted,
               s.account_id IS NULL AS missing
        FROM truth t LEFT JOIN scan s USING (account_id)""")

    n, distill, missing, tp, fp, fn = con.execute("""SELECT count(*), count(*) FILTER (distill),
        count(*) FILTER (missing), count(*) FILTER (distill AND flagged),
        count(*) FILTER (NOT distill AND flagged), count(*) FILTER (distill AND NOT flagged) FROM acc""").fetchone()
    extra, predicted_campaigns = con.execute("""SELECT
        count(*) FILTER (account_id NOT IN (SELECT account_id FROM truth)), count(DISTINCT predicted) FROM scan
        """).fetchone()
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / distill if distill else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None

    benign = [ArchetypeFP(*row) for row in con.execute("""SELECT archetype, count(*) FILTER (flagged), count(*)
        FROM acc WHERE NOT distill GROUP BY archetype ORDER BY archetype""").fetchall()]
    benign_total = sum(a.total for a in benign)
    campaigns = [CampaignRecall(*row) for row in con.execute("""
        SELECT coalesce(campaign, '(none)'), mode(archetype), count(*), count(*) FILTER (flagged)
        FROM acc WHERE distill GROUP BY 1 ORDER BY 2, 1""").fetchall()]

    report = EvalReport(
        truth_accounts=n, distill_accounts=distill, benign_accounts=n - distill, missing_from_scan=missing,
        extra_in_scan=extra, tp=tp, fp=fp, fn=fn, precision=precision, recall=recall, f1=f1,
        benign_fpr=fp / benign_total if benign_total else None, benign_by_archetype=benign, campaigns=campaigns,
        predicted_campaigns=predicted_campaigns,
        ari_distill=_ari(con, f"SELECT coalesce(campaign, {SINGLETON}), coalesce(predicted, {SINGLETON}) "
                              "FROM acc WHERE distill"),
        # Benign accounts belong to no campaign, so each is its own true cluster.
        ari_flagged=_ari(con, f"SELECT coalesce(CASE WHEN distill THEN campaign END, {SINGLETON}), "
                              f"coalesce(predicted, {SINGLETON}) FROM acc WHERE flagged"),
        account_auroc=_auroc(con, "SELECT score AS s, distill::INT AS p, (NOT distill)::INT AS n FROM acc"),
        **_exchange_metrics(con, truth_dir / "truth_exchanges.csv", scan_dir / "exchanges.csv"),
    )
    report.targets = check_targets(report)
    return report


def _exchange_metrics(con: duckdb.DuckDBPyConnection, truth: Path, scan: Path) -> dict:
    out = dict(exchange_auroc=None, hydra_exchange_auroc=None, hydra_accounts=0, truth_exchanges=0,
               exchanges_missing_from_scan=0, exchange_note="")
    if not truth.is_file():
        return {**out, "exchange_note": f"{truth.name} absent from the truth"}
    con.execute(f"""CREATE VIEW tex AS SELECT trim(request_id) AS request_id, trim(account_id) AS account_id,
        coalesce(lower(trim(is_distill)) IN {CSV_TRUE}, false) AS y FROM {csv_text(truth)}""")
    # Hydra accounts are found from the data: their truth exchanges mix harvesting and normal traffic.
    con.execute("""CREATE TABLE mixed AS
        SELECT account_id, count(*) AS exchanges FROM tex GROUP BY account_id HAVING bool_or(y) AND NOT bool_and(y)""")
    out["hydra_accounts"], out["truth_exchanges"] = con.execute(
        "SELECT (SELECT count(*) FROM mixed), (SELECT count(*) FROM tex)").fetchone()
    if not scan.is_file():
        return {**out, "exchange_note": f"{scan.name} absent from the scan"}
    # One pass over the join; what is kept is one row per distinct score and stratum.
    con.execute(f"""CREATE TABLE ex AS
        SELECT coalesce(e.score, 0) AS s, t.account_id IN (SELECT account_id FROM mixed) AS hydra,
               e.request_id IS NULL AS missing, count(*) FILTER (t.y) AS p, count(*) FILTER (NOT t.y) AS n
        FROM tex t LEFT JOIN (SELECT trim(request_id) AS request_id, try_cast(score AS DOUBLE) AS score
                              FROM {csv_text(scan)}) e USING (request_id)
        GROUP BY ALL""")
    out["exchanges_missing_from_scan"] = con.execute("SELECT coalesce(sum(p + n), 0) FROM ex WHERE missing").fetchone()[0]
    out["exchange_auroc"] = _auroc(con, "SELECT s, p, n FROM ex")
    out["hydra_exchange_auroc"] = _auroc(con, "SELECT s, p, n FROM ex WHERE hydra")
    return out


def _auroc(con: duckdb.DuckDBPyConnection, source: str) -> float | None:
    """AUROC from (score s, positives p, negatives n) rows: the Mann–Whitney statistic with ties
    counted half, computed over distinct scores so memory grows with distinct scores, not rows."""
    num, pos, neg = con.execute(f"""
        WITH g AS (SELECT s, sum(p) AS p, sum(n) AS n FROM ({source}) GROUP BY s),
             c AS (SELECT p, n, coalesce(sum(n) OVER (ORDER BY s ROWS BETWEEN UNBOUNDED PRECEDING
                                                      AND 1 PRECEDING), 0) AS below FROM g)
        SELECT sum(p * (below + n / 2.0)), sum(p), sum(n) FROM c""").fetchone()
    return float(num) / (float(pos) * float(neg)) if pos and neg else None


def _ari(con: duckdb.DuckDBPyConnection, source: str) -> float | None:
    rows = con.execute(source).fetchall()
    if len(rows) < 2:
        return None
    true, predicted = zip(*rows)
    return float(adjusted_rand_score(true, predicted))
