"""Export a finished encoder run as one ONNX graph (``tuneforge export RUN --format onnx``), optionally int8.

The graph is the one ``inference.engine: onnx`` runs (``engine/onnx/model.py``: LoRA/IA3 merged, dynamic
batch and sequence axes), written beside the run's tokenizer, labels.json / task.json and config.yaml.
Before anything is written, ONNX Runtime is checked against PyTorch on a real batch (the run's dev, test
or train examples, else a few built-in sample texts); with ``quantize="int8"`` the weights of the matrix
products are quantized dynamically (``onnxruntime.quantization.quantize_dynamic``) and the run's main
dev metric is measured twice — fp32 PyTorch and the int8 graph, through the task's own ``evaluate`` —
so ``export.json`` says what the smaller model costs in quality.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tuneforge.errors import DataError, RunError
from tuneforge.runs.directory import Run, load_run, versions
from tuneforge.tasks import task_spec
from tuneforge.util.atomic import atomic_dir, write_json

QUANTIZATIONS = ("int8",)
PARITY_ROWS = 16  # the batch checked against PyTorch
# Texts for the parity check of a run whose data files are gone (one string per input field).
SAMPLE_TEXTS = ("Where is the card I ordered last week?", "Alice moved from Paris to Berlin in 2019.",
                "The transfer has not arrived yet and I need the money today.", "Who wrote the report?")


class _Captured(Exception):
    """Raised by ``_FirstBatch`` to stop the inference path once it has the batch."""


class _FirstBatch(nn.Module):
    """Stands in for the model: keeps the first collated batch the task's inference path gives it, then stops."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.batch = model, None

    def forward(self, **batch: torch.Tensor):
        self.batch = dict(batch)
        raise _Captured


def export_onnx(run_dir: str | Path, output: str | Path, quantize: str | None = None) -> Path:
    """Write ``output``/model.onnx (+ tokenizer, labels.json, task.json, config.yaml, export.json); one folder,
    atomically."""
    output = Path(output)
    if output.exists():
        raise RunError(f"{output}: already exists; choose a new folder")
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise RunError(f"--quantize {quantize}: expected one of {', '.join(QUANTIZATIONS)}")
    from tuneforge.config.loading import load_config
    from tuneforge.engine.inference import SCORING_PATHS

    if Path(run_dir).is_dir() and (Path(run_dir) / "config.yaml").is_file():  # refuse before the model loads
        spec = task_spec(load_config(Path(run_dir) / "config.yaml").task)
        if spec.inference not in SCORING_PATHS:
            raise RunError(f"{run_dir}: a {spec.name} run decodes its outputs token by token ({spec.inference}); "
                           "--format onnx exports runs scored in one forward pass (encoders); export it with "
                           "--format merged or saved")
    # PyTorch in fp32 is the reference, whatever the run predicts with
    run = load_run(run_dir, merge=True, overrides=["inference.engine=torch", "inference.precision=fp32"])
    examples, source = _check_examples(run, need_dev=quantize is not None)
    items = [run.task.prediction_input(e) for e in examples[:PARITY_ROWS]] if examples else _sample_inputs(run)
    sample = _real_batch(run, items)
    return _write(run, output, sample, source, quantize, examples)


def _check_examples(run: Run, need_dev: bool) -> tuple[list[Any], str]:
    """(labelled examples, "split (file)") to check on: dev, else test, else train; ([], why) without data."""
    Task = type(run.task)
    try:
        splits = Task.load_splits(run.config, strict=True)
    except (DataError, OSError) as exc:
        if need_dev:
            raise RunError(f"--quantize needs the run's dev data to measure the metric drop ({exc})") from None
        return [], "sample texts"
    for split in ("dev", "test", "train"):
        if split in splits and splits[split].examples:
            if need_dev and split == "train":
                break
            file = getattr(run.config.data, split, None) or f"carved from {run.config.data.train}"
            return splits[split].examples, f"{split} ({file})"
    if need_dev:
        raise RunError("--quantize measures the metric drop on the run's dev (or test) split; this run has neither")
    return [], "sample texts"


def _sample_inputs(run: Run) -> list[Any]:
    fields = task_spec(run.config.task).input_fields
    if len(fields) == 1:
        return list(SAMPLE_TEXTS)
    return [{f: SAMPLE_TEXTS[(i + j) % len(SAMPLE_TEXTS)] for j, f in enumerate(fields)}
            for i in range(len(SAMPLE_TEXTS))]


def _real_batch(run: Run, items: list[Any]) -> dict[str, torch.Tensor]:
    """The first batch the task's own inference path collates for raw inputs (as ``predict`` takes them)."""
    recorder = _FirstBatch(run.model)
    try:
        run.task.predict_texts(recorder, items, batch_size=PARITY_ROWS, batch_tokens=None)
    except _Captured:
        pass
    finally:
        run.model.eval()  # the inference path switches its model to eval and stops before restoring a mode
    if recorder.batch is None:
        raise RunError(f"{run.path}: the task's inference path gave the model no batch to export with")
    return {k: v.clone() for k, v in recorder.batch.items()}  # cloned outside inference_mode: the exporter traces it


def _write(run: Run, output: Path, sample: dict[str, torch.Tensor], source: str, quantize: str | None,
           examples: list[Any]) -> Path:
    from tuneforge.engine.onnx.model import (
        OPSET,
        PARITY_ATOL,
        OnnxModel,
        export_graph,
        max_difference,
        named_outputs,
    )
    from tuneforge.engine.onnx.session import OnnxSession

    model = run.model
    input_names = list(sample)
    with torch.inference_mode():
        reference = model(**sample)
    output_names = named_outputs(reference)
    if not output_names:
        raise RunError(f"{run.path}: the model gives no logits to export")
    way_out = "export it with --format merged or saved"
    with atomic_dir(output) as tmp:
        fp32 = tmp / "model.onnx"
        export_graph(model, sample, input_names, output_names, fp32, way_out=way_out)
        graph = OnnxModel(OnnxSession(fp32, input_names, output_names))
        worst = max_difference(graph(**sample), reference, output_names)
        if worst > PARITY_ATOL:
            raise RunError(f"ONNX Runtime and PyTorch disagree by {worst:.2e} on a real batch (tolerance "
                           f"{PARITY_ATOL:.0e}); {way_out}")
        record: dict[str, Any] = {
            "format": "onnx", "run": str(run.path), "task": run.config.task, "method": run.config.method,
            "opset": OPSET, "inputs": input_names, "outputs": output_names, "quantize": quantize,
            "parity": {"data": source, "rows": int(sample[input_names[0]].shape[0]), "model": "fp32",
                       "max_abs_diff": worst, "tolerance": PARITY_ATOL, "passed": True},
        }
        if quantize is not None:
            record |= _quantize(run, tmp, sample, reference, input_names, output_names, examples, source)
        run.tokenizer.save_pretrained(tmp)
        run.task.save(tmp)
        (tmp / "config.yaml").write_bytes((run.path / "config.yaml").read_bytes())
        import onnxruntime

        record["versions"] = versions() | {"onnxruntime": onnxruntime.__version__}
        write_json(tmp / "export.json", record)
    return output


def _quantize(run: Run, folder: Path, sample: dict[str, torch.Tensor], reference: Any, input_names: list[str],
              output_names: list[str], examples: list[Any], source: str) -> dict[str, Any]:
    """Replace folder/model.onnx by its dynamic-int8 version; what it changes (outputs, size, dev metric)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from tuneforge.engine.onnx.model import OnnxEngine, OnnxModel, max_difference
    from tuneforge.engine.onnx.session import OnnxSession

    fp32, int8 = folder / "model.onnx", folder / "model.int8.onnx"
    fp32_bytes = fp32.stat().st_size
    logging.disable(logging.WARNING)  # its advice to pre-process the graph, printed on every call
    try:
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    finally:
        logging.disable(logging.NOTSET)
    int8.replace(fp32)
    quantized = OnnxModel(OnnxSession(fp32, input_names, output_names))
    engine = OnnxEngine(run.model, run.path / "model", folder)  # the run's model, answered by the int8 graph
    engine.engine = quantized
    cfg = run.config
    metric = cfg.training.early_stopping.metric or type(run.task).main_metric(cfg)
    batching = cfg.eval_batching()
    scores = {}
    for name, model in (("fp32_torch", run.model), ("int8_onnx", engine)):
        value = run.task.evaluate(model, examples, **batching).get(metric)
        if not isinstance(value, int | float):
            raise RunError(f"the run's evaluation gives no number for its metric '{metric}'")
        scores[name] = float(value)
    return {
        "int8": {"max_abs_diff": max_difference(quantized(**sample), reference, output_names),
                 "fp32_bytes": fp32_bytes, "int8_bytes": fp32.stat().st_size},
        "dev_metric": {"data": source, "examples": len(examples), "metric": metric, **scores,
                       "drop": scores["fp32_torch"] - scores["int8_onnx"]},
    }
