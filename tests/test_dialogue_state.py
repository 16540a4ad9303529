"""Dialogue state tracking: training targets, one pass per (turn, service), predict on any dialogues and schema,
the served assistant's state, and bad input named in one line."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from conftest import DATASETS

import tuneforge
from tuneforge.cli import main
from tuneforge.models import load_tokenizer
from tuneforge.tasks.dialogue_state.dialogues import read_dialogues
from tuneforge.tasks.dialogue_state.encoding import ACTIVE, CARRIED, DONTCARE, UNCHANGED
from tuneforge.tasks.dialogue_state.schema import read_schemas

SGD = DATASETS / "sgd"
SCHEMAS = [str(SGD / "train_schema.json"), str(SGD / "dev_schema.json")]

# Two made-up services: a restaurant search and a hotel search, which no training data has.
RESTAURANTS = {"service_name": "Dining_9", "description": "Find and book restaurants", "slots": [
    {"name": "city", "description": "City of the restaurant", "is_categorical": False, "possible_values": []},
    {"name": "restaurant_name", "description": "Name of the restaurant", "is_categorical": False,
     "possible_values": []},
    {"name": "party_size", "description": "Number of people", "is_categorical": True,
     "possible_values": ["1", "2", "3"]},
    {"name": "price_range", "description": "How expensive", "is_categorical": True,
     "possible_values": ["cheap", "moderate", "pricey"]}],
    "intents": [{"name": "FindPlace", "description": "Find a restaurant", "is_transactional": False,
                 "required_slots": ["city"], "optional_slots": {}, "result_slots": ["restaurant_name"]}]}
HOTELS = {"service_name": "Lodging_9", "description": "Find hotels", "slots": [
    {"name": "location", "description": "City of the hotel", "is_categorical": False, "possible_values": []}],
    "intents": [{"name": "FindHotel", "description": "Find a hotel", "is_transactional": False,
                 "required_slots": ["location"], "optional_slots": {}, "result_slots": []}]}


def user(text: str, *frames: dict) -> dict:
    return {"speaker": "user", "text": text, "frames": list(frames)}


def frame(service: str, intent: str, values: dict, spans=(), requested=()) -> dict:
    return {"service": service, "intent": intent, "requested_slots": list(requested), "slot_values": values,
            "slots": [{"slot": s, "start": a, "end": b} for s, a, b in spans], "acts": []}


DIALOGUE = {"id": "made-up-1", "services": ["Dining_9", "Lodging_9"], "turns": [
    user("Find a table in San Jose for 2 please.",
         frame("Dining_9", "FindPlace", {"city": ["San Jose"], "party_size": ["2"]}, [("city", 16, 24)])),
    {"speaker": "system", "text": "How about Sino? It is in San Jose.", "frames": [
        {"service": "Dining_9", "slots": [{"slot": "restaurant_name", "start": 10, "end": 14}],
         "acts": [{"act": "OFFER", "slot": "restaurant_name", "values": ["Sino"]}]}]},
    user("Sounds good, any price is fine.",
         frame("Dining_9", "FindPlace", {"city": ["San Jose"], "party_size": ["2"], "restaurant_name": ["Sino"],
                                         "price_range": ["dontcare"]}, requested=["price_range"])),
    {"speaker": "system", "text": "Anything else?", "frames": []},
    user("I also need a hotel there.",
         frame("Lodging_9", "FindHotel", {"location": ["San Jose"]})),
]}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_schema(path: Path, services: list[dict]) -> Path:
    path.write_text(json.dumps(services), encoding="utf-8")
    return path


def sgd_dialogues(split: str, count: int, stride: int) -> list[dict]:
    lines = (SGD / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[::stride][:count]]


def stripped(record: dict) -> dict:
    """What predict reads: speakers, texts and the user frames' services; every annotation gone."""
    return {"id": record["id"], "turns": [
        {"speaker": t["speaker"], "text": t["text"],
         **({"frames": [{"service": f["service"]} for f in t["frames"]]} if t["speaker"] == "user" else {})}
        for t in record["turns"]]}


@pytest.fixture(scope="module")
def tracker_task(tmp_path_factory, tiny_model):
    from tuneforge.config.loading import load_config
    from tuneforge.tasks import task_class

    folder = tmp_path_factory.mktemp("dst-task")
    schema = write_schema(folder / "schema.json", [RESTAURANTS, HOTELS])
    data = write_jsonl(folder / "made-up.jsonl", [DIALOGUE])
    cfg = load_config({"task": "dialogue-state", "model": {"name": tiny_model, "max_length": 256},
                       "data": {"train": str(data)}, "task_options": {"schema_files": [str(schema)]}})
    Task = task_class(cfg.task)
    splits = Task.load_splits(cfg)
    return Task.for_training(load_tokenizer(tiny_model), cfg, splits), splits["train"].examples


def test_targets_come_from_consecutive_gold_states(tracker_task):
    task, dialogues = tracker_task
    features = task.encode(dialogues)
    assert [f.key[1:] for f in features] == [(0, "Dining_9"), (2, "Dining_9"), (4, "Lodging_9")]  # one per frame
    first, second, third = features
    slots = [s.name for s in task.schemas["Dining_9"].slots]  # city, restaurant_name, party_size, price_range

    def text(feature, k):
        start, end = feature.targets["start"][k], feature.targets["end"][k]
        turn = feature.token_turn[start]
        return dialogues[0].turns[turn].text[feature.token_offsets[start][0]:feature.token_offsets[end][1]]

    assert first.targets["status"] == [ACTIVE, UNCHANGED, ACTIVE, UNCHANGED]
    assert text(first, slots.index("city")) == "San Jose"  # the user's span
    assert first.targets["value"][slots.index("party_size")] == 1  # "2" among ["1", "2", "3"]
    assert first.targets["intent"] == [1]  # NONE is 0
    # "Sounds good": the restaurant the system offered, a span of the system turn; any price: dontcare
    assert second.targets["status"] == [UNCHANGED, ACTIVE, UNCHANGED, DONTCARE]
    assert text(second, slots.index("restaurant_name")) == "Sino"
    assert second.targets["requested"] == [0, 0, 0, 1]
    # the hotel's location is the restaurant search's city, said two turns earlier: carried over
    assert third.targets["status"] == [CARRIED]
    assert third.targets["start"] == [-100]


def test_schema_elements_are_markers_read_in_one_pass(tracker_task):
    task, dialogues = tracker_task
    feature = task.encode(dialogues, with_labels=False)[0]
    tokenizer = task.tokenizer
    assert [tokenizer.convert_ids_to_tokens(int(feature.input_ids[i])) for i in feature.slot_at] == ["[unused2]"] * 4
    assert [len(v) for v in feature.value_at] == [0, 0, 3, 3]
    assert not feature.span_ok[: feature.slot_at[-1] + 1].any()  # no value is read from the schema itself
    assert feature.token_type_ids[feature.span_ok].tolist() == [1] * int(feature.span_ok.sum())


def test_a_turn_without_the_system_turn_reads_the_user_turn_alone(tracker_task, tiny_model):
    from tuneforge.tasks.dialogue_state.task import DialogueState

    task, dialogues = tracker_task
    options = task.cfg.task_options.model_copy(update={"system_turn": False})
    alone = DialogueState(task.tokenizer, task.cfg.model_copy(update={"task_options": options}), task.schemas, [])
    feature = alone.encode(dialogues, with_labels=False)[1]
    assert set(feature.token_turn[feature.token_turn >= 0].tolist()) == {2}


def test_incremental_tracking_equals_tracking_the_whole_dialogue(tracker_task, tiny_model):
    task, dialogues = tracker_task
    model = task.build_model(tiny_model, None).eval()
    whole = task.track(model, dialogues)[0]
    record = stripped(DIALOGUE)
    state: dict = {}
    for t, turn in enumerate(record["turns"]):
        if turn["speaker"] != "user":
            continue
        [step] = task.predict_texts(model, [{**record, "turns": record["turns"][: t + 1], "track_from": t,
                                            "state": state}])
        assert step["turns"][t]["frames"] == whole["turns"][t]["frames"]
        state = {**state, **{f["service"]: f for f in step["turns"][t]["frames"]}}


@pytest.fixture(scope="module")
def dst_run(tmp_path_factory, tiny_model) -> Path:
    folder = tmp_path_factory.mktemp("dst-run")
    train = write_jsonl(folder / "train.jsonl", sgd_dialogues("train", 12, 997))
    dev = write_jsonl(folder / "dev.jsonl", sgd_dialogues("dev", 4, 509))
    return tuneforge.train({"name": "dst", "task": "dialogue-state", "output_dir": str(folder / "runs"),
                            "model": {"name": tiny_model, "max_length": 384},
                            "data": {"train": str(train), "dev": str(dev)},
                            "task_options": {"schema_files": SCHEMAS},
                            "training": {"epochs": 1, "batch_size": 8, "lr": 1e-3}})


def test_a_run_reports_the_official_metrics_for_seen_and_unseen_services(dst_run):
    report = json.loads((dst_run / "report.json").read_text())
    dev = report["dev"]
    assert {"joint_goal_accuracy", "average_goal_accuracy", "active_intent_accuracy", "requested_slots_f1"} <= set(dev)
    assert "joint_goal_accuracy_unseen" in dev or "joint_goal_accuracy_seen" in dev
    assert dev["dialogues"] == 4 and report["seen_services"]
    assert (dst_run / "model" / "schema.json").is_file()


def test_predict_ignores_gold_states_acts_and_spans(dst_run, tmp_path, capsys):
    records = sgd_dialogues("dev", 3, 700)
    full = write_jsonl(tmp_path / "full.jsonl", records)
    bare = write_jsonl(tmp_path / "bare.jsonl", [stripped(r) for r in records])
    assert main(["predict", str(dst_run), "--input", str(full), "--output", str(tmp_path / "a.jsonl")]) == 0
    assert main(["predict", str(dst_run), "--input", str(bare), "--output", str(tmp_path / "b.jsonl")]) == 0
    out = (tmp_path / "a.jsonl").read_text()
    assert out == (tmp_path / "b.jsonl").read_text()
    schemas = read_schemas(*SCHEMAS)
    for record, predicted in zip(records, map(json.loads, out.splitlines()), strict=True):
        assert predicted["id"] == record["id"] and len(predicted["turns"]) == len(record["turns"])
        for turn, gold in zip(predicted["turns"], record["turns"], strict=True):
            assert turn["text"] == gold["text"]
            if turn["speaker"] == "user":
                assert [f["service"] for f in turn["frames"]] == [f["service"] for f in gold["frames"]]
                for f in turn["frames"]:
                    assert set(f["slot_values"]) <= set(schemas[f["service"]].slot_by_name)
                    assert f["intent"] == "NONE" or f["intent"] in schemas[f["service"]].intent_names


def test_a_service_never_trained_on_is_tracked_from_its_schema(dst_run, tmp_path, capsys):
    schema = write_schema(tmp_path / "new.json", [RESTAURANTS, HOTELS])
    dialogues = write_jsonl(tmp_path / "new.jsonl", [stripped(DIALOGUE)])
    out = tmp_path / "out.jsonl"
    assert main(["predict", str(dst_run), "--input", str(dialogues), "--output", str(out)]) == 2
    assert f"{dialogues}:1: dialogue made-up-1" in capsys.readouterr().err and not out.exists()
    assert main(["predict", str(dst_run), "--input", str(dialogues), "--schema", str(schema),
                 "--output", str(out)]) == 0
    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    hotel = record["turns"][4]["frames"][0]
    assert hotel["service"] == "Lodging_9" and set(hotel["slot_values"]) <= {"location"}
    assert main(["evaluate", str(dst_run), "--data", str(write_jsonl(tmp_path / "gold.jsonl", [DIALOGUE])),
                 "--schema", str(schema), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert "joint_goal_accuracy_unseen" in scores and "joint_goal_accuracy_seen" not in scores


def _bad(tmp_path: Path, change) -> Path:
    record = copy.deepcopy(DIALOGUE)
    change(record)
    return write_jsonl(tmp_path / "bad.jsonl", [record])


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r["turns"][0]["frames"][0]["slot_values"].update(cuisine=["Thai"]),
     "dialogue made-up-1, turn 0, service Dining_9: slot_values names slot 'cuisine'"),
    (lambda r: r["turns"][0]["frames"][0]["slot_values"].update(party_size=["12"]),
     "dialogue made-up-1, turn 0, service Dining_9: value '12' of categorical slot 'party_size' is not one of its"),
], ids=["slot-the-schema-lacks", "categorical-value-outside-possible-values"])
def test_a_bad_gold_state_is_one_line_naming_file_and_record(dst_run, tmp_path, capsys, change, message):
    schema = write_schema(tmp_path / "new.json", [RESTAURANTS, HOTELS])
    data = _bad(tmp_path, change)
    predictions = tmp_path / "predictions.jsonl"
    code = main(["evaluate", str(dst_run), "--data", str(data), "--schema", str(schema),
                 "--predictions", str(predictions)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith(f"error: {data}:1: ")
    assert message in err[0] and not predictions.exists()


def test_a_frame_for_a_service_the_schema_lacks_is_one_line(dst_run, tmp_path, capsys):
    data = write_jsonl(tmp_path / "in.jsonl", [stripped(DIALOGUE)])
    out = tmp_path / "out.jsonl"
    assert main(["predict", str(dst_run), "--input", str(data), "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "service Dining_9: not in the schema" in err[0] and f"{data}:1" in err[0]
    assert not out.exists() and not list(tmp_path.glob(".out.jsonl*"))


def test_a_schema_file_with_a_duplicate_slot_is_one_line(dst_run, tmp_path, capsys):
    twice = copy.deepcopy(RESTAURANTS)
    twice["slots"].append(dict(twice["slots"][0]))
    schema = write_schema(tmp_path / "dup.json", [twice])
    data = write_jsonl(tmp_path / "in.jsonl", [stripped(DIALOGUE)])
    out = tmp_path / "out.jsonl"
    assert main(["predict", str(dst_run), "--input", str(data), "--schema", str(schema), "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{schema}: service 0 ('Dining_9'): duplicate slot 'city'" in err[0]
    assert not out.exists()


def test_the_served_assistant_tracks_a_new_service_over_three_turns(dst_run, tmp_path, tiny_model, tiny_llama):
    from test_assistant import Recorder, assist, train_assistant_runs

    from tuneforge.serve.app import create_app
    from tuneforge.serve.settings import ServeSettings

    TestClient = pytest.importorskip("fastapi.testclient").TestClient
    runs = {**train_assistant_runs(tmp_path, tiny_model, tiny_llama), "state": dst_run}
    schema = write_schema(tmp_path / "new.json", [HOTELS])
    config = tmp_path / "assistant.yaml"
    config.write_text(yaml.safe_dump({"runs": {k: str(v) for k, v in runs.items()}}), encoding="utf-8")
    app = create_app(ServeSettings(assistant=config, schema_files=[schema]))
    messages = ["I need a hotel in Paris.", "For two nights please.", "Actually make it London."]
    with TestClient(app, raise_server_exceptions=False) as c:
        tracked, replies = Recorder(c.app, "assistant-state"), Recorder(c.app, "assistant-reply")
        cid, answers = None, []
        for message in messages:
            answer = assist(c, message, cid)
            assert answer.status_code == 200, answer.text
            answers.append(answer.json())
            cid = answers[-1]["conversation_id"]
        page = c.get("/").text
    for n, answer in enumerate(answers):
        assert set(answer["state"]) == {"Lodging_9"}  # the services of --schema: tracked from their schema alone
        assert set(answer["state"]["Lodging_9"]["slot_values"]) <= {"location"}
        sent = tracked.items[n]
        assert sent["track_from"] == len(sent["turns"]) - 1 and sent["turns"][-1]["text"] == messages[n]
        assert sent["state"] == (answers[n - 1]["state"] if n else {})  # each message starts from the last state
        assert replies.items[n]["prompt"].splitlines()[-1].startswith("State: ")
    # the served states are the offline tracker's on the same conversation
    run = tuneforge.load_run(dst_run, overrides=[f"task_options.schema_files={json.dumps([str(schema)])}"])
    turns = []
    for message, answer in zip(messages, answers, strict=True):
        turns.append({"speaker": "user", "text": message, "frames": [{"service": "Lodging_9"}]})
        if answer["reply"].strip():
            turns.append({"speaker": "system", "text": answer["reply"], "frames": []})
    [offline] = run.predict([{"id": "c", "turns": turns}])
    assert [t["frames"][0] for t in offline["turns"] if t["speaker"] == "user"] == [
        {"service": "Lodging_9", **a["state"]["Lodging_9"]} for a in answers]
    assert 'id="state"' in page and "showState(data.state)" in page


def test_assist_refuses_schema_files_without_a_state_run(tmp_path):
    from tuneforge.assistant.config import load_assistant_config
    from tuneforge.errors import ConfigError

    for role in ("intent", "slots", "reply"):
        (tmp_path / role).mkdir()
    config = tmp_path / "assistant.yaml"
    config.write_text(yaml.safe_dump({"runs": {r: r for r in ("intent", "slots", "reply")},
                                      "schema_files": ["x.json"]}), encoding="utf-8")
    with pytest.raises(ConfigError, match="schema_files, services and backend need the tracked state: add runs.state"):
        load_assistant_config(config)


def test_real_sgd_reads_with_its_schemas():
    dialogues = read_dialogues(SGD / "dev.jsonl", read_schemas(*SCHEMAS), labelled=True)
    assert len(dialogues) == 2098


def test_calibration_picks_the_smallest_status_bias_with_the_best_joint_goal_accuracy(tracker_task, monkeypatch):
    task, dialogues = tracker_task
    gold = task.gold_record(dialogues[0])
    empty = {**gold, "turns": [{**t, "frames": [{**f, "slot_values": {}} for f in t["frames"]]}
                               for t in gold["turns"]]}
    tried = []

    def accumulate(dialogues, by_key, starts, similarity, bias):
        tried.append(bias)
        return [gold if bias >= 1.5 else empty]  # from 1.5 on, every changed slot is called changed

    monkeypatch.setattr(task, "_accumulate", accumulate)
    task._tune_bias(dialogues, {}, None)
    assert task.status_bias == 1.5 and tried == [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0]
    assert task.summary()["status_bias"] == 1.5


@pytest.mark.parametrize(("extra", "message"), [
    ({"track_from": 99}, "input 1: 'track_from' must be a turn index (0 to 5)"),
    ({"state": ["Dining_9"]}, "input 1: 'state' must map each service to its state"),
    ({"state": {"Dining_9": {"slot_values": {"cuisine": ["Thai"]}}}},
     "input 1: state of service Dining_9: slot 'cuisine' is not a slot of the service"),
    ({"state": {"Nowhere_1": {"slot_values": {}}}}, "input 1: state of service Nowhere_1: unknown service"),
], ids=["track-from", "state-not-a-mapping", "state-slot", "state-service"])
def test_a_bad_served_state_input_is_one_line(tracker_task, tiny_model, extra, message):
    from tuneforge.errors import DataError

    task, _ = tracker_task
    with pytest.raises(DataError) as error:
        task.predict_texts(None, [{**stripped(DIALOGUE), **extra}])
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_serve_schema_options_are_checked_before_any_model_loads(tmp_path, capsys):
    schema = write_schema(tmp_path / "new.json", [HOTELS])
    assert main(["serve", "some-run", "--schema", str(schema)]) == 2
    assert "--schema adds services to an assistant's state run: give --assistant FILE" in capsys.readouterr().err
    assistant = tmp_path / "assistant.yaml"
    assistant.write_text("runs: {}\n", encoding="utf-8")
    assert main(["serve", "--assistant", str(assistant), "--schema", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--schema" in err[0] and "missing.json: no such file" in err[0]


def test_an_assistant_file_naming_a_missing_schema_is_one_line(tmp_path):
    from tuneforge.assistant.config import load_assistant_config
    from tuneforge.errors import ConfigError

    for role in ("intent", "slots", "reply", "state"):
        (tmp_path / role).mkdir()
    config = tmp_path / "assistant.yaml"
    config.write_text(yaml.safe_dump({"runs": {r: r for r in ("intent", "slots", "reply", "state")},
                                      "schema_files": ["gone.json"]}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"assistant.yaml: schema_files: .*gone.json does not exist"):
        load_assistant_config(config)


def test_training_goes_on_from_a_trained_trackers_model_folder(dst_run):
    """model.name may be a finished run's model folder: the heads start where that run ended, not afresh."""
    import torch
    from safetensors.torch import load_file

    from tuneforge.tasks.dialogue_state.model import HEAD_WEIGHTS
    from tuneforge.tasks.dialogue_state.task import DialogueState

    folder = dst_run / "model"
    model = DialogueState.build_model(object.__new__(DialogueState), str(folder), None)
    saved = load_file(str(folder / HEAD_WEIGHTS))
    heads = {k: v for k, v in model.state_dict().items() if not k.startswith("encoder.")}
    assert set(heads) == set(saved)
    assert all(torch.equal(heads[k], saved[k]) for k in saved)


def test_training_on_from_heads_that_do_not_fit_is_one_line(dst_run, tmp_path, capsys):
    import shutil

    import torch
    from safetensors.torch import save_file

    from tuneforge.tasks.dialogue_state.model import HEAD_WEIGHTS

    folder = tmp_path / "model"
    shutil.copytree(dst_run / "model", folder)
    save_file({"intent_head.weight": torch.zeros(3, 3)}, str(folder / HEAD_WEIGHTS))
    config = yaml.safe_load((dst_run / "config.yaml").read_text())
    config.update(name="again", output_dir=str(tmp_path / "runs"))
    config["model"]["name"] = str(folder)
    config["data"] = {"train": str(dst_run.parents[1] / "train.jsonl"), "dev": str(dst_run.parents[1] / "dev.jsonl")}
    config["task_options"]["schema_files"] = SCHEMAS
    path = tmp_path / "again.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert HEAD_WEIGHTS in err[-1] and "heads" in err[-1] and "Traceback" not in "\n".join(err)
    assert not (tmp_path / "runs" / "again" / "model").exists()
