"""#36 item 12: two LoRA generation runs on one tied-head causal LM share its backbone and answer as alone.

tiny_llama ties its LM head to the input embeddings, so the adapter files hold no head: the shared view
must tie it to the shared embeddings (it failed with ``missing ['lm_head.weight']``). One run decodes
greedily (the own loop: the view's forward), the other with beam search (``generate`` on the view).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from test_generation import gen_config, write_jsonl

import tuneforge
from tuneforge.serve.app import create_app
from tuneforge.serve.settings import ServeSettings

TestClient = pytest.importorskip("fastapi.testclient").TestClient

PROMPTS = ["Say the word number 3.", "Hi", "Say the word number 5."]
REPLIES = {"greedy": "Number {i} it is.", "beam": "Okay: {i}, {i}, {i}!"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_llama) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("shared-gen")
    out = {}
    for name, reply in REPLIES.items():
        data = write_jsonl(tmp / f"{name}.jsonl", [{"prompt": f"Say the word number {i}.",
                                                    "completion": reply.format(i=i)} for i in range(8)])
        decoding = {"max_new_tokens": 6, **({"strategy": "beam", "num_beams": 2} if name == "beam" else {})}
        out[name] = tuneforge.train(gen_config(tmp, tiny_llama, {"train": data}, method="lora", name=name,
                                               training={"max_steps": 8, "lr": 2e-2},
                                               inference={"decoding": decoding}))
    return out


@pytest.fixture(scope="module")
def alone(runs) -> dict[str, list[dict]]:
    answers = {name: tuneforge.predict(tuneforge.load_run(path), PROMPTS) for name, path in runs.items()}
    assert answers["greedy"] != answers["beam"]  # two different adapters: a mix-up would show
    return answers


def test_two_tied_head_runs_share_one_backbone_and_serve_their_own_answers(runs, alone):
    app = create_app(ServeSettings(runs=[str(runs["greedy"]), str(runs["beam"])]))
    with TestClient(app, raise_server_exceptions=False) as c:
        models = {m["name"]: m for m in c.get("/v1/models").json()["models"]}
        assert models["greedy"]["shared_backbone"] and models["beam"]["shared_backbone"]
        registry = c.app.state.registry
        views = {name: registry.models[name].run.model for name in runs}
        embeddings = views["greedy"].task_model.get_input_embeddings().weight
        assert len(registry.backbones) == 1 and embeddings is views["beam"].task_model.get_input_embeddings().weight
        # The heads are the one shared embedding matrix, as the runs alone tie them: no copy per run.
        assert all(v.task_model.get_output_embeddings().weight is embeddings for v in views.values())

        def ask(name: str) -> list[dict]:
            r = c.post(f"/v1/models/{name}/predict", json={"inputs": PROMPTS})
            assert r.status_code == 200, r.text
            return r.json()["predictions"]

        for _ in range(2):  # switching adapters back and forth changes nothing
            for name in runs:
                assert ask(name) == json.loads(json.dumps(alone[name]))
        with ThreadPoolExecutor(8) as pool:
            names = list(runs) * 4
            answers = list(pool.map(ask, names))
        assert [a for a, name in zip(answers, names, strict=True) if a != alone[name]] == []
        streamed = c.post("/v1/models/beam/predict", json={"inputs": [PROMPTS[0]], "stream": True})
        assert f'"reply": {json.dumps(alone["beam"][0]["reply"])}' in streamed.text


def test_every_decoding_step_sets_its_own_adapter(runs, alone):
    """Another run's call between two steps of a reply (as under concurrent traffic) must not leak into it:
    the greedy loop and ``generate`` (beam search) both go through the view's adapter at every step."""
    from tuneforge.prediction.shared_backbone import SharedBackbone

    shared = SharedBackbone(tuneforge.load_run(runs["greedy"]).config.model.name)
    for name, path in runs.items():
        shared.add(name, path)
    steps, inside = {name: 0 for name in runs}, []
    for name, other in (("greedy", "beam"), ("beam", "greedy")):
        backbone, other_view = shared.views[name].task_model.model, shared.views[other]

        def interleave(module, args, kwargs, name=name, other_view=other_view):
            if inside:  # the interleaved call itself
                return
            steps[name] += 1
            inside.append(True)
            other_view(input_ids=torch.tensor([[1, 2]]))  # a call of the other run: its adapter is left active
            inside.pop()

        backbone.register_forward_pre_hook(interleave, with_kwargs=True)
    for name in runs:
        assert shared.predict(name, PROMPTS) == alone[name]
    assert min(steps.values()) > len(PROMPTS)  # the hooks ran between decoding steps


@pytest.mark.parametrize("tied", [True, False])
def test_a_head_the_adapter_did_not_train_comes_from_the_run(tied):
    """Tied: the view's head is the shared embedding matrix itself. Untied (and not trained by the adapter, so
    absent from its file): the run's own head weights, which are the base model's."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from tuneforge.prediction.shared_backbone import _plain_head

    config = LlamaConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         num_key_value_heads=1, intermediate_size=32, tie_word_embeddings=tied)
    torch.manual_seed(0)
    run_model, shared = LlamaForCausalLM(config), LlamaForCausalLM(config).model
    head = _plain_head(run_model, "model", {}, shared)
    if tied:
        assert head.lm_head.weight is shared.embed_tokens.weight
    else:
        assert torch.equal(head.lm_head.weight, run_model.lm_head.weight)
        assert not torch.equal(head.lm_head.weight, shared.embed_tokens.weight)
