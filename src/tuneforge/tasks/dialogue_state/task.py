"""Schema-guided dialogue state tracking (SGD): per user turn and service, the active intent, the requested
slots and every slot's value so far, read from the service's schema beside the dialogue.

One forward pass per (user turn, service) scores all of the service's schema elements at once (encoding.py,
model.py); the state is accumulated over the dialogue (tracker.py). The schema's descriptions guide it, so a
service absent from training works from its schema alone. Scores are the official SGD metrics (metrics.py),
for all services, the services seen in training, and the unseen ones.

Training targets per slot come from the gold states of consecutive user turns: unchanged, dontcare, active
(a new value: a categorical choice, or the span where it is said — the user turn, the system turn before it,
or an earlier turn) or carried (a value another service of the dialogue already holds).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tuneforge.data.examples import ReadResult
from tuneforge.errors import DataError, RunError
from tuneforge.tasks.base import TaskBase
from tuneforge.tasks.common.collate import padded_inputs
from tuneforge.tasks.common.dropout import set_dropout
from tuneforge.tasks.common.model_files import STATE_FILE, read_model_json
from tuneforge.tasks.dialogue_state import metrics as sgd
from tuneforge.tasks.dialogue_state.dialogues import Dialogue, read_dialogues
from tuneforge.tasks.dialogue_state.encoding import (
    ACTIVE,
    CARRIED,
    DONTCARE,
    IGNORE,
    STATUSES,
    UNCHANGED,
    Encoder,
    Segment,
    StateFeature,
)
from tuneforge.tasks.dialogue_state.schema import DONTCARE as DONTCARE_VALUE
from tuneforge.tasks.dialogue_state.schema import Service, read_schemas, schema_records
from tuneforge.tasks.dialogue_state.tracker import ServiceState, decode_frame
from tuneforge.util.atomic import write_json

SCHEMA_FILE = "schema.json"
STATUS_BIASES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)  # what calibrate tries
METRICS = ("joint_goal_accuracy", "average_goal_accuracy", "active_intent_accuracy", "requested_slots_f1")
COLLECTIONS = {sgd.ALL_SERVICES: "", sgd.SEEN_SERVICES: "_seen", sgd.UNSEEN_SERVICES: "_unseen"}


def spread(items: list, count: int) -> list:
    """``count`` items evenly spread over the list: SGD files are grouped by service, so a head would see few."""
    return [items[i] for i in np.linspace(0, len(items) - 1, count).round().astype(int)]


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


class DialogueState(TaskBase):
    name = "dialogue-state"

    # data -------------------------------------------------------------------------------------
    @classmethod
    def read(cls, path: str, cfg: Any, strict: bool = True, labelled: bool = True) -> ReadResult:
        return cls._read(path, read_schemas(*cfg.task_options.schema_files), strict, labelled)

    @staticmethod
    def _read(path: str, schemas: dict[str, Service], strict: bool, labelled: bool) -> ReadResult:
        errors: list[str] | None = None if strict else []
        dialogues = read_dialogues(path, schemas, labelled, errors)
        if not dialogues and strict:
            raise DataError(f"{path}: no dialogues")
        return ReadResult(dialogues, errors or [])

    @classmethod
    def load_splits(cls, cfg: Any, strict: bool = True) -> dict[str, ReadResult]:
        schemas = read_schemas(*cfg.task_options.schema_files)
        splits = {name: cls._read(path, schemas, strict, True)
                  for name in ("train", "dev", "test") if (path := getattr(cfg.data, name))}
        limit = cfg.task_options.train_dialogues
        if limit and "train" in splits and limit < len(splits["train"].examples):
            splits["train"].examples = spread(splits["train"].examples, limit)
        return splits

    @classmethod
    def main_metric(cls, cfg: Any) -> str:
        return "joint_goal_accuracy"

    @classmethod
    def metric_names(cls, cfg: Any) -> tuple[str, ...]:
        return tuple(m + suffix for suffix in COLLECTIONS.values() for m in METRICS)

    @classmethod
    def for_training(cls, tokenizer, cfg: Any, splits: dict[str, ReadResult]) -> DialogueState:
        schemas = read_schemas(*cfg.task_options.schema_files)
        seen = sorted({s for d in splits["train"].examples for s in d.services}) if "train" in splits else []
        return cls(tokenizer, cfg, schemas, seen)

    @classmethod
    def load(cls, tokenizer, cfg: Any, folder: Path) -> DialogueState:
        folder = Path(folder)
        state = read_model_json(folder / STATE_FILE, required=True)
        if not isinstance(state, dict) or not isinstance(state.get("seen_services"), list):
            raise RunError(f"{folder / STATE_FILE}: expected {{\"seen_services\": [...]}}; the run's model folder "
                           "is damaged")
        extra = [f for f in cfg.task_options.schema_files if Path(f).is_file()]
        schemas = read_schemas(folder / SCHEMA_FILE, *extra)
        return cls(tokenizer, cfg, schemas, state["seen_services"], state)

    def __init__(self, tokenizer, cfg: Any, schemas: dict[str, Service], seen_services: list[str],
                 tuned: dict[str, Any] | None = None) -> None:
        self.tokenizer, self.cfg, self.options = tokenizer, cfg, cfg.task_options
        self.schemas = schemas
        self.seen_services = list(seen_services)
        self.encoder = Encoder(tokenizer, cfg.model.max_length, self.options.schema_text, self.options.max_span_tokens)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._slot_vectors: dict[tuple[str, str], np.ndarray] = {}
        fixed = self.options.status_bias
        self.status_bias = fixed if isinstance(fixed, float) else float((tuned or {}).get("status_bias", 0.0))
        # A loaded run reads data against its own schemas (saved with it) and any the config adds.
        self.read = lambda path, cfg, strict=True, labelled=True: self._read(path, self.schemas, strict, labelled)

    def save(self, folder: Path) -> None:
        write_json(Path(folder) / SCHEMA_FILE, schema_records(self.schemas.values()))
        write_json(Path(folder) / STATE_FILE, self.summary())

    def recalibrated(self, cfg: Any) -> DialogueState:
        return type(self)(self.tokenizer, cfg, self.schemas, self.seen_services)

    def summary(self) -> dict[str, Any]:
        return {"seen_services": self.seen_services, "passes_per_turn": "one per service of the turn",
                "status_bias": self.status_bias}

    def calibrate(self, model, dialogues: list[Dialogue], **batching: Any) -> None:
        """Tune on dev (its ``eval_dialogues`` sample) how readily a slot is called changed (``status_bias:
        auto``): a bias added to the scores of dontcare / active / carried against unchanged, chosen for joint
        goal accuracy. Unchanged is most slots' answer at most turns, and a value missed once stays missing."""
        limit = self.options.eval_dialogues
        if dialogues and self.options.status_bias == "auto":
            dialogues = spread(dialogues, limit) if limit and limit < len(dialogues) else dialogues
            self._tune_bias(dialogues, self._scores(model, dialogues, **batching), self._similarity(model))

    def _scores(self, model, dialogues: list[Dialogue], batch_size: int = 64, batch_tokens: int | None = None,
                starts: list | None = None) -> dict:
        """Every (turn, service) feature with its model scores, by (dialogue, turn, service)."""
        from tuneforge.engine.inference import predict_outputs

        first_turns = [first for first, _ in starts] if starts else None
        features = self.encode(dialogues, with_labels=False, first_turns=first_turns)
        outputs = predict_outputs(model, features, self.collate, "schema-state", batch_size, batch_tokens)
        return {f.key: (f, out) for f, out in zip(features, outputs, strict=True)}

    def _tune_bias(self, dialogues: list[Dialogue], by_key: dict, similarity) -> None:
        gold, starts = [self.gold_record(d) for d in dialogues], [(0, {}) for _ in dialogues]
        best = (-1.0, 0.0)
        for bias in STATUS_BIASES:
            predicted = self._accumulate(dialogues, by_key, starts, similarity, bias)
            jga = sgd.score_dialogues(gold, predicted, self.schemas, set(self.seen_services))[sgd.ALL_SERVICES]
            best = max(best, (jga.get("joint_goal_accuracy", 0.0), -bias))  # ties: the smaller bias
        self.status_bias = -best[1]

    # encode -----------------------------------------------------------------------------------
    def encode(self, dialogues: Sequence[Dialogue], with_labels: bool = True,
               first_turns: Sequence[int] | None = None) -> list[StateFeature]:
        """One feature per (user turn, service); ``first_turns``: per dialogue, the first turn to track (the
        turns before it are context only: a served conversation tracks its newest message)."""
        o = self.options
        features = []
        for d, dialogue in enumerate(dialogues):
            segments = self.encoder.segments([t.text for t in dialogue.turns])
            gold: dict[str, dict[str, list[str]]] = {}  # each service's state before this turn
            for t, turn in enumerate(dialogue.turns):
                if turn.speaker != "user" or (first_turns is not None and t < first_turns[d]):
                    continue
                for frame in turn.frames:
                    service = self._service(frame.service, dialogue)
                    feature = self.encoder.feature(service, segments, t, o.system_turn, o.history_turns,
                                                   (d, t, frame.service))
                    if with_labels:
                        feature.targets = self._targets(feature, service, dialogue, t, frame, gold, segments)
                    features.append(feature)
                if with_labels:
                    for frame in turn.frames:
                        gold[frame.service] = dict(frame.state.slot_values)
        return features

    def _service(self, name: str, dialogue: Dialogue) -> Service:
        if name not in self.schemas:
            raise DataError(f"{dialogue.source}: dialogue {dialogue.id}: service {name}: not in the schema")
        return self.schemas[name]

    def _targets(self, feature: StateFeature, service: Service, dialogue: Dialogue, t: int, frame,
                 gold: dict[str, dict[str, list[str]]], segments: list[Segment]) -> dict[str, list[int]]:
        state = frame.state
        intent_names = [i.name for i in service.intents]
        before = gold.get(service.name, {})
        others = {_norm(v) for name, values in gold.items() if name != service.name
                  for vs in values.values() for v in vs}
        system = dialogue.turns[t - 1].frame(service.name) if t > 0 else None
        targets: dict[str, list[int]] = {
            "intent": [0 if state.intent == "NONE" else 1 + intent_names.index(state.intent)],
            "requested": [int(s.name in state.requested_slots) for s in service.slots],
            "status": [], "value": [], "start": [], "end": []}
        for slot in service.slots:
            now, then = state.slot_values.get(slot.name), before.get(slot.name)
            status, value, span = UNCHANGED, IGNORE, None
            if now is None or (then and {_norm(v) for v in now} & {_norm(v) for v in then}):
                status = UNCHANGED
            elif now == [DONTCARE_VALUE]:
                status = DONTCARE
            elif slot.is_categorical:
                status, value = ACTIVE, slot.possible_values.index(now[0]) if now[0] in slot.possible_values else IGNORE
            else:
                status = ACTIVE
                span = self._value_span(feature, slot.name, now, t, frame, system, segments)
                if span is None and self.options.carry_over and {_norm(v) for v in now} & others:
                    status = CARRIED
                if span is None and status == ACTIVE:
                    span = self._text_span(feature, now, segments, skip=(t, t - 1))
            targets["status"].append(status)
            targets["value"].append(value)
            targets["start"].append(span[0] if span else IGNORE)
            targets["end"].append(span[1] if span else IGNORE)
        return targets

    def _value_span(self, feature: StateFeature, slot: str, values: list[str], t: int, frame, system,
                    segments: list[Segment]) -> tuple[int, int] | None:
        """Where the user turn (annotated span) or the system turn before it (annotated, or said) gives it."""
        wanted = {_norm(v) for v in values}
        for turn, annotated in ((t, frame), (t - 1, system)):
            if annotated is None or turn < 0:
                continue
            for span in annotated.spans:
                text = segments[turn].text[span.start:span.end]
                if span.slot == slot and _norm(text) in wanted:
                    found = self.encoder.token_span(feature, turn, span.start, span.end)
                    if found:
                        return found
        return self._text_span(feature, values, segments, only=(t, t - 1))

    def _text_span(self, feature: StateFeature, values: list[str], segments: list[Segment],
                   only: tuple[int, ...] | None = None, skip: tuple[int, ...] = ()) -> tuple[int, int] | None:
        """The first place, in the feature's reading order, where one of the values is written."""
        turns = [int(x) for x in dict.fromkeys(feature.token_turn[feature.token_turn >= 0].tolist())]
        for turn in turns:
            if (only is not None and turn not in only) or turn in skip:
                continue
            haystack = segments[turn].text.casefold()
            for value in values:
                at = haystack.find(value.casefold())
                if at >= 0:
                    found = self.encoder.token_span(feature, turn, at, at + len(value))
                    if found and found[1] - found[0] < self.options.max_span_tokens:
                        return found
        return None

    def collate(self, features: list[StateFeature]) -> dict[str, torch.Tensor]:
        batch = padded_inputs([f.input_ids.tolist() for f in features], self.pad_id,
                              [f.token_type_ids.tolist() for f in features])
        n = len(features)
        width = batch["input_ids"].shape[1]
        max_i = max(len(f.intent_at) for f in features)
        max_s = max(len(f.slot_at) for f in features)
        max_v = max((len(v) for f in features for v in f.value_at), default=0) or 1
        intent_at = torch.zeros(n, max_i, dtype=torch.long)
        intent_mask = torch.zeros(n, max_i, dtype=torch.bool)
        slot_at = torch.zeros(n, max_s, dtype=torch.long)
        slot_mask = torch.zeros(n, max_s, dtype=torch.bool)
        value_at = torch.zeros(n, max_s, max_v, dtype=torch.long)
        value_mask = torch.zeros(n, max_s, max_v, dtype=torch.bool)
        span_ok = torch.zeros(n, width, dtype=torch.bool)
        for row, f in enumerate(features):
            intent_at[row, : len(f.intent_at)] = torch.tensor(f.intent_at)
            intent_mask[row, : len(f.intent_at)] = True
            slot_at[row, : len(f.slot_at)] = torch.tensor(f.slot_at)
            slot_mask[row, : len(f.slot_at)] = True
            for k, values in enumerate(f.value_at):
                if values:
                    value_at[row, k, : len(values)] = torch.tensor(values)
                    value_mask[row, k, : len(values)] = True
            span_ok[row, : len(f)] = torch.from_numpy(f.span_ok)
        batch.update(intent_at=intent_at, intent_mask=intent_mask, slot_at=slot_at, slot_mask=slot_mask,
                     value_at=value_at, value_mask=value_mask, span_ok=span_ok)
        if features[0].targets is not None:
            batch["target_intent"] = torch.tensor([f.targets["intent"][0] for f in features])
            for key, pad in (("requested", 0), ("status", IGNORE), ("value", IGNORE), ("start", IGNORE),
                             ("end", IGNORE)):
                target = torch.full((n, max_s), pad, dtype=torch.long)
                for row, f in enumerate(features):
                    target[row, : len(f.targets[key])] = torch.tensor(f.targets[key])
                batch[f"target_{key}"] = target
        return batch

    # model and loss ---------------------------------------------------------------------------
    def build_model(self, name: str, dropout: float | None):
        from transformers import AutoConfig, AutoModel

        from tuneforge.models import load_pretrained
        from tuneforge.tasks.dialogue_state.model import HEAD_WEIGHTS, SchemaGuidedTracker

        config = set_dropout(load_pretrained(name, AutoConfig), dropout)
        encoder = load_pretrained(name, AutoModel, config=config)
        head_dropout = dropout if dropout is not None else getattr(config, "hidden_dropout_prob", 0.1)
        model = SchemaGuidedTracker(encoder, head_dropout)
        if (Path(name) / HEAD_WEIGHTS).is_file():  # a trained tracker's model folder: go on from its heads too
            model.load_heads(name)
        return model

    def load_model(self, folder: Path):
        from tuneforge.tasks.dialogue_state.model import SchemaGuidedTracker

        return SchemaGuidedTracker.from_pretrained(folder)

    def compute_loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        from tuneforge.tasks.dialogue_state.model import state_loss

        inputs = {k: v for k, v in batch.items() if not k.startswith("target_")}
        return state_loss(model(**inputs), batch), len(batch["target_intent"])

    def count_items(self, batch: dict[str, torch.Tensor]) -> int:
        return len(batch["target_intent"])

    # tracking ---------------------------------------------------------------------------------
    def track(self, model, dialogues: list[Dialogue], batch_size: int = 64, batch_tokens: int | None = None,
              starts: list[tuple[int, dict[str, ServiceState]]] | None = None) -> list[dict[str, Any]]:
        """Each dialogue as a record with every user frame's predicted intent, requested slots and state.
        ``starts``: per dialogue, the first turn to track and the states before it (default: 0, none)."""
        starts = starts or [(0, {}) for _ in dialogues]
        by_key = self._scores(model, dialogues, batch_size, batch_tokens, starts)
        return self._accumulate(dialogues, by_key, starts, self._similarity(model), self.status_bias)

    def _accumulate(self, dialogues: list[Dialogue], by_key: dict, starts: list, similarity,
                    status_bias: float) -> list[dict[str, Any]]:
        """The records of ``track`` from each (turn, service)'s scores, the states accumulated turn by turn."""
        records = []
        for d, dialogue in enumerate(dialogues):
            texts = [t.text for t in dialogue.turns]  # spans are cut from these: no second tokenization
            first, given = starts[d]
            states: dict[str, ServiceState] = dict(given)
            turns = []
            for t, turn in enumerate(dialogue.turns):
                if turn.speaker != "user" or t < first:
                    turns.append({"speaker": turn.speaker, "text": turn.text, "frames": []})
                    continue
                frames = []
                for frame in turn.frames:
                    feature, out = by_key[(d, t, frame.service)]
                    others = [(s, slot, v) for s, st in states.items() if s != frame.service
                              for slot, v in st.values.items() if v != DONTCARE_VALUE]
                    states[frame.service] = decode_frame(
                        out, feature, self.schemas[frame.service], states.get(frame.service, ServiceState()),
                        texts, others, similarity, self.options.carry_over, self.options.max_span_tokens,
                        status_bias)
                    frames.append(states[frame.service].frame(frame.service))
                turns.append({"speaker": "user", "text": turn.text, "frames": frames})
            records.append({"id": dialogue.id, "services": dialogue.services, "turns": turns})
        return records

    def _similarity(self, model):
        """How alike two slots are: the cosine of the encoder's mean-pooled embeddings of their schema texts."""
        from tuneforge.tasks.dialogue_state.encoding import element_text

        missing = [(s.name, slot) for s in self.schemas.values() for slot in s.slots
                   if (s.name, slot.name) not in self._slot_vectors]
        if missing and self.options.carry_over:
            texts = [element_text(slot.name, slot.description, "both") for _, slot in missing]
            encoder = getattr(model, "base_model", None)
            if isinstance(encoder, torch.nn.Module):
                was_training = model.training
                model.eval()
                try:
                    with torch.inference_mode():
                        inputs = self.tokenizer(texts, padding=True, return_tensors="pt")
                        hidden = encoder(**inputs).last_hidden_state
                        mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                        vectors = ((hidden * mask).sum(1) / mask.sum(1)).float().numpy()
                finally:
                    model.train(was_training)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
                for (service, slot), vector in zip(missing, vectors, strict=True):
                    self._slot_vectors[(service, slot.name)] = vector

        def similarity(service: str, slot: str, other_service: str, other_slot: str) -> float:
            a, b = self._slot_vectors.get((service, slot)), self._slot_vectors.get((other_service, other_slot))
            return float(a @ b) if a is not None and b is not None else 0.0

        return similarity

    # scores -----------------------------------------------------------------------------------
    def gold_record(self, dialogue: Dialogue) -> dict[str, Any]:
        turns = []
        for turn in dialogue.turns:
            frames = []
            if turn.speaker == "user":
                frames = [{"service": f.service, "intent": f.state.intent,
                           "requested_slots": list(f.state.requested_slots),
                           "slot_values": dict(f.state.slot_values)} for f in turn.frames]
            turns.append({"speaker": turn.speaker, "text": turn.text, "frames": frames})
        return {"id": dialogue.id, "services": dialogue.services, "turns": turns}

    def evaluate(self, model, dialogues: list[Dialogue], tune: bool = False, **batching: Any) -> dict[str, Any]:
        limit = self.options.eval_dialogues
        if tune and limit and limit < len(dialogues):  # dev during training: an evenly spread sample
            dialogues = spread(dialogues, limit)
        if tune and self.options.status_bias == "auto":  # one forward pass: tuned, then scored
            by_key, similarity = self._scores(model, dialogues, **batching), self._similarity(model)
            self._tune_bias(dialogues, by_key, similarity)
            predicted = self._accumulate(dialogues, by_key, [(0, {}) for _ in dialogues], similarity,
                                         self.status_bias)
        else:
            predicted = self.track(model, dialogues, **batching)
        scores = sgd.score_dialogues([self.gold_record(d) for d in dialogues], predicted, self.schemas,
                                     set(self.seen_services))
        out: dict[str, Any] = {"dialogues": len(dialogues)}
        for collection, suffix in COLLECTIONS.items():
            for metric in METRICS:
                if metric in scores.get(collection, {}):
                    out[metric + suffix] = scores[collection][metric]
        out["by_service"] = {name: {m: by[m] for m in METRICS if m in by}
                             for name, by in sorted(scores.items()) if not name.startswith("#")}
        if not tune:
            out["predictions"] = predicted
        return out

    def markdown(self, scores: dict[str, Any], title: str) -> str:
        lines = [f"### {title}", "", f"{scores.get('dialogues', 0)} dialogues; official SGD metrics.", "",
                 "| metric | all services | seen | unseen |", "|---|---:|---:|---:|"]
        for metric in METRICS:
            cells = [scores.get(metric + suffix) for suffix in COLLECTIONS.values()]
            lines.append(f"| {metric.replace('_', ' ')} | "
                         + " | ".join("—" if c is None else f"{c:.4f}" for c in cells) + " |")
        return "\n".join(lines) + "\n"

    # use --------------------------------------------------------------------------------------
    @staticmethod
    def prediction_input(example: Dialogue) -> dict[str, Any]:
        return {"id": example.id, "services": example.services,
                "turns": [{"speaker": t.speaker, "text": t.text,
                           "frames": [{"service": s} for s in t.services] if t.speaker == "user" else []}
                          for t in example.turns]}

    def predict_texts(self, model, inputs: list[Any], **batching: Any) -> list[dict[str, Any]]:
        """For each dialogue record: the same dialogue with each user frame's intent, requested slots and state.

        A record may carry ``"state"`` ({service: {intent, requested_slots, slot_values}}) and ``"track_from"``
        (a turn index): the turns before it are context, tracking starts there from that state (a served
        conversation sends its kept turns and its state, and tracks the newest message alone)."""
        from tuneforge.tasks.dialogue_state.dialogues import parse_dialogue

        dialogues, starts = [], []
        for i, item in enumerate(inputs):
            where = item.get("_where", f"input {i + 1}") if isinstance(item, dict) else f"input {i + 1}"
            dialogue = parse_dialogue(item, self.schemas, where)
            dialogues.append(dialogue)
            starts.append(self._start(item, dialogue, where))
        return self.track(model, dialogues, **batching, starts=starts)

    def _start(self, item: dict[str, Any], dialogue: Dialogue, where: str) -> tuple[int, dict[str, ServiceState]]:
        first = item.get("track_from", 0)
        if not isinstance(first, int) or isinstance(first, bool) or not 0 <= first <= len(dialogue.turns):
            raise DataError(f"{where}: 'track_from' must be a turn index (0 to {len(dialogue.turns)})")
        given = item.get("state") or {}
        if not isinstance(given, dict):
            raise DataError(f"{where}: 'state' must map each service to its state")
        states = {}
        for name, frame in given.items():
            service = self.schemas.get(name)
            values = frame.get("slot_values", {}) if isinstance(frame, dict) else None
            if service is None or not isinstance(values, dict):
                raise DataError(f"{where}: state of service {name}: unknown service or not "
                                "{intent, requested_slots, slot_values}")
            unknown = [s for s in values if s not in service.slot_by_name]
            if unknown:
                raise DataError(f"{where}: state of service {name}: slot '{unknown[0]}' is not a slot of the service")
            states[name] = ServiceState(str(frame.get("intent", "NONE")), list(frame.get("requested_slots", [])),
                                        {s: v[0] if isinstance(v, list) else str(v) for s, v in values.items() if v})
        return first, states


def read_dialogue_inputs(path: str) -> list[dict[str, Any]]:
    """predict --input: one dialogue per line, checked for its shape here (a bad one is one line naming the file
    and line); the services are checked against the run's schemas when it predicts."""
    from tuneforge.tasks.dialogue_state.dialogues import input_records

    return input_records(path)


__all__ = ["DialogueState", "STATUSES", "read_dialogue_inputs"]
