"""A checked ONNX graph answers in a process that never imports torch: predict's cold start (#19).

The first ``inference.engine=onnx`` load exports the graph and checks it against PyTorch; a later process opens
the checked graph with ONNX Runtime, the run's tokenizer read from tokenizer.json, and numpy pre/post-processing,
and must answer as the PyTorch model does.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import make_config
from test_text_data import INTENTS, text_config, write_csv

import tuneforge
from tuneforge.cli import main

CHILD = """
import json, sys
from tuneforge.runs.directory import load_run
run = load_run(sys.argv[1], overrides=["inference.engine=onnx"])
predictions = run.predict(json.loads(sys.argv[2]))
heavy = sorted(m for m in sys.modules if m == "torch" or m.startswith("transformers.models.bert.modeling"))
print(json.dumps({"heavy": heavy, "engine": type(run.model).__name__, "predictions": predictions}))
"""


def fresh_process_predict(run, items) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(run), json.dumps(items)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def same_up_to_rounding(got, want, score_keys: tuple[str, ...]) -> None:
    """Equal but for the scores, which ONNX Runtime's fused kernels may move in the last digits."""
    if isinstance(want, dict):
        assert got.keys() == want.keys()
        for key in want:
            if key in score_keys:
                assert got[key] == pytest.approx(want[key], abs=2e-3), key
            else:
                same_up_to_rounding(got[key], want[key], score_keys)
    elif isinstance(want, list):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            same_up_to_rounding(g, w, score_keys)
    else:
        assert got == want


def test_ner_run_predicts_from_the_checked_graph_without_torch(tmp_path, tiny_model, small_data, monkeypatch):
    monkeypatch.setenv("TUNEFORGE_CACHE", str(tmp_path / "cache"))
    assert main(["train", str(make_config(tmp_path, tiny_model, small_data, epochs=4, lr=5e-3))]) == 0
    run = tmp_path / "runs" / "t"
    texts = ["Alice met Bob Smith in New York .", "Carol works at Acme", "", "Dave lives in Paris"]
    want = tuneforge.load_run(run).predict(texts)
    assert any(r["entities"] for r in want)  # something to compare beyond empty lists
    # no checked graph yet: the fresh process exports it through PyTorch and checks it (torch imported)
    first = fresh_process_predict(run, texts)
    assert first["engine"] == "OnnxEngine" and "torch" in first["heavy"]
    same_up_to_rounding(first["predictions"], want, ("score",))
    # from now on the checked graph answers alone: no torch, no transformers model code
    later = fresh_process_predict(run, texts)
    assert later["engine"] == "OnnxSession" and later["heavy"] == []
    same_up_to_rounding(later["predictions"], want, ("score",))


def test_intent_run_predicts_from_the_checked_graph_without_torch(tmp_path, tiny_model, monkeypatch):
    monkeypatch.setenv("TUNEFORGE_CACHE", str(tmp_path / "cache"))
    train = write_csv(tmp_path / "train.csv", INTENTS * 4)
    config = text_config(tmp_path, tiny_model, train=train)
    assert main(["train", str(config), "--set", "training.epochs=6", "--set", "training.lr=5e-3"]) == 0
    run = tmp_path / "runs" / "t"
    texts = ["has my card been sent", "add money please", "close it all down"]
    want = tuneforge.load_run(run).predict(texts)
    assert tuneforge.load_run(run, overrides=["inference.engine=onnx"]).predict(texts)  # exports and checks
    later = fresh_process_predict(run, texts)
    assert later["engine"] == "OnnxSession" and later["heavy"] == []
    same_up_to_rounding(later["predictions"], want, ("probability",))


def test_graph_tokenizer_encodes_as_the_runs_own(tiny_model):
    """The tokenizer read from tokenizer.json alone gives the ids, word alignment and segment ids (text pairs) of
    the one transformers' Auto class loads."""
    from transformers import AutoTokenizer

    from tuneforge.engine.onnx.session import graph_tokenizer

    auto = AutoTokenizer.from_pretrained(tiny_model)
    light = graph_tokenizer(tiny_model, ["input_ids", "attention_mask", "token_type_ids"])
    texts = ["Where's my card?!", "naïve café — résumé", "@user #tag http://x.co/a b", "ünïcödé x" * 40]
    pairs = ["first text", "second one", "third", "fourth"]
    kw = {"max_length": 16, "truncation": "only_first", "return_overflowing_tokens": True, "stride": 0}
    assert light(texts, pairs, **kw) == auto(texts, pairs, **kw)
    words = [t.split() for t in texts]
    a = auto(words, is_split_into_words=True, add_special_tokens=False)
    b = light(words, is_split_into_words=True, add_special_tokens=False)
    assert b["input_ids"] == a["input_ids"] and [b.word_ids(i) for i in range(4)] == [a.word_ids(i) for i in range(4)]
    assert (light.pad_token_id, light.unk_token_id) == (auto.pad_token_id, auto.unk_token_id)
    assert light.num_special_tokens_to_add(pair=True) == auto.num_special_tokens_to_add(pair=True)
    # a graph without segment ids gets none from its tokenizer
    assert "token_type_ids" not in graph_tokenizer(tiny_model, ["input_ids", "attention_mask"])("a", "b")
