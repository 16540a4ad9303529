"""Continual learning: plans, class-incremental heads, the strategies' terms, the R-matrix report and the gate."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
import yaml
from conftest import write_conll

import tuneforge
from tuneforge.cli import main
from tuneforge.continual.head_growth import grow_head
from tuneforge.continual.measures import measures
from tuneforge.continual.stage_data import Sourced, Stage

STAGE_A = [("where is my card", "card_arrival"), ("my card has not arrived yet", "card_arrival"),
           ("how do I top up", "top_up"), ("add money to my account", "top_up")]
STAGE_B = [("set an alarm for six", "alarm"), ("wake me up at seven", "alarm"),
           ("what is the weather", "weather"), ("will it rain today", "weather")]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows), encoding="utf-8")
    return path


def intent_plan(tmp_path: Path, model: str, strategies=("naive",), stages=None, **extra) -> Path:
    a = [write_jsonl(tmp_path / f"a-{s}.jsonl", STAGE_A * n) for s, n in (("train", 4), ("test", 1))]
    b = [write_jsonl(tmp_path / f"b-{s}.jsonl", STAGE_B * n) for s, n in (("train", 4), ("test", 1))]
    plan = {"name": "p", "strategies": list(strategies), "output_dir": str(tmp_path / "out"),
            "config": {"task": "sequence-classification", "model": {"name": model, "max_length": 16},
                       "training": {"epochs": 2, "batch_size": 4, "lr": 1e-3, "progress": False, "seed": 1}},
            "stages": stages or [{"name": "a", "train": str(a[0]), "test": str(a[1])},
                                 {"name": "b", "train": str(b[0]), "test": str(b[1])}], **extra}
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan), encoding="utf-8")
    return path


def sha(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


# bad plans: one line naming the plan file and the stage, exit 2, before any model loads ------------------------

def test_stage_of_another_task_is_refused(tmp_path, capsys, tiny_model):
    plan = intent_plan(tmp_path, tiny_model)
    data = yaml.safe_load(plan.read_text())
    data["stages"][1]["task"] = "token-classification"
    plan.write_text(yaml.safe_dump(data))
    assert main(["continual", str(plan)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{plan}: stage 2 (b): task 'token-classification' differs" in err
    assert not (tmp_path / "out").exists()


def test_stage_reintroducing_a_label_is_refused(tmp_path, capsys, tiny_model):
    plan = intent_plan(tmp_path, tiny_model)
    data = yaml.safe_load(plan.read_text())
    data["stages"][1]["new_labels"] = ["alarm", "weather", "top_up"]
    plan.write_text(yaml.safe_dump(data))
    assert main(["continual", str(plan)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{plan}: stage 2 (b): new_labels: 'top_up' is not new: stage 1 (a) introduced it" in err
    assert "Traceback" not in err


def test_missing_file_and_unknown_strategy(tmp_path, capsys, tiny_model):
    plan = intent_plan(tmp_path, tiny_model)
    data = yaml.safe_load(plan.read_text())
    data["stages"][1]["test"] = str(tmp_path / "nope.jsonl")
    plan.write_text(yaml.safe_dump(data))
    assert main(["continual", str(plan)]) == 2
    assert f"{plan}: stage 2 (b): test: data file not found: {tmp_path / 'nope.jsonl'}" in capsys.readouterr().err
    assert main(["continual", str(plan), "--strategy", "replya"]) == 2
    assert "unknown strategy 'replya' (did you mean 'replay'?)" in capsys.readouterr().err
    data["stages"][0]["epochs"] = 3
    plan.write_text(yaml.safe_dump(data))
    assert main(["continual", str(plan)]) == 2
    assert f"{plan}: stage 1 (a): epochs: unknown key" in capsys.readouterr().err


def test_undeclared_label_and_bad_data_line_name_the_stage(tmp_path, capsys, tiny_model):
    plan = intent_plan(tmp_path, tiny_model)
    data = yaml.safe_load(plan.read_text())
    data["stages"][1]["new_labels"] = ["alarm"]
    plan.write_text(yaml.safe_dump(data))
    assert main(["continual", str(plan)]) == 2
    assert "stage 2 (b): train has label 'weather', which no earlier stage introduced" in capsys.readouterr().err
    bad = tmp_path / "b-train.jsonl"
    bad.write_text(bad.read_text() + "{not json\n")
    del data["stages"][1]["new_labels"]
    plan.write_text(yaml.safe_dump(data))
    assert main(["continual", str(plan)]) == 2
    err = capsys.readouterr().err
    assert f"stage 2 (b): {bad}:17" in err


# the parts -------------------------------------------------------------------------------------------------------

def test_grown_head_keeps_old_rows_and_outputs(tiny_model):
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model, num_labels=2).eval()
    ids = torch.tensor([[101, 2073, 2003, 102]])
    before = model(input_ids=ids).logits
    assert grow_head(model, ["a", "b", "c", "d"]) == 2
    after = model(input_ids=ids).logits
    assert after.shape == (1, 4) and torch.allclose(after[:, :2], before, atol=1e-6)  # old labels score as before
    assert model.config.id2label == {0: "a", 1: "b", 2: "c", 3: "d"} and model.num_labels == 4


def test_unannotated_types_are_not_trained_as_o(tiny_model):
    """A word tagged O in a stage that does not annotate 'person' may be a person: no loss for saying so."""
    from tuneforge.config.loading import validate
    from tuneforge.continual.tag_heads import ClassIncrementalTags
    from tuneforge.models import load_tokenizer
    from tuneforge.tasks import task_class

    cfg = validate({"task": "token-classification", "model": {"name": tiny_model}, "data": {"train": "x"}})
    head = ClassIncrementalTags(task_class(cfg.task), load_tokenizer(tiny_model), cfg, "plan")
    task = head.task(["person", "location"])
    assert task.labels == ["O", "B-person", "I-person", "B-location", "I-location"]

    class Fixed(torch.nn.Module):  # says "B-person" for every word, whatever the input
        def forward(self, input_ids, attention_mask, **_):
            logits = torch.full((*input_ids.shape, 5), -10.0)
            logits[..., 1] = 10.0
            return type("Out", (), {"logits": logits})()

    from tuneforge.data.examples import TaggedSentence

    sentence = TaggedSentence(["Alice", "sings"], ["O", "O"], "x:1")
    partial = head.features(task, [Sourced(sentence, 1)], [{"person"}, {"location"}])
    assert partial[0].unannotated == (1, 2)  # stage 2 annotates locations only
    batch = head.collate(task)(partial)
    loss, items, _, _ = head.forward(task, Fixed(), batch)
    assert items == 2 and loss.item() < 1e-6
    full = head.features(task, [Sourced(sentence, 0)], [{"person", "location"}])
    loss, _, _, _ = head.forward(task, Fixed(), head.collate(task)(full))
    assert loss.item() > 30  # where persons are annotated, calling an O word a person costs ~20 per word


def test_unannotated_types_o_trains_o_as_o():
    from tuneforge.continual.learner import annotations

    stages = [Stage(0, "a", [], [], None, ["person"], ["person"]), Stage(1, "b", [], [], None, ["location"],
                                                                       ["location"])]
    assert annotations(stages, "marginal") == [{"person"}, {"location"}]
    assert annotations(stages, "o") == [{"person", "location"}] * 2  # nothing unannotated: plain cross-entropy


def test_measures_of_a_known_matrix():
    r = [[0.9, 0.0, 0.0], [0.5, 0.8, 0.1], [0.3, 0.6, 0.7]]
    m = measures(r, [0.0, 0.05, 0.0])
    assert m["average"] == pytest.approx((0.3 + 0.6 + 0.7) / 3)
    assert m["backward_transfer"] == pytest.approx(((0.3 - 0.9) + (0.6 - 0.8)) / 2)
    assert m["forgetting"] == pytest.approx(((0.9 - 0.3) + (0.8 - 0.6)) / 2)
    assert m["forward_transfer"] == pytest.approx(((0.0 - 0.05) + (0.1 - 0.0)) / 2)


class Head:
    @staticmethod
    def labels_of(example):
        return [example[1]]

    @staticmethod
    def record(example):
        return {"text": example[0], "label": example[1]}

    @staticmethod
    def from_record(record):
        return (record["text"], record["label"])


def test_replay_buffer_is_bounded_class_balanced_and_saved(tmp_path):
    from tuneforge.continual.strategies.options import ReplayOptions
    from tuneforge.continual.strategies.replay import Replay

    replay = Replay(ReplayOptions(buffer_size=6), seed=1)
    replay.bind(Head(), 200)
    first = Stage(0, "a", [(f"a{i}", "x") for i in range(50)] + [(f"b{i}", "y") for i in range(50)], [], None,
                  ["x", "y"], ["x", "y"])
    replay.after_stage(None, first, [], None, None)
    assert sorted(e.example[1] for e in replay.buffer) == ["x"] * 3 + ["y"] * 3
    second = Stage(1, "b", [(f"c{i}", "z") for i in range(100)], [], None, ["z"], ["z"])
    replay.after_stage(None, second, [], None, None)
    assert sorted(e.example[1] for e in replay.buffer) == ["x", "x", "y", "y", "z", "z"]  # old labels keep a share
    assert {e.stage for e in replay.buffer if e.example[1] == "x"} == {0}
    trained = replay.training_examples(Stage(2, "c", [("d", "w")], [], None, ["w"], ["w"]), [])
    assert len(trained) == 7  # one new example: the buffer is not repeated
    trained = replay.training_examples(Stage(2, "c", [(f"d{i}", "w") for i in range(40)], [], None, ["w"], ["w"]), [])
    assert len(trained) == 40 + 6 * 6  # balanced: 2 per old label -> x20 to match 40, capped at 40 // 6 = 6 copies
    replay.save(tmp_path, Head())
    again = Replay(ReplayOptions(buffer_size=6), seed=1)
    again.load(tmp_path, Head())
    assert [(e.example, e.stage) for e in again.buffer] == [(e.example, e.stage) for e in replay.buffer]


def test_ewc_and_lwf_terms(tiny_model):
    from transformers import AutoModelForSequenceClassification

    from tuneforge.continual.strategies.ewc import Ewc
    from tuneforge.continual.strategies.lwf import Lwf
    from tuneforge.continual.strategies.options import EwcOptions, LwfOptions

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model, num_labels=2)
    batch = {"input_ids": torch.tensor([[101, 2073, 102], [101, 2003, 102]]),
             "attention_mask": torch.ones(2, 3, dtype=torch.long), "labels": torch.tensor([0, 1])}

    def forward(m, b):
        logits = m(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
        return torch.nn.functional.cross_entropy(logits, b["labels"], reduction="sum"), 2, logits, b["labels"] >= 0

    ewc = Ewc(EwcOptions(weight=10.0), seed=0)
    ewc.after_stage(model, None, [{"i": 0}, {"i": 1}], lambda fs: batch, forward)
    assert all(f.shape == p.shape for f, p in zip(ewc.fisher.values(), model.parameters(), strict=True))
    grow_head(model, ["a", "b", "c"])
    lwf = Lwf(LwfOptions(), seed=0)
    for strategy in (ewc, lwf):
        strategy.before_stage(model, old_outputs=2)
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    items = torch.ones(2, dtype=torch.bool)
    assert ewc.penalty(model, batch, logits, items).item() == 0.0  # at the anchor
    assert lwf.penalty(model, batch, logits, items).item() == pytest.approx(0.0, abs=1e-6)  # student == teacher
    with torch.no_grad():
        model.classifier.weight[2] += 5.0  # a new label's row: neither term holds it
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert ewc.penalty(model, batch, logits, items).item() == 0.0
    assert lwf.penalty(model, batch, logits, items).item() == pytest.approx(0.0, abs=1e-6)
    with torch.no_grad():
        model.classifier.weight[0] += 1.0  # an old label's row: both do
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert ewc.penalty(model, batch, logits, items).item() > 0
    assert lwf.penalty(model, batch, logits, items).item() > 1e-4


def test_strategies_place_what_they_create_on_the_models_device(tiny_model):
    """#36 item 22: placement follows the model. As in ``update``: the run loads on the CPU, where ewc's anchor
    and Fisher and lwf's teacher are made; the training loop then moves the model to its device (here ``meta``,
    a device that refuses to mix with the CPU as a GPU does); after training, ewc's Fisher batches (collated on
    the CPU) must run where the model is."""
    from transformers import AutoModelForSequenceClassification

    from tuneforge.continual.strategies.ewc import Ewc
    from tuneforge.continual.strategies.lwf import Lwf
    from tuneforge.continual.strategies.options import EwcOptions, LwfOptions

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model, num_labels=2)
    # No attention mask: transformers reads a mask's values to pick its attention path, which meta cannot give.
    batch = {"input_ids": torch.tensor([[101, 2073, 102], [101, 2003, 102]]), "labels": torch.tensor([0, 1])}

    def forward(m, b):
        logits = m(input_ids=b["input_ids"]).logits
        return torch.nn.functional.cross_entropy(logits, b["labels"], reduction="sum"), 2, logits, b["labels"] >= 0

    ewc, lwf = Ewc(EwcOptions(weight=10.0), seed=0), Lwf(LwfOptions(), seed=0)
    ewc.after_stage(model, None, [{"i": 0}, {"i": 1}], lambda fs: batch, forward)  # the run's own data, on the CPU
    grow_head(model, ["a", "b", "c"])
    for strategy in (ewc, lwf):
        strategy.before_stage(model, old_outputs=2)
    swap = torch.__future__.get_swap_module_params_on_conversion()
    torch.__future__.set_swap_module_params_on_conversion(True)  # the parameters stay the same objects, as they
    try:  # do when the training loop moves the model to a GPU (to meta they would otherwise be replaced)
        model.to("meta")
    finally:
        torch.__future__.set_swap_module_params_on_conversion(swap)
    on_device = {k: v.to("meta") for k, v in batch.items()}
    logits = model(input_ids=on_device["input_ids"]).logits
    items = torch.ones(2, dtype=torch.bool, device="meta")
    for strategy in (ewc, lwf):
        assert strategy.penalty(model, on_device, logits, items).device.type == "meta"
    assert {p.device.type for p in lwf.teacher.parameters()} == {"meta"}
    assert {t.device.type for _, anchor, fisher in ewc.held for t in (anchor, fisher)} == {"meta"}
    ewc.after_stage(model, None, [{"i": 0}, {"i": 1}], lambda fs: batch, forward)  # collated on the CPU again
    assert {t.device.type for t in (*ewc.fisher.values(), *ewc.anchor.values())} == {"meta"}

def test_router_sends_texts_to_their_stage():
    from transformers import AutoModel

    from tuneforge.continual.router import NearestClassRouter
    from tuneforge.models import load_pretrained, load_tokenizer

    router = NearestClassRouter(load_pretrained("minilm", AutoModel), load_tokenizer("minilm"), 32)
    router.add_stage(0, [t for t, _ in STAGE_A], [y for _, y in STAGE_A])
    router.add_stage(1, [t for t, _ in STAGE_B], [y for _, y in STAGE_B])
    assert router.route(["my new card is not here", "put money into my account", "ring at 5am",
                         "is it sunny tomorrow"]) == [0, 0, 1, 1]


# end to end --------------------------------------------------------------------------------------------------------

def test_plan_runs_strategies_and_reports_r(tmp_path, tiny_model):
    plan = intent_plan(tmp_path, tiny_model, strategies=["naive", "replay", "adapter-per-stage"],
                       replay={"buffer_size": 4})
    assert main(["continual", str(plan)]) == 0
    out = tmp_path / "out" / "p"
    report = json.loads((out / "report.json").read_text())
    assert report["stages"] == ["a", "b"] and list(report["strategies"]) == ["naive", "replay", "adapter-per-stage"]
    for result in report["strategies"].values():
        r = result["R"]
        assert len(r) == 2 and all(len(row) == 2 for row in r)
        assert r[0][1] == 0.0  # before stage b no model knows its labels
        assert result["average"] == pytest.approx(sum(r[1]) / 2)
        assert result["backward_transfer"] == pytest.approx(r[1][0] - r[0][0])
    assert "| replay |" in (out / "report.md").read_text() and (out / "R-replay.svg").read_text().startswith("<svg")
    # a single-model strategy leaves a run directory: its head grew, the labels in the order stages added them
    run = out / "replay"
    assert json.loads((run / "model" / "labels.json").read_text()) == ["card_arrival", "top_up", "alarm", "weather"]
    assert len((run / "replay_buffer.jsonl").read_text().splitlines()) == 4
    answers = tuneforge.predict(run, ["where is my card"])
    assert answers[0]["label"] in {"card_arrival", "top_up", "alarm", "weather"}
    # adapter-per-stage: one adapter per stage, each with its own labels, and the router
    assert json.loads((out / "adapter-per-stage" / "stages" / "2" / "labels.json").read_text()) == ["alarm", "weather"]
    assert (out / "adapter-per-stage" / "router.safetensors").is_file()
    # a second run of one strategy keeps the others' results
    assert main(["continual", str(plan), "--strategy", "joint"]) == 0
    assert list(json.loads((out / "report.json").read_text())["strategies"]) == [
        "naive", "replay", "adapter-per-stage", "joint"]


def test_ner_plan_grows_the_tag_set(tmp_path, tiny_model):
    people = [[("Alice", "B-person"), ("sings", "O")], [("Bob", "B-person"), ("Smith", "I-person"), ("runs", "O")]]
    places = [[("Paris", "B-location"), ("is", "O"), ("big", "O")], [("in", "O"), ("Rome", "B-location")]]
    files = {}
    for name, rows in (("people", people), ("places", places)):
        files[name] = write_conll(tmp_path / f"{name}.conll", rows * 4)
    plan = {"name": "ner", "strategies": ["lwf"], "output_dir": str(tmp_path / "out"),
            "config": {"task": "token-classification", "model": {"name": tiny_model, "max_length": 32, "stride": 8},
                       "training": {"epochs": 1, "batch_size": 4, "progress": False}},
            "stages": [{"name": n, "train": str(f), "test": str(f)} for n, f in files.items()]}
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    assert main(["continual", str(path)]) == 0
    run = tmp_path / "out" / "ner" / "lwf"
    assert json.loads((run / "model" / "labels.json").read_text()) == [
        "O", "B-person", "I-person", "B-location", "I-location"]
    report = json.loads((tmp_path / "out" / "ner" / "report.json").read_text())
    assert report["metric"] == "f1" and len(report["strategies"]["lwf"]["R"]) == 2


# the gate -----------------------------------------------------------------------------------------------------------

def test_update_refused_beyond_the_gate_leaves_the_old_model(tmp_path, capsys, tiny_model):
    train = write_jsonl(tmp_path / "train.jsonl", STAGE_A * 6)
    test = write_jsonl(tmp_path / "test.jsonl", STAGE_A)
    cfg = {"name": "r", "task": "sequence-classification", "model": {"name": tiny_model, "max_length": 16},
           "data": {"train": str(train), "test": str(test)}, "output_dir": str(tmp_path / "runs"),
           "training": {"epochs": 30, "batch_size": 4, "lr": 5e-3, "progress": False, "seed": 1, "warmup_ratio": 0}}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(cfg))
    assert main(["train", str(config)]) == 0
    run = tmp_path / "runs" / "r"
    assert json.loads((run / "report.json").read_text())["test"]["accuracy"] == 1.0
    weights, before = sha(run / "model"), tuneforge.predict(run, [t for t, _ in STAGE_A])
    new = write_jsonl(tmp_path / "new.jsonl", STAGE_B * 6)
    # naive fine-tuning on new labels alone, hard: the old intents are forgotten
    assert main(["update", str(run), "--data", str(new), "--strategy", "naive", "--gate", "1.0",
                 "--set", "training.epochs=20", "--set", "training.lr=5e-3"]) == 3
    err = capsys.readouterr().err
    assert "update refused: test accuracy fell" in err and "the run's model is unchanged" in err
    assert sha(run / "model") == weights
    assert tuneforge.predict(run, [t for t, _ in STAGE_A]) == before
    log = [json.loads(line) for line in (run / "updates.jsonl").read_text().splitlines()]
    assert log[-1]["promoted"] is False and log[-1]["before"]["test"] == 1.0
    assert (run / "updates" / "1" / "model" / "labels.json").is_file()  # the candidate, kept for inspection

    # with a gate that allows anything, the same update is promoted and the head has grown
    assert main(["update", str(run), "--data", str(new), "--strategy", "naive", "--gate", "100",
                 "--set", "training.epochs=2"]) == 0
    assert json.loads((run / "model" / "labels.json").read_text()) == ["card_arrival", "top_up", "alarm", "weather"]
    assert sha(run / "updates" / "2" / "previous-model") == weights


def test_update_bad_input(tmp_path, capsys, tiny_model):
    assert main(["update", str(tmp_path / "nope"), "--data", str(tmp_path / "x.jsonl")]) == 2
    assert "--data: data file not found" in capsys.readouterr().err
    new = write_jsonl(tmp_path / "new.jsonl", STAGE_B)
    assert main(["update", str(tmp_path / "nope"), "--data", str(new), "--strategy", "adapter-per-stage"]) == 2
    assert "cannot update one run's model" in capsys.readouterr().err
    assert main(["update", str(tmp_path / "nope"), "--data", str(new), "--set", "model.name=x"]) == 2
    assert "--set: an update may change training.*" in capsys.readouterr().err


class OneTagTeacher(torch.nn.Module):
    """A previous model that gives every word one of 3 tags (logit 10, the others -10)."""

    def __init__(self, tag: int):
        super().__init__()
        self.tag = tag
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask, **_):
        logits = torch.full((*input_ids.shape, 3), -10.0)
        logits[..., self.tag] = 10.0
        return type("Out", (), {"logits": logits})()


class TagHead:
    """A tag head whose background (O) output is 0."""

    @staticmethod
    def background(task):
        return 0


def test_lwf_pseudo_labels_words_the_teacher_knows():
    """An O word the previous model confidently calls a person is trained towards B-person (NER)."""
    from tuneforge.continual.strategies.lwf import Lwf
    from tuneforge.continual.strategies.options import LwfOptions

    lwf = Lwf(LwfOptions(weight=0.0), seed=0)  # distillation off: only the pseudo-labels count
    lwf.bind(TagHead(), 1)
    lwf.before_stage(OneTagTeacher(1), old_outputs=3, task=object())  # B-person for every word
    batch = {"input_ids": torch.ones(1, 2, dtype=torch.long), "attention_mask": torch.ones(1, 2, dtype=torch.long),
             "labels": torch.tensor([[0, 3]])}  # word 1 tagged O, word 2 a new type's tag
    agrees = torch.tensor([[[-5.0, 5.0, -5.0, 0.0], [0.0, 0.0, 0.0, 5.0]]])
    disagrees = torch.tensor([[[5.0, -5.0, -5.0, 0.0], [0.0, 0.0, 0.0, 5.0]]])
    items = torch.tensor([[True, True]])
    assert lwf.penalty(None, batch, agrees, items).item() < 0.01
    assert lwf.penalty(None, batch, disagrees, items).item() > 9  # -log p(B-person) ~ 10 on word 1 alone
    lwf.options.pseudo_label = None
    assert lwf.penalty(None, batch, disagrees, items).item() == 0.0


def test_lwf_distils_only_o_words_when_asked():
    """distil_on: background leaves a new type's words to their labels; all distils them too."""
    from tuneforge.continual.strategies.lwf import Lwf
    from tuneforge.continual.strategies.options import LwfOptions

    batch = {"input_ids": torch.ones(1, 2, dtype=torch.long), "attention_mask": torch.ones(1, 2, dtype=torch.long),
             "labels": torch.tensor([[0, 3]])}  # word 1 tagged O, word 2 a new type's tag
    # word 1 agrees with the teacher; word 2 (the new type) puts its old-output mass on B-person, not O
    student = torch.tensor([[[9.0, -9.0, -9.0, 0.0], [-9.0, 9.0, -9.0, 9.0]]])
    items = torch.tensor([[True, True]])
    penalties = {}
    for where in ("all", "background"):
        lwf = Lwf(LwfOptions(pseudo_label=None, distil_on=where), seed=0)
        lwf.bind(TagHead(), 1)
        lwf.before_stage(OneTagTeacher(0), old_outputs=3, task=object())  # O for every word
        penalties[where] = lwf.penalty(None, batch, student, items).item()
    assert penalties["background"] < 0.01  # only word 1, which matches the teacher
    assert penalties["all"] > 10  # word 2 is pulled back towards the teacher's O as well


def test_a_bad_lwf_option_is_one_line_naming_the_key(tmp_path, capsys, tiny_model):
    plan = intent_plan(tmp_path, tiny_model)
    data = yaml.safe_load(plan.read_text())
    data["lwf"] = {"distil_on": "entities"}
    plan.write_text(yaml.safe_dump(data))
    assert main(["continual", str(plan)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and str(plan) in err[0] and "lwf.distil_on" in err[0] and "'background'" in err[0], err
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_adapter_per_stage_trains_its_own_epochs_and_rate():
    from tuneforge.config.loading import validate
    from tuneforge.continual.strategies.adapter_per_stage import adapter_config
    from tuneforge.continual.strategies.options import AdapterPerStageOptions

    cfg = validate({"task": "token-classification", "data": {"train": "t.conll"},
                    "training": {"epochs": 3, "lr": 1e-4}})
    longer = adapter_config(cfg, AdapterPerStageOptions(epochs=8, lr=2e-3))
    assert (longer.training.epochs, longer.training.lr) == (8, 2e-3)
    assert longer.method == AdapterPerStageOptions().method != cfg.method  # an adapter, not the full model
    assert adapter_config(cfg, AdapterPerStageOptions()).training.epochs == 3  # by default the config's
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        AdapterPerStageOptions(epochs=0)
