"""Inference: tuneforge QA predict vs the Hugging Face question-answering pipeline, same model and questions.

Both answer the questions of one split of a finished tuneforge QA run (``--run``), with the run's window
length, stride and maximum answer length: tuneforge with ``run.predict`` (the whole set in one call), the
pipeline at each batch size tried (``--batch-sizes``), its best batch size being its number. The rounds are
interleaved (tuneforge, then the pipeline at every batch size, ``--rounds`` times) and medians reported, so
a shared machine slows both alike. Also reported: answer agreement (same answer text) and each side's
exact match / F1 against the gold answers (tuneforge's ``squad_scores``).

transformers 5 removed the question-answering pipeline (``pipeline("question-answering")`` raises), so with
the pinned transformers the pipeline side is ``QAPipeline`` below, a re-implementation of transformers
4.57's QuestionAnsweringPipeline (fast-tokenizer path) on transformers 5's own ChunkPipeline machinery:
each question tokenised alone into overlapping windows, windows batched with padding to the batch's
longest, span decoding per window with transformers' ``select_starts_ends``, spans aligned to words and
merged over windows. With transformers < 5 installed the real pipeline is used instead. ``--reference DIR``
also times the real 4.57 pipeline, in a child process that imports transformers from DIR, as a check of
the re-implementation (speed and answers); make DIR once with
``pip install --no-deps --target DIR transformers==4.57.6 huggingface_hub==0.36.2 tokenizers==0.22.2``.

    .venv/bin/python benchmarks/qa_inference.py --run runs/qa-xquad --split test

Writes benchmarks/results/qa-inference.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def make_pipeline(model_dir: str, dtype: str = "float32") -> tuple[Any, str]:
    """The question-answering pipeline of the installed transformers, else ``QAPipeline`` on the same model."""
    from transformers import pipeline

    try:
        return pipeline("question-answering", model=model_dir, tokenizer=model_dir, device=-1,
                        dtype=dtype), "transformers"
    except KeyError:  # transformers >= 5: "The task question-answering has been removed from transformers"
        pass
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer
    from transformers.pipelines.base import ChunkPipeline
    from transformers.pipelines.document_question_answering import select_starts_ends

    class QAPipeline(ChunkPipeline):
        """transformers 4.57's QuestionAnsweringPipeline, fast tokenizers; inputs: {"question", "context"} dicts."""

        def _sanitize_parameters(self, doc_stride=None, max_seq_len=None, max_answer_len=None, top_k=None,
                                 handle_impossible_answer=None, align_to_words=None, **kwargs):
            pre = {"doc_stride": doc_stride, "max_seq_len": max_seq_len}
            post = {"max_answer_len": max_answer_len, "top_k": top_k, "handle_impossible_answer":
                    handle_impossible_answer, "align_to_words": align_to_words}
            return ({k: v for k, v in pre.items() if v is not None}, {},
                    {k: v for k, v in post.items() if v is not None})

        def preprocess(self, example, doc_stride=None, max_seq_len=None):
            tok = self.tokenizer
            max_seq_len = max_seq_len or min(tok.model_max_length, 384)
            doc_stride = min(max_seq_len // 2, 128) if doc_stride is None else doc_stride
            question_first = tok.padding_side == "right"
            question, context = example["question"], example["context"]
            enc = tok(
                text=question if question_first else context,
                text_pair=context if question_first else question,
                padding="do_not_pad",
                truncation="only_second" if question_first else "only_first",
                max_length=max_seq_len,
                stride=doc_stride,
                return_token_type_ids=True,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
                return_special_tokens_mask=True,
            )
            spans = len(enc["input_ids"])
            for i in range(spans):
                # p_mask: 1 where the answer cannot be (question, special tokens), except [CLS]
                p_mask = [int(s != 1) if question_first else 0 for s in enc.sequence_ids(i)]
                for j, token_id in enumerate(enc["input_ids"][i]):
                    if token_id == tok.cls_token_id:
                        p_mask[j] = 0
                tensors = {k: torch.tensor([enc[k][i]]) for k in (*tok.model_input_names, "token_type_ids")
                           if k in enc}
                yield {"example": example, "is_last": i == spans - 1, "encoding": enc[i],
                       "p_mask": torch.tensor([p_mask]), **tensors}

        def _forward(self, inputs):
            out = self.model(**{k: inputs[k] for k in self.tokenizer.model_input_names})
            return {"start": out["start_logits"], "end": out["end_logits"], **inputs}

        def postprocess(self, outputs, top_k=1, handle_impossible_answer=False, max_answer_len=15,
                        align_to_words=True):
            min_null_score, answers = 1000000, []
            question_first = self.tokenizer.padding_side == "right"
            for out in outputs:
                starts, ends, scores, min_null_score = select_starts_ends(
                    out["start"].float().numpy(), out["end"].float().numpy(), out["p_mask"].numpy(),
                    out["attention_mask"].numpy() if out.get("attention_mask") is not None else None,
                    min_null_score, top_k * 2 + 10 if align_to_words else top_k, handle_impossible_answer,
                    max_answer_len,
                )
                shift = int((out["input_ids"] == self.tokenizer.pad_token_id).sum()) \
                    if self.tokenizer.padding_side == "left" else 0
                enc, context = out["encoding"], out["example"]["context"]
                for s, e, score in zip(starts - shift, ends - shift, scores, strict=True):
                    first, last = enc.offsets[s][0], enc.offsets[e][1]
                    if align_to_words:  # the whole words holding the first and last token
                        try:
                            sequence = 1 if question_first else 0
                            first = enc.word_to_chars(enc.token_to_word(s), sequence_index=sequence)[0]
                            last = enc.word_to_chars(enc.token_to_word(e), sequence_index=sequence)[1]
                        except Exception:
                            first, last = enc.offsets[s][0], enc.offsets[e][1]
                    text = context[first:last]
                    same = next((a for a in answers if a["answer"].lower() == text.lower()), None)
                    if same:  # one answer found in several windows (or spans): its scores add up
                        same["score"] += score.item()
                    else:
                        answers.append({"score": score.item(), "start": first, "end": last, "answer": text})
            if handle_impossible_answer:
                answers.append({"score": min_null_score, "start": 0, "end": 0, "answer": ""})
            answers = sorted(answers, key=lambda a: a["score"], reverse=True)[:top_k]
            return answers[0] if len(answers) == 1 else answers

    model = AutoModelForQuestionAnswering.from_pretrained(model_dir, dtype=getattr(torch, dtype))
    model.eval()
    return QAPipeline(model=model, tokenizer=AutoTokenizer.from_pretrained(model_dir), device=-1), \
        "re-implementation of transformers 4.57's QuestionAnsweringPipeline on transformers 5's ChunkPipeline"


def answer_text(out: Any) -> str:
    out = out[0] if isinstance(out, list) else out
    return out.get("answer") or ""


def worker(model_dir: str, items_path: str, params: str, dtype: str = "float32") -> None:
    """``--worker``: the real pipeline of the transformers on PYTHONPATH; one timed pass per batch size on stdin."""
    import torch
    from transformers import __version__, pipeline

    items, kwargs = json.loads(Path(items_path).read_text()), json.loads(params)
    pipe = pipeline("question-answering", model=model_dir, tokenizer=model_dir, device=-1,
                    torch_dtype=getattr(torch, dtype))
    pipe(question=[i["question"] for i in items[:8]], context=[i["context"] for i in items[:8]], **kwargs)
    print(json.dumps({"transformers": __version__}), flush=True)
    for line in sys.stdin:
        start = time.perf_counter()
        outs = pipe(question=[i["question"] for i in items], context=[i["context"] for i in items],
                    batch_size=int(line), **kwargs)
        seconds = time.perf_counter() - start
        print(json.dumps({"seconds": seconds, "answers": [answer_text(o) for o in outs]}), flush=True)


class Reference:
    """The real pipeline (transformers from ``site``) in a child process, timed there, one pass per call."""

    def __init__(self, site: str, model_dir: str, items: list[dict], kwargs: dict, dtype: str = "float32") -> None:
        fd, self.items_path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(items, fh)
        env = {**os.environ, "PYTHONPATH": site, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", model_dir, self.items_path, json.dumps(kwargs), dtype],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )
        self.version = json.loads(self.proc.stdout.readline())["transformers"]

    def __call__(self, batch_size: int) -> dict:
        self.proc.stdin.write(f"{batch_size}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()
        os.unlink(self.items_path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, help="a finished tuneforge question-answering run")
    p.add_argument("--pipeline-run", default=None, help="the pipeline answers with this run's model instead (a "
                   "distilled student's teacher: the student against what the pipeline does with the teacher)")
    p.add_argument("--split", default="test", help="split of the run's data to answer (train, dev or test)")
    p.add_argument("--batch-sizes", default="1,8,16,32,64", help="pipeline batch sizes to try")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported")
    p.add_argument("--reference", default=None, metavar="DIR",
                   help="also time the real pipeline of the transformers installed in DIR (pip --target)")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="both sides: tuneforge's inference.precision, the pipeline's model dtype")
    p.add_argument("--engine", choices=("torch", "onnx"), default="torch", help="tuneforge's inference.engine")
    p.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "qa-inference.json"))
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:6])
        return
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    import torch

    import tuneforge
    from tuneforge.config.loading import load_config
    from tuneforge.data.squad import load_qa_splits
    from tuneforge.tasks.question_answering.squad_metrics import squad_scores

    run_dir = Path(args.run)
    cfg = load_config(run_dir / "config.yaml")
    splits = load_qa_splits(cfg.data, getattr(cfg.task_options, "squad_version", "auto"))
    examples = splits[args.split].examples
    items = [{"question": e.question, "context": e.context} for e in examples]
    golds = [[a.text for a in e.answers] for e in examples]
    kwargs = {"max_seq_len": cfg.model.max_length, "doc_stride": cfg.model.stride,
              "max_answer_len": getattr(cfg.task_options, "max_answer_length", 30),
              "handle_impossible_answer": any(e.is_impossible for r in splits.values() for e in r.examples)}
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]

    run = tuneforge.load_run(run_dir, overrides=[f"inference.engine={args.engine}",
                                                 f"inference.precision={args.precision}"])
    dtype = {"fp32": "float32", "bf16": "bfloat16"}[args.precision]
    pipeline_model = str(Path(args.pipeline_run or run_dir) / "model")
    pipe, implementation = make_pipeline(pipeline_model, dtype)
    windows = len(pipe.tokenizer([i["question"] for i in items], [i["context"] for i in items],
                                 truncation="only_second", max_length=kwargs["max_seq_len"],
                                 stride=kwargs["doc_stride"], return_overflowing_tokens=True)["input_ids"])
    reference = Reference(args.reference, pipeline_model, items, kwargs, dtype) if args.reference else None

    def call_pipe(batch_size: int) -> list:
        return pipe(items, batch_size=batch_size, **kwargs)

    def timed(fn: Any) -> tuple[float, Any]:
        start = time.perf_counter()
        out = fn()
        return time.perf_counter() - start, out

    run.predict(items[:8])  # warm-up: first-call allocations, lazy imports
    pipe(items[:8], batch_size=8, **kwargs)
    seconds: dict[str, list[float]] = {"tuneforge": []}
    answers: dict[str, list[str]] = {}
    for r in range(args.rounds):
        s, out = timed(lambda: run.predict(items))
        seconds["tuneforge"].append(s)
        answers["tuneforge"] = [o.get("answer") or "" for o in out]
        for bs in batch_sizes:
            s, out = timed(lambda bs=bs: call_pipe(bs))
            seconds.setdefault(f"pipeline@{bs}", []).append(s)
            answers[f"pipeline@{bs}"] = [answer_text(o) for o in out]
            if reference:
                res = reference(bs)
                seconds.setdefault(f"reference@{bs}", []).append(res["seconds"])
                answers[f"reference@{bs}"] = res["answers"]
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in seconds.items()), flush=True)
    if reference:
        reference.close()

    qps = {k: round(len(items) / statistics.median(v), 2) for k, v in seconds.items()}
    best_bs = max(batch_sizes, key=lambda bs: qps[f"pipeline@{bs}"])
    best = answers[f"pipeline@{best_bs}"]
    agree = sum(a == b for a, b in zip(answers["tuneforge"], best, strict=True)) / len(items)
    result = {
        "args": vars(args),
        "run": str(run_dir),
        "pipeline_model": pipeline_model,
        "split": args.split,
        "questions": len(items),
        "articles": len({e.title for e in examples}),
        "pipeline_windows": windows,
        "pipeline_kwargs": kwargs,
        "pipeline_implementation": implementation,
        "tuneforge_eval_batch_size": cfg.training.eval_batch_size,
        "threads": torch.get_num_threads(),
        "seconds_per_round": seconds,
        "questions_per_s_median": qps,
        "pipeline_best": {"batch_size": best_bs, "questions_per_s": qps[f"pipeline@{best_bs}"]},
        "tuneforge_questions_per_s": qps["tuneforge"],
        "ratio_tuneforge_to_best_pipeline": round(qps["tuneforge"] / qps[f"pipeline@{best_bs}"], 2),
        "answer_agreement": agree,
        "scores": {"tuneforge": squad_scores(golds, answers["tuneforge"]), "pipeline": squad_scores(golds, best)},
        "versions": {m: version(m) for m in ("torch", "transformers", "tokenizers", "tuneforge")},
    }
    if reference:
        ref_best = max(batch_sizes, key=lambda bs: qps[f"reference@{bs}"])
        result["reference"] = {
            "transformers": reference.version,
            "best": {"batch_size": ref_best, "questions_per_s": qps[f"reference@{ref_best}"]},
            "answers_same_as_pipeline": {bs: sum(a == b for a, b in zip(
                answers[f"reference@{bs}"], answers[f"pipeline@{bs}"], strict=True)) / len(items)
                for bs in batch_sizes},
            "scores": squad_scores(golds, answers[f"reference@{ref_best}"]),
        }
    out = Path(args.output)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")

    sc = result["scores"]
    print(f"\n{len(items)} {args.split} questions ({result['articles']} articles, {windows} windows), "
          f"{result['threads']} threads, {args.rounds} interleaved rounds, medians\n")
    print("| system | questions/s | ratio | EM | F1 |")
    print("|---|---:|---:|---:|---:|")
    print(f"| HF QA pipeline (best batch_size={best_bs}) | {qps[f'pipeline@{best_bs}']} | 1.00x | "
          f"{sc['pipeline']['exact_match']:.4f} | {sc['pipeline']['f1']:.4f} |")
    print(f"| tuneforge predict | {qps['tuneforge']} | {result['ratio_tuneforge_to_best_pipeline']:.2f}x | "
          f"{sc['tuneforge']['exact_match']:.4f} | {sc['tuneforge']['f1']:.4f} |")
    print(f"\npipeline questions/s by batch size: { {bs: qps[f'pipeline@{bs}'] for bs in batch_sizes} }; "
          f"answer agreement {agree:.1%}")
    if reference:
        ref = result["reference"]
        print(f"reference: transformers {ref['transformers']} pipeline, questions/s by batch size "
              f"{ {bs: qps[f'reference@{bs}'] for bs in batch_sizes} }; answers same as the re-implementation "
              f"{ref['answers_same_as_pipeline']}")


if __name__ == "__main__":
    main()
