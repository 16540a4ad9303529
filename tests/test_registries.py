"""Task and method facts live in their registry entries: no other module names a task or a method."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tuneforge.methods import METHODS
from tuneforge.tasks import TASKS

SRC = Path(__file__).resolve().parents[1] / "src" / "tuneforge"


def own_modules(spec) -> set[str]:
    """The files allowed to spell a name: the registries and the entry's own module, or its task's whole folder
    (the task, its options model, its check)."""
    path = getattr(spec, "task_class_path", None) or spec.apply_path
    module = path.partition(":")[0].removeprefix("tuneforge.").replace(".", "/") + ".py"
    own = {module}
    if getattr(spec, "task_class_path", None):
        folder = module.rsplit("/", 1)[0]
        own |= {f.relative_to(SRC).as_posix() for f in (SRC / folder).glob("*.py")}
    # studies/fewshot.py is a registry too: each approach entry names the task and method it runs as.
    return own | {"tasks/__init__.py", "methods/__init__.py", "studies/fewshot.py"}


@pytest.mark.parametrize("spec", [*TASKS.values(), *METHODS.values()], ids=lambda s: s.name)
def test_no_module_outside_the_entry_spells_its_name(spec):
    offenders = []
    for file in SRC.rglob("*.py"):
        relative = file.relative_to(SRC).as_posix()
        if relative in own_modules(spec):
            continue
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value == spec.name:
                offenders.append(f"{relative}:{node.lineno}")
    assert not offenders, f"'{spec.name}' is spelled outside its registry entry: {offenders}"


def test_every_entry_resolves():
    """Each lazily imported path points at something real, and the config offers exactly the registered names."""
    from typing import get_args

    from tuneforge.config.schema import RunConfig
    from tuneforge.engine.inference import SCORING_PATHS

    for spec in TASKS.values():
        assert spec.task_class().name == spec.name
        assert spec.inference in (*SCORING_PATHS, "generate")  # generate: engine/generate.py
        assert spec.options.model_fields["task"].default == spec.name
    for spec in METHODS.values():
        module, _, attr = spec.apply_path.partition(":")
        assert callable(getattr(__import__(module, fromlist=[attr]), attr))
        assert (spec.options is None) == (spec.options_key is None)
        if spec.options_key:
            assert RunConfig.model_fields[spec.options_key].annotation is spec.options
    assert set(get_args(RunConfig.model_fields["method"].annotation)) == set(METHODS)
    assert set(get_args(RunConfig.model_fields["task"].annotation)) == set(TASKS)
