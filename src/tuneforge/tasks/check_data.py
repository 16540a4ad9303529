"""``check-data``: the task's own check (its registry entry names it), and the report as text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuneforge.tasks.classification.check_texts import format_text_report
from tuneforge.tasks.dialogue_state.check import format_dialogue_report
from tuneforge.tasks.generation.check import format_generation_report
from tuneforge.tasks.question_answering.check import format_qa_report
from tuneforge.tasks.retrieval.check import format_query_report
from tuneforge.tasks.token_classification.check import format_tagged_report

if TYPE_CHECKING:
    from tuneforge.config.schema import RunConfig


def check_data(cfg: RunConfig, tokenizer=None) -> dict[str, Any]:
    """The task's own check (its registry entry names it)."""
    from tuneforge.tasks import task_spec

    cfg.data.require_prepared()
    report = task_spec(cfg.task).check_data(cfg, tokenizer)
    # Carving takes test before dev, so a carved dev would come last; show them in the order people think of them.
    order = {name: i for i, name in enumerate(("train", "dev", "test"))}
    report["splits"] = dict(sorted(report["splits"].items(), key=lambda item: order.get(item[0], len(order))))
    return report


def format_report(report: dict[str, Any]) -> str:
    if report.get("kind") == "texts":
        return format_text_report(report)
    if report.get("kind") == "replies":
        return format_generation_report(report)
    if report.get("kind") == "dialogues":
        return format_dialogue_report(report)
    if report.get("kind") == "questions":
        return format_qa_report(report)
    if report.get("kind") == "queries":
        return format_query_report(report)
    return format_tagged_report(report)
