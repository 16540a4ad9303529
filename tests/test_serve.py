"""The model server: endpoints, micro-batching, overload, run-time loading, hostile input, key, metrics.

Four tiny runs are trained once for the module (NER and intent, each whole and as LoRA on one base). Every
concurrency test is made deterministic with a gate around the model call, never with sleeps or timings.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import SENTENCES, make_config, write_conll
from test_text_data import INTENTS, text_config, write_csv

import tuneforge
from tuneforge.errors import DataError
from tuneforge.serve.app import create_app
from tuneforge.serve.batching import MicroBatcher
from tuneforge.serve.settings import ServeSettings

fastapi_testclient = pytest.importorskip("fastapi.testclient")
TestClient = fastapi_testclient.TestClient

TEXTS = ["Alice lives in Paris .", "where is my card", "Bob Smith works at Acme"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("serve")
    root = tmp / "runs"
    ner_data = {"train": write_conll(tmp / "train.conll", SENTENCES * 2), "dev": write_conll(tmp / "dev.conll",
                                                                                             SENTENCES[:2])}
    (tmp / "ner").mkdir()
    (tmp / "intent").mkdir()
    ner_cfg = make_config(tmp / "ner", tiny_model, ner_data, epochs=1)  # each writes config.yaml in its folder
    intents = write_csv(tmp / "train.csv", INTENTS * 2)
    intent_cfg = text_config(tmp / "intent", tiny_model, train=intents, dev=intents)
    out = f"output_dir={root}"
    return {
        "ner": tuneforge.train(ner_cfg, ["name=ner", out]),
        "ner-lora": tuneforge.train(ner_cfg, ["name=ner-lora", "method=lora", out]),
        "intent": tuneforge.train(intent_cfg, ["name=intent", out, "training.epochs=2"]),
        "intent-lora": tuneforge.train(intent_cfg, ["name=intent-lora", "method=lora", out, "training.epochs=2"]),
    }


def client(runs, names, **settings) -> TestClient:
    app = create_app(ServeSettings(runs=[str(runs[n]) for n in names], **settings))
    return TestClient(app, raise_server_exceptions=False)  # a 500 must show as a response, not pass as an error


class Gate:
    """Wraps a batcher's predict: records each call's items; holds calls while closed."""

    def __init__(self, batcher: MicroBatcher) -> None:
        self.inner, self.calls = batcher.predict, []
        self.entered, self.opened = threading.Event(), threading.Event()
        batcher.predict = self

    def __call__(self, items):
        self.calls.append(list(items))
        self.entered.set()
        assert self.opened.wait(30), "the test never opened the gate"
        return self.inner(items)


def wait_until(condition, what: str) -> None:
    """Poll a state change made by another thread; a bound on the wait, not a timing assertion."""
    done = threading.Event()
    for _ in range(3000):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError(f"never happened: {what}")


def post(c: TestClient, name: str, inputs, **extra):
    return c.post(f"/v1/models/{name}/predict", json={"inputs": inputs, **extra})


# listing and predicting -------------------------------------------------------------------------------

def test_lists_models_and_lora_runs_share_one_backbone(runs):
    c = client(runs, ["ner", "intent", "ner-lora", "intent-lora"])
    models = {m["name"]: m for m in c.get("/v1/models").json()["models"]}
    assert set(models) == {"ner", "intent", "ner-lora", "intent-lora"}
    assert models["ner"]["task"] == "token-classification" and models["intent"]["task"] == "sequence-classification"
    assert models["ner"]["method"] == "full" and models["ner-lora"]["method"] == "lora"
    assert sorted(models["intent"]["labels"]) == sorted({label for _, label in INTENTS})
    assert "B-person" in models["ner"]["labels"]
    assert {m["base_model"] for m in models.values()} == {tuneforge.load_run(runs["ner"]).config.model.name}
    assert {n for n, m in models.items() if m["shared_backbone"]} == {"ner-lora", "intent-lora"}

    registry = c.app.state.registry
    ner, intent = registry.models["ner-lora"], registry.models["intent-lora"]
    assert ner.backbone is intent.backbone and len(registry.backbones) == 1
    assert ner.run.model.task_model.base_model.inner is intent.run.model.task_model.base_model.inner  # one copy


def test_predict_matches_the_python_api(runs):
    c = client(runs, ["ner", "intent"])
    for name in ("ner", "intent"):
        expected = tuneforge.predict(tuneforge.load_run(runs[name]), TEXTS)
        r = post(c, name, [{"text": t} for t in TEXTS])
        assert r.status_code == 200, r.text
        assert r.json() == {"model": name, "predictions": json.loads(json.dumps(expected))}
    assert post(c, "intent", TEXTS).json()["predictions"] == post(c, "intent", [{"text": t} for t in TEXTS]).json()[
        "predictions"]  # bare strings are the same items


def test_shared_adapters_answer_like_their_runs_alone(runs):
    c = client(runs, ["ner-lora", "intent-lora"])
    for _ in range(2):  # switching adapters back and forth changes nothing
        assert post(c, "ner-lora", TEXTS).json()["predictions"] == tuneforge.load_run(runs["ner-lora"]).predict(TEXTS)
        got = post(c, "intent-lora", TEXTS).json()["predictions"]
        alone = tuneforge.load_run(runs["intent-lora"]).predict(TEXTS)
        assert [g["label"] for g in got] == [a["label"] for a in alone]
        assert all(abs(g["probability"] - a["probability"]) < 1e-4 for g, a in zip(got, alone, strict=True))


def test_emoji_and_right_to_left_text_are_predicted(runs):
    c = client(runs, ["ner", "intent"])
    texts = ["🙂🚀 Alice in Paris 🇫🇷", "مرحبا بالعالم", "שלום עולם Bob", "e\u0301\u200d\u200f mixed"]
    for name in ("ner", "intent"):
        r = post(c, name, texts)
        assert r.status_code == 200 and len(r.json()["predictions"]) == len(texts)
    assert post(c, "ner", texts).json()["predictions"] == tuneforge.load_run(runs["ner"]).predict(texts)


# micro-batching ---------------------------------------------------------------------------------------

def test_concurrent_requests_are_merged_and_each_gets_its_own_results(runs):
    c = client(runs, ["ner"], max_batch_size=64)
    batcher = c.app.state.registry.models["ner"].batcher
    gate = Gate(batcher)
    requests = [[TEXTS[i % 3]] * (i % 3 + 1) for i in range(6)]  # 1, 2 or 3 items, different texts
    with ThreadPoolExecutor(7) as pool:
        first = pool.submit(post, c, "ner", ["Carol met Dave"])
        assert gate.entered.wait(30)  # the first batch is in the model; the others queue behind it
        rest = [pool.submit(post, c, "ner", items) for items in requests]
        wait_until(lambda: batcher.depth() == len(requests), "all requests queued")
        gate.opened.set()
        answers = [f.result() for f in rest]
    assert first.result().status_code == 200
    assert len(gate.calls) == 2 and len(gate.calls[1]) == sum(map(len, requests))  # 7 requests, 2 model calls
    alone = {t: p for t, p in zip(TEXTS, tuneforge.load_run(runs["ner"]).predict(TEXTS), strict=True)}
    for items, answer in zip(requests, answers, strict=True):
        assert answer.status_code == 200
        assert answer.json()["predictions"] == [alone[t] for t in items]  # its own results, in its order
    metrics = c.get("/metrics").text
    assert 'tuneforge_batch_size_count{model="ner"} 2' in metrics


def test_a_bad_request_in_a_batch_fails_alone(runs):
    c = client(runs, ["ner"])
    batcher = c.app.state.registry.models["ner"].batcher
    gate = Gate(batcher)
    model_predict = gate.inner

    def picky(items):  # a task rule only the model knows, broken by one request's input
        if any("poison" in t for t in items):
            raise DataError("input 2: poison is not allowed")
        return model_predict(items)

    gate.inner = picky
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(post, c, "ner", ["Alice"])
        assert gate.entered.wait(30)
        good = [pool.submit(post, c, "ner", [t]) for t in TEXTS[:2]]
        bad = pool.submit(post, c, "ner", ["some poison here"])
        wait_until(lambda: batcher.depth() == 3, "three requests queued")
        gate.opened.set()
        assert first.result().status_code == 200
        assert [g.result().status_code for g in good] == [200, 200]
        assert bad.result().status_code == 422 and bad.result().json() == {"error": "input 2: poison is not allowed"}
    assert len(gate.calls[1]) == 3  # they were merged, then retried one by one


def test_full_queue_answers_503_while_health_answers(runs):
    c = client(runs, ["ner"], max_batch_size=1, queue_size=2)
    batcher = c.app.state.registry.models["ner"].batcher
    gate = Gate(batcher)
    with ThreadPoolExecutor(3) as pool:
        running = pool.submit(post, c, "ner", ["Alice"])
        assert gate.entered.wait(30)
        queued = [pool.submit(post, c, "ner", ["Bob"]) for _ in range(2)]
        wait_until(lambda: batcher.depth() == 2, "queue full")
        refused = post(c, "ner", ["Carol"])
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert "overloaded" in refused.json()["error"]
        assert c.get("/healthz").json() == {"status": "ok"}  # the model is busy on its own thread
        metrics = c.get("/metrics").text
        assert 'tuneforge_queue_depth{model="ner"} 2' in metrics
        assert 'tuneforge_errors_total{model="ner",kind="overloaded"} 1' in metrics
        gate.opened.set()
        assert [f.result().status_code for f in [running, *queued]] == [200, 200, 200]


def test_request_past_its_timeout_gets_504(runs):
    c = client(runs, ["ner"], timeout_s=0.2)
    gate = Gate(c.app.state.registry.models["ner"].batcher)
    try:
        r = post(c, "ner", ["Alice"])
        assert r.status_code == 504 and "no answer within 0.2 s" in r.json()["error"]
    finally:
        gate.opened.set()


def test_batcher_splits_results_in_order_and_respects_the_batch_size():
    calls = []
    gate = threading.Event()

    def predict(items):
        calls.append(list(items))
        gate.wait(30)
        return [x * 10 for x in items]

    b = MicroBatcher("m", predict, max_batch_size=4, max_wait_s=0, queue_size=10)
    head = b.submit([0])
    wait_until(lambda: calls, "first call")
    futures = [b.submit(items) for items in ([1, 2], [3], [4, 5], [6])]
    timed_out = b.submit([7])
    timed_out.cancel()  # a request that gave up before its batch ran is never computed
    gate.set()
    assert head.result(30) == [0]
    assert [f.result(30) for f in futures] == [[10, 20], [30], [40, 50], [60]]
    assert calls[1:] == [[1, 2, 3], [4, 5, 6]]  # [4, 5] did not fit beside [1, 2, 3]: it opened the next batch
    b.close(wait_s=5)
    assert not b.alive()


# loading and unloading at run time --------------------------------------------------------------------

def test_load_and_unload_at_run_time(runs):
    root = runs["ner"].parent
    c = client(runs, ["ner-lora", "intent-lora"], root=root)
    before = post(c, "ner-lora", TEXTS).json()["predictions"]
    intent_before = post(c, "intent-lora", TEXTS).json()["predictions"]

    assert c.delete("/v1/models/intent-lora").json() == {"unloaded": "intent-lora"}
    assert post(c, "intent-lora", TEXTS).status_code == 404
    assert post(c, "ner-lora", TEXTS).json()["predictions"] == before  # its adapter stayed on the backbone

    r = c.post("/v1/models", json={"name": "intent-lora", "run": "intent-lora"})
    assert r.status_code == 201 and r.json()["shared_backbone"] is True  # back onto the backbone still loaded
    assert post(c, "intent-lora", TEXTS).json()["predictions"] == intent_before

    r = c.post("/v1/models", json={"name": "tagger", "run": str(runs["ner"])})  # absolute, inside the root
    assert r.status_code == 201 and r.json()["task"] == "token-classification" and not r.json()["shared_backbone"]
    assert post(c, "tagger", TEXTS).json()["predictions"] == tuneforge.load_run(runs["ner"]).predict(TEXTS)
    assert c.post("/v1/models", json={"name": "tagger", "run": "ner"}).status_code == 409
    assert c.delete("/v1/models/tagger").status_code == 200
    assert c.delete("/v1/models/tagger").status_code == 404
    assert c.get("/readyz").status_code == 200


@pytest.mark.parametrize("run, status", [("../outside", 403), ("ner/../../outside", 403), ("/etc", 403),
                                         ("escape", 403), ("missing", 404), ("not-a-run", 422), ("", 422)])
def test_run_time_loading_stays_under_the_root(runs, tmp_path, run, status):
    root = tmp_path / "root"
    (root / "not-a-run").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (root / "escape").symlink_to(runs["ner"])  # a link to a real run outside the root
    c = TestClient(create_app(ServeSettings(root=root)), raise_server_exceptions=False)
    assert c.get("/readyz").status_code == 503  # nothing loaded yet
    r = c.post("/v1/models", json={"name": "x", "run": run})
    assert r.status_code == status and isinstance(r.json()["error"], str)
    assert c.get("/v1/models").json() == {"object": "list", "data": [], "models": []}


def test_run_time_loading_is_off_without_root_and_names_are_checked(runs):
    c = client(runs, ["ner"])
    assert c.post("/v1/models", json={"name": "x", "run": "ner"}).status_code == 403
    c = TestClient(create_app(ServeSettings(root=runs["ner"].parent)), raise_server_exceptions=False)
    for name in ("a/b", "../x", "", "x" * 65, "naïve"):
        r = c.post("/v1/models", json={"name": name, "run": "ner"})
        assert 400 <= r.status_code < 500 and r.json()["error"], name


# hostile input ----------------------------------------------------------------------------------------

HOSTILE = [
    (b'{"inputs": [', 400, "not valid JSON"),
    (b'{"inputs": ["caf\xe9"]}', 400, "not valid JSON"),  # Latin-1, not UTF-8
    (b"null", 422, "body"),
    (b"[]", 422, "body"),
    (b"{}", 422, "inputs"),
    (b'{"inputs": "Alice"}', 422, "inputs"),
    (b'{"inputs": []}', 422, "inputs: empty"),
    (b'{"inputs": [5]}', 422, "inputs[0]"),
    (b'{"inputs": [null]}', 422, "inputs[0]"),
    (b'{"inputs": [""]}', 422, "inputs[0].text: empty"),
    (b'{"inputs": ["  \\n\\t "]}', 422, "inputs[0].text: empty"),
    (b'{"inputs": [{"text": 5}]}', 422, "inputs[0].text: expected a string"),
    (b'{"inputs": [{"text": {"a": "b"}}]}', 422, "inputs[0].text: expected a string"),
    (b'{"inputs": [{"txt": "Alice"}]}', 422, "unknown field 'txt'"),
    (b'{"inputs": ["ok", {"question": "q", "context": "c"}]}', 422, "inputs[1]: unknown field 'question'"),
    (b'{"inputs": ["\\ud800"]}', 422, "lone surrogate"),
    (b'{"inputs": ["Alice"], "input": 1}', 422, "input"),
    (b'{"inputs": ["Alice"], "stream": "yes"}', 422, "stream"),
    (b'{"inputs": ["a", "b", "c", "d", "e"]}', 413, "at most 4"),
    (b'{"inputs": ["' + b"x" * 101 + b'"]}', 413, "at most 100"),
    (b'{"inputs": [' + b"[" * 200 + b"]" * 200 + b"]}", 422, "inputs[0]"),
]


@pytest.fixture(scope="module")
def strict_client(runs):
    return client(runs, ["ner", "intent"], max_items=4, max_chars=100, max_body_bytes=2000)


@pytest.mark.parametrize("body, status, message", HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_hostile_bodies_get_a_json_4xx(strict_client, body, status, message):
    r = strict_client.post("/v1/models/ner/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert message in error and "\n" not in error and len(error) <= 500


def test_oversized_and_odd_requests_get_a_json_4xx(strict_client):
    c = strict_client
    big = json.dumps({"inputs": ["x" * 5000]}).encode()
    r = c.post("/v1/models/ner/predict", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "over 2000 bytes" in r.json()["error"]

    def chunks():  # no Content-Length: the limit holds while reading
        for _ in range(10):
            yield b" " * 500
    r = c.post("/v1/models/ner/predict", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]

    r = c.post("/v1/models/nope/predict", json={"inputs": ["Alice"]})
    assert r.status_code == 404 and "no model named 'nope'" in r.json()["error"]
    assert c.get("/v1/models/ner/predict").status_code == 405 and c.get("/v1/models/ner/predict").json()["error"]
    assert c.get("/no/such/path").json() == {"error": "Not Found"}
    r = c.post("/v1/models/ner/predict", content=b"inputs=Alice", headers={"content-type": "text/plain"})
    assert 400 <= r.status_code < 500 and r.json()["error"]
    r = c.post("/v1/models/ner/predict", json={"inputs": [{"text": "Is it?", "text_pair": "Yes."}]})
    assert r.status_code == 422 and "text_pair" in r.json()["error"]  # no pairs for a tagger
    r = c.post("/v1/models/intent/predict", json={"inputs": [{"text": "Is it?", "text_pair": 3}]})
    assert r.status_code == 422 and "inputs[0].text_pair" in r.json()["error"]
    r = c.post("/v1/models/intent/predict", json={"inputs": ["Alice", {"text": "Is it?", "text_pair": "Yes."}]})
    assert r.status_code == 422 and r.json() == {"error": "input 2: this run classifies single texts; it was not "
                                                          "trained on text pairs (drop text_pair)"}  # the task's rule


# key, CORS, metrics, command --------------------------------------------------------------------------

def test_api_key_is_required_when_set(runs):
    c = client(runs, ["ner"], api_key="s3cret")
    assert c.get("/healthz").status_code == 200 and c.get("/readyz").status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "s3cre"}, {"Authorization": "s3cret"}):
        r = c.post("/v1/models/ner/predict", json={"inputs": ["Alice"]}, headers=headers)
        assert r.status_code == 401 and "API key" in r.json()["error"]
    assert c.get("/v1/models").status_code == 401 and c.get("/metrics").status_code == 401
    for headers in ({"Authorization": "Bearer s3cret"}, {"X-API-Key": "s3cret"}):
        assert c.post("/v1/models/ner/predict", json={"inputs": ["Alice"]}, headers=headers).status_code == 200


def test_cors_only_for_the_given_origins(runs):
    origin = {"Origin": "https://app.example"}
    c = client(runs, ["ner"])
    assert "access-control-allow-origin" not in c.get("/v1/models", headers=origin).headers
    c = client(runs, ["ner"], cors_origins=["https://app.example"])
    assert c.get("/v1/models", headers=origin).headers["access-control-allow-origin"] == "https://app.example"
    other = c.get("/v1/models", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_metrics_count_requests_by_model_and_status(runs):
    c = client(runs, ["ner"])
    post(c, "ner", ["Alice"])
    post(c, "ner", ["Bob", "Carol"])
    post(c, "ner", [""])
    post(c, "ghost", ["Alice"])
    c.post("/v1/models/ner/predict", content=b"{", headers={"content-type": "application/json"})
    text = c.get("/metrics").text
    assert 'tuneforge_requests_total{model="ner",status="200"} 2' in text
    assert 'tuneforge_requests_total{model="ner",status="422"} 1' in text
    assert 'tuneforge_requests_total{model="ner",status="400"} 1' in text
    assert 'tuneforge_requests_total{model="_unknown",status="404"} 1' in text  # no label per invented name
    assert 'tuneforge_errors_total{model="ner",kind="bad_request"} 2' in text
    assert 'tuneforge_request_seconds_count{model="ner"} 4' in text
    assert 'tuneforge_batch_size_bucket{model="ner",le="2"} 2' in text and "# TYPE tuneforge_queue_depth gauge" in text
    assert c.get("/openapi.json").json()["paths"]["/v1/models/{name}/predict"]["post"]


def test_serve_command_refuses_bad_options_in_one_line(runs, capsys, tmp_path):
    from tuneforge.cli import main

    assert main(["serve"]) == 2 and "nothing to serve" in capsys.readouterr().err
    assert main(["serve", str(runs["ner"]), "--max-batch-size", "0"]) == 2
    assert "--max-batch-size must be at least 1" in capsys.readouterr().err
    assert main(["serve", str(tmp_path)]) == 2 and "not a tuneforge run directory" in capsys.readouterr().err
    assert main(["serve", f"bad name={runs['ner']}"]) == 2 and "model name 'bad name'" in capsys.readouterr().err
