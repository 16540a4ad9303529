"""Integrated gradients (Captum) over the word embeddings: each token's share of the explained probability."""

from __future__ import annotations

from typing import Any

from tuneforge.explain.target import Target


def integrated_gradients(model: Any, target: Target, steps: int = 16) -> tuple[list[float], float]:
    """(one score per word, the completeness gap). The path runs from the baseline (every word token replaced by
    ``target.baseline_id``; special tokens and positions unchanged) to the input, in the output of the embedding
    layer, so a token's score is its embedding's contribution. Scores sum to about f(input) - f(baseline); the
    gap says how far off that sum is (more steps close it)."""
    import torch
    from captum.attr import LayerIntegratedGradients

    ids = torch.tensor([target.input_ids])
    baseline = ids.clone()
    for i, word in enumerate(target.word_of_token):
        if word is not None:
            baseline[0, i] = target.baseline_id
    mask = torch.ones_like(ids)
    ig = LayerIntegratedGradients(lambda i, a: target.score(model, i, a), model.get_input_embeddings())
    with torch.enable_grad():
        attributions, delta = ig.attribute(ids, baselines=baseline, additional_forward_args=(mask,), n_steps=steps,
                                           internal_batch_size=steps, return_convergence_delta=True)
    per_token = attributions.sum(dim=-1)[0].detach().float().tolist()
    return per_word(target, per_token), float(delta.abs().max())


def per_word(target: Target, per_token: list[float]) -> list[float]:
    """Token scores summed into their words (special tokens dropped)."""
    scores = [0.0] * len(target.words)
    for word, value in zip(target.word_of_token, per_token, strict=True):
        if word is not None:
            scores[word] += value
    return scores
