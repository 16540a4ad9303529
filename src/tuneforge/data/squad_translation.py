"""SQuAD questions paired by id across two languages (XQuAD), as generation examples: question -> translation.

XQuAD gives every question the same id in each language, so a source file and ``data.translation_target``
make a parallel corpus. Both files go through the SQuAD reader, so their problems name the record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuneforge.data.examples import GenerationExample, Problems
from tuneforge.data.squad import read_squad
from tuneforge.errors import ConfigError

if TYPE_CHECKING:
    from tuneforge.config.schema import DataConfig


def read_squad_translation(
    path: str, data_cfg: DataConfig, problems: Problems, labelled: bool = True
) -> list[GenerationExample]:
    """One example per question of ``path`` (in its order), its reference the question of the same id in the target.

    ``group`` is the article title: an article's questions share names and wording, so carved splits keep them
    together. Unlabelled reading (predict) needs no target file.
    """
    source = read_squad(path, "auto", strict=problems.strict, labelled=False)
    problems.items.extend(source.problems)
    targets: dict[str, str] = {}
    if labelled:
        target_path = data_cfg.translation_target
        if target_path is None:
            raise ConfigError("data.translation_target is required for format squad-translation")
        target = read_squad(target_path, "auto", strict=problems.strict, labelled=False)
        problems.items.extend(target.problems)
        targets = {qa.id: qa.question.strip() for qa in target.examples}
    examples = []
    for qa in source.examples:
        reference = []
        if labelled:
            if qa.id not in targets:
                problems.add(None, f"question {qa.id}: id not found in {data_cfg.translation_target} "
                                   f"(data.translation_target)")
                continue
            reference = [targets[qa.id]]
        examples.append(GenerationExample(
            [{"role": "user", "content": qa.question.strip()}], reference, f"{path}: question {qa.id}", group=qa.title
        ))
    return examples
