"""replay: a bounded, class-balanced rehearsal buffer of earlier stages' examples, trained on beside each new stage.

The buffer holds at most ``buffer_size`` examples (or ``buffer_fraction`` of the plan's training examples),
split evenly over every label seen so far (an NER sentence counts under its first entity type, or under
"no entity"). After each stage every label's share is re-drawn (seeded) from what the buffer had of it and
the stage's new examples, so old labels keep a share as new ones arrive. It is saved with the model
(``replay_buffer.jsonl``) for the next ``tuneforge update``.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from tuneforge.continual.stage_data import Sourced, Stage
from tuneforge.continual.strategies.base import Strategy
from tuneforge.errors import RunError
from tuneforge.util.atomic import write_text

BUFFER_FILE = "replay_buffer.jsonl"
NO_LABEL = "(no entity)"


class Replay(Strategy):
    def __init__(self, options: Any, seed: int) -> None:
        super().__init__(options, seed)
        self.buffer: list[Sourced] = []

    def training_examples(self, stage: Stage, earlier: list[Stage]) -> list[Sourced]:
        return [Sourced(e, stage.index) for e in stage.train] + self.buffer * self.repeats(stage)

    def repeats(self, stage: Stage) -> int:
        """How many copies of the buffer a stage trains on. A buffer of 2% holds a label's examples in the single
        digits where a new label has a hundred: trained once, old labels lose to the new ones' sheer number."""
        if self.options.repeat != "balanced":
            return self.options.repeat
        if not self.buffer:
            return 1
        per_new = len(stage.train) / max(1, len({self._key(e) for e in stage.train}))
        per_old = len(self.buffer) / len({self._key(s.example) for s in self.buffer})
        return max(1, min(round(per_new / per_old), len(stage.train) // len(self.buffer)))

    def after_stage(self, model, stage: Stage, features, collate, forward) -> None:
        limit = self.options.limit(self.total_examples)
        by_label: dict[str, list[Sourced]] = defaultdict(list)
        for item in self.buffer + [Sourced(e, stage.index) for e in stage.train]:
            by_label[self._key(item.example)].append(item)
        labels = sorted(by_label)
        rng = random.Random(f"{self.seed}:{stage.index}")
        kept: list[Sourced] = []
        for n, label in enumerate(labels):
            share = limit // len(labels) + (1 if n < limit % len(labels) else 0)
            pool = by_label[label]
            kept += rng.sample(pool, min(share, len(pool)))
        self.buffer = kept

    def _key(self, example: Any) -> str:
        labels = self.head.labels_of(example)
        return labels[0] if labels else NO_LABEL

    def save(self, folder: Path, head: Any) -> None:
        lines = [json.dumps({"stage": s.stage, **head.record(s.example)}) for s in self.buffer]
        write_text(Path(folder) / BUFFER_FILE, "".join(line + "\n" for line in lines))

    def load(self, folder: Path, head: Any) -> bool:
        path = Path(folder) / BUFFER_FILE
        if not path.is_file():
            return False
        self.buffer = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                record = json.loads(line)
                self.buffer.append(Sourced(head.from_record(record), int(record["stage"])))
            except (ValueError, KeyError, TypeError):
                raise RunError(f"{path}:{n}: not a replay buffer record; the run directory is damaged") from None
        return True
