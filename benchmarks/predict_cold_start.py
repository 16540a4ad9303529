"""`tuneforge predict RUN "text"` from a fresh process: wall seconds, PyTorch engine against ONNX Runtime.

    python benchmarks/predict_cold_start.py RUN [--repeats 5] [--out benchmarks/results/predict_cold_start.json]

RUN is a finished MiniLM run (`make demo` leaves runs/demo-ner). Each repeat starts one process per way,
interleaved so that a busy neighbour slows both alike:
- torch: the default engine; builds the PyTorch model, so it imports transformers' model code;
- onnx: `--set inference.engine=onnx` once the run's graph is exported and checked (the first such call,
  timed apart as `onnx_first_call`, exports it into $TUNEFORGE_CACHE): the graph opens without the PyTorch model,
  and a token-classification run predicts without importing torch (numpy pre- and post-processing);
- the floors, for scale: `python -c pass`, importing torch, importing torch + transformers' BERT classes, and
  what the onnx way imports instead (ONNX Runtime and transformers' tokenizer class).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import write_results

TEXT = "Justin Bieber is playing at Madison Square Garden in New York tonight"
FLOORS = {
    "python_only": "pass",
    "import_torch": "import torch",
    "import_torch_and_bert": "import torch; from transformers import BertForTokenClassification, AutoTokenizer",
    "import_onnxruntime_and_tokenizer": "import onnxruntime; from transformers import PreTrainedTokenizerFast",
}


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"failed: {' '.join(command)}\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/predict_cold_start.json"))
    args = parser.parse_args()
    tuneforge = [sys.executable, "-c", "import sys; from tuneforge.cli import main; sys.exit(main())"]
    ways = {"torch": [*tuneforge, "predict", str(args.run), TEXT],
            "onnx": [*tuneforge, "predict", str(args.run), TEXT, "--set", "inference.engine=onnx"]}
    ways |= {name: [sys.executable, "-c", code] for name, code in FLOORS.items()}
    first_onnx = timed(ways["onnx"])  # exports and checks the graph unless an earlier call did
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeats):
        for name, command in ways.items():
            times[name].append(timed(command))
    results = {
        "run": str(args.run), "text": TEXT, "repeats": args.repeats, "onnx_first_call": round(first_onnx, 2),
        "median_s": {name: round(statistics.median(t), 2) for name, t in times.items()},
        "min_s": {name: round(min(t), 2) for name, t in times.items()},
        "all_s": {name: [round(x, 2) for x in t] for name, t in times.items()},
        "cpus": os.cpu_count(), "load_average_after": os.getloadavg(), "python": platform.python_version(),
    }
    write_results(args.out, results)
    for name in ways:
        print(f"{name:24s} median {results['median_s'][name]:5.2f} s   min {results['min_s'][name]:5.2f} s")
    print(f"onnx first call (export + parity check): {first_onnx:.2f} s; load average after: "
          f"{results['load_average_after'][0]:.2f}")


if __name__ == "__main__":
    main()
