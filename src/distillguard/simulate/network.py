"""Realistic client IPs: cloud, datacenter, VPN, residential, mobile and campus ranges.

Ranges come from the shared IP data (cloud CIDR lists, VPN lists, ASN rows of named ISPs,
carriers and universities). Without it, a small table of well-known allocations stands in.
All draws use the caller's seeded RNG, so addresses are deterministic.
"""

from __future__ import annotations

import csv
import functools
import gzip
import random
import socket
from dataclasses import dataclass
from pathlib import Path

CLOUDS = ("amazon", "google", "microsoft", "digitalocean", "linode", "vultr", "oracle")
# ASN organisation names (exactly as in the ASN file) of consumer ISPs, per billing country.
ISPS = {
    "US": ("Comcast Cable Communications, LLC", "Charter Communications Inc", "Cox Communications Inc.",
           "CenturyLink Communications, LLC", "Frontier Communications of America, Inc."),
    "GB": ("British Telecommunications PLC", "Virgin Media Limited", "Sky UK Limited",
           "TalkTalk Communications Limited"),
    "DE": ("Deutsche Telekom AG", "Vodafone GmbH", "1&1 Versatel GmbH"),
    "FR": ("Orange S.A.", "Free SAS", "Societe Francaise Du Radiotelephone - SFR SA"),
    "IN": ("Bharti Airtel Limited", "Bharat Sanchar Nigam Ltd"),
    "JP": ("NTT Communications Corporation", "KDDI CORPORATION"),
    "BR": ("TELEFONICA BRASIL S.A", "Claro NXT Telecomunicacoes Ltda"),
    "CA": ("Rogers Communications Canada Inc.", "Bell Canada", "TELUS Communications Inc.", "Shaw Communications"),
    "AU": ("Telstra Limited", "TPG Internet Pty Ltd"),
    "KR": ("Korea Telecom", "SK Broadband Co Ltd"),
    "ES": ("TELEFONICA DE ESPANA S.A.U.",),
    "NL": ("KPN B.V.",),
    "SG": ("Starhub Ltd.", "Singapore Telecommunications (SINGTEL Internet Exchange)"),
    "PL": ("Orange Polska Spolka Akcyjna", "Netia SA"),
}
CARRIERS = {
    "US": ("T-Mobile USA, Inc.",), "DE": ("Telefonica Germany GmbH & Co.OHG",), "FR": ("Bouygues Telecom SA",),
    "IN": ("Reliance Jio Infocomm Limited", "Vodafone Idea Ltd. (VIL)"), "JP": ("NTT DOCOMO, INC.", "SoftBank Corp."),
    "BR": ("TIM S/A", "CLARO S.A."), "KR": ("SK Telecom",), "AU": ("SingTel Optus Pty Ltd",),
    "ES": ("VODAFONE ESPANA S.A.U.",),
    "PL": ("T-Mobile Polska S.A.",), "GB": ("Vodafone Limited",), "SG": ("Starhub Internet Pte Ltd",),
}
CAMPUSES = {
    "The University of Arizona": "US", "Purdue University": "US", "University of California at Berkeley": "US",
    "Indiana University": "US", "University of Virginia": "US", "University of Toronto": "CA",
    "University of British Columbia": "CA", "Universitaet Stuttgart": "DE", "Kangwon National University": "KR",
}
BUSINESS = ("Verizon Business", "AT&T Enterprises, LLC", "Deutsche Telekom Global Business Solutions GmbH")
# Well-known allocations used only when the shared data is absent (approximate, public knowledge).
FALLBACK = {
    "cloud": ("3.0.0.0/9", "34.64.0.0/10", "20.32.0.0/11", "104.131.0.0/16", "45.32.0.0/16", "139.162.0.0/16"),
    "datacenter": ("5.9.0.0/16", "51.15.0.0/16", "94.130.0.0/16", "198.51.100.0/24"),
    "vpn": ("185.159.156.0/22", "146.70.0.0/16", "203.0.113.0/24"),
    "residential": ("73.0.0.0/8", "24.0.0.0/12", "86.128.0.0/10", "79.192.0.0/10", "90.0.0.0/9"),
    "mobile": ("172.32.0.0/11", "100.128.0.0/10"),
    "campus": ("128.32.0.0/16", "171.64.0.0/14", "192.0.2.0/24"),
    "business": ("198.18.0.0/15",),
}
# Common consumer IPv6 blocks (US, DE) for residential and mobile clients.
V6_PREFIX = {"residential": ("2601:0:", "2a02:8108:"), "mobile": ("2607:fb90:", "2a01:598:")}
V6_SHARE = 0.12


@dataclass(frozen=True)
class Ranges:
    by_kind: dict[str, tuple[tuple[int, int], ...]]  # kind -> (first address, size); kinds like "residential:US"


def _int(ip: str) -> int:
    return int.from_bytes(socket.inet_aton(ip), "big")


def _cidrs(lines) -> list[tuple[int, int]]:
    """IPv4 CIDR lines -> (first address, size); parsed by hand because there are ~60k of them."""
    out = []
    for line in lines:
        net, _, bits = line.strip().partition("/")
        if net and not net.startswith("#") and ":" not in net and int(bits or 32) <= 30:
            size = 1 << (32 - int(bits or 32))
            out.append((_int(net) & ~(size - 1), size))
    return out


@functools.lru_cache(maxsize=4)
def load_ranges(data_dir: str | None) -> Ranges:
    kinds: dict[str, list[tuple[int, int]]] = {}
    ipd = Path(data_dir, "ip") if data_dir else None
    if ipd is None or not ipd.is_dir():
        for kind, nets in FALLBACK.items():
            kinds[kind] = _cidrs(nets)
        for cc in ISPS:
            kinds[f"residential:{cc}"] = kinds["residential"]
            kinds[f"mobile:{cc}"] = kinds["mobile"]
        return Ranges({k: tuple(v) for k, v in kinds.items()})
    for cloud in CLOUDS:
        kinds[f"cloud:{cloud}"] = _cidrs((ipd / "lord-alfred_ipranges" / cloud / "ipv4_merged.txt").read_text().split())
    kinds["datacenter"] = _cidrs((ipd / "x4bnet_lists_vpn/datacenter_ipv4.txt").read_text().splitlines())
    kinds["vpn"] = _cidrs((ipd / "x4bnet_lists_vpn/vpn_ipv4.txt").read_text().splitlines()) + _cidrs(
        (ipd / "lord-alfred_ipranges/protonvpn/ipv4_merged.txt").read_text().splitlines())
    wanted: dict[str, list[str]] = {}
    for cc, orgs in ISPS.items():
        for o in orgs:
            wanted.setdefault(o, []).append(f"residential:{cc}")
    for cc, orgs in CARRIERS.items():
        for o in orgs:
            wanted.setdefault(o, []).append(f"mobile:{cc}")
    for o, cc in CAMPUSES.items():
        wanted.setdefault(o, []).append(f"campus:{o}")
    for o in BUSINESS:
        wanted.setdefault(o, []).append("business")
    with gzip.open(ipd / "ip-location-db_asn/asn-ipv4.csv.gz", "rt", encoding="utf-8") as f:
        for row in csv.reader(f):
            targets = wanted.get(row[3])
            if targets:
                a, b = _int(row[0]), _int(row[1])
                for t in targets:
                    kinds.setdefault(t, []).append((a, b - a + 1))
    return Ranges({k: tuple(v) for k, v in kinds.items()})


class Network:
    """Draws addresses of a kind; `pool` makes small shared sets (NAT egress, proxy exits)."""

    def __init__(self, rng: random.Random, data_dir: str | None):
        self.rng = rng
        self.ranges = load_ranges(data_dir).by_kind
        self.campuses = [k for k in self.ranges if k.startswith("campus:")] or ["campus"]
        self.countries = sorted(cc for cc in ISPS if f"residential:{cc}" in self.ranges)

    def _v4(self, kind: str) -> str:
        ranges = self.ranges.get(kind) or self.ranges.get(kind.split(":")[0]) or self.ranges["datacenter"]
        start, size = ranges[self.rng.randrange(len(ranges))]
        off = self.rng.randrange(1, size - 1) if size > 2 else 0
        return socket.inet_ntoa((start + off).to_bytes(4, "big"))

    def ip(self, kind: str, country: str = "US") -> str:
        """kind: cloud[:name], datacenter, vpn, residential, mobile, campus[:org], business."""
        r = self.rng
        if kind == "cloud":
            kind = f"cloud:{r.choice(CLOUDS)}"
        elif kind in ("residential", "mobile"):
            if country in ("US", "DE") and r.random() < V6_SHARE:
                # Each prefix holds two groups; six random groups complete the address.
                return V6_PREFIX[kind][country == "DE"] + ":".join(f"{r.getrandbits(16):x}" for _ in range(6))
            kind = f"{kind}:{country if f'{kind}:{country}' in self.ranges else r.choice(self.countries)}"
        elif kind == "campus":
            kind = self.campus()
        return self._v4(kind)

    def pool(self, kind: str, n: int, country: str = "US") -> list[str]:
        return [self.ip(kind, country) for _ in range(n)]

    def campus(self) -> str:
        """A campus range kind; pass it back to `ip` to stay on that campus."""
        return self.rng.choice(self.campuses)

    @staticmethod
    def campus_country(kind: str) -> str:
        return CAMPUSES.get(kind.removeprefix("campus:"), "US")
