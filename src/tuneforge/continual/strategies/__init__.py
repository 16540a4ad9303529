"""Continual strategies: one registry entry per ``strategies:`` name, carrying the strategy's facts.

A strategy decides what a stage trains on (``training_examples``), what the loss adds (``penalty``) and
what it keeps between stages (``after_stage``); ``base.py`` is the interface. ``adapter-per-stage`` trains a
new adapter and head per stage instead of one model (``model_per_stage``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module


@dataclass(frozen=True)
class StrategySpec:
    name: str
    class_path: str | None  # "module:Class" of a single-model strategy
    options_key: str | None = None  # the plan section with its options
    model_per_stage: bool = False  # frozen backbone, an adapter and head per stage, a router between them
    upper_bound: bool = False  # sees every earlier stage's data: what the others are measured against
    needs_earlier_data: bool = False  # trains on earlier examples (update: a buffer or the run's data.train)

    def build(self, plan_settings, seed: int):
        """The strategy object of a single-model strategy, with the plan's options for it."""
        module, _, attr = self.class_path.partition(":")
        options = getattr(plan_settings, self.options_key) if self.options_key else None
        return getattr(import_module(module), attr)(options, seed)


STRATEGIES: dict[str, StrategySpec] = {spec.name: spec for spec in (
    StrategySpec("naive", "tuneforge.continual.strategies.naive:Naive"),
    StrategySpec("replay", "tuneforge.continual.strategies.replay:Replay", options_key="replay",
                 needs_earlier_data=True),
    StrategySpec("ewc", "tuneforge.continual.strategies.ewc:Ewc", options_key="ewc"),
    StrategySpec("lwf", "tuneforge.continual.strategies.lwf:Lwf", options_key="lwf"),
    StrategySpec("adapter-per-stage", None, options_key="adapter_per_stage", model_per_stage=True),
    StrategySpec("joint", "tuneforge.continual.strategies.joint:Joint", upper_bound=True, needs_earlier_data=True),
)}
