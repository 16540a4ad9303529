"""Word-embedding gradients that touch only the rows a step used.

A step of 32 short sentences reads about a thousand of MiniLM's 30,522 embedding rows, but
PyTorch's embedding backward zero-fills a fresh 47 MB gradient every step (about 2% of a CPU
step), then gradient clipping takes the norm of, and rescales, all of it. Here the gradient
lives in one buffer kept across steps: a new step clears only the rows the previous one wrote,
adds the new rows in, and records which rows hold values, so clipping can read just those. The
gradient the optimizer sees is the same dense tensor, value for value; AdamW still updates
every row, so training is unchanged.

The buffer is handed to ``weight.grad`` from inside backward, so no gradient hook fires for the
weight: it is for single-process runs only (DDP reduces gradients from those hooks). Nor is it used
when the weight is tied to an output layer (SmolLM2, GPT-2): that layer's gradient, added into the
buffer by autograd, covers every row, which the next step's clearing of the used rows would miss.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

import torch
from torch import nn
from torch.nn import functional as F


class RowGradEmbedding(nn.Embedding):
    """nn.Embedding whose training backward writes into a kept buffer; ``grad_rows`` holds the rows used."""

    _grad_buffer: torch.Tensor | None = None
    grad_rows: torch.Tensor | None = None

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if not (self.training and torch.is_grad_enabled() and self.weight.requires_grad):
            return super().forward(ids)
        return _Lookup.apply(ids, self.weight, self)

    def add_grad(self, ids: torch.Tensor, grad: torch.Tensor) -> None:
        ids, grad = ids.reshape(-1), grad.reshape(-1, self.embedding_dim).to(self.weight.dtype)
        if self.padding_idx is not None:  # as torch does: the padding row gets no gradient
            used = ids != self.padding_idx
            ids, grad = ids[used], grad[used]
        weight = self.weight
        if self._grad_buffer is None:
            self._grad_buffer = torch.zeros_like(weight)
        buffer = self._grad_buffer
        if weight.grad is None:  # a new optimizer step: clear the rows the last one wrote
            if self.grad_rows is not None:
                buffer.index_fill_(0, self.grad_rows, 0)
            buffer.index_add_(0, ids, grad)
            self.grad_rows = ids.unique()
            weight.grad = buffer
        elif weight.grad is buffer:  # accumulating micro-batches
            buffer.index_add_(0, ids, grad)
            self.grad_rows = torch.cat([self.grad_rows, ids]).unique()
        else:  # a gradient someone else put there: add to it (grad_rows still names the buffer's rows)
            weight.grad.index_add_(0, ids, grad)


class _Lookup(torch.autograd.Function):
    @staticmethod
    def forward(ctx, ids: torch.Tensor, weight: torch.Tensor, module: RowGradEmbedding) -> torch.Tensor:
        ctx.module = module
        ctx.save_for_backward(ids)
        return F.embedding(ids, weight, module.padding_idx)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, None, None]:
        (ids,) = ctx.saved_tensors
        ctx.module.add_grad(ids, grad)
        return None, None, None


def use_row_grad_embedding(model: nn.Module) -> RowGradEmbedding | None:
    """Switch the model's trainable input embedding to RowGradEmbedding in place.

    None, with the model untouched, if that embedding is not a plain trainable CPU nn.Embedding, or
    if its weight is tied to an output layer (said on stderr, as the run then gets dense gradients).
    """
    get = getattr(model, "get_input_embeddings", None)
    embedding = get() if callable(get) else None
    plain = type(embedding) is nn.Embedding and not (embedding.max_norm or embedding.scale_grad_by_freq
                                                      or embedding.sparse)
    if not plain or not embedding.weight.requires_grad or embedding.weight.device.type != "cpu":
        return None
    if is_tied(model, embedding):
        print("tuneforge: word embeddings are tied to an output layer; using dense embedding gradients",
              file=sys.stderr, flush=True)
        return None
    embedding.__class__ = RowGradEmbedding  # same parameters and state dict: nothing else changes
    return embedding


def is_tied(model: nn.Module, embedding: nn.Embedding) -> bool:
    """Whether ``embedding``'s weight is also (or shares storage with) a parameter of another module.

    The output embeddings (``get_output_embeddings``) are checked, then every other module's own
    parameters, so a tie made by hand (not through ``tie_word_embeddings``) is found too. The
    embedding module itself may appear more than once (T5's encoder and decoder share it): its own
    lookups add up correctly in the buffer.
    """
    weight = embedding.weight
    get = getattr(model, "get_output_embeddings", None)
    output = get() if callable(get) else None
    others = [getattr(output, "weight", None)]
    others += [p for module in model.modules() if module is not embedding for p in module.parameters(recurse=False)]
    return any(_same_storage(p, weight) for p in others if isinstance(p, torch.Tensor))


def _same_storage(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a is b:
        return True
    if a.device != b.device:
        return False
    pointer = a.untyped_storage().data_ptr()
    return pointer != 0 and pointer == b.untyped_storage().data_ptr()  # 0: no memory behind it (meta, empty)


def clip_grad_norm(parameters: Iterable[nn.Parameter], max_norm: float, embedding: RowGradEmbedding
                   ) -> torch.Tensor:
    """torch's clip_grad_norm_ (L2), reading only the used rows of ``embedding``'s gradient.

    Gradients already within ``max_norm`` are left alone rather than multiplied by 1.
    """
    rows = embedding.grad_rows if embedding.weight.grad is embedding._grad_buffer else None
    sparse = embedding.weight if rows is not None else None
    dense = [p.grad for p in parameters if p.grad is not None and p is not sparse]
    norms = list(torch._foreach_norm(dense)) if dense else []
    if sparse is not None:
        used = sparse.grad.index_select(0, rows)
        norms.append(torch.linalg.vector_norm(used))
    total = torch.linalg.vector_norm(torch.stack(norms)) if norms else torch.tensor(0.0)
    coef = max_norm / (float(total) + 1e-6)
    if coef < 1:
        torch._foreach_mul_(dense, coef)
        if sparse is not None:
            sparse.grad.index_copy_(0, rows, used.mul_(coef))
    return total


def release_row_grad_embedding(embedding: RowGradEmbedding) -> None:
    """Back to a plain nn.Embedding, dropping the kept buffer (47 MB for MiniLM)."""
    if embedding.weight.grad is embedding._grad_buffer:
        embedding.weight.grad = None
    embedding.__dict__.pop("_grad_buffer", None)
    embedding.__dict__.pop("grad_rows", None)
    embedding.__class__ = nn.Embedding
