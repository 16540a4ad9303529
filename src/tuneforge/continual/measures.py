"""What the accuracy matrix says: R[i][j] is the score on stage j's test set after training stage i.

- average: the mean of the last row (every stage's test after the last stage).
- backward transfer (Lopez-Paz and Ranzato, 2017): mean over earlier stages j of R[last][j] - R[j][j];
  negative is forgetting.
- forgetting (Chaudhry et al., 2018): mean over earlier stages j of max over i < last of R[i][j], minus R[last][j].
- forward transfer: mean over stages j > 0 of R[j-1][j] - b[j], b[j] being the untrained model's score on
  stage j. In a class-incremental plan it is 0 by construction: no model scores labels it has not met.
"""

from __future__ import annotations


def measures(r: list[list[float]], baseline: list[float]) -> dict[str, float | None]:
    last, n = r[-1], len(r)
    earlier = range(n - 1)
    if n == 1:
        return {"average": last[0], "backward_transfer": None, "forgetting": None, "forward_transfer": None}
    return {
        "average": sum(last) / n,
        "backward_transfer": sum(last[j] - r[j][j] for j in earlier) / (n - 1),
        "forgetting": sum(max(r[i][j] for i in range(j, n - 1)) - last[j] for j in earlier) / (n - 1),
        "forward_transfer": sum(r[j - 1][j] - baseline[j] for j in range(1, n)) / (n - 1),
    }
