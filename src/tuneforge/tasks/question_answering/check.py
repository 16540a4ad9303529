"""``check-data`` for extractive QA (SQuAD JSON): what each split holds and what is wrong with it.

Per split: questions, articles, contexts, unanswerable questions, malformed records, articles that
also occur in train (a leak when the splits should be by article), and sub-word lengths of
question + context with how many need more than one window (they are split with a stride, not cut).
"""

from __future__ import annotations

from typing import Any

from tuneforge.tasks.common.check_report import common_lines, length_stats


def check_qa(cfg, tokenizer=None) -> dict[str, Any]:
    from tuneforge.tasks import task_class

    splits = task_class(cfg.task).load_splits(cfg, strict=False)
    train_titles = {e.title for e in splits["train"].examples}
    report: dict[str, Any] = {"kind": "questions", "task": cfg.task, "splits": {}, "problems": 0}
    for name, result in splits.items():
        examples = result.examples
        info: dict[str, Any] = {
            "questions": len(examples),
            "articles": len({e.title for e in examples}),
            "contexts": len({e.context for e in examples}),
            "unanswerable": sum(not e.answers for e in examples),
            "malformed": result.problems,
        }
        if name != "train":
            info["articles_in_train"] = len({e.title for e in examples} & train_titles)
        if tokenizer is not None and examples:
            encoded = tokenizer([e.question for e in examples], [e.context for e in examples])
            info["subwords"] = length_stats([len(ids) for ids in encoded["input_ids"]], cfg.model.max_length)
        report["problems"] += len(result.problems)
        report["splits"][name] = info
    return report


def format_qa_report(report: dict[str, Any]) -> str:
    lines = []
    for name, info in report["splits"].items():
        lines.append(f"== {name}: {info['questions']} questions on {info['contexts']} contexts from "
                     f"{info['articles']} articles; {info['unanswerable']} unanswerable")
        if info.get("articles_in_train"):
            lines.append(f"   articles also in train: {info['articles_in_train']}")
        lines += common_lines(info, "question + context", "split into overlapping windows")
    lines.append(f"{report['problems']} problem(s) found" if report["problems"] else "no problems found")
    return "\n".join(lines)
