"""What every task's ``check-data`` report shares: rare labels, length statistics, the common report lines."""

from __future__ import annotations

from typing import Any

RARE_COUNT = 5  # fewer training examples than this, or
RARE_SHARE = 0.01  # ... than this share of the median label's count, and a label is warned about


def rare_labels(counts: dict[str, int]) -> dict[str, int]:
    """Labels with very few training examples: under RARE_COUNT, or under RARE_SHARE of the median count."""
    if not counts:
        return {}
    ordered = sorted(counts.values())
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    limit = max(RARE_COUNT, RARE_SHARE * median)
    return {label: n for label, n in sorted(counts.items(), key=lambda item: item[1]) if n < limit}


def rare_line(info: dict[str, Any], units: str) -> list[str]:
    """The warning line for ``info["rare_labels"]`` (train only), naming each label and its count."""
    rare = info.get("rare_labels")
    if not rare:
        return []
    return [f"   WARNING {len(rare)} label(s) with very few training {units} (under {RARE_COUNT}, or under "
            f"{RARE_SHARE:.0%} of the median label's count): " + ", ".join(f"{k} {v}" for k, v in rare.items())]


def length_stats(lengths: list[int], max_length: int) -> dict[str, Any]:
    lengths = sorted(lengths)
    return {
        "min": lengths[0],
        "mean": round(sum(lengths) / len(lengths), 1),
        "p95": lengths[int(0.95 * (len(lengths) - 1))],
        "max": lengths[-1],
        "over_window": sum(n > max_length for n in lengths),
        "window": max_length,
    }


def common_lines(info: dict[str, Any], unit: str, over_window: str) -> list[str]:
    """Report lines every task shares: lengths, unseen labels, overlap with train, malformed input."""
    lines = []
    if "subwords" in info:
        s = info["subwords"]
        lines.append(f"   sub-words per {unit}: min {s['min']}, mean {s['mean']}, p95 {s['p95']}, max {s['max']}; "
                     f"{s['over_window']} over the {s['window']}-token window ({over_window})")
    if info.get("unseen_labels"):
        lines.append(f"   ERROR labels not in train: {', '.join(info['unseen_labels'])}")
    if "shared_with_train" in info:
        lines.append(f"   {unit}s also in train: {info['shared_with_train']}")
    lines += [f"   ERROR {problem}" for problem in info["malformed"][:20]]
    if len(info["malformed"]) > 20:
        lines.append(f"   ... and {len(info['malformed']) - 20} more malformed records")
    return lines

