"""joint: each stage trains on every stage's data so far: the upper bound the other strategies aim at."""

from __future__ import annotations

from tuneforge.continual.stage_data import Sourced, Stage
from tuneforge.continual.strategies.base import Strategy


class Joint(Strategy):
    def training_examples(self, stage: Stage, earlier: list[Stage]) -> list[Sourced]:
        return [Sourced(e, s.index) for s in [*earlier, stage] for e in s.train]
