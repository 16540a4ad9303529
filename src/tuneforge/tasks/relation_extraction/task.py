"""Relation extraction: a sentence with two marked entities → a relation label with direction.

Input texts mark the entities inline: ``the <e1>author</e1> of a keygen uses a <e2>disassembler</e2>``.
The four markers become added special tokens (the embedding matrix is resized), and the head reads
the hidden states at the two start markers (relation_model.py). Labels keep their direction, e.g.
``Instrument-Agency(e2,e1)``; the main score is the SemEval-2010 Task 8 official macro-F1
(relation_metrics.py). A sentence longer than the window is cropped around the two entities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from tuneforge.errors import DataError
from tuneforge.tasks.classification.metrics import markdown_report, per_label_table
from tuneforge.tasks.classification.worst_errors import single_label_errors
from tuneforge.tasks.relation_extraction.metrics import relation_scores
from tuneforge.tasks.relation_extraction.model import EntityMarkerClassifier
from tuneforge.tasks.sequence_classification.task import SequenceClassification, TextFeature

if TYPE_CHECKING:
    from tuneforge.config.schema import RunConfig
    from tuneforge.data.examples import ReadResult, TextExample

MARKERS = ("<e1>", "</e1>", "<e2>", "</e2>")
DIRECTED = re.compile(r"^(?P<relation>.+)\((?P<head>e[12]),(?P<tail>e[12])\)$")


@dataclass
class RelationFeature(TextFeature):
    e1: int = 0
    e2: int = 0


def marker_problem(text: str) -> str | None:
    """What is wrong with the entity markers of a sentence (None if both entities are marked once)."""
    counts = [text.count(m) for m in MARKERS]
    if counts != [1, 1, 1, 1]:
        missing = [m for m, c in zip(MARKERS, counts, strict=True) if c != 1]
        return (f"needs both entities marked exactly once as <e1>…</e1> and <e2>…</e2> "
                f"({', '.join(missing)} missing or repeated)")
    if text.index("<e1>") > text.index("</e1>") or text.index("<e2>") > text.index("</e2>"):
        return "an entity's closing marker comes before its opening one"
    return None


class RelationExtraction(SequenceClassification):
    name = "relation-extraction"

    @staticmethod
    def read(path: str, cfg: RunConfig, strict: bool = True, labelled: bool = True) -> ReadResult:
        result = SequenceClassification.read(path, cfg, strict, labelled)
        kept = []
        for example in result.examples:
            problem = marker_problem(example.text)
            if problem is None:
                kept.append(example)
            elif strict:
                raise DataError(f"{example.where()}: {problem}")
            else:
                result.problems.append(f"{example.where()}: {problem}")
        result.examples = kept
        return result

    @staticmethod
    def main_metric(cfg: RunConfig) -> str:
        return "official_f1"

    @staticmethod
    def metric_names(cfg: RunConfig) -> tuple[str, ...]:
        return ("official_f1", "accuracy", "macro_f1")

    @staticmethod
    def prepare_tokenizer(tokenizer) -> None:
        if any(m not in tokenizer.get_vocab() for m in MARKERS):
            tokenizer.add_special_tokens({"additional_special_tokens": list(MARKERS)})

    def __init__(self, tokenizer, labels: list[str], cfg: RunConfig, state: dict[str, Any] | None = None) -> None:
        self.prepare_tokenizer(tokenizer)
        super().__init__(tokenizer, labels, cfg, state)
        self.e1_id, self.e2_id = tokenizer.convert_tokens_to_ids(["<e1>", "<e2>"])

    # encode -----------------------------------------------------------------------------------
    def encode(self, examples: list[TextExample], with_labels: bool = True) -> list[RelationFeature]:
        encoded = self.tokenizer([e.text for e in examples], return_special_tokens_mask=True)
        limit = self.cfg.model.max_length
        features = []
        for ids, special, example in zip(encoded["input_ids"], encoded["special_tokens_mask"], examples, strict=True):
            if len(ids) > limit:  # crop the text (not the special tokens) around the entities
                lead = next(i for i, s in enumerate(special) if not s)
                tail = len(ids) - next(i for i, s in enumerate(reversed(special)) if not s)
                body = ids[lead:tail]
                room = limit - (len(ids) - len(body))
                first = min(body.index(self.e1_id), body.index(self.e2_id))
                last = max(body.index(self.e1_id), body.index(self.e2_id))
                start = max(0, min(first - (room - (last - first + 1)) // 2, len(body) - room))
                ids = ids[:lead] + body[start:start + room] + ids[tail:]
            if self.e1_id not in ids or self.e2_id not in ids:
                raise DataError(f"{example.where()}: the entities lie more than model.max_length={limit} "
                                "sub-words apart; raise model.max_length")
            features.append(RelationFeature(ids, self._target(example) if with_labels else None, None,
                                            example=len(features), e1=ids.index(self.e1_id),
                                            e2=ids.index(self.e2_id)))
        self.windows_per_text = [1] * len(features)  # one crop per sentence, never windows
        return features

    def model_inputs(self, features: list[RelationFeature]) -> dict[str, np.ndarray]:
        """The text's inputs and where each entity marker sits: the head reads the hidden states there."""
        return {**super().model_inputs(features), "e1_index": np.array([f.e1 for f in features], dtype=np.int64),
                "e2_index": np.array([f.e2 for f in features], dtype=np.int64)}

    def collate(self, features: list[RelationFeature]) -> dict[str, torch.Tensor]:
        batch = super().collate(features)
        batch["e1_index"] = torch.tensor([f.e1 for f in features])
        batch["e2_index"] = torch.tensor([f.e2 for f in features])
        return batch

    # head -------------------------------------------------------------------------------------
    def build_model(self, name: str, dropout: float | None):
        from transformers import AutoConfig, AutoModel

        from tuneforge.models import load_pretrained
        from tuneforge.tasks.common.dropout import set_dropout

        config = set_dropout(load_pretrained(name, AutoConfig), dropout)
        encoder = load_pretrained(name, AutoModel, config=config)
        _add_marker_embeddings(encoder, len(self.tokenizer))
        head_dropout = dropout if dropout is not None else getattr(config, "hidden_dropout_prob", 0.1)
        return EntityMarkerClassifier(encoder, len(self.labels), head_dropout)

    def load_model(self, folder):
        return EntityMarkerClassifier.from_pretrained(folder)

    def summary(self) -> dict[str, Any]:
        return {"labels": self.labels}  # long sentences are cropped around the two entities, never cut blind

    # metrics ----------------------------------------------------------------------------------
    def evaluate(self, model, examples: list[TextExample], tune: bool = False, **batching: Any) -> dict[str, Any]:
        probs = self.probabilities(model, examples, **batching)
        predicted = [self.labels[i] for i in probs.argmax(axis=1)]
        scores = relation_scores([e.label for e in examples], predicted, self.labels)
        # the sentence keeps its <e1>/<e2> markers: which entities the wrong relation was about
        scores["worst_errors"] = single_label_errors(examples, predicted, probs)
        return scores

    def markdown(self, scores: dict[str, Any], title: str) -> str:
        headline = [("official_f1", "official macro-F1 (9 relations, directed, Other excluded)"),
                    ("accuracy", "accuracy (19 labels)"), ("macro_f1", "macro F1 (19 labels)")]
        lines = per_label_table(scores["per_relation"], "relation")
        return markdown_report(scores, title, headline) + "\nPer relation (direction must match):\n\n" + \
            "\n".join(lines) + "\n"

    # use --------------------------------------------------------------------------------------
    def predict_texts(self, model, texts: list[Any], **batching: Any) -> list[dict[str, Any]]:
        """Relation label, its parts (relation, head and tail entity text), probability and top-k."""
        for i, text in enumerate(texts):
            problem = marker_problem(text if isinstance(text, str) else text[0])
            if problem:
                raise DataError(f"input {i + 1}: {problem}")
        results = super().predict_texts(model, texts, **batching)
        for result in results:
            text = result["text"]
            entities = {e: text[text.index(f"<{e}>") + 4: text.index(f"</{e}>")] for e in ("e1", "e2")}
            match = DIRECTED.match(result["label"])
            if match:
                result.update(relation=match["relation"], head=entities[match["head"]], tail=entities[match["tail"]])
            else:
                result.update(relation=result["label"], head=None, tail=None)
        return results




def _add_marker_embeddings(encoder, vocab_size: int) -> None:
    """Grow the vocabulary for the markers, with rows drawn from a fixed generator around the mean embedding.

    Fixed, so that rebuilding the base model for an adapter run (whose embeddings never train) gives
    back exactly the rows it was trained with.
    """
    old = encoder.get_input_embeddings().weight.shape[0]
    if vocab_size <= old:
        return
    encoder.resize_token_embeddings(vocab_size, mean_resizing=False)
    weight = encoder.get_input_embeddings().weight
    with torch.no_grad():
        known = weight[:old]
        noise = torch.randn(vocab_size - old, weight.shape[1], generator=torch.Generator().manual_seed(0))
        weight[old:] = known.mean(0) + known.std(0) * noise
