"""Unlabelled transfer text for WNUT-17's students: the training tweets with their entities swapped for others of
the same type (mention replacement, Dai & Adel 2020), as ``{"tokens": [...]}`` lines (`distill --unlabelled`).

The new mentions come from the other training tweets and from SGD's slot values (cities, artists, films, songs,
restaurants, cars). The gold tags are dropped on purpose: the teacher labels every sentence, so a swap that reads
oddly costs nothing but a little transfer signal.

    python benchmarks/wnut_swaps.py --out wnut-swaps.jsonl --limit 20000
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

from sgd_words import write_token_lines  # benchmarks/: the script's own folder is on sys.path

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
WNUT_TRAIN = DATASETS / "wnut17" / "wnut17train.conll"
SGD_TRAIN = DATASETS / "sgd" / "train.jsonl"
# Which SGD slots name things of a WNUT-17 type; the rest (dates, prices, genres) are not entities there.
SGD_TYPES = {
    "location": ("city", "origin_city", "destination_city", "city_of_event", "pickup_city", "venue"),
    "person": ("artist", "directed_by"),
    "creative-work": ("movie_name", "song_name", "title", "album"),
    "corporation": ("restaurant_name", "theater_name"),
    "product": ("car_name",),
}


def read_conll(path: Path) -> list[list[tuple[str, str]]]:
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        token, tag = line.split("\t")[:2]
        current.append((token, tag.strip()))
    if current:
        sentences.append(current)
    return sentences


def mentions(sentence: list[tuple[str, str]]) -> list[tuple[int, int, str]]:
    """(start, end, type) of each BIO span."""
    spans, start, kind = [], None, None
    for i, (_, tag) in enumerate([*sentence, ("", "O")]):
        if start is not None and not tag.startswith("I-"):
            spans.append((start, i, kind))
            start = None
        if tag.startswith("B-"):
            start, kind = i, tag[2:]
    return spans


def sgd_values() -> dict[str, set[str]]:
    slot_type = {slot: kind for kind, slots in SGD_TYPES.items() for slot in slots}
    values: dict[str, set[str]] = defaultdict(set)
    with SGD_TRAIN.open(encoding="utf-8") as fh:
        for line in fh:
            for turn in json.loads(line)["turns"]:
                for frame in turn["frames"]:
                    for slot in frame.get("slots", []):
                        kind = slot_type.get(slot["slot"])
                        if kind and "start" in slot:
                            values[kind].add(turn["text"][slot["start"]:slot["end"]])
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--limit", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--lowercase", type=float, default=0.3,
                        help="share of swapped-in mentions written in lower case, as tweets often do")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    sentences = read_conll(WNUT_TRAIN)
    with_entities = [(s, mentions(s)) for s in sentences]
    with_entities = [(s, m) for s, m in with_entities if m]
    pools: dict[str, list[list[str]]] = defaultdict(list)
    for sentence, spans in with_entities:
        for start, end, kind in spans:
            pools[kind].append([token for token, _ in sentence[start:end]])
    external = {kind: sorted(values) for kind, values in sgd_values().items()}

    def new_mention(kind: str) -> list[str]:
        if kind in external and rng.random() < 0.5:
            words = rng.choice(external[kind]).split()
        else:
            words = list(rng.choice(pools[kind]))
        return [w.lower() for w in words] if rng.random() < args.lowercase else words

    seen = {" ".join(token for token, _ in s) for s in sentences}
    out: list[list[str]] = []
    for _ in range(args.limit * 20):  # bounded: duplicates are skipped, never looped on forever
        if len(out) >= args.limit:
            break
        sentence, spans = rng.choice(with_entities)
        tokens, cursor = [], 0
        for start, end, kind in spans:
            tokens += [token for token, _ in sentence[cursor:start]] + new_mention(kind)
            cursor = end
        tokens += [token for token, _ in sentence[cursor:]]
        key = " ".join(tokens)
        if key not in seen:
            seen.add(key)
            out.append(tokens)
    write_token_lines(args.out, out)
    print(f"{len(out)} sentences from {len(with_entities)} training tweets with entities -> {args.out}")


if __name__ == "__main__":
    main()
