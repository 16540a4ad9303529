"""tuneforge export --format onnx: parity recorded and real, int8 with its dev-metric drop, one-line refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_generation import PAIRS, gen_config, write_jsonl
from test_text_data import INTENTS, text_config, write_csv

import tuneforge
from tuneforge.cli import main

NEW_TEXTS = ["has my new card been sent out", "top up my balance with 20 euros please", "shut it down"]


@pytest.fixture(scope="module")
def intent_run(tmp_path_factory, tiny_model):
    tmp = tmp_path_factory.mktemp("onnx-export")
    train = write_csv(tmp / "train.csv", INTENTS * 4)
    dev = write_csv(tmp / "dev.csv", INTENTS + [("my card is missing", "card_arrival"), ("add funds", "top_up")])
    config = text_config(tmp, tiny_model, train=train, dev=dev)
    assert main(["train", str(config), "--set", "training.epochs=10", "--set", "training.lr=5e-3",
                 "--set", "training.warmup_ratio=0"]) == 0
    return tmp / "runs" / "t", dev


def one_line_error(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_fp32_export_matches_pytorch_on_new_inputs(intent_run, tmp_path):
    import onnxruntime as ort
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    run, _ = intent_run
    out = tmp_path / "onnx"
    assert main(["export", str(run), "--format", "onnx", "--output", str(out)]) == 0
    assert {"model.onnx", "export.json", "labels.json", "config.yaml", "tokenizer.json"} <= {p.name for p in
                                                                                              out.iterdir()}
    record = json.loads((out / "export.json").read_text())
    parity = record["parity"]
    assert parity["data"].startswith("dev") and parity["rows"] == 8 and parity["passed"]
    assert 0 <= parity["max_abs_diff"] <= parity["tolerance"] and record["quantize"] is None
    assert "dev_metric" not in record

    # the exported folder alone answers like the run's PyTorch model, on texts the check never saw
    tokenizer = AutoTokenizer.from_pretrained(out)
    batch = tokenizer(NEW_TEXTS, padding=True, return_tensors="np")
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    feeds = {i.name: batch[i.name].astype(np.int64) for i in session.get_inputs()}
    (onnx_logits,) = session.run(["logits"], feeds)
    model = AutoModelForSequenceClassification.from_pretrained(run / "model").eval()
    with torch.inference_mode():
        torch_logits = model(**{k: torch.from_numpy(v) for k, v in feeds.items()}).logits.numpy()
    assert onnx_logits.shape == (3, 3)
    np.testing.assert_allclose(onnx_logits, torch_logits, atol=parity["tolerance"], rtol=0)
    assert json.loads((out / "labels.json").read_text()) == json.loads((run / "model" / "labels.json").read_text())


def test_int8_export_is_smaller_and_records_the_dev_metric_drop(intent_run, tmp_path):
    from tuneforge.engine.onnx.model import OnnxEngine, OnnxModel
    from tuneforge.engine.onnx.session import OnnxSession
    from tuneforge.export.onnx import export_onnx

    run, dev = intent_run
    fp32 = export_onnx(run, tmp_path / "fp32")
    int8 = export_onnx(run, tmp_path / "int8", quantize="int8")
    assert (int8 / "model.onnx").stat().st_size < (fp32 / "model.onnx").stat().st_size
    assert not (int8 / "model.int8.onnx").exists()
    record = json.loads((int8 / "export.json").read_text())
    assert record["quantize"] == "int8" and record["int8"]["int8_bytes"] == (int8 / "model.onnx").stat().st_size
    drop = record["dev_metric"]
    assert drop["metric"] == "accuracy" and drop["examples"] == 8 and drop["data"].startswith("dev")

    # recompute both numbers: PyTorch fp32 on the dev file, and the exported int8 graph through the task's evaluate
    loaded = tuneforge.load_run(run)
    assert drop["fp32_torch"] == tuneforge.evaluate(loaded, dev)["accuracy"]
    graph = OnnxModel(OnnxSession(int8 / "model.onnx", record["inputs"], record["outputs"]))
    engine = OnnxEngine(loaded.model, run / "model", tmp_path / "unused")
    engine.engine = graph
    examples = loaded.task.read(str(dev), loaded.config).examples
    assert drop["int8_onnx"] == loaded.task.evaluate(engine, examples, **loaded.config.eval_batching())["accuracy"]
    assert drop["drop"] == pytest.approx(drop["fp32_torch"] - drop["int8_onnx"])


def test_export_over_an_existing_folder_is_refused_and_leaves_it(intent_run, tmp_path, capsys):
    run, _ = intent_run
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    for extra in ([], ["--format", "onnx"], ["--format", "onnx", "--quantize", "int8"]):
        assert main(["export", str(run), "--output", str(out), *extra]) == 2
        assert "already exists" in one_line_error(capsys)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_bad_flag_combinations_are_one_line_errors(intent_run, tmp_path, capsys):
    run, _ = intent_run
    assert main(["export", str(run), "--output", str(tmp_path / "a"), "--quantize", "int8"]) == 2
    assert "--quantize goes with --format onnx" in one_line_error(capsys)
    assert main(["export", str(run), "--output", str(tmp_path / "b"), "--merge", "--format", "onnx"]) == 2
    assert "--merge is --format merged" in one_line_error(capsys)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert main(["export", str(run), "--output", str(tmp_path / "merged"), "--merge"]) == 0  # the old flag still works
    assert (tmp_path / "merged" / "model.safetensors").is_file()
    assert main(["export", str(run), "--output", str(tmp_path / "merged2"), "--format", "merged"]) == 0
    assert (tmp_path / "merged2" / "model.safetensors").is_file()


def test_a_generation_run_cannot_be_exported_to_onnx(tmp_path, tiny_llama, capsys):
    cfg = gen_config(tmp_path, tiny_llama, {"train": write_jsonl(tmp_path / "train.jsonl", PAIRS)},
                     task_options={"eval_examples": 1}, training={"max_steps": 1})
    run = tuneforge.train(cfg)
    capsys.readouterr()
    assert main(["export", str(run), "--format", "onnx", "--output", str(tmp_path / "out")]) == 2
    line = one_line_error(capsys)
    assert "decodes its outputs token by token" in line and "--format merged" in line
    assert not (tmp_path / "out").exists()


def test_exporting_leaves_the_pytorch_model_in_eval_mode(tiny_model, tmp_path):
    """The exporter restores its wrapper's mode: a training-mode wrapper would switch the model's dropout on."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from tuneforge.engine.onnx.model import export_graph

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model, num_labels=3).eval()
    sample = dict(AutoTokenizer.from_pretrained(tiny_model)(NEW_TEXTS, padding=True, return_tensors="pt"))
    export_graph(model, sample, list(sample), ["logits"], tmp_path / "model.onnx")
    assert not any(m.training for m in model.modules())
    with torch.inference_mode():
        assert torch.equal(model(**sample).logits, model(**sample).logits)


def test_question_answering_exports_both_span_outputs(tmp_path, tiny_model):
    import onnxruntime as ort
    import torch
    from test_question_answering import long_context, qa_config, small_squad
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    cfg = qa_config(tmp_path, tiny_model, small_squad(tmp_path, "2.0"))
    cfg["training"]["epochs"] = 1
    run = tuneforge.train(cfg)
    out = tmp_path / "qa-onnx"
    assert main(["export", str(run), "--format", "onnx", "--output", str(out)]) == 0
    record = json.loads((out / "export.json").read_text())
    assert record["outputs"] == ["start_logits", "end_logits"] and record["parity"]["passed"]
    context, _ = long_context(1)
    batch = AutoTokenizer.from_pretrained(out)("Where did they meet?", context, truncation=True, max_length=64,
                                               return_tensors="np")
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    feeds = {i.name: batch[i.name].astype(np.int64) for i in session.get_inputs()}
    start, end = session.run(["start_logits", "end_logits"], feeds)
    model = AutoModelForQuestionAnswering.from_pretrained(run / "model").eval()
    with torch.inference_mode():
        ref = model(**{k: torch.from_numpy(v) for k, v in feeds.items()})
    tolerance = record["parity"]["tolerance"]
    np.testing.assert_allclose(start, ref.start_logits.numpy(), atol=tolerance, rtol=0)
    np.testing.assert_allclose(end, ref.end_logits.numpy(), atol=tolerance, rtol=0)


def test_an_adapter_runs_graph_is_keyed_on_its_base_weights_too(tmp_path):
    """A LoRA/IA3 run's graph has the base merged in: new base weights under the same name get a new graph (#36.24)."""
    import os

    from tuneforge.engine.onnx.session import graph_folder

    base = tmp_path / "base"
    base.mkdir()
    (base / "model.safetensors").write_bytes(b"base weights")
    adapter, full = tmp_path / "adapter-run", tmp_path / "full-run"
    for folder in (adapter, full):
        folder.mkdir()
    (adapter / "adapter_model.safetensors").write_bytes(b"lora")
    (adapter / "adapter_config.json").write_text("{}")
    (full / "model.safetensors").write_bytes(b"all weights")
    cache = tmp_path / "cache"
    before = graph_folder(adapter, cache, str(base)), graph_folder(full, cache, str(base))
    (base / "model.safetensors").write_bytes(b"retrained base weights")
    os.utime(base / "model.safetensors", ns=(1, 1))
    assert graph_folder(adapter, cache, str(base)) != before[0]
    assert graph_folder(full, cache, str(base)) == before[1]  # a full run's weights are all in its own folder
    assert graph_folder(adapter, cache, str(base)) == graph_folder(adapter, cache, str(base))
