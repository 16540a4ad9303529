"""lwf: learning without forgetting (Li and Hoiem, 2016): distil the previous stage's model on the new data.

Before a stage, the model as it stands is copied and frozen (the teacher). On every scored item of the new
data (a text; a word for NER) the student's outputs for the labels the teacher knew are pulled towards the
teacher's: ``weight * T^2 * KL(softmax(teacher / T) || softmax(student / T))`` over those outputs.

For token classification the teacher also labels: a word its stage tags O (it does not annotate the earlier
types) that the teacher tags as an earlier type with probability at least ``pseudo_label`` is trained
towards that tag (Monaikul et al., 2021, distil and label). The new data then teaches the old types too,
instead of only not unteaching them.

The teacher follows the student: it is copied where the model is before the stage (``update``: on the
CPU, where the run loads), and moved to the student's device when the training loop has put it elsewhere.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from tuneforge.continual.strategies.base import Strategy


class Lwf(Strategy):
    def __init__(self, options, seed: int) -> None:
        super().__init__(options, seed)
        self.teacher: torch.nn.Module | None = None
        self.old_outputs = 0
        self.background: int | None = None  # the head's "nothing here" output (O), if it has one

    def before_stage(self, model, old_outputs: int, task=None) -> None:
        self.old_outputs = old_outputs
        self.background = self.head.background(task) if self.head is not None and task is not None else None
        self.teacher = None
        if old_outputs:
            self.teacher = copy.deepcopy(model).eval()
            for p in self.teacher.parameters():
                p.requires_grad_(False)

    def penalty(self, model, batch, logits, items):
        if self.teacher is None:
            return None
        inputs = {k: v for k, v in batch.items() if k not in ("labels", "unannotated")}
        if next(self.teacher.parameters()).device != logits.device:  # where the student computes
            self.teacher.to(logits.device)
        with torch.no_grad():
            target = self.teacher(**inputs).logits.float()[..., : self.old_outputs]
        t = self.options.temperature
        student = F.log_softmax(logits[..., : self.old_outputs] / t, dim=-1)
        teacher = F.log_softmax(target / t, dim=-1)
        kl = (teacher.exp() * (teacher - student)).sum(-1)
        distilled = items
        if self.background is not None and self.options.distil_on == "background":
            distilled = items & (batch["labels"] == self.background)
        penalty = self.options.weight * t * t * (kl * distilled).sum()
        if self.background is not None and self.options.pseudo_label is not None:
            penalty = penalty + self._pseudo_labels(logits, target, batch["labels"], items)
        return penalty

    def _pseudo_labels(self, logits, teacher_logits, labels, items):
        """Cross-entropy towards the teacher's earlier-type tag on the words tagged O that it confidently tags."""
        confidence, tag = teacher_logits.softmax(-1).max(-1)
        chosen = items & (labels == self.background) & (tag != self.background)
        chosen &= confidence >= self.options.pseudo_label
        if not chosen.any():
            return logits.new_zeros(())
        return F.cross_entropy(logits[chosen], tag[chosen], reduction="sum")

    def after_stage(self, model, stage, features, collate, forward) -> None:
        self.teacher = None  # free it: the next stage copies the model as it will be then
