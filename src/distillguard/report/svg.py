"""Inline SVG charts: no scripts, no external resources, every data string escaped."""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape

import numpy as np

MUTED = "#8a99ad"
ACCENT = "#3d5a80"
ALERT = "#b5533c"
WARN = "#c99a3b"


def layout(n: int, edges: list[tuple[int, int, float]], iterations: int = 300) -> np.ndarray:
    """Node positions in [0, 1]²: a circle, relaxed by Fruchterman–Reingold forces when there are edges.

    Written here (a few lines of numpy, deterministic) rather than taken from a graph library,
    so the report needs nothing beyond the project's dependencies."""
    angle = 2 * np.pi * np.arange(n) / max(n, 1)
    pos = np.column_stack([np.cos(angle), np.sin(angle)]) * 0.5
    if n < 3 or not edges:
        return (pos + 0.5) if n > 1 else np.full((n, 2), 0.5)
    pos += np.random.default_rng(0).normal(0, 0.02, pos.shape)  # breaks the circle's symmetry
    a, b, w = (np.array(x) for x in zip(*edges))
    w = w / w.max()
    k = np.sqrt(1.0 / n)
    step = 0.1
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.maximum(np.linalg.norm(delta, axis=2), 1e-3)
        disp = (delta * (k * k / dist**2)[:, :, None]).sum(axis=1)  # every pair repels
        d = pos[a] - pos[b]
        pull = d * (np.linalg.norm(d, axis=1) * w / k)[:, None]  # edges attract, by weight
        np.add.at(disp, a, -pull)
        np.add.at(disp, b, pull)
        disp -= pos * 0.05 * n * k  # a little gravity keeps separate components in view
        length = np.maximum(np.linalg.norm(disp, axis=1), 1e-9)
        pos += disp / length[:, None] * np.minimum(length, step)[:, None]
        step = max(step * 0.985, 0.002)
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    return (pos - lo) / np.maximum(hi - lo, 1e-9)


def account_graph(nodes: list[dict], edges: list[tuple[int, int, float, str]], width: int = 520,
                  height: int = 380) -> str:
    """nodes: {id, exchanges, score}; edges: (i, j, weight, what they share)."""
    if not nodes:
        return '<p class="muted">No accounts listed.</p>'
    pad = 24
    pos = layout(len(nodes), [(i, j, w) for i, j, w, _ in edges])
    xy = [(pad + x * (width - 2 * pad), pad + y * (height - 2 * pad)) for x, y in pos]
    top = max((nd["exchanges"] or 0) for nd in nodes) or 1
    wmax = max((w for *_, w, _ in edges), default=1) or 1
    parts = [f'<svg class="graph" viewBox="0 0 {width} {height}" role="img" aria-label="account graph">']
    for i, j, w, shared in edges:
        (x1, y1), (x2, y2) = xy[i], xy[j]
        parts.append(f'<line class="edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                     f'stroke-width="{0.6 + 2.4 * w / wmax:.2f}"><title>{escape(shared)}</title></line>')
    label = len(nodes) <= 16
    for nd, (x, y) in zip(nodes, xy):
        r = 3.5 + 12 * np.sqrt((nd["exchanges"] or 0) / top)
        score = nd["score"]
        colour = MUTED if score is None or score < 0.5 else WARN if score < 0.8 else ALERT
        tip = f'{nd["id"]}\nscore {_fmt(score)}\nexchanges {nd["exchanges"] if nd["exchanges"] is not None else "?"}'
        parts.append(f'<circle class="node" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour}">'
                     f'<title>{escape(tip)}</title></circle>')
        if label:
            anchor = "start" if x < width / 2 else "end"
            dx = r + 3 if anchor == "start" else -r - 3
            parts.append(f'<text class="nlabel" x="{x + dx:.1f}" y="{y + 3:.1f}" text-anchor="{anchor}">'
                         f'{escape(nd["id"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def timeline(buckets: list[tuple[int, int]], bucket_seconds: int, width: int = 520, height: int = 150) -> str:
    """Bars of exchanges per bucket; buckets: (epoch seconds at the bucket's start, count), zero-filled."""
    if not buckets:
        return '<p class="muted">No exchanges of these accounts in the workspace.</p>'
    left, right, top, bottom = 40, 8, 10, 24
    top_count = max(c for _, c in buckets) or 1
    bw = (width - left - right) / len(buckets)
    unit = "hour" if bucket_seconds == 3600 else "day"
    parts = [f'<svg class="timeline" viewBox="0 0 {width} {height}" role="img" aria-label="exchanges per {unit}">',
             f'<text class="axis" x="{left - 4}" y="{top + 8}" text-anchor="end">{top_count:,}</text>',
             f'<text class="axis" x="{left - 4}" y="{height - bottom}" text-anchor="end">0</text>',
             f'<line class="baseline" x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}"/>']
    plot_h = height - top - bottom
    for i, (t, c) in enumerate(buckets):
        h = plot_h * c / top_count
        tip = f"{_when(t, unit)}: {c:,} exchanges"
        parts.append(f'<rect class="bar" x="{left + i * bw + 0.5:.1f}" y="{height - bottom - h:.1f}" '
                     f'width="{max(bw - 1, 0.8):.1f}" height="{h:.1f}"><title>{escape(tip)}</title></rect>')
    for i in sorted({0, len(buckets) // 2, len(buckets) - 1}):
        x = left + (i + 0.5) * bw
        anchor = "start" if i == 0 else "end" if i == len(buckets) - 1 else "middle"
        parts.append(f'<text class="axis" x="{x:.1f}" y="{height - 8}" text-anchor="{anchor}">'
                     f'{_when(buckets[i][0], unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def span(first: datetime | None, last: datetime | None, lo: datetime | None, hi: datetime | None,
         width: int = 520, height: int = 46) -> str:
    """The campaign's first-to-last-seen span inside the scan's whole window."""
    if not (first and last and lo and hi):
        return '<p class="muted">First and last seen unknown.</p>'
    total = max((hi - lo).total_seconds(), 1)
    x0 = 8 + (width - 16) * (first - lo).total_seconds() / total
    x1 = 8 + (width - 16) * (last - lo).total_seconds() / total
    return (f'<svg class="span" viewBox="0 0 {width} {height}" role="img" aria-label="active span">'
            f'<rect class="window" x="8" y="8" width="{width - 16}" height="12" rx="3"/>'
            f'<rect class="bar" x="{x0:.1f}" y="8" width="{max(x1 - x0, 2):.1f}" height="12" rx="3"/>'
            f'<text class="axis" x="8" y="38">{escape(lo.strftime("%Y-%m-%d %H:%M"))}</text>'
            f'<text class="axis" x="{width - 8}" y="38" text-anchor="end">{escape(hi.strftime("%Y-%m-%d %H:%M"))}'
            f'</text></svg>')


def capability_bars(shares: list[tuple[str, float]], width: int = 520, row: int = 20) -> str:
    if not shares:
        return '<p class="muted">No capability breakdown.</p>'
    label_w, value_w = 150, 48
    height = row * len(shares) + 4
    top = max(s for _, s in shares) or 1
    parts = [f'<svg class="caps" viewBox="0 0 {width} {height}" role="img" aria-label="capabilities">']
    for i, (name, share) in enumerate(shares):
        y = 2 + i * row
        w = (width - label_w - value_w) * share / top
        parts.append(f'<text class="axis" x="{label_w - 6}" y="{y + row * 0.65:.1f}" text-anchor="end">'
                     f'{escape(_clip(name, 24))}<title>{escape(name)}</title></text>'
                     f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row - 7}" rx="2"/>'
                     f'<text class="axis" x="{label_w + w + 5:.1f}" y="{y + row * 0.65:.1f}">{share:.0%}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _when(epoch: int, unit: str) -> str:
    t = datetime.fromtimestamp(epoch, timezone.utc)
    return t.strftime("%m-%d %H:00" if unit == "hour" else "%Y-%m-%d")


def _fmt(x: float | None) -> str:
    return "?" if x is None else f"{x:.2f}"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
