"""Extractive QA end to end: windows over long contexts, character offsets, v2 "no answer", bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn
from transformers.modeling_outputs import QuestionAnsweringModelOutput

from tuneforge.cli import main
from tuneforge.config.loading import validate
from tuneforge.data.examples import Answer, QAExample
from tuneforge.models import load_tokenizer
from tuneforge.tasks import task_class

FILLER = "The committee met again on a rainy afternoon and nothing of note was decided there. "
ANSWER = "Wolfgang Amadeus"


def long_context(repeats: int = 30) -> tuple[str, int]:
    """A context of many windows whose answer sentence comes only near the end."""
    context = FILLER * repeats + f"The composer was {ANSWER} Mozart of Salzburg. " + FILLER * 2
    return context, context.index(ANSWER)


def qa_config(tmp_path: Path, model: str, data: dict[str, str], **options) -> dict:
    return {"name": "qa", "task": "question-answering", "model": {"name": model, "max_length": 64, "stride": 16},
            "data": data, "task_options": {"max_question_length": 16, **options},
            "training": {"epochs": 2, "batch_size": 4, "lr": 1e-3, "seed": 1, "progress": False},
            "output_dir": str(tmp_path / "runs")}


class PointAtTokens(nn.Module):
    """A stand-in QA model that points at fixed token ids: start logit high on ``start_id``, end on ``end_id``.

    The answer's tokens occur once in the context, so only the window that holds them can answer:
    the test then checks windowing, target alignment and the offsets back to characters, not training.
    """

    def __init__(self, start_id: int, end_id: int, null: float = -5.0) -> None:
        super().__init__()
        self.start_id, self.end_id, self.null = start_id, end_id, null
        self.weight = nn.Parameter(torch.zeros(1))  # so the engine finds a device

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        start = (input_ids == self.start_id).float() * 10
        end = (input_ids == self.end_id).float() * 10
        start[:, 0] = end[:, 0] = self.null  # [CLS]: the "no answer" score
        return QuestionAnsweringModelOutput(start_logits=start, end_logits=end)


@pytest.fixture
def task(tiny_model):
    cfg = validate(qa_config(Path("/tmp"), tiny_model, {"train": "unused.json"}))
    Task = task_class(cfg.task)
    return Task(load_tokenizer(tiny_model), cfg, {"squad_version": "1.1"})


def test_answer_only_in_a_later_window_gets_its_character_offsets(task):
    context, start = long_context()
    example = QAExample("q", "Who was the composer?", context, [Answer(ANSWER, start)], "f: q")
    features = task.encode([example])
    assert len(features) > 5  # the context really spans many windows
    # Training targets: only the window that holds the whole answer points at it; the others at [CLS].
    pointing = [f for f in features if f.start]
    assert pointing and all(f.start == f.end == 0 for f in features if f not in pointing)
    assert features.index(pointing[0]) >= len(features) - 3
    decoded = task.tokenizer.decode(pointing[0].input_ids[pointing[0].start: pointing[0].end + 1])
    assert decoded.lower() == ANSWER.lower()
    # Prediction: a model that points at the answer's first and last token finds it in that window.
    ids = task.tokenizer(ANSWER, add_special_tokens=False)["input_ids"]
    model = PointAtTokens(ids[0], ids[-1])
    [result] = task.predict_texts(model, [{"question": "Who was the composer?", "context": context}])
    assert (result["start"], result["end"]) == (start, start + len(ANSWER))
    assert result["answer"] == ANSWER == context[result["start"]:result["end"]]


def test_unanswerable_question_gets_no_answer_in_v2(task):
    context, _ = long_context(2)
    ids = task.tokenizer(ANSWER, add_special_tokens=False)["input_ids"]
    question = {"question": "Who was the composer?", "context": context}
    task.squad_version, task.null_threshold = "2.0", 0.0
    [answered] = task.predict_texts(PointAtTokens(ids[0], ids[-1], null=-5.0), [question])
    assert answered["answer"] == ANSWER
    [unanswered] = task.predict_texts(PointAtTokens(ids[0], ids[-1], null=50.0), [question])
    assert unanswered["answer"] is None and unanswered["start"] is None
    task.squad_version = "1.1"  # v1.1 always answers: every question has an answer there
    assert task.predict_texts(PointAtTokens(ids[0], ids[-1], null=50.0), [question])[0]["answer"] == ANSWER


def test_dev_tunes_the_null_threshold_for_f1(task):
    context, start = long_context(1)
    answerable = QAExample("a", "Who?", context, [Answer(ANSWER, start)], "f: a")
    unanswerable = QAExample("u", "Who?", context, [], "f: u", is_impossible=True)
    ids = task.tokenizer(ANSWER, add_special_tokens=False)["input_ids"]
    task.squad_version = "2.0"
    # The null score (2 x 15) beats the span (2 x 10) by 10 for both questions: a threshold between
    # them would lose one; the best that F1 can do is answer nothing below a margin over 10.
    model = PointAtTokens(ids[0], ids[-1], null=15.0)
    scores = task.evaluate(model, [answerable, unanswerable, unanswerable], tune=True)
    assert task.null_threshold < 10 and scores["f1"] == pytest.approx(2 / 3)
    assert scores["no_answer_accuracy"] == 1.0 and scores["has_answer_f1"] == 0.0


def squad_file(path: Path, contexts: list[tuple[str, list[dict]]], version: str = "1.1") -> str:
    data = {"version": version, "data": [
        {"title": f"article-{i}", "paragraphs": [{"context": c, "qas": qas}]} for i, (c, qas) in enumerate(contexts)]}
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def small_squad(tmp_path: Path, version: str = "2.0") -> dict[str, str]:
    context, start = long_context(3)
    rows = []
    for i in range(6):
        gold = [{"text": ANSWER, "answer_start": start}]
        qas = [{"id": f"a{i}", "question": "Who was the composer?", "answers": gold},
               {"id": f"u{i}", "question": "Who was the painter?", "answers": [], "is_impossible": True}]
        rows.append((context, qas))
    return {"train": squad_file(tmp_path / "train.json", rows, version),
            "dev": squad_file(tmp_path / "dev.json", rows[:2], version)}


def test_train_v2_saves_threshold_and_no_labels_and_predicts(tmp_path, tiny_model, capsys):
    import tuneforge

    cfg = qa_config(tmp_path, tiny_model, small_squad(tmp_path))
    run = tuneforge.train(cfg)
    capsys.readouterr()  # train's headline summary
    model_dir = run / "model"
    assert not (model_dir / "labels.json").exists()
    state = json.loads((model_dir / "task.json").read_text())
    assert state["squad_version"] == "2.0" and isinstance(state["null_threshold"], float)
    report = json.loads((run / "report.json").read_text())
    assert report["dev"]["examples"] == 4 and "no_answer_accuracy" in report["dev"]
    assert report["dev"]["null_threshold"] == state["null_threshold"]
    # The plain transformers model loads on its own.
    from transformers import AutoModelForQuestionAnswering

    assert type(AutoModelForQuestionAnswering.from_pretrained(model_dir)).__name__ == "BertForQuestionAnswering"
    context, _ = long_context(3)
    code = main(["predict", str(run), "--question", "Who was the composer?", "--context", context])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and set(out) == {"question", "answer", "start", "end", "score"}
    if out["answer"] is not None:
        assert context[out["start"]:out["end"]] == out["answer"]
    # inference.precision: bf16 runs the model under bf16 autocast; fp32 (the default) does not.
    loaded = tuneforge.load_run(run)
    seen: list[torch.dtype] = []
    loaded.model.qa_outputs.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
    item = {"question": "Who was the composer?", "context": context}
    fp32 = loaded.predict([item])
    loaded.config.inference.precision = "bf16"
    bf16 = loaded.predict([item])
    assert seen[0] == torch.float32 and seen[-1] == torch.bfloat16
    assert set(bf16[0]) == set(fp32[0])


def test_onnx_engine_answers_like_pytorch_and_caches_the_graph(tmp_path, tiny_model, monkeypatch):
    import tuneforge
    from tuneforge.engine.onnx.model import OnnxEngine, OnnxModel, cached_model

    monkeypatch.setenv("TUNEFORGE_CACHE", str(tmp_path / "cache"))
    cfg = qa_config(tmp_path, tiny_model, small_squad(tmp_path, "1.1") | {"dev": None})
    cfg["training"]["epochs"] = 1
    run = tuneforge.train(cfg)
    context, _ = long_context(3)
    items = [{"question": q, "context": context} for q in ("Who was the composer?", "Where did they meet?")]
    torch_answers = tuneforge.load_run(run).predict(items)
    loaded = tuneforge.load_run(run, overrides=["inference.engine=onnx"])
    assert isinstance(loaded.model, OnnxEngine)
    assert loaded.predict(items) == torch_answers  # exported at the first batch, then checked against PyTorch
    assert loaded.model.engine is not None and len(list((tmp_path / "cache" / "onnx").glob("*/model.onnx"))) == 1
    # the next load opens the checked graph alone: no PyTorch model is built, and the answers stay the same
    again = tuneforge.load_run(run, overrides=["inference.engine=onnx"])
    assert isinstance(again.model, OnnxModel)
    assert again.predict(items) == torch_answers
    # a graph whose parity check never passed (no checked.json) is not trusted: the engine exports and checks
    checked = next((tmp_path / "cache" / "onnx").glob("*/checked.json"))
    checked.unlink()
    assert isinstance(tuneforge.load_run(run, overrides=["inference.engine=onnx"]).model, OnnxEngine)
    # other weights, other graph: a retrained run never opens a stale one
    weights = next((run / "model").glob("*.safetensors"))
    assert cached_model(run / "model", tmp_path / "cache") is None
    checked.write_text('{"inputs": ["input_ids"], "outputs": ["start_logits", "end_logits"]}')
    assert cached_model(run / "model", tmp_path / "cache") is not None
    weights.write_bytes(weights.read_bytes() + b" ")
    assert cached_model(run / "model", tmp_path / "cache") is None
    with pytest.raises(tuneforge.errors.ConfigError, match="only change inference"):
        tuneforge.load_run(run, overrides=["training.lr=0.1"])


def test_lora_trains_a_qa_head_through_peft(tmp_path, tiny_model):
    import tuneforge

    cfg = qa_config(tmp_path, tiny_model, small_squad(tmp_path, "1.1") | {"dev": None}, squad_version="2.0")
    cfg["method"], cfg["training"]["epochs"] = "lora", 1
    run = tuneforge.train(cfg)
    adapter = json.loads((run / "model" / "adapter_config.json").read_text())
    assert adapter["task_type"] == "QUESTION_ANS" and "qa_outputs" in adapter["modules_to_save"]
    loaded = tuneforge.load_run(run)
    assert loaded.labels is None and type(loaded.model).__name__ == "BertForQuestionAnswering"  # merged


def bad_records(start: int) -> dict[str, tuple[dict, str]]:
    good = {"id": "q1", "question": "Who?", "answers": [{"text": ANSWER, "answer_start": start}]}
    return {
        "answer-text-mismatch": ({**good, "answers": [{"text": ANSWER, "answer_start": start + 3}]},
                                 "does not match the context"),
        "offset-past-end": ({**good, "answers": [{"text": ANSWER, "answer_start": 10_000}]}, "outside the context"),
        "no-answers-in-v1": ({**good, "answers": []}, "no answers"),
    }


@pytest.mark.parametrize("case", ["answer-text-mismatch", "offset-past-end", "no-answers-in-v1", "empty-context"])
def test_bad_squad_input_is_one_line_exit_2_and_nothing_written(tmp_path, tiny_model, capsys, case):
    context, start = long_context(1)
    if case == "empty-context":
        record, fragment, context = bad_records(start)["offset-past-end"][0], "context is empty", "   "
        record = {**record, "answers": [{"text": "x", "answer_start": 0}]}
        where = "data[0].paragraphs[0]"
    else:
        record, fragment = bad_records(start)[case]
        where = "data[0].paragraphs[0].qas[0] (id q1)"
    train = squad_file(tmp_path / "train.json", [(context, [record])])
    config = tmp_path / "qa.yaml"
    config.write_text(yaml.safe_dump(qa_config(tmp_path, tiny_model, {"train": train})), encoding="utf-8")
    code = main(["train", str(config)])
    err = capsys.readouterr().err.strip()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert train in lines[0] and where in lines[0] and fragment in lines[0], lines[0]
    assert not (tmp_path / "runs").exists()


def test_an_option_of_another_task_names_its_task(tmp_path, tiny_model):
    from tuneforge.errors import ConfigError

    cfg = qa_config(tmp_path, tiny_model, {"train": "a.json"}, multi_label=True)
    with pytest.raises(ConfigError, match="'task_options.multi_label' is an option of sequence-classification, "
                                          "not of task question-answering"):
        validate(cfg)
    with pytest.raises(ConfigError, match=r"model\.stride \(50\) must be less than the context room"):
        model = {"name": tiny_model, "max_length": 64, "stride": 50}
        validate({**cfg, "task_options": {"max_question_length": 16}, "model": model})


def test_long_question_is_cut_at_a_token_boundary_and_the_answer_still_found(task):
    context, start = long_context(1)
    question = "Who " + "really " * 60 + "was the composer?"
    example = QAExample("q", question, context, [Answer(ANSWER, start)], "f: q")
    [feature, *_] = [f for f in task.encode([example]) if f.start]
    question_tokens = feature.token_type_ids.index(1) - 2  # [CLS] question [SEP]
    assert question_tokens == task.options.max_question_length == 16
    assert task.tokenizer.decode(feature.input_ids[feature.start: feature.end + 1]).lower() == ANSWER.lower()


def test_bad_inference_settings_are_one_line_errors(tmp_path, tiny_model, capsys):
    from tuneforge.errors import ConfigError

    cfg = qa_config(tmp_path, tiny_model, {"train": "a.json"})
    with pytest.raises(ConfigError, match="inference.engine: onnx runs fp32") as err:
        validate({**cfg, "inference": {"engine": "onnx", "precision": "bf16"}})
    assert "\n" not in str(err.value)
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text('{"status": "complete"}', encoding="utf-8")
    (run / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    code = main(["predict", str(run), "--question", "Who?"])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "--question and --context go together" in lines[0]
    code = main(["predict", str(run), "a bare text"])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "takes --question and --context" in lines[0]


@pytest.mark.parametrize("content", ["[1, 2]", "{not json"])
def test_a_damaged_task_json_is_a_one_line_error(tmp_path, task, content):
    from tuneforge.errors import RunError

    (tmp_path / "task.json").write_text(content, encoding="utf-8")
    with pytest.raises(RunError, match=r"task\.json: .*damaged") as err:
        type(task).load(task.tokenizer, task.cfg, tmp_path)
    assert "\n" not in str(err.value)
