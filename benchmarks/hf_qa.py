"""Hugging Face Trainer baseline for extractive QA, following transformers' run_qa.py + utils_qa.py recipe.

The data comes through tuneforge itself (``load_qa_splits`` on a tuneforge YAML config), so the
train / dev / test split (dev and test carved off by whole articles, seeded) is exactly the one tuneforge
trains and scores on. Hyperparameters come from the config too: model, max_length (run_qa's
max_seq_length), stride (doc_stride), epochs, lr, batch sizes, seed, weight decay, warmup ratio, scheduler,
max grad norm, group_by_length, and task_options.n_best / max_answer_length (run_qa's defaults 20 / 30).

Recipe (run_qa.py, plain lists instead of ``datasets``):
  - questions left-stripped; question first, context second, ``truncation="only_second"``,
    overflowing windows of max_length tokens with ``stride`` tokens shared, offset mappings.
  - train windows: the first gold answer's start/end tokens, or [CLS] for both when the answer is not
    wholly inside the window (and for unanswerable v2 questions).
  - dynamic padding (DataCollatorWithPadding, run_qa without --pad_to_max_length), fp32 on CPU,
    AutoModelForQuestionAnswering, Trainer with AdamW.
  - post-processing as utils_qa.postprocess_qa_predictions: per window the n_best start and end logits,
    spans inside the context, end >= start, at most max_answer_length tokens, scored start + end logit,
    best over the question's windows, mapped back to context characters through the offsets. SQuAD v2
    files (any unanswerable question) also get the null answer, with null_score_diff_threshold 0.
Scoring uses tuneforge's ``squad_scores`` (the official SQuAD normalisation), so both sides are scored alike.

Example:
    .venv/bin/python benchmarks/hf_qa.py --config examples/qa-xquad.yaml \
        --output benchmarks/results/hf-qa-xquad.json
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import tempfile
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import package_versions, train_with_trainer, write_results  # noqa: E402
from transformers import (  # noqa: E402
    AutoConfig,
    AutoModelForQuestionAnswering,
    AutoTokenizer,
    Trainer,
    TrainingArguments,
    set_seed,
)

from tuneforge.config.loading import load_config  # noqa: E402
from tuneforge.data.squad import load_qa_splits  # noqa: E402
from tuneforge.models import resolve  # noqa: E402
from tuneforge.tasks.question_answering.squad_metrics import squad_scores  # noqa: E402


def spread(examples: list, n: int | None) -> list:
    """``n`` examples evenly spaced over the list (in order); all of them when n is None or too big."""
    if n is None or n >= len(examples):
        return examples
    return [examples[i] for i in np.linspace(0, len(examples) - 1, n).round().astype(int)]


def tokenize(examples: list, tok: Any, max_length: int, stride: int) -> tuple[Any, bool]:
    pad_on_right = tok.padding_side == "right"
    questions = [e.question.lstrip() for e in examples]  # run_qa: some questions start with lots of spaces
    contexts = [e.context for e in examples]
    enc = tok(
        questions if pad_on_right else contexts,
        contexts if pad_on_right else questions,
        truncation="only_second" if pad_on_right else "only_first",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )
    return enc, pad_on_right


def train_features(examples: list, tok: Any, max_length: int, stride: int) -> list[dict]:
    """run_qa.prepare_train_features: start/end token of the first answer, [CLS] when it is not in the window."""
    enc, pad_on_right = tokenize(examples, tok, max_length, stride)
    features = []
    for i, offsets in enumerate(enc["offset_mapping"]):
        input_ids = enc["input_ids"][i]
        cls_index = input_ids.index(tok.cls_token_id) if tok.cls_token_id in input_ids else 0
        sequence_ids = enc.sequence_ids(i)
        example = examples[enc["overflow_to_sample_mapping"][i]]
        start = end = cls_index
        if example.answers:
            start_char = example.answers[0].start
            end_char = start_char + len(example.answers[0].text)
            context_id = 1 if pad_on_right else 0
            first = 0
            while sequence_ids[first] != context_id:
                first += 1
            last = len(input_ids) - 1
            while sequence_ids[last] != context_id:
                last -= 1
            if offsets[first][0] <= start_char and offsets[last][1] >= end_char:
                while first < len(offsets) and offsets[first][0] <= start_char:
                    first += 1
                start = first - 1
                while offsets[last][1] >= end_char:
                    last -= 1
                end = last + 1
        feat = {k: enc[k][i] for k in tok.model_input_names if k in enc}
        feat["start_positions"], feat["end_positions"] = start, end
        features.append(feat)
    return features


def eval_features(examples: list, tok: Any, max_length: int, stride: int) -> tuple[list[dict], list[dict]]:
    """run_qa.prepare_validation_features: model inputs, plus per window its example and the context offsets."""
    enc, pad_on_right = tokenize(examples, tok, max_length, stride)
    context_id = 1 if pad_on_right else 0
    inputs, meta = [], []
    for i, offsets in enumerate(enc["offset_mapping"]):
        sequence_ids = enc.sequence_ids(i)
        inputs.append({k: enc[k][i] for k in tok.model_input_names if k in enc})
        meta.append({
            "example": enc["overflow_to_sample_mapping"][i],
            "offsets": [o if sequence_ids[k] == context_id else None for k, o in enumerate(offsets)],
        })
    return inputs, meta


def postprocess(examples: list, meta: list[dict], start_logits: np.ndarray, end_logits: np.ndarray,
                n_best: int, max_answer_length: int, version_2: bool) -> list[str]:
    """utils_qa.postprocess_qa_predictions: the best span text per example ("" for no answer in v2)."""
    windows = collections.defaultdict(list)
    for f, m in enumerate(meta):
        windows[m["example"]].append(f)
    answers = []
    for i, example in enumerate(examples):
        min_null, candidates = None, []
        for f in windows[i]:
            starts, ends, offsets = start_logits[f], end_logits[f], meta[f]["offsets"]
            null_score = starts[0] + ends[0]
            if min_null is None or min_null > null_score:
                min_null = null_score
            for s in np.argsort(starts)[-1 : -n_best - 1 : -1].tolist():
                for e in np.argsort(ends)[-1 : -n_best - 1 : -1].tolist():
                    # Trainer pads the logits of shorter windows (-100): indexes past a window's end are skipped
                    if s >= len(offsets) or e >= len(offsets) or offsets[s] is None or offsets[e] is None:
                        continue
                    if e < s or e - s + 1 > max_answer_length:
                        continue
                    candidates.append(((offsets[s][0], offsets[e][1]), starts[s] + ends[e]))
        best = sorted(candidates, key=lambda c: c[1], reverse=True)[:n_best]
        text = example.context[best[0][0][0] : best[0][0][1]] if best else ""
        if version_2:
            # null_score_diff_threshold 0: answer "" when the null score beats the best non-null span
            if not best or min_null > best[0][1]:
                text = ""
        elif not text:
            text = "empty"  # utils_qa's placeholder when no valid span is left
        answers.append(text)
    return answers


def predict(trainer: Trainer, inputs: list[dict]) -> tuple[np.ndarray, np.ndarray, float]:
    t0 = time.perf_counter()
    out = trainer.predict(inputs)
    seconds = time.perf_counter() - t0
    start_logits, end_logits = out.predictions[:2]
    assert len(start_logits) == len(inputs), "one row of logits per window"
    return np.asarray(start_logits, dtype=np.float32), np.asarray(end_logits, dtype=np.float32), seconds


def evaluate(trainer: Trainer, examples: list, tok: Any, hyper: dict, version_2: bool) -> dict[str, Any]:
    inputs, meta = eval_features(examples, tok, hyper["max_length"], hyper["stride"])
    start_logits, end_logits, seconds = predict(trainer, inputs)
    preds = postprocess(examples, meta, start_logits, end_logits, hyper["n_best"], hyper["max_answer_length"],
                        version_2)
    scores = squad_scores([[a.text for a in e.answers] for e in examples], preds)
    return {**scores, "windows": len(inputs), "predict_seconds": seconds}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", required=True, help="tuneforge YAML config (data, task, hyperparameters)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, as tuneforge's --set (repeatable)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--max-train", type=int, default=None, help="smoke tests: train on the first N train questions")
    p.add_argument("--max-eval", type=int, default=None, help="smoke tests: score N evenly spaced dev / test questions")
    p.add_argument("--output", default=None, help="JSON results file")
    return p.parse_args()


def main() -> None:
    wall0 = time.perf_counter()
    args = parse_args()
    cfg = load_config(args.config, args.overrides)
    t, o = cfg.training, cfg.task_options
    threads = args.threads or getattr(t, "threads", None)
    if threads:
        torch.set_num_threads(threads)
    model_path = resolve(cfg.model.name)
    tok = AutoTokenizer.from_pretrained(model_path)
    hyper = {
        "model": cfg.model.name,
        "model_path": model_path,
        "max_length": min(cfg.model.max_length, tok.model_max_length),
        "dropout": getattr(cfg.model, "dropout", None),
        "stride": cfg.model.stride,
        "epochs": t.epochs,
        "max_steps": getattr(t, "max_steps", None),
        "lr": t.lr,
        "batch_size": t.batch_size,
        "eval_batch_size": t.eval_batch_size,
        "seed": t.seed,
        "weight_decay": t.weight_decay,
        "warmup_ratio": t.warmup_ratio,
        "lr_scheduler": t.scheduler,
        "max_grad_norm": t.max_grad_norm,
        "group_by_length": getattr(t, "group_by_length", False),
        "n_best": getattr(o, "n_best", 20),
        "max_answer_length": getattr(o, "max_answer_length", 30),
        "padding": "dynamic",
        "precision": "fp32",
        "max_train": args.max_train,
        "max_eval": args.max_eval,
    }

    splits = load_qa_splits(cfg.data, getattr(cfg.task_options, "squad_version", "auto"))
    sizes = {name: {"questions": len(r.examples), "articles": len({e.title for e in r.examples})}
             for name, r in splits.items()}
    train = splits["train"].examples[: args.max_train]
    dev = spread(splits["dev"].examples, args.max_eval) if "dev" in splits else []
    test = spread(splits["test"].examples, args.max_eval) if "test" in splits else []
    version_2 = any(e.is_impossible for r in splits.values() for e in r.examples)

    set_seed(hyper["seed"])  # as run_qa: before the model, so the QA head starts the same
    model_config = AutoConfig.from_pretrained(model_path)
    dropout = getattr(cfg.model, "dropout", None)
    if dropout is not None:  # as tuneforge's model.dropout: every dropout probability of the model
        for key, value in list(vars(model_config).items()):
            if "dropout" in key and isinstance(value, float):
                setattr(model_config, key, dropout)
    model = AutoModelForQuestionAnswering.from_pretrained(model_path, config=model_config, dtype=torch.float32)
    train_feats = train_features(train, tok, hyper["max_length"], hyper["stride"])
    train_tokens = sum(len(f["input_ids"]) for f in train_feats)
    targs = TrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="hf_qa_"),
        num_train_epochs=hyper["epochs"],
        max_steps=hyper["max_steps"] or -1,
        learning_rate=hyper["lr"],
        per_device_train_batch_size=hyper["batch_size"],
        per_device_eval_batch_size=hyper["eval_batch_size"],
        warmup_steps=hyper["warmup_ratio"],  # transformers v5: a float in [0, 1) is a ratio of the total steps
        weight_decay=hyper["weight_decay"],
        lr_scheduler_type=hyper["lr_scheduler"],
        max_grad_norm=hyper["max_grad_norm"] or 0.0,  # tuneforge's null = no clipping; HF's 0 = no clipping
        eval_strategy="no",
        save_strategy="no",
        report_to=[],
        logging_steps=50,
        seed=hyper["seed"],
        data_seed=hyper["seed"],
        use_cpu=True,
        dataloader_num_workers=0,
        train_sampling_strategy="group_by_length" if hyper["group_by_length"] else "random",
    )  # transformers v5: group_by_length=True became train_sampling_strategy="group_by_length"
    trainer, train_out, train_seconds = train_with_trainer(model, targs, tok, train_feats)

    dev_res = evaluate(trainer, dev, tok, hyper, version_2) if dev else None
    test_res = evaluate(trainer, test, tok, hyper, version_2) if test else None

    versions = package_versions("torch", "transformers", "tokenizers", "tuneforge")
    results = {
        "recipe": "hf-trainer run_qa",
        "config": args.config,
        "overrides": args.overrides,
        "task": cfg.task,
        "data": {"train": cfg.data.train, "dev": cfg.data.dev, "test": cfg.data.test,
                 "split": cfg.data.split.model_dump()},
        "squad_v2": version_2,
        "hyper": hyper,
        "split_sizes": sizes,
        "questions": {"train": len(train), "dev": len(dev), "test": len(test)},
        "train_windows": len(train_feats),
        "train_window_tokens": train_tokens,
        "dev": dev_res,
        "test": test_res,
        "train_loss": train_out.training_loss,
        "train_steps": train_out.global_step,
        "train_seconds": train_seconds,
        "train_windows_per_second": len(train_feats) * hyper["epochs"] / train_seconds,
        "threads": torch.get_num_threads(),
        "wall_seconds": time.perf_counter() - wall0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "versions": versions,
    }

    def em_f1(res: dict | None, n: int) -> str:
        return f"EM {res['exact_match']:.4f} F1 {res['f1']:.4f} (n={n})" if res else "n/a"

    articles = "/".join(str(sizes.get(s, {}).get("articles", 0)) for s in ("train", "dev", "test"))
    print(
        f"{cfg.name} (HF run_qa): test {em_f1(test_res, len(test))}; dev {em_f1(dev_res, len(dev))}; "
        f"train {len(train)} questions ({len(train_feats)} windows), articles train/dev/test {articles}; "
        f"train {train_seconds:.1f}s ({train_out.global_step} steps), wall {results['wall_seconds']:.1f}s, "
        f"peak RSS {results['peak_rss_mb']:.0f} MB"
    )
    if args.output:
        write_results(args.output, results)


if __name__ == "__main__":
    main()
