"""Continued pretraining: streamed documents packed into full rows, BERT masking, MLM and causal runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from conftest import SENTENCES, write_conll

from tuneforge.tasks.pretrain.masking import continuation_table, mask_tokens
from tuneforge.tasks.pretrain.text_rows import pack_documents

TEXT = ["the quick brown fox jumps over the lazy dog", "a stitch in time saves nine",
        "unbelievably extraordinary circumstances happened yesterday", "all that glitters is not gold"]
TASK = "pretrain"


def text_file(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def config(tmp_path: Path, model: str, files: dict, **extra) -> dict:
    cfg = {"name": "p", "task": TASK, "model": {"name": model, "max_length": 16},
           "data": {k: str(v) for k, v in files.items()},
           "training": {"max_steps": 4, "batch_size": 4, "lr": 1e-3, "seed": 1, "progress": False},
           "output_dir": str(tmp_path / "runs")}
    for key, value in extra.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg


@pytest.fixture(scope="module")
def bert_tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


def test_packing_yields_full_rows_of_the_window_with_no_padding(bert_tokenizer):
    rows = pack_documents(TEXT * 10, bert_tokenizer, 16, chunk=3)
    assert rows.ids.shape[1] == 16 and len(rows) == rows.tokens // 16 and all(len(r) == 16 for r in rows)
    assert bert_tokenizer.pad_token_id not in rows.ids
    stream = [i for t in TEXT * 10 for i in bert_tokenizer(t)["input_ids"]]  # [CLS] doc [SEP], one after another
    assert rows.ids.reshape(-1).tolist() == stream[: len(rows) * 16]
    short = pack_documents(["tiny"], bert_tokenizer, 16)  # no full row: the one short row is kept
    assert len(short) == 1 and len(short[0]) == short.tokens < 16


def test_masking_keeps_the_rate_and_never_masks_special_tokens(bert_tokenizer):
    rows = pack_documents(TEXT * 200, bert_tokenizer, 64)
    ids = torch.from_numpy(rows.ids).long()
    special = torch.tensor(bert_tokenizer.all_special_ids)
    inputs, targets = mask_tokens(ids, special, bert_tokenizer.mask_token_id, len(bert_tokenizer), 0.15,
                                  generator=torch.Generator().manual_seed(0))
    chosen = targets != -100
    maskable = ~torch.isin(ids, special)
    assert not (chosen & ~maskable).any()
    assert abs(chosen.sum() / maskable.sum() - 0.15) < 0.01
    assert (targets[chosen] == ids[chosen]).all() and (inputs[~chosen] == ids[~chosen]).all()
    as_mask = (inputs[chosen] == bert_tokenizer.mask_token_id).float().mean()
    kept = (inputs[chosen] == ids[chosen]).float().mean()
    assert abs(as_mask - 0.8) < 0.03 and 0.07 < kept < 0.13


def test_whole_word_masking_masks_every_piece_of_a_word_together(bert_tokenizer):
    rows = pack_documents(TEXT * 100, bert_tokenizer, 64)
    ids = torch.from_numpy(rows.ids).long()
    continues = continuation_table(bert_tokenizer)
    assert continues[ids].any()  # the text has words of several pieces
    _, targets = mask_tokens(ids, torch.tensor(bert_tokenizer.all_special_ids), bert_tokenizer.mask_token_id,
                             len(bert_tokenizer), 0.3, continues, torch.Generator().manual_seed(0))
    chosen = targets != -100
    piece = continues[ids]
    piece[:, 0] = False
    # a continuation piece is chosen exactly when the piece before it is
    assert (chosen[:, 1:][piece[:, 1:]] == chosen[:, :-1][piece[:, 1:]]).all()
    assert chosen[:, 1:][piece[:, 1:]].any()


def test_mlm_loss_falls_on_repeated_text(tmp_path, tiny_model):
    from tuneforge.api import train

    data = {"train": text_file(tmp_path / "train.txt", TEXT * 20)}
    run = train(config(tmp_path, tiny_model, data, training={"max_steps": 40, "log_every": 5, "lr": 3e-3,
                                                             "warmup_ratio": 0.0}))
    losses = [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()
              if '"loss"' in line]
    assert losses[-1] < losses[0] * 0.8, losses


def test_mlm_run_reports_perplexity_before_and_after_and_feeds_token_classification(tmp_path, tiny_model):
    from transformers import AutoModel

    from tuneforge.api import predict, train

    data = {"train": text_file(tmp_path / "train.txt", TEXT * 20)}
    run = train(config(tmp_path, tiny_model, data, data={"split": {"dev": 0.2}},
                       task_options={"whole_word_masking": True}, training={"max_steps": 12}))
    report = json.loads((run / "report.json").read_text())
    assert report["objective"] == "mlm" and report["whole_word_masking"] is True
    before, after = report["zero_shot"]["dev"]["perplexity"], report["dev"]["perplexity"]
    assert after < before and report["dev"]["scored_tokens"] == report["zero_shot"]["dev"]["scored_tokens"]
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["training"]["early_stopping"] == {**cfg["training"]["early_stopping"], "metric": "perplexity",
                                                 "mode": "min"}
    assert AutoModel.from_pretrained(run / "model").config.model_type == "bert"  # the backbone loads as it is
    assert predict(run, "the quick brown fox")["perplexity"] > 1
    ner = {"train": write_conll(tmp_path / "ner.conll", SENTENCES * 2), "test": write_conll(tmp_path / "t.conll",
                                                                                              SENTENCES[:2])}
    ner_cfg = {"name": "ner", "model": {"name": str(run / "model"), "max_length": 32, "stride": 8},
               "data": {k: str(v) for k, v in ner.items()},
               "training": {"max_steps": 3, "batch_size": 4, "seed": 1, "progress": False},
               "output_dir": str(tmp_path / "runs")}
    ner_run = train(ner_cfg)
    assert "f1" in json.loads((ner_run / "report.json").read_text())["test"]
    assert isinstance(predict(ner_run, "Alice lives in Paris ."), dict)


@pytest.mark.parametrize("method", ["full", "lora"])
def test_causal_objective_on_a_decoder(tmp_path, tiny_llama, method):
    from tuneforge.api import train

    data = {"train": text_file(tmp_path / "train.jsonl", [json.dumps({"body": t}) for t in TEXT * 10]),
            "dev": text_file(tmp_path / "dev.jsonl", [json.dumps({"body": t}) for t in TEXT])}
    run = train(config(tmp_path, tiny_llama, data, method=method, data={"text_field": "body"},
                       training={"max_steps": 6, "lr": 3e-3}))
    report = json.loads((run / "report.json").read_text())
    assert report["objective"] == "causal" and report["training"]["method"] == method
    assert report["dev"]["perplexity"] < report["zero_shot"]["dev"]["perplexity"]


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_an_empty_text_file_is_one_line_exit_2_naming_it(tmp_path, tiny_model, content):
    train = tmp_path / "empty.txt"
    train.write_text(content, encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config(tmp_path, tiny_model, {"train": train})), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "tuneforge", "train", str(path)], capture_output=True, text=True)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and str(train) in lines[0], done.stderr
    assert not (tmp_path / "runs").exists()


def test_a_conll_file_pretrains_as_it_is_each_sentence_one_document(tmp_path):
    from types import SimpleNamespace

    from tuneforge.data.text_stream import read_documents

    conll = write_conll(tmp_path / "ner.conll", SENTENCES)
    conll.write_text("-DOCSTART- O\n\n" + conll.read_text(encoding="utf-8"), encoding="utf-8")
    data = SimpleNamespace(format="auto", text_field="text")
    documents = read_documents(str(conll), data).examples
    assert [d.text for d in documents] == [" ".join(w for w, _ in s) for s in SENTENCES]
    assert list(documents)[1].source == f"{conll}:9"  # the sentence's first line
    records = text_file(tmp_path / "ner.jsonl", [json.dumps({"tokens": [w for w, _ in s]}) for s in SENTENCES])
    words = read_documents(str(records), SimpleNamespace(format="auto", text_field="tokens")).examples
    assert [d.text for d in words] == [d.text for d in documents]

