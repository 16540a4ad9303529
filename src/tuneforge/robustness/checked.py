"""Run suites on labelled examples with a model in memory: flip rate, accuracy change, worst examples."""

from __future__ import annotations

from random import Random
from typing import Any

from tuneforge.robustness.spec import SuiteSpec, suite_label
from tuneforge.robustness.suites import SUITES

WORST = 5


def run_suites(task: Any, model: Any, kind: Any, examples: list[Any], suites: list[tuple[SuiteSpec, str]],
               default_field: str, batching: dict[str, Any], seed: int = 13,
               before: list[Any] | None = None) -> list[dict[str, Any]]:
    """One result per suite. Each example is perturbed with its own seeded generator (the suite, the field and
    the example's position), so two models checked on the same examples see the same perturbations. A suite
    counts only the examples it changes (``examples``; ``of``: all). ``before``: the answers to the unperturbed
    examples, when already known."""
    if before is None:
        before = kind.answers(task, model, examples, batching)
    results = []
    for spec, attribute in suites:
        suite = SUITES[spec.suite]
        field = spec.field or default_field
        chosen, perturbed = [], []
        for i, example in enumerate(examples):
            p = suite.perturb(kind.sample(example, attribute), Random(f"{seed}:{spec.suite}:{field}:{i}"))
            if p is not None:
                chosen.append(i)
                perturbed.append(p)
        changed = [kind.rebuild(examples[i], p, attribute) for i, p in zip(chosen, perturbed, strict=True)]
        after = kind.answers(task, model, changed, batching)
        originals = [examples[i] for i in chosen]
        old = [before[i] for i in chosen]
        flips = [kind.flipped(b, a, p) for b, a, p in zip(old, after, perturbed, strict=True)]
        accuracy_before = kind.score(task, originals, old)
        accuracy_after = kind.score(task, changed, after)
        by_group: dict[str, list[bool]] = {}
        for p, flip in zip(perturbed, flips, strict=True):
            if p.group is not None:
                by_group.setdefault(p.group, []).append(flip)
        worst = _worst(kind, originals, changed, old, after, flips)
        results.append({
            "suite": suite_label(spec, field, default_field), "description": suite.description,
            "examples": len(chosen), "of": len(examples),
            "flip_rate": round(sum(flips) / len(flips), 4) if flips else None,  # None: the suite changed nothing
            f"{kind.metric}_before": round(accuracy_before, 4) if flips else None,
            f"{kind.metric}_after": round(accuracy_after, 4) if flips else None,
            f"{kind.metric}_change": round(accuracy_after - accuracy_before, 4) if flips else None,
            "by_group": {g: {"examples": len(v), "flip_rate": round(sum(v) / len(v), 4)}
                         for g, v in sorted(by_group.items())},
            "worst": worst,
        })
    return results


def _worst(kind: Any, originals: list[Any], changed: list[Any], old: list[Any], after: list[Any],
           flips: list[bool]) -> list[dict[str, Any]]:
    """Flipped examples, those that went from right to wrong first, then the most confident new answers."""
    rows = []
    for i, flip in enumerate(flips):
        if not flip:
            continue
        right_before = kind.score(None, [originals[i]], [old[i]]) if kind.metric == "accuracy" else 0.0
        right_after = kind.score(None, [changed[i]], [after[i]]) if kind.metric == "accuracy" else 0.0
        confidence = float(after[i][1]) if isinstance(after[i][1], float) else 0.0
        rows.append((-(right_before - right_after), -confidence, i))
    rows.sort()
    return [{"original": kind.text(originals[i]), "perturbed": kind.text(changed[i]),
             "before": kind.shown(old[i]), "after": kind.shown(after[i])} for _, _, i in rows[:WORST]]
