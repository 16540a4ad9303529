"""One explanation: a run's answer to an input, and each word's attribution by both methods."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tuneforge.errors import RunError
from tuneforge.explain.integrated_gradients import integrated_gradients
from tuneforge.explain.occlusion import occlusion
from tuneforge.explain.target import Target

STEPS = 16  # integrated-gradient steps (Gauss-Legendre); --steps trades the completeness gap for time


@dataclass
class Explanation:
    """What ``tuneforge explain`` shows: the answer explained with its probability, the words, and per word the
    integrated-gradients and occlusion scores (positive: the word raised the probability)."""

    text: str
    answer: str
    probability: float
    words: list[str]
    integrated_gradients: list[float]
    occlusion: list[float]
    agreement: float | None  # Spearman rank correlation of the two methods' word scores
    completeness_gap: float  # |sum of IG scores - (f(input) - f(baseline))|
    steps: int
    seconds: dict[str, float]
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def explainable_kind(run_dir: str | Path) -> str:
    """What the run's task explains (its registry entry's ``explains``); a one-line RunError for a task that
    explains nothing, before any model loads."""
    from tuneforge.runs.directory import config_of
    from tuneforge.tasks import TASKS

    task = config_of(run_dir).task
    kind = TASKS[task].explains
    if kind is None:
        able = ", ".join(name for name, spec in TASKS.items() if spec.explains)
        raise RunError(f"{run_dir}: a {task} run cannot be explained (explain takes {able} runs)")
    return kind


def load_for_explaining(run_dir: str | Path) -> Any:
    """The run with its PyTorch model (gradients need it, whatever inference.engine the run predicts with)."""
    from tuneforge.runs.directory import load_run

    return load_run(run_dir, overrides=["inference.engine=torch", "inference.precision=fp32"])


def explain_target(model: Any, target: Target, text: str, steps: int = STEPS) -> Explanation:
    started = time.perf_counter()
    ig, gap = integrated_gradients(model, target, steps)
    middle = time.perf_counter()
    occ = occlusion(model, target)
    ended = time.perf_counter()
    return Explanation(text, target.answer, round(target.probability, 6), target.words, ig, occ,
                       rank_agreement(ig, occ), gap, steps,
                       {"integrated_gradients": middle - started, "occlusion": ended - middle}, target.notes,
                       target.details)


def explain(run: Any, kind: str, text: str, label: str | None = None, entity: str | None = None,
            steps: int = STEPS) -> Explanation:
    """Explain ``run``'s answer to ``text`` (a loaded run, ``load_for_explaining``)."""
    from tuneforge.explain.targets import build_target

    return explain_target(run.model, build_target(kind, run, text, label, entity), text, steps)


def rank_agreement(a: list[float], b: list[float]) -> float | None:
    """Spearman's rank correlation; None when either side is constant or there are fewer than 3 words."""
    import numpy as np
    from scipy.stats import spearmanr

    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return round(float(spearmanr(a, b).statistic), 4)
