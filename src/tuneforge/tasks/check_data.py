"""``check-data`` for tagged sentences (NER): what a split holds and what is wrong with it, before training.

Per split: sentence/word/entity counts, tag distribution, labels not seen in train, sentences shared
between train and dev/test, sub-word lengths and how many exceed the model window (they are split
into overlapping windows, not truncated), malformed lines and BIO repairs.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tuneforge.config.schema import RunConfig
from tuneforge.data.bio import spans
from tuneforge.data.loading import label_set, load_splits


def check_data(cfg: RunConfig, tokenizer=None) -> dict[str, Any]:
    """The task's own check (its registry entry names it)."""
    from tuneforge.tasks import task_spec

    report = task_spec(cfg.task).check_data(cfg, tokenizer)
    # Carving takes test before dev, so a carved dev would come last; show them in the order people think of them.
    order = {name: i for i, name in enumerate(("train", "dev", "test"))}
    report["splits"] = dict(sorted(report["splits"].items(), key=lambda item: order.get(item[0], len(order))))
    return report


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


def check_tagged(cfg: RunConfig, tokenizer=None) -> dict[str, Any]:
    splits = load_splits(cfg.data, strict=False)
    train = splits["train"].examples
    known = set(label_set(train))
    train_keys = {tuple(s.tokens) for s in train}
    report: dict[str, Any] = {"splits": {}, "problems": 0}
    for name, result in splits.items():
        sentences = result.examples
        tags = Counter(t for s in sentences for t in s.tags)
        entities = Counter(kind for s in sentences for kind, _, _ in spans(s.tags))
        info: dict[str, Any] = {
            "sentences": len(sentences),
            "words": sum(len(s.tokens) for s in sentences),
            "entities": dict(sorted(entities.items())),
            "tags": dict(tags.most_common()),
            "malformed": result.problems,
            "bio_repairs": result.bio_repairs,
        }
        if name == "train":
            info["rare_labels"] = rare_labels(entities)
        else:
            info["unseen_labels"] = sorted(set(tags) - known)
            info["shared_with_train"] = sum(tuple(s.tokens) in train_keys for s in sentences)
        if tokenizer is not None and sentences:
            info["subwords"] = _length_stats(tokenizer, [s.tokens for s in sentences], cfg.model.max_length)
        report["problems"] += len(result.problems) + len(info.get("unseen_labels", []))
        report["splits"][name] = info
    return report


def _length_stats(tokenizer, sentences: list[list[str]], max_length: int) -> dict[str, Any]:
    encoded = tokenizer(sentences, is_split_into_words=True, add_special_tokens=True)
    return length_stats([len(ids) for ids in encoded["input_ids"]], max_length)


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


def format_report(report: dict[str, Any]) -> str:
    if report.get("kind") == "texts":
        from tuneforge.tasks.classification.check_texts import format_text_report

        return format_text_report(report)
    if report.get("kind") == "replies":
        from tuneforge.tasks.generation.check import format_generation_report

        return format_generation_report(report)
    if report.get("kind") == "questions":
        from tuneforge.tasks.question_answering.check import format_qa_report

        return format_qa_report(report)
    lines = []
    for name, info in report["splits"].items():
        lines.append(f"== {name}: {info['sentences']} sentences, {info['words']} words")
        lines.append("   entities: " + (", ".join(f"{k} {v}" for k, v in info["entities"].items()) or "none"))
        lines.append("   tags: " + ", ".join(f"{k} {v}" for k, v in info["tags"].items()))
        lines += rare_line(info, "entities")
        lines += common_lines(info, "sentence", "split into overlapping windows")
        if info["bio_repairs"]:
            lines.append(f"   WARNING {info['bio_repairs']} I-X tag(s) without B-X repaired to B-X")
    lines.append(f"{report['problems']} problem(s) found" if report["problems"] else "no problems found")
    return "\n".join(lines)


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

