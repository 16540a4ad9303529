"""Plots as SVG text, drawn with matplotlib (Agg, no display): for report.html and ``compare``.

Each function returns one ``<svg>`` element to inline in HTML or write as a file. Text stays text
(``svg.fonttype: none``), is never parsed as mathtext (a label with ``$`` is shown as written), and the
figure is cropped to everything drawn (``bbox_inches="tight"``), so no label is clipped.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402 (after choosing the backend)
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

BLUE, RED, GREEN = "#3366cc", "#dc3912", "#109618"
STYLE = {"svg.fonttype": "none", "text.parse_math": False, "font.size": 9, "axes.grid": True,
         "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False}


def _svg(fig: Figure, salt: str) -> str:
    """The figure as one <svg> element (no XML prolog or doctype), ids made unique per plot by ``salt``."""
    out = io.StringIO()
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": salt}):
        fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg"):].strip() + "\n"


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def curves(train: list[dict[str, Any]], dev: list[dict[str, Any]], dev_metric: str | None) -> str:
    """Training loss, the dev metric and the learning rate against step: one panel each (those with data)."""
    panels = [("training loss", [(r["step"], r["loss"]) for r in train if _number(r.get("loss"))], BLUE),
              (f"dev {dev_metric}", [(r["step"], r[dev_metric]) for r in dev if dev_metric
                                     and _number(r.get(dev_metric))], GREEN),
              ("learning rate", [(r["step"], r["lr"]) for r in train if _number(r.get("lr"))], RED)]
    panels = [p for p in panels if p[1]]
    if not panels:
        raise ValueError("metrics.jsonl has no training or dev records to plot")
    with matplotlib.rc_context(STYLE):
        fig = _figure(3.2 * len(panels), 2.6)
        for i, (title, points, color) in enumerate(panels):
            ax = fig.add_subplot(1, len(panels), i + 1)
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, color=color, marker="o" if len(xs) < 30 else None, markersize=3)
            ax.set_title(title)
            ax.set_xlabel("step")
            if title == "learning rate":
                ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
        return _svg(fig, "curves")


def category_curves(series: list[tuple[str, list[tuple[float | None, float | None]]]], x_ticks: list[str],
                    x_label: str, y_label: str, title: str) -> str:
    """One line per series over the categories ``x_ticks`` (run comparisons, learning curves, a study's history);
    each point (mean, std or None) with an error bar. A missing point (mean None) breaks nothing: the line joins
    the points that exist."""
    with matplotlib.rc_context(STYLE):
        fig = _figure(7.2, 4.2)
        ax = fig.add_subplot()
        for name, points in series:
            drawn = [(i, m, s or 0.0) for i, (m, s) in enumerate(points) if m is not None]
            if not drawn:
                continue
            xs, ys, errors = zip(*drawn, strict=True)
            ax.errorbar(xs, ys, yerr=errors if any(errors) else None, marker="o", markersize=4, capsize=3,
                        label=name)
        step = max(1, len(x_ticks) // 12)  # at most a dozen tick labels: they stay readable
        ax.set_xticks(range(0, len(x_ticks), step), x_ticks[::step])
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.set_title(title)
        ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
        return _svg(fig, f"curves-{title}")


def label_bars(labels: list[str], f1: list[float], title: str) -> str:
    """Horizontal F1 bars, one per label, top to bottom in the order given."""
    with matplotlib.rc_context(STYLE):
        fig = _figure(6.0, 0.8 + 0.24 * len(labels))
        ax = fig.add_subplot()
        ax.barh(range(len(labels)), f1, color=BLUE)
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("F1")
        ax.set_title(title)
        for i, value in enumerate(f1):
            ax.text(min(value, 1.0) + 0.01, i, f"{value:.2f}", va="center", fontsize=8)
        return _svg(fig, "label-f1")


def _heatmap(labels: list[str], matrix: list[list[float]], cells: list[list[str]], axes: tuple[str, str], title: str,
             image_args: dict[str, Any], white_text: Callable[[float], bool], size: float, salt: str) -> str:
    """A square matrix as a heat map, each cell's text written in it (white on the dark end of the colour map)."""
    n = len(labels)
    with matplotlib.rc_context(STYLE):
        fig = _figure(size + 1.0, size)
        ax = fig.add_subplot()
        ax.grid(False)
        image = ax.imshow(matrix, **image_args)
        ax.set_xticks(range(n), labels, rotation=60, ha="right", rotation_mode="anchor")
        ax.set_yticks(range(n), labels)
        ax.set_xlabel(axes[0])
        ax.set_ylabel(axes[1])
        ax.set_title(title)
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                if cells[i][j]:
                    ax.text(j, i, cells[i][j], ha="center", va="center", fontsize=7,
                            color="white" if white_text(value) else "black")
        fig.colorbar(image, ax=ax, shrink=0.8)
        return _svg(fig, salt)


def confusion_heatmap(labels: list[str], matrix: list[list[int]], title: str) -> str:
    """Counts of gold (rows) against predicted (columns), the count written in each cell."""
    peak = max((c for row in matrix for c in row), default=0) or 1
    cells = [[str(c) if c else "" for c in row] for row in matrix]
    return _heatmap(labels, matrix, cells, ("predicted", "gold"), title, {"cmap": "Blues", "vmin": 0, "vmax": peak},
                    lambda count: count > peak / 2, max(3.5, 0.38 * len(labels) + 2.0), "confusion")


def stage_matrix_heatmap(stages: list[str], matrix: list[list[float]], title: str) -> str:
    """R[i][j] of a continual plan: the score on stage j's test (columns) after training stage i (rows)."""
    cells = [[f"{v:.2f}" for v in row] for row in matrix]
    return _heatmap(stages, matrix, cells, ("test set of stage", "after training stage"), title,
                    {"cmap": "viridis", "vmin": 0.0, "vmax": 1.0}, lambda score: score < 0.6,
                    max(3.0, 0.55 * len(stages) + 1.8), f"stages-{title}")


def oos_tradeoff(thresholds: list[float], in_scope_accuracy: list[float], oos_recall: list[float],
                 chosen: float | None, title: str) -> str:
    """In-scope accuracy and out-of-scope recall against the out-of-scope threshold, the chosen one marked."""
    with matplotlib.rc_context(STYLE):
        fig = _figure(6.0, 3.4)
        ax = fig.add_subplot()
        marker = "o" if len(thresholds) < 30 else None
        ax.plot(thresholds, in_scope_accuracy, color=BLUE, marker=marker, markersize=3, label="in-scope accuracy")
        ax.plot(thresholds, oos_recall, color=RED, marker=marker, markersize=3, label="out-of-scope recall")
        if chosen is not None:
            ax.axvline(chosen, color=GREEN, linestyle="--", label=f"chosen threshold {chosen:.3f}")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("threshold (top probability below it: out of scope)")
        ax.set_title(title)
        ax.legend(loc="best", fontsize=8)
        return _svg(fig, "oos-tradeoff")


def methods_scatter(points: list[tuple[str, float, float]], x_label: str, y_label: str, title: str) -> str:
    """``points`` are (name, x, y), one labelled point each; x (a share in %) on a log scale from the decade
    below the smallest to the decade above the largest, ticks at decades only."""
    xs = [max(x, 1e-4) for _, x, _ in points]
    low = 10.0 ** math.floor(math.log10(min(xs)))
    high = 10.0 ** math.ceil(math.log10(max(xs)))
    high = high if high > low else low * 10
    with matplotlib.rc_context(STYLE):
        fig = _figure(6.4, 4.0)
        ax = fig.add_subplot()
        ax.scatter(xs, [y for _, _, y in points], color=BLUE, zorder=3)
        for (name, _, y), x in zip(points, xs, strict=True):
            ax.annotate(name, (x, y), xytext=(6, 5), textcoords="offset points", annotation_clip=False)
        ax.set_xscale("log")
        ax.set_xlim(low / 1.5, high * 1.5)
        ax.xaxis.set_major_locator(LogLocator(base=10))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.margins(y=0.15)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.set_title(title)
        return _svg(fig, "methods")


def tick_labels(svg: str, axis: str) -> list[str]:
    """The tick label texts of ``axis`` ("x" or "y") in an SVG these functions drew (for tests and checks)."""
    from xml.etree import ElementTree

    ns = "{http://www.w3.org/2000/svg}"
    root = ElementTree.fromstring(svg)
    return [text.text or "" for group in root.iter(f"{ns}g") if re.fullmatch(rf"{axis}tick_\d+", group.get("id", ""))
            for text in group.iter(f"{ns}text")]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
