"""Feedback while it works: progress bars (with rate and ETA) for decoding and scoring, on only while a command
runs, and train --quick's small evaluation budget."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import yaml
from test_generation import PAIRS, gen_config, write_jsonl


def test_decoding_shows_a_bar_with_an_eta_only_while_showing(tiny_llama, capsys, monkeypatch):
    import functools

    from tqdm import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import tuneforge.engine.progress

    # tqdm redraws at most every 0.1 s: a tiny model decodes faster, so the ticks are counted from every redraw
    monkeypatch.setattr(tuneforge.engine.progress, "tqdm", functools.partial(tqdm, mininterval=0, miniters=1))

    from tuneforge.config.schema import DecodingConfig
    from tuneforge.engine.generate import generate_ids
    from tuneforge.engine.progress import showing

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    prompts = [tokenizer(p["prompt"])["input_ids"] for p in PAIRS]
    decoding = DecodingConfig(max_new_tokens=3)
    capsys.readouterr()
    quiet = generate_ids(model, tokenizer, prompts, decoding, batch_size=4)
    assert capsys.readouterr().err == ""  # a library call, a server's request: no bar
    with showing(True):
        shown = generate_ids(model, tokenizer, prompts, decoding, batch_size=4)
    err = capsys.readouterr().err
    assert shown == quiet
    # token slots (3 a reply), ticked at every decoding step: more ticks than the 3 batches of 4 prompts
    counts = [int(n) for n in re.findall(r"decoding:.*?\| *(\d+)/36 \[", err)]
    assert counts[-1] == 36 and counts == sorted(counts) and len(set(counts)) > 4, counts
    assert re.search(r"decoding:.*36/36 \[[\d:]+<[\d:]+.*12/12 replies", err)  # elapsed<remaining: the ETA


def test_train_quick_cuts_every_evaluation_to_a_few_examples(tmp_path, tiny_llama):
    pairs = [{"prompt": f"Say the word number {i}.", "completion": f"Number {i} it is."} for i in range(40)]
    data = {"train": write_jsonl(tmp_path / "train.jsonl", pairs[:12]),
            "test": write_jsonl(tmp_path / "test.jsonl", pairs)}
    cfg = gen_config(tmp_path, tiny_llama, data, method="lora", task_options={"eval_examples": None},
                     training={"max_steps": 1, "progress": True})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "tuneforge", "train", str(path), "--quick"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "runs" / "g" / "report.json").read_text(encoding="utf-8"))
    assert report["test"]["examples"] == 20 and report["zero_shot"]["test"]["examples"] == 20
    assert "--quick: each evaluation decodes 20 examples (task_options.eval_examples, was all)" in done.stderr
    assert re.search(r"decoding:.*20/20 replies", done.stderr)  # the baseline's and the final evaluation's bars
    config = yaml.safe_load((tmp_path / "runs" / "g" / "config.yaml").read_text(encoding="utf-8"))
    assert config["task_options"]["eval_examples"] == 20  # the run says how it was scored


def test_evaluate_shows_the_scoring_bar_and_predict_output_says_what_it_wrote(tmp_path, tiny_model, small_data,
                                                                             capsys):
    from conftest import make_config

    import tuneforge
    from tuneforge.cli import main
    from tuneforge.engine.progress import shown

    run = tuneforge.train(make_config(tmp_path, tiny_model, small_data, max_steps=2, progress=True))
    out = capsys.readouterr()
    assert out.out.startswith("dev: f1 ") and f"full report: {run / 'report.md'}" in out.out  # as the CLI prints
    assert re.search(r"scoring:.*\d+/\d+ \[", out.err)  # dev scoring inside train has a bar too
    assert not shown()  # on only while train ran
    assert main(["evaluate", str(run), "--json"]) == 0
    assert re.search(r"scoring:.*\d+/\d+ \[", capsys.readouterr().err)  # the run's training.progress: true
    output = tmp_path / "predicted.jsonl"
    assert main(["predict", str(run), "Alice lives in Paris .", "Bob works at Acme", "--output", str(output)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"tuneforge: wrote 2 prediction(s) to {output}" and len(output.read_text().splitlines()) == 2
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"text": "Alice lives in Paris ."}\n' * 3, encoding="utf-8")
    assert main(["predict", str(run), "--input", str(inputs), "--output", str(output), "--no-progress"]) == 0
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"tuneforge: wrote 3 prediction(s) to {output}"


def test_compare_passes_each_method_s_progress_through(tmp_path, tiny_model, small_data, capsys):
    from conftest import make_config

    from tuneforge.cli import main

    config = make_config(tmp_path, tiny_model, small_data, max_steps=2, progress=True)
    assert main(["compare", str(config), "--methods", "bitfit", "--output", str(tmp_path / "cmp")]) == 0
    err = capsys.readouterr().err
    assert "tuneforge compare: bitfit (lr " in err and "method 1 of 1" in err
    assert re.search(r"train:.*2/2 \[", err) and "tuneforge: done: " in err  # the child's own bar and lines


OWNED = """
import sys, time
from tuneforge.config import load_config
from tuneforge.runs.directory import start_run
run = start_run(load_config(sys.argv[1]))
print(run, flush=True)
time.sleep(120)
"""


def test_a_killed_run_is_listed_as_killed_not_running(tmp_path, tiny_model, small_data):
    import os
    import signal
    import socket

    from conftest import make_config

    from tuneforge.runs.directory import claim_run
    from tuneforge.runs.listing import KILLED, summarize

    proc = subprocess.Popen([sys.executable, "-c", OWNED, str(make_config(tmp_path, tiny_model, small_data))],
                            stdout=subprocess.PIPE, text=True)
    try:
        run = __import__("pathlib").Path(proc.stdout.readline().strip())
        assert summarize(run).status == "running"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert json.loads((run / "run.json").read_text())["status"] == "running"  # what the killed process left
    assert summarize(run).status == KILLED
    info = json.loads((run / "run.json").read_text())
    reused = {**info, "owner": {**info["owner"], "pid": os.getpid()}}  # its pid now another process's
    (run / "run.json").write_text(json.dumps(reused), encoding="utf-8")
    assert summarize(run).status == KILLED
    elsewhere = {**info, "owner": {**info["owner"], "host": socket.gethostname() + "-other"}}
    (run / "run.json").write_text(json.dumps(elsewhere), encoding="utf-8")
    assert summarize(run).status == "running"  # another machine's process: not ours to judge
    claim_run(run)  # train --resume takes it over
    assert summarize(run).status == "running" and json.loads((run / "run.json").read_text())["owner"]["pid"] == \
        os.getpid()
