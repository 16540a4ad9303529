"""The student's loss: temperature-scaled KL to the teacher's soft outputs, mixed with the task's own loss on the
gold labels, plus (optionally) the mean squared distance of hidden states to the teacher's chosen layers.

Each term is a sum over the items the task's loss sums over (texts, labelled tokens, question windows), so the
training loop's scaling to a mean over the step batch holds for the mix (engine/train.py).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from tuneforge.distill.soft_targets import INPUT_KEYS, SCORED_EACH_BATCH, TEACHER_KEY, soft_outputs
from tuneforge.tasks.base import IGNORE

MASKED = -1e4  # a logit that softmax turns into nothing (padding positions of a span's start/end)


def kl_sum(student: torch.Tensor, teacher: torch.Tensor, temperature: float, dim: int = -1) -> torch.Tensor:
    """sum KL(softmax(teacher / T) || softmax(student / T)) * T², Hinton's scaling: the gradient keeps its size
    whatever the temperature."""
    t = F.log_softmax(teacher / temperature, dim=dim)
    s = F.log_softmax(student / temperature, dim=dim)
    return (t.exp() * (t - s)).sum() * temperature**2


def soft_sum(student_out: Any, teacher: torch.Tensor, batch: dict[str, torch.Tensor], kind: str,
             temperature: float, multi_label: bool) -> torch.Tensor:
    """The soft-target term summed over the items of the batch, for the task's kind of output."""
    student = soft_outputs(student_out, kind).float()
    if kind == "span-logits":  # a distribution over the window's positions, for the start and for the end
        keep = batch["attention_mask"].bool().unsqueeze(-1)
        return kl_sum(student.masked_fill(~keep, MASKED), teacher.masked_fill(~keep, MASKED), temperature,
                      dim=1) / 2
    if kind == "generate":  # next-token distributions at the reply positions, as the task's loss reads them
        if student.dim() == 3:  # a head that did more after its output projection kept every position
            scored = batch["targets"] != IGNORE
            student = student[:, -scored.shape[1]:][scored]
        return kl_sum(student, teacher, temperature)
    if kind == "token-probabilities":  # the tokens the task's loss reads (first pieces of owned words)
        keep = batch["labels"] != IGNORE
        student, teacher = student[keep], teacher[keep]
    if multi_label:  # one sigmoid per label: its binary cross-entropy to the teacher's softened probability
        targets = torch.sigmoid(teacher / temperature)
        return F.binary_cross_entropy_with_logits(student / temperature, targets, reduction="sum") * temperature**2
    return kl_sum(student, teacher, temperature)


def hidden_sum(student_out: Any, teacher_out: Any, mapping: list[int], mask: torch.Tensor,
               items: int) -> torch.Tensor:
    """Mean squared distance of each student layer's output to its teacher layer's (embeddings to embeddings),
    over real tokens, times ``items`` (a sum over items, as the other terms)."""
    keep = mask.bool()
    pairs = [(0, 0)] + [(j + 1, i + 1) for j, i in enumerate(mapping)]
    errors = [F.mse_loss(student_out.hidden_states[j][keep].float(), teacher_out.hidden_states[i][keep].float())
              for j, i in pairs]
    return torch.stack(errors).mean() * items


class DistillLoss:
    """``compute_loss(model, batch)`` for the training loop: the task's loss on gold labels (its own forward
    pass, whose output a hook keeps) mixed with the soft-target term and, with ``hidden_weight``, the
    hidden-state term against a teacher pass on the same batch. For a kind scored batch by batch (generation)
    the teacher's soft outputs come from such a pass too, at the task's reply positions."""

    def __init__(self, task: Any, student: torch.nn.Module, kind: str, temperature: float, alpha: float,
                 hidden_weight: float = 0.0, teacher: torch.nn.Module | None = None,
                 mapping: list[int] | None = None) -> None:
        self.task, self.kind, self.temperature, self.alpha = task, kind, temperature, alpha
        self.hidden_weight, self.teacher, self.mapping = hidden_weight, teacher, mapping or []
        self.multi_label = getattr(student.config, "problem_type", None) == "multi_label_classification"
        self.output: Any = None
        self.handles = [student.register_forward_hook(self._keep)]
        if hidden_weight:
            self.handles.append(student.register_forward_pre_hook(self._ask_hidden, with_kwargs=True))

    def _keep(self, module, args, output) -> None:
        if module.training:
            self.output = output

    @staticmethod
    def _ask_hidden(module, args, kwargs):
        return args, ({**kwargs, "output_hidden_states": True} if module.training else kwargs)

    def __call__(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        if self.kind in SCORED_EACH_BATCH:
            with torch.no_grad():  # not inference_mode: the KL term saves these for its backward pass
                teacher_soft = self.task.reply_logits(self.teacher, batch).float()
        else:
            teacher_soft = batch.pop(TEACHER_KEY)
        gold, items = self.task.compute_loss(model, batch)
        output, self.output = self.output, None
        soft = soft_sum(output, teacher_soft, batch, self.kind, self.temperature, self.multi_label)
        loss = self.alpha * soft + (1 - self.alpha) * gold
        if self.hidden_weight and self.teacher is not None:
            with torch.no_grad():  # inference tensors could not be saved for the backward pass
                taught = self.teacher(**{k: v for k, v in batch.items() if k in INPUT_KEYS},
                                      output_hidden_states=True)
            loss = loss + self.hidden_weight * hidden_sum(output, taught, self.mapping, batch["attention_mask"], items)
        return loss, items

    def close(self) -> None:
        """Remove the hooks: the student leaves as a plain model."""
        for handle in self.handles:
            handle.remove()

