"""Turn a conversation into token ids: the model's chat template (or plain 'User: / Assistant:' text),
which tokens the loss covers, and what happens when a prompt does not fit the window.

The whole conversation is rendered and tokenized once; the tokens that fall inside an assistant
reply (its end-of-turn token included) are the labelled ones. A reply's span is where the rendering of
the turns before it (with the generation prompt) ends and the rendering through it ends, so the
prompt a reply was trained after is exactly the prompt ``prompt_ids`` gives at inference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tuneforge.errors import DataError

PLAIN_ROLES = {"system": "", "user": "User: ", "assistant": "Assistant: "}


@dataclass
class Encoded:
    input_ids: list[int]
    labelled: list[bool]  # the token is part of a reply the loss covers
    truncated: bool = False  # the prompt was cut from the left to fit
    targets: list[int] | None = None  # the next id each position must predict (-100: not scored)


class ChatFormat:
    def __init__(self, tokenizer, options: Any, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.options = options
        self.max_length = max_length
        self.chat = options.chat_template == "auto" and bool(getattr(tokenizer, "chat_template", None))

    # rendering --------------------------------------------------------------------------------------
    def conversation(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        """The messages with the configured system message and instruction added."""
        o = self.options
        messages = [dict(m) for m in messages]
        if o.instruction and len(messages) == 1 and messages[0]["role"] == "user":
            messages[0]["content"] = f"{o.instruction}\n\n{messages[0]['content']}"
        if o.system and messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": o.system})
        return messages

    def render(self, messages: list[dict[str, str]], generation_prompt: bool) -> str:
        if self.chat:
            return self.tokenizer.apply_chat_template(messages, tokenize=False,
                                                      add_generation_prompt=generation_prompt)
        eos = self.tokenizer.eos_token or ""
        parts = []
        for m in messages:
            end = eos if m["role"] == "assistant" else ""
            parts.append(f"{PLAIN_ROLES[m['role']]}{m['content']}{end}\n" + ("\n" if m["role"] == "system" else ""))
        if generation_prompt:
            parts.append("Assistant:")
        # The reply follows "Assistant:" after one space, which goes with the reply's first token.
        return "".join(parts)

    def _tokenize(self, text: str, offsets: bool = False):
        return self.tokenizer(text, add_special_tokens=not self.chat, return_offsets_mapping=offsets)

    # ids --------------------------------------------------------------------------------------------
    def prompt_ids(self, messages: list[dict[str, str]], where: str) -> tuple[list[int], bool]:
        """The prompt's ids (ending where the reply starts), cut from the left if the policy allows."""
        def length(kept: list[dict[str, str]]) -> int:
            return len(self._tokenize(self.render(kept, True))["input_ids"])

        messages, truncated = self._fit(self.conversation(messages), length, where)
        for _ in range(4):  # the one message left cut from the left: a pass or two
            ids = self._tokenize(self.render(messages, True))["input_ids"]
            if len(ids) <= self.max_length:
                return ids, truncated
            messages = self._shorter(messages, len(ids) - self.max_length, where, len(ids))
            truncated = True
        raise DataError(f"{where}: the prompt cannot be cut to model.max_length ({self.max_length}) tokens")

    def training_ids(self, messages: list[dict[str, str]], reply: str, all_turns: bool, where: str) -> Encoded:
        """Ids of the conversation and its reply, with the reply tokens (all assistant turns, or the last) labelled."""
        def length(kept: list[dict[str, str]]) -> int:  # the whole text only: labelling renders every prefix
            return len(self._tokenize(self.render([*kept, {"role": "assistant", "content": reply}], False))[
                "input_ids"])

        messages, truncated = self._fit(self.conversation(messages), length, where)
        for _ in range(4):  # the one message left cut from the left: a pass or two
            encoded = self._labelled(messages, reply, all_turns, where)
            if len(encoded.input_ids) <= self.max_length:
                encoded.truncated = truncated
                return encoded
            messages = self._shorter(messages, len(encoded.input_ids) - self.max_length, where,
                                     len(encoded.input_ids))
            truncated = True
        raise DataError(f"{where}: the prompt cannot be cut to fit model.max_length ({self.max_length}) tokens")

    def _labelled(self, messages: list[dict[str, str]], reply: str, all_turns: bool, where: str) -> Encoded:
        full_messages = [*messages, {"role": "assistant", "content": reply}]
        full = self.render(full_messages, False)
        spans = []
        turns = range(len(full_messages)) if all_turns else [len(full_messages) - 1]
        for i in turns:
            if full_messages[i]["role"] != "assistant":
                continue
            before = self.render(full_messages[:i], True)
            through = self.render(full_messages[: i + 1], False).rstrip()
            if not full.startswith(before) or not full.startswith(through):
                raise DataError(f"{where}: the model's chat template renders earlier turns differently once later "
                                "ones follow, so replies cannot be located; set task_options.chat_template: none")
            spans.append((len(before), len(through)))
        tokens = self._tokenize(full, offsets=True)
        labelled = [any(a <= start < b for a, b in spans) and end > start
                    for start, end in tokens["offset_mapping"]]
        return Encoded(tokens["input_ids"], labelled)

    def _fit(self, messages: list[dict[str, str]], length: Any, where: str) -> tuple[list[dict[str, str]], bool]:
        """The conversation with as few of its oldest turns dropped as makes ``length(kept)`` fit (or all but the
        last, to be cut), and whether any was. Dropping turns one render at a time made a long chat quadratic to
        serve and cubic to train; the possible cuts are listed in one pass and the first that fits is found by
        bisection (lengths shrink as turns go): O(log n) renders."""
        full = length(messages)
        if full <= self.max_length:
            return messages, False
        if self.options.too_long == "error":
            self._shorter(messages, full - self.max_length, where, full)  # raises the one-line error
        first = next(i for i, m in enumerate(messages) if m["role"] != "system")
        rest = messages[first:]
        # _shorter drops the oldest turn and then any assistant turn that would open the conversation: the
        # kept part starts at a non-assistant turn, or is the last message alone.
        starts = [j for j in range(1, len(rest)) if rest[j]["role"] != "assistant"]
        if not starts or starts[-1] != len(rest) - 1:
            starts.append(len(rest) - 1)
        lo, hi = 0, len(starts) - 1  # find the first start that fits; the last one is taken anyway
        while lo < hi:
            mid = (lo + hi) // 2
            if length(messages[:first] + rest[starts[mid]:]) <= self.max_length:
                hi = mid
            else:
                lo = mid + 1
        return messages[:first] + rest[starts[lo]:], True

    def _shorter(self, messages: list[dict[str, str]], excess: int, where: str, length: int) -> list[dict[str, str]]:
        """The conversation with its oldest turns dropped, or its first message cut from the left."""
        if self.options.too_long == "error":
            raise DataError(f"{where}: prompt and reply are {length} tokens, more than model.max_length "
                            f"({self.max_length}); raise model.max_length or set task_options.too_long: truncate-left")
        first = next(i for i, m in enumerate(messages) if m["role"] != "system")
        rest = messages[first:]
        if len(rest) > 1:
            # Drop the oldest turn, and an assistant turn that would then open the conversation.
            rest = rest[1:]
            while len(rest) > 1 and rest[0]["role"] == "assistant":
                rest = rest[1:]
            return messages[:first] + rest
        content = rest[0]["content"]
        offsets = self.tokenizer(content, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        if excess >= len(offsets):
            raise DataError(f"{where}: even without its prompt the reply does not fit model.max_length "
                            f"({self.max_length}) tokens")
        cut = offsets[excess][0]
        return [*messages[:first], {**rest[0], "content": content[cut:]}]
