"""``runs/<name>/report.html``: one self-contained page about a finished run, from the run's own files.

Read: config.yaml (the summary), metrics.jsonl (the curves), report.json (scores, per-label tables, the
confusion matrix, the worst errors with their text, the out-of-scope threshold trade-off, training facts),
run.json (versions, the config file the run came from) and, where the run wrote one, predictions.jsonl (the
worst outputs). The page is a Jinja2 template (templates/report.html.j2, autoescaped: every value read from
the run is text) given plain values; plots are matplotlib SVG, the only markup marked safe. The CSS and the few
lines of JS that sort the tables are inline too: nothing is fetched, the page opens offline. What the page shows
is chosen by what the files hold (a per-label table is any split entry of per-label P/R/F1/support rows), never
by task name. No absolute path of the machine is shown: the run by its name, data files relative to the config
file the run came from.

``write_report_html`` never raises: the report is a convenience, and a plotting error must not fail a run
that trained; it says why in one line and leaves no report.html.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from functools import cache
from pathlib import Path
from typing import Any

from markupsafe import Markup

from tuneforge.report.attribution_html import LEGEND, attribution_html
from tuneforge.util.atomic import write_text

SPLITS = ("test", "dev")  # the split the page leads with: test where there is one
CONFUSION_TOP = 20  # a larger label set shows the labels with the most errors, in either direction
BARS_TOP = 60
WORST = 10
TRAINING_FACTS = ("steps", "best_step", "best_dev_metric", "stopped_early", "train_seconds", "tokens_per_s",
                  "train_tokens", "padding_fraction", "peak_rss_mb", "trainable_parameters", "total_parameters",
                  "device", "processes", "mixed_precision")
SETTINGS = ("epochs", "max_steps", "lr", "optimizer", "scheduler", "warmup_ratio", "batch_size", "batch_tokens",
            "grad_accum", "weight_decay", "seed")


@cache
def _templates():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(loader=PackageLoader("tuneforge.report", "templates"), autoescape=True,
                       undefined=StrictUndefined, keep_trailing_newline=True)


def write_report_html(run_dir: str | Path) -> Path | None:
    """Write ``run_dir/report.html``; on any error, one line on stderr and no file (never fails the run)."""
    path = Path(run_dir) / "report.html"
    try:
        write_text(path, render(Path(run_dir)))
        return path
    except Exception as exc:  # whatever plotting or a damaged file raises, the run stands
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        print(f"tuneforge: report.html skipped ({type(exc).__name__}: {first})", file=sys.stderr, flush=True)
        return None


def render(run_dir: Path) -> str:
    """The page's HTML for a run directory with report.json (raises on what it cannot read)."""
    import yaml

    from tuneforge.engine.metrics_log import read_metrics
    from tuneforge.report import plots

    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    info = _json(run_dir / "run.json")
    records = read_metrics(run_dir / "metrics.jsonl")
    training = report.get("training", {})
    lead = next((s for s in SPLITS if isinstance(report.get(s), dict)), None)

    train = [r for r in records if "split" not in r and "loss" in r]
    dev = [r for r in records if r.get("split") == "dev"]
    per_label = []
    for split in SPLITS:
        found = _per_label(report.get(split))
        if found is None:
            continue
        key, rows = found
        table = {"split": split, "kind": key.removeprefix("per_"), "bars": None, "bars_note": None,
                 "rows": [(label, [float(r.get(m, 0)) for m in ("precision", "recall", "f1")],
                           int(r.get("support", 0))) for label, r in rows.items()]}
        if split == lead and rows:
            shown = sorted(rows, key=lambda x: -rows[x].get("support", 0))[:BARS_TOP]
            table["bars"] = Markup(plots.label_bars(shown, [float(rows[x]["f1"]) for x in shown], f"{split} F1"))
            if len(rows) > BARS_TOP:
                table["bars_note"] = f"the {BARS_TOP} most frequent of {len(rows)}"
        per_label.append(table)
    confusion = report[lead].get("confusion") if lead else None
    context = {
        "name": str(config.get("name", run_dir.name)), "task": str(report.get("task", "")),
        "method": str(training.get("method", config.get("method", ""))), "run_name": run_dir.name,
        "status": str(info.get("status", "?")), "config_rows": _config_rows(config, run_dir, info),
        "scores": _scores(report),
        "curves": Markup(plots.curves(train, dev, _dev_metric(config, dev))) if train or dev else None,
        "per_label": per_label,
        "confusion": _confusion(confusion, lead, plots) if isinstance(confusion, dict) else None,
        "worst_errors": _worst_errors(report[lead], lead) if lead else None,
        "oos_tradeoff": _oos_tradeoff(report.get("dev"), plots),
        "worst": _worst(run_dir / "predictions.jsonl"),
        "facts": _facts(training, info),
    }
    return _templates().get_template("report.html.j2").render(context)


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    value = json.loads(path.read_text(encoding="utf-8"))
    return value if isinstance(value, dict) else {}


def _fmt(value: Any) -> str:
    """A value as a reader reads it: no Python reprs (None, True, False)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e5 else f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "–" if value is None else str(value)


def _rows(rows: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    return [(k, _fmt(v)) for k, v in rows]


def shown_path(value: str, run_dir: Path, info: dict[str, Any]) -> str:
    """A data path of the run's config.yaml (relative to the run directory, or absolute) as the user knows it:
    relative to the config file the run came from (run.json's ``config``), else to the folder holding the runs
    folder (the project)."""
    if value.startswith("pkg:"):
        return value
    path, hash_, fragment = value.partition("#")
    target = Path(path) if Path(path).is_absolute() else run_dir / path
    source = info.get("config")
    base = (run_dir / source).parent if isinstance(source, str) else run_dir.parent.parent
    return os.path.relpath(os.path.normpath(os.path.abspath(target)), os.path.normpath(os.path.abspath(base))) \
        + hash_ + fragment


def _config_rows(config: dict[str, Any], run_dir: Path, info: dict[str, Any]) -> list[tuple[str, str]]:
    model, data, training = (config.get(k) or {} for k in ("model", "data", "training"))
    rows = [("task", config.get("task")), ("method", config.get("method")), ("model", model.get("name")),
            ("max_length", model.get("max_length"))]
    if isinstance(info.get("config"), str):
        rows.append(("config file", Path(info["config"]).name))
    rows += [(f"data.{s}", shown_path(str(data[s]), run_dir, info)) for s in ("train", "dev", "test") if data.get(s)]
    rows += [(f"training.{k}", training.get(k)) for k in SETTINGS if training.get(k) is not None]
    stopping = training.get("early_stopping") or {}
    if stopping.get("metric"):
        patience = stopping.get("patience")
        stop = f"stops after {patience} evaluations without a gain" if patience else "never stops early"
        rows.append(("training.early_stopping", f"best checkpoint by {stopping['metric']} "
                                                f"({'higher' if stopping.get('mode', 'max') == 'max' else 'lower'} "
                                                f"is better); {stop}"))
    return _rows(rows)


def _scores(report: dict[str, Any]) -> dict[str, Any]:
    splits = [s for s in ("dev", "test") if isinstance(report.get(s), dict)]
    names = list(dict.fromkeys(k for s in splits for k, v in report[s].items() if _is_number(v)))
    return {"splits": splits, "names": names,
            "rows": [(n, [_fmt(report[s].get(n)) for s in splits]) for n in names]}


def _dev_metric(config: dict[str, Any], dev: list[dict[str, Any]]) -> str | None:
    chosen = ((config.get("training") or {}).get("early_stopping") or {}).get("metric")
    if chosen and any(_is_number(r.get(chosen)) for r in dev):
        return chosen
    skip = {"step", "epoch", "examples", "best"}
    return next((k for r in dev for k, v in r.items() if k not in skip and _is_number(v)), None)


def _per_label(scores: Any) -> tuple[str, dict[str, dict[str, Any]]] | None:
    """The first entry of a split's scores that is a table of per-label P/R/F1/support rows."""
    if not isinstance(scores, dict):
        return None
    for key, value in scores.items():
        if (isinstance(value, dict) and value and all(isinstance(r, dict) and {"f1", "support"} <= r.keys()
                                                      for r in value.values())):
            return key, value
    return None


def _confusion(confusion: dict[str, Any], split: str, plots) -> dict[str, Any]:
    labels, matrix = confusion["labels"], confusion["matrix"]
    note = None
    if len(labels) > CONFUSION_TOP:
        keep = sorted(confusion_errors(matrix).items(), key=lambda kv: (-kv[1], -sum(matrix[kv[0]]), kv[0]))
        keep = sorted(i for i, _ in keep[:CONFUSION_TOP])
        note = (f"the {CONFUSION_TOP} labels with the most {split} errors, gold or predicted (a label that takes "
                f"others' examples counts as much as one that loses its own), of {len(labels)}")
        labels, matrix = [labels[i] for i in keep], [[matrix[i][j] for j in keep] for i in keep]
    chart = Markup(plots.confusion_heatmap(labels, matrix, f"{split}: gold vs predicted"))
    return {"split": split, "chart": chart, "note": note}


def confusion_errors(matrix: list[list[int]]) -> dict[int, int]:
    """Per label: its gold examples predicted as another label plus other labels' examples predicted as it."""
    n = len(matrix)
    return {i: sum(matrix[i][j] + matrix[j][i] for j in range(n) if j != i) for i in range(n)}


def _worst_errors(scores: dict[str, Any], split: str) -> dict[str, Any] | None:
    """The ``worst_errors`` a split's scores keep: labelled texts (a table) or tagged sentences (spans marked)."""
    errors = scores.get("worst_errors")
    if not isinstance(errors, list):
        return None  # a task that keeps none, or a run from before they were kept
    if not errors:
        return {"split": split, "kind": "none"}
    explained = any(_explanation(e) for e in errors if isinstance(e, dict))
    legend = Markup(LEGEND) if explained else None  # the page's own markup, no data in it
    if all(isinstance(e, dict) and isinstance(e.get("tokens"), list) for e in errors):
        rows = []
        for e in errors:
            gold, predicted = _spans(e.get("gold")), _spans(e.get("predicted"))
            explanation = _explanation(e)
            rows.append({"wrong": len(set(gold) ^ set(predicted)),
                         "gold": token_pieces(e["tokens"], gold, predicted),
                         "predicted": token_pieces(e["tokens"], predicted, gold),
                         "why": _why(explanation), "answer": str(explanation.get("answer", "")) if explanation
                         else ""})
        why = " Why: the words that made the model predict its first wrong entity, by integrated gradients."
        return {"split": split, "kind": "entities", "rows": rows, "why": why if explained else "", "legend": legend}
    if not all(isinstance(e, dict) for e in errors):
        return None
    pairs, probability = any("text_pair" in e for e in errors), any("probability" in e for e in errors)
    head = ["text", *(["text pair"] if pairs else []), "gold", "predicted", *(["probability"] if probability else []),
            *(["why (integrated gradients)"] if explained else [])]
    rows = [([str(e.get("text", "")), *([str(e.get("text_pair") or "")] if pairs else []), _labels(e.get("gold")),
              _labels(e.get("predicted"))], _fmt(e.get("probability")) if probability else None,
             _why(_explanation(e)) if explained else None) for e in errors]
    note = "most confident mistakes first" if probability else "most labels wrong first"
    if explained:
        note += ". Why: the words that made the model predict its label, by integrated gradients"
    return {"split": split, "kind": "labels", "note": note, "head": head, "rows": rows, "legend": legend}


def _explanation(error: dict[str, Any]) -> dict[str, Any] | None:
    """An error's explanation (tuneforge explain), when it has a well-formed one."""
    e = error.get("explanation")
    if (isinstance(e, dict) and isinstance(e.get("words"), list) and isinstance(e.get("integrated_gradients"), list)
            and len(e["words"]) == len(e["integrated_gradients"])):
        return e
    return None


def _why(explanation: dict[str, Any] | None) -> Markup | None:
    """The explained words coloured (attribution_html escapes every word and the title)."""
    if explanation is None:
        return None
    from html import escape

    return Markup(f'<span title="{escape(str(explanation.get("answer", "")))}">'
                  f'{attribution_html(explanation["words"], [float(x) for x in explanation["integrated_gradients"]])}'
                  "</span>")


def _labels(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else _fmt(value)


def _spans(value: Any) -> list[tuple[str, int, int]]:
    return [(str(s[0]), int(s[1]), int(s[2])) for s in value or []]


def token_pieces(tokens: list[Any], spans: list[tuple[str, int, int]],
                 other: list[tuple[str, int, int]] = ()) -> list[dict[str, Any]]:
    """Words, each span (type, first word, last word + 1) one piece with its words joined and its type; a span
    that ``other`` (the other side's spans) lacks is ``err``: a miss or a false alarm."""
    starts = {first: (kind_, first, last) for kind_, first, last in spans}  # IOB2 spans never overlap
    out, i = [], 0
    while i < len(tokens):
        span = starts.get(i)
        if span is None or span[2] <= i:
            out.append({"text": str(tokens[i]), "type": None})
            i += 1
            continue
        out.append({"text": " ".join(map(str, tokens[i:span[2]])), "type": span[0], "err": span not in other})
        i = span[2]
    return out


def marked_tokens(tokens: list[Any], spans: list[tuple[str, int, int]], kind: str,
                  other: list[tuple[str, int, int]] = ()) -> Markup:
    """Words escaped and joined by spaces, each span in a <mark> with its type after the words (outlined where
    ``other`` lacks it): the page's own macro."""
    return _templates().get_template("marks.html.j2").module.tokens(token_pieces(tokens, spans, other), kind)


def text_pieces(text: str, spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``text`` cut at its spans (``start``/``end`` character offsets, ``type``), overlaps dropped."""
    out, at = [], 0
    for span in sorted(spans, key=lambda s: s["start"]):
        start, end = max(int(span["start"]), at), int(span["end"])
        if end <= start:
            continue
        out += [{"text": text[at:start], "type": None}, {"text": text[start:end], "type": str(span.get("type", ""))}]
        at = end
    return [*out, {"text": text[at:], "type": None}]


def marked(text: str, spans: list[dict[str, Any]], kind: str) -> Markup:
    """``text`` escaped, each span in a <mark>: the page's own macro."""
    return _templates().get_template("marks.html.j2").module.text(text_pieces(text, spans), kind)


def _oos_tradeoff(dev: Any, plots) -> Markup | None:
    """In-scope accuracy and out-of-scope recall over the thresholds tried on dev, where the threshold was tuned."""
    curve = dev.get("oos_curve") if isinstance(dev, dict) else None
    if not isinstance(curve, list) or not curve:
        return None
    xs, accuracy, recall = ([float(p[k]) for p in curve] for k in ("threshold", "in_scope_accuracy", "oos_recall"))
    chosen = dev.get("oos_threshold")
    return Markup(plots.oos_tradeoff(xs, accuracy, recall, float(chosen) if _is_number(chosen) else None,
                                     "dev: out-of-scope threshold"))


def _worst(path: Path) -> dict[str, Any] | None:
    """The worst predictions of predictions.jsonl (generation: farthest from their reference, by difflib's
    similarity; records with ``text`` and gold/predicted spans: those that differ, spans marked)."""
    if not path.is_file():
        return None
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    split = next((s for s in SPLITS if any(r.get("split") == s for r in records)), None)
    records = [r for r in records if r.get("split") == split and r.get("model", "fine-tuned") != "zero-shot"]
    spans = [r for r in records if isinstance(r.get("text"), str) and "gold" in r and "predicted" in r]
    if spans:
        wrong = [r for r in spans if _span_set(r["gold"]) != _span_set(r["predicted"])][:WORST]
        rows = [{"gold": text_pieces(r["text"], r["gold"]), "predicted": text_pieces(r["text"], r["predicted"])}
                for r in wrong]
        return {"kind": "spans", "rows": rows} if rows else None
    generated = [r for r in records if "output" in r and "reference" in r]
    scored = sorted(((_similarity(r["output"], r["reference"]), r) for r in generated), key=lambda x: x[0])
    rows = [(score, str(r.get("input", "")), _text(r["reference"]), str(r["output"]))
            for score, r in scored[:WORST] if score < 1]
    return {"kind": "outputs", "split": str(split), "rows": rows} if rows else None


def _span_set(spans: list[dict[str, Any]]) -> set[tuple[int, int, str]]:
    return {(int(s["start"]), int(s["end"]), str(s.get("type", ""))) for s in spans}


def _text(value: Any) -> str:
    return "\n".join(map(str, value)) if isinstance(value, list) else str(value)


def _similarity(output: Any, reference: Any) -> float:
    references = reference if isinstance(reference, list) else [reference]
    return max((difflib.SequenceMatcher(None, str(output), str(r)).ratio() for r in references), default=0.0)


def _facts(training: dict[str, Any], info: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [(k, training[k]) for k in TRAINING_FACTS if k in training]
    rows += [(f"version: {k}", v) for k, v in (info.get("versions") or {}).items()]
    return _rows(rows)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
