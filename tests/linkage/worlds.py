"""Hand-built worlds for the linkage tests: each trap and each campaign shape as a few dozen accounts."""

from __future__ import annotations

import ipaddress
import random
from datetime import datetime, timedelta, timezone

import pyarrow as pa

from distillguard.workspace import Workspace

T0 = datetime(2026, 2, 2, tzinfo=timezone.utc)  # the log's first day (a Monday)
UAS = ("OpenAI/Python 1.55.0", "OpenAI/Python 1.58.1", "OpenAI/JS 4.77.0", "Mozilla/5.0 (Macintosh)",
       "Mozilla/5.0 (iPhone)", "curl/8.5.0")


class World:
    def __init__(self, seed: int = 0, days: int = 7):
        self.r = random.Random(seed)
        self.days = days
        self.accounts: list[dict] = []
        self.exchanges: list[dict] = []
        self.templates: list[dict] = []
        self.intel: dict[str, dict] = {}
        self.generic: dict[int, bool] = {}
        self._ips = 0

    # --- primitives
    def ip(self, address: str, kind: str, asn: int | None = None) -> str:
        prefix = str(ipaddress.ip_network(f"{address}/24", strict=False))
        self.intel[address] = {"ip": address, "is_valid": True, "kind": kind, "provider": None, "asn": asn,
                               "as_org": None, "prefix": prefix}
        return address

    def home_ip(self) -> str:
        """A residential address of its own (one per call, each in a /24 of its own)."""
        self._ips += 1
        return self.ip(f"73.{self._ips // 250}.{self._ips % 250}.7", "residential", 7922)

    def account(self, account_id: str, created: datetime, *, card: str | None = None, signup_ip: str | None = None,
                mail: str = "gmail.com", org: str | None = None) -> str:
        self.accounts.append({"account_id": account_id, "created_at": created,
                              "payment_fingerprint": card or f"pf_{account_id}",
                              "signup_ip": signup_ip or self.home_ip(), "email_domain": mail, "org_id": org})
        return account_id

    def request(self, account_id: str, ts: datetime, ip: str, *, ua: str = UAS[0], model: str = "frontier-large",
                family: int | None = None) -> None:
        rid = f"req-{len(self.exchanges)}"
        self.exchanges.append({"request_id": rid, "ts": ts, "account_id": account_id, "client_ip": ip,
                               "user_agent": ua, "model": model})
        if family is not None:
            self.templates.append({"request_id": rid, "family_id": family})
            self.generic.setdefault(family, False)

    def human(self, account_id: str, ip: str, *, ua: str, hours=(8, 23), weekdays_only: bool = False,
              p_day: float = 0.7, family: int | None = None) -> None:
        """A person: on some days one session at a random hour, a few requests minutes apart."""
        r = self.r
        for day in range(self.days):
            start = T0 + timedelta(days=day)
            if r.random() > p_day or (weekdays_only and start.weekday() >= 5):
                continue
            ts = start + timedelta(hours=r.uniform(*hours))
            for _ in range(r.randint(1, 6)):
                self.request(account_id, ts, ip, ua=ua, family=family)
                ts += timedelta(seconds=r.uniform(40, 600))

    # --- scenarios: each returns its account ids
    def cgnat(self, n: int = 30) -> list[str]:
        """Unrelated people behind one mobile carrier's CGNAT address."""
        ip = self.ip("37.120.5.9", "mobile", 12345)
        ids = []
        for i in range(n):
            a = self.account(f"cg{i:03d}", T0 - timedelta(days=self.r.uniform(5, 400)),
                             mail=self.r.choice(("gmail.com", "outlook.com", "icloud.com")))
            self.human(a, ip, ua=self.r.choice(UAS), family=10_000 + i)
            ids.append(a)
        return ids

    def enterprise(self, n: int = 20) -> list[str]:
        """One company: many accounts on one card and one org, office IPs, office hours, varied work."""
        office = [self.ip(f"81.2.69.{h}", "business", 2856) for h in (10, 11)]
        ids = []
        for i in range(n):
            a = self.account(f"ent{i:03d}", T0 - timedelta(days=self.r.uniform(10, 300)), card="pf_acme",
                             org="org_acme", mail="acme-corp.com", signup_ip=office[0])
            self.human(a, self.r.choice(office), ua=self.r.choice(UAS), hours=(9, 17), weekdays_only=True,
                       p_day=0.9, family=20_000 + i)
            ids.append(a)
        return ids

    def hydra(self, n: int = 40) -> list[str]:
        """A distillation cluster: hosting IPs in rotation, a load balancer dealing requests to its accounts
        in turn, three harvest templates, accounts made in two bursts from hosting sign-up addresses."""
        pool = [self.ip(f"45.77.{10 + k % 2}.{20 + k}", "hosting", 20473) for k in range(12)]
        signup = [self.ip(f"45.77.12.{k}", "hosting", 20473) for k in (5, 6)]
        ids = []
        for i in range(n):
            created = T0 - timedelta(days=3 - i // 20, minutes=i % 20)
            ids.append(self.account(f"hy{i:03d}", created, card=f"pf_hy{i // 5}", signup_ip=signup[i // 20],
                                    mail="proton.me"))
        k = 0
        for day in (1, 2):
            ts = T0 + timedelta(days=day, hours=2)
            end = ts + timedelta(hours=6)
            while ts < end:
                self.request(ids[k % n], ts, pool[k % len(pool)], ua="python-httpx/0.27.0",
                             family=101 + k % 3)
                k += 1
                ts += timedelta(seconds=self.r.uniform(15, 25))
        return ids

    def exit_users(self, n: int = 40, kind: str = "vpn") -> list[str]:
        """Strangers on one anonymiser (or, with kind="proxy", one rented proxy pool): each rotates through six
        of its twelve exits, which lie in four /24s of three hosts' ASNs. The first three use the same six."""
        pool = [self.ip(f"185.159.{156 + k % 4}.{10 + k}", kind, (9009, 212238, 174)[k % 3]) for k in range(12)]
        ids = []
        for i in range(n):
            a = self.account(f"vp{i:03d}", T0 - timedelta(days=self.r.uniform(5, 400)),
                             mail=self.r.choice(("gmail.com", "proton.me", "outlook.com")))
            ua = self.r.choice(UAS)
            for ip in pool[:6] if i < 3 else self.r.sample(pool, 6):
                ts = T0 + timedelta(days=self.r.uniform(0, self.days))
                for _ in range(self.r.randint(1, 4)):
                    self.request(a, ts, ip, ua=ua, family=30_000 + i)
                    ts += timedelta(seconds=self.r.uniform(40, 600))
            ids.append(a)
        return ids

    def low_and_slow(self, n: int = 5) -> list[str]:
        """A few quiet accounts with nothing in common but two harvest templates."""
        ids = []
        for i in range(n):
            a = self.account(f"ls{i:03d}", T0 - timedelta(days=self.r.uniform(20, 200)))
            ip, ua = self.home_ip(), self.r.choice(UAS)
            for day in range(self.days):
                ts = T0 + timedelta(days=day, hours=self.r.uniform(0, 23))
                self.request(a, ts, ip, ua=ua, family=201 + day % 2)
            ids.append(a)
        return ids

    def university_class(self, n: int = 30) -> list[str]:
        """Students: one campus IP, accounts made in one class hour, homework prompts of one generic
        family, a single lab session together and homework at scattered times."""
        campus = self.ip("128.32.10.5", "education", 25)
        self.generic[301] = True
        ids = []
        for i in range(n):
            a = self.account(f"st{i:03d}", T0 - timedelta(days=2, hours=-10, minutes=-i), signup_ip=campus,
                             mail=self.r.choice(("gmail.com", "outlook.com")))
            ua = self.r.choice(UAS)
            lab = T0 + timedelta(days=1, hours=10, minutes=self.r.uniform(0, 10))
            for _ in range(self.r.randint(4, 8)):
                self.request(a, lab, campus, ua=ua, family=301)
                lab += timedelta(minutes=self.r.uniform(3, 7))
            self.human(a, campus, ua=ua, hours=(14, 23), family=301)
            ids.append(a)
        return ids

    def background(self, n: int = 50) -> list[str]:
        ids = []
        for i in range(n):
            a = self.account(f"bg{i:03d}", T0 - timedelta(days=self.r.uniform(5, 700)),
                             mail=self.r.choice(("gmail.com", "yahoo.com", f"site{i}.io")))
            self.human(a, self.home_ip(), ua=self.r.choice(UAS))
            ids.append(a)
        return ids

    # --- into a workspace
    def write(self, ws: Workspace) -> Workspace:
        def put(table: str, rows: list[dict], schema: pa.Schema) -> None:
            ws.backend.register_arrow("_rows", pa.Table.from_pylist(rows, schema=schema))
            ws.backend.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")
            ws.backend.unregister("_rows")

        ts = pa.timestamp("us", tz="UTC")
        put("accounts", self.accounts, pa.schema([
            ("account_id", pa.string()), ("created_at", ts), ("payment_fingerprint", pa.string()),
            ("signup_ip", pa.string()), ("email_domain", pa.string()), ("org_id", pa.string())]))
        put("exchanges", self.exchanges, pa.schema([
            ("request_id", pa.string()), ("ts", ts), ("account_id", pa.string()), ("client_ip", pa.string()),
            ("user_agent", pa.string()), ("model", pa.string())]))
        ws.backend.execute("""CREATE TABLE ip_intel (ip VARCHAR, is_valid BOOLEAN, kind VARCHAR, provider VARCHAR,
                              asn BIGINT, as_org VARCHAR, prefix VARCHAR)""")
        put("ip_intel", list(self.intel.values()), pa.schema([
            ("ip", pa.string()), ("is_valid", pa.bool_()), ("kind", pa.string()), ("provider", pa.string()),
            ("asn", pa.int64()), ("as_org", pa.string()), ("prefix", pa.string())]))
        ws.backend.execute("CREATE TABLE exchange_templates (request_id VARCHAR, family_id BIGINT)")
        put("exchange_templates", self.templates, pa.schema([("request_id", pa.string()), ("family_id", pa.int64())]))
        ws.backend.execute("""CREATE TABLE template_families (family_id BIGINT, exchanges BIGINT, accounts BIGINT,
                              generic BOOLEAN)""")
        put("template_families", [{"family_id": f, "generic": g} for f, g in self.generic.items()],
            pa.schema([("family_id", pa.int64()), ("generic", pa.bool_())]))
        ws.backend.execute("""UPDATE template_families f SET exchanges = s.exchanges, accounts = s.accounts
                              FROM (SELECT family_id, count(*) AS exchanges, count(DISTINCT account_id) AS accounts
                                    FROM exchange_templates JOIN exchanges USING (request_id) GROUP BY ALL) s
                              WHERE s.family_id = f.family_id""")
        return ws

