"""Vectorised IPv4 parsing and address-range lookup on sorted numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Same acceptance as the standard library's ipaddress: four decimal octets, no leading zeros.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"^(?:{_OCTET}\.){{3}}{_OCTET}$"
_CIDR = rf"^(?:{_OCTET}\.){{3}}{_OCTET}/(?:3[0-2]|[12]?[0-9])$"
_WEIGHTS = np.array([1 << 24, 1 << 16, 1 << 8, 1], dtype=np.int64)


def parse_ipv4(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Return (mask of the dotted-quad IPv4 strings, their integer values in order)."""
    ok = pc.fill_null(pc.match_substring_regex(strings, _IPV4), False)
    octets = pc.list_flatten(pc.split_pattern(strings.filter(ok), ".")).cast(pa.int64())
    values = octets.to_numpy().reshape(-1, 4) @ _WEIGHTS
    return ok.to_numpy(zero_copy_only=False), values


def parse_ipv4_cidrs(lines: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive (starts, ends) of the IPv4 CIDRs in ``lines``; blank and malformed lines are skipped."""
    lines = pc.utf8_trim_whitespace(lines)
    lines = lines.filter(pc.fill_null(pc.match_substring_regex(lines, _CIDR), False))
    parts = pc.split_pattern(lines, "/")
    _, values = parse_ipv4(pc.list_element(parts, 0))
    host_bits = 32 - pc.list_element(parts, 1).cast(pa.int64()).to_numpy(zero_copy_only=False)
    starts = (values >> host_bits) << host_bits
    return starts, starts + (np.int64(1) << host_bits) - 1


@dataclass(frozen=True)
class Intervals:
    """Disjoint, sorted inclusive address ranges, each carrying an integer payload."""

    starts: np.ndarray
    ends: np.ndarray
    payload: np.ndarray

    @classmethod
    def empty(cls) -> Intervals:
        none = np.empty(0, dtype=np.int64)
        return cls(none, none, none)

    @classmethod
    def build(cls, starts: np.ndarray, ends: np.ndarray, payload: np.ndarray, order: np.ndarray) -> Intervals:
        """Resolve overlapping ranges into disjoint segments.

        ``order`` lists the range indices best first: wherever ranges overlap, each address keeps the
        payload of the best range covering it. Overlaps are rare in the source lists but can nest
        (a provider block inside a datacenter block), so a plain "last start before the address"
        search over the raw ranges would miss the enclosing range after a nested one ends.
        """
        starts = np.asarray(starts, dtype=np.int64)
        ends = np.asarray(ends, dtype=np.int64)
        if len(starts) == 0:
            return cls.empty()
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))

        # Cut the address line at every range boundary; each elementary segment is then either wholly
        # inside or wholly outside any given range.
        bounds = np.sort(np.concatenate([starts, ends + 1]))
        bounds = bounds[np.concatenate([[True], bounds[1:] != bounds[:-1]])]
        first = np.searchsorted(bounds, starts)
        count = np.searchsorted(bounds, ends + 1) - first
        owner = np.repeat(np.arange(len(starts)), count)
        offsets = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
        segment = np.repeat(first, count) + offsets

        # For each covered segment keep the best-ranked owner.
        by = np.lexsort((rank[owner], segment))
        segment, owner = segment[by], owner[by]
        lead = np.ones(len(segment), dtype=bool)
        lead[1:] = segment[1:] != segment[:-1]
        segment, owner = segment[lead], owner[lead]
        return cls(bounds[segment], bounds[segment + 1] - 1, np.asarray(payload)[owner])

    def lookup(self, values: np.ndarray, missing: int = -1) -> np.ndarray:
        """Payload of the range holding each value, or ``missing``."""
        out = np.full(len(values), missing, dtype=np.int64)
        if len(self.starts):
            at = np.searchsorted(self.starts, values, side="right") - 1
            safe = np.maximum(at, 0)
            hit = (at >= 0) & (values <= self.ends[safe])
            out[hit] = self.payload[safe[hit]]
        return out
