"""naive: each stage fine-tunes the previous stage's model on the stage's data alone (the baseline)."""

from __future__ import annotations

from tuneforge.continual.strategies.base import Strategy


class Naive(Strategy):
    pass
