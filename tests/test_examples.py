"""Every shipped example runs as shipped: each config passes check-data on ../shared/datasets (nothing written
there), and the examples whose data must be made first name the command, which then makes it."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import DATASETS, REPO

EXAMPLES = REPO / "examples"
ALL = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.yaml") if p.parent.name != "labels")
ASSISTANT = "customer-service/assistant.yaml"
TUNE = {"tune-banking77.yaml"}


def _raw(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))


CONTINUAL = {n for n in ALL if "stages" in _raw(n)}
PREPARED = {n for n in ALL if n not in CONTINUAL and (_raw(n).get("data") or {}).get("prepared_by")}
PLAIN = [n for n in ALL if n not in CONTINUAL | PREPARED | TUNE | {ASSISTANT}]

needs_datasets = pytest.mark.skipif(not DATASETS.is_dir(), reason="../shared/datasets is not beside the checkout")


# the first count of a split, by the task's report kind
COUNTS = ("examples", "sentences", "questions", "dialogues", "queries")


def _size(split: dict) -> int:
    return next(split[key] for key in COUNTS if key in split)


def _snapshot(folder: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def untouched():
    """Nothing an example's check does may write into the datasets or the examples folder."""
    before = _snapshot(DATASETS), _snapshot(EXAMPLES)
    yield
    assert (_snapshot(DATASETS), _snapshot(EXAMPLES)) == before


def test_every_example_is_checked_here():
    assert set(ALL) == set(PLAIN) | CONTINUAL | PREPARED | TUNE | {ASSISTANT}
    assert {"pretrain-wnut17.yaml", "continual-clinc150.yaml", "continual-wnut17.yaml"} <= set(ALL)
    assert {"customer-service/intent.yaml", "pretrain-smollm2-sgd.yaml"} <= PREPARED


@needs_datasets
@pytest.mark.parametrize("name", PLAIN)
def test_example_passes_check_data(name, untouched):
    from tuneforge.config import load_config
    from tuneforge.tasks.check_data import check_data

    report = check_data(load_config(EXAMPLES / name), None)
    assert report["problems"] == 0 and all(_size(split) > 0 for split in report["splits"].values()), report


@needs_datasets
def test_tune_example_reads_its_search_space(untouched):
    from tuneforge.studies.tune.search_space import read_tune_config
    from tuneforge.tasks.check_data import check_data

    tune = read_tune_config(EXAMPLES / "tune-banking77.yaml")
    assert tune.params and check_data(tune.base, None)["problems"] == 0


def test_assistant_example_serves_the_runs_its_three_configs_train():
    from tuneforge.assistant.config import AssistantConfig

    raw = _raw(ASSISTANT)
    config = AssistantConfig.model_validate(raw)
    config.path = EXAMPLES / ASSISTANT
    for role in config.roles():
        trained = REPO / "runs" / _raw(f"customer-service/{role}.yaml")["name"]  # train's output_dir: runs/
        assert config.run_path(role).resolve() == trained.resolve()


def _fresh_checkout(tmp_path: Path, names: list[str], datasets: dict[str, Path]) -> Path:
    """A checkout's examples beside a shared/datasets folder, as on a fresh clone: the paths stay as shipped."""
    checkout = tmp_path / "checkout"
    for name in names:
        (checkout / "examples" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(EXAMPLES / name, checkout / "examples" / name)
    for name, source in datasets.items():
        (tmp_path / "shared" / "datasets").mkdir(parents=True, exist_ok=True)
        (tmp_path / "shared" / "datasets" / name).symlink_to(source)
    return checkout


def _run_documented(command: str, checkout: Path) -> None:
    argv = shlex.split(command)
    assert argv[:2] == ["python", "-m"], command
    done = subprocess.run([sys.executable, *argv[1:]], cwd=checkout, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@needs_datasets
def test_sgd_examples_name_the_prepare_command_then_check_once_it_ran(tmp_path, untouched):
    from tuneforge.config import load_config
    from tuneforge.errors import DataError
    from tuneforge.tasks.check_data import check_data

    small = tmp_path / "sgd-small"  # a few dialogues: the command's output is under test, not its scale
    small.mkdir()
    with (DATASETS / "sgd" / "train.jsonl").open(encoding="utf-8") as f:
        lines = [next(f) for _ in range(40)]
    (small / "train.jsonl").write_text("".join(lines), encoding="utf-8")
    (small / "dev.jsonl").write_text("".join(lines[:10]), encoding="utf-8")  # seen services: dev.jsonl not empty
    checkout = _fresh_checkout(tmp_path, sorted(PREPARED), {"sgd": small})
    commands = set()
    for name in sorted(PREPARED):
        cfg = load_config(checkout / "examples" / name)
        with pytest.raises(DataError) as missing:
            check_data(cfg, None)
        assert cfg.data.prepared_by in str(missing.value) and "file not found" in str(missing.value)
        commands.add(cfg.data.prepared_by)
    for command in sorted(commands):
        _run_documented(command, checkout)
    for name in sorted(PREPARED):
        report = check_data(load_config(checkout / "examples" / name), None)
        assert report["problems"] == 0 and _size(report["splits"]["train"]) > 0, (name, report)


@needs_datasets
def test_continual_examples_name_the_stage_command_then_load_once_it_ran(tmp_path, untouched):
    from tuneforge.continual.plan import load_plan
    from tuneforge.errors import ConfigError

    checkout = _fresh_checkout(tmp_path, sorted(CONTINUAL),
                               {"clinc150": DATASETS / "clinc150", "wnut17": DATASETS / "wnut17"})
    commands = {_raw(name)["prepared_by"] for name in CONTINUAL}
    for name in sorted(CONTINUAL):
        with pytest.raises(ConfigError) as missing:
            load_plan(checkout / "examples" / name)
        assert _raw(name)["prepared_by"] in str(missing.value)
    for command in sorted(commands):
        _run_documented(command, checkout)
    for name in sorted(CONTINUAL):
        plan = load_plan(checkout / "examples" / name)
        assert len(plan.stages) == len(_raw(name)["stages"]) > 1
        labels = [set(s.new_labels or []) for s in plan.stages]
        assert all(not (a & b) for i, a in enumerate(labels) for b in labels[i + 1:])  # each stage brings its own
