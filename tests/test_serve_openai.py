"""#38.1: the OpenAI-compatible API, driven by the official ``openai`` client through the app's TestClient.

One tiny generation run (tiny_llama, two steps) is trained for the module. Its greedy replies are blank, so the
served run samples (``--set inference.decoding.strategy=sample``, seed 1): a seeded reply is the same text on
every path, which the tests compare.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_generation import PAIRS, gen_config, write_jsonl
from test_serve import wait_until

import tuneforge
from tuneforge.serve.app import create_app
from tuneforge.serve.settings import ServeSettings
from tuneforge.tasks import task_spec

openai = pytest.importorskip("openai")
TestClient = pytest.importorskip("fastapi.testclient").TestClient

SAMPLED = ["inference.decoding.strategy=sample", "inference.decoding.seed=1", "inference.decoding.max_new_tokens=16"]
CHAT = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Say the word number 5."}]


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_llama) -> Path:
    tmp = tmp_path_factory.mktemp("openai")
    cfg = gen_config(tmp, tiny_llama, {"train": write_jsonl(tmp / "train.jsonl", PAIRS)},
                     task_options={"eval_examples": 1})
    return tuneforge.train({**cfg, "name": "gen"})


@pytest.fixture(scope="module")
def served(run):
    """A TestClient of the server and an ``openai.OpenAI`` client talking to it."""
    with TestClient(create_app(ServeSettings(runs=[str(run)], overrides=SAMPLED)),
                    raise_server_exceptions=False) as tc:
        yield tc, openai_client(tc)


def openai_client(tc, api_key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url="http://testserver/v1", api_key=api_key, http_client=tc, max_retries=0)


def chat(client, **extra):
    return client.chat.completions.create(model="gen", messages=CHAT, **extra)


def stream_chunks(client, **extra) -> list:
    return list(chat(client, stream=True, **extra))


def error_of(call) -> tuple[int, dict]:
    with pytest.raises(openai.APIStatusError) as caught:
        call()
    return caught.value.status_code, caught.value.body


# answers ------------------------------------------------------------------------------------------------------

def test_a_chat_completion_is_the_runs_own_reply_with_usage(served):
    tc, client = served
    model = tc.app.state.registry.models["gen"]
    answer = chat(client, seed=1)  # the run's seed: the reply /predict gives
    predicted = tc.post("/v1/models/gen/predict", json={"inputs": [{"messages": CHAT}]}).json()["predictions"][0]
    assert answer.object == "chat.completion" and answer.model == "gen" and answer.id.startswith("chatcmpl-")
    choice = answer.choices[0]
    assert choice.message.role == "assistant" and choice.message.content == predicted["reply"] != ""
    prompt = model.run.task.format.prompt_ids(CHAT, "test")[0]  # the chat template, system message included
    assert answer.usage.prompt_tokens == len(prompt)
    assert (choice.finish_reason, answer.usage.completion_tokens) == ("length", 16)  # max_new_tokens reached
    assert answer.usage.total_tokens == len(prompt) + 16
    short = chat(client, seed=1, max_tokens=3)
    assert short.usage.completion_tokens == 3 and choice.message.content.startswith(short.choices[0].message.content)
    other = chat(client, seed=2)
    assert other.choices[0].message.content != choice.message.content  # the seed is the request's


def test_a_streamed_chat_joins_to_the_whole_reply_and_ends_with_usage_and_done(served):
    tc, client = served
    whole = chat(client, seed=1)
    chunks = stream_chunks(client, seed=1, stream_options={"include_usage": True})
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1  # pieces, not one block
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["length"]
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage
    raw = tc.post("/v1/chat/completions", json={"model": "gen", "messages": CHAT, "stream": True, "seed": 1})
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.text.endswith("data: [DONE]\n\n")
    assert all(block.startswith("data: ") for block in raw.text.split("\n\n") if block)


def test_stop_ends_the_reply_before_the_stop_string(served):
    tc, client = served
    whole = chat(client, seed=1).choices[0].message.content
    stop = " " + next(w for w in whole.split()[2:] if w.isascii() and w.isalpha())  # a word inside the reply
    expected = whole[: whole.index(stop)].strip()
    for stops in ([stop], stop):  # a list, or one string
        answer = chat(client, seed=1, stop=stops)
        assert answer.choices[0].message.content == expected
        assert answer.choices[0].finish_reason == "stop" and answer.usage.completion_tokens < 16
    chunks = stream_chunks(client, seed=1, stop=[stop, "never in it"])
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_a_failure_after_the_first_piece_ends_the_stream_with_an_error_the_client_raises(served):
    from tuneforge.errors import DataError

    tc, client = served
    run = tc.app.state.registry.models["gen"].run

    def failing(request, write):
        write("Partial")
        raise DataError("messages: something only the task knows")

    run.stream_completion = failing
    try:
        received = []
        with pytest.raises(openai.APIError) as caught:
            for chunk in chat(client, stream=True):
                received.append(chunk.choices[0].delta.content)
        assert received == ["", "Partial"] and caught.value.message == "messages: something only the task knows"
    finally:
        del run.stream_completion


def test_text_completion_continues_the_prompt_as_given(served):
    import torch

    tc, client = served
    model = tc.app.state.registry.models["gen"].run
    prompt = "Say the word"
    answer = client.completions.create(model="gen", prompt=prompt, max_tokens=5, temperature=0)
    ids = model.tokenizer(prompt)["input_ids"]  # no chat template: the text itself
    with torch.no_grad():
        out = model.model.generate(torch.tensor([ids]), max_new_tokens=5, do_sample=False,
                                   pad_token_id=model.tokenizer.eos_token_id)
    assert answer.object == "text_completion" and answer.choices[0].text == model.tokenizer.decode(out[0, len(ids):])
    assert answer.usage.prompt_tokens == len(ids) and answer.usage.completion_tokens == 5
    two = client.completions.create(model="gen", prompt=[prompt, "Number"], max_tokens=5, temperature=0)
    assert [c.index for c in two.choices] == [0, 1] and two.choices[0].text == answer.choices[0].text
    assert two.usage.prompt_tokens == len(ids) + len(model.tokenizer("Number")["input_ids"])
    streamed = list(client.completions.create(model="gen", prompt=prompt, max_tokens=5, temperature=0, stream=True))
    assert "".join(c.choices[0].text for c in streamed) == answer.choices[0].text
    assert streamed[-1].choices[0].finish_reason == "length"


def test_models_are_listed_in_openai_shape_beside_the_servers_own_list(served):
    tc, client = served
    registry = tc.app.state.registry
    gen = registry.models["gen"]
    registry.models["tagger"] = dataclasses.replace(gen, name="tagger", spec=task_spec("token-classification"))
    try:
        assert [m.id for m in client.models.list().data] == ["gen"]  # only what answers completions
        assert client.models.retrieve("gen").owned_by == "tuneforge"
        schema = tc.get("/openapi.json").json()["paths"]["/v1/chat/completions"]["post"]["requestBody"]
        assert {"model", "messages", "stop"} <= set(schema["content"]["application/json"]["schema"]["properties"])
        listed = tc.get("/v1/models").json()
        assert listed["object"] == "list" and [m["name"] for m in listed["models"]] == ["gen", "tagger"]
        status, body = error_of(lambda: client.chat.completions.create(model="tagger", messages=CHAT))
        assert status == 400 and body["param"] == "model" and "token-classification run" in body["message"]
    finally:
        del registry.models["tagger"]


# errors -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra, status, param, code, words", [
    ({"model": "nope"}, 404, "model", "model_not_found", "does not exist"),
    ({"n": 2}, 400, "n", "unsupported_parameter", "one choice"),
    ({"logprobs": True}, 400, "logprobs", "unsupported_parameter", "log probabilities"),
    ({"tools": [{"type": "function", "function": {"name": "f"}}]}, 400, "tools", "unsupported_parameter", "tools"),
    ({"response_format": {"type": "json_object"}}, 400, "response_format", "unsupported_parameter", "JSON"),
    ({"presence_penalty": 0.5}, 400, "presence_penalty", "unsupported_parameter", "penalty"),
    ({"extra_body": {"guided_json": {}}}, 400, "guided_json", "unrecognized_argument", "Unrecognized"),
    ({"max_tokens": 100_000}, 400, "max_tokens", "invalid_value", "4096"),
    ({"temperature": 2.5}, 400, "temperature", "invalid_value", "less than or equal to 2"),
    ({"stop": ["a", "b", "c", "d", "e"]}, 400, "stop", "invalid_value", "at most 4"),
    ({"stream_options": {"include_usage": True}}, 400, "stream_options", "invalid_value", "stream: true"),
    ({"messages": [{"role": "assistant", "content": "Hi"}]}, 400, "messages", "invalid_value", "must end with a user"),
    ({"messages": [{"role": "user", "content": "word " * 100}]}, 400, "messages", "invalid_value", "max_length (64)"),
    ({"messages": [{"role": "tool", "content": "42", "tool_call_id": "x"}]}, 400, "messages[0].role", "invalid_value",
     "not supported"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}, 400,
     "messages[0].content[0]", "unsupported_parameter", "only text parts"),
])
def test_what_the_run_cannot_honour_is_refused_in_openai_shape(served, extra, status, param, code, words):
    tc, client = served
    kwargs = {"model": "gen", "messages": CHAT, **extra}
    got, body = error_of(lambda: client.chat.completions.create(**kwargs))
    assert got == status and body["param"] == param and body["code"] == code and words in body["message"]
    assert body["type"] == ("not_found_error" if status == 404 else "invalid_request_error")
    assert 'status="500"' not in tc.get("/metrics").text  # never an internal error


def test_other_bad_requests_get_the_openai_shape_too(served):
    tc, client = served
    hostile = [b'{"model": "gen", "messages": [{"role": "user", "content": "\\ud800"}]}',  # a lone surrogate
               b'{"model": "gen", "messages": [{"role": "user", "content": "hi"}], "temperature": NaN}',
               b'{"model": "gen", "messages": [{"role": "user", "content": "hi"}], "seed": 99999999999999999999}',
               b'{"model": "gen", "messages": [{"role": "user", "content": "hi", "tool_calls": [{"id": "x"}]}]}',
               b"[" * 100_000 + b"]" * 100_000]  # deeper than the JSON parser goes
    for response in (*(tc.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
                       for body in hostile),
                     tc.post("/v1/chat/completions", content=b"{not json", headers={"Content-Type": "text/plain"}),
                     tc.post("/v1/completions", json=["a list"]),
                     tc.post("/v1/completions", json={"model": "gen", "prompt": [[1, 2, 3]]}),
                     tc.post("/v1/completions", json={"model": "gen", "prompt": ["a", "b"], "stream": True}),
                     tc.get("/v1/chat/completions")):
        error = response.json()["error"]
        assert response.status_code in (400, 405) and set(error) == {"message", "type", "param", "code"}, response.text
    status, body = error_of(lambda: client.completions.create(model="gen", prompt="word " * 100))
    assert status == 400 and body["param"] == "prompt" and body["message"].startswith("prompt: 101 tokens; ")
    assert tc.post("/v1/models/gen/predict", json={"inputs": []}).json() == {
        "error": "inputs: empty; give at least one input"}  # the server's own paths keep their shape


def test_an_api_key_is_required_when_configured(run):
    app = create_app(ServeSettings(runs=[str(run)], overrides=SAMPLED, api_key="s3cret"))
    with TestClient(app, raise_server_exceptions=False) as tc:
        status, body = error_of(lambda: chat(openai_client(tc, "wrong")))
        assert status == 401 and body["type"] == "authentication_error" and "API key" in body["message"]
        assert chat(openai_client(tc, "s3cret"), max_tokens=2).usage.completion_tokens == 2


# the server's machinery ---------------------------------------------------------------------------------------

def test_limits_queue_and_timeout_apply_with_the_openai_shape(run):
    settings = ServeSettings(runs=[str(run)], overrides=SAMPLED, max_chars=50, max_body_bytes=2000, queue_size=1,
                             max_batch_size=1, timeout_s=30)
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        client = openai_client(tc)
        status, body = error_of(lambda: client.chat.completions.create(
            model="gen", messages=[{"role": "user", "content": "x" * 60}]))
        assert status == 413 and body["param"] == "messages" and body["message"].startswith("messages: ")
        assert body["message"].endswith("characters; at most 50 per input")
        status, body = error_of(lambda: client.completions.create(model="gen", prompt="y" * 3000))
        assert status == 413 and "request body over 2000 bytes" in body["message"]
        model = tc.app.state.registry.models["gen"]
        gate = Held(model.run)
        with ThreadPoolExecutor(2) as pool:
            running = pool.submit(chat, client, max_tokens=2)
            assert gate.entered.wait(30)
            queued = pool.submit(chat, client, max_tokens=2)
            wait_until(lambda: model.batcher.depth() == 1, "queue full")
            refused = tc.post("/v1/chat/completions", json={"model": "gen", "messages": CHAT})
            assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
            assert refused.json()["error"]["code"] == "overloaded"
            gate.opened.set()
            assert running.result().usage.completion_tokens == queued.result().usage.completion_tokens == 2
        metrics = tc.get("/metrics").text
        assert 'tuneforge_errors_total{model="gen",kind="overloaded"} 1' in metrics
        assert 'tuneforge_requests_total{model="gen",status="200"} 2' in metrics


def test_a_request_past_its_timeout_gets_504(run):
    with TestClient(create_app(ServeSettings(runs=[str(run)], overrides=SAMPLED, timeout_s=0.2)),
                    raise_server_exceptions=False) as tc:
        gate = Held(tc.app.state.registry.models["gen"].run)
        try:
            status, body = error_of(lambda: chat(openai_client(tc)))
            assert status == 504 and body["code"] == "timeout" and "no answer within 0.2 s" in body["message"]
        finally:
            gate.opened.set()


def test_concurrent_completions_are_micro_batched_and_each_gets_its_own_reply(served):
    tc, client = served
    model = tc.app.state.registry.models["gen"]
    alone = {seed: chat(client, seed=seed, max_tokens=4).choices[0].message.content for seed in (1, 2)}
    gate = Held(model.run)
    try:
        with ThreadPoolExecutor(6) as pool:
            first = pool.submit(chat, client, max_tokens=2)
            assert gate.entered.wait(30)
            seeds = [1, 2, 1, 2]
            rest = [pool.submit(chat, client, seed=s, max_tokens=4) for s in seeds]
            wait_until(lambda: model.batcher.depth() == len(seeds), "all requests queued")
            gate.opened.set()
            answers = [f.result().choices[0].message.content for f in rest]
        assert first.result().usage.completion_tokens == 2
        assert len(gate.calls) == 2 and len(gate.calls[1]) == 4  # four requests, one model call
        assert answers == [alone[s] for s in seeds]  # decoded in two groups (a seed each), answered in order
    finally:
        del model.run.complete


def test_the_batcher_merges_only_requests_for_the_same_function():
    from tuneforge.serve.batching import MicroBatcher

    calls = []

    def tens(items):
        calls.append(("tens", list(items)))
        return [x * 10 for x in items]

    batcher = MicroBatcher("m", lambda items: calls.append(("own", list(items))) or list(items), max_batch_size=8,
                           max_wait_s=1.0)
    try:
        futures = [batcher.submit([1], tens), batcher.submit([2], tens), batcher.submit([3]), batcher.submit([4]),
                   batcher.submit([5], tens)]
        assert [f.result(30) for f in futures] == [[10], [20], [3], [4], [50]]
    finally:
        batcher.close()
    assert calls == [("tens", [1, 2]), ("own", [3, 4]), ("tens", [5])]  # merged in queue order, per function


class Held:
    """Wraps a run's ``complete``: records each call's requests; holds calls until ``opened``."""

    def __init__(self, run) -> None:
        import threading

        self.inner, self.calls = run.complete, []
        self.entered, self.opened = threading.Event(), threading.Event()
        run.complete = self

    def __call__(self, requests):
        self.calls.append(list(requests))
        self.entered.set()
        assert self.opened.wait(30), "the test never opened the gate"
        return self.inner(requests)

