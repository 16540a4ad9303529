"""A dependency-free SVG line chart with error bars (run comparisons, few-shot curves); compare's scatter is
matplotlib's (report/plots.py)."""

from __future__ import annotations

from xml.sax.saxutils import escape

PALETTE = ("#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00")


def curves_svg(series: list[tuple[str, list[tuple[float | None, float | None]]]], x_ticks: list[str],
               x_label: str, y_label: str, title: str) -> str:
    """One line per series over evenly spaced categories ``x_ticks``; each point (mean, std) with an error bar.

    A missing point (None) breaks nothing: the line joins the points that exist.
    """
    width, height, left, right, top, bottom = 720, 420, 70, 190, 40, 50
    ys = [v for _, points in series for m, s in points if m is not None for v in (m - (s or 0), m + (s or 0))]
    y0, y1 = (min(ys), max(ys)) if ys else (0.0, 1.0)
    pad = (y1 - y0) * 0.08 or 0.05
    y0, y1 = max(0.0, y0 - pad), min(1.0, y1 + pad) if y1 <= 1 else y1 + pad
    step = (width - left - right) / max(len(x_ticks) - 1, 1)

    def px(i: int) -> float:
        return left + i * step if len(x_ticks) > 1 else (left + width - right) / 2

    def py(v: float) -> float:
        return height - bottom - (v - y0) / ((y1 - y0) or 1) * (height - top - bottom)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           'font-size="12">', '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{(width - right + left) / 2}" y="22" text-anchor="middle" font-size="14">{escape(title)}</text>',
           f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>']
    for i, tick in enumerate(x_ticks):
        out.append(f'<text x="{px(i):.1f}" y="{height - bottom + 16}" text-anchor="middle">{escape(tick)}</text>')
    for i in range(5):
        v = y0 + (y1 - y0) * i / 4
        out.append(f'<text x="{left - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    middle = (width - right + left) / 2
    out.append(f'<text x="{middle}" y="{height - 12}" text-anchor="middle">{escape(x_label)}</text>')
    out.append(f'<text x="16" y="{height / 2}" text-anchor="middle" transform="rotate(-90 16 {height / 2})">'
               f'{escape(y_label)}</text>')
    for n, (name, points) in enumerate(series):
        color = PALETTE[n % len(PALETTE)]
        drawn = [(px(i), py(m), s) for i, (m, s) in enumerate(points) if m is not None]
        if len(drawn) > 1:
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="'
                       + " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in drawn) + '"/>')
        for (i, (m, s)) in [(i, p) for i, p in enumerate(points) if p[0] is not None]:
            if s:
                out.append(f'<line x1="{px(i):.1f}" y1="{py(m - s):.1f}" x2="{px(i):.1f}" y2="{py(m + s):.1f}" '
                           f'stroke="{color}"/>')
            out.append(f'<circle cx="{px(i):.1f}" cy="{py(m):.1f}" r="4" fill="{color}"/>')
        out.append(f'<rect x="{width - right + 14}" y="{top + 18 * n}" width="12" height="12" fill="{color}"/>')
        out.append(f'<text x="{width - right + 32}" y="{top + 18 * n + 10}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
