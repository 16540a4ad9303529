"""Multi-label decisions: one sigmoid threshold per label, tuned on dev for that label's F1."""

from __future__ import annotations

import numpy as np

GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)


def tune_label_thresholds(probs: np.ndarray, gold: np.ndarray) -> list[float]:
    """Per label, the grid threshold with the best F1 on dev (0.5 when dev never shows the label)."""
    thresholds = []
    for j in range(probs.shape[1]):
        positives = gold[:, j] > 0.5
        if not positives.any():
            thresholds.append(0.5)
            continue
        best, best_f1 = 0.5, -1.0
        for t in GRID:
            predicted = probs[:, j] >= t
            tp = int((predicted & positives).sum())
            f1 = 2 * tp / (int(predicted.sum()) + int(positives.sum()))
            if f1 > best_f1 + 1e-12:
                best, best_f1 = float(t), f1
        thresholds.append(best)
    return thresholds


def apply_thresholds(probs: np.ndarray, labels: list[str], thresholds: list[float]) -> list[list[str]]:
    return [[labels[j] for j in range(len(labels)) if row[j] >= thresholds[j]] for row in probs]
