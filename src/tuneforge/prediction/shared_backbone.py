"""One backbone in memory, many task adapters: load N LoRA/IA3 runs on a single base model, switch per call.

Each run's adapter was trained on its own task model (e.g. BertForTokenClassification). Here the
backbone (e.g. BertModel) is loaded once and wrapped by one peft model holding every run's adapter
under the run's name; each task keeps only its small head (the task model class built around the
shared backbone, with the head weights from the adapter file). A call activates its adapter under a
lock, so concurrent callers (the server's threads) never see another task's weights.

A causal LM's head is usually tied to the input embeddings (no copy in the adapter file): its view ties it
to the shared backbone's embeddings, as the run alone does. Generation calls the backbone once per new
token, from the view's forward (the own greedy loop) or from inside ``generate`` (beam search, sampling):
the task model reaches the backbone through ``_ActiveAdapter``, which sets its run's adapter for every
call, so the decoding steps of two runs interleave without either seeing the other's weights.
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


class _ActiveAdapter(nn.Module):
    """The shared backbone as one run sees it: each call runs with that run's adapter active."""

    def __init__(self, owner: SharedBackbone, name: str, backbone: nn.Module) -> None:
        super().__init__()
        self.owner, self.name = owner, name
        self.inner = backbone

    def forward(self, *args: Any, **kwargs: Any):
        with self.owner._lock:
            self.owner.peft.set_adapter(self.name)
            return self.inner(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        try:
            return super().__getattr__(attr)
        except AttributeError:  # the backbone's own attributes (embed_tokens, config) for the task model's code
            return getattr(super().__getattr__("inner"), attr)


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

    @property
    def config(self) -> Any:
        return self.task_model.config

    @property
    def generation_config(self) -> Any:
        return self.task_model.generation_config

    def forward(self, **batch: torch.Tensor):
        with self.owner._lock:
            self.owner.peft.set_adapter(self.name)
            return self.task_model(**batch)

    def generate(self, **kwargs: Any):
        """``generate`` of a causal LM run (beam search, sampling): every step's backbone call sets this run's
        adapter, and other runs' calls interleave between steps."""
        return self.task_model.generate(**kwargs)


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
                self.backbone.to(task_model.dtype)  # as the run alone computes (a causal LM's task loads float32)
                with peft_wrapping_quiet():
                    self.peft = PeftModel(self.backbone, config, adapter_name=name)
            elif task_model.dtype != self.backbone.dtype:
                raise RunError(f"{run_dir}: its model computes in {task_model.dtype}, this backbone in "
                               f"{self.backbone.dtype}")
            else:
                self.peft.add_adapter(name, config)
            result = set_peft_model_state_dict(self.peft, backbone_weights, adapter_name=name)
            if result.unexpected_keys:
                raise RunError(f"{folder}: adapter tensors that do not fit the backbone: {result.unexpected_keys[:3]}")
            self.peft.eval()
        shared = self.peft.base_model.model  # the shared backbone, with every adapter inside
        head = _plain_head(task_model, prefix, head_weights, shared)
        setattr(head, prefix, _ActiveAdapter(self, name, shared))
        run.model = self.views[name] = _TaskView(self, name, head.eval())
        self.runs[name] = run

    def predict(self, name: str, texts: list[Any]) -> list[dict[str, Any]]:
        if name not in self.runs:
            raise RunError(f"no adapter named '{name}' (loaded: {', '.join(self.runs) or 'none'})")
        return self.runs[name].predict(texts)


def _plain_head(task_model: nn.Module, prefix: str, head_weights: dict[str, torch.Tensor],
                backbone: nn.Module) -> nn.Module:
    """A copy of the task model's class with the trained head weights and no backbone of its own. A head tied
    to the input embeddings (a causal LM's) is tied to ``backbone``'s; head weights the adapter did not train
    (an untied LM head) are the run's own, which are the base model's."""
    from transformers import AutoConfig

    config = AutoConfig.for_model(**task_model.config.to_dict())
    with torch.device("meta"):
        plain = type(task_model)(config)  # weights never allocated; only the head gets real tensors
    setattr(plain, prefix, nn.Identity())
    tied = _tied_output(task_model)
    if tied is not None:  # no tensor of its own: it becomes the shared embedding matrix below
        plain.get_submodule(tied).register_parameter("weight", None)
    plain.to_empty(device="cpu")
    state = {k.replace(".modules_to_save.default", ""): v for k, v in head_weights.items()}
    own = task_model.state_dict()
    untrained = {k: own[k] for k in plain.state_dict() if not k.startswith(f"{prefix}.") and k not in state
                 and k in own}
    missing, unexpected = plain.load_state_dict({**untrained, **state}, strict=False)
    missing = [k for k in missing if not k.startswith(f"{prefix}.")]
    if missing or unexpected:
        raise RunError(f"head weights do not match {type(task_model).__name__}: missing {missing}, extra {unexpected}")
    if tied is not None:
        plain.get_submodule(tied).weight = backbone.get_input_embeddings().weight
    if getattr(task_model, "generation_config", None) is not None:
        plain.generation_config = task_model.generation_config  # the run's end tokens and defaults
    return plain


def _tied_output(task_model: nn.Module) -> str | None:
    """The module name of the output embeddings when they share the input embeddings' tensor, else None."""
    output, inputs = task_model.get_output_embeddings(), task_model.get_input_embeddings()
    if output is None or inputs is None or output.weight is not inputs.weight:
        return None
    return next(name for name, module in task_model.named_modules() if module is output)
