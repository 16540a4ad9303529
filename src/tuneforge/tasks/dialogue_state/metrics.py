"""The official DSTC8 / SGD dialogue state tracking metrics, ported from google-research ``schema_guided_dst``.

A port of ``metrics.py`` and ``evaluate.py`` (Apache-2.0), so that numbers are comparable with published SGD
results. Every user-turn frame of the gold data is scored on its own, against the predicted frame for the same
service in the same turn, and each metric is the mean over frames:

- active intent accuracy: the predicted intent is the gold one;
- requested slots F1 (and precision, recall): over the frame's requested slots; a frame with none on both sides
  scores 1.0 (what the code does; the original docstring says such frames are skipped);
- average goal accuracy: mean over the slots with a gold value; frames with an empty gold state do not count;
- joint goal accuracy: the product of the scores of *all* the service's slots (a slot absent on both sides
  scores 1, on one side only 0). Categorical values must equal the first gold value exactly; a non-categorical
  value scores its best fuzzy match against the gold spellings (fuzzywuzzy's ``token_sort_ratio`` / 100, in
  whole percent), so a frame's joint score can lie strictly between 0 and 1;
- the same two goal accuracies restricted to categorical and to non-categorical slots (a metric that does not
  apply to a frame, e.g. categorical accuracy for a service without categorical slots, skips the frame);
- slot tagging F1, only for predicted frames that carry ``slots`` (spans).

Only the first predicted value of a slot is scored. Nothing carries over between turns: a service's state is
scored at each user turn whose gold data has a frame for it. The results are reported for all frames, for
frames of services seen in training, of unseen services, and per service and per domain.

Records are in the compacted SGD JSONL format (``dialogues.py``): a user frame has ``intent``,
``requested_slots`` and ``slot_values`` where the original has ``state.active_intent`` etc.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from tuneforge.errors import DataError
from tuneforge.tasks.dialogue_state.schema import Service

ALL_SERVICES = "#ALL_SERVICES"
SEEN_SERVICES = "#SEEN_SERVICES"
UNSEEN_SERVICES = "#UNSEEN_SERVICES"

ACTIVE_INTENT_ACCURACY = "active_intent_accuracy"
SLOT_TAGGING_F1 = "slot_tagging_f1"
SLOT_TAGGING_PRECISION = "slot_tagging_precision"
SLOT_TAGGING_RECALL = "slot_tagging_recall"
REQUESTED_SLOTS_F1 = "requested_slots_f1"
REQUESTED_SLOTS_PRECISION = "requested_slots_precision"
REQUESTED_SLOTS_RECALL = "requested_slots_recall"
AVERAGE_GOAL_ACCURACY = "average_goal_accuracy"
AVERAGE_CAT_ACCURACY = "average_cat_accuracy"
AVERAGE_NONCAT_ACCURACY = "average_noncat_accuracy"
JOINT_GOAL_ACCURACY = "joint_goal_accuracy"
JOINT_CAT_ACCURACY = "joint_cat_accuracy"
JOINT_NONCAT_ACCURACY = "joint_noncat_accuracy"
JOINT_METRICS = (JOINT_GOAL_ACCURACY, JOINT_CAT_ACCURACY, JOINT_NONCAT_ACCURACY)


@dataclass(frozen=True)
class F1Scores:
    """F1 with its precision and recall."""

    f1: float
    precision: float
    recall: float


def compute_f1(reference: list[Any], hypothesis: list[Any]) -> F1Scores:
    """F1 of two multisets; an empty side has precision (or recall) 1.0, so two empty lists score 1.0."""
    ref, hyp = Counter(reference), Counter(hypothesis)
    true, positive = sum(ref.values()), sum(hyp.values())
    true_positive = sum((ref & hyp).values())
    precision = true_positive / positive if positive else 1.0
    recall = true_positive / true if true else 1.0
    f1 = 2.0 * precision * recall / (precision + recall) if precision + recall > 0.0 else 0.0
    return F1Scores(f1, precision, recall)


_LATIN1_HIGH = dict.fromkeys(range(128, 256))  # fuzzywuzzy's force_ascii drops exactly these code points
_NON_WORD = re.compile(r"\W")


def _token_sort_key(text: str) -> str:
    """fuzzywuzzy's ``full_process`` then token sort: what ``token_sort_ratio`` compares."""
    processed = _NON_WORD.sub(" ", text.translate(_LATIN1_HIGH)).lower().strip()
    return " ".join(sorted(processed.split()))


def fuzzy_string_match(reference: str, hypothesis: str) -> float:
    """fuzzywuzzy ``fuzz.token_sort_ratio(reference, hypothesis) / 100``, as the official metric scores values.

    Both strings lose Latin-1 accented letters and punctuation, are lower-cased and their tokens sorted; the
    similarity is the indel ratio (python-Levenshtein's, computed here with rapidfuzz) rounded to a whole
    percent the way Python rounds (half to even). So "Bird" against "Bird Dog" scores 0.67, not 0.6667, and
    "Los Angeles" against "Los Angeles, CA" 0.88 (rapidfuzz's own ``token_sort_ratio`` gives 0.846 by default,
    as it neither lower-cases nor drops punctuation unless given a processor).
    """
    from rapidfuzz.distance import Indel

    a, b = _token_sort_key(reference), _token_sort_key(hypothesis)
    if a == b:  # fuzzywuzzy checks equality before emptiness: two strings of punctuation score 1.0
        return 1.0
    if not a or not b:
        return 0.0
    total = len(a) + len(b)
    ratio = (total - Indel.distance(a, b)) / total
    return int(round(100 * ratio)) / 100.0


def noncat_slot_value_match(references: list[str], hypothesis: str, use_fuzzy_match: bool = True) -> float:
    """The best match of a predicted non-categorical value against the gold spellings."""
    score = 0.0
    for reference in references:
        match = fuzzy_string_match(reference, hypothesis) if use_fuzzy_match else float(reference == hypothesis)
        score = max(score, match)
    return score


def compare_slot_values(reference: dict[str, list[str]], hypothesis: dict[str, list[str]], service: Service,
                        use_fuzzy_match: bool = True) -> tuple[list[float], list[bool], list[bool]]:
    """Per slot of the service, in schema order: (score, has a gold value, is categorical)."""
    scores, active, categorical = [], [], []
    for slot in service.slots:
        categorical.append(slot.is_categorical)
        if slot.name in reference:
            active.append(True)
            if slot.name in hypothesis:
                gold, predicted = reference[slot.name], hypothesis[slot.name][0]
                if slot.is_categorical:
                    scores.append(float(gold[0] == predicted))
                else:
                    scores.append(noncat_slot_value_match(gold, predicted, use_fuzzy_match))
            else:
                scores.append(0.0)
        else:
            active.append(False)
            scores.append(0.0 if slot.name in hypothesis else 1.0)
    return scores, active, categorical


def goal_accuracies(reference: dict[str, list[str]], hypothesis: dict[str, list[str]], service: Service,
                    use_fuzzy_match: bool = True) -> dict[str, float]:
    """Average and joint goal accuracy of one frame (all, categorical, non-categorical slots).

    A metric with no slot to average over is left out (the original's ``"NA"``), so the frame does not count
    towards it.
    """
    scores, active, categorical = compare_slot_values(reference, hypothesis, service, use_fuzzy_match)
    result: dict[str, float] = {}
    groups = {
        AVERAGE_GOAL_ACCURACY: [s for s, a in zip(scores, active, strict=True) if a],
        AVERAGE_CAT_ACCURACY: [s for s, a, c in zip(scores, active, categorical, strict=True) if a and c],
        AVERAGE_NONCAT_ACCURACY: [s for s, a, c in zip(scores, active, categorical, strict=True) if a and not c],
    }
    for key, values in groups.items():
        if values:
            result[key] = sum(values) / len(values)
    products = {
        JOINT_GOAL_ACCURACY: scores,
        JOINT_CAT_ACCURACY: [s for s, c in zip(scores, categorical, strict=True) if c],
        JOINT_NONCAT_ACCURACY: [s for s, c in zip(scores, categorical, strict=True) if not c],
    }
    for key, values in products.items():
        if values:
            product = 1.0
            for value in values:
                product *= value
            result[key] = product
    return result


def slot_tagging_f1(reference_spans: list[dict], hypothesis_spans: list[dict], text: str,
                    service: Service) -> F1Scores:
    """F1 of the (slot, text) pairs of non-categorical slot spans; offsets index the user turn's text."""
    noncat = {slot.name for slot in service.slots if not slot.is_categorical}
    ref = [(s["slot"], text[s["start"]:s["end"]]) for s in reference_spans if s["slot"] in noncat]
    hyp = [(s["slot"], text[s["start"]:s["end"]]) for s in hypothesis_spans if s["slot"] in noncat]
    return compute_f1(ref, hyp)


def frame_metrics(gold_frame: dict, predicted_frame: dict, text: str, service: Service,
                  use_fuzzy_match: bool = True, where: str = "frame") -> dict[str, float]:
    """All the metrics of one user frame (``evaluate.get_metrics``'s ``frame_metric``)."""
    gold_intent, gold_requested, gold_values = _state(gold_frame, f"gold {where}")
    intent, requested, values = _state(predicted_frame, f"predicted {where}")
    requested_scores = compute_f1(gold_requested, requested)
    metrics = {
        ACTIVE_INTENT_ACCURACY: float(gold_intent == intent),
        REQUESTED_SLOTS_F1: requested_scores.f1,
        REQUESTED_SLOTS_PRECISION: requested_scores.precision,
        REQUESTED_SLOTS_RECALL: requested_scores.recall,
    }
    if "slots" in predicted_frame:
        tagging = slot_tagging_f1(_spans(gold_frame, text, f"gold {where}"),
                                  _spans(predicted_frame, text, f"predicted {where}"), text, service)
        metrics.update({SLOT_TAGGING_F1: tagging.f1, SLOT_TAGGING_PRECISION: tagging.precision,
                        SLOT_TAGGING_RECALL: tagging.recall})
    metrics.update(goal_accuracies(gold_values, values, service, use_fuzzy_match))
    return metrics


def score_dialogues(gold: list[dict], predicted: list[dict], schemas: dict[str, Service], seen_services: set[str],
                    *, use_fuzzy_match: bool = True, joint_acc_across_turn: bool = False, complete: bool = True,
                    per_frame: dict[str, dict[str, float]] | None = None) -> dict[str, dict[str, float]]:
    """The official SGD metrics of ``predicted`` against ``gold``: {collection: {metric: mean over frames}}.

    Collections are ``#ALL_SERVICES``, ``#SEEN_SERVICES`` (services in ``seen_services``, i.e. the train
    schema), ``#UNSEEN_SERVICES``, each service name and each domain (``Restaurants``). ``schemas`` are the
    evaluated split's services. ``use_fuzzy_match=False`` and ``joint_acc_across_turn=True`` are the original's
    MultiWOZ-style flags (exact non-categorical match; one joint score per turn over all its frames).

    The original scores only the dialogues present in the predictions and only as many turns as both sides
    have; ``complete=True`` (the default) instead requires every gold dialogue and turn to be predicted, which
    gives the same numbers on a complete prediction and an error on an incomplete one. ``per_frame``, when
    given, receives each frame's metrics under ``DIALOGUE-TURN-SERVICE`` (turn as three digits).
    """
    gold_by_id = _by_id(gold, "gold")
    predicted_by_id = _by_id(predicted, "predicted")
    for dialogue_id in predicted_by_id:
        if dialogue_id not in gold_by_id:
            raise DataError(f"predicted dialogue {dialogue_id}: not in the gold dialogues")
    if complete:
        missing = [dialogue_id for dialogue_id in gold_by_id if dialogue_id not in predicted_by_id]
        if missing:
            raise DataError(f"{len(missing)} gold dialogue(s) not predicted, e.g. {missing[0]}")
    collections: defaultdict[str, defaultdict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for dialogue_id, hyp in predicted_by_id.items():
        ref = gold_by_id[dialogue_id]
        if set(_list(ref, "services", f"gold dialogue {dialogue_id}")) != set(
                _list(hyp, "services", f"predicted dialogue {dialogue_id}")):
            raise DataError(f"predicted dialogue {dialogue_id}: its 'services' differ from the gold dialogue's")
        ref_turns = _list(ref, "turns", f"gold dialogue {dialogue_id}")
        hyp_turns = _list(hyp, "turns", f"predicted dialogue {dialogue_id}")
        if complete and len(ref_turns) != len(hyp_turns):
            raise DataError(f"predicted dialogue {dialogue_id}: {len(hyp_turns)} turns where the gold dialogue "
                            f"has {len(ref_turns)}")
        for turn_id, (ref_turn, hyp_turn) in enumerate(zip(ref_turns, hyp_turns, strict=False)):  # as the original
            where = f"dialogue {dialogue_id}, turn {turn_id}"
            _score_turn(ref_turn, hyp_turn, where, f"{dialogue_id}-{turn_id:03d}", schemas, seen_services,
                        use_fuzzy_match, joint_acc_across_turn, collections, per_frame)
    return {key: {metric: sum(values) / len(values) for metric, values in by_metric.items() if values}
            for key, by_metric in collections.items()}


def _score_turn(ref_turn: Any, hyp_turn: Any, where: str, frame_prefix: str, schemas: dict[str, Service],
                seen_services: set[str], use_fuzzy_match: bool, joint_acc_across_turn: bool,
                collections: defaultdict[str, defaultdict[str, list[float]]],
                per_frame: dict[str, dict[str, float]] | None) -> None:
    """Add the metrics of one turn's frames to ``collections`` (system turns add nothing)."""
    for side, turn in (("gold", ref_turn), ("predicted", hyp_turn)):
        if not isinstance(turn, dict) or not isinstance(turn.get("text"), str):
            raise DataError(f"{side} {where}: expected an object with 'speaker', 'text' and 'frames'")
    if ref_turn.get("speaker") != hyp_turn.get("speaker"):
        raise DataError(f"predicted {where}: speaker {hyp_turn.get('speaker')!r} where the gold has "
                        f"{ref_turn.get('speaker')!r}")
    if ref_turn["speaker"] != "user":
        return
    if ref_turn["text"] != hyp_turn["text"]:
        raise DataError(f"predicted {where}: text differs from the gold turn's")
    hyp_frames: dict[str, dict] = {}
    for frame in _list(hyp_turn, "frames", f"predicted {where}"):
        service_name = frame.get("service") if isinstance(frame, dict) else None
        if not isinstance(service_name, str):
            raise DataError(f"predicted {where}: a frame without 'service'")
        if service_name in hyp_frames:
            raise DataError(f"predicted {where}, service {service_name}: two frames for one service")
        hyp_frames[service_name] = frame
    per_turn: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(lambda: 1.0))
    for frame in _list(ref_turn, "frames", f"gold {where}"):
        service_name = frame.get("service") if isinstance(frame, dict) else None
        if not isinstance(service_name, str):
            raise DataError(f"gold {where}: a frame without 'service'")
        here = f"{where}, service {service_name}"
        if service_name not in hyp_frames:
            raise DataError(f"predicted {here}: no frame for this service")
        service = schemas.get(service_name)
        if service is None:
            raise DataError(f"gold {here}: not in the schema")
        metrics = frame_metrics(frame, hyp_frames[service_name], ref_turn["text"], service, use_fuzzy_match, here)
        if per_frame is not None:
            per_frame[f"{frame_prefix}-{service_name}"] = metrics
        keys = [ALL_SERVICES, service_name, service.domain,
                SEEN_SERVICES if service_name in seen_services else UNSEEN_SERVICES]
        for key in keys:
            for metric, value in metrics.items():
                if joint_acc_across_turn and metric in JOINT_METRICS:
                    per_turn[key][metric] *= value
                else:
                    collections[key][metric].append(value)
    for key, by_metric in per_turn.items():
        for metric, value in by_metric.items():
            collections[key][metric].append(value)


def _state(frame: dict, where: str) -> tuple[str, list[str], dict[str, list[str]]]:
    """(intent, requested slots, slot values) of a user frame, checked enough to be scored."""
    intent, requested, values = frame.get("intent"), frame.get("requested_slots"), frame.get("slot_values")
    if not isinstance(intent, str):
        raise DataError(f"{where}: 'intent' missing or not a string")
    if not isinstance(requested, list) or not all(isinstance(s, str) for s in requested):
        raise DataError(f"{where}: 'requested_slots' missing or not a list of slot names")
    if not isinstance(values, dict) or not all(
            isinstance(v, list) and v and all(isinstance(x, str) for x in v) for v in values.values()):
        raise DataError(f"{where}: 'slot_values' must map each slot to a non-empty list of strings")
    return intent, requested, values


def _spans(frame: dict, text: str, where: str) -> list[dict]:
    spans = frame.get("slots", [])
    if not isinstance(spans, list) or not all(
            isinstance(s, dict) and isinstance(s.get("slot"), str) and isinstance(s.get("start"), int)
            and isinstance(s.get("end"), int) for s in spans):
        raise DataError(f"{where}: 'slots' must be a list of {{\"slot\", \"start\", \"end\"}}")
    return spans


def _by_id(records: list[dict], side: str) -> dict[str, dict]:
    by_id: dict[str, dict] = {}
    for index, record in enumerate(records):
        dialogue_id = record.get("id") if isinstance(record, dict) else None
        if not isinstance(dialogue_id, str):
            raise DataError(f"{side} dialogue {index}: 'id' missing or not a string")
        if dialogue_id in by_id:
            raise DataError(f"{side} dialogue {dialogue_id}: duplicate dialogue id")
        by_id[dialogue_id] = record
    return by_id


def _list(record: dict, key: str, where: str) -> list:
    value = record.get(key)
    if not isinstance(value, list):
        raise DataError(f"{where}: '{key}' missing or not a list")
    return value
