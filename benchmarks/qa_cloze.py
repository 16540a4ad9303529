"""Unlabelled transfer questions for an extractive-QA student: cloze questions on the teacher's *training*
paragraphs (Lewis et al. 2019's unsupervised QA, without the translation model), as a SQuAD file whose questions
carry no answers (`distill --unlabelled`).

Each sentence of a training paragraph gives questions by replacing a span — a number, a year, or a run of
capitalised words not at the sentence's start — with a wh-word ("when" for a year, "how many" for a number, "who
or what" for a name). The teacher answers each one; its span and its start and end logits are what the student
learns. Only the training split's articles are used (the run's own carve, read from its config), so dev and test
paragraphs stay unseen.

`--perturbed K` adds K perturbed copies of each training question (a robustness suite picked at random: typos,
casing, punctuation, contractions, names, places; the paragraph kept), as `tuneforge augment` does for texts: the
teacher answers them too, so the student learns its logits around the questions it was trained on.

`--paragraphs FILE` adds cloze questions on other text (JSON lines, each `{"text": ...}`; at most
`--paragraph-questions` of them), for text the training articles do not have: the teacher answers those too.

    python benchmarks/qa_cloze.py runs/bench-distill/xquad/teacher --out xquad-cloze.json --limit 3000
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from tuneforge.config.loading import load_config
from tuneforge.tasks import task_class

SENTENCE = re.compile(r"[^.!?]+[.!?]")
YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
NUMBER = re.compile(r"\b\d[\d,.]*\b")
NAME = re.compile(r"(?<!^)(?<![.!?] )\b([A-Z][\w'-]+(?: (?:of |the |de )?[A-Z][\w'-]+)*)")


def cloze_questions(sentence: str) -> list[str]:
    """One question per answer-like span of the sentence."""
    sentence = sentence.strip()
    spans = [(m.start(), m.end(), "when") for m in YEAR.finditer(sentence)]
    taken = {m.start() for m in YEAR.finditer(sentence)}
    spans += [(m.start(), m.end(), "how many") for m in NUMBER.finditer(sentence) if m.start() not in taken]
    spans += [(m.start(1), m.end(1), "who or what") for m in NAME.finditer(sentence)]
    questions = []
    for start, end, wh in spans:
        question = (sentence[:start] + wh + sentence[end:]).rstrip(".!? ") + "?"
        if 4 <= len(question.split()) <= 40:
            questions.append(question)
    return questions


def perturbed_questions(train: list, copies: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """Up to ``copies`` distinct perturbed wordings of each training question, each by a suite chosen at random."""
    from tuneforge.robustness.sample import Sample
    from tuneforge.robustness.suites import SUITES

    suites = [SUITES[name] for name in ("typos", "casing", "punctuation", "contractions", "names", "places")]
    rows, seen = [], {e.question.strip() for e in train}
    for e in train:
        made = 0
        for _ in range(copies * 3):  # some suites find nothing to change in a given question
            out = rng.choice(suites).perturb(Sample(e.question.split()), rng)
            question = " ".join(out.words) if out else ""
            if question and question not in seen:
                seen.add(question)
                rows.append((e.title, e.context, question))
                made += 1
                if made == copies:
                    break
    return rows


def paragraph_questions(path: Path, limit: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """Up to ``limit`` cloze questions, drawn at random, on the texts of a JSON-lines file (``{"text": ...}``)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise SystemExit(f"{path}: cannot read: {err}") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise SystemExit(f"{path}:{number}: not JSON ({err.msg})") from None
        text = record.get("text") if isinstance(record, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise SystemExit(f'{path}:{number}: no "text" string')
        rows += [(f"{path.stem}-{number}", text, q) for s in SENTENCE.findall(text) for q in cloze_questions(s)]
    rng.shuffle(rows)
    return rows[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("teacher", help="the teacher run: its config names the data and the carve")
    parser.add_argument("--out", required=True)
    parser.add_argument("--limit", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--perturbed", type=int, default=0, metavar="K",
                        help="also K perturbed copies of each training question")
    parser.add_argument("--paragraphs", help='also cloze questions on these texts (JSON lines: {"text": ...})')
    parser.add_argument("--paragraph-questions", type=int, default=3000,
                        help="at most this many questions from --paragraphs")
    args = parser.parse_args()
    cfg = load_config(Path(args.teacher) / "config.yaml")
    train = task_class(cfg.task).load_splits(cfg, strict=True)["train"].examples
    paragraphs = sorted({(e.title, e.context) for e in train})
    asked = {e.question.strip().lower() for e in train}
    rows = []
    for title, context in paragraphs:
        for sentence in SENTENCE.findall(context):
            rows += [(title, context, q) for q in cloze_questions(sentence) if q.lower() not in asked]
    random.Random(args.seed).shuffle(rows)
    rows = rows[: args.limit]
    cloze = len(rows)
    rows += perturbed_questions(train, args.perturbed, random.Random(args.seed + 1))
    extra = []
    if args.paragraphs:
        extra = paragraph_questions(Path(args.paragraphs), args.paragraph_questions, random.Random(args.seed + 2))
        rows += extra
    by_context: dict[tuple[str, str], list[dict]] = {}
    for i, (title, context, question) in enumerate(rows):
        by_context.setdefault((title, context), []).append({"id": f"cloze-{i}", "question": question})
    data = {"version": "1.1", "data": [{"title": title, "paragraphs": [{"context": context, "qas": qas}]}
                                       for (title, context), qas in by_context.items()]}
    tmp = Path(args.out).with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(args.out)
    print(f"{cloze} cloze and {len(rows) - cloze - len(extra)} perturbed questions on the {len(paragraphs)} "
          f"training paragraphs, {len(extra)} cloze questions on --paragraphs; {len(by_context)} contexts "
          f"-> {args.out}")


if __name__ == "__main__":
    main()
