"""#36 items 8, 10, 11, 13-18, 26: the server under abandoned work, slow or malformed connections, reloads,
hostile hosts and races. Models: the assistant's three tiny runs (intent, slots, a generation reply), trained
once for the module. Concurrency is made deterministic with events and barriers, never with sleeps."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import threading
import time

import pytest
from test_assistant import assistant_file, train_assistant_runs

import tuneforge
from tuneforge.engine.stop_signal import Stopped, check_stop, stop_when
from tuneforge.serve.app import create_app
from tuneforge.serve.batching import Closed, MicroBatcher
from tuneforge.serve.errors import ServeError
from tuneforge.serve.jobs import outcome
from tuneforge.serve.settings import ServeSettings

TestClient = pytest.importorskip("fastapi.testclient").TestClient


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model, tiny_llama):
    return train_assistant_runs(tmp_path_factory.mktemp("serve-hardening"), tiny_model, tiny_llama)


def client(**settings) -> TestClient:
    return TestClient(create_app(ServeSettings(**settings)), raise_server_exceptions=False)


# 8: abandoned work stops --------------------------------------------------------------------------------------

def test_a_timed_out_request_stops_its_work_at_the_next_step_and_the_next_request_is_answered():
    steps, first_step = [], threading.Event()

    def decode(items):  # a generation: one check between decoding steps, as engine/generate.py does
        for step in range(10_000):
            check_stop()
            steps.append(step)
            if step == 0:
                first_step.set()
                assert job.abandoned.wait(30), "the request never timed out"
        return [f"reply to {item}" for item in items]

    batcher = MicroBatcher("m", decode, max_wait_s=0)
    settings = ServeSettings(timeout_s=0.2)
    job = batcher.submit(["a"])
    with pytest.raises(ServeError) as timed_out:
        asyncio.run(outcome(job, settings, "m"))
    assert timed_out.value.status == 504
    assert isinstance(job.exception(timeout=30), Stopped)  # the worker gave up on it ...
    assert steps == [0]  # ... at the step after the timeout, not 10,000 steps later
    assert asyncio.run(outcome(batcher.submit(["b"]), ServeSettings(timeout_s=30), "m")) == ["reply to b"]
    batcher.close(wait_s=5)


def test_generation_checks_for_a_stop_between_decoding_steps(runs):
    run = tuneforge.load_run(runs["reply"], overrides=["inference.decoding.max_new_tokens=64"])
    calls = []
    hook = run.model.register_forward_hook(lambda *_: calls.append(1))
    try:
        with stop_when(lambda: len(calls) >= 3), pytest.raises(Stopped):
            run.predict(["hello there"])
    finally:
        hook.remove()
    assert len(calls) == 3  # the prompt and two steps: 61 further steps never ran


# 26: races --------------------------------------------------------------------------------------------------

def test_a_request_enqueued_as_the_model_closes_is_answered_not_lost():
    batcher = MicroBatcher("m", lambda items: items, max_wait_s=0)
    put, closer = batcher._queue.put_nowait, None

    def put_as_the_queue_drains(job):
        nonlocal closer
        if job is None or closer is not None:  # close()'s own wake-up sentinel
            return put(job)
        closer = threading.Thread(target=batcher.close, kwargs={"wait_s": 30})
        closer.start()  # unload: before the fix it drained the queue and the worker stopped before this put
        closer.join(0.5)  # a bound on a wait, not a timing: after the fix close() waits for this put
        put(job)

    batcher._queue.put_nowait = put_as_the_queue_drains
    try:
        future = batcher.submit(["x"])
    except Closed:
        return  # refused at once is also an answer
    closer.join(30)
    failure = future.exception(timeout=10)  # before the fix: never resolved (TimeoutError here)
    assert failure is None or isinstance(failure, Closed)  # answered, or refused as unloaded


def test_readyz_and_model_list_survive_a_load_during_the_scan(runs):
    with client(runs=[f"intent={runs['intent']}"]) as c:
        registry = c.app.state.registry
        model = registry.models["intent"]
        alive = model.batcher.alive

        def alive_while_loading():
            registry.models.setdefault("other", model)  # a load finishing on another thread mid-scan
            return alive()

        model.batcher.alive = alive_while_loading
        answer = c.get("/readyz")
        registry.models.pop("other", None)
        assert answer.status_code == 200, answer.text


# 11, 15: the assistant after a reload, and its metrics ------------------------------------------------------------

def test_the_assistant_follows_a_model_reloaded_by_name_and_is_counted_in_metrics(runs, tmp_path):
    root = runs["intent"].parent
    with client(assistant=assistant_file(tmp_path, runs), root=root) as c:
        assert c.post("/v1/assist", json={"message": "where is my card"}).status_code == 200
        assert c.delete("/v1/models/assistant-intent").status_code == 200
        assert c.get("/readyz").status_code == 503  # the assistant cannot answer without it
        unloaded = c.post("/v1/assist", json={"message": "where is my card"})
        assert unloaded.status_code == 503 and "not loaded" in unloaded.json()["error"]
        load = c.post("/v1/models", json={"name": "assistant-intent", "run": runs["intent"].name})
        assert load.status_code == 201, load.text
        assert c.get("/readyz").status_code == 200
        assert c.post("/v1/assist", json={"message": "where is my card"}).status_code == 200
        assert c.post("/v1/assist", json={"mesage": "typo"}).status_code == 422
        text = c.get("/metrics").text
    assert 'tuneforge_requests_total{model="_assist",status="200"} 2' in text
    assert 'tuneforge_requests_total{model="_assist",status="503"} 1' in text
    assert 'tuneforge_errors_total{model="_assist",kind="unloading"} 1' in text
    assert 'tuneforge_errors_total{model="_assist",kind="bad_request"} 1' in text
    assert 'kind="overloaded"' not in text


def test_a_request_to_a_model_being_unloaded_is_not_counted_as_overload(runs):
    with client(runs=[f"intent={runs['intent']}"]) as c:
        c.app.state.registry.models["intent"].batcher._closing.set()  # unloading: its queue takes nothing new
        answer = c.post("/v1/models/intent/predict", json={"inputs": ["where is my card"]})
        assert answer.status_code == 503
        text = c.get("/metrics").text
    assert 'kind="unloading"' in text and 'kind="overloaded"' not in text


# 13: load errors name the run as the client did -------------------------------------------------------------

def test_a_load_error_shows_the_run_as_given_not_the_servers_path(runs, tmp_path):
    broken = tmp_path / "root" / "broken"
    shutil.copytree(runs["intent"], broken)
    (broken / "config.yaml").write_text("task: [not, a, task]\n")
    with client(root=tmp_path / "root") as c:
        answer = c.post("/v1/models", json={"name": "b", "run": "broken"})
    assert answer.status_code == 422
    assert str(tmp_path) not in answer.text and "broken" in answer.json()["error"]


# 14: generation items as strict as the others -------------------------------------------------------------

@pytest.mark.parametrize(("item", "message"), [
    ({"prompt": "hi", "temperature": 2}, "unknown field 'temperature'"),
    ({"prompt": "hi", "messages": [{"role": "user", "content": "hello"}]}, "not both"),
    ({"messages": [{"role": "system", "content": "be brief"}]}, "must end with a user turn"),
])
def test_generation_items_are_checked_before_they_are_queued(runs, item, message):
    with client(runs=[f"reply={runs['reply']}"]) as c:
        answer = c.post("/v1/models/reply/predict", json={"inputs": [item]})
        calls = c.get("/metrics").text
    assert answer.status_code == 422 and message in answer.json()["error"]
    assert "tuneforge_batch_size_count" not in calls  # refused before any model call


# 16: Host header, docs, keys ---------------------------------------------------------------------------------

def test_only_the_bound_host_names_are_answered_and_docs_need_no_cdn(runs):
    from tuneforge.serve.host_check import default_hosts

    with client(runs=[f"intent={runs['intent']}"], allowed_hosts=default_hosts("127.0.0.1")) as c:
        assert c.get("/healthz", headers={"Host": "localhost:8000"}).status_code == 200
        assert c.get("/healthz", headers={"Host": "[::1]:8000"}).status_code == 200
        rebound = c.delete("/v1/models/intent", headers={"Host": "attacker.example:8000"})
        assert rebound.status_code == 400 and "unknown Host header" in rebound.json()["error"]
        assert "intent" in c.app.state.registry.models
        assert c.get("/docs", headers={"Host": "localhost"}).status_code == 404
        assert c.get("/openapi.json", headers={"Host": "localhost"}).status_code == 200
    assert default_hosts("0.0.0.0") == ["*"]


def test_an_empty_x_api_key_does_not_hide_a_valid_bearer_token(runs):
    with client(runs=[f"intent={runs['intent']}"], api_key="s3cret") as c:
        ok = c.get("/v1/models", headers={"Authorization": "Bearer s3cret", "X-API-Key": ""})
        assert ok.status_code == 200
        assert c.get("/v1/models", headers={"Authorization": "Bearer wrong", "X-API-Key": ""}).status_code == 401


# 17: the chat page cuts slots by code points ----------------------------------------------------------------

@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the page's script")
def test_the_chat_page_highlights_slots_after_an_emoji_where_the_server_put_them():
    from tuneforge.serve.chat_page import PAGE

    script = PAGE.split("<script>")[1].split("async function ask")[0]
    message = "🎉🎉 table at Café Nuñez tonight"
    start = message.index("Café")
    slots = [{"type": "place", "start": start, "end": start + len("Café Nuñez")}]
    dom = """const document = {createElement: (tag) => ({tag, children: [], dataset: {},
      appendChild(c) { this.children.push(c); }, set textContent(t) { this.text = t; }}),
      createTextNode: (t) => ({text: t}), getElementById: () => ({})};"""
    script = script.replace('"use strict";', "")
    run = (f"{dom}\n{script}\nconst out = highlighted({json.dumps(message)}, {json.dumps(slots)});\n"
           "console.log(JSON.stringify(out.children.filter(c => c.tag === 'mark').map(c => c.text)));")
    marked = subprocess.run(["node", "-e", run], capture_output=True, text=True, timeout=60, check=True).stdout
    assert json.loads(marked) == ["Café Nuñez"]


# 10, 18: slow headers and malformed HTTP on a real socket ---------------------------------------------------------

@pytest.fixture
def server(runs):
    import uvicorn

    from tuneforge.serve.http_protocol import protocol_class

    app = create_app(ServeSettings(runs=[f"intent={runs['intent']}"]))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", http=protocol_class(0.5),
                            limit_concurrency=8)
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    for _ in range(3000):
        if instance.started:
            break
        time.sleep(0.01)  # waiting for the server to start; nothing is asserted on the time
    yield port
    instance.should_exit = True
    thread.join(10)


def test_a_connection_that_never_finishes_its_headers_is_closed(server):
    with socket.create_connection(("127.0.0.1", server), timeout=30) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")  # and never the blank line
        assert s.recv(1024) == b""  # closed by the server (the 30 s socket timeout would raise instead)


def test_malformed_http_gets_a_json_400(server):
    with socket.create_connection(("127.0.0.1", server), timeout=30) as s:
        s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
    assert json.loads(body)["error"].startswith("malformed HTTP request")


def test_the_serve_command_sets_uvicorns_limits_and_the_host_check():
    import argparse

    from tuneforge.cli.serve import add_parser, settings_of, uvicorn_options
    from tuneforge.serve.http_protocol import _JsonH11Protocol

    parser = argparse.ArgumentParser()
    add_parser(parser)
    args = parser.parse_args(["--root", "."])
    options = uvicorn_options(args)
    assert issubclass(options["http"], _JsonH11Protocol) and options["http"].read_timeout_s == 10
    assert options["limit_concurrency"] == 512 and options["timeout_keep_alive"] == 5
    assert settings_of(args).allowed_hosts == ["127.0.0.1", "localhost", "::1"]
