"""A dependency-free SVG scatter plot: quality against trainable share, one labelled point per method."""

from __future__ import annotations

import math
from xml.sax.saxutils import escape


def scatter_svg(points: list[tuple[str, float, float]], x_label: str, y_label: str, title: str) -> str:
    """``points`` are (name, x, y); x is drawn on a log scale (trainable % spans orders of magnitude)."""
    width, height, left, right, top, bottom = 640, 400, 70, 20, 40, 50
    xs = [math.log10(max(x, 1e-4)) for _, x, _ in points]
    ys = [y for _, _, y in points]
    x0, x1 = math.floor(min(xs)), math.ceil(max(xs)) if max(xs) > math.floor(min(xs)) else math.floor(min(xs)) + 1
    y0, y1 = min(ys), max(ys)
    pad = (y1 - y0) * 0.1 or 0.05
    y0, y1 = y0 - pad, y1 + pad

    def px(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * (width - left - right)

    def py(v: float) -> float:
        return height - bottom - (v - y0) / (y1 - y0) * (height - top - bottom)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           'font-size="12">', '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14">{escape(title)}</text>',
           f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>']
    for decade in range(x0, x1 + 1):
        out.append(f'<text x="{px(decade)}" y="{height - bottom + 16}" text-anchor="middle">{10.0 ** decade:g}%</text>')
    for i in range(5):
        v = y0 + (y1 - y0) * i / 4
        out.append(f'<text x="{left - 6}" y="{py(v) + 4}" text-anchor="end">{v:.3f}</text>')
    out.append(f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">{escape(x_label)}</text>')
    out.append(f'<text x="16" y="{height / 2}" text-anchor="middle" transform="rotate(-90 16 {height / 2})">'
               f'{escape(y_label)}</text>')
    for (name, _, y), x in zip(points, xs, strict=True):
        out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="5" fill="#3366cc"/>')
        out.append(f'<text x="{px(x) + 8:.1f}" y="{py(y) - 6:.1f}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
