"""Continued pretraining on unlabelled text: masked-LM for encoders, causal LM for decoders.

The objective comes from the backbone's own config (``objective_of``): a decoder (``is_decoder``, a
``...ForCausalLM`` / ``...LMHeadModel`` architecture, or a model type only transformers' causal-LM
table knows) learns the next token; any other model with a masked-LM head in transformers learns
BERT's masked tokens (masking.py: rate, 80/10/10, by token or whole word, never a special token).
``task_options.objective`` overrides the choice.

Documents are read as a stream (data/text_stream.py) and packed into full rows of ``model.max_length``
(text_rows.py): no padding, no attention mask to speak of, every slot a real token. Masks are drawn
anew for every training batch; evaluation draws them from a fixed seed, so the masked-token perplexity
of the untrained model (``zero_shot``) and of the trained one score the very same positions. Causal rows
run on across document boundaries (the separator token between them), as GPT-style pretraining does.

The model folder holds the whole LM (backbone and its LM head), so ``AutoModel`` loads the backbone
from it and any task config can start from it (``model.name: runs/<name>/model``); adapter methods save
their adapter there, which ``tuneforge export --merge`` folds into one such folder.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tuneforge.data.examples import ReadResult
from tuneforge.data.text_stream import Document, Documents, load_document_splits, read_documents
from tuneforge.engine.progress import bar
from tuneforge.errors import ConfigError, RunError
from tuneforge.tasks.base import TaskBase
from tuneforge.tasks.common.dropout import set_dropout
from tuneforge.tasks.common.model_files import STATE_FILE, read_model_json
from tuneforge.tasks.common.scored_logits import scored_logits
from tuneforge.tasks.pretrain.masking import IGNORE_INDEX, continuation_table, mask_tokens
from tuneforge.tasks.pretrain.text_rows import Rows, pack_documents
from tuneforge.util.atomic import write_json

EVAL_SEED = 0  # evaluation masks: the same positions in every evaluation of every run
MLM, CAUSAL = "mlm", "causal"
CAUSAL_ARCHITECTURES = ("ForCausalLM", "LMHeadModel")


def objective_of(config) -> str:
    """mlm or causal, read from a loaded transformers config (see the module docstring)."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    architectures = getattr(config, "architectures", None) or []
    if getattr(config, "is_decoder", False) or any(a.endswith(CAUSAL_ARCHITECTURES) for a in architectures):
        return CAUSAL
    model_type = getattr(config, "model_type", "")
    if model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        return MLM
    if model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return CAUSAL
    raise ConfigError(f"model type '{model_type}' has neither a masked-LM nor a causal-LM head in transformers; "
                      "pretraining cannot train it")


class Pretrain(TaskBase):
    name = "pretrain"

    # data -------------------------------------------------------------------------------------
    @classmethod
    def read(cls, path: str, cfg: Any, strict: bool = True, labelled: bool = True) -> ReadResult:
        return read_documents(path, cfg.data, strict)

    @classmethod
    def load_splits(cls, cfg: Any, strict: bool = True) -> dict[str, ReadResult]:
        return load_document_splits(cfg.data, strict)

    @classmethod
    def main_metric(cls, cfg: Any) -> str:
        return "perplexity"

    @classmethod
    def metric_names(cls, cfg: Any) -> tuple[str, ...]:
        return ("perplexity", "loss")

    @classmethod
    def for_training(cls, tokenizer, cfg: Any, splits: dict[str, ReadResult]) -> Pretrain:
        return cls(tokenizer, cfg)

    @classmethod
    def load(cls, tokenizer, cfg: Any, folder: Path) -> Pretrain:
        state = read_model_json(Path(folder) / STATE_FILE, required=False) or {}
        if not isinstance(state, dict):
            raise RunError(f"{Path(folder) / STATE_FILE}: expected a JSON object; the run's model folder is damaged")
        return cls(tokenizer, cfg, state.get("objective"))

    def __init__(self, tokenizer, cfg: Any, objective: str | None = None) -> None:
        self.tokenizer = tokenizer
        self.cfg = cfg
        self.options = cfg.task_options
        self.objective = objective or self._objective()
        self._rows: dict[int, tuple[Documents, Rows]] = {}  # id(documents) -> their rows (train, dev, test)
        if self.objective == MLM:
            if tokenizer.mask_token_id is None:
                raise ConfigError(f"model '{cfg.model.name}': its tokenizer has no mask token, so it cannot learn "
                                  "the masked-LM objective; set task_options.objective: causal")
            self.special = torch.tensor(sorted(set(tokenizer.all_special_ids)), dtype=torch.long)
            self.continues = continuation_table(tokenizer) if self.options.whole_word_masking else None

    def _objective(self) -> str:
        if self.options.objective != "auto":
            return self.options.objective
        from transformers import AutoConfig

        from tuneforge.models import load_pretrained

        return objective_of(load_pretrained(self.cfg.model.name, AutoConfig))

    def save(self, folder: Path) -> None:
        write_json(Path(folder) / STATE_FILE, self.summary())

    def recalibrated(self, cfg: Any) -> Pretrain:
        return type(self)(self.tokenizer, cfg, self.objective)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"objective": self.objective}
        if self.objective == MLM:
            out.update(mask_rate=self.options.mask_rate, whole_word_masking=self.options.whole_word_masking)
        return out

    # encode -----------------------------------------------------------------------------------
    def encode(self, examples: Documents, with_labels: bool = True) -> Rows:
        """Packed rows of the documents (tokenized once per split and kept)."""
        known = self._rows.get(id(examples))
        if known is not None and known[0] is examples:
            return known[1]
        rows = pack_documents((d.text for d in examples), self.tokenizer, self.cfg.model.max_length)
        self._rows[id(examples)] = (examples, rows)
        return rows

    def collate(self, features: list[np.ndarray], generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        ids = torch.from_numpy(np.stack(features)).long()
        if self.objective == CAUSAL:
            targets = torch.full_like(ids, IGNORE_INDEX)
            targets[:, :-1] = ids[:, 1:]
            inputs = ids
        else:
            inputs, targets = mask_tokens(ids, self.special, self.tokenizer.mask_token_id, len(self.tokenizer),
                                          self.options.mask_rate, self.continues, generator)
        return {"input_ids": inputs, "targets": targets, "attention_mask": torch.ones_like(ids)}

    # model and loss ---------------------------------------------------------------------------
    def _auto_class(self):
        from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

        return AutoModelForCausalLM if self.objective == CAUSAL else AutoModelForMaskedLM

    def build_model(self, name: str, dropout: float | None):
        from transformers import AutoConfig

        from tuneforge.models import load_pretrained

        config = set_dropout(load_pretrained(name, AutoConfig), dropout)
        if self.objective == MLM:
            config.is_decoder = False
        return load_pretrained(name, self._auto_class(), config=config, dtype=torch.float32)

    def load_model(self, folder: Path):
        return self._auto_class().from_pretrained(folder, dtype=torch.float32)

    def compute_loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Summed cross-entropy over the scored positions; the vocabulary projection runs on those only."""
        targets = batch["targets"]
        scored = targets != IGNORE_INDEX
        inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"],
                  **({"use_cache": False} if self.objective == CAUSAL else {})}
        logits = scored_logits(model, inputs, scored)
        loss = F.cross_entropy(logits.float(), targets[scored], reduction="sum")
        return loss, int(scored.sum())

    def count_items(self, batch: dict[str, torch.Tensor]) -> int:
        return int((batch["targets"] != IGNORE_INDEX).sum())

    # metrics ----------------------------------------------------------------------------------
    @torch.inference_mode()
    def _loss(self, model, rows, batch_size: int = 64, batch_tokens: int | None = None) -> tuple[float, int]:
        from tuneforge.data.batching import eval_batches

        generator = torch.Generator().manual_seed(EVAL_SEED)
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        total, count = 0.0, 0
        try:
            with bar(len(rows), "perplexity", "row") as shown:
                for ids in eval_batches([len(r) for r in rows], batch_size, batch_tokens):
                    batch = self.collate([rows[i] for i in ids], generator)
                    loss, n = self.compute_loss(model, {k: v.to(device) for k, v in batch.items()})
                    total, count = total + float(loss), count + n
                    shown.update(len(ids))
        finally:
            model.train(was_training)
        return total, count

    def evaluate(self, model, examples: Documents, tune: bool = False, **batching: Any) -> dict[str, Any]:
        rows = self.encode(examples)
        total, count = self._loss(model, rows, **batching)
        mean = total / max(count, 1)
        return {"perplexity": math.exp(min(mean, 700.0)), "loss": mean, "examples": rows.documents,
                "rows": len(rows), "tokens": rows.tokens, "scored_tokens": count}

    def markdown(self, scores: dict[str, Any], title: str) -> str:
        what = "masked-token" if self.objective == MLM else "next-token"
        return "\n".join([
            f"### {title}", "", f"{scores.get('examples', 0)} documents, {scores.get('tokens', 0)} tokens in "
            f"{scores.get('rows', 0)} rows; {what} perplexity over {scores.get('scored_tokens', 0)} scored tokens.",
            "", "| metric | value |", "|---|---:|",
            *(f"| {k} | {scores[k]:.4f} |" for k in ("perplexity", "loss") if isinstance(scores.get(k), float))]) + "\n"

    # use --------------------------------------------------------------------------------------
    @staticmethod
    def prediction_input(example: Document) -> str:
        return example.text

    def predict_texts(self, model, inputs: list[Any], **batching: Any) -> list[dict[str, Any]]:
        """For each text (a string or {"text"}): its perplexity under the model, alone in one row."""
        out = []
        for item in inputs:
            text = item["text"] if isinstance(item, dict) else item
            rows = pack_documents([text], self.tokenizer, self.cfg.model.max_length)
            total, count = self._loss(model, rows, **batching)
            out.append({"text": text, "perplexity": math.exp(min(total / max(count, 1), 700.0)),
                        "scored_tokens": count})
        return out


def check_pretrain(cfg, tokenizer=None) -> dict[str, Any]:
    """check-data: documents per split (and their tokens and full rows, given the tokenizer)."""
    splits = load_document_splits(cfg.data, strict=False)
    report: dict[str, Any] = {"kind": "replies", "task": cfg.task, "splits": {}, "problems": 0}
    for name, result in splits.items():
        info: dict[str, Any] = {"examples": len(result.examples), "references": 0, "multi_reference": 0,
                                "malformed": result.problems}
        if tokenizer is not None and len(result.examples) and not result.problems:
            rows = pack_documents((d.text for d in result.examples), tokenizer, cfg.model.max_length)
            info.update(tokens=rows.tokens, rows=len(rows))
        report["problems"] += len(result.problems)
        report["splits"][name] = info
    return report
