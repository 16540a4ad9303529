"""A robustness result as a Markdown table (flip rate, accuracy change per suite) and its worst examples."""

from __future__ import annotations

from typing import Any


def markdown(record: dict[str, Any], worst: int = 2) -> str:
    metric = record["metric"]
    where = record["split"] or record["data"]
    lines = [f"Robustness on {where} ({record['examples']} examples): answers that flip under each perturbation",
             "", f"| suite | examples changed | flip rate | {metric} before | {metric} after | change |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in record["suites"]:
        if r["flip_rate"] is None:
            lines.append(f"| {r['suite']} | 0 | – | – | – | – |")
            continue
        lines.append(f"| {r['suite']} | {r['examples']} | {100 * r['flip_rate']:.1f}% | {r[f'{metric}_before']:.4f} "
                     f"| {r[f'{metric}_after']:.4f} | {100 * r[f'{metric}_change']:+.1f} pts |")
    groups = [(r["suite"], g, v) for r in record["suites"] for g, v in r["by_group"].items()]
    if groups:
        lines += ["", "By the list a swapped-in name or place came from:", "",
                  "| suite | list | examples | flip rate |", "|---|---|---:|---:|"]
        lines += [f"| {s} | {g} | {v['examples']} | {100 * v['flip_rate']:.1f}% |" for s, g, v in groups]
    for r in record["suites"]:
        for w in r["worst"][:worst]:
            lines += ["", f"{r['suite']}: {w['original']!r} -> {w['perturbed']!r}",
                      f"  answer {w['before']} -> {w['after']}"]
    return "\n".join(lines)
