"""``check-data`` for labelled texts (sequence classification, relation extraction).

Per split: example count, label distribution, labels unseen in train, malformed records (empty texts,
missing labels, relation sentences without both entity markers), texts that also occur in train,
duplicates within the split, and sub-word lengths with how many exceed the window (and what the task's
options do with them: ``over_window``).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from tuneforge.tasks.common.check_report import common_lines, length_stats, rare_labels, rare_line

if TYPE_CHECKING:
    from tuneforge.config.schema import RunConfig


def _key(example) -> tuple[str, str]:
    return " ".join(example.text.lower().split()), " ".join((example.text_pair or "").lower().split())


def check_texts(cfg: RunConfig, tokenizer=None) -> dict[str, Any]:
    from tuneforge.tasks import task_class

    Task = task_class(cfg.task)
    splits = Task.load_splits(cfg, strict=False)
    if tokenizer is not None:
        Task.prepare_tokenizer(tokenizer)  # e.g. relation markers as one token each, counted as training does
    train = splits["train"].examples if "train" in splits else []  # zero-shot: labels come from descriptions
    known = set(Task.label_set(train, cfg))
    allowed = {cfg.task_options.out_of_scope_label} - {None}  # relation options fix it to None
    train_keys = {_key(e) for e in train}
    report: dict[str, Any] = {"kind": "texts", "task": cfg.task, "splits": {}, "problems": 0,
                              "over_window": cfg.task_options.over_window()}
    for name, result in splits.items():
        examples = result.examples
        labels = Counter(label for e in examples for label in e.labels)
        keys = Counter(_key(e) for e in examples)
        info: dict[str, Any] = {
            "examples": len(examples),
            "labels": dict(labels.most_common()),
            "malformed": result.problems,
            "duplicates_within": sum(n - 1 for n in keys.values() if n > 1),
        }
        if name == "train" and labels:
            info["label_imbalance"] = round(max(labels.values()) / min(labels.values()), 1)
            info["rare_labels"] = rare_labels(labels)
        if name != "train":
            info["unseen_labels"] = sorted(set(labels) - known - allowed)
            info["shared_with_train"] = sum(_key(e) in train_keys for e in examples)
        if tokenizer is not None and examples:
            lengths = [len(ids) for ids in tokenizer([e.text for e in examples])["input_ids"]]
            info["subwords"] = length_stats(lengths, cfg.model.max_length)
        report["problems"] += len(result.problems) + len(info.get("unseen_labels", []))
        report["splits"][name] = info
    return report


def format_text_report(report: dict[str, Any]) -> str:
    lines = []
    for name, info in report["splits"].items():
        labels = info["labels"]
        lines.append(f"== {name}: {info['examples']} examples, {len(labels)} labels")
        shown = ", ".join(f"{k} {v}" for k, v in list(labels.items())[:12])
        more = f", … {len(labels) - 12} more" if len(labels) > 12 else ""
        lines.append(f"   labels (most frequent first): {shown}{more}")
        if "label_imbalance" in info:
            lines.append(f"   most / least frequent label: {info['label_imbalance']}x")
        lines += rare_line(info, "examples")
        lines += common_lines(info, "text", report.get("over_window", "truncated to the window"))
        if info["duplicates_within"]:
            lines.append(f"   duplicate texts within {name}: {info['duplicates_within']}")
    lines.append(f"{report['problems']} problem(s) found" if report["problems"] else "no problems found")
    return "\n".join(lines)
