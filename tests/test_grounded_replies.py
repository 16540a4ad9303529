"""Grounded replies: SGD's rows followed through a dialogue, delexicalised templates filled from state and rows
in the words replies use, the backends a served assistant calls, and a failing backend answered, not a 500."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
import yaml
from test_dialogue_state import HOTELS, dst_run, write_schema  # noqa: F401 (dst_run: a fixture)

from tuneforge.assistant.backends import BackendConfig, BackendError, fetch_rows, load_backend
from tuneforge.assistant.grounding import latest_results, offered_row, rows_text
from tuneforge.assistant.templates import TemplateBank, delexicalise, fill, slot_values_for

ROWS = [{"restaurant_name": "Sino", "time": "18:00", "phone_number": "408-247-8880"},
        {"restaurant_name": "Bazille", "time": "19:30", "phone_number": "650-111-2222"}]


def system(text, acts, results=None, slots=()):
    frame = {"service": "Restaurants_1", "acts": acts, "slots": list(slots)}
    if results is not None:
        frame |= {"service_call": {"method": "FindRestaurants", "parameters": {}}, "service_results": results}
    return {"speaker": "system", "text": text, "frames": [frame]}


def act(name, slot="", *values):
    return {"act": name, "slot": slot, "values": list(values)}


TURNS = [{"speaker": "user", "text": "Find me a table.", "frames": []},
         system("How about Sino?", [act("OFFER", "restaurant_name", "Sino")], ROWS),
         {"speaker": "user", "text": "Anything else?", "frames": []},
         system("How about Bazille?", [act("OFFER", "restaurant_name", "Bazille")]),
         {"speaker": "user", "text": "Their number?", "frames": []},
         system("It is 650-111-2222.", [act("INFORM", "phone_number", "650-111-2222")])]


def test_offers_walk_through_the_rows_and_details_come_from_the_row_offered_last():
    assert latest_results(TURNS, 5, "Restaurants_1") == (ROWS, 1)
    assert latest_results(TURNS, 0, "Restaurants_1") == ([], None)
    assert offered_row(TURNS, 1, "Restaurants_1", offers_now=True) == 0
    assert offered_row(TURNS, 3, "Restaurants_1", offers_now=True) == 1
    assert offered_row(TURNS, 5, "Restaurants_1", offers_now=False) == 1
    assert rows_text(ROWS, 1) == "Results: 2 found. #2 restaurant_name=Bazille; time=19:30; phone_number=650-111-2222"
    assert rows_text([]) == "Results: none"


def test_delexicalise_replaces_spans_and_act_values_and_fill_puts_values_back():
    frame = {"slots": [{"slot": "restaurant_name", "start": 10, "end": 14}],
             "acts": [act("OFFER", "restaurant_name", "Sino"), act("INFORM_COUNT", "count", "3")]}
    delex = delexicalise("How about Sino? I found 3 places.", frame)
    assert delex == "How about [restaurant_name]? I found [count] places."
    assert fill(delex, {"restaurant_name": "Bazille", "count": "2"}) == "How about Bazille? I found 2 places."
    assert fill("At [time] today.", {}) == "At today."


def test_values_come_from_the_row_for_offers_and_from_the_state_for_confirmations():
    row, state = ROWS[1], {"restaurant_name": "Sino", "party_size": "2"}
    offer = slot_values_for([act("OFFER", "restaurant_name")], state, row, ROWS)
    confirm = slot_values_for([act("CONFIRM", "restaurant_name")], state, row, ROWS)
    assert offer["restaurant_name"] == "Bazille" and confirm["restaurant_name"] == "Sino"
    assert offer["count"] == "2" and offer["party_size"] == "2"


def test_the_bank_says_canonical_values_as_replies_do_and_prefers_the_service_and_a_fillable_template():
    bank = TemplateBank()
    for name, said in (("Sino", "6 pm"), ("Bazille", "6 pm"), ("Nopa", "6:00")):
        frame = {"slots": [], "acts": [act("OFFER", "restaurant_name", name), act("OFFER", "time", said)]}
        bank.add("Restaurants_1", f"How about {name} at {said}?", frame, "a table please",
                 {"restaurant_name": name, "time": "18:00"})
    bank.add("Hotels_1", "Try [hotel] then.", {"slots": [], "acts": [act("OFFER", "restaurant_name", "X")]}, "",
             {})
    assert bank.spelled("time", "18:00") == "6 pm"  # seen twice; "6:00" once
    assert bank.spelled("time", "19:30") == "19:30"  # never seen: as the service gave it
    acts = [act("OFFER", "restaurant_name"), act("OFFER", "time")]
    assert bank.reply(acts, "Restaurants_1", "a table please", {"restaurant_name": "Mela", "time": "18:00"}) == \
        "How about Mela at 6 pm?"
    # a signature never seen backs off to the one sharing most (act, slot) pairs
    assert bank.reply([act("OFFER", "restaurant_name"), act("OFFER", "time"), act("INFORM", "city")],
                      "Restaurants_1", "", {"restaurant_name": "Mela", "time": "18:00"}) == "How about Mela at 6 pm?"


# backends ---------------------------------------------------------------------------------------
def test_a_json_backend_returns_the_rows_that_agree_with_the_call(tmp_path):
    (tmp_path / "rows.json").write_text(json.dumps({"Lodging_9": {"FindHotel": [
        {"location": "London", "hotel_name": "The Savoy"}, {"location": "Paris", "hotel_name": "Ritz"}]}}))
    config = BackendConfig(kind="json", path="rows.json")
    backend = load_backend(config, tmp_path)
    call = {"service": "Lodging_9", "method": "FindHotel", "parameters": {"location": "london"}}
    assert asyncio.run(fetch_rows(backend, call, config)) == [{"location": "London", "hotel_name": "The Savoy"}]


def failing(call):
    raise RuntimeError("database is down")


def slow(call):
    time.sleep(2)
    return []


@pytest.mark.parametrize(("config", "message"), [
    (BackendConfig(kind="python", callable="test_grounded_replies:failing"),
     "the service failed (RuntimeError: database is down)"),
    (BackendConfig(kind="python", callable="test_grounded_replies:slow", timeout_s=0.2),
     "the service did not answer within 0.2 s"),
    (BackendConfig(kind="http", url="http://127.0.0.1:9/call", timeout_s=1), "the service did not answer"),
    (BackendConfig(kind="python", callable="json:dumps"), "not a list of rows"),
])
def test_every_backend_failure_is_a_backend_error(tmp_path, config, message):
    call = {"service": "S", "method": "M", "parameters": {}}
    with pytest.raises(BackendError, match=re.escape(message)):
        asyncio.run(fetch_rows(load_backend(config, tmp_path), call, config))


def test_a_backend_that_cannot_load_fails_at_start(tmp_path):
    from tuneforge.errors import ConfigError

    with pytest.raises(ConfigError, match="backend.callable: 'nowhere:thing' is not an importable"):
        load_backend(BackendConfig(kind="python", callable="nowhere:thing"), tmp_path)
    with pytest.raises(ConfigError, match="backend.path: .*missing.json: cannot read"):
        load_backend(BackendConfig(kind="json", path="missing.json"), tmp_path)


# served -----------------------------------------------------------------------------------------
BEHAVIOUR = {"mode": "rows"}


def switchable(call):
    if BEHAVIOUR["mode"] == "raise":
        raise ConnectionError("refused")
    return [{"location": call["parameters"]["location"], "hotel_name": "The Savoy"}]


def test_the_served_assistant_grounds_its_reply_in_the_rows_and_survives_a_failing_backend(
        dst_run, tmp_path, tiny_model, tiny_llama):  # noqa: F811
    from test_assistant import Recorder, assist, train_assistant_runs

    from tuneforge.serve.app import create_app
    from tuneforge.serve.settings import ServeSettings

    TestClient = pytest.importorskip("fastapi.testclient").TestClient
    runs = {**train_assistant_runs(tmp_path, tiny_model, tiny_llama), "state": dst_run}
    schema = write_schema(tmp_path / "new.json", [HOTELS])
    config = tmp_path / "assistant.yaml"
    config.write_text(yaml.safe_dump({"runs": {k: str(v) for k, v in runs.items()},
                                      "backend": {"kind": "python", "callable": "test_grounded_replies:switchable"}}))
    app = create_app(ServeSettings(assistant=config, schema_files=[schema]))
    tracked = {"service": "Lodging_9", "intent": "FindHotel", "requested_slots": [],
               "slot_values": {"location": ["London"]}}
    with TestClient(app, raise_server_exceptions=False) as c:
        # the tracker is a tiny untrained model: its state is fixed here, so the call is known
        state_batcher = c.app.state.registry.models["assistant-state"].batcher
        state_batcher.predict = lambda items: [{**items[0], "turns": [*items[0]["turns"][:-1], {
            **items[0]["turns"][-1], "frames": [tracked]}]} for _ in items]
        replies = Recorder(c.app, "assistant-reply")
        BEHAVIOUR["mode"] = "rows"
        answer = assist(c, "A hotel in London please.")
        assert answer.status_code == 200, answer.text
        results = answer.json()["results"]
        assert results["call"] == {"service": "Lodging_9", "method": "FindHotel",
                                   "parameters": {"location": "London"}}
        assert results["rows"] == [{"location": "London", "hotel_name": "The Savoy"}] and results["error"] is None
        assert replies.items[-1]["prompt"].splitlines()[-1] == \
            "Results: 1 found. #1 location=London; hotel_name=The Savoy"
        BEHAVIOUR["mode"] = "raise"
        asked = len(replies.items)
        answer = assist(c, "Any other hotel?", answer.json()["conversation_id"])
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["results"]["error"] == "the service failed (ConnectionError: refused)"
        assert body["reply"].startswith("Sorry, I couldn't reach the Lodging_9 service")
        assert len(replies.items) == asked  # no reply written without the rows it needs
