"""Shared state of one simulation: RNGs, clock, content, network, accounts and the current slice."""

from __future__ import annotations

import calendar
import random
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .config import DISTILL, SimConfig
from .content import Content
from .corpora import Corpus
from .exchange import Builder, Client, pick_client
from .network import Network

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
COUNTRIES = {  # billing country -> (weight among ordinary users, UTC offsets in hours)
    "US": (30, (-5, -6, -8)), "IN": (10, (5.5,)), "GB": (7, (0,)), "DE": (7, (1,)), "FR": (5, (1,)), "JP": (5, (9,)),
    "BR": (6, (-3,)), "CA": (5, (-5, -8)), "AU": (3, (10,)), "KR": (4, (9,)), "ES": (4, (1,)), "NL": (3, (1,)),
    "SG": (3, (8,)), "PL": (3, (1,)),
}
CONSUMER_MAIL = {"gmail.com": 45, "outlook.com": 12, "hotmail.com": 6, "yahoo.com": 7, "icloud.com": 8,
                 "proton.me": 4, "gmx.de": 3, "naver.com": 2, "qq.com": 2, "yandex.com": 1}
SYLLABLES = ("ka", "lo", "mi", "ter", "zen", "ra", "vo", "nex", "tri", "sol", "qua", "bit", "lu", "dan", "or", "fy",
             "pix", "ark")
FIELD_DROP = 0.01  # every optional account field goes missing at this rate, whatever the label


@dataclass
class Account:
    id: str
    archetype: str
    campaign: str
    keys: list[str]
    client: Client
    ip: Callable[[], str]  # where this account's next session comes from
    row: dict
    pref: float = 0.7  # probability of the flagship model over the cheaper one
    state: dict = field(default_factory=dict)  # per-account session state (agent sessions, history)

    @property
    def distill(self) -> bool:
        return self.archetype in DISTILL


class World:
    def __init__(self, cfg: SimConfig, seed: int, days: float, corpus: Corpus, data_dir: str | None):
        self.cfg, self.days = cfg, days
        self.r = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.t0 = calendar.timegm(time.strptime(cfg.start[:19], "%Y-%m-%dT%H:%M:%S")) * 1000
        self.slice_ms = cfg.slice_minutes * 60_000
        self.spd = DAY_MS // self.slice_ms
        self.n_slices = max(1, round(days * self.spd))
        self.weekday0 = time.gmtime(self.t0 // 1000).tm_wday
        release = min(max(cfg.release_day, 0.15 * days), 0.75 * days)  # keep the release inside the window
        self.release = self.t0 + int(release * DAY_MS)
        self.k = Content(corpus, self.r, cfg.wording)
        self.b = Builder(self.r, cfg.error_rate, cfg.content_keep)
        self.net = Network(self.r, data_dir)
        self.profiles: list[np.ndarray] = []
        self._profile_keys: dict[tuple, int] = {}
        self.accounts: list[Account] = []
        self.campaigns: dict[str, str] = {}
        self.batch: list[tuple] = []  # the current slice: (ms, seq, record, is_distill, archetype)
        self._pools: dict[tuple, list[str]] = {}

    # registry helpers ----------------------------------------------------------------
    def profile(self, key: tuple, make: Callable[[], np.ndarray]) -> int:
        """Index of a shared profile; `make` runs only the first time a key is seen."""
        if key not in self._profile_keys:
            arr = np.asarray(make(), dtype=float)  # before indexing: `make` may register profiles itself
            self._profile_keys[key] = len(self.profiles)
            self.profiles.append(arr)
        return self._profile_keys[key]

    def shared_pool(self, key: tuple, make: Callable[[], list[str]]) -> list[str]:
        """Addresses shared by unrelated accounts (carrier NAT, VPN exits, platform egress)."""
        if key not in self._pools:
            self._pools[key] = make()
        return self._pools[key]

    def slice_of(self, ms: int) -> int:
        return min(self.n_slices, max(0, (ms - self.t0) // self.slice_ms))

    def emit(self, ms: int, rec: dict, distill: bool, archetype: str) -> None:
        self.batch.append((ms, len(self.batch), rec, distill, archetype))

    # models ----------------------------------------------------------------------------
    def model(self, ms: int, acct: Account, curve: str = "benign") -> str:
        """Adoption of the new model: campaigns that pivot move within a day, people over days."""
        r, cfg = self.r, self.cfg
        dt = ms - self.release
        if dt > 0:
            p = (cfg.pivot_share * min(1.0, dt / DAY_MS) if curve == "pivot"
                 else cfg.benign_adoption * min(1.0, dt / (5 * DAY_MS)))
            if r.random() < p:
                return cfg.new_model
        return cfg.models[0] if r.random() < acct.pref else cfg.models[-1]

    # identities ------------------------------------------------------------------------
    def country(self) -> tuple[str, float]:
        cc = self.r.choices(list(COUNTRIES), [w for w, _ in COUNTRIES.values()])[0]
        return cc, self.r.choice(COUNTRIES[cc][1])

    def client(self, families: dict[str, float], styles: dict[str, float]) -> Client:
        return pick_client(self.r, families, styles, self.cfg.messages_share)

    def org_for(self, kind: str) -> str | None:
        """Whether a (claimed) account type comes with an org: the same odds for every archetype."""
        p = {"enterprise": 1.0, "reseller": 1.0, "startup": 0.8, "research": 0.7, "education": 0.6}.get(kind, 0.05)
        return self.org() if self.r.random() < p else None

    def domain(self) -> str:
        r = self.r
        name = "".join(r.choice(SYLLABLES) for _ in range(r.randint(2, 3)))
        return f"{name}.{r.choice(('com', 'io', 'ai', 'co', 'dev', 'tech', 'net'))}"

    def edu(self) -> str:
        """A school's mail domain, in the forms real ones take."""
        name = self.domain().split(".")[0]
        return self.r.choice((f"{name}.edu", f"stu.{name}.edu", f"mail.{name}.edu", f"{name}.ac.uk"))

    def mail(self) -> str:
        return self.r.choices(list(CONSUMER_MAIL), list(CONSUMER_MAIL.values()))[0]

    def card(self) -> str:
        return self.b.ident("pf_", 80)

    def org(self) -> str:
        return self.b.ident("org_", 48)

    def campaign(self, archetype: str) -> str:
        cid = self.b.ident("camp-", 32)
        self.campaigns[cid] = archetype
        return cid

    def account(self, archetype: str, *, kind: str, created: int, country: str, mail: str, card: str,
                signup_ip: str, verified: float, org: str | None, client: Client, ip: Callable[[], str],
                campaign: str = "", keys: int = 1, pref: float = 0.7) -> Account:
        r = self.r
        row = {"account_id": self.b.ident("acct_"), "created_at": self.b.timestamp(created), "account_type": kind,
               "email_domain": mail, "payment_fingerprint": card, "signup_ip": signup_ip, "country": country,
               "verified": r.random() < verified}
        if org:
            row["org_id"] = org
        for f in ("email_domain", "payment_fingerprint", "signup_ip", "country"):
            if r.random() < FIELD_DROP:
                del row[f]
        acct = Account(row["account_id"], archetype, campaign, [self.b.ident("key_") for _ in range(keys)],
                       client, ip, row, pref)
        self.accounts.append(acct)
        return acct

    def before(self, days_lo: float, days_hi: float) -> int:
        """A sign-up time between days_hi and days_lo days before the window opens."""
        return self.t0 - int(self.r.uniform(days_lo, days_hi) * DAY_MS)
