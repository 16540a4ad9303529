"""Experiment trackers (``training.report_to``): where metrics.jsonl's records are also sent.

A tracker is an object with ``write(record)`` and ``close(failed)``; ``MetricsLog.write`` forwards every
record it appends to metrics.jsonl, and the training loop opens and closes them in one place. Nothing
here imports a tracker's package: config validation asks only whether it is installed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Protocol

# name in training.report_to -> the module it needs
TRACKERS = {"tensorboard": "tensorboard", "mlflow": "mlflow"}
# name -> the PyPI distribution that provides the module (what the `tracking` extra installs)
TRACKER_DISTRIBUTIONS = {"tensorboard": "tensorboard", "mlflow": "mlflow-skinny"}


class Tracker(Protocol):
    def write(self, record: dict[str, Any]) -> None: ...

    def close(self, failed: bool) -> None: ...


def check_installed(names: list[str]) -> None:
    """ValueError naming the first tracker whose package is missing (checked without importing it)."""
    for name in names:
        if importlib.util.find_spec(TRACKERS[name]) is None:
            # tuneforge is installed from its folder, not an index: name the package itself, and the extra on '.'
            raise ValueError(f"{name} needs the {TRACKERS[name]} package: pip install {TRACKER_DISTRIBUTIONS[name]} "
                             "(or, in tuneforge's folder, pip install '.[tracking]')")


def open_trackers(names: list[str], run_dir: Path, resumed_at: int | None) -> list[Tracker]:
    """The trackers of ``names`` for ``run_dir``; ``resumed_at``: the checkpoint step a resumed run restarts
    from (what was logged after it is hidden or superseded). One that fails to open closes those before it."""
    opened: list[Tracker] = []
    try:
        for name in names:
            if name == "tensorboard":
                from tuneforge.engine.tracking.tensorboard import TensorBoardTracker

                opened.append(TensorBoardTracker(run_dir / "tensorboard", resumed_at))
            else:
                from tuneforge.engine.tracking.mlflow import MLflowTracker

                opened.append(MLflowTracker(run_dir, resumed_at))
    except BaseException:
        for tracker in opened:
            tracker.close(failed=True)
        raise
    return opened
