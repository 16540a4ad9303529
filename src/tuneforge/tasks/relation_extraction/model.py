"""A relation classifier over entity-marker representations (the "entity start" head of Baldini Soares et al., 2019).

The sentence carries marker tokens around both entities; the head reads the encoder's hidden states
at the ``<e1>`` and ``<e2>`` start markers, concatenated, rather than [CLS] alone.

Saved format (a folder): the encoder as a plain transformers model (``config.json`` +
``model.safetensors``; ``AutoModel.from_pretrained`` loads it, with the markers in its resized
vocabulary), plus ``relation_head.safetensors`` (``classifier.weight`` [labels, 2·hidden],
``classifier.bias``) and ``relation_head.json`` (labels count, dropout).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

HEAD_WEIGHTS, HEAD_CONFIG = "relation_head.safetensors", "relation_head.json"


class EntityMarkerClassifier(nn.Module):
    def __init__(self, encoder: nn.Module, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(2 * encoder.config.hidden_size, num_labels)

    @property
    def base_model(self) -> nn.Module:
        """The encoder; adaptation methods and the frozen-layer cache look for it under this name."""
        return self.encoder

    def forward(self, input_ids, attention_mask, e1_index, e2_index, token_type_ids=None, labels=None,
                **kwargs) -> SequenceClassifierOutput:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                              **kwargs).last_hidden_state
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        pooled = torch.cat([hidden[rows, e1_index], hidden[rows, e2_index]], dim=-1)
        logits = self.classifier(self.dropout(pooled))
        loss = F.cross_entropy(logits.float(), labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)

    def save_pretrained(self, folder: str | Path, **kwargs) -> None:
        folder = Path(folder)
        self.encoder.save_pretrained(folder, **kwargs)
        save_file({k: v.contiguous() for k, v in self.classifier.state_dict().items()},
                  str(folder / HEAD_WEIGHTS))
        (folder / HEAD_CONFIG).write_text(
            json.dumps({"num_labels": self.classifier.out_features, "dropout": self.dropout.p}), encoding="utf-8"
        )

    @property
    def num_labels(self) -> int:
        return self.classifier.out_features

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> EntityMarkerClassifier:
        from transformers import AutoModel

        folder = Path(folder)
        head = json.loads((folder / HEAD_CONFIG).read_text(encoding="utf-8"))
        model = cls(AutoModel.from_pretrained(folder), head["num_labels"], head["dropout"])
        model.classifier.load_state_dict(load_file(str(folder / HEAD_WEIGHTS)))
        return model
