"""Extractive question answering (SQuAD v1.1 / v2.0): the answer is a span of the context.

Encoding puts the question first and the context second; a context longer than the window is split
into overlapping windows (``model.stride`` tokens shared, HF's doc stride), each with the question.
A window whose context holds the whole answer learns its first and last token; the others learn
[CLS] ("not here"), as BERT's SQuAD recipe does. Decoding scores the n-best starts x n-best ends of
every window (qa_decode.py), keeps the best span over an example's windows and maps it back to
character offsets of the original context. With unanswerable (v2) questions, "no answer" wins when
the [CLS] score beats the best span by more than a threshold tuned on dev for F1 and saved in
``model/task.json``. The task has no label set: it writes no labels.json.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tuneforge.data.examples import Answer, QAExample, ReadResult
from tuneforge.data.squad import load_qa_splits, read_squad
from tuneforge.engine.inference import predict_outputs
from tuneforge.errors import DataError, RunError
from tuneforge.tasks import task_spec
from tuneforge.tasks.base import TaskBase
from tuneforge.tasks.common.collate import padded_inputs
from tuneforge.tasks.common.dropout import set_dropout
from tuneforge.tasks.common.model_files import STATE_FILE, read_model_json
from tuneforge.tasks.question_answering.decode import decode_example, tune_null_threshold
from tuneforge.tasks.question_answering.squad_metrics import f1 as span_f1
from tuneforge.tasks.question_answering.squad_metrics import squad_scores
from tuneforge.util.atomic import write_json


@dataclass
class SpanFeature:
    """One window of one question: its tokens, where its context tokens sit in the context, its target."""

    input_ids: list[int]
    token_type_ids: list[int] | None
    example: int  # index of the question among those encoded together
    offsets: list[tuple[int, int] | None]  # context characters of each token; None outside the context
    start: int = 0  # target tokens; 0 ([CLS]) when the answer is not inside this window
    end: int = 0

    def __len__(self) -> int:
        return len(self.input_ids)


class QuestionAnswering(TaskBase):
    name = "question-answering"

    # data -------------------------------------------------------------------------------------
    @classmethod
    def read(cls, path: str, cfg: Any, strict: bool = True, labelled: bool = True) -> ReadResult:
        if cfg.data.format not in ("auto", "squad"):
            raise DataError(f"{path}: question-answering reads SQuAD JSON (data.format: squad or auto), "
                            f"not {cfg.data.format}")
        return read_squad(path, cfg.task_options.squad_version, strict, labelled)

    @classmethod
    def load_splits(cls, cfg: Any, strict: bool = True) -> dict[str, ReadResult]:
        return load_qa_splits(cfg.data, cfg.task_options.squad_version, strict)

    @classmethod
    def main_metric(cls, cfg: Any) -> str:
        return "f1"

    @classmethod
    def metric_names(cls, cfg: Any) -> tuple[str, ...]:
        return ("f1", "exact_match")

    @classmethod
    def for_training(cls, tokenizer, cfg: Any, splits: dict[str, ReadResult]) -> QuestionAnswering:
        unanswerable = any(e.is_impossible for r in splits.values() for e in r.examples)
        return cls(tokenizer, cfg, {"squad_version": "2.0" if unanswerable else "1.1"})

    @classmethod
    def load(cls, tokenizer, cfg: Any, folder: Path) -> QuestionAnswering:
        state = read_model_json(Path(folder) / STATE_FILE, required=True)
        if not isinstance(state, dict):
            raise RunError(f"{Path(folder) / STATE_FILE}: expected a JSON object; the run's model folder is damaged")
        return cls(tokenizer, cfg, state)

    def __init__(self, tokenizer, cfg: Any, state: dict[str, Any] | None = None) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise RunError(f"model '{cfg.model.name}': question answering needs a fast tokenizer "
                           "(character offsets of every token)")
        self.tokenizer = tokenizer
        self.cfg = cfg
        self.options = cfg.task_options
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        state = state or {}
        self.squad_version: str = state.get("squad_version", "1.1")
        fixed = self.options.null_threshold if isinstance(self.options.null_threshold, float) else None
        self.null_threshold: float | None = state.get("null_threshold", fixed)
        if self.squad_version == "2.0" and self.null_threshold is None:
            self.null_threshold = 0.0  # BERT's default until dev tunes it

    def save(self, folder: Path) -> None:
        write_json(Path(folder) / STATE_FILE, self.state())

    def state(self) -> dict[str, Any]:
        return {"squad_version": self.squad_version, "null_threshold": self.null_threshold}

    def recalibrated(self, cfg: Any) -> QuestionAnswering:
        return type(self)(self.tokenizer, cfg, {"squad_version": self.squad_version})

    def summary(self) -> dict[str, Any]:
        return {"squad_version": self.squad_version}

    # encode -----------------------------------------------------------------------------------
    def encode(self, examples: list[QAExample], with_labels: bool = True) -> list[SpanFeature]:
        if not examples:
            return []
        questions = self._questions([e.question for e in examples])
        encoded = self.tokenizer(
            questions, [e.context for e in examples], truncation="only_second", max_length=self.cfg.model.max_length,
            stride=self.cfg.model.stride, return_overflowing_tokens=True, return_offsets_mapping=True,
        )
        types = encoded.get("token_type_ids")
        features = []
        for i, ids in enumerate(encoded["input_ids"]):
            sequence = encoded.sequence_ids(i)  # 1 on the context's tokens
            offsets = [tuple(o) if s == 1 else None
                       for o, s in zip(encoded["offset_mapping"][i], sequence, strict=True)]
            feature = SpanFeature(ids, types[i] if types else None, encoded["overflow_to_sample_mapping"][i], offsets)
            if with_labels:
                feature.start, feature.end = self._target(examples[feature.example], offsets)
            features.append(feature)
        return features

    def _questions(self, questions: list[str]) -> list[str]:
        """Each question left-stripped and cut to ``max_question_length`` sub-words at a token boundary
        (one tokenizer call for all of them)."""
        questions = [q.lstrip() for q in questions]
        limit = self.options.max_question_length
        pieces = self.tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        return [q[: p[limit - 1][1]] if len(p) > limit else q for q, p in zip(questions, pieces, strict=True)]

    @staticmethod
    def _target(example: QAExample, offsets: list[tuple[int, int] | None]) -> tuple[int, int]:
        """First and last token of the first gold answer when the window holds all of it, else [CLS]."""
        if not example.answers:
            return 0, 0
        answer = example.answers[0]
        first, last = answer.start, answer.start + len(answer.text)
        inside = [i for i, o in enumerate(offsets) if o is not None]
        if not inside or offsets[inside[0]][0] > first or offsets[inside[-1]][1] < last:
            return 0, 0
        start = next(i for i in inside if offsets[i][1] > first)
        end = next(i for i in reversed(inside) if offsets[i][0] < last)
        return start, end

    def collate(self, features: list[SpanFeature]) -> dict[str, torch.Tensor]:
        types = [f.token_type_ids for f in features] if features[0].token_type_ids is not None else None
        batch = padded_inputs([f.input_ids for f in features], self.pad_id, types)
        batch["start_positions"] = torch.tensor([f.start for f in features])
        batch["end_positions"] = torch.tensor([f.end for f in features])
        return batch

    # head and loss ----------------------------------------------------------------------------
    def build_model(self, name: str, dropout: float | None):
        from transformers import AutoConfig, AutoModelForQuestionAnswering

        from tuneforge.models import load_pretrained

        config = set_dropout(load_pretrained(name, AutoConfig), dropout)
        return load_pretrained(name, AutoModelForQuestionAnswering, config=config)

    def load_model(self, folder: Path):
        from transformers import AutoModelForQuestionAnswering

        return AutoModelForQuestionAnswering.from_pretrained(folder)

    def compute_loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Summed over questions-windows: the mean of the start and end cross-entropies, as BERT's."""
        inputs = {k: v for k, v in batch.items() if k not in ("start_positions", "end_positions")}
        out = model(**inputs)
        start = F.cross_entropy(out.start_logits.float(), batch["start_positions"], reduction="sum")
        end = F.cross_entropy(out.end_logits.float(), batch["end_positions"], reduction="sum")
        return (start + end) / 2, len(batch["start_positions"])

    def count_items(self, batch: dict[str, torch.Tensor]) -> int:
        return len(batch["start_positions"])

    # decode -----------------------------------------------------------------------------------
    def spans(self, model, examples: list[QAExample], batch_size: int = 64,
              batch_tokens: int | None = None) -> list[dict[str, Any]]:
        """The best span of each question over its windows: start, end (characters), score, null_score."""
        features = self.encode(examples, with_labels=False)
        logits = predict_outputs(model, features, self.collate, task_spec(self.name).inference, batch_size,
                                 batch_tokens)
        windows: list[list[tuple[np.ndarray, np.ndarray, list]]] = [[] for _ in examples]
        for feature, (start, end) in zip(features, logits, strict=True):
            windows[feature.example].append((start, end, feature.offsets))
        o = self.options
        return [decode_example(w, o.n_best, o.max_answer_length) for w in windows]

    def answer(self, example: QAExample, span: dict[str, Any]) -> str | None:
        """The answer text, or None: no valid span, or (v2) the null score wins by more than the threshold."""
        if span["start"] is None:
            return None
        if self.squad_version == "2.0" and span["null_score"] - span["score"] > self.null_threshold:
            return None
        return example.context[span["start"]:span["end"]]

    def calibrate(self, model, examples: list[QAExample], spans: list[dict[str, Any]] | None = None,
                  **batching: Any) -> None:
        """Tune the v2 null threshold on dev for F1 (nothing to tune for v1.1 data or a fixed threshold)."""
        if self.squad_version != "2.0" or self.options.null_threshold != "auto" or not examples:
            return
        spans = spans if spans is not None else self.spans(model, examples, **batching)
        margins, answered, null_gold = [], [], []
        for example, span in zip(examples, spans, strict=True):
            has_span = span["start"] is not None
            margins.append(span["null_score"] - span["score"] if has_span else float("inf"))
            text = example.context[span["start"]:span["end"]] if has_span else ""
            answered.append(max((span_f1(text, a.text) for a in example.answers), default=0.0))
            null_gold.append(not example.answers)
        finite = [m for m in margins if np.isfinite(m)]
        self.null_threshold = tune_null_threshold([m if np.isfinite(m) else max(finite, default=0) + 1
                                                   for m in margins], answered, null_gold)

    def predict_examples(self, model, examples: list[QAExample], **batching: Any) -> list[tuple[Answer | None, float]]:
        """(the answer span, its score) per read question; None where the model gives no answer."""
        spans = self.spans(model, examples, **batching)
        out = []
        for example, span in zip(examples, spans, strict=True):
            text = self.answer(example, span)
            out.append((Answer(text, span["start"]) if text else None, float(span["score"] or 0.0)))
        return out

    def with_answers(self, examples: list[QAExample], predicted: list[tuple[Answer | None, float]]) -> list[QAExample]:
        """Each question with the predicted span as its answer (a teacher labelling unlabelled questions for
        distillation); no span makes it unanswerable, whose target is [CLS] as for a v2 question."""
        return [replace(e, answers=[answer] if answer else [], is_impossible=answer is None)
                for e, (answer, _) in zip(examples, predicted, strict=True)]

    # metrics ----------------------------------------------------------------------------------
    def evaluate(self, model, examples: list[QAExample], tune: bool = False, **batching: Any) -> dict[str, Any]:
        spans = self.spans(model, examples, **batching)
        if tune:
            self.calibrate(model, examples, spans)
        predicted = [self.answer(e, s) or "" for e, s in zip(examples, spans, strict=True)]
        scores = squad_scores([[a.text for a in e.answers] for e in examples], predicted)
        if self.squad_version == "2.0":
            scores["null_threshold"] = self.null_threshold
        return scores

    def markdown(self, scores: dict[str, Any], title: str) -> str:
        rows = [("exact_match", "exact match (official SQuAD normalization)"), ("f1", "F1 (official, token overlap)"),
                ("has_answer_exact_match", "exact match, answerable"), ("has_answer_f1", "F1, answerable"),
                ("no_answer_accuracy", "no-answer accuracy, unanswerable")]
        lines = [f"### {title}", "", f"{scores.get('examples', 0)} questions.", "", "| metric | value |", "|---|---:|"]
        lines += [f"| {name} | {scores[key]:.4f} |" for key, name in rows if key in scores]
        if scores.get("null_threshold") is not None:
            lines += ["", f"No-answer threshold (null score minus best span score): {scores['null_threshold']:.4f}"]
        return "\n".join(lines) + "\n"

    # use --------------------------------------------------------------------------------------
    @staticmethod
    def prediction_input(example: QAExample) -> dict[str, str]:
        return {"question": example.question, "context": example.context}

    def predict_texts(self, model, inputs: list[Any], **batching: Any) -> list[dict[str, Any]]:
        """For each {"question", "context"} (or (question, context)): answer text, start, end, score."""
        examples = []
        for i, item in enumerate(inputs):
            question, context = (item.get("question"), item.get("context")) if isinstance(item, dict) else item
            if not isinstance(question, str) or not isinstance(context, str):
                raise DataError(f"input {i + 1}: expected a question and a context, both strings")
            examples.append(QAExample(str(i), question, context, [], f"input:{i + 1}"))
        answerable = [e for e in examples if e.context.strip() and e.question.strip()]
        spans = dict(zip((e.id for e in answerable), self.spans(model, answerable, **batching), strict=True))
        results = []
        for example in examples:
            span = spans.get(example.id)
            text = self.answer(example, span) if span else None
            result: dict[str, Any] = {"question": example.question, "answer": text, "start": None, "end": None,
                                      "score": None}
            if text is not None:
                result.update(start=span["start"], end=span["end"], score=round(span["probability"], 4))
            results.append(result)
        return results
