"""Plain examples that readers produce and tasks consume."""

from __future__ import annotations

from dataclasses import dataclass, field

from tuneforge.errors import DataError


@dataclass
class TaggedSentence:
    """One sentence of words with one BIO tag per word (tags empty when unlabelled)."""

    tokens: list[str]
    tags: list[str]
    source: str  # "file:line" of the first word, for error messages
    word_per_line: bool = False  # CoNLL: word i sits i lines below the first

    def where(self, word: int = 0) -> str:
        """``file:line`` of a word (of the sentence's record when words do not have lines)."""
        file, line = self.source.rsplit(":", 1)
        return f"{file}:{int(line) + (word if self.word_per_line else 0)}"


@dataclass
class TextExample:
    """One text (or text pair) with its label: a string, a list of strings (multi-label) or None."""

    text: str
    label: str | list[str] | None
    source: str  # "file:line" (or "file:key[index]") of the record, for error messages
    text_pair: str | None = None
    candidates: list[str] | None = None  # the labels it is chosen among (an SGD turn: its service's intents)
    group: str | None = None  # reported apart (an SGD turn's service)

    def where(self, word: int = 0) -> str:
        return self.source

    @property
    def labels(self) -> list[str]:
        """The label(s) as a list: [] when unlabelled."""
        if self.label is None:
            return []
        return list(self.label) if isinstance(self.label, list) else [self.label]


@dataclass
class Answer:
    """One gold answer: its text and the character offset where it starts in the context."""

    text: str
    start: int


@dataclass
class QAExample:
    """One extractive-QA question on its context; ``answers`` is empty for an unanswerable (v2) question."""

    id: str
    question: str
    context: str
    answers: list[Answer]
    source: str  # "file: data[i].paragraphs[j].qas[k] (id ...)", for error messages
    title: str = ""  # the article; carved splits never put one article in two splits
    is_impossible: bool = False

    def where(self, word: int = 0) -> str:
        return self.source


ROLES = ("system", "user", "assistant")


@dataclass
class GenerationExample:
    """One prompt for a causal LM and the reply it should give.

    ``messages`` is the conversation up to the reply, as chat messages ({"role", "content"}, roles
    system / user / assistant); a plain prompt is one user message. ``references`` are the wanted
    replies: the first one trains, all of them score (several references: each output is scored against
    its best-matching one); empty when unlabelled (predict).
    """

    messages: list[dict[str, str]]
    references: list[str]
    source: str  # "file:line" (or "file: record") of the record, for error messages
    values: list[str] = field(default_factory=list)  # strings a right reply must contain (SGD slot values)
    group: str = ""  # carved splits keep a group (dialogue, article) on one side

    def where(self, word: int = 0) -> str:
        return self.source

    @property
    def prompt(self) -> str:
        """The conversation as plain text (the last user message for a one-message prompt), for reports."""
        if len(self.messages) == 1:
            return self.messages[0]["content"]
        return "\n".join(f"{m['role']}: {m['content']}" for m in self.messages)


@dataclass
class ReadResult:
    examples: list
    problems: list[str] = field(default_factory=list)  # "file:line: message"
    bio_repairs: int = 0


class Problems:
    """Collects malformed-input messages; in strict mode the first one raises a DataError."""

    def __init__(self, path: str, strict: bool) -> None:
        self.path, self.strict, self.items = path, strict, []

    def add(self, line: int | None, message: str) -> None:
        where = f"{self.path}:{line}" if line else self.path
        text = f"{where}: {message}"
        if self.strict:
            raise DataError(text)
        self.items.append(text)
