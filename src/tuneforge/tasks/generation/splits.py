"""Read generation data (JSONL, SGD dialogues, SQuAD translation pairs) and its train/dev/test splits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuneforge.data.examples import Problems, ReadResult
from tuneforge.data.generation_jsonl import read_generation_jsonl
from tuneforge.data.loading import load_splits
from tuneforge.data.sgd import read_sgd
from tuneforge.data.squad_translation import read_squad_translation
from tuneforge.errors import DataError

if TYPE_CHECKING:
    from tuneforge.config.schema import RunConfig

READERS = {"jsonl": read_generation_jsonl, "sgd": read_sgd, "squad-translation": read_squad_translation}


def read_generation(path: str, cfg: RunConfig, strict: bool = True, labelled: bool = True) -> ReadResult:
    """GenerationExamples of one file in ``cfg.data.format``; strict mode raises a DataError on the first problem.

    ``format: auto`` reads only .jsonl: SGD files are JSONL too, and a .json file may be SQuAD, so guessing
    from the suffix would read them wrongly without an error.
    """
    fmt = cfg.data.format
    if fmt == "auto":
        if not path.lower().endswith(".jsonl"):
            raise DataError(f"{path}: generation reads .jsonl files when data.format is auto; set data.format "
                            f"to jsonl, sgd or squad-translation")
        fmt = "jsonl"
    if fmt not in READERS:
        raise DataError(f"{path}: generation reads jsonl, sgd or squad-translation (data.format), not {fmt}")
    problems = Problems(path, strict)
    examples = READERS[fmt](path, cfg.data, problems, labelled)
    if not examples and not problems.items:
        problems.add(None, "no examples found")
    return ReadResult(examples, problems.items)


def load_generation_splits(cfg: RunConfig, strict: bool = True) -> dict[str, ReadResult]:
    """train/dev/test; carved dev/test take whole groups (a dialogue, an article), so none is in two splits."""
    return load_splits(cfg.data, strict, lambda p, _c, s: read_generation(p, cfg, s), group_key=lambda e: e.group)
