"""``python -m tuneforge.assistant.prepare_sgd``: SGD dialogues -> the assistant's intent, slot and reply sets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tuneforge.assistant.prepare_sgd import prepare
from tuneforge.errors import DataError

DIALOGUES = [
    {"id": "1_00000", "services": ["Restaurants_1"], "turns": [
        {"speaker": "user", "text": "Hi there.", "frames": [{"service": "Restaurants_1", "intent": "NONE",
                                                            "slots": [], "acts": [], "slot_values": {}}]},
        {"speaker": "system", "text": "Hello, how can I help?", "frames": []},
        {"speaker": "user", "text": "Find a table in San Jose.",
         "frames": [{"service": "Restaurants_1", "intent": "FindRestaurants",
                     "slots": [{"slot": "city", "start": 16, "end": 24}], "acts": [],
                     "slot_values": {"city": ["San Jose", "SJ"]}}]},
        {"speaker": "system", "text": "What  cuisine? Mario's is in San Jose.\n",
         "frames": [{"service": "Restaurants_1", "acts": [{"act": "REQUEST", "slot": "cuisine", "values": []},
                                                          {"act": "OFFER", "slot": "name", "values": ["Mario's"]}]}]},
        {"speaker": "user", "text": "Italian, please.",
         "frames": [{"service": "Restaurants_1", "intent": "FindRestaurants",
                     "slots": [{"slot": "cuisine", "start": 0, "end": 7}], "acts": [],
                     "slot_values": {"city": ["San Jose"], "cuisine": ["Italian"]}}]},
    ]},
]


def write_sgd(folder: Path, dialogues: list[dict], split: str = "train") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / f"{split}.jsonl").write_text("".join(json.dumps(d) + "\n" for d in dialogues), encoding="utf-8")
    return folder


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_three_sets_with_their_exact_contents(tmp_path):
    counts = prepare(write_sgd(tmp_path / "sgd", DIALOGUES), tmp_path / "out")
    assert counts == {"intent": {"train": 3}, "slots": {"train": 3}, "reply": {"train": 2}}
    assert lines(tmp_path / "out" / "intent" / "train.jsonl") == [
        {"text": "Hi there.", "label": "NONE"},
        {"text": "Find a table in San Jose. Hi there.", "label": "FindRestaurants"},
        {"text": "Italian, please. Find a table in San Jose. Hi there.", "label": "FindRestaurants"},
    ]
    assert lines(tmp_path / "out" / "slots" / "train.jsonl") == [
        {"tokens": ["Hi", "there", "."], "tags": ["O", "O", "O"]},
        {"tokens": ["Find", "a", "table", "in", "San", "Jose", "."],
         "tags": ["O", "O", "O", "O", "B-city", "I-city", "O"]},
        {"tokens": ["Italian", ",", "please", "."], "tags": ["B-cuisine", "O", "O", "O"]},
    ]
    assert lines(tmp_path / "out" / "reply" / "train.jsonl") == [
        {"prompt": "User: Hi there.\nIntent: NONE\nState: none", "completion": "Hello, how can I help?",
         "values": []},
        {"prompt": "User: Hi there.\nAssistant: Hello, how can I help?\nUser: Find a table in San Jose.\n"
                   "Intent: FindRestaurants\nState: Restaurants_1: city=San Jose",
         "completion": "What cuisine? Mario's is in San Jose.", "values": ["Mario's"]},
    ]  # the last user turn has no system turn after it: no reply example


def test_the_reply_format_is_what_the_generation_task_reads(tmp_path):
    from tuneforge.config.loading import load_config
    from tuneforge.tasks import task_class

    prepare(write_sgd(tmp_path / "sgd", DIALOGUES), tmp_path / "out")
    train = tmp_path / "out" / "reply" / "train.jsonl"
    cfg = load_config(Path(__file__).parents[1] / "examples" / "customer-service" / "reply.yaml",
                      [f"data.train={train}", "data.test=null", "data.train_limit=null"])
    examples = task_class(cfg.task).read(str(train), cfg).examples
    assert examples[1].messages[-1]["content"].endswith("State: Restaurants_1: city=San Jose")
    assert examples[1].values == ["Mario's"]  # what slot_recall scores the reply against


@pytest.mark.parametrize(("turn", "message"), [
    ({"speaker": "robot", "text": "Hi"}, r"turns\[0\]: expected an object with 'speaker'"),
    ({"speaker": "user", "text": "Hi", "frames": [{"service": "S", "intent": "I",
                                                  "slots": [{"slot": "x", "start": 1, "end": 9}]}]},
     r"turns\[0\]: frames\[0\].slots\[0\]: expected 'slot' and 'start' < 'end' within the text"),
])
def test_a_bad_dialogue_is_one_line_naming_file_and_line(tmp_path, turn, message):
    folder = write_sgd(tmp_path / "sgd", [*DIALOGUES, {"id": "2", "turns": [turn]}])
    with pytest.raises(DataError, match=rf"train.jsonl:2: {message}"):
        prepare(folder, tmp_path / "out")
    done = subprocess.run([sys.executable, "-m", "tuneforge.assistant.prepare_sgd", str(folder), str(tmp_path / "o")],
                          capture_output=True, text=True)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "train.jsonl:2:" in done.stderr


def test_a_folder_without_splits_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no SGD split files"):
        prepare(tmp_path, tmp_path / "out")


def test_dev_dialogues_with_intents_or_slots_train_lacks_go_to_their_own_files(tmp_path):
    def dialogue(name, service, intent, text, slots=()):
        return {"id": name, "services": [service], "turns": [
            {"speaker": "user", "text": text, "frames": [{"service": service, "intent": intent, "acts": [],
                                                          "slots": list(slots)}]},
            {"speaker": "system", "text": "Done.", "frames": []}]}

    new_version = dialogue("2_0", "Restaurants_2", "FindRestaurants", "Food in Napa.",
                           [{"slot": "city", "start": 8, "end": 12}])  # a new service, known intent and slot
    new_intent = dialogue("2_1", "Alarm_1", "AddAlarm", "Wake me at 7.")
    new_slot = dialogue("2_2", "Restaurants_2", "FindRestaurants", "Vegan food.",
                        [{"slot": "diet", "start": 0, "end": 5}])
    folder = write_sgd(tmp_path / "sgd", DIALOGUES)
    write_sgd(folder, [new_version, new_intent, new_slot], split="dev")
    counts = prepare(folder, tmp_path / "out")
    assert counts["intent"] == {"train": 3, "dev": 1, "dev_unseen": 2}
    assert counts["reply"] == {"train": 2, "dev": 1, "dev_unseen": 2}
    assert lines(tmp_path / "out" / "intent" / "dev.jsonl") == [{"text": "Food in Napa.", "label": "FindRestaurants"}]
    assert [r["label"] for r in lines(tmp_path / "out" / "intent" / "dev_unseen.jsonl")] == [
        "AddAlarm", "FindRestaurants"]


def test_a_reply_whose_act_values_are_not_strings_is_one_line_and_nothing_is_written(tmp_path):
    bad = {"id": "2", "services": ["Restaurants_1"], "turns": [
        {"speaker": "user", "text": "Hi.", "frames": []},
        {"speaker": "system", "text": "Hello.", "frames": [{"service": "Restaurants_1",
                                                            "acts": [{"act": "INFORM", "values": "Mario's"}]}]}]}
    folder = write_sgd(tmp_path / "sgd", [*DIALOGUES, bad])
    with pytest.raises(DataError, match=r"train.jsonl:2: turns\[1\]: .*'values' must be a list of strings"):
        prepare(folder, tmp_path / "out")
    assert not (tmp_path / "out").exists()
