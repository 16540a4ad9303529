"""Sequence classification: intents, topics, multi-label tags, text pairs; encode → head → loss → decode → metrics.

Single-label uses softmax (optionally class-weighted) and can answer an out-of-scope label, either
as a trained class or below a confidence threshold tuned on dev. Multi-label uses sigmoids with one
threshold per label, tuned on dev and saved with the model (``model/task.json``).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from tuneforge.data.examples import ReadResult, TextExample
from tuneforge.data.loading import load_splits
from tuneforge.data.text_loading import check_unseen_texts, read_texts, text_label_set
from tuneforge.engine.inference import predict_probs
from tuneforge.errors import ConfigError, DataError
from tuneforge.tasks.base import IGNORE
from tuneforge.tasks.classification.base import ClassificationTask
from tuneforge.tasks.classification.label_thresholds import apply_thresholds, tune_label_thresholds
from tuneforge.tasks.classification.metrics import markdown_report, micro_f1, per_label_scores, single_label_scores
from tuneforge.tasks.classification.out_of_scope import decide, oos_curve, oos_scores, tune_threshold
from tuneforge.tasks.classification.worst_errors import multi_label_errors, single_label_errors
from tuneforge.tasks.common.collate import padded_arrays, padded_inputs

if TYPE_CHECKING:  # training and PyTorch inference import it; predicting from an ONNX graph does not
    import torch

    from tuneforge.config.schema import RunConfig


@dataclass
class TextFeature:
    input_ids: list[int]
    label: int | list[float] | None
    token_type_ids: list[int] | None = None
    example: int = -1  # the text it comes from: a long text gives several windows

    def __len__(self) -> int:
        return len(self.input_ids)


class SequenceClassification(ClassificationTask):
    name = "sequence-classification"
    auto_model = "AutoModelForSequenceClassification"

    # data -------------------------------------------------------------------------------------
    @staticmethod
    def read(path: str, cfg: RunConfig, strict: bool = True, labelled: bool = True) -> ReadResult:
        return read_texts(path, cfg.data, strict, labelled, cfg.task_options.multi_label)

    @classmethod
    def load_splits(cls, cfg: RunConfig, strict: bool = True) -> dict[str, ReadResult]:
        return load_splits(cfg.data, strict, lambda p, _d, s: cls.read(p, cfg, s),
                           stratify_key=lambda e: tuple(e.labels))

    @staticmethod
    def label_set(examples: list[TextExample], cfg: RunConfig) -> list[str]:
        return text_label_set(examples)

    @staticmethod
    def check_labels(split: str, result: ReadResult, labels: list[str], cfg: RunConfig) -> None:
        check_unseen_texts(split, result, labels, allowed=cfg.task_options.out_of_scope_label)

    @staticmethod
    def main_metric(cfg: RunConfig) -> str:
        return "micro_f1" if cfg.task_options.multi_label else "accuracy"

    @staticmethod
    def metric_names(cfg: RunConfig) -> tuple[str, ...]:
        if cfg.task_options.multi_label:
            return ("micro_f1", "macro_f1", "exact_match")
        oos = ("in_scope_accuracy", "oos_recall", "oos_precision", "oos_f1")
        if not cfg.task_options.out_of_scope_label:
            oos = ()
        return ("accuracy", "macro_f1", "micro_f1", *oos)

    @staticmethod
    def validate(cfg: RunConfig, splits: dict[str, ReadResult], labels: list[str]) -> None:
        o = cfg.task_options
        oos = o.out_of_scope_label
        if o.oos_threshold == "auto" and not any(oos in e.labels for e in splits.get("dev", ReadResult([])).examples):
            raise ConfigError(f"task_options.oos_threshold: auto is tuned on dev, but the dev set has no "
                              f"'{oos}' examples (give data.dev with some, or a fixed threshold)")
        if oos and oos not in labels and o.oos_threshold is None:
            raise ConfigError(f"task_options.out_of_scope_label '{oos}' never occurs in train, so the model cannot "
                              "predict it: add such examples to train or set task_options.oos_threshold")

    # setup ------------------------------------------------------------------------------------
    def __init__(self, tokenizer, labels: list[str], cfg: RunConfig, state: dict[str, Any] | None = None) -> None:
        self.tokenizer = tokenizer
        self.labels = labels
        self.label2id = {label: i for i, label in enumerate(labels)}
        self.cfg = cfg
        self.options = cfg.task_options
        self.multi = self.options.multi_label
        self.oos = self.options.out_of_scope_label
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        state = state or {}
        fixed = self.options.oos_threshold if isinstance(self.options.oos_threshold, float) else None
        self.oos_threshold: float | None = state.get("oos_threshold", fixed)
        self.thresholds: list[float] = state.get("label_thresholds", [0.5] * len(labels))
        self.over_length = {"training": 0, "last": 0}  # texts longer than model.max_length, as last encoded
        self.windows_per_text: list[int] = []  # of the texts last encoded
        self.class_weights: list[float] | None = state.get("class_weights")
        self.tuned_on: tuple[list[TextExample], list[dict[str, float]]] | None = None  # (dev examples, oos curve)

    @classmethod
    def from_config(cls, tokenizer, labels, cfg: RunConfig, state=None, train_examples=None):
        task = cls(tokenizer, labels, cfg, state)
        if cfg.task_options.class_weights == "balanced" and train_examples is not None:
            counts = Counter(label for e in train_examples for label in e.labels)
            n = sum(counts.values())
            task.class_weights = [n / (len(labels) * max(counts[label], 1)) for label in labels]
        return task

    def state(self) -> dict[str, Any]:
        """What decoding needs besides the weights; saved as model/task.json."""
        return {"oos_threshold": self.oos_threshold, "label_thresholds": self.thresholds,
                "class_weights": self.class_weights}

    def summary(self) -> dict[str, Any]:
        return {"labels": self.labels, "long_texts": self.options.long_texts,
                "train_texts_over_max_length": self.over_length["training"]}

    # encode -----------------------------------------------------------------------------------
    def encode(self, examples: list[TextExample], with_labels: bool = True) -> list[TextFeature]:
        """Features in input order; single texts and text pairs are tokenized apart, each item as it is.

        A text longer than ``model.max_length`` becomes overlapping windows (``long_texts: window``: trained
        on each, scored by the mean of their probabilities), its first window (``truncate``) or an error naming
        it (``error``); either way it is counted, never cut in silence.
        """
        limit, mode = self.cfg.model.max_length, self.options.long_texts
        windows: list[list[TextFeature]] = [[] for _ in examples]
        for paired in (False, True):
            chosen = [i for i, e in enumerate(examples) if (e.text_pair is not None) == paired]
            if not chosen:
                continue
            pairs = [examples[i].text_pair for i in chosen] if paired else None
            if paired:
                self._check_pairs_fit([examples[i] for i in chosen], limit)
            room = limit - self.tokenizer.num_special_tokens_to_add(pair=paired)
            # Pairs window their first text only, without overlap: the room left beside each pair differs.
            encoded = self.tokenizer([examples[i].text for i in chosen], pairs, max_length=limit,
                                     truncation="only_first" if paired else True, return_overflowing_tokens=True,
                                     stride=0 if paired else min(self.cfg.model.stride, room // 2))
            types = encoded.get("token_type_ids")
            for j, sample in enumerate(encoded["overflow_to_sample_mapping"]):
                i = chosen[sample]
                windows[i].append(TextFeature(encoded["input_ids"][j],
                                              self._target(examples[i]) if with_labels else None,
                                              types[j] if types else None, example=i))
        long = [i for i, w in enumerate(windows) if len(w) > 1]
        if long and mode == "error":
            raise DataError(f"{examples[long[0]].where()}: longer than model.max_length={limit} sub-words "
                            f"({len(long)} such text(s)); raise model.max_length, or set task_options.long_texts "
                            "to window (scored over overlapping windows) or truncate")
        self.windows_per_text = [len(w) for w in windows]
        if mode == "truncate":
            windows = [w[:1] for w in windows]
        self.over_length["last"] = len(long)
        if with_labels:
            self.over_length["training"] = len(long)
            if long:
                print(f"tuneforge: {len(long)} of {len(examples)} training texts are longer than model.max_length="
                      f"{limit} sub-words: {'windowed' if mode == 'window' else 'truncated'} "
                      "(task_options.long_texts)", file=sys.stderr)
        return [f for w in windows for f in w]

    def _check_pairs_fit(self, examples: list[TextExample], limit: int) -> None:
        """A text_pair must leave room for some of its text: windows cut the first text only."""
        room = limit - self.tokenizer.num_special_tokens_to_add(pair=True) - 1
        lengths = self.tokenizer([e.text_pair for e in examples], add_special_tokens=False)["input_ids"]
        for example, ids in zip(examples, lengths, strict=True):
            if len(ids) > room:
                raise DataError(f"{example.where()}: text_pair alone is {len(ids)} sub-words, more than "
                                f"model.max_length={limit} leaves beside its text; raise model.max_length")

    def _target(self, example: TextExample) -> int | list[float]:
        if self.multi:
            hot = [0.0] * len(self.labels)
            for label in example.labels:
                hot[self.label2id[label]] = 1.0
            return hot
        return self.label2id.get(example.label, IGNORE)  # an out-of-scope label the model lacks: not trained on

    def model_inputs(self, features: list[TextFeature]) -> dict[str, np.ndarray]:
        """The model's inputs of a prediction batch, as numpy (any engine takes them)."""
        types = [f.token_type_ids for f in features] if features[0].token_type_ids is not None else None
        return padded_arrays([f.input_ids for f in features], self.pad_id, types)

    def collate(self, features: list[TextFeature]) -> dict[str, torch.Tensor]:
        import torch

        types = [f.token_type_ids for f in features] if features[0].token_type_ids is not None else None
        batch = padded_inputs([f.input_ids for f in features], self.pad_id, types)
        if features[0].label is not None:
            dtype = torch.float if self.multi else torch.long
            batch["labels"] = torch.tensor([f.label for f in features], dtype=dtype)
        return batch

    # head and loss ----------------------------------------------------------------------------
    def build_model(self, name: str, dropout: float | None):
        from transformers import AutoModelForSequenceClassification

        from tuneforge.models import load_pretrained

        problem = "multi_label_classification" if self.multi else "single_label_classification"
        config = self.labelled_config(name, dropout, problem_type=problem)
        model = load_pretrained(name, AutoModelForSequenceClassification, config=config)
        if model.config.pad_token_id is None:  # decoder models need it to find each row's last token
            model.config.pad_token_id = self.pad_id
        return model

    def compute_loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Summed loss and item count (examples; example×label for multi-label)."""
        import torch
        import torch.nn.functional as F

        labels = batch["labels"]
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits.float()
        if self.multi:
            return F.binary_cross_entropy_with_logits(logits, labels, reduction="sum"), labels.numel()
        keep = labels != IGNORE
        weight = torch.tensor(self.class_weights, device=logits.device) if self.class_weights else None
        loss = F.cross_entropy(logits, labels, weight=weight, reduction="sum", ignore_index=IGNORE)
        return loss, int(keep.sum())

    # decode -----------------------------------------------------------------------------------
    def probabilities(self, model, examples: list[TextExample], batch_size: int = 64,
                      batch_tokens: int | None = None) -> np.ndarray:
        features = self.encode(examples, with_labels=False)
        probs = predict_probs(model, features, self.model_inputs, batch_size, batch_tokens, per_token=False,
                              activation="sigmoid" if self.multi else "softmax")
        if not probs:
            return np.zeros((0, len(self.labels)))
        owners = np.array([f.example if f.example >= 0 else n for n, f in enumerate(features)])
        if len(features) == len(examples) and (owners == np.arange(len(examples))).all():
            return np.stack(probs)
        pooled = np.zeros((len(examples), len(self.labels)))  # a long text: the mean over its windows
        np.add.at(pooled, owners, np.stack(probs))
        return pooled / np.bincount(owners, minlength=len(examples))[:, None]

    def decide(self, probs: np.ndarray) -> list[Any]:
        if self.multi:
            return apply_thresholds(probs, self.labels, self.thresholds)
        if self.oos:
            return decide(probs, self.labels, self.oos, self.oos_threshold)
        return [self.labels[i] for i in probs.argmax(axis=1)]

    def predict_examples(self, model, examples: list[TextExample], **batching: Any) -> list[tuple[str, float]]:
        """(the most probable label, its probability) per read text."""
        probs = self.probabilities(model, examples, **batching)
        return [(self.labels[int(i)], float(row[i])) for i, row in zip(probs.argmax(axis=1), probs, strict=True)]

    def with_answers(self, examples: list[TextExample], predicted: list[tuple[str, float]]) -> list[TextExample]:
        """Each text with its predicted label (a teacher labelling unlabelled text for distillation)."""
        return [replace(e, label=[label] if self.multi else label) for e, (label, _) in zip(examples, predicted,
                                                                                             strict=True)]

    def calibrate(self, model, examples: list[TextExample], probs: np.ndarray | None = None, **batching) -> None:
        """Tune what is tuned on dev: per-label thresholds (multi-label) or the out-of-scope threshold."""
        if probs is None:
            probs = self.probabilities(model, examples, **batching)
        if self.multi:
            gold = np.array([self._target(e) for e in examples], dtype=np.float32)
            self.thresholds = tune_label_thresholds(probs, gold)
        elif self.options.oos_threshold == "auto":
            o, gold = self.options, [e.label for e in examples]
            self.oos_threshold = tune_threshold(probs, gold, self.labels, self.oos, o.oos_calibration,
                                                o.oos_in_scope_budget)["threshold"]
            # kept for evaluate() on these same examples (dev), whose scores then show what the threshold traded
            self.tuned_on = (examples, oos_curve(probs, gold, self.labels, self.oos, self.oos_threshold))

    # metrics ----------------------------------------------------------------------------------
    def evaluate(self, model, examples: list[TextExample], tune: bool = False, **batching: Any) -> dict[str, Any]:
        """Scores on labelled examples; ``tune`` first calibrates thresholds on these same examples (dev)."""
        probs = self.probabilities(model, examples, **batching)
        if tune:
            self.calibrate(model, examples, probs)
        predicted = self.decide(probs)
        if self.multi:
            gold_sets = [set(e.labels) for e in examples]
            pred_sets = [set(p) for p in predicted]
            per_label = per_label_scores(gold_sets, pred_sets, self.labels)
            return {
                "micro_f1": micro_f1(gold_sets, pred_sets),
                "macro_f1": float(np.mean([r["f1"] for r in per_label.values()])),
                "exact_match": float(np.mean([g == p for g, p in zip(gold_sets, pred_sets, strict=True)])),
                "examples": len(examples),
                "per_label": per_label,
                "thresholds": dict(zip(self.labels, self.thresholds, strict=True)),
                "worst_errors": multi_label_errors(examples, predicted, self.labels),
            }
        gold = [e.label for e in examples]
        over_length = self.over_length["last"]
        answer_labels = self.labels + ([self.oos] if self.oos and self.oos not in self.label2id else [])
        scores = single_label_scores(gold, predicted, answer_labels)
        if self.oos:
            scores.update(oos_scores(gold, predicted, self.oos), oos_threshold=self.oos_threshold)
        if self.tuned_on is not None and self.tuned_on[0] is examples:  # the very list calibrate() tuned on
            scores["oos_curve"] = self.tuned_on[1]
        scores["texts_over_max_length"] = over_length
        scores["worst_errors"] = single_label_errors(examples, predicted, probs)
        return scores

    def markdown(self, scores: dict[str, Any], title: str) -> str:
        headline = [("accuracy", "accuracy"), ("macro_f1", "macro F1"), ("micro_f1", "micro F1"),
                    ("exact_match", "exact match (all labels right)"), ("in_scope_accuracy", "in-scope accuracy"),
                    ("oos_recall", "out-of-scope recall"), ("oos_precision", "out-of-scope precision")]
        text = markdown_report(scores, title, headline)
        if scores.get("oos_threshold") is not None:
            text += f"\nOut-of-scope threshold (top probability): {scores['oos_threshold']:.4f}\n"
        return text

    # use --------------------------------------------------------------------------------------
    @staticmethod
    def prediction_input(example: TextExample) -> str | tuple[str, str]:
        return example.text if example.text_pair is None else (example.text, example.text_pair)

    def _input(self, item: str | tuple[str, str], i: int) -> TextExample:
        """One predict input; a text pair only for a run trained on pairs, and then always a pair."""
        text, pair = (item, None) if isinstance(item, str) else (item[0], item[1])
        trained_on_pairs = self.cfg.data.text_pair_field is not None
        if pair is not None and not trained_on_pairs:
            raise DataError(f"input {i + 1}: this run classifies single texts; it was not trained on text pairs "
                            "(drop text_pair)")
        if pair is None and trained_on_pairs:
            raise DataError(f"input {i + 1}: this run classifies text pairs; give text_pair too")
        return TextExample(text, None, f"input:{i + 1}", pair)

    def predict_texts(self, model, texts: list[str | tuple[str, str]], **batching: Any) -> list[dict[str, Any]]:
        """Label (or labels), probability and the top-k labels with probabilities for each text."""
        examples = [self._input(t, i) for i, t in enumerate(texts)]
        if not examples:
            return []
        probs = self.probabilities(model, examples, **batching)
        windows = self.windows_per_text
        decided = self.decide(probs)
        k = min(self.options.top_k, len(self.labels))
        results = []
        for example, row, answer, n in zip(examples, probs, decided, windows, strict=True):
            top = [{"label": self.labels[j], "probability": round(float(row[j]), 4)} for j in np.argsort(-row)[:k]]
            result: dict[str, Any] = {"text": example.text}
            if example.text_pair is not None:
                result["text_pair"] = example.text_pair
            if n > 1 and self.options.long_texts == "window":  # longer than model.max_length: say how it was read
                result["windows"] = n
            elif n > 1:
                result["truncated"] = True
            if self.multi:
                result["labels"] = answer
                result["probabilities"] = {x: round(float(row[self.label2id[x]]), 4) for x in answer}
            else:
                result["label"] = answer
                result["probability"] = round(float(row.max()), 4)
                if self.oos:
                    result["out_of_scope"] = answer == self.oos
            result["top_k"] = top
            results.append(result)
        return results
