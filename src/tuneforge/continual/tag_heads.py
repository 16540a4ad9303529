"""The class-incremental head of token classification: O, then B-/I- tags of each entity type as stages add it.

A stage's data annotates only its own entity types: a word of an earlier type is tagged O there. Training
those words as O would teach the model to forget the earlier types, so they are not: the loss of a word
tagged O is -log of the probability of O *or any tag of a type its stage does not annotate*
(``allowed`` below). An O word thus pushes only the new types down; what it is among the unannotated
types is left to what the model already knows (and to distillation, with lwf). Replayed sentences keep
the annotation of their own stage, so the same rule covers them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from tuneforge.continual.stage_data import Sourced
from tuneforge.data.bio import spans, split_tag
from tuneforge.data.examples import TaggedSentence
from tuneforge.tasks.base import IGNORE


@dataclass
class PartialFeature:
    inner: Any  # the task's feature
    unannotated: tuple[int, ...]  # tag ids its sentence's stage does not annotate

    def __len__(self) -> int:
        return len(self.inner)


class ClassIncrementalTags:
    metric = "f1"

    def __init__(self, task_class: Any, tokenizer: Any, cfg: Any, where: str) -> None:
        self.task_class, self.tokenizer, self.cfg = task_class, tokenizer, cfg

    @staticmethod
    def labels_of(sentence: TaggedSentence) -> list[str]:
        return sorted({split_tag(t)[1] for t in sentence.tags if t != "O"})

    @staticmethod
    def outputs(types: list[str]) -> list[str]:
        return ["O"] + [f"{prefix}-{kind}" for kind in types for prefix in ("B", "I")]

    @staticmethod
    def background(task) -> int:
        """The output of words outside every entity: O."""
        return task.label2id["O"]

    @staticmethod
    def known(outputs: list[str]) -> list[str]:
        """The entity types a head with these tags knows."""
        return sorted({split_tag(t)[1] for t in outputs if t != "O"})

    @staticmethod
    def extended(outputs: list[str], new_types: list[str]) -> list[str]:
        """A head's tags after new types are added: the old ones first, as they are (whatever their order)."""
        return [*outputs, *[f"{prefix}-{kind}" for kind in new_types for prefix in ("B", "I")]]

    def task(self, types: list[str]):
        return self.task_with_outputs(self.outputs(types))

    def task_with_outputs(self, outputs: list[str]):
        return self.task_class.from_config(self.tokenizer, outputs, self.cfg)

    def features(self, task, sourced: list[Sourced], annotated: list[set[str]]) -> list[PartialFeature]:
        inner = task.encode([s.example for s in sourced])
        tag_ids = {tag: i for i, tag in enumerate(task.labels)}
        unannotated_of_stage = {}
        for stage, kinds in enumerate(annotated):
            unannotated_of_stage[stage] = tuple(i for tag, i in tag_ids.items()
                                                if tag != "O" and split_tag(tag)[1] not in kinds)
        return [PartialFeature(f, unannotated_of_stage[sourced[f.window.example].stage]) for f in inner]

    @staticmethod
    def collate(task):
        def collate(features: list[PartialFeature]) -> dict[str, torch.Tensor]:
            batch = task.collate([f.inner for f in features])
            if features[0].inner.labels is not None:
                mask = torch.zeros(len(features), len(task.labels), dtype=torch.bool)
                for row, f in enumerate(features):
                    mask[row, list(f.unannotated)] = True
                batch["unannotated"] = mask
            return batch

        return collate

    @staticmethod
    def forward(task, model, batch: dict[str, torch.Tensor]):
        """(summed loss, items, logits, item mask): cross-entropy where a word tagged O may also be any tag of a
        type its stage leaves unannotated."""
        labels = batch["labels"]
        inputs = {k: v for k, v in batch.items() if k not in ("labels", "unannotated")}
        logits = model(**inputs).logits.float()
        keep = labels != IGNORE
        target = labels.clamp(min=0)
        allowed = torch.nn.functional.one_hot(target, logits.shape[-1]).bool()
        if "unannotated" in batch:
            is_o = (target == task.label2id["O"]) & keep
            allowed |= is_o[..., None] & batch["unannotated"][:, None, :]
        total = torch.logsumexp(logits, dim=-1)
        right = torch.logsumexp(logits.masked_fill(~allowed, float("-inf")), dim=-1)
        loss = ((total - right) * keep).sum()
        return loss, int(keep.sum()), logits, keep

    one_answer = False  # a sentence holds entities of several stages: every adapter answers, entities merged

    @staticmethod
    def predict(task, model, sentences: list[TaggedSentence], **batching: Any) -> list[list[str]]:
        return [tags for tags, _ in task.predict_examples(model, sentences, **batching)] if sentences else []

    def combine(self, members: list[tuple[Any, Any]], sentences: list[TaggedSentence], route: list[int] | None,
                **batching: Any) -> list[list[str]]:
        """Every member's entities, the most confident first, each kept unless it overlaps one kept already."""
        found: list[list[tuple[float, int, int, str]]] = [[] for _ in sentences]
        for task, model in members:
            if not sentences:
                break
            for n, (tags, scores) in enumerate(task.predict_examples(model, sentences, **batching)):
                for kind, first, last in spans(tags):
                    found[n].append((float(np.mean(scores[first:last])), first, last, kind))
        merged = []
        for sentence, candidates in zip(sentences, found, strict=True):
            tags = ["O"] * len(sentence.tokens)
            for _, first, last, kind in sorted(candidates, key=lambda c: -c[0]):
                if all(t == "O" for t in tags[first:last]):
                    tags[first:last] = [f"B-{kind}"] + [f"I-{kind}"] * (last - first - 1)
            merged.append(tags)
        return merged

    def score_predicted(self, predicted: list[list[str]], sentences: list[TaggedSentence],
                        scored_types: list[str]) -> float:
        """Entity F1 on the stage's types: gold and predicted entities of other types are left out."""
        if not sentences:
            return 0.0
        kinds = set(scored_types)
        keep = lambda tags: [t if t == "O" or split_tag(t)[1] in kinds else "O" for t in tags]  # noqa: E731
        gold = [replace(s, tags=keep(s.tags)) for s in sentences]
        return float(self.task_class.score_examples(gold, [keep(p) for p in predicted])["f1"])

    def score(self, task, model, sentences: list[TaggedSentence], scored_types: list[str], **batching: Any) -> float:
        return self.score_predicted(self.predict(task, model, sentences, **batching), sentences, scored_types)

    @staticmethod
    def record(sentence: TaggedSentence) -> dict[str, Any]:
        return {"tokens": sentence.tokens, "tags": sentence.tags, "source": sentence.source}

    @staticmethod
    def from_record(record: dict[str, Any]) -> TaggedSentence:
        return TaggedSentence(record["tokens"], record["tags"], record.get("source", "replay buffer:1"))
