"""Explanations of the worst errors report.json lists, which report.html shows beside them.

Each error gets an ``explanation``: the words and their integrated-gradients and occlusion scores for the
answer the model gave wrongly (a text's predicted label; a tagged sentence's first predicted entity that gold
lacks — a sentence whose only errors are missed entities has no answer to explain, and gets none).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tuneforge.errors import TuneforgeError
from tuneforge.explain.explanation import STEPS, explain_target
from tuneforge.explain.target import Target

SPLITS = ("test", "dev")


def explain_errors(run: Any, kind: str, errors: list[dict[str, Any]], steps: int = STEPS) -> int:
    """Add ``explanation`` to each error that has an answer to explain, in place; returns how many got one."""
    n = 0
    for error in errors:
        target = _target(run, kind, error)
        if target is None:
            continue
        e = explain_target(run.model, target, error.get("text") or " ".join(error.get("tokens", [])), steps)
        error["explanation"] = {"answer": e.answer, "probability": e.probability, "words": e.words,
                                "integrated_gradients": [round(x, 5) for x in e.integrated_gradients],
                                "occlusion": [round(x, 5) for x in e.occlusion], "agreement": e.agreement,
                                "steps": e.steps}
        n += 1
    return n


def _target(run: Any, kind: str, error: dict[str, Any]) -> Target | None:
    from tuneforge.explain.entity_target import sentence_entity_target
    from tuneforge.explain.label_target import label_target

    try:
        if kind == "label" and isinstance(error.get("text"), str) and "text_pair" not in error:
            predicted = error.get("predicted")
            if not isinstance(predicted, str) or predicted not in run.task.labels:
                return None  # an out-of-scope answer by threshold is no class of the head
            return label_target(run, error["text"], label=predicted)
        if kind == "entity" and isinstance(error.get("tokens"), list):
            gold = {tuple(s) for s in error.get("gold") or []}
            wrong = [tuple(s) for s in error.get("predicted") or [] if tuple(s) not in gold]
            if not wrong:
                return None
            return sentence_entity_target(run, [str(t) for t in error["tokens"]], chosen=wrong[0])
    except TuneforgeError:  # a sentence past the window: listed, not explained
        return None
    return None


def explain_report(run: Any, kind: str, steps: int = STEPS) -> tuple[Path, int]:
    """Explain the worst errors of the run's report.json (in place, atomically), then rewrite report.html. As in
    training, those of the split report.html leads with: test, else dev."""
    from tuneforge.report.html import write_report_html
    from tuneforge.util.atomic import write_json

    path = Path(run.path) / "report.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    lead = next((report[s] for s in SPLITS if isinstance(report.get(s), dict)), {})
    errors = lead.get("worst_errors")
    n = explain_errors(run, kind, errors, steps) if isinstance(errors, list) else 0
    write_json(path, report)
    write_report_html(run.path)
    return Path(run.path) / "report.html", n
