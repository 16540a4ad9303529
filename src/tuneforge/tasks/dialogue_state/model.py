"""The tracker's model: one encoder over (schema, dialogue) and small heads on the schema elements' markers.

Each head reads the hidden state of an element's marker token (encoding.py), which has attended to the
whole dialogue; nothing in a head is specific to a service, so an unseen service's schema is read as any:

- intent: a score per intent marker (NONE included), softmax over the service's intents;
- requested: a sigmoid per slot marker;
- status: unchanged / dontcare / active / carried, per slot marker;
- categorical value: a score per value marker, softmax over the slot's values;
- non-categorical value: start and end scores over the dialogue's tokens, from a query of the slot marker and
  a key of each token (scaled dot product), so a value may be a span of the user, system or an earlier turn.

Saved format (a folder): the encoder as a plain transformers model (``AutoModel`` loads it) plus
``state_head.safetensors`` and ``state_head.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from transformers.utils import ModelOutput

from tuneforge.errors import RunError

HEAD_WEIGHTS, HEAD_CONFIG = "state_head.safetensors", "state_head.json"
STATUS_COUNT = 4
NEG = -1e4  # masked scores: far below any real one, finite so that fp16/bf16 softmax stays defined


def _scorer(hidden: int, outputs: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, outputs))


def gather(hidden: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """hidden [B, T, d] at positions index [B, ...] → [B, ..., d]."""
    flat = index.reshape(index.shape[0], -1)
    picked = torch.gather(hidden, 1, flat.unsqueeze(-1).expand(-1, -1, hidden.shape[-1]))
    return picked.reshape(*index.shape, hidden.shape[-1])


@dataclass
class StateOutput(ModelOutput):
    intent: torch.Tensor | None = None  # [B, I]
    requested: torch.Tensor | None = None  # [B, S]
    status: torch.Tensor | None = None  # [B, S, 4]
    value: torch.Tensor | None = None  # [B, S, V]
    start: torch.Tensor | None = None  # [B, S, T]
    end: torch.Tensor | None = None  # [B, S, T]


class SchemaGuidedTracker(nn.Module):
    def __init__(self, encoder: nn.Module, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config
        d = encoder.config.hidden_size
        self.intent = _scorer(d, 1, dropout)
        self.requested = _scorer(d, 1, dropout)
        self.status = _scorer(d, STATUS_COUNT, dropout)
        self.value = _scorer(d, 1, dropout)
        self.span_query = nn.Linear(d, 2 * d)
        self.span_key = nn.Linear(d, 2 * d)
        self.dropout_p = dropout

    @property
    def base_model(self) -> nn.Module:
        """The encoder; adaptation methods and the frozen-layer cache look for it under this name."""
        return self.encoder

    def forward(self, input_ids, attention_mask, intent_at, intent_mask, slot_at, slot_mask, value_at, value_mask,
                span_ok, token_type_ids=None, **kwargs) -> StateOutput:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                              **kwargs).last_hidden_state
        intents = gather(hidden, intent_at)
        slots = gather(hidden, slot_at)
        values = gather(hidden, value_at)
        intent = self.intent(intents).squeeze(-1).float().masked_fill(~intent_mask, NEG)
        requested = self.requested(slots).squeeze(-1).float()
        status = self.status(slots).float()
        value = self.value(values).squeeze(-1).float().masked_fill(~value_mask, NEG)
        d = hidden.shape[-1]
        q_start, q_end = self.span_query(slots).chunk(2, dim=-1)
        k_start, k_end = self.span_key(hidden).chunk(2, dim=-1)
        scale = 1 / math.sqrt(d)
        blocked = ~span_ok[:, None, :]
        start = (torch.einsum("bsd,btd->bst", q_start, k_start) * scale).float().masked_fill(blocked, NEG)
        end = (torch.einsum("bsd,btd->bst", q_end, k_end) * scale).float().masked_fill(blocked, NEG)
        del slot_mask  # padded slots are dropped by the loss and the decoder, which know the real count
        return StateOutput(intent=intent, requested=requested, status=status, value=value, start=start, end=end)

    def save_pretrained(self, folder: str | Path, **kwargs) -> None:
        folder = Path(folder)
        self.encoder.save_pretrained(folder, **kwargs)
        heads = {k: v.contiguous() for k, v in self.state_dict().items() if not k.startswith("encoder.")}
        save_file(heads, str(folder / HEAD_WEIGHTS))
        (folder / HEAD_CONFIG).write_text(json.dumps({"dropout": self.dropout_p}), encoding="utf-8")

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> SchemaGuidedTracker:
        from transformers import AutoModel

        folder = Path(folder)
        head = json.loads((folder / HEAD_CONFIG).read_text(encoding="utf-8"))
        model = cls(AutoModel.from_pretrained(folder), head["dropout"])
        model.load_heads(folder)
        return model

    def load_heads(self, folder: str | Path) -> None:
        """The heads of a saved tracker (``folder`` holds them beside its encoder)."""
        path = Path(folder) / HEAD_WEIGHTS
        try:
            missing, unexpected = self.load_state_dict(load_file(str(path)), strict=False)
        except (OSError, RuntimeError) as e:  # unreadable, or a tensor of the wrong shape
            raise RunError(f"{path}: not the state heads of a tracker of this encoder "
                           f"({str(e).splitlines()[0]})") from None
        if unexpected or any(not k.startswith("encoder.") for k in missing):
            raise RunError(f"{path}: tensors that do not fit the tracker's heads "
                           f"({', '.join(sorted(unexpected)[:3]) or 'heads missing'})")


def state_loss(out: StateOutput, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Summed over the batch's (turn, service) inputs: intent, requested slots, slot statuses, and each new
    value (categorical choice or span start and end); targets of -100 are not trained."""
    loss = F.cross_entropy(out.intent, batch["target_intent"], reduction="sum")
    slot_mask = batch["slot_mask"]
    requested = F.binary_cross_entropy_with_logits(out.requested, batch["target_requested"].float(), reduction="none")
    loss = loss + (requested * slot_mask).sum()
    status = F.cross_entropy(out.status.flatten(0, 1), batch["target_status"].flatten(), reduction="sum",
                             ignore_index=-100)
    value = F.cross_entropy(out.value.flatten(0, 1), batch["target_value"].flatten(), reduction="sum",
                            ignore_index=-100)
    start = F.cross_entropy(out.start.flatten(0, 1), batch["target_start"].flatten(), reduction="sum",
                            ignore_index=-100)
    end = F.cross_entropy(out.end.flatten(0, 1), batch["target_end"].flatten(), reduction="sum", ignore_index=-100)
    return loss + status + value + (start + end) / 2
