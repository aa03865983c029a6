"""Every weight and threshold of the linkage stage, in one validated place.

An indicator's weight is ``prior(type) * kind_factor(network kind) * max(idf_floor(type), idf(n))``:
``prior`` says how telling the type is, ``kind_factor`` how telling sharing an IP of that network kind is
(few accounts on one hosting address or VPN: telling; a mobile CGNAT pool, a campus or a big cloud NAT: weak),
and ``idf(n) = ln(1 + R/n) / ln(1 + R/2)`` (1 for two accounts, 0.6 for ten, 0.3 for forty, 0.005 for
5,000) how rare it is, against a fixed reference population R, so a small workspace weighs like a big one.
The floor keeps types whose wide sharing is itself anomalous (one card or one non-generic template on
thousands of accounts) from fading like a carrier's NAT.

Exits of consumer anonymisers (``pooled_exit_kinds``: VPN, privacy relay, Tor) are one fact, not one per
address: a service's users rotate through the same exits, so strangers on one VPN share several of its
addresses, /24s and ASNs, and per-address indicators would add up to a strong link. Which service an exit
belongs to is not known (services rent exits from the same hosts, and the network stage names the host),
so an account gets one ``exit`` indicator per such kind it uses (``exit:vpn``) instead of ``ip``,
``prefix`` and ``asn`` rows for those addresses. Its prior is a shared network's, not a shared address's:
two users of a rarely used VPN are no more linked than two homes in one /24. Dedicated or rented proxies
and hosting stay per address: sharing those is evidence.

A pair's link weight sums over evidence *groups*; inside a group its indicators combine by noisy-OR and
the result is capped (``group_cap``), so thirty shared IPs of one hosting range count as strong network
evidence, not thirty times it, and no single kind of evidence can dominate a link.

Override any field with ``LinkageConfig.from_mapping(yaml.safe_load(...))``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

INDICATOR_TYPES = ("ip", "prefix", "asn", "exit", "payment", "signup_ip", "email_domain", "user_agent", "org_id",
                   "template", "created_burst", "sync")
SYNC_KINDS = ("coactive", "roundrobin", "pivot")
NETWORK_KINDS = ("hosting", "vpn", "tor", "proxy", "relay", "residential", "mobile", "education", "business", "cdn",
                 "bot", "private", "unknown")
# Types whose value is (or lives on) an IP network, so the network kind scales their weight.
NETWORK_TYPES = ("ip", "prefix", "asn", "exit", "signup_ip", "created_burst")
METHODS = ("leiden", "components")


def _prior() -> dict[str, float]:
    return {"ip": 0.6, "prefix": 0.25, "asn": 0.1, "exit": 0.25, "payment": 0.8, "signup_ip": 0.5, "email_domain": 0.3,
            "user_agent": 0.1, "org_id": 0.6, "template": 0.9, "created_burst": 0.5,
            # sync is keyed by its detector: a shared round-robin or co-active group is hard to get by
            # chance; a shared pivot window also catches eager early adopters of a release.
            "sync.coactive": 0.9, "sync.roundrobin": 0.9, "sync.pivot": 0.4}


def _kind_factor() -> dict[str, float]:
    return {"hosting": 1.0, "vpn": 0.9, "tor": 0.7, "proxy": 0.9, "relay": 0.15, "residential": 0.6, "mobile": 0.15,
            "education": 0.15, "business": 0.5, "cdn": 0.3, "bot": 0.3, "private": 0.0, "unknown": 0.5}


def _idf_floor() -> dict[str, float]:
    return {"payment": 0.3, "template": 0.3, "sync": 0.2}


def _group() -> dict[str, str]:
    return {"ip": "network", "prefix": "network", "asn": "network", "exit": "network", "signup_ip": "signup",
            "created_burst": "signup", "payment": "payment", "org_id": "org", "email_domain": "email",
            "user_agent": "client", "template": "content", "sync": "sync"}


def _group_cap() -> dict[str, float]:
    return {"network": 0.7, "signup": 0.5, "payment": 0.8, "org": 0.6, "email": 0.3, "client": 0.1,
            "content": 0.9, "sync": 0.9}


@dataclass(frozen=True)
class LinkageConfig:
    # --- indicator weights (see module docstring)
    prior: dict[str, float] = field(default_factory=_prior)
    kind_factor: dict[str, float] = field(default_factory=_kind_factor)
    idf_floor: dict[str, float] = field(default_factory=_idf_floor)
    idf_reference: float = 100.0
    group: dict[str, str] = field(default_factory=_group)
    group_cap: dict[str, float] = field(default_factory=_group_cap)
    email_max_accounts: int = 1000  # a non-free-mail domain on more accounts than this is too common to tell
    pooled_exit_kinds: tuple[str, ...] = ("vpn", "relay", "tor")  # consumer anonymisers (see module docstring)
    burst_window_s: int = 1800  # sign-ups from one signup network in one such window form a burst

    # --- projection (see project.py): indicators lighter than min_seed_weight create no pairs, only add to
    # pairs linked anyway; one on more than hub_k accounts creates hub_fanout sampled cycles, not a clique
    min_seed_weight: float = 0.05
    hub_k: int = 100
    hub_fanout: int = 3
    min_link_weight: float = 0.1  # lighter pairs are not stored (a shared user agent or CGNAT address alone)
    shared_top: int = 4  # evidence groups named in account_links.shared (the heaviest indicator of each)

    # --- synchrony
    sync_partners: int = 30  # the tests read each account's this many most strongly seeded pairs (project.py)
    window_s: int = 300  # co-activity time bucket
    coactive_min_windows: int = 4
    coactive_min_jaccard: float = 0.4
    coactive_min_lift: float = 3.0  # shared windows over those expected for independent accounts
    coactive_min_hours: int = 3  # shared windows spread over this many clock hours: one lab session is not enough
    rr_min_requests: int = 8  # per account inside the pair's common span
    rr_min_balance: float = 0.6  # smaller over larger volume in the common span
    rr_min_z: float = 4.0  # Wald-Wolfowitz runs z: alternation far beyond chance
    rr_min_excess_z: float = 3.0  # ... and far beyond the z of the same pair with one side rotated in time
    rr_null_shift_gaps: tuple[float, ...] = (3.3, 7.7)  # the null moves one side on by this many mean gaps
    rr_min_phase_lock: float = 0.8  # ... or b keeps this fixed a phase in a's cycle (mean resultant length)
    rr_span_s: int = 2 * 86_400  # the test reads at most this much of the pair's common span ...
    rr_max_requests: int = 120  # ... and about this many requests of the busier account (at its mean rate)
    pivot_window_s: int = 1800
    pivot_horizon_s: int = 2 * 86_400  # first use this soon after the model first appears
    pivot_warmup_s: int = 6 * 3600  # a model seen this soon after the log starts is not newly released

    # --- dense blocks (greedy peeling)
    dense_c: float = 5.0  # column weight prior / ln(degree + c)
    dense_max_blocks: int = 5
    dense_min_accounts: int = 3
    dense_min_density: float = 0.8

    # --- clustering
    method: str = "leiden"
    cluster_min_weight: float = 0.3  # links below this are ignored by both methods
    # CPM by default: a community must hold more than `resolution` link weight per pair of its accounts.
    # Link weights are evidence on an absolute scale, and CPM keeps a cluster the same whatever else the
    # workspace holds; modularity ("rb") splits a lone campaign into halves when it is most of the graph.
    leiden_partition: str = "cpm"
    resolution: float = 0.1
    seed: int = 0
    top_links: int = 5  # per account in account_linkage.top_links
    top_indicators: int = 5  # per cluster in clusters.top_indicators

    def __post_init__(self) -> None:
        prior_keys = {t for t in INDICATOR_TYPES if t != "sync"} | {f"sync.{k}" for k in SYNC_KINDS}
        _same_keys("prior", self.prior, prior_keys)
        _same_keys("kind_factor", self.kind_factor, set(NETWORK_KINDS))
        _same_keys("group", self.group, set(INDICATOR_TYPES))
        _same_keys("group_cap", self.group_cap, set(self.group.values()))
        if not all(re.fullmatch(r"[a-z_]+", g) for g in self.group_cap):
            raise ValueError("group names must be lowercase words")  # they become SQL literals
        unknown_kinds = set(self.pooled_exit_kinds) - set(NETWORK_KINDS)
        if unknown_kinds:  # they also become SQL literals
            raise ValueError(f"pooled_exit_kinds: unknown kinds {sorted(unknown_kinds)}")
        if not set(self.idf_floor) <= set(INDICATOR_TYPES):
            raise ValueError(f"idf_floor: unknown types {sorted(set(self.idf_floor) - set(INDICATOR_TYPES))}")
        for name in ("prior", "kind_factor", "idf_floor", "group_cap"):
            for key, value in getattr(self, name).items():
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{name}[{key!r}] = {value} is outside [0, 1]")
        for name in ("min_seed_weight", "coactive_min_jaccard", "rr_min_balance", "rr_min_phase_lock"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")
        if not self.rr_null_shift_gaps or not all(f > 0 for f in self.rr_null_shift_gaps):
            raise ValueError("rr_null_shift_gaps must be positive numbers of gaps")
        for name in ("min_link_weight", "cluster_min_weight", "coactive_min_lift", "rr_min_z", "rr_min_excess_z",
                     "dense_min_density"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("idf_reference", "dense_c", "resolution"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("hub_k", "hub_fanout", "burst_window_s", "window_s", "pivot_window_s", "coactive_min_windows",
                     "coactive_min_hours", "rr_min_requests", "rr_span_s", "rr_max_requests", "sync_partners", "dense_min_accounts", "shared_top",
                     "top_links", "top_indicators", "email_max_accounts"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}")
        if self.leiden_partition not in ("rb", "cpm"):
            raise ValueError("leiden_partition must be 'rb' or 'cpm'")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "LinkageConfig":
        """Defaults overridden by `values`; dict fields are merged key by key, unknown keys rejected."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown linkage settings: {sorted(unknown)}")
        base = cls()
        merged = {k: ({**getattr(base, k), **v} if isinstance(getattr(base, k), dict) else v)
                  for k, v in values.items()}
        return replace(base, **merged)


def _same_keys(name: str, table: Mapping, expected: set) -> None:
    if set(table) != expected:
        raise ValueError(f"{name}: missing {sorted(expected - set(table))}, unknown {sorted(set(table) - expected)}")


@lru_cache(maxsize=1)
def free_mail_domains() -> frozenset[str]:
    """Consumer mail providers: sharing one says nothing about who is behind two accounts."""
    text = resources.files(__package__).joinpath("free_mail.txt").read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))
