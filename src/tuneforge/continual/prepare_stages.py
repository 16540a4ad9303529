"""``python -m tuneforge.continual.prepare_stages DATASETS OUT``: the stage files of the shipped continual examples.

From DATASETS (the ``shared/datasets`` folder, only read) it writes

    OUT/clinc150/STAGE/{train,dev,test}.jsonl   CLINC150's 10 domains as 5 class-incremental stages of 2 domains
                                                (30 new intents each): train 100 per intent, dev and test 30
    OUT/wnut17/STAGE/{train,dev,test}.conll     WNUT-17's 6 entity types as 3 stages of 2 types. The training
                                                sentences are split into 3 disjoint parts (seeded); part k keeps
                                                only stage k's types (the others become O, as a newly annotated
                                                corpus would have them); dev and test are the whole files with
                                                only the stage's types kept.

``examples/continual-clinc150.yaml`` and ``continual-wnut17.yaml`` name these files (``benchmarks/continual_data.py``
writes the same stages with the benchmark's plans).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from tuneforge.errors import DataError, TuneforgeError
from tuneforge.util.atomic import write_text

CLINC_STAGES = [("banking", "credit_cards"), ("kitchen_and_dining", "home"), ("auto_and_commute", "travel"),
                ("utility", "work"), ("small_talk", "meta")]
WNUT_STAGES = [("person", "location"), ("corporation", "product"), ("creative-work", "group")]
WNUT_FILES = {"train": "wnut17train.conll", "dev": "emerging.dev.conll", "test": "emerging.test.annotated"}
WNUT_PART_SEED = 13

Sentence = list[tuple[str, str]]


def stage_name(kinds: tuple[str, ...]) -> str:
    return "+".join(kinds)


def clinc_stages(datasets: Path, out: Path) -> list[dict]:
    """Write CLINC150's stage files under ``out``; the plan's stages (files relative to ``out``)."""
    data = _json(datasets / "clinc150" / "data_full.json")
    domains = _json(datasets / "clinc150" / "domains.json")
    stages = []
    for pair in CLINC_STAGES:
        intents = {i for d in pair for i in domains[d]}
        name = stage_name(pair)
        for split, key in (("train", "train"), ("dev", "val"), ("test", "test")):
            rows = [{"text": t, "label": y} for t, y in data[key] if y in intents]
            write_text(out / name / f"{split}.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
        stages.append({"name": name, "train": f"{name}/train.jsonl", "dev": f"{name}/dev.jsonl",
                       "test": f"{name}/test.jsonl", "new_labels": sorted(intents)})
    return stages


def wnut_stages(datasets: Path, out: Path) -> list[dict]:
    """Write WNUT-17's stage files under ``out``; the plan's stages (files relative to ``out``)."""
    folder = datasets / "wnut17"
    train, dev, test = (read_conll(folder / WNUT_FILES[s]) for s in ("train", "dev", "test"))
    order = list(range(len(train)))
    random.Random(WNUT_PART_SEED).shuffle(order)
    parts = [order[k::len(WNUT_STAGES)] for k in range(len(WNUT_STAGES))]
    stages = []
    for k, kinds in enumerate(WNUT_STAGES):
        name = stage_name(kinds)
        files = {"train": [train[i] for i in sorted(parts[k])], "dev": dev, "test": test}
        for split, sentences in files.items():
            write_conll(out / name / f"{split}.conll", [keep_types(s, set(kinds)) for s in sentences])
        stages.append({"name": name, "train": f"{name}/train.conll", "dev": f"{name}/dev.conll",
                       "test": f"{name}/test.conll", "new_labels": list(kinds)})
    return stages


def read_conll(path: Path) -> list[Sentence]:
    sentences: list[Sentence] = []
    current: Sentence = []
    for line in _text(path).splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        columns = line.split("\t")
        current.append((columns[0], columns[-1]))
    if current:
        sentences.append(current)
    return sentences


def keep_types(sentence: Sentence, kinds: set[str]) -> Sentence:
    return [(w, t if t != "O" and t.split("-", 1)[1] in kinds else "O") for w, t in sentence]


def write_conll(path: Path, sentences: list[Sentence]) -> None:
    write_text(path, "\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in sentences) + "\n")


def _text(path: Path) -> str:
    if not path.is_file():
        raise DataError(f"{path}: file not found (the datasets folder holds clinc150/ and wnut17/)")
    return path.read_text(encoding="utf-8")


def _json(path: Path):
    return json.loads(_text(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tuneforge.continual.prepare_stages",
                                     description=__doc__.splitlines()[0].split(": ", 1)[-1])
    parser.add_argument("datasets", type=Path, help="the folder with clinc150/ and wnut17/ (only read)")
    parser.add_argument("out", type=Path, help="where clinc150/ and wnut17/ stage folders are written")
    args = parser.parse_args(argv)
    try:
        clinc = clinc_stages(args.datasets, args.out / "clinc150")
        wnut = wnut_stages(args.datasets, args.out / "wnut17")
    except TuneforgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(clinc)} CLINC150 stages, {len(wnut)} WNUT-17 stages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
