"""Token classification (NER): encode → head → loss → decode → metrics.

Encoding aligns BIO tags to the first sub-token of each word (or to every sub-token with
``label_all_tokens``) inside word-aligned windows; decoding reads each word's tag from the window
that owns it, repairs the sequence to valid IOB2 and returns entity spans with scores.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from tuneforge.data.bio import repair, spans, split_tag
from tuneforge.data.examples import ReadResult, TaggedSentence
from tuneforge.data.loading import check_unseen, label_set, load_splits, read_tagged
from tuneforge.engine.inference import predict_probs
from tuneforge.errors import DataError
from tuneforge.tasks.base import IGNORE
from tuneforge.tasks.classification.base import ClassificationTask
from tuneforge.tasks.classification.worst_errors import entity_errors
from tuneforge.tasks.common.collate import pad_rows, padded_arrays, padded_inputs
from tuneforge.tasks.token_classification.bio_viterbi import allowed_transitions, viterbi
from tuneforge.tasks.token_classification.metrics import entity_scores, markdown_table
from tuneforge.tasks.token_classification.windows import Window, make_windows, word_pieces
from tuneforge.util.text_words import split_words

if TYPE_CHECKING:  # training and PyTorch inference import it; predicting from an ONNX graph does not
    import torch

    from tuneforge.config.schema import RunConfig


@dataclass
class Feature:
    window: Window
    labels: list[int] | None

    def __len__(self) -> int:
        return len(self.window.input_ids)


class TokenClassification(ClassificationTask):
    name = "token-classification"
    auto_model = "AutoModelForTokenClassification"

    # data -------------------------------------------------------------------------------------
    @staticmethod
    def read(path: str, cfg: RunConfig, strict: bool = True, labelled: bool = True) -> ReadResult:
        return read_tagged(path, cfg.data, strict, labelled)

    @staticmethod
    def load_splits(cfg: RunConfig, strict: bool = True) -> dict[str, ReadResult]:
        return load_splits(cfg.data, strict)

    @staticmethod
    def label_set(examples: list[TaggedSentence], cfg: RunConfig) -> list[str]:
        return label_set(examples)

    @staticmethod
    def check_labels(split: str, result: ReadResult, labels: list[str], cfg: RunConfig) -> None:
        check_unseen(split, result, labels)

    @staticmethod
    def main_metric(cfg: RunConfig) -> str:
        return "f1"

    @staticmethod
    def metric_names(cfg: RunConfig) -> tuple[str, ...]:
        return ("f1", "precision", "recall", "token_accuracy_secondary")

    @classmethod
    def from_config(cls, tokenizer, labels: list[str], cfg: RunConfig, state=None, train_examples=None):
        o = cfg.task_options
        task = cls(tokenizer, labels, cfg.model.max_length, cfg.model.stride, o.label_all_tokens, o.decode)
        task.cfg = cfg
        return task

    def __init__(
        self, tokenizer, labels: list[str], max_length: int, stride: int, label_all_tokens: bool = False,
        decode: str = "viterbi",
    ) -> None:
        self.tokenizer = tokenizer
        self.labels = labels
        self.label2id = {label: i for i, label in enumerate(labels)}
        self.max_length = max_length
        self.stride = stride
        self.label_all_tokens = label_all_tokens
        self.decode = decode
        self._transitions = allowed_transitions(labels)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    # encode -----------------------------------------------------------------------------------
    def encode(self, sentences: list[TaggedSentence], with_labels: bool = True) -> list[Feature]:
        max_pieces = max(1, (self.max_length - 4) // 2)
        pieces = word_pieces(self.tokenizer, [s.tokens for s in sentences], max_pieces)
        windows = make_windows(pieces, self.tokenizer, self.max_length, self.stride)
        features = []
        for window in windows:
            labels = None
            if with_labels:
                labels = self._window_labels(window, sentences[window.example].tags)
            features.append(Feature(window, labels))
        return features

    def _window_labels(self, window: Window, tags: list[str]) -> list[int]:
        labels = [IGNORE] * len(window.input_ids)
        owned = set(window.owned_words)
        for position, word in enumerate(window.word_ids):
            if word is None or word not in owned:
                continue
            first = position == 0 or window.word_ids[position - 1] != word
            if first:
                labels[position] = self.label2id[tags[word]]
            elif self.label_all_tokens:
                prefix, kind = split_tag(tags[word])
                labels[position] = self.label2id[f"I-{kind}" if prefix == "B" else tags[word]]
        return labels

    def collate(self, features: list[Feature]) -> dict[str, torch.Tensor]:
        batch = padded_inputs([f.window.input_ids for f in features], self.pad_id)
        if features[0].labels is not None:
            batch["labels"] = pad_rows([f.labels for f in features], IGNORE)
        return batch

    def model_inputs(self, features: list[Feature]) -> dict[str, np.ndarray]:
        """The model's inputs of a prediction batch, as numpy (any engine takes them)."""
        return padded_arrays([f.window.input_ids for f in features], self.pad_id)

    def compute_loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        from tuneforge.engine.train import summed_model_loss  # the loop's imports are for training, not predict

        return summed_model_loss(model, batch)

    # decode -----------------------------------------------------------------------------------
    def word_predictions(
        self, model, sentences: list[TaggedSentence], batch_size: int = 64, batch_tokens: int | None = None
    ) -> list[tuple[list[str], list[float]]]:
        """(tags, scores) per sentence: one per word, a valid IOB2 sequence (Viterbi, or argmax + repair)."""
        features = self.encode(sentences, with_labels=False)
        probs = predict_probs(model, features, self.model_inputs, batch_size, batch_tokens)
        word_probs: list[list[np.ndarray | None]] = [[None] * len(s.tokens) for s in sentences]
        for feature, p in zip(features, probs, strict=True):
            w = feature.window
            for position, word in zip(w.owned_first, w.owned_words, strict=True):
                word_probs[w.example][word] = p[position]
        results = []
        for row in word_probs:
            if self.decode == "viterbi":
                tags = [self.labels[i] for i in viterbi(np.stack(row), *self._transitions)]
            else:
                tags, _ = repair([self.labels[int(np.argmax(p))] for p in row])
            scores = [float(p[self.label2id[t]]) for p, t in zip(row, tags, strict=True)]
            results.append((tags, scores))
        return results

    def predict_examples(self, model, sentences: list[TaggedSentence],
                         **batching: Any) -> list[tuple[list[str], list[float]]]:
        """(tags, word scores) per read sentence (the protocol's name for ``word_predictions``)."""
        return self.word_predictions(model, sentences, **batching)

    @staticmethod
    def with_answers(sentences: list[TaggedSentence],
                     predicted: list[tuple[list[str], list[float]]]) -> list[TaggedSentence]:
        """Each sentence with its predicted tags (a teacher labelling unlabelled text for distillation)."""
        return [replace(s, tags=list(tags)) for s, (tags, _) in zip(sentences, predicted, strict=True)]

    # metrics ----------------------------------------------------------------------------------
    @classmethod
    def score_examples(cls, sentences: list[TaggedSentence], predicted: list[list[str]]) -> dict[str, Any]:
        """Entity precision, recall and F1 (seqeval, strict IOB2) of predicted tags against the sentences'."""
        return entity_scores([s.tags for s in sentences], predicted)

    def evaluate(self, model, sentences: list[TaggedSentence], tune: bool = False, **batching: Any) -> dict[str, Any]:
        predicted = [tags for tags, _ in self.word_predictions(model, sentences, **batching)]
        return {**entity_scores([s.tags for s in sentences], predicted),
                "worst_errors": entity_errors(sentences, predicted)}

    @staticmethod
    def markdown(scores: dict[str, Any], title: str) -> str:
        return markdown_table(scores, title)

    # use --------------------------------------------------------------------------------------
    @staticmethod
    def prediction_input(example: TaggedSentence) -> str:
        return " ".join(example.tokens)

    def predict_texts(self, model, texts: list[str], **batching: Any) -> list[dict[str, Any]]:
        """Entities with type, character offsets, text and score for each raw text."""
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataError(f"input {i + 1}: a {self.name} run tags plain texts, not text pairs")
        words = [split_words(t) for t in texts]
        nonempty = [i for i, w in enumerate(words) if w]
        sentences = [TaggedSentence([w for w, _, _ in words[i]], [], f"input:{i + 1}") for i in nonempty]
        predicted = dict(zip(nonempty, self.word_predictions(model, sentences, **batching), strict=True))
        results = []
        for i, text in enumerate(texts):
            entities = []
            if i in predicted:
                tags, scores = predicted[i]
                for kind, first, last in spans(tags):
                    start, end = words[i][first][1], words[i][last - 1][2]
                    entities.append(
                        {
                            "type": kind,
                            "start": start,
                            "end": end,
                            "text": text[start:end],
                            "score": round(float(np.mean(scores[first:last])), 4),
                        }
                    )
            results.append({"text": text, "entities": entities})
        return results
