"""Streamed generation over HTTP (Server-Sent Events) and ``tuneforge serve --set inference.*``.

A tiny generation run (tiny_llama, two steps) and a tiny intent run are trained once for the module.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_generation import PAIRS, gen_config, write_jsonl
from test_text_data import INTENTS, text_config, write_csv

import tuneforge
from tuneforge.serve.app import create_app
from tuneforge.serve.settings import ServeSettings

TestClient = pytest.importorskip("fastapi.testclient").TestClient


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_llama, tiny_model) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("stream")
    cfg = gen_config(tmp, tiny_llama, {"train": write_jsonl(tmp / "train.jsonl", PAIRS)},
                     task_options={"eval_examples": None}, inference={"decoding": {"max_new_tokens": 8}})
    (tmp / "intent").mkdir()
    intents = write_csv(tmp / "intents.csv", INTENTS * 2)
    return {"gen": tuneforge.train({**cfg, "name": "gen"}),
            "intent": tuneforge.train(text_config(tmp / "intent", tiny_model, train=intents, dev=intents),
                                      [f"output_dir={tmp / 'runs'}", "name=intent"])}


def client(runs, **settings) -> TestClient:
    app = create_app(ServeSettings(runs=[str(runs["gen"]), str(runs["intent"])], **settings))
    return TestClient(app, raise_server_exceptions=False)


def events(response) -> list[tuple[str, dict]]:
    """(event, data) of each Server-Sent Event of a response."""
    found = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        found.append((fields["event"], json.loads(fields["data"])))
    return found


def test_streamed_pieces_join_to_the_whole_prediction(runs):
    with client(runs) as c:
        prompt = "Say the word number 5."
        whole = c.post("/v1/models/gen/predict", json={"inputs": [prompt]})
        assert whole.status_code == 200, whole.text
        expected = whole.json()["predictions"][0]["reply"]
        streamed = c.post("/v1/models/gen/predict", json={"inputs": [{"prompt": prompt}], "stream": True})
        assert streamed.status_code == 200, streamed.text
        assert streamed.headers["content-type"].startswith("text/event-stream")
        got = events(streamed)
        assert got[-1] == ("done", {"model": "gen", "reply": expected})
        pieces = [data["text"] for kind, data in got[:-1]]
        assert all(kind == "piece" for kind, _ in got[:-1])
        assert "".join(pieces) == expected
        assert len(pieces) >= (1 if expected else 0)


def test_pieces_with_odd_whitespace_and_emoji_arrive_in_order_and_join_to_the_reply(runs):
    with client(runs) as c:
        model = c.app.state.registry.models["gen"]
        written = ["\n ", "Hel", "lo ", "\n", "wörld 👋", " ", "\n\n"]

        def fake(item, write):  # the model's part replaced: what the server does with the pieces is tested
            for piece in written:
                write(piece)
            return "".join(written).strip()

        model.run.stream = fake
        got = events(c.post("/v1/models/gen/predict", json={"inputs": ["Hi"], "stream": True}))
        pieces = [data["text"] for kind, data in got if kind == "piece"]
        assert pieces == ["Hel", "lo", " \nwörld 👋"]
        assert got[-1] == ("done", {"model": "gen", "reply": "Hello \nwörld 👋"})


def test_a_failure_after_the_first_piece_ends_the_stream_with_an_error_event(runs):
    from tuneforge.errors import DataError

    with client(runs) as c:
        def failing(item, write):
            write("Partial")
            raise DataError("input 1: something only the task knows")

        c.app.state.registry.models["gen"].run.stream = failing
        got = events(c.post("/v1/models/gen/predict", json={"inputs": ["Hi"], "stream": True}))
        assert got == [("piece", {"text": "Partial"}),
                       ("error", {"error": "input 1: something only the task knows", "status": 422})]


def test_stream_is_refused_with_a_json_4xx_where_it_cannot_stream(runs):
    with client(runs) as c:
        answer = c.post("/v1/models/intent/predict", json={"inputs": ["where is my card"], "stream": True})
        assert answer.status_code == 422 and "does not stream" in answer.json()["error"]
        two = c.post("/v1/models/gen/predict", json={"inputs": ["Hi", "Hello"], "stream": True})
        assert two.status_code == 422 and "exactly one input" in two.json()["error"]
        empty = c.post("/v1/models/gen/predict", json={"inputs": [{"prompt": "  "}], "stream": True})
        assert empty.status_code == 422 and "empty" in empty.json()["error"]  # before any event: a plain 4xx
        assert c.post("/v1/models/gen/predict", json={"inputs": ["Hi"], "stream": "yes"}).status_code == 422
        assert c.get("/healthz").status_code == 200


def test_a_stream_runs_on_the_model_worker_in_turn_with_batches(runs):
    with client(runs) as c:
        model = c.app.state.registry.models["gen"]
        seen = []
        inner = model.run.stream

        def spy(item, write):
            import threading

            seen.append(threading.current_thread().name)
            return inner(item, write)

        model.run.stream = spy
        assert c.post("/v1/models/gen/predict", json={"inputs": ["Hi"], "stream": True}).status_code == 200
        assert seen == ["tuneforge-serve-gen"]


def test_set_changes_how_served_runs_predict_and_only_that(runs, capsys):
    with client(runs, overrides=["inference.decoding.max_new_tokens=2"]) as c:
        assert c.app.state.registry.models["gen"].run.config.inference.decoding.max_new_tokens == 2
        assert c.post("/v1/models/gen/predict", json={"inputs": ["Hi"]}).status_code == 200
    from tuneforge.cli import main

    capsys.readouterr()
    assert main(["serve", str(runs["gen"]), "--set", "training.lr=1"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--set training.lr" in err[0] and "inference." in err[0]
    assert main(["serve", str(runs["gen"]), "--set", "nonsense"]) != 0
    assert "KEY=VALUE" in capsys.readouterr().err


def test_beam_search_streams_its_final_reply_whole(runs, capsys):
    """Beam search chooses its reply at the end: a streamed prediction gets that reply as one piece (#36.19; it
    crashed in predict and in serve)."""
    from tuneforge.cli import main

    beam = ["inference.decoding.strategy=beam", "inference.decoding.num_beams=2"]
    prompt = "Say the word number 5."
    run = tuneforge.load_run(runs["gen"], overrides=beam)
    expected = run.predict([prompt])[0]["reply"]
    pieces: list[str] = []
    assert run.stream(prompt, pieces.append) == expected and "".join(pieces) == expected
    assert main(["predict", str(runs["gen"]), prompt, "--set", beam[0], "--set", beam[1]]) == 0
    assert capsys.readouterr().out == expected + "\n"
    with client(runs, overrides=beam) as c:
        got = events(c.post("/v1/models/gen/predict", json={"inputs": [{"prompt": prompt}], "stream": True}))
        assert got[-1] == ("done", {"model": "gen", "reply": expected})
