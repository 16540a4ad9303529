"""Streaming prediction of a 1 GB JSONL file: the memory of ``predict --input`` as it reads, against the old path.

A tiny NER run (2-layer, 32-wide random BERT with MiniLM's tokenizer, trained a few steps) predicts a ~1 GB file
of short texts written under /tmp (deleted afterwards). The resident memory of the predicting process is sampled
from /proc every 0.25 s, with how far it has read the input (the file offset of its open descriptor):

1. ``predict --input BIG --output OUT``: the check pass reads the whole GB; the predict pass runs for
   ``--predict-seconds`` (predicting all of it takes ~1.8 h on 2 shared cores), then the process is killed with SIGKILL;
2. ``--resume``: checks the GB again, continues after the complete chunks for ``--resume-seconds``, is killed
   again; the partial output is then checked line by line (item i on line i: nothing twice, nothing missing);
3. the old whole-file path (read all, predict all, write all: predict before streaming) on prefixes of the same
   file, and the streamed path on the largest of them, to the end.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/predict_stream.py

Writes benchmarks/results/predict_stream.json and prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

OLD_PATH = """
import json, sys
from tuneforge.util.atomic import write_text
from tuneforge.cli.predict import read_inputs
from tuneforge.runs.directory import load_run
items = read_inputs(sys.argv[2], ("text",))
run = load_run(sys.argv[1])
write_text(sys.argv[3], "".join(json.dumps(r, ensure_ascii=False) + "\\n" for r in run.predict(items)))
"""

WORDS = ["the", "a", "of", "to", "and", "in", "is", "was", "for", "on", "that", "with", "by", "at", "from", "as",
         "it", "be", "this", "are", "or", "an", "which", "not", "have", "has", "had", "were", "their", "one", "all",
         "new", "more", "also", "been", "after", "first", "two", "would", "who", "other", "Alice", "Bob", "Paris",
         "London", "Acme", "Google", "Berlin", "Tokyo", "Smith", "Jones", "Monday", "March", "river", "city", "music",
         "game", "team", "player"]


def tiny_run(folder: Path) -> Path:
    """A token-classification run on a tiny random BERT: predicts fast, which is all this needs."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    import tuneforge
    from tuneforge.models import resolve

    tokenizer = AutoTokenizer.from_pretrained(resolve("minilm"))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder / "tiny-bert")
    tokenizer.save_pretrained(folder / "tiny-bert")
    sentences = ["Alice\tB-person\nlives\tO\nin\tO\nParis\tB-location", "Bob\tB-person\nworks\tO\nat\tO\nAcme\tB-org"]
    (folder / "train.conll").write_text("\n\n".join(sentences * 8) + "\n", encoding="utf-8")
    cfg = {"name": "tiny", "model": {"name": str(folder / "tiny-bert"), "max_length": 64, "stride": 16},
           "data": {"train": str(folder / "train.conll")},
           "training": {"epochs": 1, "batch_size": 4, "progress": False, "threads": 1},
           "output_dir": str(folder / "runs")}
    return tuneforge.train(cfg)


def write_big(path: Path, size: int) -> int:
    """Lines {"text": "<i> <6-22 words>"} up to ``size`` bytes; returns how many."""
    random.seed(0)
    base = [" ".join(random.choice(WORDS) for _ in range(random.randint(6, 22))) for _ in range(4096)]
    n = written = 0
    with path.open("w", encoding="utf-8") as f:
        while written < size:
            block = "".join(f'{{"text": "{i} {base[i % 4096]}"}}\n' for i in range(n, n + 10_000))
            f.write(block)
            written += len(block)
            n += 10_000
    return n


def prefix(big: Path, path: Path, size: int) -> int:
    """The first ``size`` bytes of ``big`` (whole lines); returns the number of lines."""
    with big.open("rb") as f:
        data = f.read(size)
    data = data[: data.rfind(b"\n") + 1]
    path.write_bytes(data)
    return data.count(b"\n")


def proc_status(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


def read_position(pid: int, path: Path) -> int | None:
    """Offset of the process's open descriptor on ``path`` (None when it has none open)."""
    target = str(path.resolve())
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                        return int(f.readline().split()[1])
            except OSError:
                continue
    except OSError:
        return None
    return None


def watch(command: list[str], path: Path, predict_seconds: float | None, log: Path) -> dict:
    """Run ``command``, sampling memory and read position; SIGKILL it ``predict_seconds`` into its predict pass."""
    size = path.stat().st_size
    samples = []
    started = time.perf_counter()
    predict_started = None
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    with log.open("w") as err:
        proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err, env=env)
        passes = 0
        was_open = False
        while proc.poll() is None:
            try:
                rss, hwm = proc_status(proc.pid)
            except OSError:
                break
            pos = read_position(proc.pid, path)
            if pos is not None and not was_open:
                passes += 1  # the file was opened (again): check pass, then predict pass
            was_open = pos is not None
            now = time.perf_counter() - started
            phase = "check" if passes <= 1 else "predict"
            if phase == "predict" and predict_started is None:
                predict_started = now
            samples.append({"s": round(now, 2), "phase": phase, "read": None if pos is None else pos / size,
                            "rss_mb": round(rss, 1), "peak_mb": round(hwm, 1)})
            if predict_seconds is not None and predict_started is not None and now - predict_started > predict_seconds:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                break
            time.sleep(0.25)
        code = proc.wait()
    if code not in (0, -signal.SIGKILL):
        raise SystemExit(f"failed ({code}): {' '.join(command)}\n{log.read_text()[-3000:]}")
    return {"samples": samples, "returncode": code, "seconds": round(time.perf_counter() - started, 1)}


def rows(samples: list[dict], phase: str, marks: tuple[float, ...]) -> list[dict]:
    """The first sample of ``phase`` at or past each fraction of its furthest read position, and its last one."""
    mine = [s for s in samples if s["phase"] == phase and s["read"] is not None]
    if not mine:
        return []
    furthest = max(s["read"] for s in mine)
    picked = []
    for mark in marks:
        hit = next((s for s in mine if s["read"] >= mark * furthest), None)
        if hit is not None and hit not in picked:
            picked.append(hit)
    if mine[-1] not in picked:
        picked.append(mine[-1])
    return picked


def check_partial(partial: Path) -> int:
    """Complete lines of a partial output; item i must be on line i (the texts start with their index)."""
    n = 0
    with partial.open("rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break
            index = int(json.loads(raw)["text"].split(" ", 1)[0])
            if index != n:
                raise SystemExit(f"{partial}: line {n + 1} holds item {index}")
            n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--predict-seconds", type=float, default=120)
    parser.add_argument("--resume-seconds", type=float, default=20)
    parser.add_argument("--old-sizes-mb", default="2,4,8")
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "predict_stream.json"))
    args = parser.parse_args()
    from common import write_results

    cli = [sys.executable, "-m", "tuneforge", "predict"]
    results: dict = {"size_mb": args.size_mb}
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="predict-stream-") as tmp:
        folder = Path(tmp)
        run = tiny_run(folder)
        big = folder / "big.jsonl"
        t = time.perf_counter()
        items = write_big(big, args.size_mb << 20)
        results["items"] = items
        results["file_bytes"] = big.stat().st_size
        print(f"wrote {big.stat().st_size / 2**20:.0f} MB, {items:,} items in {time.perf_counter() - t:.0f}s",
              flush=True)
        out = folder / "out.jsonl"
        partial = folder / ".out.jsonl.partial"

        # 1. streamed, killed in the predict pass
        first = watch([*cli, str(run), "--input", str(big), "--output", str(out)], big, args.predict_seconds,
                      folder / "first.log")
        lines_first = check_partial(partial)
        results["streamed_killed"] = {**first, "predicted_lines": lines_first}
        print(f"killed after {first['seconds']}s: {lines_first:,} lines", flush=True)

        # 2. resumed, killed again
        second = watch([*cli, str(run), "--input", str(big), "--output", str(out), "--resume"], big,
                       args.resume_seconds, folder / "second.log")
        lines_second = check_partial(partial)
        results["streamed_resumed"] = {**second, "predicted_lines": lines_second}
        print(f"resumed and killed after {second['seconds']}s: {lines_second:,} lines, item i on line i", flush=True)
        partial.unlink()

        # 3. the old whole-file path on prefixes, and the streamed path on the largest
        old = []
        for mb in (int(x) for x in args.old_sizes_mb.split(",")):
            small = folder / f"small-{mb}.jsonl"
            n = prefix(big, small, mb << 20)
            done = watch([sys.executable, "-c", OLD_PATH, str(run), str(small), str(folder / "old.jsonl")], small,
                         None, folder / "old.log")
            assert done["returncode"] == 0, (folder / "old.log").read_text()[-2000:]
            old.append({"mb": mb, "items": n, "peak_mb": max(s["peak_mb"] for s in done["samples"]),
                        "seconds": done["seconds"]})
            print(f"old path, {mb} MB: peak {old[-1]['peak_mb']:.0f} MB in {done['seconds']}s", flush=True)
        streamed = watch([*cli, str(run), "--input", str(small), "--output", str(folder / "new.jsonl")], small, None,
                         folder / "new.log")
        assert streamed["returncode"] == 0, (folder / "new.log").read_text()[-2000:]
        assert (folder / "new.jsonl").read_bytes().count(b"\n") == n
        results["old_path"] = old
        results["streamed_small"] = {"mb": mb, "items": n, "peak_mb": max(s["peak_mb"] for s in streamed["samples"]),
                                     "seconds": streamed["seconds"]}
    write_results(args.output, results)

    print("\n| pass | read of the 1 GB file | time (s) | RSS (MB) | peak RSS (MB) |\n|---|---:|---:|---:|---:|")
    for name, key in (("check", "streamed_killed"), ("predict", "streamed_killed"),
                      ("resume: check", "streamed_resumed"), ("resume: predict", "streamed_resumed")):
        phase = name.split(": ")[-1]
        for s in rows(results[key]["samples"], phase, (0.1, 0.5) if phase == "check" else (0.0, 0.25, 0.5)):
            print(f"| {name} | {100 * s['read']:.2f}% | {s['s']:.0f} | {s['rss_mb']:.0f} | {s['peak_mb']:.0f} |")
    print("\n| path | input | items | peak RSS (MB) | time (s) |\n|---|---:|---:|---:|---:|")
    for r in results["old_path"]:
        print(f"| whole file (before) | {r['mb']} MB | {r['items']:,} | {r['peak_mb']:.0f} | {r['seconds']:.0f} |")
    r = results["streamed_small"]
    print(f"| streamed | {r['mb']} MB | {r['items']:,} | {r['peak_mb']:.0f} | {r['seconds']:.0f} |")


if __name__ == "__main__":
    main()
