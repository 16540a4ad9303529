"""``python -m tuneforge.assistant.prepare_sgd SGD_DIR OUT_DIR``: the assistant's three training sets from SGD.

For each split file in SGD_DIR (``train.jsonl``, ``dev.jsonl``; the compacted format of
``shared/datasets/sgd/README.md``) it writes

    OUT_DIR/intent/SPLIT.jsonl   {"text": formats.intent_text(user turns so far), "label": intent | NONE}
    OUT_DIR/slots/SPLIT.jsonl    {"tokens": [...], "tags": [BIO slot tags]}, one per user turn
    OUT_DIR/reply/SPLIT.jsonl    {"prompt": formats.reply_prompt(...), "completion": the system's next turn,
                                  "values": what its INFORM / OFFER / CONFIRM acts convey (scored as slot_recall)}

The intent is SGD's intent name (``FindRestaurants``), not ``Service:Intent``: services that differ only in
version (``RideSharing_1`` and ``_2``) share intents that no text can tell apart, and a new service of a known
kind (dev's ``Restaurants_2``) keeps its intents known. With a train file, another split's dialogues are
divided: ``SPLIT.jsonl`` keeps those whose every intent and slot type occurs in train (what the classifiers
can know), ``SPLIT_unseen.jsonl`` the rest (new kinds of service, e.g. dev's ``Alarm_1``: what zero-shot,
schema-guided matching is for; docs/tasks/embedding-classification.md).

One intent per user turn: the first of its frames with an active intent (``NONE`` when none has, i.e. before
the user asked for anything: the assistant's out-of-scope label). Slots are the spans of all its frames.
A malformed dialogue is an error naming the file and line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tuneforge.assistant.formats import intent_text, reply_prompt, slot_tags
from tuneforge.data.examples import Problems
from tuneforge.data.sgd import ROLE_OF_SPEAKER, read_dialogues, reply_values
from tuneforge.data.sgd_intents import NO_INTENT
from tuneforge.errors import DataError, TuneforgeError
from tuneforge.util.atomic import write_text

SPLITS = ("train", "dev", "test")
KINDS = ("intent", "slots", "reply")


def prepare(sgd_dir: str | Path, out_dir: str | Path) -> dict[str, dict[str, int]]:
    """Write the three sets for every split file found; returns the number of records per set and split."""
    sgd_dir, out_dir = Path(sgd_dir), Path(out_dir)
    found = [s for s in SPLITS if (sgd_dir / f"{s}.jsonl").is_file()]
    if not found:
        raise DataError(f"{sgd_dir}: no SGD split files ({', '.join(f'{s}.jsonl' for s in SPLITS)})")
    counts: dict[str, dict[str, int]] = {kind: {} for kind in KINDS}
    known: set[str] | None = None  # every intent and slot type of the train file: what the classifiers can learn
    for split in found:
        path = str(sgd_dir / f"{split}.jsonl")
        tagged = read_dialogues(path, Problems(path, strict=True), _dialogue_records_with_labels)
        if split == "train":
            known = {label for labels, _ in tagged for label in labels}
        parts = {split: tagged}
        if known is not None and split != "train":
            parts = {split: [(s, r) for s, r in tagged if s <= known],
                     f"{split}_unseen": [(s, r) for s, r in tagged if not s <= known]}
        for name, part in parts.items():
            for kind in KINDS:
                rows = [r for _, (k, r) in part if k == kind]
                (out_dir / kind).mkdir(parents=True, exist_ok=True)
                write_text(out_dir / kind / f"{name}.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n"
                                                                     for r in rows))
                counts[kind][name] = len(rows)
    return counts


def _dialogue_records_with_labels(dialogue: dict, where: str) -> list[tuple[frozenset, tuple]] | str:
    """The dialogue's records, each with the set of every intent and slot type the dialogue uses."""
    records = _dialogue_records(dialogue, where)
    if isinstance(records, str):
        return records
    labels = frozenset(f"intent:{r['label']}" for kind, r in records if kind == "intent")
    labels |= {f"slot:{tag[2:]}" for kind, r in records if kind == "slots" for tag in r["tags"] if tag != "O"}
    return [(labels, record) for record in records]


def _dialogue_records(dialogue: dict, where: str) -> list[tuple[str, dict[str, Any]]] | str:
    """``(kind, record)`` pairs of one dialogue in turn order, or what is wrong with it."""
    turns = dialogue.get("turns")
    if not isinstance(turns, list):
        return "'turns' missing or not a list"
    messages: list[dict[str, str]] = []
    users: list[str] = []
    records: list[tuple[str, dict[str, Any]]] = []
    pending: tuple[str, list[dict[str, Any]], list[dict[str, str]], str] | None = None  # the last user turn
    for i, turn in enumerate(turns):
        text = turn.get("text") if isinstance(turn, dict) else None
        role = ROLE_OF_SPEAKER.get(turn.get("speaker")) if isinstance(turn, dict) else None
        if role is None or not isinstance(text, str) or not text.strip():
            return f"turns[{i}]: expected an object with 'speaker' (user or system) and a non-empty 'text'"
        if role == "user":
            parsed = _user_turn(turn, text)
            if isinstance(parsed, str):
                return f"turns[{i}]: {parsed}"
            label, spans = parsed
            users.append(text)
            records.append(("intent", {"text": intent_text(users), "label": label}))
            tokens, tags = slot_tags(text, spans)
            if tokens:
                records.append(("slots", {"tokens": tokens, "tags": tags}))
            pending = (text, _gold_state(turn), list(messages), label)
        elif pending is not None:
            message, state, history, label = pending
            values = reply_values(turn)
            if isinstance(values, str):
                return f"turns[{i}]: {values}"
            records.append(("reply", {"prompt": reply_prompt(history, message, label, state),
                                      "completion": " ".join(text.split()), "values": values}))
            pending = None
        messages.append({"role": role, "content": text})
    return records


def _gold_state(turn: dict) -> dict[str, dict[str, str]]:
    """The dialogue state after a user turn, per service of its frames: each slot's first accepted value."""
    state = {}
    for frame in turn.get("frames", []):
        values = frame.get("slot_values") if isinstance(frame, dict) else None
        if isinstance(values, dict):
            state[str(frame.get("service", ""))] = {slot: v[0] for slot, v in values.items()
                                                    if isinstance(v, list) and v and isinstance(v[0], str)}
    return state


def _user_turn(turn: dict, text: str) -> tuple[str, list[tuple[str, int, int]]] | str:
    """The turn's intent label and slot spans ``(type, start, end)``, or what is wrong with its frames."""
    frames = turn.get("frames") or []
    if not isinstance(frames, list):
        return "'frames' is not a list"
    label, spans = NO_INTENT, []
    for f, frame in enumerate(frames):
        if not isinstance(frame, dict):
            return f"frames[{f}] is not an object"
        service, intent = frame.get("service"), frame.get("intent")
        if label == NO_INTENT and isinstance(intent, str) and intent != NO_INTENT:
            if not isinstance(service, str) or not service:
                return f"frames[{f}]: 'service' missing"
            label = intent
        for s, slot in enumerate(frame.get("slots") or []):
            kind, start, end = (slot.get(k) for k in ("slot", "start", "end")) if isinstance(slot, dict) else [None] * 3
            offsets = all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end))
            if not isinstance(kind, str) or not offsets or not 0 <= start < end <= len(text):
                return f"frames[{f}].slots[{s}]: expected 'slot' and 'start' < 'end' within the text"
            spans.append((kind, start, end))
    return label, spans


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tuneforge.assistant.prepare_sgd",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("sgd_dir", help="folder with SGD train.jsonl / dev.jsonl (compacted)")
    parser.add_argument("out_dir", help="where intent/, slots/ and reply/ are written")
    args = parser.parse_args(argv)
    try:
        counts = prepare(args.sgd_dir, args.out_dir)
    except TuneforgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for kind, per_split in counts.items():
        print(f"{kind}: " + ", ".join(f"{split} {n}" for split, n in per_split.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
