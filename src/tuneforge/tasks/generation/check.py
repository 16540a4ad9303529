"""``check-data`` for generation: examples, references, inputs shared with train, and token lengths.

Lengths are of the rendered conversation plus its first reference (what one training row holds);
those over the window fail training or are cut, as ``task_options.too_long`` says.
"""

from __future__ import annotations

from typing import Any

from tuneforge.tasks.common.check_report import common_lines, length_stats


def check_generation(cfg, tokenizer=None) -> dict[str, Any]:
    from tuneforge.tasks import task_class

    splits = task_class(cfg.task).load_splits(cfg, strict=False)
    train_prompts = {e.prompt for e in splits["train"].examples}
    report: dict[str, Any] = {"kind": "replies", "task": cfg.task, "splits": {}, "problems": 0}
    if tokenizer is not None:
        from tuneforge.tasks.generation.chat_format import ChatFormat

        fmt = ChatFormat(tokenizer, cfg.task_options, 10**9)  # no window: measure, do not cut
    for name, result in splits.items():
        examples = result.examples
        info: dict[str, Any] = {
            "examples": len(examples),
            "references": sum(len(e.references) for e in examples),
            "multi_reference": sum(len(e.references) > 1 for e in examples),
            "malformed": result.problems,
        }
        if name != "train":
            info["shared_with_train"] = sum(e.prompt in train_prompts for e in examples)
        if tokenizer is not None and examples:
            lengths = [len(fmt.training_ids(e.messages, e.references[0], True, e.source).input_ids) for e in examples]
            info["subwords"] = length_stats(lengths, cfg.model.max_length)
        report["problems"] += len(result.problems)
        report["splits"][name] = info
    return report


def format_generation_report(report: dict[str, Any]) -> str:
    lines = []
    for name, info in report["splits"].items():
        lines.append(f"== {name}: {info['examples']} examples, {info['references']} references "
                     f"({info['multi_reference']} with several)")
        lines += common_lines(info, "example", "task_options.too_long decides: error or cut from the left")
    lines.append(f"{report['problems']} problem(s) found" if report["problems"] else "no problems found")
    return "\n".join(lines)
