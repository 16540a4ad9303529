"""The bi-encoder: one transformer embeds queries and passages alike (mean of the last hidden states over
real tokens, L2-normalized), so a passage's score is a dot product and a collection is embedded once.

Saved format: the encoder as a plain transformers model (``AutoModel.from_pretrained`` loads it; the
bundled MiniLM is a sentence-transformers model of this very pooling), so an index, another config's
``model.name`` or a sentence-transformers user can take it as it is.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from transformers.modeling_outputs import BaseModelOutput

from tuneforge.prompting.sentence_encoder import sentence_embedding


class BiEncoder(nn.Module):
    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config

    @property
    def base_model(self) -> nn.Module:
        """The encoder; adaptation methods and the frozen-layer cache look for it under this name."""
        return self.encoder

    def embed(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        return sentence_embedding(self.encoder, input_ids, attention_mask, token_type_ids)

    def forward(self, input_ids, attention_mask, token_type_ids=None, **kwargs) -> BaseModelOutput:
        """The embeddings as ``last_hidden_state`` [batch, hidden] (the scoring path "embeddings" reads them)."""
        return BaseModelOutput(last_hidden_state=self.embed(input_ids, attention_mask, token_type_ids))

    def save_pretrained(self, folder: str | Path, **kwargs) -> None:
        self.encoder.save_pretrained(folder, **kwargs)

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> BiEncoder:
        from transformers import AutoModel

        return cls(AutoModel.from_pretrained(folder, add_pooling_layer=False))  # as built: no pooler
