"""Label-scarce classification: label specs, zero-shot from descriptions, schema-guided and contrastive
training, bounded pair sampling, the logistic head, SGD intents, and the fewshot learning curve."""

from __future__ import annotations

import json
import re
import resource

import numpy as np
import pytest
import torch
import yaml
from test_text_data import INTENTS, write_csv

import tuneforge
from tuneforge.cli import main
from tuneforge.config.loading import load_config
from tuneforge.errors import ConfigError, DataError
from tuneforge.prompting.label_specs import read_label_file, readable

DESCRIBED = [{"name": "card_arrival", "description": "my new card has not arrived yet",
              "examples": ["where is my card"]},
             {"name": "top_up", "description": "add money to my account"},
             {"name": "close_account", "description": "close or delete my account"}]


def embedding_config(tmp_path, model: str, **options) -> dict:
    return {"name": "e", "task": "embedding-classification", "model": {"name": model, "max_length": 32},
            "task_options": {"labels": DESCRIBED, **options},
            "training": {"epochs": 1, "batch_size": 4, "progress": False, "seed": 1},
            "output_dir": str(tmp_path / "runs")}


def write_yaml(path, data) -> str:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


# label specs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("labels, message", [
    ([{"description": "no name"}], "missing required key 'task_options.labels.0.name'"),
    ([{"name": "  "}], "bad value for 'task_options.labels.0.name': a label needs a name"),
    ([{"name": "a", "description": ""}], "bad value for 'task_options.labels.0.description': an empty description"),
])
def test_a_zero_shot_label_without_name_or_description_is_one_config_line(tmp_path, labels, message):
    with pytest.raises(ConfigError) as err:
        load_config({"task": "embedding-classification", "task_options": {"labels": labels}})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_zero_shot_needs_labels_but_no_train_data():
    with pytest.raises(ConfigError, match="zero-shot classification needs labels"):
        load_config({"task": "embedding-classification"})
    cfg = load_config({"task": "embedding-classification", "task_options": {"labels": DESCRIBED}})
    assert cfg.data.train is None
    with pytest.raises(ConfigError, match="missing required key 'data.train'"):  # pairs train on examples
        load_config({"task": "embedding-classification", "task_options": {"labels": DESCRIBED,
                                                                          "contrastive": "pairs"}})
    with pytest.raises(ConfigError, match="method lora cannot train task embedding-classification"):
        load_config({"task": "embedding-classification", "method": "lora", "data": {"train": "x.csv"}})


def test_label_files_in_every_shape_and_their_errors(tmp_path):
    listed = write_yaml(tmp_path / "l.yaml", [{"name": "a", "description": "first"}, "b"])
    assert [(s.name, s.description) for s in read_label_file(listed)] == [("a", "first"), ("b", None)]
    mapping = write_yaml(tmp_path / "m.yaml", {"a": "first", "b": {"description": "second", "examples": ["x"]}})
    assert [s.texts("description") for s in read_label_file(mapping)] == [["first"], ["second", "x"]]
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps([{"service_name": "Banks_2", "intents": [
        {"name": "TransferMoney", "description": "Send money"}]}]))
    assert [(s.name, s.description) for s in read_label_file(str(schema))] == [("Banks_2:TransferMoney", "Send money")]
    bad = write_yaml(tmp_path / "bad.yaml", [{"name": "a"}, {"description": "who am I"}])
    with pytest.raises(ConfigError, match=r"bad.yaml: entry 2 name: Field required"):
        read_label_file(bad)
    twice = write_yaml(tmp_path / "twice.yaml", ["a", "a"])
    with pytest.raises(ConfigError, match="label 'a' is described twice"):
        read_label_file(twice)
    assert readable("Banks_2:TransferMoney") == "transfer money" and readable("card_arrival") == "card arrival"


# zero-shot ------------------------------------------------------------------------------------
def test_zero_shot_predicts_and_evaluates_straight_from_the_config(tmp_path, capsys):
    """The real MiniLM: nothing trains, the config is all there is."""
    test = write_csv(tmp_path / "test.csv", INTENTS)
    cfg = embedding_config(tmp_path, "minilm")
    cfg["data"] = {"test": str(test), "label_field": "category"}
    config = write_yaml(tmp_path / "zero.yaml", cfg)
    assert main(["predict", config, "my card never came", "I want to put money in"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["label"] for x in lines] == ["card_arrival", "top_up"]
    assert lines[0]["top_k"][0]["score"] > lines[0]["top_k"][1]["score"]  # cosine similarities, best first
    assert main(["evaluate", config, "--data", str(test), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == 1.0
    # an out-of-scope threshold on the cosine similarity
    cfg["task_options"].update(out_of_scope_label="oos", oos_threshold=0.99)
    run = tuneforge.load_run(write_yaml(tmp_path / "oos.yaml", cfg))
    assert run.predict(["my card never came"])[0]["label"] == "oos"


def test_a_config_that_trains_cannot_answer_by_itself(tmp_path, tiny_model, capsys):
    train = write_csv(tmp_path / "train.csv", INTENTS)
    cfg = embedding_config(tmp_path, tiny_model, contrastive="pairs")
    cfg["data"] = {"train": str(train), "label_field": "category"}
    assert main(["predict", write_yaml(tmp_path / "c.yaml", cfg), "hello"]) == 2
    assert "this config trains a model; train it first" in capsys.readouterr().err


# training ---------------------------------------------------------------------------------------
def test_a_few_shot_label_without_examples_is_one_config_line(tmp_path, tiny_model):
    train = write_csv(tmp_path / "train.csv", INTENTS[:4])  # no close_account
    cfg = embedding_config(tmp_path, tiny_model, contrastive="pairs")
    cfg["data"] = {"train": str(train), "label_field": "category"}
    with pytest.raises(ConfigError, match="label 'close_account' has no examples in data.train"):
        tuneforge.train(cfg)
    assert not (tmp_path / "runs").exists()


def test_contrastive_run_saves_loads_and_predicts_like_any_other(tmp_path, tiny_model):
    train = write_csv(tmp_path / "train.csv", INTENTS * 2)
    cfg = embedding_config(tmp_path, tiny_model, contrastive="pairs", pairs_per_example=4)
    cfg["data"] = {"train": str(train), "test": str(train), "label_field": "category"}
    cfg["training"].update(epochs=3, lr=1e-3, warmup_ratio=0)
    run_dir = tuneforge.train(cfg)
    report = json.loads((run_dir / "report.json").read_text())
    assert report["head"] == "logistic"
    assert report["training"]["steps"] == 3 * (12 * 4) // 4  # 4 pairs per example, batches of 4
    assert (run_dir / "model" / "embedding_head.safetensors").is_file()
    run = tuneforge.load_run(run_dir)
    texts = [t for t, _ in INTENTS]
    predicted = [p["label"] for p in run.predict(texts)]
    assert np.mean([p == gold for p, (_, gold) in zip(predicted, INTENTS, strict=True)]) == report["test"]["accuracy"]
    # the saved encoder is a plain transformers model another config can start from
    from transformers import AutoModel

    assert AutoModel.from_pretrained(run_dir / "model").config.hidden_size == 32


def test_pair_loss_masks_same_label_partners_and_falls_with_training(tmp_path, tiny_model):
    from tuneforge.models import load_tokenizer
    from tuneforge.tasks.embedding_classification.task import EmbeddingClassification

    train = write_csv(tmp_path / "train.csv", INTENTS)
    cfg_dict = embedding_config(tmp_path, tiny_model, contrastive="pairs", pairs_per_example=2)
    cfg_dict["data"] = {"train": str(train), "label_field": "category"}
    cfg = load_config(cfg_dict)
    splits = EmbeddingClassification.load_splits(cfg)
    task = EmbeddingClassification.for_training(load_tokenizer(tiny_model), cfg, splits)
    features = task.encode(splits["train"].examples)
    assert len(features) == 12 and all(f.label == task.label2id[splits["train"].examples[0].label] or True
                                       for f in features)
    torch.manual_seed(0)
    model = task.build_model(tiny_model, 0.0)
    batch = task.collate(features)
    loss, items = task.compute_loss(model, batch)
    assert items == 12 and torch.isfinite(loss)  # same-label partners are masked, never -inf targets
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(15):
        optimizer.zero_grad()
        task.compute_loss(model, batch)[0].backward()
        optimizer.step()
    assert task.compute_loss(model, batch)[0] < loss * 0.7


def test_description_loss_is_cross_entropy_over_the_candidates_only(tmp_path, tiny_model):
    from tuneforge.data.examples import TextExample
    from tuneforge.models import load_tokenizer
    from tuneforge.tasks.embedding_classification.task import EmbeddingClassification

    cfg = load_config({**embedding_config(tmp_path, tiny_model, contrastive="descriptions"),
                       "data": {"train": "unused.csv"}})
    task = EmbeddingClassification(load_tokenizer(tiny_model), [s["name"] for s in DESCRIBED], cfg,
                                   cfg.task_options.labels)
    examples = [TextExample("where is it", "card_arrival", "x:1", candidates=["card_arrival", "top_up"])]
    torch.manual_seed(0)
    model = task.build_model(tiny_model, 0.0).eval()
    loss, items = task.compute_loss(model, task.collate(task.encode(examples)))
    with torch.no_grad():
        plain = task.collate(task.encode(examples, with_labels=False))
        text = model.embed(plain["input_ids"], plain["attention_mask"])
        labels = task._label_batch(model)
    scores = cfg.task_options.scale * text @ labels[:2].T  # close_account is no candidate
    assert items == 1 and loss.item() == pytest.approx(torch.nn.functional.cross_entropy(scores, torch.tensor([0]))
                                                       .item(), rel=1e-4)


def test_schema_guided_encoder_serves_new_labels_from_a_zero_shot_config(tmp_path, tiny_model):
    train = write_csv(tmp_path / "train.csv", INTENTS)
    cfg = embedding_config(tmp_path, tiny_model, contrastive="descriptions")
    cfg["data"] = {"train": str(train), "label_field": "category"}
    run_dir = tuneforge.train(cfg)
    new = {"name": "z", "task": "embedding-classification", "model": {"name": str(run_dir / "model")},
           "task_options": {"labels": [{"name": "greeting", "description": "hello there"},
                                       {"name": "farewell", "description": "goodbye now"}]}}
    run = tuneforge.load_run(write_yaml(tmp_path / "new.yaml", new))
    assert run.labels == ["greeting", "farewell"]
    assert {p["label"] for p in run.predict(["hello there", "goodbye now"])} <= {"greeting", "farewell"}


# parts ----------------------------------------------------------------------------------------
def test_pairs_are_bounded_same_label_and_cheap_with_150_classes():
    from tuneforge.prompting.pair_sampling import positive_pairs

    labels = [i // 16 for i in range(150 * 16)]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pairs = positive_pairs(labels, per_example=20, max_pairs=30_000, seed=0)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert pairs.shape == (30_000, 2) and pairs.dtype == np.int32
    anchors, partners = pairs[:, 0], pairs[:, 1]
    assert all(labels[a] == labels[b] for a, b in pairs[:500]) and not np.any(anchors == partners)
    assert np.bincount(anchors, minlength=2400).max() <= 20  # every example keeps its bounded share
    assert grown_mib < 64
    alone = positive_pairs([0, 1, 1], per_example=2, max_pairs=100, seed=0)  # a label of one: itself
    assert {tuple(p) for p in alone if p[0] == 0} == {(0, 0)}
    assert np.array_equal(positive_pairs(labels, 3, 1000, 7), positive_pairs(labels, 3, 1000, 7))


def test_logistic_head_separates_what_is_separable():
    from tuneforge.prompting.logistic_head import fit_logistic

    torch.manual_seed(0)
    centers = torch.nn.functional.normalize(torch.randn(5, 16), dim=-1)
    targets = torch.arange(5).repeat(8)
    x = centers[targets] + 0.05 * torch.randn(40, 16)
    with torch.inference_mode():  # evaluation calls it under inference mode
        weight, bias = fit_logistic(x, targets, 5)
    assert ((x @ weight.T + bias).argmax(1) == targets).all()


def test_sgd_intents_reader(tmp_path):
    from tuneforge.data.sgd_intents import read_sgd_intents

    (tmp_path / "dev_schema.json").write_text(json.dumps([{"service_name": "Alarm_1", "intents": [
        {"name": "AddAlarm", "description": "Set a new alarm"}, {"name": "GetAlarms", "description": "List"}]}]))
    turn = lambda text, intent: {"speaker": "user", "text": text,  # noqa: E731
                                 "frames": [{"service": "Alarm_1", "intent": intent}]}
    dialogue = {"id": "1", "turns": [turn("Hi", "NONE"), {"speaker": "system", "text": "Hello"},
                                     turn("Wake me at 7", "AddAlarm"), turn("Thanks", "AddAlarm")]}
    path = tmp_path / "dev.jsonl"
    path.write_text(json.dumps(dialogue) + "\n")
    examples = read_sgd_intents(str(path)).examples
    assert [e.label for e in examples] == ["NONE", "Alarm_1:AddAlarm", "Alarm_1:AddAlarm"]
    assert examples[2].text == "Thanks Wake me at 7 Hi"  # newest first: the active intent is in the context
    assert examples[0].candidates == ["Alarm_1:AddAlarm", "Alarm_1:GetAlarms", "NONE"]
    assert examples[0].group == "Alarm_1" and examples[1].source.endswith("dev.jsonl:1 turn 2")
    dialogue["turns"][2]["frames"][0]["intent"] = "Snooze"
    path.write_text(json.dumps(dialogue) + "\n")
    with pytest.raises(DataError, match=r"dev.jsonl:1: turns\[2\]: intent 'Snooze' is not an intent of Alarm_1"):
        read_sgd_intents(str(path))
    (tmp_path / "dev_schema.json").unlink()
    with pytest.raises(DataError, match="needs the services' schema beside it"):
        read_sgd_intents(str(path))


def test_fewshot_draws_shots_and_writes_the_curve(tmp_path, tiny_model, capsys):
    from tuneforge.studies.fewshot import draw_shots, parse_shots

    data = write_csv(tmp_path / "train.csv", INTENTS * 3)
    cfg = embedding_config(tmp_path, tiny_model)
    cfg["data"] = {"train": str(data), "test": str(data), "label_field": "category"}
    config = write_yaml(tmp_path / "few.yaml", cfg)
    examples = tuneforge.tasks.task_class("embedding-classification").read(str(data), load_config(config)).examples
    one, again, other = draw_shots(examples, 2, 0), draw_shots(examples, 2, 0), draw_shots(examples, 2, 1)
    assert [e.source for e in one] == [e.source for e in again] != [e.source for e in other]
    assert sorted(e.label for e in one) == sorted(["card_arrival", "close_account", "top_up"] * 2)
    assert parse_shots("0,2,all") == [0, 2, "all"]
    with pytest.raises(ConfigError, match="expected numbers of examples per label"):
        parse_shots("0,few")
    out = tmp_path / "out"
    args = ["fewshot", config, "--shots", "0,2", "--seeds", "2", "--approaches", "zero-shot,frozen-logistic",
            "--output", str(out)]
    assert main(args) == 0
    result = json.loads((out / "fewshot.json").read_text())
    assert sorted(result["cells"]) == ["frozen-logistic/2/0", "frozen-logistic/2/1", "zero-shot/0/0", "zero-shot/0/1"]
    assert "| frozen-logistic | – |" in (out / "fewshot.md").read_text()
    legend = re.findall(r"<text[^>]*>([^<]*)</text>", (out / "fewshot.svg").read_text())
    assert "frozen-logistic" in legend and "zero-shot" in legend
    assert not (out / "runs" / "frozen-logistic-k2-seed0" / "model").exists()  # scored, then removed
    capsys.readouterr()
    assert main(args) == 0  # a rerun measures nothing again
    assert "tuneforge fewshot:" not in capsys.readouterr().err
    assert main([*args[:3], "3", *args[4:]]) == 0  # another shot count adds a column to the same table
    table = (out / "fewshot.md").read_text()
    assert "| 0 shots | 2 shots | 3 shots |" in table and "frozen-logistic/3/1" in (out / "fewshot.json").read_text()


def test_fewshot_prompts_a_causal_lm_calibrated_unless_told_not_to(tmp_path, tiny_model, tiny_llama):
    from tuneforge.studies.fewshot import fewshot

    data = write_csv(tmp_path / "train.csv", INTENTS * 3)
    cfg = embedding_config(tmp_path, tiny_model)
    cfg["data"] = {"train": str(data), "test": str(data), "label_field": "category"}
    config = write_yaml(tmp_path / "few.yaml", cfg)
    cells = {}
    for calibrate in (True, False):
        result = fewshot(config, [0, 2], 1, ["lm-prompt"], tmp_path / f"out-{calibrate}",
                         lm_options={"lm_model": tiny_llama, "lm_test_limit": 4, "lm_calibrate": calibrate},
                         log=lambda _m: None)
        cells[calibrate] = result["cells"]
    for calibrate, got in cells.items():
        assert sorted(got) == ["lm-prompt/0/0", "lm-prompt/2/0"]
        assert [got[k]["calibrated"] for k in sorted(got)] == [calibrate, calibrate]
        assert got["lm-prompt/0/0"]["demonstrations"] == 0 and got["lm-prompt/2/0"]["demonstrations"] == 6
        assert got["lm-prompt/2/0"]["examples"] == 4
    # a rerun with the other setting measures the cells again; with the same one, nothing
    again = fewshot(config, [0, 2], 1, ["lm-prompt"], tmp_path / "out-True",
                    lm_options={"lm_model": tiny_llama, "lm_test_limit": 4, "lm_calibrate": False}, log=lambda _m: None)
    assert [c["calibrated"] for c in again["cells"].values()] == [False, False]
    logged = []
    fewshot(config, [0, 2], 1, ["lm-prompt"], tmp_path / "out-True",
            lm_options={"lm_model": tiny_llama, "lm_test_limit": 4, "lm_calibrate": False}, log=logged.append)
    assert logged == []
    # any other prompting option or config measures them again too (#36.25: the cache key ignored them)
    for options, overrides in (({"lm_test_limit": 3}, None), ({"lm_instruction": "Label:"}, None),
                               ({"lm_context": 2}, None), ({}, ["data.split.seed=7"])):
        logged = []
        fewshot(config, [0, 2], 1, ["lm-prompt"], tmp_path / "out-True", overrides=overrides,
                lm_options={"lm_model": tiny_llama, "lm_test_limit": 4, "lm_calibrate": False, **options},
                log=logged.append)
        assert logged == ["lm-prompt, 0 shots, seed 0", "lm-prompt, 2 shots, seed 0"], options


def test_check_data_of_a_zero_shot_config_counts_labels_outside_the_descriptions(tmp_path, capsys):
    test = write_csv(tmp_path / "test.csv", [*INTENTS, ("what is the weather", "weather")])
    cfg = embedding_config(tmp_path, "minilm")
    cfg["data"] = {"test": str(test), "label_field": "category"}
    assert main(["check-data", write_yaml(tmp_path / "zero.yaml", cfg)]) != 0
    out = capsys.readouterr().out
    assert "== test: 7 examples" in out and "weather" in out


def test_bad_fewshot_arguments_and_label_files_are_one_line_errors(tmp_path, capsys):
    data = write_csv(tmp_path / "train.csv", INTENTS)
    cfg = embedding_config(tmp_path, "minilm")
    cfg["data"] = {"train": str(data), "test": str(data), "label_field": "category"}
    config = write_yaml(tmp_path / "few.yaml", cfg)
    for args, message in [(["--approaches", "zero-shot,guessing"], "--approaches: unknown guessing"),
                          (["--seeds", "0"], "--seeds must be at least 1"),
                          (["--set", "task_options.labels_file=missing.yaml"], "labels_file"),
                          ]:
        assert main(["fewshot", config, "--output", str(tmp_path / "out"), *args]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out" / "fewshot.json").exists()  # nothing measured, nothing written
