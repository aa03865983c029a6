"""Linkage benchmark: per-stage time of `build_linkage` on a synthetic 20k-account / 1M-exchange workspace.

The workspace is generated directly (accounts, exchanges and the upstream tables `ip_intel`,
`exchange_templates`, `template_families`) with benign traps (CGNAT pools, cloud NAT, enterprises,
classes, pairs of users that share a template by accident) and planted campaigns (round-robin hydras on
hosting pools, one hydra bigger than the hub limit, low-and-slow groups), and kept under bench/out for
reruns. Prints seconds per stage, peak RSS, table sizes and how each archetype was clustered.

    python bench/linkage.py [--accounts 20000] [--exchanges 1000000] [--method leiden|components]
"""

from __future__ import annotations

import argparse
import resource
import time
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa

OUT = Path(__file__).parent / "out"
T0 = np.datetime64("2026-02-02T00:00:00", "s").astype(np.int64)
DAY = 86_400
UAS = np.array([f"OpenAI/Python 1.{v}.0" for v in range(40, 60)] + ["curl/8.5.0", "Mozilla/5.0", "OpenAI/JS 4.7"])


class Gen:
    def __init__(self, seed: int):
        self.r = np.random.default_rng(seed)
        self.acc: list[dict] = []  # column dicts, concatenated at the end
        self.ex: list[dict] = []
        self.intel: dict[str, str] = {}
        self.generic: dict[int, bool] = {}
        self.next_family = 1000

    def ips(self, kind: str, n: int, net: str) -> np.ndarray:
        """n random addresses under `net` (one or two leading octets)."""
        free = 3 - net.count(".")
        ids = self.r.integers(0, 256 ** free, n)
        octets = np.stack([(ids >> (8 * k)) % 256 for k in reversed(range(free))], axis=1).astype(str)
        out = np.array([".".join([net, *row]) for row in octets.tolist()])
        self.intel.update(dict.fromkeys(out.tolist(), kind))
        return out

    def family(self, generic: bool) -> int:
        self.next_family += 1
        self.generic[self.next_family] = generic
        return self.next_family

    def accounts(self, prefix: str, n: int, *, card=None, signup=None, mail=None, org=None, created=None):
        r = self.r
        ids = np.array([f"{prefix}{i:05d}" for i in range(n)])
        self.acc.append({
            "account_id": ids, "archetype": np.full(n, prefix),
            "created_at": created if created is not None else T0 - r.integers(DAY, 700 * DAY, n),
            "payment_fingerprint": card if card is not None else np.char.add("pf_", ids),
            "signup_ip": signup if signup is not None else self.ips("residential", n, "73"),
            "email_domain": mail if mail is not None else r.choice(["gmail.com", "outlook.com", "yahoo.com"], n),
            "org_id": org if org is not None else np.full(n, None)})
        return ids

    def human(self, ids: np.ndarray, ip: np.ndarray, per_account: float, *, hours=(7, 24), family=None):
        """Sessions at random daytime hours, a few requests minutes apart."""
        r = self.r
        n = r.poisson(per_account, len(ids)) + 1
        sessions = 1 + n // 5
        owner = np.repeat(np.arange(len(ids)), n)
        k = len(owner)
        shape = (len(ids), sessions.max())
        starts = r.integers(0, 7, shape) * DAY + r.uniform(*hours, shape) * 3600
        session = (r.random(k) * sessions[owner]).astype(np.int64)
        ts = T0 + starts[owner, session] + r.exponential(300, k)
        fam = None if family is None else (family[owner] if isinstance(family, np.ndarray) else np.full(k, family))
        self.emit(ids[owner], ts, ip[owner], r.choice(UAS, len(ids))[owner], fam)

    def stream(self, ids: np.ndarray, pool: np.ndarray, total: int, families: list[int], ua: str):
        """A load balancer dealing one request stream to the accounts in turn, each request through a random
        address of the pool and on a random one of the campaign's templates."""
        r = self.r
        ts = T0 + DAY + np.cumsum(r.uniform(5, 25, total))
        ts += (ts - T0) // (8 * 3600) * 16 * 3600  # 8 h on, 16 h off
        self.emit(ids[np.arange(total) % len(ids)], ts, r.choice(pool, total), np.full(total, ua),
                  r.choice(families, total))

    def emit(self, acc, ts, ip, ua, family):
        self.ex.append({"account_id": acc, "ts": ts.astype(np.int64), "client_ip": ip, "user_agent": ua,
                        "family": family if family is not None else np.full(len(acc), -1)})


def generate(accounts: int, exchanges: int, seed: int = 5) -> dict[str, pa.Table]:
    g = Gen(seed)
    r = g.r
    scale = accounts / 20_000
    per = exchanges / 1_000_000
    # benign individuals; 1 in 10 shares a household IP with another; every 20th uses one of a pool of
    # non-generic templates that a handful of strangers also happen to use
    n = int(14_000 * scale)
    ids = g.accounts("person", n)
    ip = g.ips("residential", n, "73")
    ip[1:n // 10:2] = ip[0:n // 10 - 1:2]
    fam = np.where(r.random(n) < 0.05, r.choice([g.family(False) for _ in range(200)], n), -1)
    g.human(ids, ip, 38 * per, family=fam)
    # mobile CGNAT: 20 carrier addresses, ~150 accounts each
    n = int(3_000 * scale)
    pool = g.ips("mobile", 20, "100.72")
    g.human(g.accounts("cgnat", n), pool[r.integers(0, 20, n)], 28 * per)
    # cloud-app fleets behind 5 cloud NAT egress addresses
    n = int(500 * scale)
    pool = g.ips("hosting", 5, "34.120")
    g.human(g.accounts("cloud", n), pool[r.integers(0, 5, n)], 190 * per, hours=(0, 24))
    # enterprises: 50 orgs of 20, one card, one org, one domain, office IP, office hours
    n = int(1_000 * scale)
    org = np.arange(n) // 20
    office = g.ips("business", org.max() + 1, "81.2")
    ids = g.accounts("enterprise", n, card=np.char.add("pf_org", org.astype(str)), signup=office[org],
                     mail=np.char.add(np.char.add("corp", org.astype(str)), ".com"),
                     org=np.char.add("org_", org.astype(str)))
    g.human(ids, office[org], 58 * per, hours=(9, 17))
    # classes: 20 classes of 50 on 10 campus IPs, accounts made within an hour, a generic homework family
    n = int(1_000 * scale)
    klass = np.arange(n) // 50
    campus = g.ips("education", 10, "128.32")[klass % 10]
    created = T0 - 3 * DAY + klass * 3 * 3600 + r.integers(0, 3600, n)
    ids = g.accounts("student", n, signup=campus, created=created)
    g.human(ids, campus, 28 * per, hours=(10, 23), family=np.array([g.family(True) for _ in range(20)])[klass])
    # hydras: 5 of 40 accounts, round-robin over a hosting pool, three templates each
    for h in range(5):
        ids = g.accounts(f"hydra{h}_", 40, card=np.char.add(f"pf_hy{h}_", (np.arange(40) // 5).astype(str)),
                         signup=g.ips("hosting", 40, f"45.{60 + h}"), mail=np.full(40, "proton.me"),
                         created=T0 - 4 * DAY + h * 3600 + r.integers(0, 1200, 40))
        g.stream(ids, g.ips("hosting", 12, f"45.{70 + h}"), int(20_000 * per),
                 [g.family(False) for _ in range(3)], "python-httpx/0.27.0")
    # one hydra above the hub limit: 300 accounts on a VPN pool, templates shared by all of them
    ids = g.accounts("bighydra", 300, signup=g.ips("vpn", 300, "185.10"))
    g.stream(ids, g.ips("vpn", 30, "185.20"), int(60_000 * per), [g.family(False) for _ in range(3)],
             "OpenAI/Python 1.55.0")
    # low-and-slow: 10 groups of 5 quiet accounts sharing two templates
    for k in range(10):
        ids = g.accounts(f"slow{k}_", 5)
        fams = np.array([g.family(False), g.family(False)])
        g.human(ids, g.ips("residential", 5, "98"), 9, family=fams[np.arange(5) % 2])
    acc = {k: np.concatenate([a[k] for a in g.acc]) for k in g.acc[0]}
    ex = {k: np.concatenate([e[k] for e in g.ex]) for k in g.ex[0]}
    order = np.argsort(ex["ts"], kind="stable")
    ex = {k: v[order] for k, v in ex.items()}
    rid = np.char.add("r", np.arange(len(order)).astype(str))
    ts = pa.array(ex["ts"] * 1_000_000, pa.timestamp("us", tz="UTC"))
    tagged = ex["family"] >= 0
    return {
        "accounts": pa.table({"account_id": acc["account_id"], "created_at": pa.array(
            acc["created_at"].astype(np.int64) * 1_000_000, pa.timestamp("us", tz="UTC")),
            "email_domain": acc["email_domain"], "payment_fingerprint": acc["payment_fingerprint"],
            "signup_ip": acc["signup_ip"], "org_id": pa.array(acc["org_id"].tolist(), pa.string())}),
        "archetypes": pa.table({"account_id": acc["account_id"], "archetype": acc["archetype"]}),
        "exchanges": pa.table({"request_id": rid, "ts": ts, "account_id": ex["account_id"],
                               "client_ip": ex["client_ip"], "user_agent": ex["user_agent"],
                               "model": np.full(len(rid), "frontier-large")}),
        "ip_intel": pa.table({"ip": list(g.intel), "is_valid": [True] * len(g.intel), "kind": list(g.intel.values()),
                              "asn": [zlib.crc32(ip.rsplit(".", 2)[0].encode()) % 60_000 for ip in g.intel],
                              "prefix": [ip.rsplit(".", 1)[0] + ".0/24" for ip in g.intel]}),
        "exchange_templates": pa.table({"request_id": rid[tagged], "family_id": ex["family"][tagged]}),
        "template_families": pa.table({"family_id": list(g.generic), "generic": list(g.generic.values())}),
    }


def build_workspace(path: Path, accounts: int, exchanges: int) -> None:
    from distillguard.workspace import Workspace

    with Workspace.open(path) as ws:
        for name, table in generate(accounts, exchanges).items():
            ws.backend.register_arrow("_in", table)
            if ws.backend.table_exists(name):
                ws.backend.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _in")
            else:
                ws.backend.execute(f"CREATE TABLE {name} AS SELECT * FROM _in")
            ws.backend.unregister("_in")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--exchanges", type=int, default=1_000_000)
    parser.add_argument("--method", choices=("leiden", "components"), default="leiden")
    args = parser.parse_args()

    import shutil

    from distillguard.linkage import LinkageConfig, build_linkage
    from distillguard.workspace import Workspace

    OUT.mkdir(exist_ok=True)
    source = OUT / f"linkage-{args.accounts}-{args.exchanges}.duckdb"
    if not source.exists():
        started = time.perf_counter()
        build_workspace(source, args.accounts, args.exchanges)
        print(f"generated {source} in {time.perf_counter() - started:.0f}s")
    work = OUT / "linkage-run.duckdb"
    shutil.copy(source, work)
    with Workspace.open(work) as ws:
        print(f"workspace: {ws.count('accounts'):,} accounts, {ws.count('exchanges'):,} exchanges")
        started = time.perf_counter()
        stats = build_linkage(ws, LinkageConfig(method=args.method))
        total = time.perf_counter() - started
        print(f"\n{'stage':14}{'seconds':>9}")
        for stage, seconds in stats.seconds.items():
            print(f"{stage:14}{seconds:9.2f}")
        print(f"{'total':14}{total:9.2f}   peak RSS "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024:.2f} GB\n")
        print(f"indicators {stats.indicators:,} (hubs {stats.hub_indicators}), candidate pairs "
              f"{stats.candidate_pairs:,}, co-active pairs {stats.coactive_pairs:,}, round-robin pairs "
              f"{stats.roundrobin_pairs:,}, links {stats.links:,}, clusters {stats.clusters:,} "
              f"({stats.clustered_accounts:,} accounts, {stats.method})")
        for block in stats.dense_blocks:
            print(f"dense block {block}")
        rows = ws.sql("""
            SELECT regexp_extract(a.archetype, '^[a-z]+') AS archetype, count(*) AS accounts,
                   avg((c.cluster_id IS NOT NULL)::INT) AS clustered, count(DISTINCT c.cluster_id) AS clusters,
                   avg(k.sync_share) AS sync_share, avg(k.dense_block_share) AS dense_share
            FROM archetypes a LEFT JOIN account_clusters c USING (account_id) LEFT JOIN clusters k USING (cluster_id)
            GROUP BY 1 ORDER BY 1""").to_pylist()
        print(f"\n{'archetype':12}{'accounts':>9}{'clustered':>10}{'clusters':>9}{'sync':>7}{'dense':>7}")
        for r in rows:
            print(f"{r['archetype']:12}{r['accounts']:9,}{r['clustered']:10.2f}{r['clusters']:9,}"
                  f"{r['sync_share'] or 0:7.2f}{r['dense_share'] or 0:7.2f}")
    work.unlink()


if __name__ == "__main__":
    main()
