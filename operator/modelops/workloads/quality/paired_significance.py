"""Is the challenger better than chance on the same rows? A one-sided paired test of the two versions.

On held-out rows a challenger that learned nothing (label noise) still beats the serving version about
half the time by luck; a comparison of two numbers cannot tell that from a real gain. Both versions
score the SAME rows, so the test is paired:
- classification: the exact sign test on the discordant rows (McNemar's exact test): among rows exactly
  one version gets right, the challenger is right on b, the serving version on c; p = P(X >= b) for
  X ~ Binomial(b + c, 1/2). Correctness, not log loss: a model trained on noise is less confident, and
  would win on log loss against random labels without being any better.
- regression: Wilcoxon signed-rank on the per-row squared errors (serving - challenger), one-sided.
No discordant row (or no difference at all) gives p = 1: no evidence of a gain.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def predicted_labels(task: str, outputs: np.ndarray) -> np.ndarray:
    outputs = np.asarray(outputs, dtype=np.float64)
    if task == "binary-classification":
        return (outputs.reshape(-1) > 0.5).astype(np.int64)
    return np.argmax(outputs, axis=1)


def challenger_p_value(task: str, y: np.ndarray, challenger: np.ndarray, serving: np.ndarray) -> float:
    """One-sided p-value of 'the challenger is no better than the serving version on these rows'."""
    y = np.asarray(y)
    if task == "regression":
        target = y.astype(np.float64).reshape(-1)
        gain = ((np.asarray(serving, dtype=np.float64).reshape(-1) - target) ** 2
                - (np.asarray(challenger, dtype=np.float64).reshape(-1) - target) ** 2)
        if not np.any(gain != 0):
            return 1.0
        return float(stats.wilcoxon(gain[gain != 0], alternative="greater").pvalue)
    right_c = predicted_labels(task, challenger) == y.astype(np.int64)
    right_s = predicted_labels(task, serving) == y.astype(np.int64)
    wins, losses = int(np.sum(right_c & ~right_s)), int(np.sum(~right_c & right_s))
    if wins + losses == 0:
        return 1.0
    return float(stats.binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue)
