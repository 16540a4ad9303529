"""tuneforge distill and export --drop-layers: a student run is an ordinary run, soft targets drive its learning,
the layers it keeps come from the teacher, and bad input is one line with nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from conftest import SENTENCES, make_config
from test_question_answering import long_context, qa_config, small_squad, squad_file
from test_text_data import INTENTS, text_config, write_csv

import tuneforge
from tuneforge.cli import main
from tuneforge.distill.loss import kl_sum, soft_sum
from tuneforge.methods.layers import evenly_spaced, keep_layers, layer_stack

QUICK = ["--set", "training.epochs=2", "--set", "training.lr=5e-3"]


@pytest.fixture(scope="module")
def intent_teacher(tmp_path_factory, tiny_model) -> Path:
    tmp = tmp_path_factory.mktemp("teacher")
    train = write_csv(tmp / "train.csv", INTENTS * 4)
    dev = write_csv(tmp / "dev.csv", INTENTS)
    config = text_config(tmp, tiny_model, train=train, dev=dev, test=dev)
    return tuneforge.train(config, ["name=teacher", "training.epochs=20", "training.lr=5e-3", "model.dropout=0.0",
                                    "training.warmup_ratio=0", "training.eval_every=1000"])  # dev once, at the end


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_evenly_spaced_layers_end_with_the_last():
    assert evenly_spaced(6, 3) == [1, 3, 5]
    assert evenly_spaced(12, 6) == [1, 3, 5, 7, 9, 11]
    assert evenly_spaced(2, 1) == [1]


def test_kept_layers_are_the_teachers_and_a_pruned_decoder_still_uses_its_cache(tiny_llama):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    second = {k: v.clone() for k, v in layer_stack(model)[1].state_dict().items()}
    keep_layers(model, [1])
    assert len(layer_stack(model)) == 1 and model.config.num_hidden_layers == 1
    assert all(torch.equal(v, second[k]) for k, v in layer_stack(model)[0].state_dict().items())
    ids = torch.tensor([[1, 5, 9, 13, 17]])
    with torch.inference_mode():  # the renumbered layer reads cache slot 0: cached decoding = full recompute
        cached = model.generate(ids, max_new_tokens=6, do_sample=False, use_cache=True)
        plain = model.generate(ids, max_new_tokens=6, do_sample=False, use_cache=False)
    assert torch.equal(cached, plain)


def test_kl_is_zero_only_when_the_student_matches_and_spans_ignore_padding():
    logits = torch.randn(3, 5)
    assert kl_sum(logits, logits, 2.0).abs() < 1e-5
    assert kl_sum(torch.zeros(3, 5), logits, 2.0) > 0.01

    class Out:
        def __init__(self, start, end):
            self.start_logits, self.end_logits = start, end

    mask = torch.tensor([[1, 1, 1, 0]])
    teacher = torch.randn(1, 4, 2)
    student = Out(teacher[..., 0].clone(), teacher[..., 1].clone())
    student.start_logits[0, 3] = student.end_logits[0, 3] = 50.0  # a padding position: must not count
    loss = soft_sum(student, teacher, {"attention_mask": mask}, "span-logits", 1.0, False)
    assert loss.abs() < 1e-5


def test_student_run_is_an_ordinary_run(intent_teacher, tmp_path, capsys):
    from fastapi.testclient import TestClient

    from tuneforge.serve.app import create_app
    from tuneforge.serve.settings import ServeSettings

    assert main(["distill", str(intent_teacher), "--layers", "1", "--name", "student", "--output-dir",
                 str(tmp_path), *QUICK]) == 0
    student = tmp_path / "student"
    assert "parameters:" in capsys.readouterr().out
    assert json.loads((student / "run.json").read_text())["status"] == "complete"
    assert json.loads((student / "model" / "config.json").read_text())["num_hidden_layers"] == 1
    report = json.loads((student / "report.json").read_text())
    assert report["distillation"]["kept_layers"] == [1]
    assert report["distillation"]["teacher_scores"]["test"]["accuracy"] == 1.0
    assert report["distillation"]["student_parameters"] < report["distillation"]["teacher_parameters"]
    assert yaml.safe_load((student / "config.yaml").read_text())["method"] == "full"
    assert "## Distillation" in (student / "report.md").read_text()

    predictions = tuneforge.predict(student, ["where is my card", "please delete my account"])
    assert [p["label"] for p in predictions][0] in {"card_arrival", "top_up", "close_account"}
    assert set(tuneforge.evaluate(student)) >= {"accuracy", "macro_f1"}
    assert main(["export", str(student), "--format", "onnx", "--quantize", "int8", "--output",
                 str(tmp_path / "onnx")]) == 0
    assert json.loads((tmp_path / "onnx" / "export.json").read_text())["parity"]["passed"]
    c = TestClient(create_app(ServeSettings(runs=[str(student)])), raise_server_exceptions=False)
    r = c.post("/v1/models/student/predict", json={"inputs": ["where is my card"]})
    assert r.status_code == 200 and r.json()["predictions"][0]["label"] == predictions[0]["label"]


def test_soft_targets_teach_what_the_gold_labels_do_not(intent_teacher, tmp_path):
    """Trained on wrong gold labels with alpha 1 (soft targets only), the student still answers as the teacher;
    with alpha 0 (gold only) it learns the wrong labels."""
    wrong = {"card_arrival": "top_up", "top_up": "close_account", "close_account": "card_arrival"}
    bad = write_csv(tmp_path / "wrong.csv", [(t, wrong[label]) for t, label in INTENTS] * 4)
    texts = [t for t, _ in INTENTS]
    teacher = [p["label"] for p in tuneforge.predict(intent_teacher, texts)]
    answers = {}
    for alpha in ("1", "0"):
        assert main(["distill", str(intent_teacher), "--layers", "1", "--alpha", alpha, "--temperature", "1",
                     "--name", f"a{alpha}", "--output-dir", str(tmp_path), "--set", f"data.train={bad}",
                     "--set", "training.epochs=20", "--set", "training.lr=5e-3", "--set", "model.dropout=0.0",
                     "--set", "training.restore_best=false", "--set", "training.warmup_ratio=0",
                     "--set", "training.eval_every=1000"]) == 0
        answers[alpha] = [p["label"] for p in tuneforge.predict(tmp_path / f"a{alpha}", texts)]
    assert answers["1"] == teacher
    assert answers["0"] == [wrong[label] for label in teacher]


def test_ner_student_with_hidden_states_and_unlabelled_text(tmp_path, tiny_model, small_data):
    cfg = make_config(tmp_path, tiny_model, small_data, epochs=3)
    teacher = tuneforge.train(cfg, ["name=ner"])
    unlabelled = tmp_path / "more.conll"
    unlabelled.write_text("Erin\nvisited\nRome\n\nFrank\nleft\nAcme\n", encoding="utf-8")
    assert main(["distill", str(teacher), "--layers", "1", "--hidden-weight", "1", "--unlabelled",
                 str(unlabelled), "--name", "ner-student", *QUICK]) == 0
    student = tmp_path / "runs" / "ner-student"
    report = json.loads((student / "report.json").read_text())
    assert report["distillation"]["transfer_examples"] == len(SENTENCES) * 4 + 2  # train + the two labelled
    assert "f1" in report["test"]
    assert tuneforge.predict(student, "Alice lives in Paris")["text"] == "Alice lives in Paris"


def test_qa_student(tmp_path, tiny_model):
    cfg = qa_config(tmp_path, tiny_model, small_squad(tmp_path))
    teacher = tuneforge.train(cfg)
    assert main(["distill", str(teacher), "--layers", "1", "--name", "qa-student", *QUICK]) == 0
    student = tmp_path / "runs" / "qa-student"
    answer = tuneforge.predict(student, {"question": "Who?", "context": "Alice wrote it."})
    assert {"answer", "start", "end"} <= set(answer)
    assert json.loads((student / "model" / "config.json").read_text())["num_hidden_layers"] == 1


def test_qa_teacher_labels_unlabelled_questions_with_its_own_answers(tmp_path, tiny_model, capsys):
    from tuneforge.runs.directory import load_run

    cfg = qa_config(tmp_path, tiny_model, small_squad(tmp_path))
    teacher = tuneforge.train(cfg)
    context, _ = long_context(3)
    questions = ["Who was the composer?", "Where was the composer from?", "What is this?"]
    more = squad_file(tmp_path / "more.json", [(context, [{"id": f"m{i}", "question": q}
                                                           for i, q in enumerate(questions)])], "2.0")
    run = load_run(teacher)
    read = type(run.task).read(more, run.config, strict=True, labelled=False).examples
    labelled = run.task.with_answers(read, run.task.predict_examples(run.model, read))
    for example in labelled:  # the teacher's own answer, at its offset in the context, is the new gold span
        said = tuneforge.predict(teacher, {"question": example.question, "context": context})["answer"]
        if example.answers:
            answer = example.answers[0]
            assert context[answer.start:answer.start + len(answer.text)] == answer.text == said
        else:
            assert example.is_impossible and not said
    unanswered = run.task.with_answers(read[:1], [(None, 0.0)])[0]
    assert unanswered.is_impossible and unanswered.answers == []

    assert main(["distill", str(teacher), "--layers", "1", "--name", "qa-more", "--unlabelled", more, *QUICK]) == 0
    report = json.loads((tmp_path / "runs" / "qa-more" / "report.json").read_text())
    assert report["distillation"]["transfer_examples"] == 12 + len(questions)  # small_squad's train + the three

    broken = squad_file(tmp_path / "broken.json", [(context, [{"id": "b1", "question": 7}])], "2.0")
    _refused(capsys, ["distill", str(teacher), "--layers", "1", "--name", "refused", "--unlabelled", broken],
             tmp_path / "runs", "broken.json")


def test_pruned_run_reports_the_dev_change_and_keeps_the_teachers_layers(intent_teacher, tmp_path, capsys):
    out = tmp_path / "pruned"
    assert main(["export", str(intent_teacher), "--drop-layers", "1", "--output", str(out)]) == 0
    assert "dev accuracy: 1.0000 ->" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert report["pruning"]["kept_layers"] == [1] and report["pruning"]["dev"]["before"] == 1.0
    assert report["pruning"]["dev"]["after"] == report["dev"]["accuracy"]
    from safetensors.torch import load_file

    pruned = load_file(out / "model" / "model.safetensors")
    full = load_file(intent_teacher / "model" / "model.safetensors")
    key = next(k for k in pruned if ".layer.0." in k)
    assert torch.equal(pruned[key], full[key.replace(".layer.0.", ".layer.1.")])
    assert tuneforge.evaluate(out)["accuracy"] == report["test"]["accuracy"]


# bad input: one line, exit 2, nothing written -------------------------------------------------------------
def _refused(capsys, argv: list[str], folder: Path, expected: str) -> None:
    before = listing(folder)
    capsys.readouterr()  # what training the teacher printed
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and expected in err, err
    assert listing(folder) == before


def test_an_unfinished_teacher_is_refused(intent_teacher, tmp_path, capsys):
    unfinished = tmp_path / "unfinished"
    shutil.copytree(intent_teacher, unfinished)
    info = json.loads((unfinished / "run.json").read_text())
    (unfinished / "run.json").write_text(json.dumps({**info, "status": "running"}))
    _refused(capsys, ["distill", str(unfinished), "--layers", "1"], tmp_path, "did not finish")


def test_as_many_layers_as_the_teacher_is_refused(intent_teacher, capsys):
    _refused(capsys, ["distill", str(intent_teacher), "--layers", "2"], intent_teacher.parent,
             "the teacher has 2 layers")
    _refused(capsys, ["export", str(intent_teacher), "--drop-layers", "2", "--output",
                      str(intent_teacher.parent / "p")], intent_teacher.parent, "drop 1 to 1")


def test_a_student_with_another_tokenizer_is_refused_where_tokens_align(tmp_path, tiny_model, tiny_llama,
                                                                        small_data, capsys):
    teacher = tuneforge.train(make_config(tmp_path, tiny_model, small_data, epochs=1), ["name=ner"])
    _refused(capsys, ["distill", str(teacher), "--student", tiny_llama], tmp_path, "tokenizer differs")


def test_a_lora_teacher_is_merged_before_its_layers_are_dropped(tmp_path, tiny_model):
    train = write_csv(tmp_path / "train.csv", INTENTS * 2)
    teacher = tuneforge.train(text_config(tmp_path, tiny_model, train=train, dev=train), ["method=lora",
                                                                                          "name=lora"])
    assert main(["distill", str(teacher), "--layers", "1", "--set", "training.epochs=1"]) == 0
    student = tmp_path / "runs" / "lora-student"
    saved = yaml.safe_load((student / "config.yaml").read_text())
    from tuneforge.methods import METHODS

    assert saved["method"] == "full"
    assert saved["training"]["lr"] == METHODS["full"].default_lr  # not the adapter's learning rate
    assert not (student / "model" / "adapter_config.json").exists()
    assert len(tuneforge.predict(student, ["where is my card"])) == 1


def test_a_generation_student_learns_the_teachers_next_token_distributions(tmp_path, tiny_llama, capsys):
    """A SmolLM2-like teacher run (LoRA, merged on loading) gives a layer-dropped student run; the teacher scores
    each batch's reply positions beside it (its vocabulary-wide outputs are too large to keep), and the soft term
    is zero exactly when the student's distributions there are the teacher's."""
    import copy

    from test_generation import PAIRS, gen_config, write_jsonl

    from tuneforge.distill.loss import DistillLoss
    from tuneforge.runs.directory import load_run

    data = write_jsonl(tmp_path / "pairs.jsonl", PAIRS)
    teacher = tuneforge.train(gen_config(tmp_path, tiny_llama, {"train": data, "dev": data}), ["name=gen"])
    run = load_run(teacher)
    batch = run.task.collate(run.task.encode(run.task.read(str(data), run.config, strict=True).examples[:4]))
    twin = copy.deepcopy(run.model).train()
    loss = DistillLoss(run.task, twin, "generate", temperature=2.0, alpha=1.0, teacher=run.model.eval())
    same, items = loss(twin, dict(batch))
    loss.close()
    assert items == int((batch["targets"] != -100).sum()) and abs(float(same)) < 1e-4
    with torch.no_grad():
        twin.model.norm.weight.mul_(0.5)  # flatter distributions everywhere
    loss = DistillLoss(run.task, twin, "generate", temperature=2.0, alpha=1.0, teacher=run.model)
    assert float(loss(twin, dict(batch))[0]) > 1e-3
    loss.close()

    assert main(["distill", str(teacher), "--layers", "1", "--name", "gen-student", "--set", "training.max_steps=3",
                 "--set", "training.lr=1e-3"]) == 0
    student = tmp_path / "runs" / "gen-student"
    assert json.loads((student / "model" / "config.json").read_text())["num_hidden_layers"] == 1
    report = json.loads((student / "report.json").read_text())
    assert report["distillation"]["kept_layers"] == [1] and report["training"]["steps"] == 3
    assert isinstance(tuneforge.predict(student, {"prompt": "Say the word number 3."}), dict)

    prompts = write_jsonl(tmp_path / "prompts.jsonl", [{"prompt": "Say the word number 40."}])
    _refused(capsys, ["distill", str(teacher), "--layers", "1", "--name", "refused", "--unlabelled", str(prompts)],
             tmp_path / "runs" / "refused", "take no unlabelled text")


def _kill_half_the_neurons(model) -> None:
    """Zero the odd feed-forward neurons' weights in and out: they add nothing, so dropping them changes nothing."""
    width = model.config.intermediate_size
    with torch.no_grad():
        for layer in layer_stack(model):
            for module in layer.modules():
                if isinstance(module, torch.nn.Linear) and module.out_features == width:
                    module.weight[1::2] = 0
                    if module.bias is not None:
                        module.bias[1::2] = 0
                elif isinstance(module, torch.nn.Linear) and module.in_features == width:
                    module.weight[:, 1::2] = 0


@pytest.mark.parametrize("kind", ["bert", "llama"])
def test_narrowing_drops_the_weakest_feed_forward_neurons_and_saves_a_loadable_model(kind, tiny_model, tiny_llama,
                                                                                       tmp_path):
    from transformers import AutoModel, AutoModelForCausalLM

    from tuneforge.methods.feed_forward import narrow_feed_forward

    loader, folder = (AutoModel, tiny_model) if kind == "bert" else (AutoModelForCausalLM, tiny_llama)
    model = loader.from_pretrained(folder).eval()
    _kill_half_the_neurons(model)
    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102]]) if kind == "bert" else torch.tensor([[1, 5, 9, 13]])
    with torch.inference_mode():
        before = model(ids)[0]
    assert narrow_feed_forward(model, 0.75) == 48 and model.config.intermediate_size == 48
    with torch.inference_mode():  # the 32 live neurons were among the 48 kept
        assert torch.allclose(model(ids)[0], before, atol=1e-5)
    model.save_pretrained(tmp_path / "narrow")
    with torch.inference_mode():
        assert torch.allclose(loader.from_pretrained(tmp_path / "narrow").eval()(ids)[0], before, atol=1e-5)
    with torch.inference_mode():  # a further cut loses live neurons: the output moves
        assert narrow_feed_forward(model, 0.5) == 24
        assert not torch.allclose(model(ids)[0], before, atol=1e-3)


def test_a_narrowed_student_and_its_pruned_baseline_are_ordinary_runs(intent_teacher, tmp_path, capsys):
    from tuneforge.distill.recipe import DistillOptions, distill

    result = distill(intent_teacher, DistillOptions(
        layers=1, ffn_share=0.5, name="narrow", output_dir=str(tmp_path), overrides=["training.epochs=1"]))
    assert json.loads((result.run_dir / "model" / "config.json").read_text())["intermediate_size"] == 32
    assert result.report["distillation"]["intermediate_size"] == 32
    assert tuneforge.evaluate(result.run_dir)["accuracy"] == result.report["test"]["accuracy"]
    out = tmp_path / "pruned"
    assert main(["export", str(intent_teacher), "--drop-layers", "1", "--ffn-share", "0.5", "--output", str(out)]) == 0
    assert "feed-forward width 32" in capsys.readouterr().err
    assert json.loads((out / "model" / "config.json").read_text())["intermediate_size"] == 32
    assert tuneforge.evaluate(out)["accuracy"] == json.loads((out / "report.json").read_text())["test"]["accuracy"]


def test_a_bad_feed_forward_share_is_refused(intent_teacher, capsys):
    _refused(capsys, ["distill", str(intent_teacher), "--layers", "1", "--ffn-share", "0"], intent_teacher.parent,
             "--ffn-share above 0 and at most 1")
    _refused(capsys, ["export", str(intent_teacher), "--ffn-share", "0.5", "--output",
                      str(intent_teacher.parent / "p")], intent_teacher.parent, "--ffn-share goes with --drop-layers")
    _refused(capsys, ["export", str(intent_teacher), "--drop-layers", "1", "--ffn-share", "1.5", "--output",
                      str(intent_teacher.parent / "p")], intent_teacher.parent, "--ffn-share 1.5: give a fraction")
    _refused(capsys, ["distill", str(intent_teacher), "--student", "minilm", "--ffn-share", "0.5"],
             intent_teacher.parent, "a --student MODEL has its own")


def test_every_layer_may_stay_when_each_is_narrowed(intent_teacher, tmp_path, capsys):
    """Keeping all layers makes no smaller student, so it is refused, unless --ffn-share narrows every layer."""
    _refused(capsys, ["distill", str(intent_teacher), "--keep", "0,1"], intent_teacher.parent, "narrow them")
    _refused(capsys, ["export", str(intent_teacher), "--drop-layers", "0", "--output",
                      str(intent_teacher.parent / "p")], intent_teacher.parent, "or 0 with --ffn-share below 1")
    assert main(["distill", str(intent_teacher), "--keep", "0,1", "--ffn-share", "0.5", "--name", "narrow-all",
                 "--output-dir", str(tmp_path), "--set", "training.epochs=1"]) == 0
    student = json.loads((tmp_path / "narrow-all" / "report.json").read_text())["distillation"]
    assert student["kept_layers"] == [0, 1] and student["intermediate_size"] == 32
    out = tmp_path / "pruned"
    assert main(["export", str(intent_teacher), "--drop-layers", "0", "--ffn-share", "0.5", "--output", str(out)]) == 0
    saved = json.loads((out / "model" / "config.json").read_text())
    assert saved["num_hidden_layers"] == 2 and saved["intermediate_size"] == 32
