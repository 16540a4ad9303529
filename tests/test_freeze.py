from __future__ import annotations

import pytest
import torch
from conftest import make_config
from safetensors.torch import load_file

import tuneforge
from tuneforge.cli import main
from tuneforge.data.examples import TaggedSentence
from tuneforge.engine.speed.frozen_cache import build_cache
from tuneforge.models import load_tokenizer
from tuneforge.tasks.token_classification.task import TokenClassification


def test_freeze_trains_only_top_layers_and_head(tmp_path, tiny_model, small_data):
    config = make_config(tmp_path, tiny_model, small_data, epochs=2)
    run = tuneforge.train(config, ["method=freeze", "freeze.trainable_layers=1"])
    before = load_file(f"{tiny_model}/model.safetensors")
    after = load_file(run / "model" / "model.safetensors")
    changed = {k for k in before if "bert." + k in after and not torch.equal(before[k], after["bert." + k])}
    assert changed and all(k.startswith("encoder.layer.1.") for k in changed)
    import json

    report = json.loads((run / "report.json").read_text())
    assert report["training"]["method"] == "freeze"
    assert 0 < report["training"]["trainable_parameters"] < report["training"]["total_parameters"] / 10


@pytest.mark.parametrize("n_frozen", [1, 2])
def test_cached_prefix_gives_the_full_models_logits(tiny_model, n_frozen):
    tokenizer = load_tokenizer(tiny_model)
    task = TokenClassification(tokenizer, ["O", "B-x", "I-x"], max_length=32, stride=8)
    model = task.build_model(tiny_model, dropout=None).eval()
    sentences = [TaggedSentence(["a", "b", "c"], ["O", "B-x", "O"], "f:1"),
                 TaggedSentence(["longer", "sentence", "with", "more", "words"], ["O"] * 5, "f:2")]
    features = task.encode(sentences)
    wrapped, cached, collate = build_cache(model, n_frozen, features, task.collate)
    batch = collate(cached)
    with torch.inference_mode():
        full = model(**{k: v for k, v in batch.items() if k != "cached_hidden"}).logits
        fast = wrapped(**batch).logits
    mask = batch["attention_mask"].bool()
    assert torch.allclose(full[mask], fast[mask], atol=1e-5)
    assert len(list(wrapped.inner.base_model.encoder.layer)) == 2  # the model is whole again


def test_cached_training_equals_uncached(tmp_path, tiny_model, small_data):
    config = make_config(tmp_path, tiny_model, small_data, epochs=3)
    common = ["method=freeze", "freeze.trainable_layers=1", "model.dropout=0"]
    plain = tuneforge.train(config, [*common, "name=plain"])
    cached = tuneforge.train(config, [*common, "name=cached", "freeze.cache_frozen=true"])
    a = load_file(plain / "model" / "model.safetensors")
    b = load_file(cached / "model" / "model.safetensors")
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-5


def test_too_many_trainable_layers_is_one_line_error(tmp_path, capsys, tiny_model, small_data):
    config = make_config(tmp_path, tiny_model, small_data)
    code = main(["train", str(config), "--set", "method=freeze", "--set", "freeze.trainable_layers=5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "method 'freeze'" in err[0] and "freeze.trainable_layers=5" in err[0] and tiny_model in err[0]
    assert not (tmp_path / "runs").exists()
