"""Imports run downward: the layer order written once in docs/architecture.md, checked over every module.

A module may import its own package (the first name below ``tuneforge``) or a package on a lower line of the
order; never one on its own line or above. Imports under ``if TYPE_CHECKING:`` are annotations only and
do not count. No module may reach itself through its imports (no circle, at any depth).
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "tuneforge"
ARCHITECTURE = REPO / "docs" / "architecture.md"


def layer_order(doc: Path = ARCHITECTURE) -> list[set[str]]:
    """The ```layers block of the architecture doc: one line per layer, top first, package names on each."""
    match = re.search(r"```layers\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert match, f"{doc}: no ```layers block"
    layers = []
    for line in match.group(1).splitlines():
        names = line.split("#")[0].split()
        if names:
            layers.append(set(names))
    return layers


def module_name(file: Path, root: Path) -> str:
    parts = list(file.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str:
    """The first name below tuneforge: ``tuneforge.tasks.generation.task`` → ``tasks``; the root → ``tuneforge``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "tuneforge"


def runtime_imports(file: Path, known: set[str]) -> list[tuple[int, str]]:
    """(line, module) of every tuneforge import that runs (at import time or in a function), not under
    TYPE_CHECKING. ``from a.b import c`` counts as importing ``a.b.c`` where that is a module."""
    tree = ast.parse(file.read_text(encoding="utf-8"))
    annotation_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            annotation_only.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    found = []
    for node in ast.walk(tree):
        if id(node) in annotation_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and \
                node.module.split(".")[0] == "tuneforge":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.append((node.lineno, sub if sub in known else node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "tuneforge"]
    return found


def import_graph(root: Path) -> dict[str, list[tuple[int, str]]]:
    files = {module_name(f, root): f for f in root.rglob("*.py")}
    return {name: runtime_imports(file, set(files)) for name, file in files.items()}


def upward_imports(root: Path, layers: list[set[str]]) -> list[str]:
    rank = {name: i for i, names in enumerate(layers) for name in names}
    problems = []
    for module, imports in import_graph(root).items():
        source = package_of(module)
        if source not in rank:
            problems.append(f"{module}: package '{source}' is in no layer of docs/architecture.md")
            continue
        for line, target in imports:
            target_package = package_of(target)
            if target_package == source or module == "tuneforge.__main__":
                continue
            if rank.get(target_package, -1) <= rank[source]:
                problems.append(f"{module}:{line} imports {target} (layer of '{target_package}' is not below "
                                f"'{source}')")
    return problems


def circles(root: Path) -> list[list[str]]:
    graph = {m: sorted({t for _, t in imports}) for m, imports in import_graph(root).items()}
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in graph.get(node, []):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_every_import_runs_downward():
    assert upward_imports(SRC, layer_order()) == []


def test_no_module_imports_itself_through_others():
    assert circles(SRC) == []


def test_a_planted_upward_import_is_found(tmp_path):
    copy = tmp_path / "tuneforge"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "data" / "planted.py").write_text("def f():\n    from tuneforge.api import train\n    return train\n")
    problems = upward_imports(copy, layer_order())
    assert problems == ["tuneforge.data.planted:2 imports tuneforge.api (layer of 'tuneforge' is not below 'data')"] \
        or any(p.startswith("tuneforge.data.planted:2 imports tuneforge.api") for p in problems)


def test_a_planted_circle_is_found(tmp_path):
    copy = tmp_path / "tuneforge"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "util" / "one.py").write_text("from tuneforge.util import two\n")
    (copy / "util" / "two.py").write_text("def f():\n    from tuneforge.util import one\n")
    assert ["tuneforge.util.one", "tuneforge.util.two", "tuneforge.util.one"] in circles(copy)


def test_an_import_for_annotations_only_does_not_count(tmp_path):
    copy = tmp_path / "tuneforge"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "data" / "typed.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                            "    from tuneforge.config.schema import RunConfig\n")
    assert upward_imports(copy, layer_order()) == []


@pytest.mark.parametrize("package", sorted({p.name for p in SRC.iterdir() if p.is_dir() and p.name != "__pycache__"}))
def test_every_package_has_a_line_in_the_architecture_doc(package):
    text = ARCHITECTURE.read_text(encoding="utf-8")
    assert re.search(rf"^\s+{package}/", text, re.M), f"docs/architecture.md has no line for {package}/"


def test_no_package_shadows_a_function_of_the_public_api():
    """``import tuneforge.X.y`` sets ``tuneforge.X`` to the package: a package named like an API function (predict,
    train, evaluate) would replace that function for everyone who imported it."""
    import tuneforge

    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    assert not packages & set(tuneforge.__all__)


def test_module_paths_from_before_the_layout_still_import():
    """The Python API paths the README named before the move: the same objects as at their new homes."""
    import importlib

    import tuneforge
    from tuneforge.config import load_config
    from tuneforge.config.loading import load_config as schema_load_config
    from tuneforge.export import export_run
    from tuneforge.export.folder import export_run as folder_export_run
    from tuneforge.prediction.shared_backbone import SharedBackbone
    from tuneforge.runs import load_run
    from tuneforge.studies.tune import tune

    assert tuneforge.tune.tune is tune
    assert tuneforge.multi_adapter.SharedBackbone is SharedBackbone
    assert importlib.import_module("tuneforge.multi_adapter").SharedBackbone is SharedBackbone
    assert importlib.import_module("tuneforge.predict_stream") is importlib.import_module("tuneforge.prediction.stream")
    assert load_config is schema_load_config and export_run is folder_export_run and tuneforge.load_run is load_run
    assert callable(tuneforge.predict) and callable(tuneforge.train) and callable(tuneforge.evaluate)
