"""Windowing a very long input: word_pieces + make_windows, now linear, against the original quadratic code.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/windowing.py [--words 17000,34000,68000] [--old-up-to 34000]

One synthetic English-like text per size (seeded: common words, capitalised names, numbers and
punctuation), tokenised with the bundled MiniLM tokenizer, windows of ``model.max_length`` 128 with
the default ``model.stride`` 32 (as token-classification training and prediction use them). Times,
best of ``--rounds``:

- ``word_pieces``: sub-word pieces per word (one fast-tokenizer call);
- ``make_windows``: the windows and which window owns each word, with the current code;
- the original quadratic ``make_windows`` (copied below), once, only up to ``--old-up-to`` words (it
  grows with words x windows: the issue measured 58 s at 68k words); its windows are checked to be
  identical to the current code's;
- the whole prediction-side path of ``TokenClassification.predict_texts`` without the model: split the
  raw text into words, word pieces, windows, mapping each window's (fake, seeded) probabilities back to
  the words it owns, Viterbi decoding and entity spans. Only the model's forward pass is left out.

Prints a markdown table; ``--output FILE`` also writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import time

import numpy as np

LABELS = ["O", "B-person", "I-person", "B-location", "I-location"]
# every entry is one word for split_words, so the text has exactly the words asked for
VOCABULARY = [
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on",
    "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "they", "you", "were",
    "her", "she", "there", "been", "one", "all", "we", "their", "has", "would", "when", "if", "so", "no",
    "will", "more", "about", "can", "said", "government", "international", "unbelievably", "reconstruction",
    "photosynthesis", "tokenization", "Kathmandu", "Reykjavík", "Ouagadougou", "Nakamura", "Szczepański",
    "Neill", "1234", "42", "2024", "3.14", ",", ".", ";", ":", "(", ")", "-", "!",
]


def synthetic_text(n_words: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(VOCABULARY) for _ in range(n_words))


# the original implementation (O(words x windows)), for comparison ------------------------------


def old_make_windows(pieces, tokenizer, max_length: int, stride: int):
    """The quadratic implementation this replaced, kept once as the tests' reference."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_windows_linear import ref_make_windows

    return ref_make_windows(pieces, tokenizer, max_length, stride)


def best_of(rounds: int, fn):
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def fake_probs(model, features, collate, batch_size=64, batch_tokens=None):
    """Stands in for the model: seeded probabilities, one row per window position."""
    rng = np.random.default_rng(0)
    out = []
    for f in features:
        x = rng.random((len(f), len(LABELS))) + 1e-3
        out.append(x / x.sum(axis=1, keepdims=True))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", default="17000,34000,68000", help="comma-separated input sizes in words")
    parser.add_argument("--old-up-to", type=int, default=34000, help="time the original code up to this many words")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", help="also write the results as JSON here")
    args = parser.parse_args()

    from transformers.utils import logging as transformers_logging

    from tuneforge.config.schema import ModelConfig
    from tuneforge.models import load_tokenizer
    from tuneforge.tasks.token_classification import task as token_classification
    from tuneforge.tasks.token_classification.task import TokenClassification
    from tuneforge.tasks.token_classification.windows import make_windows, word_pieces
    from tuneforge.util.text_words import split_words

    defaults = ModelConfig.model_fields
    max_length, stride = defaults["max_length"].default, defaults["stride"].default
    transformers_logging.set_verbosity_error()  # no "sequence longer than the model's maximum" warning
    tokenizer = load_tokenizer("minilm")
    task = TokenClassification(tokenizer, LABELS, max_length, stride)
    max_pieces = max(1, (max_length - 4) // 2)  # as TokenClassification.encode caps them
    token_classification.predict_probs = fake_probs  # the whole path below, without the model

    rows = []
    for n in (int(x) for x in args.words.split(",")):
        text = synthetic_text(n)
        words = [w for w, _, _ in split_words(text)]
        assert len(words) == n
        t_pieces, pieces = best_of(args.rounds, lambda words=words: word_pieces(tokenizer, [words], max_pieces))
        t_windows, windows = best_of(args.rounds, lambda p=pieces: make_windows(p, tokenizer, max_length, stride))
        t_old = None
        if n <= args.old_up_to:
            t_old, old = best_of(1, lambda p=pieces: old_make_windows(p, tokenizer, max_length, stride))
            assert old == windows, "the current windows differ from the original code's"
        t_path, predicted = best_of(args.rounds, lambda text=text: task.predict_texts(None, [text]))
        owned = sorted(w for win in windows for w in win.owned_words)
        assert owned == list(range(len(words))), "a word is not owned exactly once"
        rows.append({
            "words": len(words), "pieces": sum(len(p) for p in pieces[0]), "windows": len(windows),
            "word_pieces_s": round(t_pieces, 3), "make_windows_s": round(t_windows, 3),
            "old_make_windows_s": None if t_old is None else round(t_old, 2),
            "predict_path_without_model_s": round(t_path, 3), "entities": len(predicted[0]["entities"]),
        })
        print(json.dumps(rows[-1]), flush=True)

    print(f"\nmax_length {max_length}, stride {stride}, best of {args.rounds} (the original code: one run)\n")
    print("| words | pieces | windows | word_pieces | make_windows | make_windows, old code "
          "| word_pieces + make_windows | predict path without the model |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        old = "–" if r["old_make_windows_s"] is None else f"{r['old_make_windows_s']:.2f} s"
        both = r["word_pieces_s"] + r["make_windows_s"]
        print(f"| {r['words']:,} | {r['pieces']:,} | {r['windows']:,} | {r['word_pieces_s']:.3f} s "
              f"| {r['make_windows_s']:.3f} s | {old} | {both:.3f} s | {r['predict_path_without_model_s']:.3f} s |")
    if args.output:
        with open(args.output, "w") as fh:
            json.dump({"max_length": max_length, "stride": stride, "rounds": args.rounds, "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
