"""One backbone in memory, many task adapters: load N LoRA/IA3 runs on a single base model, switch per call.

Each run's adapter was trained on its own task model (e.g. BertForTokenClassification). Here the
backbone (e.g. BertModel) is loaded once and wrapped by one peft model holding every run's adapter
under the run's name; each task keeps only its small head (the task model class built around the
shared backbone, with the head weights from the adapter file). A call activates its adapter under a
lock, so concurrent callers (the server's threads) never see another task's weights.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tuneforge.errors import RunError
from tuneforge.methods import METHODS
from tuneforge.runs.directory import Run, load_run
from tuneforge.util.quiet import peft_wrapping_quiet


class _TaskView(nn.Module):
    """A task model whose backbone is the shared one; ``forward`` runs with this task's adapter active."""

    def __init__(self, owner: SharedBackbone, name: str, task_model: nn.Module) -> None:
        super().__init__()
        self.owner, self.name = owner, name
        self.task_model = task_model
        super().train(False)

    def train(self, mode: bool = True) -> _TaskView:
        """Always eval: the backbone is shared, and switching its dropout on (or back) would reach into the
        prediction another run's thread is making with it. A shared view predicts; it never trains."""
        return super().train(False) if self.training else self

    def forward(self, **batch: torch.Tensor):
        with self.owner._lock:
            self.owner.peft.set_adapter(self.name)
            return self.task_model(**batch)


class SharedBackbone:
    def __init__(self, base_model: str) -> None:
        from transformers import AutoModel

        from tuneforge.models import load_pretrained

        self.base_name = base_model
        self.backbone = load_pretrained(base_model, AutoModel).eval()
        self.peft = None  # the peft wrapper around the backbone, made when the first adapter arrives
        self.runs: dict[str, Run] = {}
        self.views: dict[str, _TaskView] = {}
        self._lock = threading.RLock()

    def add(self, name: str, run_dir: str | Path) -> None:
        """Load the adapter of the finished run ``run_dir`` under ``name``."""
        from peft import PeftConfig, PeftModel, set_peft_model_state_dict
        from peft.utils import load_peft_weights

        run = load_run(run_dir, merge=False)
        cfg = run.config
        if not METHODS[cfg.method].shares_backbone:
            sharing = " or ".join(name for name, spec in METHODS.items() if spec.shares_backbone)
            raise RunError(f"{run_dir}: method '{cfg.method}' cannot share a backbone here (use {sharing})")
        if cfg.model.name != self.base_name:
            raise RunError(f"{run_dir}: trained on '{cfg.model.name}', but this backbone is '{self.base_name}'")
        if name in self.runs:
            raise RunError(f"an adapter named '{name}' is already loaded")
        folder = run.path / "model"
        task_model = run.model.get_base_model()  # the run's own task model: its head is what we keep
        prefix = task_model.base_model_prefix
        weights = load_peft_weights(str(folder))
        backbone_weights, head_weights = {}, {}
        for key, value in weights.items():
            inner = key.removeprefix("base_model.model.")
            if inner.startswith(f"{prefix}."):
                backbone_weights["base_model.model." + inner.removeprefix(f"{prefix}.")] = value
            else:
                head_weights[inner] = value
        config = PeftConfig.from_pretrained(str(folder))
        config.task_type, config.modules_to_save, config.inference_mode = None, None, True
        with self._lock:
            if self.peft is None:
                with peft_wrapping_quiet():
                    self.peft = PeftModel(self.backbone, config, adapter_name=name)
            else:
                self.peft.add_adapter(name, config)
            result = set_peft_model_state_dict(self.peft, backbone_weights, adapter_name=name)
            if result.unexpected_keys:
                raise RunError(f"{folder}: adapter tensors that do not fit the backbone: {result.unexpected_keys[:3]}")
            self.peft.eval()
        head = _plain_head(task_model, prefix, head_weights)
        setattr(head, prefix, self.peft.base_model.model)  # the shared backbone, with every adapter inside
        run.model = self.views[name] = _TaskView(self, name, head.eval())
        self.runs[name] = run

    def predict(self, name: str, texts: list[Any]) -> list[dict[str, Any]]:
        if name not in self.runs:
            raise RunError(f"no adapter named '{name}' (loaded: {', '.join(self.runs) or 'none'})")
        return self.runs[name].predict(texts)


def _plain_head(task_model: nn.Module, prefix: str, head_weights: dict[str, torch.Tensor]) -> nn.Module:
    """A copy of the task model's class with the trained head weights and no backbone of its own."""
    from transformers import AutoConfig

    config = AutoConfig.for_model(**task_model.config.to_dict())
    with torch.device("meta"):
        plain = type(task_model)(config)  # weights never allocated; only the head gets real tensors
    setattr(plain, prefix, nn.Identity())
    plain.to_empty(device="cpu")
    state = {k.replace(".modules_to_save.default", ""): v for k, v in head_weights.items()}
    missing, unexpected = plain.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith(f"{prefix}.")]
    if missing or unexpected:
        raise RunError(f"head weights do not match {type(task_model).__name__}: missing {missing}, extra {unexpected}")
    return plain
