"""Readers for generation data: prompt/completion and chat JSONL, SGD dialogues, SQuAD translation pairs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from tuneforge.config.schema import DataConfig
from tuneforge.errors import ConfigError, DataError
from tuneforge.tasks.generation.splits import load_generation_splits, read_generation

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def run_cfg(train, **data) -> SimpleNamespace:
    """The part of a RunConfig the readers use (``cfg.data``), without depending on the task registry."""
    data = {k: str(v) if isinstance(v, Path) else v for k, v in data.items()}
    return SimpleNamespace(data=DataConfig(train=str(train), **data))


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


def read(path: Path, strict: bool = True, labelled: bool = True, **data):
    return read_generation(str(path), run_cfg(path, **data), strict, labelled)


def chat(*turns: tuple[str, str]) -> dict:
    return {"messages": [{"role": role, "content": content} for role, content in turns]}


# --- JSONL: prompt/completion and chat ---------------------------------------------------------------------------


def test_prompt_completion_strings_and_lists(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [
        {"prompt": "  Summarize: cats sleep a lot. ", "completion": " Cats sleep. "},
        {"prompt": ["First sentence. ", " Second sentence."], "completion": ["One ref.", "Another ref."]},
    ])
    examples = read(path).examples
    assert [e.messages for e in examples] == [
        [{"role": "user", "content": "Summarize: cats sleep a lot."}],
        [{"role": "user", "content": "First sentence. Second sentence."}],
    ]
    assert [e.references for e in examples] == [["Cats sleep."], ["One ref.", "Another ref."]]
    assert [e.source for e in examples] == [f"{path}:1", f"{path}:2"]
    assert [e.group for e in examples] == ["1", "2"]  # each record its own group


def test_custom_field_names_and_values(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [
        {"src": ["A b."], "tgt": "C d.", "slots": ["Paris", "7 pm"], "prompt": "unused: not the prompt field"},
    ])
    examples = read(path, prompt_field="src", completion_field="tgt", messages_field="chat",
                    values_field="slots").examples
    assert examples[0].messages == [{"role": "user", "content": "A b."}]
    assert examples[0].references == ["C d."]
    assert examples[0].values == ["Paris", "7 pm"]


def test_chat_record_last_assistant_turn_is_the_reference(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [
        chat(("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello."), ("user", "Time?"),
             ("assistant", "Noon.")),
    ])
    [example] = read(path).examples
    assert example.references == ["Noon."]
    assert [(m["role"], m["content"]) for m in example.messages] == [
        ("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello."), ("user", "Time?")]


def test_unlabelled_input_needs_only_the_prompt(tmp_path):
    path = write_jsonl(tmp_path / "input.jsonl", [{"prompt": "Say hi"}, chat(("user", "Hello"))])
    examples = read(path, labelled=False).examples
    assert [e.prompt for e in examples] == ["Say hi", "Hello"]
    assert all(e.references == [] for e in examples)
    with pytest.raises(DataError, match=r"input\.jsonl:1: the last message \(messages\[1\]\) is the assistant's"):
        read(write_jsonl(tmp_path / "input.jsonl", [chat(("user", "Hi"), ("assistant", "Hello"))]), labelled=False)


@pytest.mark.parametrize(
    ("records", "line", "fragment"),
    [
        ([{"prompt": "a", "completion": "b"}, chat(("system", "Be nice."), ("user", "Hi"))], 2,
         "chat record has no assistant message"),
        ([chat(("user", "Hi"), ("bot", "Hello"))], 1,
         "messages[1] has unknown role 'bot' (allowed: system, user, assistant)"),
        ([{"prompt": "a", "completion": "b"}, {"prompt": "a", "completion": "b"}, {"prompt": "a", "completion": " "}],
         3, "empty completion in field 'completion'"),
        ([{"prompt": "a", "completion": ["b", ""]}], 1, "empty completion in field 'completion' (item 1)"),
        ([chat(("user", "Hi"), ("assistant", "Hello"), ("user", "Bye"))], 1,
         "the last message must be the assistant's reply (messages[2] is user)"),
        ([chat(("system", "x"), ("assistant", "Hello"))], 1, "no user message before the reply"),
        ([{"prompt": "a", "completion": "b", "messages": []}], 1, "record has both 'prompt' and 'messages'"),
        ([{"text": "a"}], 1, "record has neither 'prompt' nor 'messages'"),
        ([{"prompt": "a"}], 1, "field 'completion' (the completion) missing"),
        ([{"prompt": 3, "completion": "b"}], 1, "field 'prompt' must be a string or a non-empty list of strings"),
        ([{"messages": [{"role": "user", "content": ["x"]}, {"role": "assistant", "content": "y"}]}], 1,
         "messages[0] (user): 'content' missing or not a string"),
    ],
    ids=["no-assistant", "unknown-role", "empty-completion", "empty-reference", "last-not-assistant",
         "no-user", "both", "neither", "no-completion", "prompt-type", "content-type"],
)
def test_bad_jsonl_records_name_file_line_and_problem(tmp_path, records, line, fragment):
    path = write_jsonl(tmp_path / "train.jsonl", records)
    with pytest.raises(DataError) as caught:
        read(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: ")
    assert fragment in message
    assert "\n" not in message


def test_values_field_must_be_a_list_of_strings(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [{"prompt": "a", "completion": "b", "values": [1]}])
    with pytest.raises(DataError, match=r"train\.jsonl:1: field 'values' \(data.values_field\) must be a list of"):
        read(path, values_field="values")


def test_non_strict_skips_and_collects(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [
        {"prompt": "good", "completion": "one"},
        "{not json",
        chat(("user", "Hi"), ("robot", "x")),
        {"prompt": "", "completion": "b"},
        {"prompt": "good too", "completion": "two"},
    ])
    result = read(path, strict=False)
    assert [e.references for e in result.examples] == [["one"], ["two"]]
    assert [p.split(": ", 1)[0] for p in result.problems] == [f"{path}:2", f"{path}:3", f"{path}:4"]
    assert "invalid JSON" in result.problems[0] and "'robot'" in result.problems[1]
    assert "empty prompt in field 'prompt'" in result.problems[2]


def test_format_dispatch_errors(tmp_path):
    path = write_jsonl(tmp_path / "train.json", [{"prompt": "a", "completion": "b"}])
    with pytest.raises(DataError, match=r"train\.json: .*set data.format"):
        read(path)
    assert read(path, format="jsonl").examples[0].references == ["b"]
    with pytest.raises(DataError, match="generation reads jsonl, sgd or squad-translation.*not conll"):
        read(path, format="conll")
    no_replies = write_jsonl(tmp_path / "sgd.jsonl", [{"id": "d", "turns": [{"speaker": "user", "text": "Hi"}]}])
    with pytest.raises(DataError, match=r"sgd\.jsonl: no examples found"):
        read(no_replies, format="sgd")


# --- SGD ---------------------------------------------------------------------------------------------------------


def turn(speaker: str, text: str, *acts: tuple[str, list[str]]) -> dict:
    return {"speaker": speaker, "text": text,
            "frames": [{"service": "Restaurants_1", "slots": [],
                        "acts": [{"act": act, "slot": "s", "values": values} for act, values in acts]}]}


DIALOGUE = {"id": "1_00001", "services": ["Restaurants_1"], "turns": [
    turn("user", "Find me a table in San Jose.", ("INFORM", ["San Jose"])),
    turn("system", "How about Sino at 7 pm? It is in San Jose.",
         ("OFFER", ["Sino"]), ("REQUEST", ["Italian"]), ("INFORM", ["San Jose", "Sino"]), ("CONFIRM", ["7 pm"]),
         ("NOTIFY_SUCCESS", ["yes"])),
    turn("user", "Yes please."),
    turn("system", "Booked.", ("NOTIFY_SUCCESS", [])),
]}


def test_sgd_examples_per_system_turn(tmp_path):
    lead = {"id": "2_00000", "turns": [turn("system", "Welcome!"), turn("user", "Hi"), turn("system", "Hello.")]}
    path = write_jsonl(tmp_path / "sgd.jsonl", [DIALOGUE, lead])
    examples = read(path, format="sgd").examples
    assert [e.references for e in examples] == [["How about Sino at 7 pm? It is in San Jose."], ["Booked."],
                                                ["Hello."]]
    assert examples[0].messages == [{"role": "user", "content": "Find me a table in San Jose."}]
    assert [m["role"] for m in examples[1].messages] == ["user", "assistant", "user"]
    assert examples[1].messages[1]["content"] == "How about Sino at 7 pm? It is in San Jose."
    assert examples[0].values == ["Sino", "San Jose", "7 pm"]  # OFFER/INFORM/CONFIRM, in order, no duplicates
    assert examples[1].values == []
    assert [e.group for e in examples] == ["1_00001", "1_00001", "2_00000"]
    assert [e.source for e in examples] == [f"{path}:1 turn 1", f"{path}:1 turn 3", f"{path}:2 turn 2"]
    # the leading system turn is context but not an example of its own (no user turn before it)
    assert [m["role"] for m in examples[2].messages] == ["assistant", "user"]


def test_sgd_unlabelled_has_no_references(tmp_path):
    path = write_jsonl(tmp_path / "sgd.jsonl", [DIALOGUE])
    examples = read(path, format="sgd", labelled=False).examples
    assert len(examples) == 2 and all(e.references == [] and e.values == [] for e in examples)


@pytest.mark.parametrize(
    ("dialogue", "fragment"),
    [
        ({"turns": []}, "dialogue 'id' missing"),
        ({"id": "d1", "turns": {}}, "dialogue d1: 'turns' missing or not a list"),
        ({"id": "d1", "turns": [turn("user", "hi"), turn("agent", "x")]},
         "dialogue d1: turns[1]: speaker must be 'user' or 'system', not 'agent'"),
        ({"id": "d1", "turns": [{"speaker": "user", "text": None}]}, "turns[0] (user): 'text' missing or not a string"),
        ({"id": "d1", "turns": [turn("user", "hi"), {"speaker": "system", "text": "ok", "frames": [{"acts": [
            {"act": "INFORM", "values": "Paris"}]}]}]}, "turns[1] (system): frames[0].acts[0] (INFORM): 'values'"),
    ],
    ids=["no-id", "turns-not-list", "bad-speaker", "text-not-string", "bad-values"],
)
def test_bad_sgd_dialogues(tmp_path, dialogue, fragment):
    path = write_jsonl(tmp_path / "sgd.jsonl", [DIALOGUE, dialogue])
    with pytest.raises(DataError) as caught:
        read(path, format="sgd")
    assert str(caught.value).startswith(f"{path}:2: ") and fragment in str(caught.value)
    result = read(path, format="sgd", strict=False)
    assert len(result.examples) == 2 and len(result.problems) == 1


def test_carving_keeps_a_dialogue_together(tmp_path):
    dialogues = [{"id": f"d{n}", "turns": [turn(s, f"{s} {n}.{i}") for i in range(6) for s in ("user", "system")]}
                 for n in range(10)]
    path = write_jsonl(tmp_path / "sgd.jsonl", dialogues)
    cfg = run_cfg(path, format="sgd", split={"dev": 0.2, "test": 0.2, "seed": 3})
    splits = load_generation_splits(cfg)
    groups = {name: {e.group for e in result.examples} for name, result in splits.items()}
    assert set(groups) == {"train", "dev", "test"} and all(groups.values())
    assert not (groups["train"] & groups["dev"] or groups["train"] & groups["test"] or groups["dev"] & groups["test"])
    for result in splits.values():  # a group's examples all went to one side: six per dialogue
        assert set(Counter(e.group for e in result.examples).values()) == {6}
    assert sum(len(r.examples) for r in splits.values()) == 60


@pytest.mark.skipif(not (DATASETS / "sgd" / "dev.jsonl").is_file(), reason="shared SGD data not present")
def test_real_sgd_dev():
    path = DATASETS / "sgd" / "dev.jsonl"
    examples = read(path, format="sgd").examples
    assert len(examples) > 15_000
    assert len({e.group for e in examples}) == 2098
    assert all(e.messages[-1]["role"] == "user" for e in examples)
    assert any(e.values for e in examples)


# --- SQuAD translation -------------------------------------------------------------------------------------------


def write_squad(path: Path, questions: list[tuple[str, str, str]]) -> Path:
    """(title, id, question) triples, one paragraph per article."""
    articles: dict[str, list] = {}
    for title, qid, question in questions:
        articles.setdefault(title, []).append({"id": qid, "question": question, "answers": []})
    data = [{"title": t, "paragraphs": [{"context": "Some context.", "qas": qas}]} for t, qas in articles.items()]
    path.write_text(json.dumps({"version": "1.1", "data": data}), encoding="utf-8")
    return path


def test_squad_translation_pairs_by_id(tmp_path):
    en = write_squad(tmp_path / "en.json", [("Cats", "q2", "Do cats sleep?"), ("Cats", "q1", "Why do cats purr?"),
                                             ("Dogs", "q3", "Do dogs bark?")])
    de = write_squad(tmp_path / "de.json", [("Hunde", "q3", "Bellen Hunde?"),
                                             ("Katzen", "q1", "Warum schnurren Katzen?"),
                                             ("Katzen", "q2", "Schlafen Katzen?"), ("Katzen", "q9", "Extra?")])
    examples = read(en, format="squad-translation", translation_target=de).examples
    assert [(e.prompt, e.references) for e in examples] == [
        ("Do cats sleep?", ["Schlafen Katzen?"]), ("Why do cats purr?", ["Warum schnurren Katzen?"]),
        ("Do dogs bark?", ["Bellen Hunde?"])]
    assert [e.group for e in examples] == ["Cats", "Cats", "Dogs"]  # the source file's titles
    assert examples[0].source == f"{en}: question q2"
    assert examples[0].messages == [{"role": "user", "content": "Do cats sleep?"}]


def test_squad_translation_errors(tmp_path):
    en = write_squad(tmp_path / "en.json", [("Cats", "q1", "Why?"), ("Cats", "q2", "Who?")])
    de = write_squad(tmp_path / "de.json", [("Katzen", "q1", "Warum?")])
    with pytest.raises(DataError, match=rf"^{en}: question q2: id not found in {de}"):
        read(en, format="squad-translation", translation_target=de)
    result = read(en, format="squad-translation", translation_target=de, strict=False)
    assert [e.references for e in result.examples] == [["Warum?"]] and len(result.problems) == 1
    with pytest.raises(ConfigError, match="data.translation_target is required for format squad-translation"):
        read(en, format="squad-translation")
    assert [e.prompt for e in read(en, format="squad-translation", labelled=False).examples] == ["Why?", "Who?"]


@pytest.mark.skipif(not (DATASETS / "xquad" / "xquad.de.json").is_file(), reason="shared XQuAD data not present")
def test_real_xquad_en_de():
    folder = DATASETS / "xquad"
    examples = read(folder / "xquad.en.json", format="squad-translation", translation_target=folder / "xquad.de.json")
    assert len(examples.examples) == 1190 and len({e.group for e in examples.examples}) == 48


# --- real SciTLDR ------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not (DATASETS / "scitldr" / "SciTLDR-A" / "dev.jsonl").is_file(),
                    reason="shared SciTLDR data not present")
def test_real_scitldr_dev_multi_reference():
    path = DATASETS / "scitldr" / "SciTLDR-A" / "dev.jsonl"
    examples = read(path, prompt_field="source", completion_field="target").examples
    assert len(examples) == 619
    counts = Counter(len(e.references) for e in examples)
    assert set(counts) == {1, 2, 3, 4} and counts[3] > counts[1]
    assert all(e.messages[0]["role"] == "user" and len(e.messages[0]["content"]) > 100 for e in examples)
