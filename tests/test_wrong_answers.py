"""#36 items 2-7: runs that trained, updated, predicted or searched something other than what they reported."""

from __future__ import annotations

import pytest
import yaml

from tuneforge.config.loading import load_config
from tuneforge.errors import ConfigError


def _generation_config(tmp_path, metrics, **early_stopping):
    data = tmp_path / "train.jsonl"
    data.write_text('{"prompt": "hi", "completion": "hello"}\n', encoding="utf-8")
    cfg = {"name": "g", "task": "generation", "model": {"name": "smollm2-135m"},
           "data": {"train": str(data), "dev": str(data)}, "task_options": {"metrics": metrics},
           "training": {"early_stopping": early_stopping}, "output_dir": str(tmp_path / "runs")}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


# 2: a metric's direction everywhere ---------------------------------------------------------------------------

def test_a_run_selected_on_perplexity_keeps_its_lowest_and_tune_minimises_it(tmp_path):
    from tuneforge.studies.tune.objective import objective_metric
    from tuneforge.studies.tune.search_space import read_tune_config

    cfg = load_config(_generation_config(tmp_path, ["perplexity"]))
    assert cfg.training.early_stopping.mode == "min"  # the default metric, perplexity, is better lower
    assert load_config(_generation_config(tmp_path, ["rouge"])).training.early_stopping.mode == "max"
    with pytest.raises(ConfigError, match="perplexity is better when lower"):
        load_config(_generation_config(tmp_path, ["perplexity", "bleu"], metric="perplexity", mode="max"))
    path = _generation_config(tmp_path, ["perplexity"])
    data = yaml.safe_load(path.read_text())
    data["search"] = {"training.lr": {"type": "loguniform", "low": 1e-5, "high": 1e-3}}
    path.write_text(yaml.safe_dump(data))
    assert objective_metric(read_tune_config(path)) == ("perplexity", "minimize")


# 3: update --strategy ewc after a replay update ----------------------------------------------------------------

def _intent_run(tmp_path, model, epochs=2):
    from test_continual import STAGE_A, write_jsonl

    import tuneforge

    train = write_jsonl(tmp_path / "train.jsonl", STAGE_A * 3)
    test = write_jsonl(tmp_path / "test.jsonl", STAGE_A)
    cfg = {"name": "r", "task": "sequence-classification", "model": {"name": model, "max_length": 16},
           "data": {"train": str(train), "test": str(test)}, "output_dir": str(tmp_path / "runs"),
           "training": {"epochs": epochs, "batch_size": 4, "lr": 1e-3, "progress": False, "seed": 1}}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(cfg))
    return tuneforge.train(config), train


def test_ewc_after_a_replay_update_computes_its_fisher_and_joint_still_needs_the_old_data(tmp_path, tiny_model,
                                                                                          monkeypatch):
    from test_continual import STAGE_B, write_jsonl

    from tuneforge.continual.strategies.ewc import Ewc
    from tuneforge.continual.update import update
    from tuneforge.errors import DataError

    run, train = _intent_run(tmp_path, tiny_model)
    new = write_jsonl(tmp_path / "new.jsonl", STAGE_B * 2)
    epochs = ["training.epochs=1"]
    assert update(run, str(new), gate=100, strategy="replay", overrides=epochs).promoted
    assert (run / "replay_buffer.jsonl").is_file()
    held = []
    before_stage = Ewc.before_stage
    monkeypatch.setattr(Ewc, "before_stage", lambda self, *a: (before_stage(self, *a), held.append(len(self.held))))
    assert update(run, str(new), gate=100, strategy="ewc", overrides=epochs).promoted
    assert held and held[0] > 0, "ewc trained with no Fisher of the run's data (the replay buffer counted as one)"
    train.unlink()  # the run's own data is gone: the replay buffer is no substitute for joint training
    with pytest.raises(DataError, match="strategy joint needs the run's training data"):
        update(run, str(new), gate=100, strategy="joint", overrides=epochs)


# 5: fewshot --shots beyond a label's examples ------------------------------------------------------------------

def test_fewshot_refuses_more_shots_than_a_label_has(tmp_path, capsys):
    from test_prompting import embedding_config, write_yaml
    from test_text_data import INTENTS, write_csv

    from tuneforge.cli import main

    data = write_csv(tmp_path / "train.csv", INTENTS * 6)  # 12 examples per label
    cfg = embedding_config(tmp_path, "minilm")
    cfg["data"] = {"train": str(data), "test": str(data), "label_field": "category"}
    config = write_yaml(tmp_path / "few.yaml", cfg)
    assert main(["fewshot", config, "--shots", "8,100", "--approaches", "frozen-logistic",
                 "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--shots 100: label 'card_arrival' has only 12 training example(s)" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out" / "fewshot.json").exists()


# 6: continual new_labels without examples ------------------------------------------------------------------------

def test_continual_refuses_a_new_label_the_stage_has_no_example_of(tmp_path, capsys, tiny_model):
    from test_continual import intent_plan

    from tuneforge.cli import main

    plan = intent_plan(tmp_path, tiny_model)
    data = yaml.safe_load(plan.read_text())
    data["stages"][1]["new_labels"] = ["alarm", "weather", "transfer"]
    plan.write_text(yaml.safe_dump(data))
    assert main(["continual", str(plan)]) == 2
    err = capsys.readouterr().err.strip()
    assert "stage 2 (b): new_labels: 'transfer' has no example in this stage's train data" in err
    assert not (tmp_path / "out" / "p").exists()


# 7: tune search keys the trial runner sets itself --------------------------------------------------------------

@pytest.mark.parametrize("key", ["output_dir", "name", "training.early_stopping.metric"])
def test_tune_refuses_to_search_a_key_every_trial_overwrites(tmp_path, capsys, tiny_model, small_data, key):
    from test_tune import assert_one_line_error, tune_config

    from tuneforge.cli import main

    search = {key: {"type": "categorical", "choices": ["a", "b"]},
              "training.lr": {"type": "loguniform", "low": 1e-4, "high": 1e-2}}
    config = tune_config(tmp_path, tiny_model, small_data, search=search)
    assert_one_line_error(main(["tune", str(config), "--trials", "1"]), capsys.readouterr().err,
                          f"search.{key}: cannot be searched")
    assert not (tmp_path / "runs").exists()


# 27: update candidates numbered after a deleted one --------------------------------------------------------------

def test_update_numbers_its_candidate_after_the_highest_even_with_a_gap(tmp_path, tiny_model):
    import shutil

    from test_continual import STAGE_B, write_jsonl

    from tuneforge.continual.update import update

    run, _ = _intent_run(tmp_path, tiny_model, epochs=1)
    new = write_jsonl(tmp_path / "new.jsonl", STAGE_B)
    for _ in range(2):
        update(run, str(new), gate=100, strategy="naive", overrides=["training.epochs=1"])
    shutil.rmtree(run / "updates" / "1")  # an old candidate, cleaned up by hand
    result = update(run, str(new), gate=100, strategy="naive", overrides=["training.epochs=1"])
    assert result.promoted and result.candidate == run / "updates" / "3"
    assert sorted(p.name for p in (run / "updates").iterdir()) == ["2", "3"]


@pytest.mark.parametrize("kernel", [True, False], ids=["renameat2", "fallback"])
def test_promotion_exchanges_the_model_folders_in_one_step(tmp_path, monkeypatch, kernel):
    from tuneforge.util import exchange as module

    if not kernel:
        monkeypatch.setattr(module, "_renameat2", lambda: None)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "w").write_text("old")
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "w").write_text("new")
    module.exchange(tmp_path / "new", tmp_path / "old")
    assert (tmp_path / "old" / "w").read_text() == "new" and (tmp_path / "new" / "w").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "old"]


# 4: predict --resume after the input was edited --------------------------------------------------------------

def test_resume_refuses_an_input_edited_since_the_partial_output(tmp_path, capsys, tiny_model, small_data,
                                                                 monkeypatch):
    import json

    from conftest import make_config

    import tuneforge
    from tuneforge.cli import main
    from tuneforge.prediction import stream

    run = tuneforge.train(make_config(tmp_path, tiny_model, small_data, epochs=1))
    source = tmp_path / "in.jsonl"
    texts = [f"Alice met Bob {i} times in Paris" for i in range(9)]
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    args = ["predict", str(run), "--input", str(source), "--output", str(out), "--chunk-size", "3"]
    chunks, predict_chunk = [], stream._predict_chunk

    def killed_after_two(run, chunk):
        if len(chunks) == 2:
            raise KeyboardInterrupt
        chunks.append(chunk)
        return predict_chunk(run, chunk)

    monkeypatch.setattr(stream, "_predict_chunk", killed_after_two)
    assert main(args) != 0  # interrupted after two chunks: 6 lines kept
    monkeypatch.setattr(stream, "_predict_chunk", predict_chunk)
    capsys.readouterr()
    texts[1] = "Carol lives in New York"  # edited: a kept line was predicted from the old text
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    assert main([*args, "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert "its first 6 item(s) changed since" in err and len(err.splitlines()) == 1
    assert not out.exists()
    texts[1] = "Alice met Bob 1 times in Paris"  # put back: the resume goes on, and matches a straight run
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    assert main([*args, "--resume"]) == 0
    assert [json.loads(line)["text"] for line in out.read_text().splitlines()] == texts
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []
