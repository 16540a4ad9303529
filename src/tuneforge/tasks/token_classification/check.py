"""``check-data`` for tagged sentences (NER): what a split holds and what is wrong with it, before training.

Per split: sentence/word/entity counts, tag distribution, labels not seen in train, sentences shared
between train and dev/test, sub-word lengths and how many exceed the model window (they are split
into overlapping windows, not truncated), malformed lines and BIO repairs.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from tuneforge.data.bio import spans
from tuneforge.data.loading import label_set, load_splits
from tuneforge.tasks.common.check_report import common_lines, length_stats, rare_labels, rare_line

if TYPE_CHECKING:
    from tuneforge.config.schema import RunConfig


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


def format_tagged_report(report: dict[str, Any]) -> str:
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
