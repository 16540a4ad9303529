"""``runs/<name>/report.html``: one self-contained page about a finished run, from the run's own files.

Read: config.yaml (the summary), metrics.jsonl (the curves), report.json (scores, per-label tables, the
confusion matrix, the worst errors with their text, the out-of-scope threshold trade-off, training facts),
run.json (versions) and, where the run wrote one, predictions.jsonl (the worst outputs). Plots are matplotlib
SVG inlined in the page; the CSS and the few lines of JS that sort the tables are inline too: nothing is
fetched, the page opens offline. What the page shows is chosen by what the files hold (a per-label table is
any split entry of per-label P/R/F1/support rows), never by task name.

``write_report_html`` never raises: the report is a convenience, and a plotting error must not fail a run
that trained; it says why in one line and leaves no report.html.
"""

from __future__ import annotations

import difflib
import json
import sys
from html import escape
from pathlib import Path
from typing import Any

from tuneforge.report.attribution_html import LEGEND, attribution_html
from tuneforge.util.atomic import write_text

SPLITS = ("test", "dev")  # the split the page leads with: test where there is one
CONFUSION_TOP = 20  # a larger label set shows its most frequent labels (by gold support)
BARS_TOP = 60
WORST = 10
TRAINING_FACTS = ("steps", "best_step", "best_dev_metric", "stopped_early", "train_seconds", "tokens_per_s",
                  "train_tokens", "padding_fraction", "peak_rss_mb", "trainable_parameters", "total_parameters",
                  "device", "processes", "mixed_precision")
SETTINGS = ("epochs", "max_steps", "lr", "optimizer", "scheduler", "warmup_ratio", "batch_size", "batch_tokens",
            "grad_accum", "weight_decay", "seed")

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5em 0; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.sortable th { cursor: pointer; background: #f4f4f4; user-select: none; }
table.sortable th[data-order=asc]::after { content: " \\25B2"; }
table.sortable th[data-order=desc]::after { content: " \\25BC"; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
mark.gold { background: #c8e6c9; } mark.pred { background: #ffe0b2; }
mark.err { outline: 2px solid #dc3912; } mark sub { font-size: .7em; color: #555; }
.note { color: #666; font-size: .9em; } pre { white-space: pre-wrap; margin: 0; }
"""

SORT_JS = """
document.querySelectorAll("table.sortable th").forEach(th => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0], col = th.cellIndex, asc = th.dataset.order !== "asc";
  th.closest("tr").querySelectorAll("th").forEach(h => delete h.dataset.order);
  th.dataset.order = asc ? "asc" : "desc";
  const key = td => { const v = td.dataset.value ?? td.textContent, n = Number(v); return isNaN(n) ? v : n; };
  [...body.rows].sort((a, b) => { const x = key(a.cells[col]), y = key(b.cells[col]);
    return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1); }).forEach(r => body.appendChild(r));
}));
"""


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

    parts = [f"<h1>{escape(str(config.get('name', run_dir.name)))}: {escape(str(report.get('task', '')))}, "
             f"{escape(str(training.get('method', config.get('method', ''))))}</h1>",
             f"<p class=note>{escape(str(run_dir))} · status {escape(str(info.get('status', '?')))}</p>",
             "<h2>Config</h2>", _config_table(config), "<h2>Scores</h2>", _scores_table(report)]

    train = [r for r in records if "split" not in r and "loss" in r]
    dev = [r for r in records if r.get("split") == "dev"]
    parts.append("<h2>Training curves</h2>")
    if train or dev:
        metric = _dev_metric(config, dev)
        parts.append(f'<figure id="curves">{plots.curves(train, dev, metric)}</figure>')
    else:
        parts.append("<p class=note>metrics.jsonl has no records.</p>")

    for split in SPLITS:
        per_label = _per_label(report.get(split))
        if per_label is None:
            continue
        key, rows = per_label
        parts.append(f"<h2>Per {escape(key.removeprefix('per_'))}: {split}</h2>")
        parts.append(_per_label_table(split, key, rows))
        if split == lead and rows:
            shown = sorted(rows, key=lambda x: -rows[x].get("support", 0))[:BARS_TOP]
            note = (f"<figcaption class=note>the {BARS_TOP} most frequent of {len(rows)}</figcaption>"
                    if len(rows) > BARS_TOP else "")
            chart = plots.label_bars(shown, [float(rows[x]["f1"]) for x in shown], f"{split} F1")
            parts.append(f'<figure id="label-f1">{chart}{note}</figure>')

    if lead and isinstance(report[lead].get("confusion"), dict):
        parts.append(_confusion(report[lead]["confusion"], lead, plots))

    parts += [x for x in (_worst_errors(report[lead], lead) if lead else "", _oos_tradeoff(report.get("dev"), plots))
              if x]

    worst = _worst(run_dir / "predictions.jsonl")
    if worst:
        parts += ["<h2>Worst outputs</h2>", worst]

    parts += ["<h2>Throughput, memory, versions</h2>", _facts(training, info)]
    title = escape(f"{config.get('name', run_dir.name)} — tuneforge report")
    return (f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>{title}</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(parts) + f"\n<script>{SORT_JS}</script>\n"
            "</body></html>\n")


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    value = json.loads(path.read_text(encoding="utf-8"))
    return value if isinstance(value, dict) else {}


def _table(rows: list[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><th>{escape(k)}</th><td>{escape(_fmt(v))}</td></tr>" for k, v in rows) + \
        "</table>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e5 else f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "–" if value is None else str(value)


def _config_table(config: dict[str, Any]) -> str:
    model, data, training = (config.get(k) or {} for k in ("model", "data", "training"))
    rows = [("task", config.get("task")), ("method", config.get("method")), ("model", model.get("name")),
            ("max_length", model.get("max_length"))]
    rows += [(f"data.{s}", data.get(s)) for s in ("train", "dev", "test") if data.get(s)]
    rows += [(f"training.{k}", training.get(k)) for k in SETTINGS if training.get(k) is not None]
    stopping = training.get("early_stopping") or {}
    if stopping.get("metric"):
        rows.append(("training.early_stopping", f"{stopping['metric']} ({stopping.get('mode', 'max')}, "
                                                f"patience {stopping.get('patience')})"))
    return _table(rows)


def _scores_table(report: dict[str, Any]) -> str:
    splits = [s for s in ("dev", "test") if isinstance(report.get(s), dict)]
    names = [k for s in splits for k, v in report[s].items() if _is_number(v)]
    names = list(dict.fromkeys(names))
    if not names:
        return "<p class=note>report.json has no scores.</p>"
    head = "".join(f"<th>{escape(s)}</th>" for s in splits)
    body = "".join(f"<tr><th>{escape(n)}</th>" + "".join(f"<td class=n>{escape(_fmt(report[s].get(n)))}</td>"
                                                         for s in splits) + "</tr>" for n in names)
    return f"<table id=scores><tr><th>metric</th>{head}</tr>{body}</table>"


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


def _per_label_table(split: str, key: str, rows: dict[str, dict[str, Any]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in (escape(key.removeprefix("per_")), "precision", "recall", "F1",
                                               "support"))
    body = []
    for label, r in rows.items():
        cells = "".join(f'<td class=n data-value="{float(r.get(m, 0)):.6f}">{float(r.get(m, 0)):.4f}</td>'
                        for m in ("precision", "recall", "f1"))
        body.append(f"<tr><td>{escape(label)}</td>{cells}<td class=n>{int(r.get('support', 0))}</td></tr>")
    return (f'<table class=sortable id="per-label-{escape(split)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _confusion(confusion: dict[str, Any], split: str, plots) -> str:
    labels, matrix = confusion["labels"], confusion["matrix"]
    note = ""
    if len(labels) > CONFUSION_TOP:
        keep = sorted(range(len(labels)), key=lambda i: -sum(matrix[i]))[:CONFUSION_TOP]
        keep.sort()
        note = (f"<figcaption class=note>the {CONFUSION_TOP} labels with the most {split} examples, of "
                f"{len(labels)}</figcaption>")
        labels, matrix = [labels[i] for i in keep], [[matrix[i][j] for j in keep] for i in keep]
    chart = plots.confusion_heatmap(labels, matrix, f"{split}: gold vs predicted")
    return f'<h2>Confusion matrix: {escape(split)}</h2><figure id="confusion">{chart}{note}</figure>'


def _worst_errors(scores: dict[str, Any], split: str) -> str:
    """The ``worst_errors`` a split's scores keep: labelled texts (a table) or tagged sentences (spans marked)."""
    errors = scores.get("worst_errors")
    if not isinstance(errors, list):
        return ""  # a task that keeps none, or a run from before they were kept
    head = f"<h2>Worst errors: {escape(split)}</h2>"
    if not errors:
        return f"{head}<p class=note>no errors on {escape(split)}.</p>"
    legend = LEGEND if any(_explanation(e) for e in errors if isinstance(e, dict)) else ""
    if all(isinstance(e, dict) and isinstance(e.get("tokens"), list) for e in errors):
        why = (" Why: the words that made the model predict its first wrong entity, by integrated gradients."
               if legend else "")
        return (f"{head}<p class=note>the sentences with the most wrong entities, gold spans above predicted ones; "
                f"outlined: missed or not in gold.{why}</p>{legend}{_entity_errors(errors)}")
    if not all(isinstance(e, dict) for e in errors):
        return ""
    first = "most confident mistakes first" if any("probability" in e for e in errors) else "most labels wrong first"
    why = " Why: the words that made the model predict its label, by integrated gradients." if legend else ""
    return f"{head}<p class=note>{first}.{why}</p>{legend}{_label_errors(errors)}"


def _explanation(error: dict[str, Any]) -> dict[str, Any] | None:
    """An error's explanation (tuneforge explain), when it has a well-formed one."""
    e = error.get("explanation")
    if (isinstance(e, dict) and isinstance(e.get("words"), list) and isinstance(e.get("integrated_gradients"), list)
            and len(e["words"]) == len(e["integrated_gradients"])):
        return e
    return None


def _why(error: dict[str, Any]) -> str:
    e = _explanation(error)
    if e is None:
        return ""
    return (f'<span title="{escape(str(e.get("answer", "")))}">'
            f'{attribution_html(e["words"], [float(x) for x in e["integrated_gradients"]])}</span>')


def _label_errors(errors: list[dict[str, Any]]) -> str:
    pairs, probability = any("text_pair" in e for e in errors), any("probability" in e for e in errors)
    explained = any(_explanation(e) for e in errors)
    head = ["text", *(["text pair"] if pairs else []), "gold", "predicted", *(["probability"] if probability else []),
            *(["why (integrated gradients)"] if explained else [])]
    rows = []
    for e in errors:
        cells = [escape(str(e.get("text", "")))] + ([escape(str(e.get("text_pair") or ""))] if pairs else [])
        cells += [escape(_labels(e.get("gold"))), escape(_labels(e.get("predicted")))]
        number = f"<td class=n>{escape(_fmt(e.get('probability')))}</td>" if probability else ""
        why = f"<td class=why>{_why(e)}</td>" if explained else ""
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + number + why + "</tr>")
    return (f"<table id=worst-errors><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr>{''.join(rows)}</table>")


def _labels(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else _fmt(value)


def _entity_errors(errors: list[dict[str, Any]]) -> str:
    rows = []
    for e in errors:
        gold, predicted = _spans(e.get("gold")), _spans(e.get("predicted"))
        wrong = len(set(gold) ^ set(predicted))
        why = _why(e)
        rows.append(f"<tr><td class=n rowspan={3 if why else 2}>{wrong}</td><td>gold</td>"
                    f"<td>{marked_tokens(e['tokens'], gold, 'gold', predicted)}</td></tr>"
                    f"<tr><td>predicted</td><td>{marked_tokens(e['tokens'], predicted, 'pred', gold)}</td></tr>"
                    + (f"<tr><td>why: {escape(str(_explanation(e).get('answer', '')))}</td><td class=why>{why}</td>"
                       "</tr>" if why else ""))
    return f"<table id=worst-errors><tr><th>wrong</th><th></th><th>sentence</th></tr>{''.join(rows)}</table>"


def _spans(value: Any) -> list[tuple[str, int, int]]:
    return [(str(s[0]), int(s[1]), int(s[2])) for s in value or []]


def marked_tokens(tokens: list[Any], spans: list[tuple[str, int, int]], kind: str,
                  other: list[tuple[str, int, int]] = ()) -> str:
    """Words escaped and joined by spaces, each span (type, first word, last word + 1) in a <mark> with its type
    after the words; a span that ``other`` (the other side's spans) lacks is outlined: a miss or a false alarm."""
    starts = {first: (kind_, first, last) for kind_, first, last in spans}  # IOB2 spans never overlap
    out, i = [], 0
    while i < len(tokens):
        span = starts.get(i)
        if span is None or span[2] <= i:
            out.append(escape(str(tokens[i])))
            i += 1
            continue
        css = kind if span in other else f"{kind} err"
        words = escape(" ".join(map(str, tokens[i:span[2]])))
        out.append(f'<mark class="{css}" title="{escape(span[0])}">{words} <sub>{escape(span[0])}</sub></mark>')
        i = span[2]
    return " ".join(out)


def _oos_tradeoff(dev: Any, plots) -> str:
    """In-scope accuracy and out-of-scope recall over the thresholds tried on dev, where the threshold was tuned."""
    curve = dev.get("oos_curve") if isinstance(dev, dict) else None
    if not isinstance(curve, list) or not curve:
        return ""
    xs, accuracy, recall = ([float(p[k]) for p in curve] for k in ("threshold", "in_scope_accuracy", "oos_recall"))
    chosen = dev.get("oos_threshold")
    chart = plots.oos_tradeoff(xs, accuracy, recall, float(chosen) if _is_number(chosen) else None,
                               "dev: out-of-scope threshold")
    return (f'<h2>Out-of-scope trade-off: dev</h2><figure id="oos-tradeoff">{chart}<figcaption class=note>an input '
            "whose top probability is below the threshold is answered out of scope</figcaption></figure>")


def _worst(path: Path) -> str:
    """The worst predictions of predictions.jsonl (generation: farthest from their reference, by difflib's
    similarity; records with ``text`` and gold/predicted spans: those that differ, spans marked)."""
    if not path.is_file():
        return ""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    split = next((s for s in SPLITS if any(r.get("split") == s for r in records)), None)
    records = [r for r in records if r.get("split") == split and r.get("model", "fine-tuned") != "zero-shot"]
    spans = [r for r in records if isinstance(r.get("text"), str) and "gold" in r and "predicted" in r]
    if spans:
        wrong = [r for r in spans if _span_set(r["gold"]) != _span_set(r["predicted"])][:WORST]
        rows = "".join(f"<tr><td>gold</td><td>{marked(r['text'], r['gold'], 'gold')}</td></tr>"
                       f"<tr><td>predicted</td><td>{marked(r['text'], r['predicted'], 'pred')}</td></tr>"
                       for r in wrong)
        return f"<table id=worst>{rows}</table>" if rows else ""
    generated = [r for r in records if "output" in r and "reference" in r]
    scored = sorted(((_similarity(r["output"], r["reference"]), r) for r in generated), key=lambda x: x[0])
    rows = "".join(f"<tr><td class=n>{score:.2f}</td><td><pre>{escape(str(r.get('input', '')))}</pre></td>"
                   f"<td><pre>{escape(_text(r['reference']))}</pre></td><td><pre>{escape(str(r['output']))}</pre>"
                   "</td></tr>" for score, r in scored[:WORST] if score < 1)
    if not rows:
        return ""
    return (f"<p class=note>{escape(str(split))}: the outputs least like their reference (difflib similarity)."
            f"</p><table id=worst><tr><th>similarity</th><th>input</th><th>reference</th><th>output</th></tr>"
            f"{rows}</table>")


def marked(text: str, spans: list[dict[str, Any]], kind: str) -> str:
    """``text`` escaped, each span (``start``/``end`` character offsets, ``type``) in a <mark>."""
    out, at = [], 0
    for span in sorted(spans, key=lambda s: s["start"]):
        start, end = max(int(span["start"]), at), int(span["end"])
        if end <= start:
            continue
        out += [escape(text[at:start]), f'<mark class={kind} title="{escape(str(span.get("type", "")))}">'
                f"{escape(text[start:end])}</mark>"]
        at = end
    return "".join(out) + escape(text[at:])


def _span_set(spans: list[dict[str, Any]]) -> set[tuple[int, int, str]]:
    return {(int(s["start"]), int(s["end"]), str(s.get("type", ""))) for s in spans}


def _text(value: Any) -> str:
    return "\n".join(map(str, value)) if isinstance(value, list) else str(value)


def _similarity(output: Any, reference: Any) -> float:
    references = reference if isinstance(reference, list) else [reference]
    return max((difflib.SequenceMatcher(None, str(output), str(r)).ratio() for r in references), default=0.0)


def _facts(training: dict[str, Any], info: dict[str, Any]) -> str:
    rows = [(k, training[k]) for k in TRAINING_FACTS if k in training]
    rows += [(f"version: {k}", v) for k, v in (info.get("versions") or {}).items()]
    return _table(rows)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
