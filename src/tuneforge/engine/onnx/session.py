"""A checked ONNX graph of a run's model under ONNX Runtime, torch-free: numpy in, numpy out.

``engine/onnx/model.py`` exports the graph and checks it against PyTorch once; ``checked.json`` beside it
then records its input and output names. ``checked_session`` opens such a graph without importing torch
or transformers' model code, which is most of a cold start on a small CPU: a token- or
sequence-classification run predicts from it with numpy alone (``TaskSpec.numpy_inference``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

from tuneforge.errors import ModelError

CHECKED = "checked.json"  # written only after the graph agreed with PyTorch on a real batch


class OnnxSession:
    """Callable like a task model on numpy inputs: ``session(**batch)`` gives the named outputs as arrays."""

    numpy_inputs: ClassVar[bool] = True  # engine/inference.py feeds it numpy, not tensors

    def __init__(self, path: Path, input_names: list[str], output_names: list[str], threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        threads = threads or int(os.environ.get("OMP_NUM_THREADS") or 0)  # 0: ONNX Runtime's own (physical cores)
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names, self.output_names = input_names, output_names
        self.path = path

    def __call__(self, **batch: Any) -> SimpleNamespace:
        missing = [n for n in self.input_names if n not in batch]
        if missing:
            raise ModelError(f"{self.path}: the ONNX graph needs inputs {', '.join(missing)}")
        import numpy as np

        feeds = {n: np.asarray(batch[n], dtype=np.int64) for n in self.input_names}
        return SimpleNamespace(**dict(zip(self.output_names, self.session.run(self.output_names, feeds), strict=True)))


ADAPTER_FILES = ("adapter_config.json", "tuneforge_adapter.json")  # a folder of these holds no base weights


def graph_folder(model_dir: Path, cache: Path, base: str | None = None) -> Path:
    """Where the graph of these weights is cached: keyed by their content, so retrained weights get a new one.
    An adapter run's graph has its base model's weights merged in, so the key also holds the base (``base``:
    the run's ``model.name``): its name and, for a folder, each weights file's size and modification time."""
    digest = hashlib.sha256()
    for weights in sorted(Path(model_dir).glob("*.safetensors")):
        digest.update(weights.name.encode())
        digest.update(weights.read_bytes())
    if base is not None and any((Path(model_dir) / name).is_file() for name in ADAPTER_FILES):
        digest.update(base_identity(base).encode())
    return Path(cache) / "onnx" / digest.hexdigest()[:24]


def base_identity(base: str) -> str:
    """The base model as the cache key sees it: its resolved folder's weights (name, size, mtime), or its name."""
    from tuneforge.models import resolve

    folder = Path(resolve(base))
    files = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    return "|".join([base, *(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files)])


def checked_names(folder: Path) -> tuple[list[str], list[str]] | None:
    """(inputs, outputs) of the graph in ``folder`` once it passed the parity check; None before."""
    try:
        names = json.loads((folder / CHECKED).read_text(encoding="utf-8"))
        return list(names["inputs"]), list(names["outputs"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def checked_session(model_dir: Path, cache: Path, base: str | None = None) -> OnnxSession | None:
    """The graph of these weights that already passed the parity check, opened without PyTorch; None when
    there is none yet (the first batch through ``OnnxEngine`` exports and checks it)."""
    folder = graph_folder(model_dir, cache, base)
    names = checked_names(folder)
    if names is None or not (folder / "model.onnx").is_file():
        return None
    return OnnxSession(folder / "model.onnx", *names)


def graph_tokenizer(model_dir: Path, input_names: list[str]):
    """The run's fast tokenizer read from its ``tokenizer.json`` without transformers' Auto classes (which import
    torch), giving exactly the inputs the graph takes; None when the folder has no ``tokenizer.json``."""
    if not (Path(model_dir) / "tokenizer.json").is_file():
        return None
    from transformers import PreTrainedTokenizerFast

    names = [n for n in ("input_ids", "token_type_ids", "attention_mask") if n in input_names]
    return PreTrainedTokenizerFast.from_pretrained(model_dir, model_input_names=names)
