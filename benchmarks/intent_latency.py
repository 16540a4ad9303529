"""Intent latency: ONNX Runtime (fp32 and int8) vs PyTorch eager vs the HF text-classification pipeline.

The model is the bundled MiniLM-L6 with a fresh 77-label sequence-classification head (Banking77's label count;
latency does not depend on what the head learnt), exported with the code ``tuneforge export --format onnx``
runs (``engine/onnx_model.export_graph``, checked against PyTorch on the batch) and quantized with
``onnxruntime.quantization.quantize_dynamic`` as ``--quantize int8`` does. Every engine is timed end to end —
text in, tokenization, forward pass, top label out — with its best settings: PyTorch under
``torch.inference_mode`` with the machine's thread count (OpenMP threads waiting passively), ONNX Runtime with
all graph optimizations, the same thread count and no spin-waiting between calls (spinning threads would steal
the cores of the engine timed next), warm-up calls before timing.

* batch 1: one Banking77 test message of 20 words per call, cycling through all such messages; the engines'
  calls are interleaved (one call each per round, in rotating order) so they share the machine's noise.
  p50/p90/p99 in ms.
* batched: the first ``--texts`` test messages in file order (dynamic padding per batch, no length sorting
  on either side): ONNX fp32/int8 at batch 32 and 64, the pipeline at batch 1, 8, 32, 64; ``--rounds``
  interleaved rounds, median texts/s; the ratio is ONNX's best over the pipeline's best.

    .venv/bin/python benchmarks/intent_latency.py [--calls 200] [--texts 256] [--rounds 3]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# PyTorch's OpenMP threads wait passively between calls, as ONNX Runtime's do below (allow_spinning 0): on a busy
# machine, spinning threads waiting at a barrier for a descheduled peer made PyTorch batch-1 calls 5-20x slower
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
BANKING77 = REPO.parent / "shared" / "datasets" / "banking77" / "test.csv"
TARGETS = {"onnx_p50_ms": 8.0, "batched_ratio": 2.5}


def texts() -> list[str]:
    with BANKING77.open(encoding="utf-8", newline="") as fh:
        return [row["text"] for row in csv.DictReader(fh)]


def build(folder: Path, threads: int):
    """(tokenizer, torch model, ONNX fp32 session, ONNX int8 session, file sizes)."""
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from tuneforge.engine.onnx.model import PARITY_ATOL, OnnxModel, export_graph, max_difference
    from tuneforge.engine.onnx.session import OnnxSession
    from tuneforge.models import load_pretrained, resolve

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(resolve("minilm"))
    model = load_pretrained("minilm", AutoModelForSequenceClassification, num_labels=77).eval()
    sample = dict(tokenizer(texts()[:16], padding=True, return_tensors="pt"))
    names = list(sample)
    export_graph(model, sample, names, ["logits"], folder / "model.onnx")
    with torch.inference_mode():
        reference = model(**sample)
    graph = OnnxModel(OnnxSession(folder / "model.onnx", names, ["logits"], threads))
    worst = max_difference(graph(**sample), reference, ["logits"])
    assert worst <= PARITY_ATOL, worst
    quantize_dynamic(str(folder / "model.onnx"), str(folder / "model.int8.onnx"), weight_type=QuantType.QInt8)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    # no spin-waiting between calls: spinning ONNX Runtime threads would take the cores from the PyTorch call that
    # follows in the interleaved loop (and from whatever else shares the machine)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sessions = [ort.InferenceSession(str(folder / f), options, providers=["CPUExecutionProvider"])
                for f in ("model.onnx", "model.int8.onnx")]
    sizes = {f: (folder / f).stat().st_size for f in ("model.onnx", "model.int8.onnx")}
    return tokenizer, model, sessions, sizes, worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="batch-1 calls per engine")
    parser.add_argument("--texts", type=int, default=256, help="texts per batched round")
    parser.add_argument("--rounds", type=int, default=3, help="batched rounds per engine")
    args = parser.parse_args()
    import torch
    from transformers import pipeline

    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer, model, (fp32, int8), sizes, worst = build(Path(tmp), threads)
        pipe = pipeline("text-classification", model=model, tokenizer=tokenizer, device=-1)

        def onnx(session):
            names = [i.name for i in session.get_inputs()]

            def call(batch: list[str]):
                enc = tokenizer(batch, padding=True, return_tensors="np")
                (logits,) = session.run(["logits"], {n: enc[n].astype(np.int64) for n in names})
                return logits.argmax(-1)
            return call

        def eager(batch: list[str]):
            with torch.inference_mode():
                return model(**tokenizer(batch, padding=True, return_tensors="pt")).logits.argmax(-1)

        engines = {"ONNX Runtime fp32": onnx(fp32), "ONNX Runtime int8": onnx(int8), "PyTorch eager": eager,
                   "HF pipeline": lambda batch: pipe(batch, batch_size=len(batch))}
        all_texts = texts()
        twenty = [t for t in all_texts if len(t.split()) == 20]
        for call in engines.values():  # warm-up
            for t in twenty[:10]:
                call([t])
        times: dict[str, list[float]] = {name: [] for name in engines}
        order = list(engines)
        for i in range(args.calls):
            order = order[1:] + order[:1]
            for name in order:
                start = time.perf_counter()
                engines[name]([twenty[i % len(twenty)]])
                times[name].append((time.perf_counter() - start) * 1000)

        batch_texts = all_texts[:args.texts]
        runs = {f"ONNX Runtime fp32, batch {b}": (engines["ONNX Runtime fp32"], b) for b in (32, 64)}
        runs |= {f"ONNX Runtime int8, batch {b}": (engines["ONNX Runtime int8"], b) for b in (32, 64)}
        runs |= {f"HF pipeline, batch_size {b}": (None, b) for b in (1, 8, 32, 64)}
        rates: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, (call, b) in runs.items():
                start = time.perf_counter()
                if call is None:
                    list(pipe(batch_texts, batch_size=b))
                else:
                    for k in range(0, len(batch_texts), b):
                        call(batch_texts[k:k + b])
                rates[name].append(len(batch_texts) / (time.perf_counter() - start))

    load = os.getloadavg()[0]
    print(f"threads {threads}, load average {load:.1f}, {len(twenty)} twenty-word messages, parity {worst:.1e}, "
          f"model.onnx {sizes['model.onnx'] / 1e6:.1f} MB, int8 {sizes['model.int8.onnx'] / 1e6:.1f} MB\n")
    print("| batch 1, 20 words | p50 ms | p90 ms | p99 ms |\n|---|---:|---:|---:|")
    for name, ms in times.items():
        q = np.percentile(ms, [50, 90, 99])
        print(f"| {name} | {q[0]:.1f} | {q[1]:.1f} | {q[2]:.1f} |")
    print(f"\n| batched, {len(batch_texts)} texts | texts/s (median of {args.rounds}) |\n|---|---:|")
    median = {name: statistics.median(r) for name, r in rates.items()}
    for name, rate in median.items():
        print(f"| {name} | {rate:.0f} |")
    best_pipe = max((r, n) for n, r in median.items() if n.startswith("HF"))
    best_fp32 = max((r, n) for n, r in median.items() if n.startswith("ONNX Runtime fp32"))
    best_int8 = max((r, n) for n, r in median.items() if n.startswith("ONNX Runtime int8"))
    p50 = {name: float(np.percentile(ms, 50)) for name, ms in times.items()}
    print(f"\nONNX fp32 batch-1 p50 {p50['ONNX Runtime fp32']:.1f} ms, int8 {p50['ONNX Runtime int8']:.1f} ms "
          f"(target <= {TARGETS['onnx_p50_ms']:.0f} ms)")
    for label, (rate, name) in (("fp32", best_fp32), ("int8", best_int8)):
        print(f"ONNX {label} best ({name}) / pipeline best ({best_pipe[1]}): {rate / best_pipe[0]:.2f}x "
              f"(target >= {TARGETS['batched_ratio']}x)")


if __name__ == "__main__":
    main()
