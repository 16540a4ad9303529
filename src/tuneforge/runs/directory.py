"""The run directory: everything one training run leaves behind, and loading it back.

runs/<name>/
  config.yaml        the resolved config (every default filled in; paths relative to the run where the
                     user's were, runs/run_config.py)
  run.json           status (running / complete), versions of Python, torch, transformers, tuneforge, the
                     config file it came from (relative to the run), its owner process (runs/owner.py: a
                     killed run is listed as killed, not running)
  metrics.jsonl      training log and dev evaluations
  report.json        final entity-level scores per split; report.md, the same as tables
  model/             safetensors weights, tokenizer, task.json (what dev tuned) and, for tasks with a label
                     set, labels.json — loadable by the task's transformers Auto class; README.md, the model
                     card (runs/model_card.py); ``tuneforge push`` uploads it with report.json and config.yaml
  report.html        the same, with curves, per-label chart and confusion matrix, self-contained
  checkpoints/       step-<N>/ (resumable state, the two newest) and best.safetensors; removed when the run
                     completes
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuneforge.config.loading import load_config
from tuneforge.config.schema import RunConfig
from tuneforge.errors import RunError
from tuneforge.runs.owner import owner
from tuneforge.util.atomic import atomic_dir, ordinary_modes, write_json, write_text


def versions() -> dict[str, str]:
    import torch
    import transformers

    from tuneforge.version import __version__

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tuneforge": __version__,
    }


def start_run(cfg: RunConfig, source: str | Path | None = None) -> Path:
    """Create ``output_dir/name`` (or ``name-2``, ``name-3``… if taken) and write its config and status.

    ``source``: the config file the run came from, so paths written relative there stay relative
    (``run_config.run_config_text``).

    Runs are never overwritten: each candidate is created with one ``mkdir`` that fails if it exists, so
    two processes starting runs of one name at once get two directories, not one shared.
    """
    base = Path(cfg.output_dir)
    base.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        run_dir = base / (cfg.name if n == 1 else f"{cfg.name}-{n}")
        try:
            run_dir.mkdir()
            break
        except FileExistsError:
            n += 1
    write_run_config(run_dir, cfg, source)
    info: dict[str, Any] = {"status": "running", "started": time.time(), "versions": versions(), "owner": owner()}
    if source is not None and Path(source).is_file():
        # relative to the run, so it moves with the project: report.html shows data paths from the config's folder
        info["config"] = os.path.relpath(Path(source).resolve(), run_dir.resolve())
    write_json(run_dir / "run.json", info)
    return run_dir


def write_run_config(run_dir: Path, cfg: RunConfig, source: str | Path | None = None) -> None:
    """Write the run's ``config.yaml``, paths relative where the user's were: as in ``source``, or, rewriting
    a run's config (calibrate), as in the one it has."""
    from tuneforge.runs.run_config import run_config_text

    source = source if source is not None else run_dir / "config.yaml"
    write_text(run_dir / "config.yaml", run_config_text(cfg, run_dir, source))


def claim_run(run_dir: Path) -> None:
    """A resumed run: this process owns it now (``tuneforge runs`` checks the owner of a running run)."""
    info = run_info(run_dir)
    write_json(run_dir / "run.json", {**info, "status": "running", "owner": owner()})


def check_writable(folder: str | Path) -> None:
    """Fail now, in one line, if runs cannot be created under ``folder`` (not after the model has loaded)."""
    import os

    path = Path(folder).absolute()
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        raise RunError(f"output_dir {folder}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RunError(f"output_dir {folder}: cannot create files in {existing} (permission denied)")


def run_info(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        raise RunError(f"{run_dir}: not a tuneforge run directory (no run.json)")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path}: damaged, not valid JSON ({exc}); the run directory is damaged") from None
    if not isinstance(info, dict):
        raise RunError(f"{path}: damaged, expected a JSON object; the run directory is damaged")
    return info


def finish_run(run_dir: Path, cfg: RunConfig, model, tokenizer, task, report: dict[str, Any],
               markdown: str, extra: dict[str, Any]) -> None:
    from tuneforge.methods.saving import save_adapted
    from tuneforge.report.html import write_report_html
    from tuneforge.runs.model_card import render

    with atomic_dir(run_dir / "model") as tmp:
        save_adapted(model, tmp, cfg)
        tokenizer.save_pretrained(tmp)
        task.save(tmp)
        write_text(tmp / "README.md", render(cfg, report))  # the model card (replaces the one peft writes)
        ordinary_modes(tmp)  # safetensors leaves weights 0600 beside 0644 tokenizer files
    write_json(run_dir / "report.json", report)
    write_text(run_dir / "report.md", markdown)
    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    info = run_info(run_dir)
    info.update(status="complete", finished=time.time(), **extra)
    write_json(run_dir / "run.json", info)
    write_report_html(run_dir)  # report.html from the files above; never raises (one line on stderr instead)


@dataclass
class Run:
    """A finished run loaded for evaluation or prediction."""

    path: Path
    config: RunConfig
    model: Any
    tokenizer: Any
    task: Any

    @property
    def labels(self) -> list[str] | None:
        """The label set of a classification task; None for tasks without one (question answering)."""
        return getattr(self.task, "labels", None)

    def predict(self, texts: list[Any]) -> list[dict[str, Any]]:
        from tuneforge.engine.inference import inference_precision

        with inference_precision(self.config.inference.precision, self.model):
            return self.task.predict_texts(self.model, texts, **self.config.eval_batching())


    def stream(self, item: Any, write) -> str:
        """One reply of a generation run, written piece by piece as it is produced (``TaskSpec.streams``)."""
        from tuneforge.engine.inference import inference_precision

        with inference_precision(self.config.inference.precision, self.model):
            return self.task.stream(self.model, item, write)

    def complete(self, requests: list[Any]) -> list[Any]:
        """Completion requests of a generation run, each decoded as it asks (``TaskSpec.completes``)."""
        from tuneforge.engine.inference import inference_precision

        with inference_precision(self.config.inference.precision, self.model):
            return self.task.complete(self.model, requests, **self.config.eval_batching())

    def stream_completion(self, request: Any, write) -> Any:
        """One completion request, its text written piece by piece as it is produced (``TaskSpec.completes``)."""
        from tuneforge.engine.inference import inference_precision

        with inference_precision(self.config.inference.precision, self.model):
            return self.task.stream_completion(self.model, request, write)


def is_config_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in (".yaml", ".yml") and Path(path).is_file()


def config_of(path: str | Path) -> RunConfig:
    """The config of a run directory, or a config file that answers without training (zero-shot)."""
    if is_config_file(path):
        cfg = load_config(path)
        _check_untrained(cfg, path)
        return cfg
    run_info(Path(path))
    return load_config(Path(path) / "config.yaml")


def _check_untrained(cfg: RunConfig, path: str | Path) -> None:
    if cfg.task_options.trains_model():
        raise RunError(f"{path}: this config trains a model; train it first (tuneforge train {path}) and use the "
                       "run directory (only configs where nothing trains, like zero-shot, answer by themselves)")


def untrained_run(path: str | Path, overrides: list[str] | None = None) -> Run:
    """A config where nothing trains (zero-shot, a head on frozen embeddings), ready to predict: no run directory."""
    from tuneforge.models import load_tokenizer
    from tuneforge.tasks import task_class

    cfg = load_config(path, overrides)
    _check_untrained(cfg, path)
    Task = task_class(cfg.task)
    splits = {"train": Task.read(cfg.data.train, cfg)} if cfg.task_options.needs_train_data() else {}
    tokenizer = load_tokenizer(cfg.model.name)
    task = Task.for_training(tokenizer, cfg, splits)
    model = task.build_model(cfg.model.name, None)
    task.after_training(model)
    model.eval()
    return Run(Path(path), cfg, model, tokenizer, task)


def load_run(path: str | Path, merge: bool = True, overrides: list[str] | None = None) -> Run:
    """A finished run, ready to predict; LoRA/IA3 weights are merged into the base unless ``merge=False``.

    ``overrides`` may change how it predicts (``inference.*``, e.g. ``inference.engine=onnx``), nothing else.
    A config file where nothing trains (zero-shot) loads as a run too (``untrained_run``).
    """
    if is_config_file(path):
        return untrained_run(path, overrides)
    from tuneforge.config.loading import parse_overrides
    from tuneforge.errors import ConfigError

    if overrides:
        from tuneforge.tasks import task_spec

        options = task_spec(config_of(path).task).options
        allowed = tuple(f"task_options.{key}" for key in options.predict_keys)
        if any(not key.startswith("inference.") and key not in allowed for key, _ in parse_overrides(overrides)):
            raise ConfigError("a finished run can only change inference.* (how it predicts)"
                              + "".join(f" and {k}" for k in allowed) + ", not what it learnt")
    from tuneforge.engine.speed.allocator import retain_freed_memory
    from tuneforge.models import cache_dir, check_weights_folder
    from tuneforge.tasks import task_class, task_spec

    path = Path(path)
    info = run_info(path)
    if info.get("status") != "complete" or not (path / "model").is_dir():
        raise RunError(f"{path}: the run did not finish (status: {info.get('status')}); "
                       f"continue it with `tuneforge train --resume {path}`")
    cfg = load_config(path / "config.yaml", overrides)
    if cfg.training.retain_memory:  # prediction, too, frees and re-allocates the same blocks every batch
        retain_freed_memory()
    folder = path / "model"
    check_weights_folder(folder, RunError)  # safetensors only; a damaged file named before transformers reads it
    try:
        if cfg.inference.engine == "onnx" and merge:
            run = _checked_graph_run(path, cfg)
            if run is not None:
                return run
        from transformers import AutoTokenizer

        from tuneforge.methods.saving import load_adapted

        tokenizer = AutoTokenizer.from_pretrained(folder)
        task = task_class(cfg.task).load(tokenizer, cfg, folder)
        model = load_adapted(task, folder, cfg, task_spec(cfg.task).peft_task_type, merge=merge)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:  # whatever transformers or peft trip over
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise RunError(f"{folder}: the run's model cannot be loaded ({first}); the run directory is damaged") from None
    task.check_loaded(model, folder)
    model.eval()
    if cfg.inference.engine == "onnx":
        from tuneforge.engine.onnx.model import OnnxEngine

        model = OnnxEngine(model, path / "model", cache_dir(), cfg.model.name)
    return Run(path, cfg, model, tokenizer, task)


def _checked_graph_run(path: Path, cfg: RunConfig) -> Run | None:
    """The run answered by the ONNX graph of its weights that already passed the parity check, without building
    the PyTorch model; for a task that predicts from numpy, without importing torch (a cold start in about a
    second). None when there is no checked graph yet: the first batch through ``OnnxEngine`` makes one."""
    from tuneforge.engine.onnx.session import checked_session, graph_tokenizer
    from tuneforge.models import cache_dir
    from tuneforge.tasks import task_class, task_spec

    folder = path / "model"
    session = checked_session(folder, cache_dir(), cfg.model.name)  # checked against these very weights
    if session is None:
        return None
    tokenizer = graph_tokenizer(folder, session.input_names) if task_spec(cfg.task).numpy_inference else None
    if tokenizer is not None:
        return Run(path, cfg, session, tokenizer, task_class(cfg.task).load(tokenizer, cfg, folder))
    from transformers import AutoTokenizer

    from tuneforge.engine.onnx.model import OnnxModel

    tokenizer = AutoTokenizer.from_pretrained(folder)
    return Run(path, cfg, OnnxModel(session), tokenizer, task_class(cfg.task).load(tokenizer, cfg, folder))
