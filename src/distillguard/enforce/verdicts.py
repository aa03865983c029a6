"""Batch verdicts from a scan output directory, as in-memory lookups a decision can afford."""

from __future__ import annotations

import csv
import ipaddress
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .policy import Linking

# Indicator types a request can be matched on, and the workspace column each comes from.
_WORKSPACE_TYPES = ("ip", "prefix", "payment", "user_agent")


@dataclass(frozen=True, slots=True)
class AccountVerdict:
    score: float
    flagged: bool
    campaign_id: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Campaign:
    campaign_id: str
    score: float
    accounts: frozenset[str]


@dataclass(slots=True)
class Verdicts:
    accounts: dict[str, AccountVerdict] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    # (indicator type, value) -> campaign id; the highest-scoring campaign wins a shared value
    links: dict[tuple[str, str], str] = field(default_factory=dict)
    source: str | None = None

    def link(self, kind: str, value: str | None) -> str | None:
        return self.links.get((kind, value)) if value else None


@lru_cache(maxsize=65_536)
def ip_prefix(ip: str) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) a scan names in its `prefix` indicators."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return str(ipaddress.ip_network(f"{ip}/{24 if addr.version == 4 else 48}", strict=False))


def _read_accounts(path: Path) -> dict[str, AccountVerdict]:
    out = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = {"account_id", "score", "flagged", "campaign_id"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path} lacks the column(s) {sorted(missing)} of the scan output contract")
        for row in reader:
            try:
                score = float(row["score"])
            except ValueError:
                raise ValueError(f"{path} line {reader.line_num}: score {row['score']!r} is not a number") from None
            out[row["account_id"]] = AccountVerdict(
                score=score, flagged=row["flagged"].strip().lower() == "true",
                campaign_id=row["campaign_id"] or None,
                reasons=tuple(r for r in (row.get("reasons") or "").split(";") if r))
    return out


def _workspace_links(path: Path, members: dict[str, str]) -> list[tuple[str, str, str, str | None]]:
    """Every infrastructure indicator that two or more members of one campaign share and no account
    outside it does (campaigns.json keeps only the strongest few per campaign)."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "account_indicators" not in tables:
            return []
        con.register("_members", pa.table({"account_id": list(members), "campaign_id": list(members.values())}))
        kinds = "LEFT JOIN ip_intel p ON p.ip = i.indicator_value" if "ip_intel" in tables else ""
        return con.execute(f"""
            SELECT i.indicator_type, i.indicator_value, any_value(m.campaign_id), {"any_value(p.kind)" if kinds else "NULL"}
            FROM account_indicators i LEFT JOIN _members m USING (account_id) {kinds}
            WHERE i.indicator_type IN {_WORKSPACE_TYPES}
            GROUP BY 1, 2
            HAVING count(DISTINCT m.account_id) >= 2 AND count(DISTINCT m.account_id) = count(DISTINCT i.account_id)
               AND count(DISTINCT m.campaign_id) = 1""").fetchall()
    finally:
        con.close()


def load_verdicts(scan_dir: str | Path, linking: Linking, *, use_workspace: bool = True) -> Verdicts:
    """accounts.csv and campaigns.json from `scan_dir`; with `use_workspace`, every campaign indicator in
    its workspace.duckdb too (campaigns.json lists only the strongest fifteen per campaign)."""
    scan_dir = Path(scan_dir)
    acc_path, camp_path = scan_dir / "accounts.csv", scan_dir / "campaigns.json"
    for p in (acc_path, camp_path):
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found: load_scan needs a scan output directory "
                                    "(distillguard scan ... --out DIR)")
    v = Verdicts(accounts=_read_accounts(acc_path), source=str(scan_dir))
    try:
        records = json.loads(camp_path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{camp_path} is not valid JSON: {e}") from None
    candidates: list[tuple[str, str, str, str | None]] = []
    for c in records:
        cid = c["campaign_id"]
        v.campaigns[cid] = Campaign(cid, float(c.get("score") or 0), frozenset(c.get("accounts") or ()))
        for ind in c.get("indicators") or ():
            candidates.append((ind.get("type"), str(ind.get("value")), cid, ind.get("network_kind")))
    members = {a: cid for cid, camp in v.campaigns.items() for a in camp.accounts}
    # members listed only in accounts.csv (older scans) still belong to their campaign
    for a, verdict in v.accounts.items():
        if verdict.campaign_id and verdict.campaign_id in v.campaigns:
            members.setdefault(a, verdict.campaign_id)
    ws = scan_dir / "workspace.duckdb"
    if use_workspace and ws.is_file() and members:
        candidates.extend(_workspace_links(ws, members))
    for kind, value, cid, ip_kind in candidates:
        if kind not in linking.types or not value:
            continue
        if kind in ("ip", "prefix") and (ip_kind in linking.ignore_ip_kinds):
            continue
        held = v.links.get((kind, value))
        if held is None or v.campaigns[cid].score > v.campaigns[held].score:
            v.links[(kind, value)] = cid
    return v
