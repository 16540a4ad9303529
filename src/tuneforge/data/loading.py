"""Read the train/dev/test splits a config names, check their tags, and carve missing splits."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import PurePath
from typing import TYPE_CHECKING

from tuneforge.data.bio import is_valid_tag, repair, split_tag
from tuneforge.data.conll import read_conll
from tuneforge.data.csv_reader import read_csv
from tuneforge.data.examples import Problems, ReadResult, TaggedSentence
from tuneforge.data.jsonl import read_jsonl
from tuneforge.data.splits import carve, carve_groups, carve_stratified
from tuneforge.errors import DataError

if TYPE_CHECKING:
    from tuneforge.config.schema import DataConfig

FORMATS_BY_SUFFIX = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv"}


def detect_format(path: str, declared: str) -> str:
    if declared != "auto":
        return declared
    return FORMATS_BY_SUFFIX.get(PurePath(path).suffix.lower(), "conll")


def read_tagged(path: str, cfg: DataConfig, strict: bool = True, labelled: bool = True) -> ReadResult:
    """Read one file of tagged sentences; in strict mode the first problem raises a DataError."""
    problems = Problems(path, strict)
    fmt = detect_format(path, cfg.format)
    if fmt == "conll":
        sentences = read_conll(path, problems, labelled)
    elif fmt == "jsonl":
        sentences = read_jsonl(path, problems, cfg.tokens_field, cfg.tags_field, labelled)
    else:
        sentences = read_csv(path, problems, cfg.tokens_field, cfg.tags_field, labelled)
    repairs = _check_tags(sentences, cfg, problems) if labelled else 0
    if not sentences and not problems.items:
        problems.add(None, "no sentences found")
    return ReadResult(sentences, problems.items, repairs)


def _check_tags(sentences: list[TaggedSentence], cfg: DataConfig, problems: Problems) -> int:
    """Reject malformed tags; repair (or reject) I-X that does not continue an X entity."""
    repairs = 0
    for sentence in sentences:
        bad = next((i for i, t in enumerate(sentence.tags) if not is_valid_tag(t)), None)
        if bad is not None:
            problems.add(_line(sentence, bad), f"tag {sentence.tags[bad]!r} is not O, B-TYPE or I-TYPE")
            continue
        fixed, changed = repair(sentence.tags)
        if changed and cfg.scheme == "bio" and cfg.invalid_bio == "error":
            i = changed[0]
            problems.add(
                _line(sentence, i),
                f"{sentence.tags[i]!r} does not continue an entity (previous tag "
                f"{sentence.tags[i - 1] if i else 'none'!r}); set data.invalid_bio: repair to convert it",
            )
            continue
        sentence.tags = fixed
        repairs += len(changed) if cfg.scheme == "bio" else 0
    return repairs


def _line(sentence: TaggedSentence, word: int) -> int:
    return int(sentence.where(word).rsplit(":", 1)[1])


def label_set(sentences: list[TaggedSentence]) -> list[str]:
    """O first, then B-/I- pairs by type; every B-X brings its I-X so the model can predict it."""
    kinds = sorted({split_tag(t)[1] for s in sentences for t in s.tags if t != "O"})
    return ["O"] + [f"{p}-{k}" for k in kinds for p in ("B", "I")]


def check_unseen(split: str, result: ReadResult, labels: list[str]) -> None:
    known = set(labels)
    for sentence in result.examples:
        for i, tag in enumerate(sentence.tags):
            if tag not in known:
                raise DataError(
                    f"{sentence.where(i)}: label {tag!r} in the {split} set does not occur in the "
                    f"training data ({len(known)} known labels)"
                )


def load_splits(
    cfg: DataConfig,
    strict: bool = True,
    read: Callable[[str, DataConfig, bool], ReadResult] | None = None,
    stratify_key: Callable | None = None,
    group_key: Callable | None = None,
) -> dict[str, ReadResult]:
    """train/dev/test ReadResults; missing dev/test are carved from train if the config asks.

    ``read(path, cfg, strict)`` reads one file (tagged sentences by default); with ``stratify_key``
    (and ``data.split.stratify``) carved splits keep each label's share of the examples. With ``group_key``
    carved splits take whole groups (e.g. QA articles), so no group is in two splits; it wins over stratify.
    """
    read = read or read_tagged
    splits = {"train": read(cfg.train, cfg, strict)}
    for name in ("dev", "test"):
        path = getattr(cfg, name)
        if path:
            splits[name] = read(path, cfg, strict)
    train = splits["train"]
    for name in ("test", "dev"):  # carve test first so the dev fraction does not change the test set
        fraction = getattr(cfg.split, name)
        if name not in splits and fraction > 0:
            seed = cfg.split.seed + (name == "dev")
            if group_key is not None:
                kept, carved = carve_groups(train.examples, fraction, seed, group_key)
            elif stratify_key is not None and cfg.split.stratify:
                kept, carved = carve_stratified(train.examples, fraction, seed, stratify_key)
            else:
                kept, carved = carve(train.examples, fraction, seed)
            train.examples = kept
            splits[name] = ReadResult(carved)
    if cfg.train_limit is not None and len(train.examples) > cfg.train_limit:
        chosen = sorted(random.Random(cfg.split.seed).sample(range(len(train.examples)), cfg.train_limit))
        train.examples = [train.examples[i] for i in chosen]
    return splits
