"""JSONL reader for generation: prompt/completion records or chat ``messages`` records, one per line.

A prompt record becomes one user message and its completion(s) the references; a chat record's last
(assistant) message is the reply and the messages before it the prompt. Each problem is one line that
names the file, the line and the field, so a bad record is found without opening the file.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tuneforge.data.examples import ROLES, GenerationExample, Problems
from tuneforge.data.text_file import json_objects

if TYPE_CHECKING:
    from tuneforge.config.schema import DataConfig


def read_generation_jsonl(
    path: str, data_cfg: DataConfig, problems: Problems, labelled: bool = True
) -> list[GenerationExample]:
    """GenerationExamples of one JSONL file; each record is its own group (carved splits take whole records).

    Unlabelled input (``labelled=False``, predict) needs only the prompt or the messages up to the reply.
    """
    examples = []
    with gc_paused():
        records = json_objects(path, problems)
    for number, record in records:
        example = record_example(record, f"{path}:{number}", data_cfg, labelled)
        if isinstance(example, str):
            problems.add(number, example)
        else:
            example.group = str(number)
            examples.append(example)
    return examples


def record_example(record: dict, source: str, data_cfg: DataConfig, labelled: bool) -> GenerationExample | str:
    """The example in one record, or what is wrong with it."""
    prompt_key, messages_key = data_cfg.prompt_field, data_cfg.messages_field
    has_prompt, has_messages = prompt_key in record, messages_key in record
    if has_prompt and has_messages:
        return f"record has both '{prompt_key}' and '{messages_key}': give a prompt/completion pair or chat messages"
    if not has_prompt and not has_messages:
        return (f"record has neither '{prompt_key}' nor '{messages_key}': expected a prompt/completion pair "
                f"(data.prompt_field, data.completion_field) or chat messages (data.messages_field)")
    if has_prompt:
        example = _prompt_example(record, source, data_cfg, labelled)
    else:
        example = _chat_example(record[messages_key], messages_key, source, labelled)
    if isinstance(example, str) or not labelled or not data_cfg.values_field:
        return example
    values = _string_list(record, data_cfg.values_field, "data.values_field")
    if isinstance(values, str):
        return values
    example.values = values
    return example


def _prompt_example(record: dict, source: str, data_cfg: DataConfig, labelled: bool) -> GenerationExample | str:
    key = data_cfg.prompt_field
    prompt = record[key]
    if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        prompt = " ".join(p.strip() for p in prompt if p.strip())
    if not isinstance(prompt, str):
        return f"field '{key}' must be a string or a non-empty list of strings, not {_kind(prompt)}"
    if not prompt.strip():
        return f"empty prompt in field '{key}'"
    example = GenerationExample([{"role": "user", "content": prompt.strip()}], [], source)
    if not labelled:
        return example
    key = data_cfg.completion_field
    if key not in record:
        return f"field '{key}' (the completion) missing; set data.completion_field to the reply's field"
    completion = record[key]
    if isinstance(completion, str):
        completion = [completion]
    if not isinstance(completion, list) or not completion or not all(isinstance(c, str) for c in completion):
        return f"field '{key}' must be a string or a non-empty list of strings, not {_kind(record[key])}"
    for i, reference in enumerate(completion):
        if not reference.strip():
            item = f" (item {i})" if isinstance(record[key], list) else ""
            return f"empty completion in field '{key}'{item}"
    example.references = [c.strip() for c in completion]
    return example


def _chat_example(messages: object, key: str, source: str, labelled: bool) -> GenerationExample | str:
    if not isinstance(messages, list) or not messages:
        return f"field '{key}' must be a non-empty list of {{\"role\", \"content\"}} messages, not {_kind(messages)}"
    chat = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"{key}[{i}] must be an object with 'role' and 'content', not {_kind(message)}"
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            return f"{key}[{i}] has unknown role {role!r} (allowed: {', '.join(ROLES)})"
        if not isinstance(content, str):
            return f"{key}[{i}] ({role}): 'content' missing or not a string"
        if role != "system" and not content.strip():
            return f"{key}[{i}] ({role}): content is empty"
        chat.append({"role": role, "content": content.strip()})
    last = len(chat) - 1
    references = []
    if labelled:
        if not any(m["role"] == "assistant" for m in chat):
            return f"chat record has no assistant message: the last message in '{key}' must be the assistant's reply"
        if chat[last]["role"] != "assistant":
            return f"the last message must be the assistant's reply ({key}[{last}] is {chat[last]['role']})"
        references = [chat.pop()["content"]]
    elif chat[last]["role"] == "assistant":
        return (f"the last message ({key}[{last}]) is the assistant's: input to predict must end before "
                f"the reply it asks for")
    if not any(m["role"] == "user" for m in chat):
        return f"no user message before the reply in '{key}': a chat needs at least one user message"
    return GenerationExample(chat, references, source)


def _string_list(record: dict, key: str, setting: str) -> list[str] | str:
    value = record.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        if key not in record:
            return f"field '{key}' ({setting}) missing"
        return f"field '{key}' ({setting}) must be a list of strings, not {_kind(value)}"
    return value


def _kind(value: object) -> str:
    """How a wrong value looks, for messages: "null", "an empty list", "a list with int items", "int"."""
    if value is None:
        return "null"
    if isinstance(value, list):
        if not value:
            return "an empty list"
        kinds = sorted({type(v).__name__ for v in value if not isinstance(v, str)})
        return f"a list with {'/'.join(kinds)} items" if kinds else "a list"
    return type(value).__name__


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while parsing: JSON makes no cycles, and the collector's passes
    over millions of new objects make reading a large file (SGD train, 69 MB) about 6x slower.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
