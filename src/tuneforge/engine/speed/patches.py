"""The training loop's model patches, installed together and undone together on any exit.

Fast dropout, the fast-dropout attention function and the row-gradient embedding each change the
model in place (module classes, the attention implementation). Each undo is registered on one
ExitStack as soon as its patch is in, so a normal end, an exception or Ctrl-C in the middle of
training all hand back the model as it came: torch's modules, SDPA, a plain embedding.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

from torch import nn

from tuneforge.engine.speed.attention_dropout import restore_sdpa, use_fast_attention_dropout
from tuneforge.engine.speed.embedding_grad import RowGradEmbedding, release_row_grad_embedding, use_row_grad_embedding
from tuneforge.engine.speed.fast_dropout import restore_dropout, use_fast_dropout

if TYPE_CHECKING:
    from tuneforge.config.schema import TrainingConfig


@contextmanager
def cpu_patches(model: nn.Module, cfg: TrainingConfig, on_cpu: bool, world: int) -> Iterator[RowGradEmbedding | None]:
    """Patch ``model`` for training as ``cfg`` asks; yields the row-gradient embedding (None if not in use).

    The attention function is switched on CPU only, the row-gradient embedding on one CPU process only
    (DDP reduces gradients from hooks it bypasses); FastDropout falls back to torch's by itself elsewhere.
    """
    with ExitStack() as undo:
        if cfg.fast_dropout and on_cpu:
            attention = use_fast_attention_dropout(model)
            if attention is not None:
                undo.callback(restore_sdpa, attention)
        if cfg.fast_dropout:
            undo.callback(restore_dropout, use_fast_dropout(model))
        row_grad = None
        if cfg.embedding_row_grad and world == 1 and on_cpu:
            row_grad = use_row_grad_embedding(model)
            if row_grad is not None:
                undo.callback(release_row_grad_embedding, row_grad)
        yield row_grad
