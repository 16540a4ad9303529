"""Export a finished run: its adapter as saved, or (``merge``) one standalone model plain transformers loads.

Merging folds LoRA / IA3 weights into the base (peft's ``merge_and_unload``); full, freeze and bitfit
runs are already one model (bitfit's biases are written into the base). Bottleneck adapters add
non-linear layers and prompt/prefix tuning adds virtual tokens: neither can be folded into the
base weights, so those export only in their adapter format.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tuneforge.errors import RunError
from tuneforge.methods import METHODS
from tuneforge.runs.directory import load_run
from tuneforge.runs.model_card import render
from tuneforge.tasks import task_spec
from tuneforge.util.atomic import atomic_dir, ordinary_modes, write_text


def export_run(run_dir: str | Path, output: str | Path, merge: bool = False) -> Path:
    output = Path(output)
    if output.exists():
        raise RunError(f"{output}: already exists; choose a new folder")
    run = load_run(run_dir, merge=merge)
    method = METHODS[run.config.method]
    if not merge:
        with atomic_dir(output) as tmp:
            shutil.copytree(run.path / "model", tmp, dirs_exist_ok=True)
        return output
    if not method.mergeable:
        raise RunError(f"method '{method.name}' cannot be merged into the base model (it adds layers or virtual "
                       "tokens); export without --merge")
    if not task_spec(run.config.task).plain_transformers:
        raise RunError(f"{run.config.task} models have a tuneforge head; export without --merge (the folder holds "
                       "a plain transformers encoder plus the head's own safetensors file)")
    model = run.model
    report = json.loads((run.path / "report.json").read_text(encoding="utf-8"))
    with atomic_dir(output) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        run.tokenizer.save_pretrained(tmp)
        run.task.save(tmp)
        write_text(tmp / "README.md", render(run.config, report, merged=True))  # the card, for the merged model
        ordinary_modes(tmp)  # safetensors leaves weights 0600 beside 0644 tokenizer files
    return output
