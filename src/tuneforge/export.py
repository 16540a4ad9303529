"""Export a finished run: its adapter as saved, or (``merge``) one standalone model plain transformers loads.

Merging folds LoRA / IA3 weights into the base (peft's ``merge_and_unload``); full, freeze and bitfit
runs are already one model (bitfit's biases are written into the base). Bottleneck adapters add
non-linear layers and prompt/prefix tuning adds virtual tokens: neither can be folded into the
base weights, so those export only in their adapter format.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tuneforge.atomic import atomic_dir, write_json
from tuneforge.errors import RunError
from tuneforge.runs import load_run

UNMERGEABLE = ("adapter", "prompt-tuning", "prefix-tuning")


def export_run(run_dir: str | Path, output: str | Path, merge: bool = False) -> Path:
    output = Path(output)
    if output.exists():
        raise RunError(f"{output}: already exists; choose a new folder")
    run = load_run(run_dir, merge=merge)
    method = run.config.method
    if not merge:
        with atomic_dir(output) as tmp:
            shutil.copytree(run.path / "model", tmp, dirs_exist_ok=True)
        return output
    if method in UNMERGEABLE:
        raise RunError(f"method '{method}' cannot be merged into the base model (it adds "
                       f"{'layers' if method == 'adapter' else 'virtual tokens'}); export without --merge")
    if run.config.task == "relation-extraction":
        raise RunError("relation-extraction models have a tuneforge head; export without --merge "
                       "(the folder holds a plain transformers encoder plus relation_head.safetensors)")
    model = run.model
    with atomic_dir(output) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        run.tokenizer.save_pretrained(tmp)
        write_json(tmp / "labels.json", run.labels)
        task_state = run.path / "model" / "task.json"
        if task_state.is_file():
            shutil.copy(task_state, tmp / "task.json")
    return output
