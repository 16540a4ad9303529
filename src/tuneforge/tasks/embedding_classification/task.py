"""Classification by sentence embeddings: zero-shot from label descriptions, schema-guided matching, and
few-shot contrastive fine-tuning (SetFit-style), all one task with ``task_options.contrastive`` choosing.

- ``none``: nothing trains. The similarity head answers with the label whose description (or name,
  and example phrases) is nearest to the text; ``predict`` and ``evaluate`` work from the config alone.
  With ``head: logistic`` a linear head is fitted on the frozen embeddings of the training examples
  (the frozen-embedding baseline).
- ``pairs``: from a few examples per label, the encoder is trained contrastively on bounded positive
  pairs with in-batch negatives (``prompting/pair_sampling.py``), then a logistic head is fitted.
- ``descriptions``: the encoder is trained to pull each text to its label's description and away from
  the other candidates' (schema-guided); it then serves labels it never saw, from their descriptions.
  Its saved ``model/`` folder is a plain encoder, so another config can use it as ``model.name`` with new labels.

A text may carry ``candidates`` (an SGD turn: its service's intents and NONE): it is chosen among them
only, in training and in prediction. Out-of-scope answers come from a threshold on the top score.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from tuneforge.data.examples import ReadResult, TextExample
from tuneforge.data.loading import load_splits
from tuneforge.data.text_loading import read_texts
from tuneforge.engine.inference import predict_outputs
from tuneforge.errors import ConfigError, DataError
from tuneforge.prompting.label_specs import LabelSpec, merged_labels, readable
from tuneforge.tasks.base import IGNORE
from tuneforge.tasks.classification.base import ClassificationTask
from tuneforge.tasks.classification.metrics import markdown_report, single_label_scores
from tuneforge.tasks.classification.out_of_scope import oos_scores, tune_threshold
from tuneforge.tasks.common.collate import padded_inputs

if TYPE_CHECKING:
    from tuneforge.config.schema import RunConfig


@dataclass
class EmbeddingFeature:
    input_ids: list[int]
    label: int | None
    candidates: list[int] | None = None

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class PairFeature:
    input_ids: list[int]
    partner_ids: list[int]
    label: int

    def __len__(self) -> int:
        return len(self.input_ids) + len(self.partner_ids)


class EmbeddingClassification(ClassificationTask):
    name = "embedding-classification"

    def __init__(self, tokenizer, labels: list[str], cfg: RunConfig, specs: list[LabelSpec],
                 state: dict[str, Any] | None = None, train_examples: list[TextExample] | None = None) -> None:
        self.tokenizer, self.labels, self.cfg = tokenizer, labels, cfg
        self.options = cfg.task_options
        self.label2id = {label: i for i, label in enumerate(labels)}
        self.specs = {s.name: s for s in specs}
        self.oos = self.options.out_of_scope_label
        state = state or {}
        threshold = self.options.oos_threshold
        self.oos_threshold: float | None = state.get("oos_threshold") if threshold == "auto" else threshold
        self.train_examples = train_examples or []
        self.train_over_length = 0  # training texts longer than model.max_length (embedded from their start)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    # data -------------------------------------------------------------------------------------
    @staticmethod
    def read(path: str, cfg: RunConfig, strict: bool = True, labelled: bool = True) -> ReadResult:
        if cfg.data.format == "sgd-intents":
            from tuneforge.data.sgd_intents import read_sgd_intents

            return read_sgd_intents(path, strict)
        return read_texts(path, cfg.data, strict, labelled)

    @classmethod
    def load_splits(cls, cfg: RunConfig, strict: bool = True) -> dict[str, ReadResult]:
        read = lambda p, _d, s: cls.read(p, cfg, s)  # noqa: E731
        if cfg.data.train is None:  # zero-shot: only what is scored
            return {name: read(getattr(cfg.data, name), cfg.data, strict) for name in ("dev", "test")
                    if getattr(cfg.data, name)}
        return load_splits(cfg.data, strict, read, stratify_key=lambda e: e.label)

    @staticmethod
    def main_metric(cfg: RunConfig) -> str:
        return "accuracy"

    @staticmethod
    def metric_names(cfg: RunConfig) -> tuple[str, ...]:
        oos = ("in_scope_accuracy", "oos_recall", "oos_precision", "oos_f1") if cfg.task_options.out_of_scope_label \
            else ()
        return ("accuracy", "macro_f1", *oos)

    @staticmethod
    def label_set(examples: list[TextExample], cfg: RunConfig) -> list[str]:
        """The described labels in their order, then labels only the training data has, sorted."""
        o = cfg.task_options
        described = [s.name for s in merged_labels(o.labels, o.labels_file)]
        known = set(described) | {o.out_of_scope_label}
        return described + sorted({e.label for e in examples if e.label not in known})

    @staticmethod
    def check_labels(split: str, result: ReadResult, labels: list[str], cfg: RunConfig) -> None:
        known = set(labels) | {cfg.task_options.out_of_scope_label} - {None}
        for example in result.examples:
            for label in [*example.labels, *(example.candidates or [])]:
                if label not in known:
                    raise DataError(f"{example.where()}: label {label!r} in the {split} set is not a label of the "
                                    f"model ({len(labels)} labels: describe it in task_options.labels or "
                                    "labels_file)")

    @classmethod
    def for_training(cls, tokenizer, cfg: RunConfig, splits: dict[str, ReadResult]):
        o = cfg.task_options
        specs = merged_labels(o.labels, o.labels_file)
        train = splits["train"].examples if "train" in splits else []
        labels = cls.label_set(train, cfg)
        if not labels:
            raise ConfigError("task_options: no labels (give task_options.labels, labels_file or data.train)")
        for name in ("train", "dev", "test"):
            if name in splits:
                cls.check_labels(name, splits[name], labels, cfg)
        if o.needs_train_data():
            seen = {e.label for e in train}
            missing = [x for x in labels if x not in seen and (o.head_kind == "logistic" or o.contrastive == "pairs")]
            if missing:
                raise ConfigError(f"task_options.labels: label '{missing[0]}' has no examples in data.train "
                                  f"({cfg.data.train}); few-shot training needs at least one example per label"
                                  f"{f' ({len(missing)} labels lack them)' if len(missing) > 1 else ''}")
        return cls(tokenizer, labels, cfg, specs, train_examples=train)

    @classmethod
    def from_config(cls, tokenizer, labels: list[str], cfg: RunConfig, state: dict[str, Any] | None = None,
                    train_examples: list[TextExample] | None = None):
        specs = [LabelSpec.model_validate(s) for s in (state or {}).get("label_specs", [])]
        if not specs:
            o = cfg.task_options
            specs = merged_labels(o.labels, o.labels_file)
        return cls(tokenizer, labels, cfg, specs, state, train_examples)

    def state(self) -> dict[str, Any]:
        # The label texts travel with the run: the labels file may change or move after training.
        return {"oos_threshold": self.oos_threshold,
                "label_specs": [s.model_dump() for s in self.specs.values()]}

    def recalibrated(self, cfg: RunConfig):
        return type(self)(self.tokenizer, self.labels, cfg, list(self.specs.values()))

    def summary(self) -> dict[str, Any]:
        return {"labels": self.labels, "head": self.options.head_kind, "contrastive": self.options.contrastive,
                "train_texts_over_max_length": self.train_over_length}

    # model ------------------------------------------------------------------------------------
    def build_model(self, name: str, dropout: float | None):
        from transformers import AutoConfig, AutoModel

        from tuneforge.models import load_pretrained
        from tuneforge.prompting.sentence_encoder import SentenceEncoderClassifier
        from tuneforge.tasks.common.dropout import set_dropout

        config = set_dropout(load_pretrained(name, AutoConfig), dropout)
        encoder = load_pretrained(name, AutoModel, config=config, add_pooling_layer=False)
        return SentenceEncoderClassifier(encoder, len(self.labels), self.options.head_kind, self.options.scale)

    def load_model(self, folder):
        from tuneforge.prompting.sentence_encoder import SentenceEncoderClassifier

        return SentenceEncoderClassifier.from_pretrained(folder)

    def after_training(self, model) -> None:
        """Compute or fit the head for the encoder as it is now: label embeddings, or the logistic layer."""
        if self.options.head_kind == "similarity":
            model.set_head(self._label_embeddings(model))
            return
        from tuneforge.prompting.logistic_head import fit_logistic

        embeddings = self.embed_texts(model, [e.text for e in self.train_examples])
        targets = torch.tensor([self.label2id[e.label] for e in self.train_examples])
        model.set_head(*fit_logistic(embeddings, targets, len(self.labels), self.options.logistic_c))

    def label_texts(self, label: str) -> list[str]:
        spec = self.specs.get(label)
        return spec.texts(self.options.label_text) if spec else [readable(label)]

    def _label_embeddings(self, model) -> torch.Tensor:
        texts = [self.label_texts(label) for label in self.labels]
        flat = self.embed_texts(model, [t for group in texts for t in group])
        out, start = [], 0
        for group in texts:
            out.append(F.normalize(flat[start:start + len(group)].mean(0), dim=-1))
            start += len(group)
        return torch.stack(out)

    def embed_texts(self, model, texts: list[str], batch_size: int = 128) -> torch.Tensor:
        """Normalized embeddings of plain texts (eval mode, no gradient), in order."""
        if not texts:
            return torch.zeros(0, model.config.hidden_size)
        encoded = self.tokenizer(texts, truncation=True, max_length=self.cfg.model.max_length)["input_ids"]
        order = np.argsort([len(x) for x in encoded], kind="stable")
        out = torch.zeros(len(texts), model.config.hidden_size)
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                rows = order[start:start + batch_size]
                batch = padded_inputs([encoded[i] for i in rows], self.pad_id)
                out[torch.as_tensor(rows)] = model.embed(batch["input_ids"].to(device),
                                                         batch["attention_mask"].to(device)).cpu()
        model.train(was_training)
        return out

    # features and loss ------------------------------------------------------------------------
    def encode(self, examples: list[TextExample], with_labels: bool = True) -> list[Any]:
        """Texts with their label and candidates; for training with ``contrastive: pairs``, positive pairs."""
        limit = self.cfg.model.max_length
        encoded = self.tokenizer([e.text for e in examples], truncation=True, max_length=limit,
                                 return_overflowing_tokens=True)
        ids: list[list[int]] = [[] for _ in examples]
        cut = set()
        for window, sample in zip(encoded["input_ids"], encoded["overflow_to_sample_mapping"], strict=True):
            if ids[sample]:
                cut.add(sample)  # a second window: the text is longer than model.max_length
            else:
                ids[sample] = window
        if with_labels:  # a sentence embedding reads the first max_length sub-words: say how many texts are cut
            self.train_over_length = len(cut)
            if cut:
                print(f"tuneforge: {len(cut)} of {len(examples)} training texts are longer than model.max_length="
                      f"{limit} sub-words and are embedded from their first {limit}", file=sys.stderr)
        labels = [self.label2id.get(e.label, IGNORE) if with_labels else None for e in examples]
        if with_labels and self.options.contrastive == "pairs":
            from tuneforge.prompting.pair_sampling import positive_pairs

            pairs = positive_pairs(labels, self.options.pairs_per_example, self.options.max_pairs,
                                   self.cfg.training.seed)
            return [PairFeature(ids[a], ids[b], labels[a]) for a, b in pairs.tolist()]
        return [EmbeddingFeature(ids[i], labels[i],
                                 [self.label2id[c] for c in e.candidates] if e.candidates else None)
                for i, e in enumerate(examples)]

    def collate(self, features: list[Any]) -> dict[str, torch.Tensor]:
        batch = padded_inputs([f.input_ids for f in features], self.pad_id)
        if isinstance(features[0], PairFeature):
            partners = padded_inputs([f.partner_ids for f in features], self.pad_id)
            batch["partner_input_ids"], batch["partner_attention_mask"] = partners["input_ids"], \
                partners["attention_mask"]
        if features[0].label is not None:
            batch["labels"] = torch.tensor([f.label for f in features], dtype=torch.long)
        if any(getattr(f, "candidates", None) for f in features):
            allowed = torch.zeros(len(features), len(self.labels), dtype=torch.bool)
            for row, f in enumerate(features):
                allowed[row, f.candidates if f.candidates else slice(None)] = True
            batch["candidates"] = allowed
        return batch

    def compute_loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        labels = batch["labels"]
        texts = model.embed(batch["input_ids"], batch["attention_mask"])
        if "partner_input_ids" in batch:  # pairs: each text's partner is its positive, the others' are negatives
            partners = model.embed(batch["partner_input_ids"], batch["partner_attention_mask"])
            scores = self.options.scale * texts @ partners.T
            same = labels[:, None] == labels[None, :]
            same.fill_diagonal_(False)  # another pair's partner of the same label is no negative
            scores = scores.masked_fill(same, float("-inf"))
            target = torch.arange(len(labels), device=scores.device)
            loss = (F.cross_entropy(scores, target, reduction="sum")
                    + F.cross_entropy(scores.T, target, reduction="sum")) / 2
            return loss, len(labels)
        descriptions = self._label_batch(model)
        scores = self.options.scale * texts @ descriptions.T
        if "candidates" in batch:
            scores = scores.masked_fill(~batch["candidates"], float("-inf"))
        loss = F.cross_entropy(scores, labels, reduction="sum", ignore_index=IGNORE)
        return loss, int((labels != IGNORE).sum())

    def _label_batch(self, model) -> torch.Tensor:
        """Every label's description embedded with gradients (they are few; the encoder learns from both sides)."""
        if not hasattr(self, "_label_ids"):
            ids = self.tokenizer([self.label_texts(x)[0] for x in self.labels], truncation=True,
                                 max_length=self.cfg.model.max_length)["input_ids"]
            self._label_ids = padded_inputs(ids, self.pad_id)
        device = next(model.parameters()).device
        return model.embed(self._label_ids["input_ids"].to(device), self._label_ids["attention_mask"].to(device))

    # decode -----------------------------------------------------------------------------------
    def scores(self, model, examples: list[TextExample], batch_size: int = 64,
               batch_tokens: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities [examples, labels], confidence [examples, labels]); labels outside an example's
        candidates get 0. Confidence is the cosine similarity (similarity head) or the probability."""
        features = self.encode(examples, with_labels=False)
        logits = predict_outputs(model, features, self.collate, "class-probabilities", batch_size, batch_tokens)
        if not logits:
            return np.zeros((0, len(self.labels))), np.zeros((0, len(self.labels)))
        logits = np.stack(logits)
        for row, e in enumerate(examples):
            if e.candidates:
                keep = np.zeros(len(self.labels), dtype=bool)
                keep[[self.label2id[c] for c in e.candidates]] = True
                logits[row, ~keep] = -np.inf
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs = z / z.sum(axis=1, keepdims=True)
        if self.options.head_kind == "similarity":
            confidence = np.where(np.isfinite(logits), np.clip(logits / self.options.scale, 0, None), 0.0)
        else:
            confidence = probs
        return probs, confidence

    def decide(self, confidence: np.ndarray) -> list[str]:
        top = confidence.argmax(axis=1)
        return [self.oos if self.oos and self.oos_threshold is not None and confidence[row, i] < self.oos_threshold
                else self.labels[i] for row, i in enumerate(top)]

    def calibrate(self, model, examples: list[TextExample], confidence: np.ndarray | None = None,
                  **batching: Any) -> None:
        if self.options.oos_threshold != "auto":
            return
        if confidence is None:
            confidence = self.scores(model, examples, **batching)[1]
        o = self.options
        self.oos_threshold = tune_threshold(confidence, [e.label for e in examples], self.labels, self.oos,
                                            o.oos_calibration, o.oos_in_scope_budget)["threshold"]

    def evaluate(self, model, examples: list[TextExample], tune: bool = False, **batching: Any) -> dict[str, Any]:
        if tune and self.options.trains_model():  # dev during training: the head follows the encoder
            self.after_training(model)
        confidence = self.scores(model, examples, **batching)[1]
        if tune:
            self.calibrate(model, examples, confidence)
        predicted = self.decide(confidence)
        gold = [e.label for e in examples]
        answers = self.labels + ([self.oos] if self.oos and self.oos not in self.label2id else [])
        scores = single_label_scores(gold, predicted, answers)
        if self.oos:
            scores.update(oos_scores(gold, predicted, self.oos), oos_threshold=self.oos_threshold)
        groups = sorted({e.group for e in examples if e.group is not None})
        if groups:
            scores["per_group"] = {
                g: {"accuracy": float(np.mean([p == e.label for p, e in zip(predicted, examples, strict=True)
                                               if e.group == g])),
                    "examples": sum(e.group == g for e in examples)} for g in groups}
        return scores

    def markdown(self, scores: dict[str, Any], title: str) -> str:
        headline = [("accuracy", "accuracy"), ("macro_f1", "macro F1"), ("in_scope_accuracy", "in-scope accuracy"),
                    ("oos_recall", "out-of-scope recall"), ("oos_precision", "out-of-scope precision")]
        text = markdown_report(scores, title, headline)
        if scores.get("per_group"):
            text += "\n| group | examples | accuracy |\n|---|---:|---:|\n" + "".join(
                f"| {g} | {r['examples']} | {r['accuracy']:.4f} |\n" for g, r in scores["per_group"].items())
        if scores.get("oos_threshold") is not None:
            text += f"\nOut-of-scope threshold (top score): {scores['oos_threshold']:.4f}\n"
        return text

    # use --------------------------------------------------------------------------------------
    @staticmethod
    def prediction_input(example: TextExample) -> str:
        return example.text

    def predict_texts(self, model, texts: list[str], **batching: Any) -> list[dict[str, Any]]:
        examples = [TextExample(t, None, f"input:{i + 1}") for i, t in enumerate(texts)]
        if not examples:
            return []
        probs, confidence = self.scores(model, examples, **batching)
        decided = self.decide(confidence)
        k = min(self.options.top_k, len(self.labels))
        results = []
        for example, p, c, answer in zip(examples, probs, confidence, decided, strict=True):
            order = np.argsort(-c)[:k]
            result: dict[str, Any] = {"text": example.text, "label": answer, "probability": round(float(p.max()), 4),
                                      "score": round(float(c.max()), 4)}
            if self.oos:
                result["out_of_scope"] = answer == self.oos
            result["top_k"] = [{"label": self.labels[j], "probability": round(float(p[j]), 4),
                                "score": round(float(c[j]), 4)} for j in order]
            results.append(result)
        return results

