"""Schema-Guided Dialogue (SGD, compacted JSONL) as generation examples: the dialogue so far -> the next reply.

Every system turn after the first user turn is one example: the turns before it are the messages (user ->
user, system -> assistant) and its text the reference. The values its INFORM / OFFER / CONFIRM acts convey
(a restaurant's name, a time) are the facts a right reply must state, so they are kept for scoring.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tuneforge.data.examples import GenerationExample, Problems
from tuneforge.data.generation_jsonl import gc_paused
from tuneforge.data.text_file import json_objects

if TYPE_CHECKING:
    from tuneforge.config.schema import DataConfig

VALUE_ACTS = frozenset({"INFORM", "OFFER", "CONFIRM"})  # acts that put slot values into the reply
ROLE_OF_SPEAKER = {"user": "user", "system": "assistant"}


def read_sgd(path: str, data_cfg: DataConfig, problems: Problems, labelled: bool = True) -> list[GenerationExample]:
    """One example per system turn that follows a user turn; ``group`` is the dialogue id.

    Carved splits keep a dialogue's examples together: its later turns repeat the earlier ones as context,
    so splitting a dialogue would leak train text into dev. ``source`` is ``file:line turn i`` (i indexes
    ``turns``). Unlabelled reading (predict) leaves references and values empty.
    """
    return read_dialogues(path, problems, lambda dialogue, where: _dialogue_examples(dialogue, where, labelled))


def read_dialogues(path: str, problems: Problems, examples_of: Callable[[dict, str], list | str]) -> list:
    """Every dialogue's examples, in file order; ``examples_of(dialogue, "file:line")`` returns them, or what is
    wrong with the dialogue (reported with its line; in strict mode the first such problem raises)."""
    examples: list = []
    with gc_paused():
        for number, dialogue in json_objects(path, problems):
            found = examples_of(dialogue, f"{path}:{number}")
            if isinstance(found, str):
                problems.add(number, found)
            else:
                examples.extend(found)
    return examples


def _dialogue_examples(dialogue: dict, where: str, labelled: bool) -> list[GenerationExample] | str:
    """The examples of one dialogue, or what is wrong with it (one bad turn drops the whole dialogue)."""
    dialogue_id = dialogue.get("id")
    if not isinstance(dialogue_id, str | int) or isinstance(dialogue_id, bool) or not str(dialogue_id).strip():
        return "dialogue 'id' missing, empty or not a string"
    turns = dialogue.get("turns")
    if not isinstance(turns, list):
        return f"dialogue {dialogue_id}: 'turns' missing or not a list"
    messages: list[dict[str, str]] = []  # the message dicts are shared by the examples of this dialogue
    examples = []
    seen_user = False
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            return f"dialogue {dialogue_id}: turns[{i}] must be an object with 'speaker' and 'text'"
        speaker, text = turn.get("speaker"), turn.get("text")
        role = ROLE_OF_SPEAKER.get(speaker) if isinstance(speaker, str) else None
        if role is None:
            return f"dialogue {dialogue_id}: turns[{i}]: speaker must be 'user' or 'system', not {speaker!r}"
        if not isinstance(text, str):
            return f"dialogue {dialogue_id}: turns[{i}] ({speaker}): 'text' missing or not a string"
        if not text.strip():
            return f"dialogue {dialogue_id}: turns[{i}] ({speaker}): text is empty"
        text = text.strip()
        if role == "assistant" and seen_user:
            values = reply_values(turn) if labelled else []
            if isinstance(values, str):
                return f"dialogue {dialogue_id}: turns[{i}] ({speaker}): {values}"
            examples.append(GenerationExample(
                list(messages), [text] if labelled else [], f"{where} turn {i}", values, str(dialogue_id)
            ))
        seen_user = seen_user or role == "user"
        messages.append({"role": role, "content": text})
    return examples


def reply_values(turn: dict) -> list[str] | str:
    """The distinct values of the turn's INFORM / OFFER / CONFIRM acts in order, or what is wrong with its frames."""
    frames = turn.get("frames", [])
    if not isinstance(frames, list):
        return "'frames' is not a list"
    values: dict[str, None] = {}  # an ordered set
    for f, frame in enumerate(frames):
        acts = frame.get("acts", []) if isinstance(frame, dict) else None
        if not isinstance(acts, list):
            return f"frames[{f}] must be an object with an 'acts' list"
        for a, act in enumerate(acts):
            if not isinstance(act, dict) or not isinstance(act.get("act"), str):
                return f"frames[{f}].acts[{a}] must be an object with an 'act' name"
            if act["act"] not in VALUE_ACTS:
                continue
            found = act.get("values", [])
            if not isinstance(found, list) or not all(isinstance(v, str) for v in found):
                return f"frames[{f}].acts[{a}] ({act['act']}): 'values' must be a list of strings"
            values.update(dict.fromkeys(v for v in found if v.strip()))
    return list(values)
