"""Personal-data detection and redaction on the labelled set (benchmarks/pii_set.py).

    nice -n 5 python benchmarks/pii_detection.py --ner-run /work/pii-runs/wnut17-ner

Scores three analyzers on the same records:
- ``tuneforge``: privacy.PiiAnalyzer, the pattern kinds and the WNUT-17 NER run (--ner-run) as Presidio recognisers;
- ``tuneforge-patterns``: the same without the NER run;
- ``presidio-default``: Presidio's AnalyzerEngine with its default predefined recognisers and no NLP model (no
  spaCy model is installed, so its spaCy NER finds nothing: the default analyzer as it runs pattern-only).

A prediction matches a labelled span of the same kind that it overlaps (one to one); recall = matched labels /
labels, precision = matched predictions / predictions, per kind and over the pattern kinds together. Exact
boundaries are counted too. Then the set is redacted with the ``tuneforge`` analyzer and every labelled value
still present verbatim in its redacted record is counted as left unmasked.

Writes benchmarks/results/pii_detection.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, write_results  # noqa: E402
from pii_set import PATTERN_KINDS, build  # noqa: E402

PRESIDIO_KINDS = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CARD", "IBAN_CODE": "IBAN",
                  "IP_ADDRESS": "IP", "URL": "URL", "PERSON": "PERSON", "LOCATION": "LOCATION",
                  "ORGANIZATION": "ORGANIZATION"}
KINDS = (*PATTERN_KINDS, "PERSON", "LOCATION", "ORGANIZATION")


def presidio_default():
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    engine = AnalyzerEngine(nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}]))

    def analyze(texts: list[str]) -> list[list[tuple[int, int, str]]]:
        out = []
        for text in texts:
            found = [(r.start, r.end, PRESIDIO_KINDS[r.entity_type]) for r in engine.analyze(text, language="en")
                     if r.entity_type in PRESIDIO_KINDS]
            out.append(_non_overlapping(found))
        return out

    return analyze


def _non_overlapping(found: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    kept: list[tuple[int, int, str]] = []
    for span in sorted(found, key=lambda s: -(s[1] - s[0])):
        if all(span[1] <= k[0] or span[0] >= k[1] for k in kept):
            kept.append(span)
    return kept


def tuneforge_analyzer(kinds: list[str], ner_run: Any):
    from tuneforge.privacy.analyzer import PiiAnalyzer

    analyzer = PiiAnalyzer(kinds, ner_run)

    def analyze(texts: list[str]) -> list[list[tuple[int, int, str]]]:
        return [[(s.start, s.end, s.kind) for s in spans] for spans in analyzer.analyze_many(texts)]

    return analyze, analyzer


def score(records: list[dict[str, Any]], predicted: list[list[tuple[int, int, str]]]) -> dict[str, Any]:
    counts = {k: {"labels": 0, "predictions": 0, "matched_labels": 0, "matched_predictions": 0, "exact": 0}
              for k in KINDS}
    for record, spans in zip(records, predicted, strict=True):
        gold = [(p["start"], p["end"], p["type"]) for p in record["pii"]]
        used: set[int] = set()
        for s in spans:
            counts[s[2]]["predictions"] += 1
        for g in gold:
            counts[g[2]]["labels"] += 1
            for i, s in enumerate(spans):
                if i not in used and s[2] == g[2] and s[0] < g[1] and g[0] < s[1]:
                    used.add(i)
                    counts[g[2]]["matched_labels"] += 1
                    counts[g[2]]["exact"] += (s[0], s[1]) == (g[0], g[1])
                    break
        for i in used:
            counts[spans[i][2]]["matched_predictions"] += 1
    result: dict[str, Any] = {}
    for kind, c in counts.items():
        result[kind] = {**c, "recall": _ratio(c["matched_labels"], c["labels"]),
                        "precision": _ratio(c["matched_predictions"], c["predictions"]),
                        "exact_recall": _ratio(c["exact"], c["labels"])}
    together = {key: sum(counts[k][key] for k in PATTERN_KINDS) for key in counts["EMAIL"]}
    result["pattern_kinds"] = {**together, "recall": _ratio(together["matched_labels"], together["labels"]),
                               "precision": _ratio(together["matched_predictions"], together["predictions"]),
                               "exact_recall": _ratio(together["exact"], together["labels"])}
    return result


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def unmasked_after_redaction(records: list[dict[str, Any]], analyzer: Any) -> dict[str, Any]:
    """Redact each record's text; count labelled values still present verbatim, by kind."""
    from tuneforge.privacy.redaction import Numbering, redact_text

    found = analyzer.analyze_many([r["text"] for r in records])
    left: dict[str, int] = {}
    examples = []
    for record, spans in zip(records, found, strict=True):
        redacted = redact_text(record["text"], spans, Numbering())
        for p in record["pii"]:
            if p["value"] in redacted:
                left[p["type"]] = left.get(p["type"], 0) + 1
                if len(examples) < 10:
                    examples.append({"type": p["type"], "redacted": redacted})
    return {"left_unmasked": left, "pattern_kinds_left": sum(left.get(k, 0) for k in PATTERN_KINDS),
            "examples": examples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ner-run", help="a WNUT-17 token-classification run directory")
    parser.add_argument("--records", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "pii_detection.json"))
    args = parser.parse_args()
    records = build(args.records, args.seed)
    texts = [r["text"] for r in records]
    results: dict[str, Any] = {"args": vars(args), "records": len(records), "analyzers": {}}
    arms = {"tuneforge-patterns": tuneforge_analyzer(list(PATTERN_KINDS), None)[0],
            "presidio-default": presidio_default()}
    full = None
    if args.ner_run:
        from tuneforge.runs.directory import load_run

        run = load_run(args.ner_run)
        arms["tuneforge"], full = tuneforge_analyzer(list(KINDS), run)
    for name, analyze in arms.items():
        start = time.perf_counter()
        predicted = analyze(texts)
        seconds = time.perf_counter() - start
        results["analyzers"][name] = {"seconds": round(seconds, 2), "scores": score(records, predicted)}
        s = results["analyzers"][name]["scores"]
        print(f"{name}: pattern kinds recall {s['pattern_kinds']['recall']} precision "
              f"{s['pattern_kinds']['precision']}; PERSON recall {s['PERSON']['recall']} ({seconds:.1f} s)")
    results["redaction"] = unmasked_after_redaction(records, full or tuneforge_analyzer(list(PATTERN_KINDS),
                                                                                        None)[1])
    print(f"left unmasked after redaction: {results['redaction']['left_unmasked']}")
    write_results(args.out, results)


if __name__ == "__main__":
    main()
