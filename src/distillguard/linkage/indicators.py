"""Account -> indicator rows: what each account shares with others, and how much sharing it says.

Raw rows (account, type, value, exchanges, network kind) are gathered per type into ``_linkage_raw``;
``weigh`` turns a raw table into weighted rows of ``_linkage_ind``. Only indicators held by two or more
accounts are kept: an indicator of one account links nothing.

Client IPs of a consumer anonymiser (``pooled_exit_kinds``) become one ``exit`` row per account and kind
(value: the kind), not per-address ``ip``, ``prefix`` and ``asn`` rows (see config.py).
"""

from __future__ import annotations

import ipaddress

import pyarrow as pa

from ..workspace import Workspace
from .config import NETWORK_TYPES, LinkageConfig, free_mail_domains

UPSTREAM = ("exchanges", "accounts", "ip_intel", "exchange_templates", "template_families")
IND = "_linkage_ind"  # account_id, indicator_type, indicator_value, exchanges, weight, n, tell, grp
IND_COLUMNS = ("account_id VARCHAR, indicator_type VARCHAR, indicator_value VARCHAR, exchanges BIGINT, "
               "weight DOUBLE, n BIGINT, tell DOUBLE, grp VARCHAR")


def _values(rows: list[tuple], columns: str) -> str:
    """A literal VALUES table of config values (validated names, floats) and the packaged free-mail list."""
    body = ", ".join("(" + ", ".join(repr(v) if isinstance(v, str) else f"{float(v)!r}" for v in row) + ")"
                     for row in rows)
    return f"(SELECT * FROM (VALUES {body}) t({columns}))"


def config_tables(ws: Workspace, cfg: LinkageConfig) -> None:
    """The weight table as SQL tables, so weighting happens inside the engine."""
    ws.backend.execute(f"CREATE OR REPLACE TABLE _linkage_prior AS {_values(list(cfg.prior.items()), 'key, prior')}")
    ws.backend.execute(f"CREATE OR REPLACE TABLE _linkage_kind AS "
                       f"{_values(list(cfg.kind_factor.items()), 'kind, factor')}")
    types = [(t, g, cfg.group_cap[g], cfg.idf_floor.get(t, 0.0), float(t in NETWORK_TYPES))
             for t, g in cfg.group.items()]
    ws.backend.execute(f"CREATE OR REPLACE TABLE _linkage_type AS "
                       f"{_values(types, 'indicator_type, grp, cap, floor, networked')}")
    mail = [(d,) for d in sorted(free_mail_domains())]
    ws.backend.execute(f"CREATE OR REPLACE TABLE _linkage_free_mail AS {_values(mail, 'domain')}")


def _networks(ws: Workspace) -> None:
    """`_linkage_net(ip, kind, prefix, asn)` for every client and signup IP. IPs the network stage did not
    classify (signup IPs may be among them) get their /24 or /48 here and kind `unknown`; unparsable ones
    and those it marked invalid are left out."""
    ws.backend.execute("""
        CREATE OR REPLACE TABLE _linkage_net AS
        SELECT ip, min(kind) AS kind, min(prefix) AS prefix, min(asn) AS asn
        FROM ip_intel WHERE is_valid AND ip IS NOT NULL GROUP BY ip""")
    missing = ws.sql("""
        SELECT DISTINCT ip FROM (SELECT client_ip AS ip FROM exchanges UNION ALL SELECT signup_ip FROM accounts)
        WHERE ip IS NOT NULL AND ip NOT IN (SELECT ip FROM ip_intel WHERE ip IS NOT NULL)""").column(0).to_pylist()
    rows = []
    for ip in missing:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            continue
        bits = 24 if addr.version == 4 else 48
        rows.append((ip, "private" if addr.is_private else "unknown",
                     str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))))
    if rows:
        extra = pa.table({"ip": [r[0] for r in rows], "kind": [r[1] for r in rows], "prefix": [r[2] for r in rows]})
        ws.backend.register_arrow("_linkage_net_extra", extra)
        ws.backend.execute("INSERT INTO _linkage_net SELECT ip, kind, prefix, NULL FROM _linkage_net_extra")
        ws.backend.unregister("_linkage_net_extra")


def gather(ws: Workspace, cfg: LinkageConfig) -> None:
    """Raw indicator rows of every type but `sync` into `_linkage_raw`."""
    missing = [t for t in UPSTREAM if not ws.backend.table_exists(t)]
    if missing:
        raise RuntimeError(f"linkage needs the tables {missing}; run the stages that write them first")
    _networks(ws)
    burst = int(cfg.burst_window_s)
    pooled = ", ".join(f"'{k}'" for k in cfg.pooled_exit_kinds) or "NULL"  # validated kind names
    ws.backend.execute(f"""
        CREATE OR REPLACE TABLE _linkage_raw AS
        WITH ai AS (
            SELECT e.account_id, e.client_ip AS ip, count(*) AS exchanges
            FROM exchanges e WHERE e.account_id IS NOT NULL AND e.client_ip IS NOT NULL GROUP BY ALL),
        an AS (SELECT ai.*, n.kind, n.prefix, n.asn, coalesce(n.kind IN ({pooled}), false) AS pooled
               FROM ai JOIN _linkage_net n USING (ip)),
        tot AS (SELECT account_id, count(*) AS exchanges FROM exchanges GROUP BY ALL),
        acc AS (
            SELECT a.account_id, a.created_at, a.payment_fingerprint, a.org_id, lower(trim(a.email_domain)) AS mail,
                   a.signup_ip, n.kind AS signup_kind, n.prefix AS signup_prefix, coalesce(t.exchanges, 0) AS exchanges
            FROM accounts a LEFT JOIN tot t USING (account_id) LEFT JOIN _linkage_net n ON n.ip = a.signup_ip
            WHERE a.account_id IS NOT NULL)
        SELECT account_id, 'ip' AS indicator_type, ip AS indicator_value, exchanges, kind FROM an WHERE NOT pooled
        UNION ALL
        -- one fact per anonymiser kind: its users share its exits, /24s and hosts without knowing each other
        SELECT account_id, 'exit', kind, sum(exchanges), kind FROM an WHERE pooled GROUP BY ALL
        UNION ALL
        SELECT account_id, 'prefix', prefix, sum(exchanges), mode(kind) FROM an
        WHERE prefix IS NOT NULL AND NOT pooled GROUP BY ALL
        UNION ALL
        SELECT account_id, 'asn', asn::VARCHAR, sum(exchanges), mode(kind) FROM an
        WHERE asn IS NOT NULL AND NOT pooled GROUP BY ALL
        UNION ALL
        SELECT account_id, 'user_agent', user_agent, count(*), NULL FROM exchanges
        WHERE account_id IS NOT NULL AND user_agent <> '' GROUP BY ALL
        UNION ALL
        SELECT account_id, 'payment', payment_fingerprint, exchanges, NULL FROM acc WHERE payment_fingerprint <> ''
        UNION ALL
        SELECT account_id, 'org_id', org_id, exchanges, NULL FROM acc WHERE org_id <> ''
        UNION ALL
        SELECT account_id, 'email_domain', mail, exchanges, NULL FROM acc
        WHERE mail <> '' AND mail NOT IN (SELECT domain FROM _linkage_free_mail)
        UNION ALL
        SELECT account_id, 'signup_ip', signup_ip, exchanges, signup_kind FROM acc WHERE signup_kind IS NOT NULL
        UNION ALL
        -- Fixed windows, not gap-chaining: on a busy network a chain of sign-ups minutes apart would grow
        -- into one burst of everybody, and hide a real burst inside it. Two grids half a window apart, so a
        -- burst straddling one grid's boundary is whole in the other.
        SELECT account_id, 'created_burst',
               signup_prefix || '@' || strftime(to_timestamp(
                   floor((epoch(created_at) - g.shift) / {burst}) * {burst} + g.shift), '%Y-%m-%dT%H:%M'),
               exchanges, signup_kind
        FROM acc CROSS JOIN (VALUES (0), ({burst // 2})) g(shift)
        WHERE signup_prefix IS NOT NULL AND created_at IS NOT NULL
        UNION ALL
        SELECT e.account_id, 'template', f.family_id::VARCHAR, count(*), NULL
        FROM exchange_templates t JOIN template_families f USING (family_id) JOIN exchanges e USING (request_id)
        WHERE NOT coalesce(f.generic, false) AND e.account_id IS NOT NULL GROUP BY ALL""")


def weigh(ws: Workspace, cfg: LinkageConfig, raw: str, *, append: bool = False) -> None:
    """Weighted rows of `raw` into `_linkage_ind`: kept when two or more accounts share the indicator.

    weight = prior * kind factor * max(floor, idf(n)); `tell` = prior * kind factor (the rarity-free part,
    which the dense-block search weighs by degree itself)."""
    ref = float(cfg.idf_reference)
    if not append:
        ws.backend.execute(f"CREATE OR REPLACE TABLE {IND} ({IND_COLUMNS})")
    ws.backend.execute(f"""
        INSERT INTO {IND}
        WITH s AS (
            SELECT indicator_type, indicator_value, count(DISTINCT account_id) AS n, mode(kind) AS kind
            FROM {raw} WHERE indicator_value IS NOT NULL GROUP BY ALL HAVING count(DISTINCT account_id) >= 2),
        w AS (
            SELECT s.*, t.grp, t.floor,
                   p.prior * CASE WHEN t.networked = 1 THEN coalesce(k.factor, kd.factor) ELSE 1 END AS tell,
                   ln(1 + {ref} / s.n) / ln(1 + {ref} / 2) AS idf
            FROM s JOIN _linkage_type t USING (indicator_type)
            JOIN _linkage_prior p ON p.key = CASE WHEN s.indicator_type = 'sync'
                                             THEN 'sync.' || split_part(s.indicator_value, ':', 1)
                                             ELSE s.indicator_type END
            LEFT JOIN _linkage_kind k ON k.kind = s.kind
            CROSS JOIN (SELECT factor FROM _linkage_kind WHERE kind = 'unknown') kd
            WHERE s.indicator_type <> 'email_domain' OR s.n <= {int(cfg.email_max_accounts)})
        SELECT r.account_id, r.indicator_type, r.indicator_value, max(r.exchanges),
               w.tell * greatest(w.floor, w.idf), w.n, w.tell, w.grp
        FROM {raw} r JOIN w USING (indicator_type, indicator_value)
        WHERE w.tell > 0
        GROUP BY r.account_id, r.indicator_type, r.indicator_value, w.tell, w.floor, w.idf, w.n, w.grp""")
