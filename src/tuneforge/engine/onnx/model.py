"""ONNX Runtime as the inference engine of a finished run (``inference.engine: onnx``).

The run's model (LoRA/IA3 merged) is exported once to ONNX with dynamic batch and sequence axes and
cached under ``$TUNEFORGE_CACHE/onnx``, keyed by the weights' content, so a retrained run never
reuses a stale graph. ONNX Runtime then runs it with all graph optimizations (fused attention,
LayerNorm and GELU): on 2 CPU cores that is where eager PyTorch spends the time the matrix
products leave. ``OnnxModel`` answers like the PyTorch model (the task's scoring path reads the same
output names), and loading checks the two agree on a real batch before it is used.

Once a graph has passed that check, ``checked.json`` beside it records its input and output names, and a later
process opens it without building the PyTorch model (``engine/onnx/session.py``; ``cached_model`` wraps it for
tasks that predict from tensors): no transformers model code, and for token and sequence classification no torch,
which is most of a cold start on a small CPU (docs/benchmarks.md).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

from tuneforge.engine.onnx.session import CHECKED, OnnxSession, checked_names, checked_session, graph_folder
from tuneforge.errors import ModelError
from tuneforge.util.atomic import atomic_dir, write_json

PARITY_ATOL = 2e-3  # fp32 graph rewrites reorder sums; anything larger is a wrong graph, not rounding
OPSET = 17


class OnnxModel(nn.Module):
    """Callable like the task model on tensors: ``model(**batch)`` gives the named outputs as float tensors."""

    def __init__(self, session: OnnxSession):
        super().__init__()
        self.session = session
        # no weights of its own: this empty one tells the inference path (next(model.parameters())) the device
        self.device_anchor = nn.Parameter(torch.empty(0), requires_grad=False)

    def forward(self, **batch: torch.Tensor) -> SimpleNamespace:
        outputs = self.session(**{k: v.cpu().numpy() for k, v in batch.items() if k in self.session.input_names})
        return SimpleNamespace(**{k: torch.from_numpy(v) for k, v in vars(outputs).items()})


class _NamedOutputs(nn.Module):
    """The task model with positional inputs and a tuple of its named outputs, as the exporter needs."""

    def __init__(self, model: nn.Module, input_names: list[str], output_names: list[str]) -> None:
        super().__init__()
        self.model, self.input_names, self.output_names = model, input_names, output_names

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(**dict(zip(self.input_names, inputs, strict=True)))
        return tuple(getattr(out, n) for n in self.output_names)


class OnnxEngine(nn.Module):
    """The run's model served by ONNX Runtime: exported (or found in the cache) at the first batch, which
    also checks ONNX Runtime against PyTorch; every later batch runs in ONNX Runtime alone."""

    def __init__(self, model: nn.Module, model_dir: Path, cache: Path, base: str | None = None) -> None:
        super().__init__()
        self.torch_model, self.model_dir, self.cache = model.eval(), Path(model_dir), Path(cache)
        self.base = base  # an adapter run's base model: part of its graph's cache key
        self.engine: OnnxModel | None = None

    def forward(self, **batch: torch.Tensor):
        if self.engine is None:
            self.engine = onnx_model(self.torch_model, batch, self.model_dir, self.cache, self.base)
        return self.engine(**batch)


def onnx_model(model: nn.Module, sample: dict[str, torch.Tensor], model_dir: Path, cache: Path,
               base: str | None = None) -> OnnxModel:
    """The run's model under ONNX Runtime, exported on first use; ``sample`` is one collated batch."""
    model.eval()
    input_names = list(sample)
    with torch.inference_mode():
        reference = model(**sample)
    output_names = named_outputs(reference)
    folder = graph_folder(model_dir, cache, base)
    path = folder / "model.onnx"
    if checked_names(folder) != (input_names, output_names) or not path.is_file():
        with atomic_dir(folder) as tmp:  # a crash mid-export leaves no half graph to load next time
            export_graph(model, sample, input_names, output_names, tmp / "model.onnx")
    engine = OnnxModel(OnnxSession(path, input_names, output_names, threads=torch.get_num_threads()))
    worst = max_difference(engine(**sample), reference, output_names)
    if worst > PARITY_ATOL:
        raise ModelError(f"{path}: ONNX Runtime and PyTorch disagree by {worst:.2e} on a real batch; "
                         "use inference.engine: torch")
    write_json(folder / CHECKED, {"inputs": input_names, "outputs": output_names})
    return engine


def cached_model(model_dir: Path, cache: Path, base: str | None = None) -> OnnxModel | None:
    """``checked_session`` for a task that predicts from tensors; None before the graph is exported and checked."""
    session = checked_session(model_dir, cache, base)
    return None if session is None else OnnxModel(session)


def named_outputs(reference: Any) -> list[str]:
    """The outputs the scoring paths read (``engine/inference.py``) that this model gives."""
    return [k for k in ("logits", "start_logits", "end_logits") if getattr(reference, k, None) is not None]


def max_difference(got: Any, reference: Any, output_names: list[str]) -> float:
    """The largest absolute difference between two models' outputs on one batch."""
    return max(float((getattr(got, n).float() - getattr(reference, n).float()).abs().max()) for n in output_names)


def export_graph(model: nn.Module, sample: dict[str, Any], input_names: list[str], output_names: list[str],
                 path: Path, way_out: str = "use inference.engine: torch") -> None:
    """Write ``model`` as one ONNX graph with dynamic batch (and sequence) axes; ``way_out`` ends the error line."""
    axes = {n: {0: "batch", 1: "sequence"} for n in input_names if sample[n].dim() == 2}
    axes |= {n: {0: "batch"} for n in input_names if sample[n].dim() == 1}
    axes |= {n: {0: "batch", 1: "sequence"} for n in output_names}
    # in eval mode: the exporter restores the wrapper's mode afterwards, and a new module's is training, which
    # would leave the model's dropout on for every later PyTorch call
    wrapper = _NamedOutputs(model, input_names, output_names).eval()
    try:
        with warnings.catch_warnings():
            # the tracer's and exporter's advice (Python branches in transformers' masks, how opset 17 spells
            # indexing) is for whoever writes the model, not for someone predicting with it
            warnings.simplefilter("ignore")
            torch.onnx.export(wrapper, tuple(sample[n] for n in input_names),
                              str(path), input_names=input_names, output_names=output_names,
                              dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    except Exception as exc:  # the exporter raises many kinds; the user needs one line and a way out
        raise ModelError(f"cannot export this model to ONNX ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}); {way_out}") from None
