"""The light head of few-shot classification: multinomial logistic regression on fixed embeddings.

Fitted full-batch with L-BFGS (a few hundred to a few thousand embeddings: seconds on a CPU), the
same fit that SetFit delegates to scikit-learn, without the dependency.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def fit_logistic(embeddings: torch.Tensor, targets: torch.Tensor, num_labels: int, c: float = 1.0,
                 max_iter: int = 300) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight [labels, hidden], bias [labels]) minimizing ``c`` * summed cross-entropy + ½ ||weight||²:
    scikit-learn's ``LogisticRegression(C=c)`` (SetFit's default head). The penalty weighs less as examples
    grow: a fixed one would pull a head fitted on the full data to the label priors."""
    l2 = 1 / (2 * c * max(len(targets), 1))  # the same objective, divided by the example count
    with torch.inference_mode(False):  # evaluation may call this inside inference mode
        return _fit(embeddings.detach().float().clone(), targets.detach().long().clone(), num_labels, l2, max_iter)


def _fit(x: torch.Tensor, y: torch.Tensor, num_labels: int, l2: float, max_iter: int) -> tuple[torch.Tensor, ...]:
    weight = torch.zeros(num_labels, x.shape[1], requires_grad=True)
    bias = torch.zeros(num_labels, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=max_iter, history_size=20,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(x @ weight.T + bias, y) + l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return weight.detach(), bias.detach()
