"""``compare``: run several adaptation methods on the same config, data and seed, and tabulate them.

Each method trains in its own process (so peak memory is that method's own), with the config's
learning rate for full/freeze and the method's default (its registry entry) for the others unless
given. The result is ``compare.json``, ``compare.md`` (one table) and ``compare.svg`` (test metric
against trainable share, drawn with matplotlib: report/plots.py), written atomically to the output folder after
every method, so a failure or an interrupt keeps the rows already measured. Each row is read from the
run's ``report.json`` and its inference speed is measured in a fresh process too: this process never
loads a run's config, so a run written by newer code (a long compare while the code changes) cannot break it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tuneforge.config.loading import load_config
from tuneforge.errors import ConfigError, RunError
from tuneforge.methods import METHODS
from tuneforge.tasks import task_class
from tuneforge.util.atomic import write_json, write_text


def compare(config: str | Path, methods: list[str], output: str | Path, overrides: list[str] | None = None,
            lrs: dict[str, float] | None = None, inference_texts: int = 512) -> dict[str, Any]:
    cfg = load_config(config, overrides)  # fails now, not after the first method has trained
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"--methods: unknown method(s) {', '.join(unknown)} (choose from {', '.join(METHODS)})")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    metric = cfg.training.early_stopping.metric or task_class(cfg.task).main_metric(cfg)
    rows: list[dict[str, Any]] = []
    result: dict[str, Any] = {"config": str(config), "metric": metric, "rows": rows}
    for method in methods:
        spec = METHODS[method]
        lr = (lrs or {}).get(method) or (cfg.training.lr if spec.keeps_config_lr else spec.default_lr)
        sets = [*(overrides or []), f"method={method}", f"name={cfg.name}-{method}",
                f"output_dir={output / 'runs'}", f"training.lr={lr}"]
        if cfg.training.progress is None:  # the child's stderr is a pipe: it draws its bars if ours is a terminal
            sets.append(f"training.progress={str(sys.stderr.isatty()).lower()}")
        command = [sys.executable, "-m", "tuneforge", "train", str(config)] + [x for s in sets for x in ("--set", s)]
        number = f"{methods.index(method) + 1} of {len(methods)}"
        print(f"tuneforge compare: {method} (lr {lr}), method {number}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        code, err = _passed_through(command)
        if code:
            raise RunError(f"method '{method}' failed: {err.strip().splitlines()[-1] if err.strip() else ''}")
        run_dir = Path(err.split("tuneforge: done: ")[-1].split()[0])
        rows.append(_row(method, lr, run_dir, metric, time.perf_counter() - started, inference_texts))
        _write(output, cfg.name, result)
    return result


def _passed_through(command: list[str]) -> tuple[int, str]:
    """Run one method's training; its stderr (progress bars, what it says) shows as it comes and is returned."""
    import codecs
    import os

    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    seen = []
    while chunk := os.read(proc.stderr.fileno(), 4096):  # raw reads: a bar's \r updates come as they are drawn
        text = decoder.decode(chunk)
        seen.append(text)
        sys.stderr.write(text)
        sys.stderr.flush()
    proc.stderr.close()
    return proc.wait(), "".join(seen) + decoder.decode(b"", final=True)


def _write(output: Path, name: str, result: dict[str, Any]) -> None:
    metric, rows = result["metric"], result["rows"]
    write_json(output / "compare.json", result)
    write_text(output / "compare.md", markdown(result))
    points = [(r["method"], r["trainable_percent"], r["test"]) for r in rows if r["test"] is not None]
    if points:
        from tuneforge.report.plots import methods_scatter  # matplotlib, imported only when there is something to draw

        write_text(output / "compare.svg", methods_scatter(points, "trainable parameters (% of model, log scale)",
                                                           f"test {metric}", f"{name}: methods compared"))


def _row(method: str, lr: float, run_dir: Path, metric: str, wall: float, inference_texts: int) -> dict[str, Any]:
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    training = report["training"]
    size = sum(p.stat().st_size for p in (run_dir / "model").glob("*.safetensors"))
    return {
        "method": method, "lr": lr, "run": str(run_dir), "metric": metric,
        "test": report.get("test", {}).get(metric), "dev": report.get("dev", {}).get(metric),
        "trainable_parameters": training["trainable_parameters"],
        "trainable_percent": 100 * training["trainable_parameters"] / training["total_parameters"],
        "saved_mb": size / 2**20, "train_seconds": training["train_seconds"], "wall_seconds": round(wall, 1),
        "peak_rss_mb": training.get("peak_rss_mb"),
        "inference_texts_per_s": _inference_speed_in_child(run_dir, inference_texts),
    }


def _inference_speed_in_child(run_dir: Path, n: int) -> float:
    code = f"from tuneforge.studies.compare import inference_speed; print(inference_speed({str(run_dir)!r}, {n}))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode:
        raise RunError(f"{run_dir}: measuring predict speed failed: "
                       f"{proc.stderr.strip().splitlines()[-1] if proc.stderr else ''}")
    return float(proc.stdout.strip().splitlines()[-1])


def inference_speed(run_dir: str | Path, n: int) -> float:
    """``predict`` texts/s of a saved run on up to ``n`` texts of its test (or dev, or train) split."""
    from tuneforge.api import predict
    from tuneforge.runs.directory import load_run

    run = load_run(run_dir)
    texts = _texts(run, n)
    predict(run, texts[:8])  # warm-up
    started = time.perf_counter()
    predict(run, texts)
    return len(texts) / (time.perf_counter() - started)


def _texts(run, n: int) -> list[Any]:
    data = run.config.data
    path = data.test or data.dev or data.train
    examples = run.task.read(path, run.config).examples[:n]
    return [run.task.prediction_input(e) for e in examples]


def markdown(result: dict[str, Any]) -> str:
    metric = result["metric"]
    lines = [f"| method | lr | test {metric} | dev {metric} | trainable params | trainable % | saved (MB) | "
             "train time (s) | peak RSS (MB) | inference (texts/s) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        test = f"{r['test']:.4f}" if r["test"] is not None else "–"
        dev = f"{r['dev']:.4f}" if r["dev"] is not None else "–"
        lines.append(f"| {r['method']} | {r['lr']:g} | {test} | {dev} | {r['trainable_parameters']:,} | "
                     f"{r['trainable_percent']:.3f} | {r['saved_mb']:.2f} | {r['train_seconds']:.1f} | "
                     f"{r['peak_rss_mb'] or 0:.0f} | {r['inference_texts_per_s']:.1f} |")
    return "\n".join(lines) + "\n"
