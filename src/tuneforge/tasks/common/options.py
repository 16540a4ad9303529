"""The base of every task's options model (each task's own is ``tasks/<task>/options.py``).

The config picks the model by ``task:`` (a discriminated union on the hidden ``task`` field), so an
option of another task fails with a line naming the task it belongs to. ``check(cfg)`` holds the
checks that need the rest of the config (the window and stride of ``model:``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from tuneforge.util.strict import Strict


class TaskOptions(Strict):
    """What every task's options share: the hidden discriminator, filled in from ``task:``."""

    task: str = Field(exclude=True)
    # Keys a finished run may still be given when it predicts or is scored (not what it learnt): --set
    # task_options.KEY on predict/evaluate; everything else of a run is fixed.
    predict_keys: ClassVar[tuple[str, ...]] = ()

    def check(self, cfg: Any) -> None:
        """Checks against the rest of the config; raise ValueError with the keys named."""

    def needs_train_data(self) -> bool:
        """Whether the task needs ``data.train`` (zero-shot classification does not)."""
        return True

    def over_window(self) -> str:
        """What happens to a text longer than model.max_length (check-data says it beside the count)."""
        return "truncated to the window"

    def trains_model(self) -> bool:
        """Whether training changes the model's weights (not so for zero-shot or a head on frozen embeddings)."""
        return True
