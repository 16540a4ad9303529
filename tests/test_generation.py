"""The generation task: chat rendering and completion-only labels, packing, the loss, decoding, a tiny run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from tuneforge.config.loading import load_config
from tuneforge.data.examples import GenerationExample
from tuneforge.errors import DataError
from tuneforge.tasks.generation.packing import first_fit, pack_rows


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


PAIRS = [{"prompt": f"Say the word number {i}.", "completion": f"Number {i} it is."} for i in range(12)]


def gen_config(tmp_path: Path, model_name: str, data: dict, **extra) -> dict:
    cfg = {"name": "g", "task": "generation", "model": {"name": model_name, "max_length": 64},
           "data": {k: str(v) for k, v in data.items()},
           "task_options": {"metrics": ["rouge", "bleu", "chrf"], "eval_examples": 3},
           "training": {"max_steps": 2, "batch_tokens": 256, "lr": 1e-3, "seed": 1, "progress": False},
           "inference": {"decoding": {"max_new_tokens": 4}}, "output_dir": str(tmp_path / "runs")}
    for key, value in extra.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg


@pytest.fixture(scope="module")
def tokenizer(tiny_llama):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_llama)


def task_for(tokenizer, tmp_path, **options):
    from tuneforge.tasks.generation.task import Generation

    train = write_jsonl(tmp_path / "train.jsonl", PAIRS)
    cfg = load_config(gen_config(tmp_path, "unused", {"train": train}, task_options=options))
    return Generation(tokenizer, cfg)


def example(messages, reply, source="f.jsonl:1"):
    return GenerationExample(messages, [reply], source)


# rendering and labels -------------------------------------------------------------------------
@pytest.mark.parametrize("chat_template", ["auto", "none"])
def test_only_the_reply_and_its_end_token_are_labelled_and_the_prompt_is_what_inference_sees(
        tokenizer, tmp_path, chat_template):
    task = task_for(tokenizer, tmp_path, chat_template=chat_template, system="Be brief.")
    ex = example([{"role": "user", "content": "Name a colour."}], "Blue.")
    encoded = task.format.training_ids(ex.messages, "Blue.", True, ex.source)
    labelled = [t for t, on in zip(encoded.input_ids, encoded.labelled, strict=True) if on]
    end = tokenizer.eos_token if chat_template == "none" else "<|im_end|>"
    assert tokenizer.decode(labelled).lstrip() == "Blue." + end
    prompt, _ = task.format.prompt_ids(ex.messages, ex.source)
    assert encoded.input_ids[: len(prompt)] == prompt
    assert not any(encoded.labelled[: len(prompt)])
    assert "Be brief." in tokenizer.decode(prompt)


def test_chat_records_label_every_assistant_turn_or_only_the_last(tokenizer, tmp_path):
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there"},
                {"role": "user", "content": "Bye"}]
    every = task_for(tokenizer, tmp_path, assistant_turns="all").format.training_ids(messages, "Goodbye", True, "r")
    last = task_for(tokenizer, tmp_path, assistant_turns="last").format.training_ids(messages, "Goodbye", False, "r")
    text = lambda e: tokenizer.decode([t for t, on in zip(e.input_ids, e.labelled, strict=True) if on])  # noqa: E731
    assert text(every) == "Hello there<|im_end|>Goodbye<|im_end|>"
    assert text(last) == "Goodbye<|im_end|>"


def test_a_prompt_longer_than_the_window_is_an_error_naming_the_record_or_cut_from_the_left(tokenizer, tmp_path):
    long = " ".join(f"word{i}" for i in range(200))
    ex = example([{"role": "user", "content": long}], "Short.", "data.jsonl:7")
    with pytest.raises(DataError, match=r"data.jsonl:7: prompt and reply are \d+ tokens, more than model.max_length"):
        task_for(tokenizer, tmp_path).format.training_ids(ex.messages, "Short.", True, ex.source)
    cut = task_for(tokenizer, tmp_path, too_long="truncate-left").format.training_ids(ex.messages, "Short.", True,
                                                                                       ex.source)
    assert cut.truncated and len(cut.input_ids) <= 64
    assert "word199" in tokenizer.decode(cut.input_ids) and "word0 " not in tokenizer.decode(cut.input_ids)


def test_left_truncation_drops_the_oldest_turns_first(tokenizer, tmp_path):
    task = task_for(tokenizer, tmp_path, too_long="truncate-left")
    old = " ".join(["old"] * 40)
    messages = [{"role": "user", "content": old}, {"role": "assistant", "content": old},
                {"role": "user", "content": "What now?"}]
    cut = task.format.training_ids(messages, "Rest.", True, "r")
    text = tokenizer.decode(cut.input_ids)
    assert cut.truncated and "What now?" in text and "old" not in text


# packing and the loss -------------------------------------------------------------------------
def test_first_fit_fills_rows_longest_first():
    assert first_fit([5, 3, 4, 2], 7) == [[0, 3], [2, 1]]


def test_packed_rows_give_the_loss_of_each_example_alone(tiny_llama, tokenizer, tmp_path):
    from transformers import AutoModelForCausalLM

    task = task_for(tokenizer, tmp_path)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    features = task.encode([example([{"role": "user", "content": p["prompt"]}], p["completion"]) for p in PAIRS[:5]])
    packed = pack_rows([f.input_ids for f in features], [f.targets for f in features], 400, task.pad_id)
    assert len(packed["input_ids"]) == 1  # all five in one row
    alone = sum(task.compute_loss(model, task.collate([f]))[0] for f in features)
    together, items = task.compute_loss(model, packed)
    assert items == sum(sum(t != -100 for t in f.targets) for f in features)
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-4)


def test_the_loss_on_reply_positions_only_equals_transformers_own(tiny_llama, tokenizer, tmp_path):
    from transformers import AutoModelForCausalLM

    task = task_for(tokenizer, tmp_path, packing=False)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    features = task.encode([example([{"role": "user", "content": p["prompt"]}], p["completion"]) for p in PAIRS[:3]])
    batch = task.collate(features)
    loss, items = task.compute_loss(model, batch)
    labels = torch.full_like(batch["input_ids"], -100)  # transformers shifts labels itself
    labels[:, 1:] = batch["targets"][:, :-1]
    reference = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels).loss
    torch.testing.assert_close(loss / items, reference, rtol=1e-5, atol=1e-5)


def test_packing_keeps_real_scitldr_rows_under_ten_percent_padding(tokenizer, tmp_path):
    from conftest import DATASETS

    path = DATASETS / "scitldr" / "SciTLDR-A" / "dev.jsonl"
    if not path.is_file():
        pytest.skip("SciTLDR not available")
    from tuneforge.tasks.generation.task import Generation

    cfg = load_config(gen_config(tmp_path, "unused", {"train": path, "prompt_field": "source",
                                                      "completion_field": "target"},
                                 model={"name": "x", "max_length": 1024}))
    task = Generation(tokenizer, cfg)
    features = task.encode(task.read(str(path), cfg).examples[:64])
    batch = task.collate(features)
    padding = 1 - batch["attention_mask"].sum().item() / batch["attention_mask"].numel()
    assert padding < 0.10


# decoding -------------------------------------------------------------------------------------
def test_stop_strings_end_the_reply_and_streaming_writes_the_same_text(tokenizer):
    from tuneforge.engine.generate import TextStream, cut_at_stop

    assert cut_at_stop("Hello. User: more", ["User:"]) == "Hello. "
    pieces: list[str] = []
    stream = TextStream(tokenizer, pieces.append, ["STOP"])
    ids = tokenizer("Hello world, STOP here", add_special_tokens=False)["input_ids"]
    stream.put(torch.tensor([[1, 2]]))  # the prompt comes first and is not shown
    for i in ids:
        stream.put(torch.tensor([i]))
    stream.end()
    assert "".join(pieces) == "Hello world, "


def test_sampling_is_reproducible_with_its_seed_and_beams_and_greedy_run(tiny_llama, tokenizer, tmp_path):
    from transformers import AutoModelForCausalLM

    from tuneforge.config.schema import DecodingConfig
    from tuneforge.engine.generate import generate_ids

    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    prompts = [tokenizer("Once upon a time")["input_ids"], tokenizer("Hi")["input_ids"]]
    sample = DecodingConfig(strategy="sample", max_new_tokens=6, temperature=1.5, seed=3)
    assert generate_ids(model, tokenizer, prompts, sample) == generate_ids(model, tokenizer, prompts, sample)
    greedy = generate_ids(model, tokenizer, prompts, DecodingConfig(max_new_tokens=6))
    # Batched, left-padded greedy decoding gives each prompt what it gets alone.
    assert greedy == [generate_ids(model, tokenizer, [p], DecodingConfig(max_new_tokens=6))[0] for p in prompts]
    beams = generate_ids(model, tokenizer, prompts, DecodingConfig(strategy="beam", num_beams=3, max_new_tokens=6))
    assert all(len(b) <= 6 for b in beams)


# whole runs -----------------------------------------------------------------------------------
def test_lora_run_reports_zero_shot_beside_fine_tuned_and_writes_predictions(tmp_path, tiny_llama):
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tuneforge.api import predict, train
    from tuneforge.export.folder import export_run

    data = {"train": write_jsonl(tmp_path / "train.jsonl", PAIRS), "test": write_jsonl(tmp_path / "test.jsonl",
                                                                                       PAIRS[:3])}
    run = train(gen_config(tmp_path, tiny_llama, data))
    report = json.loads((run / "report.json").read_text())
    assert set(report["zero_shot"]["test"]) >= {"rouge1", "bleu", "chrf", "perplexity"}
    assert report["test"]["perplexity"] != report["zero_shot"]["test"]["perplexity"]  # training changed the model
    assert "zero-shot beside fine-tuned" in (run / "report.md").read_text()
    records = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    assert {(r["split"], r["model"]) for r in records} == {("test", "zero-shot"), ("test", "fine-tuned")}
    assert all({"input", "reference", "output"} <= set(r) for r in records)
    from tuneforge.api import evaluate

    scores = evaluate(run, data["test"], predictions=tmp_path / "eval.jsonl")
    assert "predictions" not in scores and scores["examples"] == 3
    assert len((tmp_path / "eval.jsonl").read_text().splitlines()) == 3
    # LoRA on tied embeddings trains and saves no copy of the embedding matrix.
    with safe_open(str(run / "model" / "adapter_model.safetensors"), "pt") as f:
        assert not [k for k in f.keys() if "embed" in k or "lm_head" in k]  # noqa: SIM118 (safe_open: no __iter__)
    # The merged export is a plain causal LM that answers as the run does.
    out = export_run(run, tmp_path / "merged", merge=True)
    merged = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    reply = predict(run, ["Say the word number 3."])[0]["reply"]
    from tuneforge.tasks.generation.chat_format import ChatFormat

    cfg = load_config(run / "config.yaml")
    prompt, _ = ChatFormat(tokenizer, cfg.task_options, 64).prompt_ids([{"role": "user",
                                                                         "content": "Say the word number 3."}], "x")
    ids = merged.generate(torch.tensor([prompt]), max_new_tokens=4, do_sample=False)[0, len(prompt):]
    assert tokenizer.decode(ids, skip_special_tokens=True).strip() == reply


@pytest.mark.parametrize("method", ["full", "ia3", "prompt-tuning"])
def test_other_methods_train_a_causal_lm_and_predict(tmp_path, tiny_llama, method):
    from tuneforge.api import predict, train

    data = {"train": write_jsonl(tmp_path / "train.jsonl", PAIRS)}
    run = train(gen_config(tmp_path, tiny_llama, data, method=method, task_options={"eval_examples": None}))
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["task_options"]["packing"] is (method != "prompt-tuning")
    assert isinstance(predict(run, [{"prompt": "Hi"}])[0]["reply"], str)


@pytest.mark.parametrize("record, message", [
    ({"messages": [{"role": "user", "content": "Hi"}]}, "no assistant message"),
    ({"messages": [{"role": "bot", "content": "Hi"}, {"role": "assistant", "content": "x"}]}, "unknown role 'bot'"),
    ({"prompt": "Hi", "completion": "  "}, "empty completion"),
    ({"prompt": "word " * 300, "completion": "Short."}, "more than model.max_length"),
])
def test_bad_generation_input_is_one_line_exit_2_naming_file_and_record(tmp_path, tiny_llama, record, message):
    train = write_jsonl(tmp_path / "train.jsonl", [*PAIRS[:3], record])
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(gen_config(tmp_path, tiny_llama, {"train": train})), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "tuneforge", "train", str(config)], capture_output=True, text=True)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{train}:4" in lines[0] and message in lines[0], done.stderr
    assert not (tmp_path / "runs").exists()


def ending_after(model, token: int, length: int, eos: int):
    """Make ``model`` end a reply once a row holds ``length`` tokens, the last being ``token``: a forward hook lifts
    the end token's logit there. A rule on each row's own tokens (their count is the last position + 1), so
    batched decoding and decoding alone meet it at the same step."""
    def hook(module, args, kwargs, output):
        lift = (kwargs["input_ids"][:, -1] == token) & (kwargs["position_ids"][:, -1] == length - 1)
        output.logits[:, -1, eos] += lift.to(output.logits.dtype) * 1e4
        return output

    return model.register_forward_hook(hook, with_kwargs=True)


def sliding_window_model(tokenizer):
    """A tiny Mistral whose every layer attends to its last 4 positions: its cache keeps only those."""
    from transformers import MistralConfig, MistralForCausalLM

    config = MistralConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           num_key_value_heads=1, intermediate_size=64, max_position_embeddings=1024, sliding_window=4,
                           tie_word_embeddings=True, eos_token_id=tokenizer.eos_token_id,
                           bos_token_id=tokenizer.bos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    return MistralForCausalLM(config).eval()


@pytest.mark.parametrize("kind", ["llama", "sliding-window"])
@pytest.mark.parametrize("penalty", [1.0, 1.3])
def test_own_greedy_loop_matches_transformers_generate(tiny_llama, tokenizer, penalty, kind):
    """Batched greedy decoding gives each prompt what ``generate`` gives it alone, with one row ending (its end
    token) long before the others: it leaves the batch and its cache, and the columns only it used are cut.
    A sliding-window model goes to ``generate`` (#36 item 23: the own loop cut its window's cache as if whole)."""
    from transformers import AutoModelForCausalLM, GenerationConfig

    from tuneforge.config.schema import DecodingConfig
    from tuneforge.engine.generate import end_ids, generate_ids, plain_dynamic_cache, shared_prefix

    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval() if kind == "llama" else sliding_window_model(
        tokenizer)
    assert plain_dynamic_cache(model) is (kind == "llama")
    shared = "You are a helpful assistant who answers every question briefly. "  # > 8 tokens: run once, reused
    texts = ["Once upon a time there was", "Hi", "The weather today is quite nice and", "A"]
    prompts = [tokenizer(t)["input_ids"] for t in texts] + [tokenizer(shared + t)["input_ids"] for t in texts]
    decoding = DecodingConfig(max_new_tokens=12, repetition_penalty=penalty)
    assert shared_prefix(model, prompts[4:], "cpu")[0] >= 8
    eos = end_ids(tokenizer, model)
    config = GenerationConfig(max_new_tokens=12, do_sample=False, repetition_penalty=penalty, eos_token_id=eos,
                              pad_token_id=tokenizer.pad_token_id)

    def alone(prompt: list[int]) -> list[int]:
        theirs = model.generate(torch.tensor([prompt]), generation_config=config)[0, len(prompt):].tolist()
        return [t for t in theirs if t not in eos]

    for half in (prompts[:4], prompts[4:]):
        free = [alone(p) for p in half]
        longest = max(range(4), key=lambda i: len(half[i]))  # ending, it leaves columns no other row uses
        ender = free[longest][1]  # after its second new token, that row ends
        assert all(ender not in reply for i, reply in enumerate(free) if i != longest)
        hook = ending_after(model, ender, len(half[longest]) + 2, eos[0])
        try:
            ours = generate_ids(model, tokenizer, half, decoding)
            assert [len(reply) for reply in ours] == [2 if i == longest else 12 for i in range(4)]
            assert ours == [alone(p) for p in half]
        finally:
            hook.remove()


def test_predict_streams_one_prompt_and_writes_jsonl_for_a_file(tmp_path, tiny_llama):
    from tuneforge.api import predict, train

    run = train(gen_config(tmp_path, tiny_llama, {"train": write_jsonl(tmp_path / "train.jsonl", PAIRS)},
                           inference={"decoding": {"max_new_tokens": 6}}))
    expected = predict(run, ["Say the word number 5."])[0]["reply"]
    cli = [sys.executable, "-m", "tuneforge", "predict", str(run)]
    streamed = subprocess.run([*cli, "Say the word number 5."], capture_output=True, text=True)
    assert streamed.returncode == 0 and streamed.stdout.strip() == expected
    inputs = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "Say the word number 5."},
                                                 {"messages": [{"role": "user", "content": "Hi"}]}])
    done = subprocess.run([*cli, "--input", str(inputs), "--output", str(tmp_path / "out.jsonl")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(out) == 2 and out[0]["reply"] == expected
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"prompt": "ok"}, {"messages": [{"role": "assistant", "content": "x"}]}])
    failed = subprocess.run([*cli, "--input", str(bad)], capture_output=True, text=True)
    assert failed.returncode == 2 and f"{bad}:2:" in failed.stderr and len(failed.stderr.strip().splitlines()) == 1


def test_rows_are_as_few_as_the_window_allows_and_as_narrow_as_that_permits():
    from tuneforge.tasks.generation.packing import narrowest_rows

    lengths = [400, 300, 200, 100]  # under a 640 window: two rows, 400+200 and 300+100, 22% padding at full width
    rows = narrowest_rows(lengths, 640)
    assert len(rows) == len(first_fit(lengths, 640)) == 2
    assert max(sum(lengths[i] for i in row) for row in rows) == 500  # 400+100 and 300+200: no padding
    assert sorted(i for row in rows for i in row) == [0, 1, 2, 3]


def test_a_long_dialogue_loses_as_many_old_turns_as_it_takes(tokenizer, tmp_path):
    task = task_for(tokenizer, tmp_path, too_long="truncate-left")
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} " + "words " * 10}
                for i in range(31)]
    cut = task.format.training_ids(messages, "Last.", True, "r")
    assert cut.truncated and len(cut.input_ids) <= 64 and "turn 30" in tokenizer.decode(cut.input_ids)


@pytest.mark.parametrize("override, message", [
    (["method=prompt-tuning", "task_options.packing=true"], "task_options.packing cannot be used with method "
                                                             "prompt-tuning"),
    (["training.early_stopping.metric=perplexity", "training.early_stopping.mode=max"],
     "set training.early_stopping.mode: min"),
    (["inference.decoding.stop=['']"], "stop strings must not be empty"),
    (["task_options.metrics=[meteor]"], "bad value for 'task_options.metrics.0'"),
    (["inference.decoding.strategy=nucleus"], "bad value for 'inference.decoding.strategy'"),
])
def test_bad_generation_options_fail_in_one_line_before_any_model_loads(tmp_path, override, message):
    from tuneforge.errors import ConfigError

    train = write_jsonl(tmp_path / "train.jsonl", PAIRS)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_config(gen_config(tmp_path, "no-model-is-loaded", {"train": train}), override)
