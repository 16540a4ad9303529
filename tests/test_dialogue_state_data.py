"""Schema-guided DST data: schema and dialogue checks (each error names its file and element) and the SGD metrics."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from conftest import DATASETS

from tuneforge.errors import DataError
from tuneforge.tasks.dialogue_state.dialogues import iter_dialogues, read_dialogues
from tuneforge.tasks.dialogue_state.metrics import (
    ALL_SERVICES,
    SEEN_SERVICES,
    UNSEEN_SERVICES,
    compute_f1,
    frame_metrics,
    fuzzy_string_match,
    score_dialogues,
)
from tuneforge.tasks.dialogue_state.schema import read_schema, read_schemas

SGD = DATASETS / "sgd"
needs_sgd = pytest.mark.skipif(not (SGD / "dev.jsonl").is_file(), reason="SGD data not available")


# ---------------------------------------------------------------- a small schema of two made-up services


def restaurants() -> dict:
    return {
        "service_name": "Restaurants_9",
        "description": "Find and reserve restaurants",
        "slots": [
            {"name": "city", "description": "City", "is_categorical": False, "possible_values": []},
            {"name": "cuisine", "description": "Cuisine", "is_categorical": True,
             "possible_values": ["Italian", "Chinese"]},
            {"name": "party", "description": "Party size", "is_categorical": True, "possible_values": ["1", "2"]},
            {"name": "name", "description": "Restaurant name", "is_categorical": False, "possible_values": []},
            {"name": "address", "description": "Street address", "is_categorical": False, "possible_values": []},
        ],
        "intents": [
            {"name": "FindRestaurants", "description": "Find", "is_transactional": False,
             "required_slots": ["city", "cuisine"], "optional_slots": {}, "result_slots": ["name", "address"]},
            {"name": "ReserveRestaurant", "description": "Reserve", "is_transactional": True,
             "required_slots": ["name", "party"], "optional_slots": {"city": "dontcare"}, "result_slots": []},
        ],
    }


def alarms() -> dict:
    return {
        "service_name": "Alarm_9",
        "description": "Alarms",
        "slots": [
            {"name": "alarm_time", "description": "Time", "is_categorical": False, "possible_values": []},
            {"name": "alarm_name", "description": "Name", "is_categorical": False, "possible_values": []},
        ],
        "intents": [
            {"name": "AddAlarm", "description": "Set an alarm", "is_transactional": True,
             "required_slots": ["alarm_time"], "optional_slots": {"alarm_name": "New alarm"}},
        ],
    }


def write_json(path: Path, value: object) -> str:
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


@pytest.fixture
def schemas(tmp_path):
    return read_schema(write_json(tmp_path / "schema.json", [restaurants(), alarms()]))


# ---------------------------------------------------------------- schema


def test_schema_reads_services_in_order(schemas):
    assert list(schemas) == ["Restaurants_9", "Alarm_9"]
    service = schemas["Restaurants_9"]
    assert [s.name for s in service.slots] == ["city", "cuisine", "party", "name", "address"]
    assert service.slot_by_name["cuisine"].possible_values == ("Italian", "Chinese")
    assert service.intents[1].optional_slots == {"city": "dontcare"}
    assert service.intent_names == {"FindRestaurants", "ReserveRestaurant"}
    assert service.domain == "Restaurants"


def _schema_error(tmp_path, document: object) -> str:
    path = write_json(tmp_path / "bad_schema.json", document)
    with pytest.raises(DataError) as info:
        read_schema(path)
    message = str(info.value)
    assert message.startswith(path) and "\n" not in message
    return message


def test_schema_not_a_list(tmp_path):
    assert "expected a JSON list of services, found an object" in _schema_error(tmp_path, restaurants())


def test_schema_invalid_json_names_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"service_name": "A",\n  oops\n]', encoding="utf-8")
    with pytest.raises(DataError, match=r"broken\.json:3: invalid JSON"):
        read_schema(str(path))


def test_schema_service_without_name(tmp_path):
    nameless = restaurants()
    del nameless["service_name"]
    assert "service 1: 'service_name' missing or empty" in _schema_error(tmp_path, [alarms(), nameless])


def test_schema_duplicate_service(tmp_path):
    assert "service 1: duplicate service name 'Alarm_9'" in _schema_error(tmp_path, [alarms(), alarms()])


def test_schema_duplicate_slot_within_service(tmp_path):
    service = restaurants()
    service["slots"].append(dict(service["slots"][0]))
    assert "service 0 ('Restaurants_9'): duplicate slot 'city'" in _schema_error(tmp_path, [service])


def test_schema_same_slot_in_two_services_is_fine(tmp_path):
    other = alarms()
    other["slots"].append({"name": "city", "description": "", "is_categorical": False, "possible_values": []})
    assert set(read_schema(write_json(tmp_path / "s.json", [restaurants(), other]))) == {"Restaurants_9", "Alarm_9"}


def test_schema_duplicate_intent(tmp_path):
    service = alarms()
    service["intents"].append(dict(service["intents"][0]))
    assert "service 0 ('Alarm_9'): duplicate intent 'AddAlarm'" in _schema_error(tmp_path, [service])


@pytest.mark.parametrize("kind", ["required_slots", "optional_slots", "result_slots"])
def test_schema_intent_names_unknown_slot(tmp_path, kind):
    service = restaurants()
    intent = service["intents"][0]
    intent[kind] = {"zip_code": "x"} if kind == "optional_slots" else ["city", "zip_code"]
    message = _schema_error(tmp_path, [service])
    assert f"service 0 ('Restaurants_9'): intent 'FindRestaurants' {kind} names slot 'zip_code'" in message


def test_schema_categorical_slot_without_values(tmp_path):
    service = restaurants()
    service["slots"][1]["possible_values"] = []
    message = _schema_error(tmp_path, [service])
    assert "service 0 ('Restaurants_9'), slot 'cuisine': categorical slot without possible_values" in message


def test_read_schemas_merges_and_refuses_conflicts(tmp_path):
    first = write_json(tmp_path / "a.json", [restaurants()])
    second = write_json(tmp_path / "b.json", [restaurants(), alarms()])
    assert list(read_schemas(first, second)) == ["Restaurants_9", "Alarm_9"]
    changed = restaurants()
    changed["slots"][0]["description"] = "Another description"
    third = write_json(tmp_path / "c.json", [changed])
    with pytest.raises(DataError, match=r"c\.json: service 'Restaurants_9' differs from its definition in .*a\.json"):
        read_schemas(first, third)


@needs_sgd
def test_real_schemas_merge():
    merged = read_schemas(SGD / "train_schema.json", SGD / "dev_schema.json")
    assert len(merged) == 34  # 26 train services + the 8 dev-only ones


# ---------------------------------------------------------------- dialogues


def user_frame(service: str, intent: str, values: dict, requested: list | None = None, spans: list | None = None):
    return {"service": service, "slots": spans or [], "acts": [], "intent": intent,
            "requested_slots": requested or [], "slot_values": values}


def dialogue(dialogue_id: str, services: list[str], turns: list[tuple[str, str, list[dict]]]) -> dict:
    return {"id": dialogue_id, "services": services,
            "turns": [{"speaker": s, "text": t, "frames": f} for s, t, f in turns]}


def good_dialogue() -> dict:
    return dialogue("d1", ["Restaurants_9"], [
        ("user", "Italian food in Palo Alto", [user_frame("Restaurants_9", "FindRestaurants",
                                                          {"city": ["Palo Alto"], "cuisine": ["Italian"]},
                                                          spans=[{"slot": "city", "start": 16, "end": 25}])]),
        ("system", "How about Sino?", [{
            "service": "Restaurants_9", "slots": [{"slot": "name", "start": 10, "end": 14}],
            "acts": [{"act": "OFFER", "slot": "name", "values": ["Sino"]}],
            "service_call": {"method": "FindRestaurants", "parameters": {"city": "Palo Alto", "cuisine": "Italian"}},
            "service_results": [{"name": "Sino", "city": "Palo Alto"}]}]),
        ("user", "Sure, any size is fine", [user_frame("Restaurants_9", "ReserveRestaurant",
                                                       {"city": ["Palo Alto"], "cuisine": ["Italian"],
                                                        "name": ["Sino"], "party": ["dontcare"]})]),
    ])


def write_jsonl(path: Path, lines: list) -> str:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return str(path)


def test_dialogues_read_labelled(tmp_path, schemas):
    [d] = read_dialogues(write_jsonl(tmp_path / "d.jsonl", [good_dialogue()]), schemas)
    assert d.id == "d1" and d.services == ["Restaurants_9"] and len(d.turns) == 3
    state = d.turns[2].states["Restaurants_9"]
    assert state.intent == "ReserveRestaurant" and state.slot_values["party"] == ["dontcare"]
    assert d.turns[0].frames[0].spans[0].slot == "city"
    system = d.turns[1].frames[0]
    assert system.acts[0].values == ["Sino"] and system.service_call.method == "FindRestaurants"
    assert system.service_results == [{"name": "Sino", "city": "Palo Alto"}]


def test_dialogues_read_unlabelled_ignores_gold_state(tmp_path, schemas):
    record = good_dialogue()
    frame = record["turns"][0]["frames"][0]
    frame["intent"], frame["slot_values"] = "NoSuchIntent", {"nope": ["x"]}
    del record["turns"][2]["frames"][0]["slot_values"]
    path = write_jsonl(tmp_path / "d.jsonl", [record])
    with pytest.raises(DataError):
        read_dialogues(path, schemas)
    [d] = read_dialogues(path, schemas, labelled=False)
    assert d.turns[0].services == ["Restaurants_9"] and d.turns[0].states == {}
    assert d.turns[0].frames[0].spans == [] and d.turns[0].frames[0].acts == []
    assert d.turns[1].frames == [] and d.turns[1].text  # the system's words only, never its annotations


def _dialogue_error(tmp_path, schemas, record: dict, labelled: bool = True) -> str:
    path = write_jsonl(tmp_path / "bad.jsonl", [good_dialogue() | {"id": "d0"}, record])
    with pytest.raises(DataError) as info:
        read_dialogues(path, schemas, labelled=labelled)
    message = str(info.value)
    assert message.startswith(f"{path}:2: ") and "\n" not in message
    return message[len(path) + 4:]


def test_dialogue_unknown_service(tmp_path, schemas):
    record = good_dialogue()
    record["turns"][2]["frames"].append(user_frame("Hotels_9", "NONE", {}))
    for labelled in (True, False):
        assert _dialogue_error(tmp_path, schemas, record, labelled) == (
            "dialogue d1, turn 2, service Hotels_9: not in the schema")


def test_dialogue_slot_values_unknown_slot(tmp_path, schemas):
    record = good_dialogue()
    record["turns"][0]["frames"][0]["slot_values"]["zip_code"] = ["94301"]
    assert _dialogue_error(tmp_path, schemas, record) == (
        "dialogue d1, turn 0, service Restaurants_9: slot_values names slot 'zip_code', which the service lacks")


def test_dialogue_requested_unknown_slot(tmp_path, schemas):
    record = good_dialogue()
    record["turns"][2]["frames"][0]["requested_slots"] = ["address", "phone"]
    assert _dialogue_error(tmp_path, schemas, record) == (
        "dialogue d1, turn 2, service Restaurants_9: requested slot 'phone' is not a slot of the service")


@pytest.mark.parametrize("value", ["Thai", "italian"])
def test_dialogue_categorical_value_outside_possible_values(tmp_path, schemas, value):
    record = good_dialogue()
    record["turns"][2]["frames"][0]["slot_values"]["cuisine"] = [value]
    assert _dialogue_error(tmp_path, schemas, record) == (
        f"dialogue d1, turn 2, service Restaurants_9: value '{value}' of categorical slot 'cuisine' is not one of "
        "its possible_values (Italian, Chinese)")


def test_dialogue_unknown_intent(tmp_path, schemas):
    record = good_dialogue()
    record["turns"][0]["frames"][0]["intent"] = "BookHotel"
    assert _dialogue_error(tmp_path, schemas, record) == (
        "dialogue d1, turn 0, service Restaurants_9: intent 'BookHotel' is not an intent of the service")


def test_dialogue_none_intent_and_dontcare_allowed(tmp_path, schemas):
    record = good_dialogue()
    record["turns"][0]["frames"][0]["intent"] = "NONE"
    record["turns"][0]["frames"][0]["slot_values"]["cuisine"] = ["dontcare"]
    assert len(read_dialogues(write_jsonl(tmp_path / "d.jsonl", [record]), schemas)) == 1


def test_dialogue_bad_json_line_and_blank_lines(tmp_path, schemas):
    path = write_jsonl(tmp_path / "d.jsonl", [good_dialogue(), "", '{"id": "d2", "turns": [}'])
    with pytest.raises(DataError, match=r"d\.jsonl:3: invalid JSON: .* \(column \d+\)$"):
        read_dialogues(path, schemas)


def test_dialogue_not_an_object_and_duplicate_id(tmp_path, schemas):
    path = write_jsonl(tmp_path / "d.jsonl", [good_dialogue(), "[1, 2]", good_dialogue()])
    errors: list[str] = []
    assert [d.id for d in iter_dialogues(path, schemas, errors=errors)] == ["d1"]
    assert errors == [f"{path}:2: expected a JSON object (one dialogue per line)",
                      f"{path}:3: dialogue d1: duplicate dialogue id"]


def test_dialogue_span_outside_text(tmp_path, schemas):
    record = good_dialogue()
    record["turns"][1]["frames"][0]["slots"][0]["end"] = 99
    assert _dialogue_error(tmp_path, schemas, record).startswith(
        "dialogue d1, turn 1, service Restaurants_9: slots[0] must be")
    path = write_jsonl(tmp_path / "ignored.jsonl", [record])
    assert read_dialogues(path, schemas, labelled=False)[0].turns[1].frames == []  # predict never reads it


def test_dialogue_file_errors(tmp_path, schemas):
    with pytest.raises(DataError, match="missing.jsonl: file not found"):
        read_dialogues(str(tmp_path / "missing.jsonl"), schemas)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n \n", encoding="utf-8")
    with pytest.raises(DataError, match="empty.jsonl: file is empty"):
        read_dialogues(str(empty), schemas)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(json.dumps(good_dialogue()).encode() + b"\n\xe9\n")
    with pytest.raises(DataError, match=r"latin\.jsonl:2: not valid UTF-8"):
        read_dialogues(str(latin), schemas)


@needs_sgd
def test_real_dev_passes_both_modes():
    schemas = read_schema(SGD / "dev_schema.json")
    errors: list[str] = []
    dialogues = read_dialogues(SGD / "dev.jsonl", schemas, errors=errors)
    assert errors == [] and len(dialogues) == 2098
    assert sum(t.speaker == "user" for d in dialogues for t in d.turns) == 19384
    unlabelled = read_dialogues(SGD / "dev.jsonl", schemas, labelled=False)
    assert [t.services for t in unlabelled[0].turns if t.speaker == "user"] == [
        t.services for t in dialogues[0].turns if t.speaker == "user"]


# ---------------------------------------------------------------- metrics


def test_fuzzy_match_is_fuzzywuzzys_token_sort_ratio():
    from rapidfuzz import fuzz, utils

    assert fuzzy_string_match("Los Angeles", "Los Angeles, CA") == 0.88  # "angeles los" / "angeles ca los"
    assert fuzz.token_sort_ratio("Los Angeles", "Los Angeles, CA", processor=utils.default_process) == 88.0
    assert fuzzy_string_match("Sino", "Sino Cafe") == 0.62  # 8/13 = 61.5% -> whole percent, as fuzzywuzzy
    assert fuzzy_string_match("7:00 am", "7:00 AM") == 1.0
    assert fuzzy_string_match("New York", "york new") == 1.0
    assert fuzzy_string_match("Seattle", "") == 0.0
    assert fuzzy_string_match("!!", "?") == 1.0  # both empty once punctuation goes; fuzzywuzzy says equal


def test_empty_requested_slots_score_one():
    assert compute_f1([], []).f1 == 1.0
    assert compute_f1(["address"], []).f1 == 0.0
    scores = compute_f1([], ["address"])  # precision 0, recall 1 (nothing to recall)
    assert (scores.f1, scores.precision, scores.recall) == (0.0, 0.0, 1.0)


def hand_worked() -> tuple[list[dict], list[dict]]:
    """Two dialogues: d1 on a seen service, d2 on an unseen one; the numbers are worked out in the test."""
    gold = [
        dialogue("d1", ["Restaurants_9"], [
            ("user", "Italian in Los Angeles", [user_frame("Restaurants_9", "FindRestaurants",
                                                           {"city": ["Los Angeles"], "cuisine": ["Italian"]})]),
            ("system", "Sino is nice.", [{"service": "Restaurants_9", "slots": [], "acts": []}]),
            ("user", "Book for 2. Address?", [user_frame("Restaurants_9", "ReserveRestaurant",
                                                         {"city": ["Los Angeles"], "cuisine": ["Italian"],
                                                          "party": ["2"]}, ["address"])]),
        ]),
        dialogue("d2", ["Alarm_9"], [
            ("user", "Hi", [user_frame("Alarm_9", "NONE", {})]),
            ("system", "Hello", [{"service": "Alarm_9", "slots": [], "acts": []}]),
            ("user", "Wake me at 7 am, any name", [user_frame("Alarm_9", "AddAlarm",
                                                              {"alarm_time": ["7 am", "7:00 am"],
                                                               "alarm_name": ["dontcare"]})]),
        ]),
    ]
    predicted = copy.deepcopy(gold)
    for record in predicted:
        for turn in record["turns"]:
            for frame in turn["frames"]:
                frame.pop("slots")  # a tracker predicts states, not spans: no slot tagging scores
    d1, d2 = predicted[0]["turns"], predicted[1]["turns"]
    d1[0]["frames"][0]["slot_values"]["city"] = ["Los Angeles, CA"]
    d1[2]["frames"][0].update(intent="FindRestaurants", requested_slots=["address", "name"],
                              slot_values={"city": ["Los Angeles"], "cuisine": ["Chinese"], "party": ["2"],
                                           "name": ["Sino"]})
    d2[2]["frames"][0].update(requested_slots=["alarm_name"], slot_values={"alarm_time": ["7:00 AM"]})
    return gold, predicted


def test_hand_worked_example(schemas):
    gold, predicted = hand_worked()
    per_frame: dict[str, dict[str, float]] = {}
    result = score_dialogues(gold, predicted, schemas, {"Restaurants_9"}, per_frame=per_frame)
    # Frame by frame (Restaurants_9 slots: city, cuisine*, party*, name, address; * categorical):
    # d1 t0: city 0.88 (fuzzy "Los Angeles, CA"), cuisine 1, rest absent on both sides (1).
    #        intent 1, requested F1 1 (none on either side), average (0.88+1)/2 = 0.94, joint 0.88,
    #        cat average 1, cat joint 1, noncat average 0.88, noncat joint 0.88.
    # d1 t2: wrong intent 0; requested P 1/2 R 1 F1 2/3; city 1, cuisine 0, party 1, name predicted but not
    #        gold 0, address 1: average (1+0+1)/3 = 2/3, joint 0, cat average 1/2, cat joint 0,
    #        noncat average 1 (city only), noncat joint 0 (name).
    # d2 t0: empty gold state: no average; all slots absent on both sides: joint 1; no categorical slots.
    # d2 t2: requested P 0 R 1 F1 0; alarm_time 1 ("7:00 AM" ~ "7:00 am"), alarm_name dropped 0:
    #        average 1/2, joint 0.
    assert per_frame["d1-000-Restaurants_9"]["joint_goal_accuracy"] == pytest.approx(0.88)
    assert per_frame["d2-000-Alarm_9"] == {"active_intent_accuracy": 1.0, "requested_slots_f1": 1.0,
                                           "requested_slots_precision": 1.0, "requested_slots_recall": 1.0,
                                           "joint_goal_accuracy": 1.0, "joint_noncat_accuracy": 1.0}
    expected_all = {
        "active_intent_accuracy": 3 / 4,
        "requested_slots_f1": (1 + 2 / 3 + 1 + 0) / 4,
        "requested_slots_precision": (1 + 0.5 + 1 + 0) / 4,
        "requested_slots_recall": 1.0,
        "average_goal_accuracy": (0.94 + 2 / 3 + 0.5) / 3,
        "average_cat_accuracy": (1 + 0.5) / 2,
        "average_noncat_accuracy": (0.88 + 1 + 0.5) / 3,
        "joint_goal_accuracy": (0.88 + 0 + 1 + 0) / 4,
        "joint_cat_accuracy": (1 + 0) / 2,
        "joint_noncat_accuracy": (0.88 + 0 + 1 + 0) / 4,
    }
    assert result[ALL_SERVICES] == pytest.approx(expected_all)
    assert result[SEEN_SERVICES] == pytest.approx({
        "active_intent_accuracy": 0.5, "requested_slots_f1": (1 + 2 / 3) / 2, "requested_slots_precision": 0.75,
        "requested_slots_recall": 1.0, "average_goal_accuracy": (0.94 + 2 / 3) / 2, "average_cat_accuracy": 0.75,
        "average_noncat_accuracy": 0.94, "joint_goal_accuracy": 0.44, "joint_cat_accuracy": 0.5,
        "joint_noncat_accuracy": 0.44})
    # The unseen service has no categorical slot: no categorical metric at all.
    assert result[UNSEEN_SERVICES] == pytest.approx({
        "active_intent_accuracy": 1.0, "requested_slots_f1": 0.5, "requested_slots_precision": 0.5,
        "requested_slots_recall": 1.0, "average_goal_accuracy": 0.5, "average_noncat_accuracy": 0.5,
        "joint_goal_accuracy": 0.5, "joint_noncat_accuracy": 0.5})
    assert result["Restaurants"] == result["Restaurants_9"] == result[SEEN_SERVICES]
    assert result["Alarm_9"] == result[UNSEEN_SERVICES]
    assert "slot_tagging_f1" not in result[ALL_SERVICES]


def test_seen_services_decide_the_split(schemas):
    gold, predicted = hand_worked()
    everything = score_dialogues(gold, predicted, schemas, {"Restaurants_9", "Alarm_9"})
    assert UNSEEN_SERVICES not in everything and everything[SEEN_SERVICES] == everything[ALL_SERVICES]
    nothing = score_dialogues(gold, predicted, schemas, set())
    assert SEEN_SERVICES not in nothing and nothing[UNSEEN_SERVICES] == nothing[ALL_SERVICES]


def test_exact_match_flag(schemas):
    gold, predicted = hand_worked()
    result = score_dialogues(gold, predicted, schemas, {"Restaurants_9"}, use_fuzzy_match=False)
    # "Los Angeles, CA" and "7:00 AM" now score 0: d1 t0 joint 0, d2 t2 average 0.
    assert result[ALL_SERVICES]["joint_goal_accuracy"] == pytest.approx(0.25)
    assert result[ALL_SERVICES]["average_goal_accuracy"] == pytest.approx((0.5 + 2 / 3 + 0) / 3)


def test_joint_accuracy_across_turn(schemas):
    both = ["Restaurants_9", "Alarm_9"]
    gold = [dialogue("d", both, [("user", "Italian in LA and an alarm at 7", [
        user_frame("Restaurants_9", "FindRestaurants", {"city": ["Los Angeles"], "cuisine": ["Italian"]}),
        user_frame("Alarm_9", "AddAlarm", {"alarm_time": ["7 am"]})])])]
    predicted = copy.deepcopy(gold)
    predicted[0]["turns"][0]["frames"][0]["slot_values"]["city"] = ["Los Angeles, CA"]
    per_service = score_dialogues(gold, predicted, schemas, {"Restaurants_9"})
    assert per_service[ALL_SERVICES]["joint_goal_accuracy"] == pytest.approx((0.88 + 1) / 2)
    per_turn = score_dialogues(gold, predicted, schemas, {"Restaurants_9"}, joint_acc_across_turn=True)
    assert per_turn[ALL_SERVICES]["joint_goal_accuracy"] == pytest.approx(0.88)
    assert per_turn[UNSEEN_SERVICES]["joint_goal_accuracy"] == 1.0
    assert per_turn[ALL_SERVICES]["average_goal_accuracy"] == per_service[ALL_SERVICES]["average_goal_accuracy"]


def test_slot_tagging_only_when_predicted_frames_have_spans(tmp_path, schemas):
    gold = [good_dialogue()]
    result = score_dialogues(gold, copy.deepcopy(gold), schemas, set())
    assert result[ALL_SERVICES]["slot_tagging_f1"] == 1.0
    service = schemas["Restaurants_9"]
    text = gold[0]["turns"][0]["text"]
    wrong = dict(gold[0]["turns"][0]["frames"][0], slots=[{"slot": "city", "start": 16, "end": 20}])
    assert frame_metrics(gold[0]["turns"][0]["frames"][0], wrong, text, service)["slot_tagging_f1"] == 0.0


def test_score_refuses_mismatched_predictions(schemas):
    gold, predicted = hand_worked()
    with pytest.raises(DataError, match="1 gold dialogue.* not predicted, e.g. d2"):
        score_dialogues(gold, predicted[:1], schemas, set())
    partial = score_dialogues(gold, predicted[:1], schemas, set(), complete=False)  # the original's behaviour
    assert partial[ALL_SERVICES]["joint_goal_accuracy"] == pytest.approx(0.44)
    changed = copy.deepcopy(predicted)
    changed[0]["turns"][2]["text"] = "something else"
    with pytest.raises(DataError, match="predicted dialogue d1, turn 2: text differs"):
        score_dialogues(gold, changed, schemas, set())
    changed = copy.deepcopy(predicted)
    changed[1]["turns"][2]["frames"] = []
    with pytest.raises(DataError, match="predicted dialogue d2, turn 2, service Alarm_9: no frame for this service"):
        score_dialogues(gold, changed, schemas, set())
    changed = copy.deepcopy(predicted)
    changed[1]["turns"][2]["frames"][0]["slot_values"]["alarm_name"] = []
    with pytest.raises(DataError, match="predicted dialogue d2, turn 2, service Alarm_9: 'slot_values' must map"):
        score_dialogues(gold, changed, schemas, set())


@needs_sgd
def test_real_dev_scored_against_itself_is_perfect():
    gold = [json.loads(line) for line in (SGD / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    seen = set(read_schema(SGD / "train_schema.json"))
    result = score_dialogues(gold, gold, read_schema(SGD / "dev_schema.json"), seen)
    assert {ALL_SERVICES, SEEN_SERVICES, UNSEEN_SERVICES, "Alarm_1", "Restaurants"} <= set(result)
    assert len(result[ALL_SERVICES]) == 13
    assert all(value == 1.0 for metrics in result.values() for value in metrics.values())
