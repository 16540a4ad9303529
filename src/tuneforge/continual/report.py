"""The plan's report: report.json (per strategy: R, average, transfer), report.md (tables) and a heat map of R
per strategy (``R-<strategy>.svg``), written whole each time a strategy finishes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuneforge.util.atomic import write_json, write_text


def write_report(folder: Path, report: dict[str, Any]) -> None:
    from tuneforge.report.plots import stage_matrix_heatmap

    write_json(folder / "report.json", report)
    for name, result in report["strategies"].items():
        write_text(folder / f"R-{name}.svg", stage_matrix_heatmap(report["stages"], result["R"], name))
    write_text(folder / "report.md", markdown(report))


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def markdown(report: dict[str, Any]) -> str:
    stages, metric = report["stages"], report["metric"]
    lines = [f"# Continual plan {report['plan']}", "",
             f"{len(stages)} stages: {', '.join(stages)}. Scores: {metric} on each stage's test set.", "",
             "| strategy | average (after the last stage) | backward transfer | forgetting | forward transfer | "
             "train seconds |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in report["strategies"].items():
        lines.append(f"| {name} | {_num(r['average'])} | {_num(r['backward_transfer'])} | {_num(r['forgetting'])} | "
                     f"{_num(r['forward_transfer'])} | {sum(r['train_seconds']):.0f} |")
    lines += ["", f"Untrained model (b, for forward transfer): {' '.join(f'{b:.4f}' for b in report['untrained'])}", ""]
    for name, r in report["strategies"].items():
        lines += [f"## {name}", "", f"R[i][j]: {metric} on stage j's test (columns) after training stage i (rows).",
                  "", f"![R of {name}](R-{name}.svg)", "",
                  "| after \\ test | " + " | ".join(stages) + " |", "|---|" + "---:|" * len(stages)]
        for stage, row in zip(stages, r["R"], strict=False):
            lines.append(f"| {stage} | " + " | ".join(f"{x:.4f}" for x in row) + " |")
        lines.append("")
    return "\n".join(lines)
