"""#36 item 1: two LoRA runs on one shared backbone answer under concurrent traffic exactly as each run alone.

Deterministic without sleeps: a barrier holds every thread after it has entered inference (past any mode
switch it might make) and before its first batch, so all 32 predictions overlap every time.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from conftest import make_config
from test_text_data import INTENTS, text_config, write_csv

import tuneforge
from tuneforge.engine import inference

TEXTS = ["Alice lives in Paris .", "where is my card", "Bob Smith works at Acme", "please delete my account"]
THREADS = 32


def _same(got, alone) -> bool:
    if "label" not in alone[0]:
        return got == alone
    return all(g["label"] == a["label"] and abs(g["probability"] - a["probability"]) < 1e-5
               for g, a in zip(got, alone, strict=True))


def test_two_adapters_under_32_threads_answer_as_alone(tmp_path, tiny_model, small_data, monkeypatch):
    from tuneforge.prediction.shared_backbone import SharedBackbone

    ner_dir = tuneforge.train(make_config(tmp_path, tiny_model, small_data, epochs=1), ["method=lora"])
    train = write_csv(tmp_path / "train.csv", INTENTS * 3)
    intent_dir = tuneforge.train(text_config(tmp_path / "", tiny_model, train=train, dev=train),
                                 ["method=lora", "name=intent"])
    alone = {"ner": tuneforge.load_run(ner_dir).predict(TEXTS), "intent": tuneforge.load_run(intent_dir).predict(TEXTS)}
    shared = SharedBackbone(tiny_model)
    shared.add("ner", ner_dir)
    shared.add("intent", intent_dir)

    barrier, seen = threading.Barrier(THREADS, timeout=60), threading.local()
    batches = inference.eval_batches

    def held_batches(*args, **kwargs):
        if not getattr(seen, "waited", False):  # once per thread: every prediction is inside inference now
            seen.waited = True
            barrier.wait()
        yield from batches(*args, **kwargs)

    monkeypatch.setattr(inference, "eval_batches", held_batches)
    names = ["ner", "intent"] * (THREADS // 2)
    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(lambda name: (name, shared.predict(name, TEXTS)), names))
    wrong = [name for name, got in answers if not _same(got, alone[name])]
    assert not wrong, f"{len(wrong)} of {THREADS} concurrent answers differ from the run alone"
    assert not any(m.training for m in shared.backbone.modules())  # nobody switched the shared dropout on
