"""ewc: online elastic weight consolidation (Schwarz et al., 2018) with a diagonal Fisher.

After each stage the diagonal of the empirical Fisher is estimated on up to ``fisher_examples`` of the
stage's training examples (squared gradients of mini-batches of 8, weighted by their example count) and
folded in as F = decay * F + F_stage, the anchor moving to the stage's weights. Training then adds
``weight / 2 * sum F (theta - anchor)^2``. Head rows of labels added later have no anchor: only the
rows the anchor had are held.

Placement follows the model: the Fisher batches go to the model's device, and the anchor and Fisher move
to each parameter's device when the penalty first meets it there (``update`` computes them on the CPU, where
the run loads, and the training loop then moves the model to the GPU).
"""

from __future__ import annotations

import random

import torch

from tuneforge.continual.strategies.base import Strategy

FISHER_BATCH = 8


class Ewc(Strategy):
    def __init__(self, options, seed: int) -> None:
        super().__init__(options, seed)
        self.fisher: dict[str, torch.Tensor] = {}
        self.anchor: dict[str, torch.Tensor] = {}
        self.held: list[tuple[torch.nn.Parameter, torch.Tensor, torch.Tensor]] = []

    def before_stage(self, model, old_outputs: int, task=None) -> None:
        self.held = [(p, self.anchor[n], self.fisher[n]) for n, p in model.named_parameters()
                     if p.requires_grad and n in self.anchor]

    def penalty(self, model, batch, logits, items):
        if not self.held:
            return None
        total = logits.new_zeros(())
        for i, (param, anchor, fisher) in enumerate(self.held):
            if anchor.device != param.device:  # once: they stay with the parameter from here on
                anchor, fisher = anchor.to(param.device), fisher.to(param.device)
                self.held[i] = (param, anchor, fisher)
            rows = param[: anchor.shape[0]] if param.dim() and param.shape[0] != anchor.shape[0] else param
            total = total + (fisher * (rows - anchor) ** 2).sum()
        # Summed losses are divided by the step's item count: counting the penalty once per item keeps it whole.
        return 0.5 * self.options.weight * total * items.sum()  # a tensor: no wait for the device

    def after_stage(self, model, stage, features, collate, forward) -> None:
        chosen = list(range(len(features)))
        random.Random(self.seed).shuffle(chosen)
        chosen = chosen[: self.options.fisher_examples]
        params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        fisher = {n: torch.zeros_like(p) for n, p in params.items()}
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()  # no dropout: the Fisher of the model as it predicts
        counted = 0
        for start in range(0, len(chosen), FISHER_BATCH):
            batch = collate([features[i] for i in chosen[start:start + FISHER_BATCH]])
            batch = {k: v.to(device) for k, v in batch.items()}
            model.zero_grad(set_to_none=True)
            loss, items, _, _ = forward(model, batch)
            if not items:
                continue
            (loss / items).backward()
            for n, p in params.items():
                if p.grad is not None:
                    fisher[n] += p.grad.detach() ** 2 * items
            counted += items
        model.zero_grad(set_to_none=True)
        model.train(was_training)
        for n, p in params.items():
            new = fisher[n] / max(counted, 1)
            old = self.fisher.get(n)
            if old is not None:
                old = old.to(new.device)
                grown = torch.zeros_like(new)
                grown[: old.shape[0]] = old  # head rows of new labels start with no Fisher
                new = self.options.decay * grown + new
            self.fisher[n] = new
            self.anchor[n] = p.detach().clone()
