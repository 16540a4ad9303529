"""Constrained BIO decoding picks the best valid sequence as a whole."""

from __future__ import annotations

import itertools

import numpy as np

from tuneforge.data.bio import repair
from tuneforge.tasks.token_classification.bio_viterbi import allowed_transitions, viterbi

LABELS = ["O", "B-loc", "I-loc", "B-per", "I-per"]


def valid(tags: list[str]) -> bool:
    return repair(tags)[1] == []


def test_prefers_a_valid_entity_over_a_repaired_one():
    # argmax: O, I-loc → repair makes "B-loc" of the second word alone.
    # Viterbi: B-loc I-loc (0.45 * 0.6) beats O B-loc (0.55 * 0.3) and O O (0.55 * 0.1).
    probs = np.array([[0.55, 0.45, 0.0, 0.0, 0.0], [0.1, 0.3, 0.6, 0.0, 0.0]])
    assert repair([LABELS[i] for i in probs.argmax(1)])[0] == ["O", "B-loc"]
    assert [LABELS[i] for i in viterbi(probs, *allowed_transitions(LABELS))] == ["B-loc", "I-loc"]


def test_matches_brute_force_over_valid_sequences():
    rng = np.random.default_rng(0)
    start, step = allowed_transitions(LABELS)
    for _ in range(20):
        probs = rng.dirichlet(np.ones(len(LABELS)), size=4)
        sequences = [s for s in itertools.product(range(len(LABELS)), repeat=4) if valid([LABELS[i] for i in s])]
        best = max(sequences, key=lambda seq: sum(np.log(probs[t, i]) for t, i in enumerate(seq)))
        assert tuple(viterbi(probs, start, step)) == best
