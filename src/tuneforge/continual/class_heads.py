"""The class-incremental head of sequence classification: one output per intent, new intents appended.

Labels are kept in the order stages introduce them, so the labels known before a stage are the head's
first rows (what distillation and the EWC anchor compare).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tuneforge.continual.stage_data import Sourced
from tuneforge.data.examples import TextExample
from tuneforge.errors import ConfigError
from tuneforge.tasks.base import IGNORE


class ClassIncrementalLabels:
    metric = "accuracy"

    def __init__(self, task_class: Any, tokenizer: Any, cfg: Any, where: str) -> None:
        o = cfg.task_options
        if o.multi_label or o.out_of_scope_label:
            raise ConfigError(f"{where}: continual sequence classification takes single-label data without an "
                              "out-of-scope label (drop task_options.multi_label / out_of_scope_label)")
        self.task_class, self.tokenizer, self.cfg = task_class, tokenizer, cfg

    @staticmethod
    def labels_of(example: TextExample) -> list[str]:
        return example.labels

    @staticmethod
    def outputs(labels: list[str]) -> list[str]:
        """The head's outputs for these labels, in order."""
        return list(labels)

    @staticmethod
    def background(task) -> int | None:
        """The output that means "none of the labels": none, every text has a label."""
        return None

    @staticmethod
    def known(outputs: list[str]) -> list[str]:
        """The labels a head with these outputs knows."""
        return list(outputs)

    @staticmethod
    def extended(outputs: list[str], new_labels: list[str]) -> list[str]:
        """A head's outputs after new labels are added: the old ones first, as they are."""
        return [*outputs, *new_labels]

    def task(self, labels: list[str]):
        return self.task_with_outputs(self.outputs(labels))

    def task_with_outputs(self, outputs: list[str]):
        return self.task_class.from_config(self.tokenizer, outputs, self.cfg)

    def features(self, task, sourced: list[Sourced], annotated: list[set[str]]) -> list[Any]:
        return task.encode([s.example for s in sourced])

    @staticmethod
    def collate(task):
        return task.collate

    @staticmethod
    def forward(task, model, batch: dict[str, torch.Tensor]):
        """(summed loss, items, logits, mask of the items among the logits' leading dimensions)."""
        labels = batch["labels"]
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits.float()
        keep = labels != IGNORE
        loss = F.cross_entropy(logits, labels, reduction="sum", ignore_index=IGNORE)
        return loss, int(keep.sum()), logits, keep

    one_answer = True  # a text has one label: a router can send it to one stage's adapter

    @staticmethod
    def predict(task, model, examples: list[TextExample], **batching: Any) -> tuple[list[str], list[float]]:
        """The best label among the task's and its probability, for each text."""
        if not examples:
            return [], []
        answers = task.predict_examples(model, examples, **batching)
        return [label for label, _ in answers], [confidence for _, confidence in answers]

    def combine(self, members: list[tuple[Any, Any]], examples: list[TextExample], route: list[int] | None,
                **batching: Any) -> list[str]:
        """The answers of several (task, model) members: each text's routed member, or the most confident one."""
        if route is None:
            answers = [self.predict(task, model, examples, **batching) for task, model in members]
            best = np.argmax(np.array([confidence for _, confidence in answers]), axis=0)
            return [answers[m][0][i] for i, m in enumerate(best)]
        predicted: list[str] = [""] * len(examples)
        for m, (task, model) in enumerate(members):
            chosen = [i for i, r in enumerate(route) if r == m]
            for i, label in zip(chosen, self.predict(task, model, [examples[i] for i in chosen], **batching)[0],
                                strict=True):
                predicted[i] = label
        return predicted

    @staticmethod
    def score_predicted(predicted: list[str], examples: list[TextExample], scored_labels: list[str]) -> float:
        """Accuracy (a test text whose label is not known yet counts as wrong)."""
        if not examples:
            return 0.0
        return float(np.mean([p == e.label for p, e in zip(predicted, examples, strict=True)]))

    def score(self, task, model, examples: list[TextExample], scored_labels: list[str], **batching: Any) -> float:
        """Accuracy over every label known so far."""
        return self.score_predicted(self.predict(task, model, examples, **batching)[0], examples, scored_labels)

    @staticmethod
    def record(example: TextExample) -> dict[str, Any]:
        return {"text": example.text, "label": example.label, "source": example.source}

    @staticmethod
    def from_record(record: dict[str, Any]) -> TextExample:
        return TextExample(record["text"], record["label"], record.get("source", "replay buffer"))
