"""Save and load an adapted model in its method's format, inside a run's ``model/`` folder.

- full, freeze: the whole model, ``save_pretrained`` (plain transformers loads it).
- lora, ia3, prompt-tuning, prefix-tuning: peft's adapter format (``adapter_config.json`` +
  ``adapter_model.safetensors``, head included), so ``PeftModel.from_pretrained(base, folder)`` works.
- bitfit, adapter: ``tuneforge_adapter.json`` (method, options, base model) and
  ``tuneforge_adapter.safetensors`` with every trained tensor under its name in the adapted model
  (for bitfit, the biases and the head). Loading rebuilds the base model, applies the method, and
  loads these tensors; every one of them must find its place.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from tuneforge.errors import RunError
from tuneforge.methods import METHODS, apply_method
from tuneforge.util.quiet import peft_wrapping_quiet

DELTA_CONFIG, DELTA_WEIGHTS = "tuneforge_adapter.json", "tuneforge_adapter.safetensors"


def save_adapted(model, folder: Path, cfg) -> None:
    from safetensors.torch import save_file

    spec = METHODS[cfg.method]
    if spec.save_format == "delta":
        tensors = {n: p.detach().contiguous().cpu() for n, p in model.named_parameters() if p.requires_grad}
        save_file(tensors, str(folder / DELTA_WEIGHTS))
        options = spec.options_of(cfg)
        (folder / DELTA_CONFIG).write_text(json.dumps({
            "format": "tuneforge-adapter/1", "method": cfg.method, "base_model": cfg.model.name,
            "task": cfg.task, "options": options.model_dump() if options is not None else {},
        }, indent=2), encoding="utf-8")
    else:
        model.save_pretrained(folder, safe_serialization=True)
    if (folder / "adapter_config.json").is_file():
        _publish_base_name(folder / "adapter_config.json", cfg.model.name)


def _publish_base_name(path: Path, base: str) -> None:
    """peft records the base as the folder it was loaded from (a path of this machine, e.g. the bundled model's
    site-packages folder); record its public name instead (``models.public_name``), or null. Loading builds the
    base from the run's config, never from this field."""
    from tuneforge.models import public_name

    config = json.loads(path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = public_name(base)
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_adapted(task, folder: Path, cfg, task_type: str | None, merge: bool = True) -> torch.nn.Module:
    """The run's model (``task_type``: the task's peft TaskType, as ``apply_method`` takes it); lora/ia3
    weights are merged into the base for inference unless ``merge`` is off."""
    folder = Path(folder)
    spec = METHODS[cfg.method]
    if (folder / "adapter_config.json").is_file():
        from peft import PeftModel

        with peft_wrapping_quiet():
            model = PeftModel.from_pretrained(task.build_model(cfg.model.name, None), folder)
        if merge and spec.mergeable:
            return model.merge_and_unload()  # one plain model: no adapter overhead per call
        return spec.wrap_loaded(model, cfg)
    if (folder / DELTA_CONFIG).is_file():
        from safetensors.torch import load_file

        model = apply_method(task.build_model(cfg.model.name, None), cfg, task_type)
        tensors = load_file(str(folder / DELTA_WEIGHTS))
        result = model.load_state_dict(tensors, strict=False)
        if result.unexpected_keys:
            raise RunError(f"{folder / DELTA_WEIGHTS}: tensors that do not fit the model: "
                           f"{', '.join(result.unexpected_keys[:5])}")
        return model
    if spec.save_format != "model":
        raise RunError(f"{folder}: no adapter files for method '{cfg.method}'")
    return task.load_model(folder)
