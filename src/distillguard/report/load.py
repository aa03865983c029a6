"""Read a scan output directory (and, optionally, the workspace it came from) for the report."""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import combinations
from pathlib import Path
from typing import Any, Callable, Iterator

import duckdb

from ..workspace import CSV_TRUE, csv_text



@dataclass
class Indicator:
    kind: str
    value: str
    accounts: list[str] | None  # the accounts that share it, where the scan lists them


@dataclass
class Campaign:
    id: str
    score: float | None
    accounts: list[str]
    exchanges: int | None
    first_seen: datetime | None
    last_seen: datetime | None
    first_seen_text: str
    last_seen_text: str
    capabilities: list[tuple[str, float]]  # by share, largest first
    indicators: list[Indicator]
    evidence: list[str]
    timeline: list[tuple[int, int]] = field(default_factory=list)  # (epoch s, exchanges), zero-filled
    bucket_seconds: int = 3600
    links: list[tuple[str, str, float, str]] = field(default_factory=list)  # (a, b, weight, shared)


@dataclass
class Scan:
    accounts: int
    flagged: int
    exchanges: int | None
    campaigns: list[Campaign]
    account_rows: dict[str, dict]  # flagged or grouped accounts: score, flagged, campaign_id, reasons
    account_exchanges: dict[str, int] | None  # per account of interest, where some source counts them
    links_source: str  # where the graph's edges came from, said under each graph

    @property
    def detailed(self) -> list[Campaign]:
        """The campaigns (highest-scoring first) that get a full section: graph, timeline, tables."""
        return self.campaigns[:DETAILED]


# A large scan finds thousands of campaigns (3,972 at 16M exchanges), and a full section for each made a
# 50 MB page; the campaign table lists them all.
DETAILED = 200
INDICATOR_LINKS = "accounts that share an indicator listed in campaigns.json"


def load(scan_dir: Path, workspace: Any = None) -> Scan:
    accounts_csv, exchanges_csv = scan_dir / "accounts.csv", scan_dir / "exchanges.csv"
    if not accounts_csv.is_file():
        raise FileNotFoundError(f"{accounts_csv} not found")
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        total, flagged = con.execute(f"""SELECT count(*), count(*) FILTER (lower(trim(flagged)) IN {CSV_TRUE})
                                         FROM {csv_text(accounts_csv)}""").fetchone()
        # Only flagged or grouped accounts come into Python: a scan may list millions.
        rows = con.execute(f"""SELECT account_id, try_cast(score AS DOUBLE), lower(trim(flagged)) IN {CSV_TRUE},
                                      coalesce(campaign_id, ''), coalesce(reasons, '')
                               FROM {csv_text(accounts_csv)}
                               WHERE lower(trim(flagged)) IN {CSV_TRUE} OR coalesce(campaign_id, '') <> ''""").fetchall()
        account_rows = {a: dict(score=s, flagged=f, campaign_id=c, reasons=r) for a, s, f, c, r in rows}
        campaigns = _campaigns(scan_dir / "campaigns.json", account_rows)
    members = sorted({a for c in campaigns for a in c.accounts} | set(account_rows))
    scan = Scan(total, flagged, None, campaigns, account_rows, None, INDICATOR_LINKS)
    if workspace is not None:
        with _workspace_query(workspace) as query:
            _from_workspace(scan, members, query)
    # Pairs from the indicator lists only where the workspace gave no links: a campaign of thousands of
    # accounts makes millions of pairs out of them (most of the report's time at 4M exchanges).
    if scan.links_source == INDICATOR_LINKS:
        _indicator_links(scan)
    # Counted from exchanges.csv only without a workspace's table: parsing the CSV was most of the report's
    # time on a large scan (16M rows), and the workspace holds the same exchanges.
    if scan.exchanges is None and exchanges_csv.is_file():
        with duckdb.connect() as con:
            con.execute("SET enable_progress_bar = false")
            counts = con.execute(f"""SELECT CASE WHEN account_id IN (SELECT unnest(?)) THEN account_id END, count(*)
                                     FROM {csv_text(exchanges_csv)} GROUP BY 1""", [members]).fetchall()
        scan.exchanges = sum(n for _, n in counts)
        scan.account_exchanges = {a: n for a, n in counts if a is not None}
    return scan


def _campaigns(path: Path, account_rows: dict[str, dict]) -> list[Campaign]:
    if path.is_file():
        raw = json.loads(path.read_text() or "[]")
        items = raw if isinstance(raw, list) else []
    else:  # no campaigns.json: rebuild the bare groups from accounts.csv
        groups: dict[str, list[str]] = {}
        for a, row in account_rows.items():
            if row["campaign_id"]:
                groups.setdefault(row["campaign_id"], []).append(a)
        items = [{"campaign_id": c, "accounts": accts,
                  "score": max((account_rows[a]["score"] or 0) for a in accts)} for c, accts in groups.items()]
    campaigns = []
    for item in (i for i in items if isinstance(i, dict)):
        cid = str(item.get("campaign_id", ""))
        accounts = [str(a) for a in item.get("accounts") or []] or sorted(
            a for a, r in account_rows.items() if r["campaign_id"] == cid)
        caps = item.get("capabilities") or {}
        capabilities = sorted(((str(k), _float(v) or 0.0) for k, v in caps.items()), key=lambda kv: -kv[1]) \
            if isinstance(caps, dict) else []
        evidence = item.get("evidence") or []
        campaigns.append(Campaign(
            id=cid, score=_float(item.get("score")), accounts=accounts, exchanges=_int(item.get("exchanges")),
            first_seen=_time(item.get("first_seen")), last_seen=_time(item.get("last_seen")),
            first_seen_text=str(item.get("first_seen") or ""), last_seen_text=str(item.get("last_seen") or ""),
            capabilities=capabilities, indicators=_indicators(item.get("indicators")),
            evidence=[str(e) for e in evidence] if isinstance(evidence, list) else [str(evidence)]))
    return sorted(campaigns, key=lambda c: -(c.score or 0))


def _indicators(raw: Any) -> list[Indicator]:
    """The contract leaves the indicators' shape open; accept the plain forms a scanner would write:
    a list of "kind:value" strings or of {kind|type, value|id|indicator, accounts?} objects,
    or a {kind: value or [values]} mapping."""
    out = []
    if isinstance(raw, dict):
        for kind, v in raw.items():
            for ind in _indicators(v if isinstance(v, list) else [v]):
                ind.kind = ind.kind or str(kind)
                out.append(ind)
        return out
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            value = next((item[k] for k in ("value", "id", "indicator") if item.get(k) is not None), None)
            accounts = item.get("accounts")
            out.append(Indicator(str(item.get("kind") or item.get("type") or ""),
                                 str(value) if value is not None else json.dumps(item, default=str),
                                 [str(a) for a in accounts] if isinstance(accounts, list) else None))
        else:
            m = re.fullmatch(r"([A-Za-z_][\w-]{0,30}):(?!:)(.+)", str(item), re.S)
            out.append(Indicator(m[1], m[2], None) if m else Indicator("", str(item), None))
    return out


def _indicator_links(scan: Scan) -> None:
    for c in scan.detailed:
        members = set(c.accounts)
        pairs: dict[tuple[str, str], list[str]] = {}
        for ind in c.indicators:
            sharing = sorted(set(ind.accounts or []) & members)
            for a, b in combinations(sharing, 2):
                pairs.setdefault((a, b), []).append(f"{ind.kind}:{ind.value}" if ind.kind else ind.value)
        c.links = [(a, b, float(len(s)), ", ".join(s)) for (a, b), s in pairs.items()]


@contextmanager
def _workspace_query(workspace: Any) -> Iterator[Callable[[str, list], list[tuple]]]:
    """An open Workspace is used as is (the scan may hold it open); a path is opened read-only."""
    if hasattr(workspace, "sql"):
        yield lambda q, p: [tuple(r.values()) for r in workspace.sql(q, p).to_pylist()]
        return
    con = duckdb.connect(str(workspace), read_only=True)
    try:
        yield lambda q, p: con.execute(q, p).fetchall()
    finally:
        con.close()


def _from_workspace(scan: Scan, members: list[str], query: Callable[[str, list], list[tuple]]) -> None:
    tables = {r[0] for r in query("SELECT table_name FROM information_schema.tables", [])}
    if "exchanges" in tables:
        if scan.exchanges is None:
            scan.exchanges = query("SELECT count(*) FROM exchanges", [])[0][0]
        if scan.account_exchanges is None:
            scan.account_exchanges = dict(query("""SELECT account_id, count(*) FROM exchanges
                WHERE account_id IN (SELECT unnest(?)) GROUP BY 1""", [members]))
        campaign_of: dict[str, list[int]] = {}
        for i, c in enumerate(scan.detailed):
            for a in c.accounts:
                campaign_of.setdefault(a, []).append(i)
        hourly: dict[int, dict[int, int]] = {}
        # Per account, summed per campaign here: one plain IN list runs on every backend.
        for a, t, n in query("""SELECT account_id, CAST(epoch(ts) // 3600 AS BIGINT) * 3600 AS t, count(*)
                FROM exchanges WHERE ts IS NOT NULL AND account_id IN (SELECT unnest(?)) GROUP BY ALL""",
                             [sorted(campaign_of)]):
            for i in campaign_of[a]:
                hourly.setdefault(i, {})[t] = hourly.get(i, {}).get(t, 0) + n
        for i, counts in hourly.items():
            scan.campaigns[i].timeline, scan.campaigns[i].bucket_seconds = _buckets(counts)
    if "account_links" in tables:
        scan.links_source = "account links in the workspace"
        member_of: dict[str, set[int]] = {}
        for i, c in enumerate(scan.detailed):
            c.links = []
            for a in c.accounts:
                member_of.setdefault(a, set()).add(i)
        # One read of the links for all campaigns: a query per campaign read them once per campaign.
        linked = sorted(member_of)
        for a, b, w, s in query("""SELECT account_a, account_b, weight, shared FROM account_links
                                   WHERE account_a IN (SELECT unnest(?)) AND account_b IN (SELECT unnest(?))
                                   ORDER BY account_a, account_b""", [linked, linked]):
            for i in sorted(member_of[a] & member_of[b]):
                scan.campaigns[i].links.append((a, b, _float(w) or 1.0, _shared(s)))


def _buckets(hourly: dict[int, int]) -> tuple[list[tuple[int, int]], int]:
    """Hourly bars up to four days, daily beyond; empty buckets filled so gaps show."""
    lo, hi = min(hourly), max(hourly)
    size = 3600 if hi - lo <= 4 * 86400 else 86400
    counts: dict[int, int] = {}
    for t, n in hourly.items():
        counts[t - t % size] = counts.get(t - t % size, 0) + n
    return [(t, counts.get(t, 0)) for t in range(lo - lo % size, hi + 1, size)], size


def _shared(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value or "")


def _time(value: Any) -> datetime | None:
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t.astimezone(timezone.utc) if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    f = _float(value)
    return None if f is None else int(f)
