"""Adaptation methods: one registry entry per ``method:`` name, carrying the method's facts.

A method takes a model with its task head and decides what trains (``apply(model, cfg) -> model``);
tasks know nothing of methods and methods nothing of tasks. peft provides lora, ia3, prompt-tuning
and prefix-tuning; freeze, bitfit and bottleneck adapters are written here. The head always trains.
The entry is all that config validation, saving, export, compare and the multi-adapter backbone read
about a method, so none of them compares its name; ``apply`` is imported only when it is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Literal

from pydantic import BaseModel

from tuneforge.methods.options import (
    AdapterOptions,
    FreezeConfig,
    IA3Options,
    LoraOptions,
    VirtualTokenOptions,
)

SaveFormat = Literal["model", "peft", "delta"]


@dataclass(frozen=True)
class MethodSpec:
    name: str
    apply_path: str  # "module:function", imported on demand
    default_lr: float  # the peak learning rate when the config gives none
    save_format: SaveFormat  # model: save_pretrained; peft: peft's adapter files; delta: tuneforge_adapter.*
    mergeable: bool  # folds into the base weights (one plain model to export or serve)
    options_key: str | None = None  # the config section with this method's options
    options: type[BaseModel] | None = None
    shares_backbone: bool = False  # one backbone, many such adapters switched per call (prediction/shared_backbone.py)
    keeps_config_lr: bool = False  # compare: trains at the config's lr, not the method's default
    loaded_wrapper_path: str | None = None  # "module:function" applied to the model peft loads back
    virtual_tokens: bool = False  # prepends learnt tokens to the input (no packed rows: peft drops position ids)
    whole_model: bool = False  # every weight trains and the run saves one whole model: what a distilled student
    # or a pruned run is (whatever method the teacher had)

    def apply(self, model, cfg, task_type: str | None):
        module, _, attr = self.apply_path.partition(":")
        return getattr(import_module(module), attr)(model, cfg, task_type)

    def wrap_loaded(self, model, cfg):
        if self.loaded_wrapper_path is None:
            return model
        module, _, attr = self.loaded_wrapper_path.partition(":")
        return getattr(import_module(module), attr)(model, cfg)

    def options_of(self, cfg) -> BaseModel | None:
        return getattr(cfg, self.options_key) if self.options_key else None


# Learning rates that suit each method when the config gives none: fewer trained parameters take larger steps.
# lora: 5e-4 (the LoRA paper's, for 30+ epochs) ended 9 points under full fine-tuning on Banking77 in 5 epochs;
# 2e-3 ends within 1.2 (docs/benchmarks.md).
METHODS: dict[str, MethodSpec] = {spec.name: spec for spec in (
    MethodSpec("full", "tuneforge.methods.full:apply_full", 5e-5, "model", mergeable=True, keeps_config_lr=True,
               whole_model=True),
    MethodSpec("freeze", "tuneforge.methods.freeze:apply_freeze", 1e-4, "model", mergeable=True,
               options_key="freeze", options=FreezeConfig, keeps_config_lr=True),
    MethodSpec("bitfit", "tuneforge.methods.bitfit:apply_bitfit", 1e-3, "delta", mergeable=True),
    MethodSpec("adapter", "tuneforge.methods.adapter:apply_adapter", 1e-3, "delta", mergeable=False,
               options_key="adapter", options=AdapterOptions),
    MethodSpec("lora", "tuneforge.methods.lora:apply_lora", 2e-3, "peft", mergeable=True,
               options_key="lora", options=LoraOptions, shares_backbone=True),
    MethodSpec("ia3", "tuneforge.methods.ia3:apply_ia3", 3e-3, "peft", mergeable=True,
               options_key="ia3", options=IA3Options, shares_backbone=True),
    MethodSpec("prompt-tuning", "tuneforge.methods.virtual_tokens:apply_prompt_tuning", 3e-2, "peft",
               mergeable=False, options_key="prompt_tuning", options=VirtualTokenOptions,
               loaded_wrapper_path="tuneforge.methods.virtual_tokens:wrap_loaded_prompt", virtual_tokens=True),
    MethodSpec("prefix-tuning", "tuneforge.methods.virtual_tokens:apply_prefix_tuning", 1e-2, "peft",
               mergeable=False, options_key="prefix_tuning", options=VirtualTokenOptions, virtual_tokens=True),
)}

DEFAULT_METHOD = "full"  # what a config without ``method:`` uses, unless its task names another (TaskSpec)
WHOLE_MODEL = next(spec.name for spec in METHODS.values() if spec.whole_model)


def method_spec(name: str) -> MethodSpec:
    return METHODS[name]


def apply_method(model, cfg, task_type: str | None):
    """``cfg.method`` applied to a task model. ``task_type``: the task's peft TaskType (its registry entry gives
    it); None for a tuneforge head, which peft methods then list in modules_to_save."""
    return METHODS[cfg.method].apply(model, cfg, task_type)


def unadapted(model):
    """A context in which the model computes as its backbone alone: peft's adapters (virtual tokens too)
    switched off. Every other method starts as the identity (adapters' up-projections are zero), so an
    untrained model of theirs needs no switch."""
    import contextlib

    from peft import PeftModel

    return model.disable_adapter() if isinstance(model, PeftModel) else contextlib.nullcontext()


def trainable_parameters(model) -> tuple[int, int]:
    """(trainable, total) parameter counts; peft's frozen spare copy of the head is not counted."""
    params = [p for n, p in model.named_parameters() if ".original_module." not in n]
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)
