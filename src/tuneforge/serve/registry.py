"""The models one server holds, by name: each a loaded run with its own micro-batching worker.

Runs on one base model whose method can share a backbone (``MethodSpec.shares_backbone``: LoRA, IA3) keep one
copy of the base weights between them (``SharedBackbone``); every other run loads whole, merged. Loading and
unloading happen in worker threads (a load takes seconds), one at a time; predictions read the table without
waiting for them. ``--set inference.*`` overrides apply to every run loaded; with them, runs load whole (a
shared backbone has one inference setup for all its adapters).
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuneforge.errors import ConfigError, RunError
from tuneforge.serve.batching import MicroBatcher
from tuneforge.serve.errors import ServeError
from tuneforge.serve.metrics import Metrics
from tuneforge.serve.settings import ServeSettings

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # goes into URLs and metric labels: no escaping needed


@dataclass
class LoadedModel:
    name: str
    run: Any  # tuneforge.runs.directory.Run
    spec: Any  # its TaskSpec
    batcher: MicroBatcher
    backbone: Any = None  # the SharedBackbone it shares, or None when loaded whole
    loaded_at: int = field(default_factory=lambda: int(time.time()))  # the OpenAI model object's "created"

    def describe(self) -> dict[str, Any]:
        cfg = self.run.config
        info = {"name": self.name, "task": cfg.task, "method": cfg.method, "base_model": cfg.model.name,
                "run": self.run.path.name, "shared_backbone": self.backbone is not None,
                "input_fields": list(self.spec.input_fields),
                "optional_input_fields": list(self.spec.optional_input_fields), "streams": self.spec.streams}
        if self.run.labels is not None:
            info["labels"] = list(self.run.labels)
        return info


def parse_run_arg(arg: str) -> tuple[str, str]:
    """``NAME=RUN`` or ``RUN`` (named for its directory) from the command line."""
    name, sep, path = arg.partition("=")
    if not sep:
        path, name = arg, Path(arg.rstrip("/")).name
    check_name(name, hint=f" (name it: NAME={arg})" if not sep else "")
    return name, path


def check_name(name: str, hint: str = "") -> None:
    if not NAME.match(name):
        raise ConfigError(f"model name {name!r}: use letters, digits, '.', '_' and '-' (at most 64){hint}")


class ModelRegistry:
    def __init__(self, settings: ServeSettings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.models: dict[str, LoadedModel] = {}
        self.backbones: dict[str, Any] = {}  # base model name -> SharedBackbone
        self._load_lock = threading.Lock()  # one load/unload at a time: names and backbones stay consistent
        self.required: set[str] = set()  # names that must be loaded to be ready (the assistant's models)
        metrics.queue_depth = lambda: {name: m.batcher.depth() for name, m in self.snapshot().items()}

    def snapshot(self) -> dict[str, LoadedModel]:
        """A copy of the table to iterate: loads and unloads change it from worker threads meanwhile (dict.copy
        runs without releasing the GIL, so the copy itself is never torn)."""
        return self.models.copy()

    def get(self, name: str) -> LoadedModel:
        model = self.models.get(name)
        if model is None:
            raise ServeError(404, f"no model named {name!r} (loaded: {', '.join(sorted(self.models)) or 'none'})")
        return model

    def load_all(self, args: list[str], overrides: dict[str, list[str]] | None = None) -> None:
        """The command line's runs. Runs whose base is shared by another sharing-capable run share it.
        ``overrides``: per name, what that run alone is loaded with (an assistant's schema files)."""
        from tuneforge.methods import METHODS
        from tuneforge.runs.directory import config_of

        named = [parse_run_arg(arg) for arg in args]
        duplicate = [n for n, count in Counter(n for n, _ in named).items() if count > 1]
        if duplicate:
            raise ConfigError(f"two runs named '{duplicate[0]}'; name them apart with NAME=RUN")
        configs = {name: config_of(path) for name, path in named}  # a wrong path fails before any model loads
        sharing = Counter(c.model.name for c in configs.values() if METHODS[c.method].shares_backbone)
        for name, path in named:
            cfg = configs[name]
            self.load(name, path, share=METHODS[cfg.method].shares_backbone and sharing[cfg.model.name] > 1,
                      overrides=(overrides or {}).get(name, []))

    def load(self, name: str, path: str | Path, share: bool | None = None,
             overrides: list[str] | tuple[str, ...] = ()) -> LoadedModel:
        """Load the run at ``path`` as ``name``. ``share=None``: share a backbone if one of its base is loaded."""
        from tuneforge.methods import METHODS
        from tuneforge.runs.directory import config_of, load_run
        from tuneforge.tasks import task_spec

        check_name(name)
        with self._load_lock:
            if name in self.models:
                raise ServeError(409, f"a model named {name!r} is already loaded")
            cfg = config_of(path)
            can_share = METHODS[cfg.method].shares_backbone
            if share is None:
                share = can_share and cfg.model.name in self.backbones
            share = share and not self.settings.overrides and not overrides
            backbone = None
            if share:
                backbone = self.backbones.get(cfg.model.name)
                if backbone is None:
                    from tuneforge.prediction.shared_backbone import SharedBackbone

                    backbone = SharedBackbone(cfg.model.name)
                backbone.add(name, path)
                self.backbones[cfg.model.name] = backbone
                run = backbone.runs[name]
            else:
                run = load_run(path, overrides=[*self.settings.overrides, *overrides] or None)
            batcher = MicroBatcher(name, run.predict, self.settings.max_batch_size,
                                   self.settings.max_wait_ms / 1000, self.settings.queue_size,
                                   on_batch=lambda n: self.metrics.batch(name, n))
            model = LoadedModel(name, run, task_spec(cfg.task), batcher, backbone)
            self.models[name] = model
            return model

    def unload(self, name: str) -> None:
        with self._load_lock:
            model = self.get(name)
            del self.models[name]  # new requests get 404 from here on
            model.batcher.close(wait_s=self.settings.timeout_s)  # the running batch finishes first
            if model.backbone is not None:
                self._drop_adapter(model)

    def _drop_adapter(self, model: LoadedModel) -> None:
        """Free the adapter's weights from its shared backbone (or the backbone, with its last adapter)."""
        backbone = model.backbone
        with backbone._lock:  # the lock every adapter switch takes: no call runs while the adapter goes
            backbone.runs.pop(model.name, None)
            backbone.views.pop(model.name, None)
            if backbone.runs:
                backbone.peft.delete_adapter(model.name)
            else:
                self.backbones.pop(backbone.base_name, None)

    def resolve_under_root(self, run: str) -> Path:
        """The run directory ``run`` names, which must lie under ``--root`` once every link is followed."""
        root = self.settings.root
        if root is None:
            raise ServeError(403, "loading models at run time is off; start the server with --root DIR")
        if "\x00" in run or not run.strip():
            raise ServeError(422, "run: expected a run directory under the server's root")
        root = Path(root).resolve()
        candidate = Path(run) if Path(run).is_absolute() else root / run
        resolved = candidate.resolve()  # follows symlinks, so a link pointing outside the root is caught here
        if resolved != root and not resolved.is_relative_to(root):
            raise ServeError(403, f"run {run!r}: outside the server's root")
        if not resolved.is_dir():
            raise ServeError(404, f"run {run!r}: no such run directory under the server's root")
        return resolved

    def ready(self) -> bool:
        models = self.snapshot()
        return bool(models) and self.required <= models.keys() and all(m.batcher.alive() for m in models.values())

    def close(self) -> None:
        for model in self.snapshot().values():
            model.batcher.close()


def load_error(exc: Exception, shown: dict[str, str] | None = None) -> ServeError:
    """A run that cannot be loaded is the client's problem (a wrong or damaged directory): 422, one line.

    ``shown``: server paths and what the client sees instead (the run as the client named it; the root as
    ``<root>``), longest first, so an error never tells a client where the server keeps its files."""
    if isinstance(exc, ServeError):
        return exc
    message = str(exc) if isinstance(exc, RunError | ConfigError) else f"cannot load: {exc}"
    for path, instead in sorted((shown or {}).items(), key=lambda item: -len(item[0])):
        message = message.replace(path, instead)
    return ServeError(422, message)
