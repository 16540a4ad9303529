"""Adaptation methods behind one switch: what trains, how it saves, and that reloading gives the same model."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from conftest import make_config
from test_cli_errors import assert_clean_failure, run_cli
from test_text_data import INTENTS, text_config, write_csv

import tuneforge
from tuneforge.cli import main

SAVED = {
    "lora": {"adapter_config.json", "adapter_model.safetensors"},
    "ia3": {"adapter_config.json", "adapter_model.safetensors"},
    "prompt-tuning": {"adapter_config.json", "adapter_model.safetensors"},
    "prefix-tuning": {"adapter_config.json", "adapter_model.safetensors"},
    "bitfit": {"tuneforge_adapter.json", "tuneforge_adapter.safetensors"},
    "adapter": {"tuneforge_adapter.json", "tuneforge_adapter.safetensors"},
}


def ner_logits(model, tokenizer, text="Alice lives in Paris ."):
    batch = tokenizer([text], return_tensors="pt")
    with torch.no_grad():
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits


@pytest.mark.parametrize("method", list(SAVED))
def test_method_trains_saves_and_reloads(tmp_path, tiny_model, small_data, method):
    config = make_config(tmp_path, tiny_model, small_data, epochs=1)
    extra = ["adapter.placement=pfeiffer"] if method == "adapter" else []  # houlsby is the default
    run_dir = tuneforge.train(config, [f"method={method}", *extra])
    saved = {p.name for p in (run_dir / "model").iterdir()}
    assert SAVED[method] <= saved and "model.safetensors" not in saved  # only the adapter, not a model copy
    report = json.loads((run_dir / "report.json").read_text())["training"]
    assert 0 < report["trainable_parameters"] < 0.2 * report["total_parameters"]
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["training"]["lr"] > 1e-4  # the method's default

    # the saved adapter (head included) reproduces the trained model's predictions
    run = tuneforge.load_run(run_dir)
    unmerged = tuneforge.load_run(run_dir, merge=False)
    a, b = ner_logits(run.model, run.tokenizer), ner_logits(unmerged.model, run.tokenizer)
    assert a.shape[1] == len(run.tokenizer("Alice lives in Paris .")["input_ids"])  # no virtual-token positions
    assert torch.allclose(a, b, atol=1e-5)
    recorded = json.loads((run_dir / "report.json").read_text())["dev"]
    assert tuneforge.evaluate(run, small_data["dev"]) == recorded


def test_lora_adapts_every_backbone_linear_layer_by_default(tiny_model):
    from tuneforge.config.loading import validate
    from tuneforge.methods import apply_method
    from tuneforge.models import load_tokenizer
    from tuneforge.tasks import task_spec
    from tuneforge.tasks.token_classification.task import TokenClassification

    cfg = validate({"method": "lora", "data": {"train": "x"}, "model": {"name": tiny_model}})
    task = TokenClassification(load_tokenizer(tiny_model), ["O", "B-x", "I-x"], 32, 8)
    model = apply_method(task.build_model(tiny_model, None), cfg, task_spec(cfg.task).peft_task_type)
    adapted = {n.split(".lora_A")[0].split("encoder.")[-1] for n, _ in model.named_parameters() if ".lora_A." in n}
    per_layer = {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                 "intermediate.dense", "output.dense"}
    assert adapted == {f"layer.{i}.{m}" for i in range(2) for m in per_layer}  # attention and feed-forward
    assert not any("classifier" in n and "lora" in n for n, _ in model.named_parameters())  # the head trains whole


def test_head_trains_under_every_peft_method(tiny_model):
    from tuneforge.config.loading import validate
    from tuneforge.methods import apply_method
    from tuneforge.models import load_tokenizer
    from tuneforge.tasks import task_spec
    from tuneforge.tasks.token_classification.task import TokenClassification

    for method in ("lora", "ia3", "prompt-tuning", "prefix-tuning", "bitfit", "adapter"):
        cfg = validate({"method": method, "data": {"train": "x"}, "model": {"name": tiny_model}})
        task = TokenClassification(load_tokenizer(tiny_model), ["O", "B-x", "I-x"], 32, 8)
        model = apply_method(task.build_model(tiny_model, None), cfg, task_spec(cfg.task).peft_task_type)
        trained = [n for n, p in model.named_parameters() if p.requires_grad]
        assert any("classifier" in n for n in trained), method


@pytest.mark.parametrize("layer_norm", [False, True])
def test_lora_adapter_loads_in_plain_peft_and_merged_export_in_plain_transformers(tmp_path, tiny_model, small_data,
                                                                                   layer_norm):
    from peft import PeftModel
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    config = make_config(tmp_path, tiny_model, small_data, epochs=2)
    run_dir = tuneforge.train(config, ["method=lora", "lora.r=4", f"lora.train_layer_norm={str(layer_norm).lower()}"])
    if layer_norm:  # the trained LayerNorms are in the peft checkpoint, so the base's own would give other logits
        from safetensors.torch import load_file

        assert any("LayerNorm" in k for k in load_file(run_dir / "model" / "adapter_model.safetensors"))
    ours = tuneforge.load_run(run_dir, merge=False)
    labels = json.loads((run_dir / "model" / "labels.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(run_dir / "model")
    expected = ner_logits(ours.model, tokenizer)

    base = AutoModelForTokenClassification.from_pretrained(tiny_model, num_labels=len(labels))
    plain = PeftModel.from_pretrained(base, run_dir / "model").eval()
    assert (ner_logits(plain, tokenizer) - expected).abs().max() < 1e-5

    assert main(["export", str(run_dir), "--merge", "--output", str(tmp_path / "merged")]) == 0
    merged = AutoModelForTokenClassification.from_pretrained(tmp_path / "merged").eval()
    assert (ner_logits(merged, tokenizer) - expected).abs().max() < 1e-5
    assert not any("lora" in k for k in merged.state_dict())


def test_merge_export_refuses_bottleneck_adapters(tmp_path, capsys, tiny_model, small_data):
    config = make_config(tmp_path, tiny_model, small_data, epochs=1, max_steps=1)
    run_dir = tuneforge.train(config, ["method=adapter"])
    code, err = run_cli(capsys, "export", str(run_dir), "--merge", "--output", str(tmp_path / "out"))
    assert code == 2 and "cannot be merged" in err and not (tmp_path / "out").exists()
    assert main(["export", str(run_dir), "--output", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "tuneforge_adapter.safetensors").is_file()


def test_missing_target_modules_fail_before_training(tmp_path, capsys, tiny_model, small_data):
    config = make_config(tmp_path, tiny_model, small_data)
    code, err = run_cli(capsys, "train", str(config), "--set", "method=lora", "--set", "lora.target_modules=[q_proj]")
    assert_clean_failure(code, err, tmp_path, "method 'lora'", "lora.target_modules=['q_proj']", tiny_model, "query")


def test_two_adapters_share_one_backbone(tmp_path, tiny_model, small_data):
    from tuneforge.prediction.shared_backbone import SharedBackbone

    ner_dir = tuneforge.train(make_config(tmp_path, tiny_model, small_data, epochs=2), ["method=lora"])
    train = write_csv(tmp_path / "train.csv", INTENTS * 3)
    intent_cfg = text_config(tmp_path / "", tiny_model, train=train, dev=train)
    intent_dir = tuneforge.train(intent_cfg, ["method=lora", "training.epochs=2", "name=intent"])

    texts = ["Alice lives in Paris .", "where is my card", "Bob Smith works at Acme"]
    alone_ner = tuneforge.load_run(ner_dir).predict(texts)
    alone_intent = tuneforge.load_run(intent_dir).predict(texts)
    shared = SharedBackbone(tiny_model)
    shared.add("ner", ner_dir)
    shared.add("intent", intent_dir)
    for _ in range(2):  # switching back and forth changes nothing
        assert shared.predict("ner", texts) == alone_ner
        got = shared.predict("intent", texts)
        assert [g["label"] for g in got] == [a["label"] for a in alone_intent]
        for g, a in zip(got, alone_intent, strict=True):
            assert abs(g["probability"] - a["probability"]) < 1e-4
    backbones = {id(v.task_model.base_model.inner) for v in shared.views.values()}  # each through its adapter
    assert len(backbones) == 1  # one backbone object serves both tasks


def test_compare_writes_one_row_per_method(tmp_path, tiny_model, small_data):
    config = make_config(tmp_path, tiny_model, small_data, epochs=1)
    out = tmp_path / "cmp"
    assert main(["compare", str(config), "--methods", "full,lora", "--output", str(out), "--lr", "lora=2e-3"]) == 0
    result = json.loads((out / "compare.json").read_text())
    rows = {r["method"]: r for r in result["rows"]}
    assert set(rows) == {"full", "lora"} and rows["lora"]["lr"] == 2e-3 and rows["full"]["lr"] == 1e-3
    assert rows["lora"]["trainable_percent"] < rows["full"]["trainable_percent"] == 100
    assert rows["lora"]["saved_mb"] < rows["full"]["saved_mb"]
    for r in rows.values():
        assert r["test"] is not None and r["inference_texts_per_s"] > 0 and r["peak_rss_mb"] > 0
    assert "| lora |" in (out / "compare.md").read_text() and (out / "compare.svg").read_text().startswith("<svg")


def test_compare_keeps_finished_rows_when_a_later_method_fails(tmp_path, tiny_model, small_data, capsys):
    config = make_config(tmp_path, tiny_model, small_data, epochs=1)
    out = tmp_path / "cmp"
    code = main(["compare", str(config), "--methods", "bitfit,lora", "--output", str(out),
                 "--set", "lora.target_modules=[no_such_module]"])
    assert code != 0 and "method 'lora' failed" in capsys.readouterr().err
    rows = json.loads((out / "compare.json").read_text())["rows"]
    assert [r["method"] for r in rows] == ["bitfit"] and rows[0]["test"] is not None
