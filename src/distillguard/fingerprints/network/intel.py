"""What kind of network an IP address comes from, for many addresses at once.

Sources:

* non-global address blocks (``private``);
* the per-provider range lists of the shared data folder (named clouds, bots, VPNs, relays);
* the X4BNet VPN and datacenter lists;
* ``iporigin``'s bundled offline ranges (clouds, CDNs, bots, some VPNs, Tor exits, and IPv6), always
  consulted, and the only source besides the private blocks when there is no shared data folder;
* the AS organisation name from the ASN file, read by the heuristic ``rules.ORG_RULES`` - the only
  source of ``residential``, ``mobile``, ``education`` and ``business``, and a guess.

An address gets the strongest kind any source gives it (``rules.KINDS`` lists them strongest first), and
the provider named by the shared lists, else by ``iporigin``. The ASN file and the shared lists cover IPv4
only, so an IPv6 address gets no ASN and is classified by ``iporigin`` alone. ``unknown`` means "in none
of the sources", not "residential".
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import iporigin
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import rules
from .intervals import Intervals, parse_ipv4, parse_ipv4_cidrs
from .sources import DATACENTER_FILE, VPN_FILE, find_shared_data, provider_files, read_asn, read_cidrs

KINDS = rules.KINDS
_CODE = {kind: code for code, kind in enumerate(KINDS)}
_UNKNOWN = _CODE["unknown"]
_KIND_NAMES = pa.array(KINDS, type=pa.string())
_IPV6_PREFIX = 48
_PREFIX_TAIL, _DOT = pa.scalar("0/24"), pa.scalar(".")

SCHEMA = pa.schema(
    [
        ("ip", pa.string()),
        ("is_valid", pa.bool_()),
        ("kind", pa.string()),
        ("provider", pa.string()),
        ("asn", pa.int64()),
        ("as_org", pa.string()),
        ("prefix", pa.string()),
    ]
)


@dataclass(frozen=True, slots=True)
class NetworkInfo:
    """One address's network. ``prefix`` is its /24 (IPv4) or /48 (IPv6), the unit worth grouping by:
    one customer, VPN server or NAT pool usually holds addresses across such a block."""

    ip: str
    is_valid: bool
    kind: str
    provider: str | None
    asn: int | None
    as_org: str | None
    prefix: str | None


@lru_cache(maxsize=None)
def _iporigin_label(provider: str, kind: str) -> tuple[str | None, int]:
    """(provider slug, kind code) for an iporigin answer, in the vocabulary of the shared lists."""
    kind = rules.IPORIGIN_KINDS.get(kind, kind)
    if not provider:
        return None, _CODE.get(kind, _UNKNOWN)
    slug = rules.IPORIGIN_ALIASES.get(provider) or re.sub(r"[^a-z0-9]+", "-", provider.lower()).strip("-")
    return slug, _CODE.get(rules.PROVIDER_KINDS.get(slug, kind), _UNKNOWN)


def _ask_iporigin(addresses: list) -> tuple[np.ndarray, list[str | None]]:
    # iporigin answers one address at a time (about 7 µs each); this loop is the main cost of a lookup.
    codes = np.empty(len(addresses), dtype=np.int64)
    providers: list[str | None] = [None] * len(addresses)
    for i, address in enumerate(addresses):
        origin = iporigin.classify(address)
        providers[i], codes[i] = _iporigin_label(origin.provider, origin.kind)
    return codes, providers


def _ipv4_prefixes(values: np.ndarray) -> pa.Array:
    octets = [pa.array((values >> shift) & 255).cast(pa.string()) for shift in (24, 16, 8)]
    # Arrow scalars, not str: converting str arguments costs this kernel ~0.25 ms per call.
    return pc.binary_join_element_wise(*octets, _PREFIX_TAIL, _DOT)


class NetworkIntel:
    """Address-range tables for bulk IP classification; build one with :meth:`load`."""

    def __init__(
        self,
        data_dir: Path | None,
        asn: Intervals,
        asn_numbers: np.ndarray,
        asn_orgs: np.ndarray,
        org_names: pa.Array,
        named: Intervals,
        providers: list[str],
        generic: Intervals,
    ):
        self.data_dir = data_dir
        self._asn, self._asn_numbers, self._asn_orgs = asn, asn_numbers, asn_orgs
        self._org_names = org_names
        self._org_kinds = _org_kinds(org_names)
        self._named = named
        self._providers = np.array([*providers, None], dtype=object)
        self._provider_kinds = np.array(
            [_CODE[rules.PROVIDER_KINDS.get(name, "hosting")] for name in providers] + [_UNKNOWN]
        )
        self._generic = generic
        self._cached_one = lru_cache(maxsize=65536)(self._classify_one)

    @classmethod
    def load(cls, shared_data: str | os.PathLike | None = None) -> NetworkIntel:
        """Build the tables from the shared data folder (see ``sources.find_shared_data``).

        Without one, only the private blocks and ``iporigin`` are used: no ASN, no org-based kinds.
        Tables are built once per folder and process.
        """
        return _load(find_shared_data(shared_data))

    def classify(self, ip: str) -> NetworkInfo:
        """Classify one address. Never raises on bad input: it comes back with ``is_valid=False``."""
        return self._cached_one(ip)

    def _classify_one(self, ip: str) -> NetworkInfo:
        # Its own path: the Arrow kernels of classify_many cost ~0.5 ms a call, however short the batch.
        try:
            address = ipaddress.ip_address(ip.strip()) if isinstance(ip, str) else None
        except ValueError:
            address = None
        if address is None:
            return NetworkInfo(ip, False, "unknown", None, None, None, None)
        v4 = address if address.version == 4 else address.ipv4_mapped
        if v4 is None:
            (code,), (provider,) = _ask_iporigin([address])
            prefix = ipaddress.ip_network((address, _IPV6_PREFIX), strict=False)
            return NetworkInfo(ip, True, KINDS[code], provider, None, None, str(prefix))
        (code,), (provider,), (row,) = self._lookup_ipv4(np.array([int(v4)], dtype=np.int64))
        asn = int(self._asn_numbers[row]) if row >= 0 else None
        org = self._org_names[int(self._asn_orgs[row])].as_py() if row >= 0 else None
        prefix = ipaddress.ip_network((v4, 24), strict=False)
        return NetworkInfo(ip, True, KINDS[code], provider, asn, org, str(prefix))

    def classify_many(self, ips: Sequence[str | None] | pa.Array | pa.ChunkedArray) -> pa.Table:
        """Classify many addresses; one row per input, in input order, with columns ``SCHEMA``.

        Work is done once per distinct string, so a log's repeated addresses cost one lookup each.
        """
        if isinstance(ips, pa.ChunkedArray):
            ips = ips.combine_chunks()
        column = ips.cast(pa.string()) if isinstance(ips, pa.Array) else pa.array(ips, type=pa.string())
        encoded = pc.dictionary_encode(column, null_encoding="encode")
        distinct = pc.utf8_trim_whitespace(encoded.dictionary)
        rows = encoded.indices.to_numpy(zero_copy_only=False)
        v4_at, v4_values, v6_at, v6 = _split_versions(distinct)

        n = len(distinct)
        valid = np.zeros(n, dtype=bool)
        kind = np.full(n, _UNKNOWN, dtype=np.int64)
        provider = np.full(n, None, dtype=object)
        asn_row = np.full(n, -1, dtype=np.int64)
        prefix = np.full(n, None, dtype=object)

        valid[v4_at] = True
        kind[v4_at], provider[v4_at], asn_row[v4_at] = self._lookup_ipv4(v4_values)
        prefix[v4_at] = _ipv4_prefixes(v4_values).to_numpy(zero_copy_only=False)
        if v6:
            valid[v6_at] = True
            kind[v6_at], provider[v6_at] = _ask_iporigin(v6)
            prefix[v6_at] = [str(ipaddress.ip_network((a, _IPV6_PREFIX), strict=False)) for a in v6]

        has_asn = asn_row >= 0
        asn, org = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        asn[has_asn] = self._asn_numbers[asn_row[has_asn]]
        org[has_asn] = self._asn_orgs[asn_row[has_asn]]
        out = {
            "ip": column,
            "is_valid": valid[rows],
            "kind": _KIND_NAMES.take(kind[rows]),
            "provider": pa.array(provider, type=pa.string()).take(rows),
            "asn": pa.array(asn[rows], mask=~has_asn[rows]),
            "as_org": self._org_names.take(pa.array(org[rows], mask=~has_asn[rows])),
            "prefix": pa.array(prefix, type=pa.string()).take(rows),
        }
        return pa.table(out, schema=SCHEMA)

    def _lookup_ipv4(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(kind code, provider, ASN table row or -1) for integer IPv4 addresses."""
        named = self._named.lookup(values)
        asn_rows = self._asn.lookup(values)
        org_kind = np.full(len(values), _UNKNOWN, dtype=np.int64)
        in_asn = asn_rows >= 0
        org_kind[in_asn] = self._org_kinds[self._asn_orgs[asn_rows[in_asn]]]
        generic = self._generic.lookup(values, missing=_UNKNOWN)
        kind = np.minimum.reduce([generic, self._provider_kinds[named], org_kind])
        provider = self._providers[named]

        # Private addresses are settled; any other may still be a Tor exit or in a range only iporigin knows.
        public = np.flatnonzero(kind != _CODE["private"])
        codes, names = _ask_iporigin([ipaddress.IPv4Address(int(v)) for v in values[public]])
        kind[public] = np.minimum(kind[public], codes)
        # The shared lists name the provider first; iporigin's name fills the gaps.
        unnamed = named[public] < 0
        provider[public[unnamed]] = np.array(names, dtype=object)[unnamed]
        return kind, provider, asn_rows


def _split_versions(distinct: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Positions and integer values of the IPv4 strings, positions and parsed addresses of the IPv6 ones.

    Dotted quads are parsed in bulk; the rest (IPv6, IPv4-mapped IPv6, garbage) is rare enough for the
    standard library. An IPv4-mapped address is looked up as the IPv4 address it carries.
    """
    is_dotted, dotted_values = parse_ipv4(distinct)
    mapped_at, mapped, v6_at, v6 = [], [], [], []
    for at in np.flatnonzero(~is_dotted):
        try:
            address = ipaddress.ip_address(distinct[at].as_py())
        except ValueError:
            continue
        if address.ipv4_mapped is not None:
            mapped_at.append(at)
            mapped.append(int(address.ipv4_mapped))
        else:
            v6_at.append(at)
            v6.append(address)
    v4_at = np.concatenate([np.flatnonzero(is_dotted), np.array(mapped_at, dtype=np.int64)])
    v4_values = np.concatenate([dotted_values, np.array(mapped, dtype=np.int64)])
    return v4_at, v4_values, np.array(v6_at, dtype=np.int64), v6


def _org_kinds(org_names: pa.Array) -> np.ndarray:
    """Kind code per AS organisation name by the first matching ``rules.ORG_RULES`` pattern."""
    codes = np.full(len(org_names), _UNKNOWN, dtype=np.int64)
    open_ = np.ones(len(org_names), dtype=bool)
    for kind, pattern in rules.ORG_RULES:
        hit = pc.match_substring_regex(org_names, pattern, ignore_case=True)
        hit = pc.fill_null(hit, False).to_numpy(zero_copy_only=False) & open_
        codes[hit] = _CODE[kind]
        open_ &= ~hit
    return codes


def _order(*keys: np.ndarray) -> np.ndarray:
    """Indices sorted by the keys, the first key most significant (np.lexsort takes the reverse)."""
    return np.lexsort(keys[::-1])


@lru_cache(maxsize=4)
def _load(root: Path | None) -> NetworkIntel:
    private_starts, private_ends = parse_ipv4_cidrs(pa.array(rules.PRIVATE_IPV4))
    generic = [(private_starts, private_ends, _CODE["private"])]
    if root is None:
        empty = np.empty(0, dtype=np.int64)
        asn, asn_numbers, asn_orgs, org_names = Intervals.empty(), empty, empty, pa.array([], pa.string())
        providers, named = [], Intervals.empty()
    else:
        starts, ends, asn_numbers, asn_orgs, org_names = read_asn(root)
        # On overlapping rows the narrowest range wins, then the later row: the file's ranges come from
        # merged registries, and the more specific announcement is the one that routes the address.
        rows = np.arange(len(starts))
        asn = Intervals.build(starts, ends, rows, _order(ends - starts, -rows))

        files = provider_files(root)
        known = [name for name in rules.PROVIDER_KINDS if name in files]
        providers = known + sorted(set(files) - set(known))
        lists = [read_cidrs(files[name]) for name in providers]
        starts = np.concatenate([s for s, _ in lists] or [np.empty(0, np.int64)])
        ends = np.concatenate([e for _, e in lists] or [np.empty(0, np.int64)])
        ids = np.repeat(np.arange(len(providers)), [len(s) for s, _ in lists]).astype(np.int64)
        kinds = np.array([_CODE[rules.PROVIDER_KINDS.get(p, "hosting")] for p in providers], dtype=np.int64)
        # A declared bot or VPN range inside a cloud's block names the address better than the cloud
        # does; between providers of one kind the narrower range is the more specific claim.
        named = Intervals.build(starts, ends, ids, _order(kinds[ids], ends - starts, ids))

        generic.append((*read_cidrs(root / VPN_FILE), _CODE["vpn"]))
        generic.append((*read_cidrs(root / DATACENTER_FILE), _CODE["hosting"]))

    starts = np.concatenate([s for s, _, _ in generic])
    ends = np.concatenate([e for _, e, _ in generic])
    codes = np.concatenate([np.full(len(s), code) for s, _, code in generic])
    generic_table = Intervals.build(starts, ends, codes, np.argsort(codes, kind="stable"))
    return NetworkIntel(root, asn, asn_numbers, asn_orgs, org_names, named, providers, generic_table)
