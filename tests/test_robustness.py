"""tuneforge robustness and augment: the perturbations, flips carried across changed words, the CLI on a run, the
augmented data, the flip gate of update, and bad input (one line, exit 2, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path
from random import Random

import pytest
import yaml
from test_text_data import INTENTS, text_config, write_csv

import tuneforge
from tuneforge.cli import main
from tuneforge.robustness.contractions import contractions
from tuneforge.robustness.kinds import TaggedKind, carried
from tuneforge.robustness.lexicons import city_groups, countries, name_groups
from tuneforge.robustness.names import swap_names
from tuneforge.robustness.places import swap_places
from tuneforge.robustness.punctuation import punctuation
from tuneforge.robustness.sample import Sample
from tuneforge.robustness.typos import typo

TEXTS = [("where is my card", "card_arrival"), ("My card has not arrived yet in Germany", "card_arrival"),
         ("how do I top up", "top_up"), ("I am in Poland, how do I add money?", "top_up"),
         ("I want to close my account, Maria", "close_account"), ("please delete my account", "close_account")]


# the lists -----------------------------------------------------------------------------------------------------

def test_name_and_place_lists_come_from_faker_with_its_licence():
    data = Path(tuneforge.__file__).parent / "robustness" / "data"
    assert "Faker" in json.loads((data / "names.json").read_text())["source"]
    assert "Permission is hereby granted" in (data / "FAKER-LICENSE.txt").read_text()
    groups = name_groups()
    assert {g.split("/")[0] for g in groups} == {"female", "male"} and len({g.split("/")[1] for g in groups}) == 5
    assert "Maria" in groups["female/us"] and "Aarav" in groups["male/indian"]
    for origin in {g.split("/")[1] for g in groups}:  # a name of both genders of one origin would blur the check
        assert not set(groups[f"female/{origin}"]) & set(groups[f"male/{origin}"])
    assert "Germany" in countries() and "Mumbai" in city_groups()["india"]


# the perturbations ----------------------------------------------------------------------------------------------

def test_names_swap_a_tagged_person_for_a_name_of_another_group():
    sample = Sample(["Bob", "Smith", "met", "Ana", "."], ["B-person", "I-person", "O", "B-person", "O"])
    p = swap_names(sample, Random(1))
    groups = name_groups()
    assert p.group in groups and p.words[0] in groups[p.group] and p.words[2] in groups[p.group]
    assert p.words[1:2] == ["met"] and p.tags == ["B-person", "O", "B-person", "O"]
    assert p.align == [0, None, 1, 2, 3]
    assert swap_names(Sample(["hello", "there"], ["O", "O"]), Random(1)) is None


def test_names_in_a_text_keep_their_punctuation_and_skip_the_first_word():
    p = swap_names(Sample(["I", "want", "to", "close", "my", "account,", "Maria"]), Random(3))
    assert p.words[:6] == ["I", "want", "to", "close", "my", "account,"]
    assert p.words[6] in name_groups()[p.group] and "Maria" not in name_groups()[p.group]  # another list
    assert swap_names(Sample(["Will", "you", "help", "me"]), Random(3)) is None


def test_places_swap_countries_and_cities():
    p = swap_places(Sample(["I", "am", "in", "Poland,", "how", "do", "I", "add", "money?"]), Random(2))
    assert p.group == "country" and p.words[3].endswith(",") and p.words[3][:-1] in countries()
    assert p.words[3] != "Poland,"
    p = swap_places(Sample(["flights", "from", "Mumbai", "today"]), Random(2))
    assert p.group.startswith("city/") and p.group != "city/india" and p.words[2] in city_groups()[p.group[5:]]
    tagged = swap_places(Sample(["to", "New", "York"], ["O", "B-location", "I-location"]), Random(2))
    assert tagged.tags == ["O", "B-location"] and tagged.align == [0, 1, None]


def test_contractions_both_ways_and_tags_kept():
    assert contractions(Sample(["I", "do", "not", "know"]), Random(0)).words == ["I", "don't", "know"]
    expanded = contractions(Sample(["I", "can't", "pay"]), Random(0))
    assert expanded.words == ["I", "cannot", "pay"]
    tagged = contractions(Sample(["I'm", "Bob"], ["O", "B-person"]), Random(0))
    assert tagged.words == ["I", "am", "Bob"] and tagged.tags == ["O", "O", "B-person"] and tagged.align == [0, 2]


def test_typos_punctuation():
    p = typo(Sample(["where", "is", "my", "card"]), Random(0))
    changed = [(a, b) for a, b in zip(["where", "is", "my", "card"], p.words, strict=True) if a != b]
    assert len(changed) == 1 and sorted(changed[0][0]) == sorted(changed[0][1])  # two letters swapped
    assert changed[0][0][0] == changed[0][1][0] and changed[0][0][-1] == changed[0][1][-1]
    assert punctuation(Sample(["how", "much?"]), Random(0)).words == ["how", "much"]
    assert punctuation(Sample(["how", "much"]), Random(0)).words == ["how", "much."]
    t = punctuation(Sample(["hi", "Bob", "!"], ["O", "B-person", "O"]), Random(0))
    assert t.words == ["hi", "Bob"] and t.align == [0, 1, None]


def test_a_tagger_flips_only_when_an_entity_changes_once_carried():
    align = [0, None, 1, 2]  # "Bob Smith met Ana" -> "Aarav met Ana"
    before = ["B-person", "I-person", "O", "B-person"]
    assert carried(before, align) == {("person", 0, 1), ("person", 2, 3)}
    from tuneforge.robustness.sample import Perturbed

    p = Perturbed(["Aarav", "met", "Ana"], ["B-person", "O", "B-person"], align)
    assert not TaggedKind.flipped((before, []), (["B-person", "O", "B-person"], []), p)
    assert TaggedKind.flipped((before, []), (["O", "O", "B-person"], []), p)


# on a run -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def intent_run(tmp_path_factory, tiny_model) -> Path:
    tmp = tmp_path_factory.mktemp("robust")
    train = write_csv(tmp / "train.csv", INTENTS * 4)
    test = write_csv(tmp / "test.csv", TEXTS)
    config = text_config(tmp, tiny_model, train=train, test=test)
    assert main(["train", str(config), "--set", "training.epochs=10", "--set", "training.lr=5e-3"]) == 0
    return tmp / "runs" / "t"


def test_robustness_counts_the_flips_it_sees(intent_run, capsys):
    assert main(["robustness", str(intent_run), "--only", "casing,clause,names"]) == 0
    out = capsys.readouterr().out
    assert "| suite | examples changed | flip rate | accuracy before | accuracy after | change |" in out
    record = json.loads((intent_run / "robustness.json").read_text())
    assert record["split"] == "test" and record["examples"] == 6
    suites = {r["suite"]: r for r in record["suites"]}
    cased = [t for t, _ in TEXTS if t != t.lower()]
    assert suites["casing"]["examples"] == len(cased) == 4  # the texts with a capital letter
    assert suites["names"]["examples"] == 1 and set(suites["names"]["by_group"]) <= set(name_groups())
    # the flip rate is what predicting the original and the lower-cased texts gives
    before = [p["label"] for p in tuneforge.predict(intent_run, cased)]
    after = [p["label"] for p in tuneforge.predict(intent_run, [t.lower() for t in cased])]
    flips = sum(a != b for a, b in zip(before, after, strict=True))
    assert suites["casing"]["flip_rate"] == pytest.approx(flips / 4, abs=1e-4)
    assert len(suites["casing"]["worst"]) == flips
    gold = {t: g for t, g in TEXTS}
    right = sum(p == gold[t] for t, p in zip(cased, before, strict=True)) / 4
    assert suites["casing"]["accuracy_before"] == pytest.approx(right, abs=1e-4)


def test_a_suite_naming_a_field_the_data_lacks(intent_run, tmp_path, capsys):
    suites = tmp_path / "suites.yaml"
    suites.write_text(yaml.safe_dump({"suites": [{"suite": "typos"}, {"suite": "names", "field": "body"}]}))
    out = tmp_path / "r.json"
    assert main(["robustness", str(intent_run), "--suites", str(suites), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: {suites}: suite 2 (names) names field 'body', which the run's data lacks (its fields: "
                   "text)\n")
    assert not out.exists()
    suites.write_text(yaml.safe_dump({"suites": [{"suite": "typo"}]}))
    assert main(["robustness", str(intent_run), "--suites", str(suites), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {suites}: suites.0.suite: Input should be ")
    assert not out.exists()


def test_augment_writes_labelled_copies_and_the_dev_split(tmp_path, capsys, tiny_model):
    train = write_csv(tmp_path / "train.csv", TEXTS + [(f"{t} please", g) for t, g in TEXTS])
    config = text_config(tmp_path, tiny_model, train=train)
    out = tmp_path / "aug"
    assert main(["augment", str(config), "--out", str(out), "--rate", "1", "--set", "data.split.dev=0.25"]) == 0
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    dev = [json.loads(line) for line in (out / "dev.jsonl").read_text().splitlines()]
    assert len(dev) == 3 and len(rows) == 2 * (12 - 3)  # every training text and one copy of each
    originals, copies = rows[0::2], rows[1::2]
    assert all(o["category"] == c["category"] and o["text"] != c["text"] for o, c in zip(originals, copies,
                                                                                       strict=True))
    assert not {r["text"] for r in dev} & {r["text"] for r in originals}  # dev carved before any copy
    suites = tmp_path / "s.yaml"
    suites.write_text(yaml.safe_dump({"suites": [{"suite": "typos", "field": "body"}]}))
    assert main(["augment", str(config), "--out", str(tmp_path / "none"), "--suites", str(suites)]) == 2
    assert "names field 'body', which the run's data lacks" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_update_refuses_when_a_flip_rate_rises_past_the_flip_gate(intent_run, tmp_path, capsys):
    new = write_csv(tmp_path / "new.csv", [(t.lower() + " thanks", g) for t, g in TEXTS] * 2)
    log = intent_run / "updates.jsonl"
    # a flip gate of 100 points can never refuse: the update is promoted and the flip rates are logged
    assert main(["update", str(intent_run), "--data", str(new), "--gate", "100", "--flip-gate", "100",
                 "--strategy", "naive", "--set", "training.epochs=1"]) == 0
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["promoted"] and entry["flip_gate"] == 100
    assert set(entry["flip_rates_before"]) == set(entry["flip_rates_after"]) >= {"typos", "casing", "clause"}
    capsys.readouterr()
    # a negative gate is refused before anything trains
    assert main(["update", str(intent_run), "--data", str(new), "--flip-gate", "-1"]) == 2
    assert capsys.readouterr().err.startswith("error: --flip-gate: -1.0 is negative")
