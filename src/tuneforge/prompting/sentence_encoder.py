"""A sentence encoder with a classification head over its embeddings.

The embedding of a text is the mean of its last hidden states over real tokens, L2-normalized (how
the bundled MiniLM, a sentence-transformers model, was trained to be used). The head scores each label:

- ``similarity``: cosine similarity to each label's embedding (the mean of its description's and
  example phrases' embeddings), times ``scale`` — zero-shot needs nothing else;
- ``logistic``: a linear layer on the embedding, fitted after training (``prompting/logistic_head.py``).

Saved format (a folder): the encoder as a plain transformers model (``AutoModel.from_pretrained``
loads it), plus ``embedding_head.safetensors`` (``weight`` [labels, hidden], ``bias`` [labels]) and
``embedding_head.json`` (kind, scale).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

HEAD_WEIGHTS, HEAD_CONFIG = "embedding_head.safetensors", "embedding_head.json"


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def sentence_embedding(encoder: nn.Module, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
    """The encoder's last hidden states mean-pooled over real tokens, L2-normalized, in float32."""
    hidden = encoder(input_ids=input_ids, attention_mask=attention_mask,
                     token_type_ids=token_type_ids).last_hidden_state
    return F.normalize(mean_pool(hidden, attention_mask).float(), dim=-1)


class SentenceEncoderClassifier(nn.Module):
    def __init__(self, encoder: nn.Module, num_labels: int, kind: str = "similarity", scale: float = 20.0) -> None:
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config
        self.kind = kind
        self.scale = scale
        hidden = encoder.config.hidden_size
        # Not parameters: the head is computed (label embeddings) or fitted (logistic) outside the optimizer.
        self.register_buffer("head_weight", torch.zeros(num_labels, hidden))
        self.register_buffer("head_bias", torch.zeros(num_labels))

    @property
    def base_model(self) -> nn.Module:
        """The encoder; adaptation methods and the frozen-layer cache look for it under this name."""
        return self.encoder

    def embed(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        return sentence_embedding(self.encoder, input_ids, attention_mask, token_type_ids)

    @property
    def num_labels(self) -> int:
        return len(self.head_weight)

    def set_head(self, weight: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        self.head_weight = weight.detach().float().to(self.head_weight.device)
        self.head_bias = (bias.detach().float() if bias is not None else torch.zeros(len(weight))).to(
            self.head_weight.device)

    def forward(self, input_ids, attention_mask, token_type_ids=None, **kwargs) -> SequenceClassifierOutput:
        embedding = self.embed(input_ids, attention_mask, token_type_ids)
        if self.kind == "similarity":
            logits = self.scale * embedding @ F.normalize(self.head_weight, dim=-1).T
        else:
            logits = embedding @ self.head_weight.T + self.head_bias
        return SequenceClassifierOutput(logits=logits)

    def save_pretrained(self, folder: str | Path, **kwargs) -> None:
        folder = Path(folder)
        self.encoder.save_pretrained(folder, **kwargs)
        save_file({"weight": self.head_weight.contiguous().cpu(), "bias": self.head_bias.contiguous().cpu()},
                  str(folder / HEAD_WEIGHTS))
        (folder / HEAD_CONFIG).write_text(json.dumps({"kind": self.kind, "scale": self.scale}), encoding="utf-8")

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> SentenceEncoderClassifier:
        from transformers import AutoModel

        from tuneforge.errors import RunError

        folder = Path(folder)
        try:
            head = json.loads((folder / HEAD_CONFIG).read_text(encoding="utf-8"))
            tensors = load_file(str(folder / HEAD_WEIGHTS))
        except (OSError, ValueError) as exc:
            raise RunError(f"{folder}: the embedding head is missing or damaged ({exc})") from None
        model = cls(AutoModel.from_pretrained(folder), len(tensors["weight"]), head["kind"], head["scale"])
        model.set_head(tensors["weight"], tensors["bias"])
        return model
