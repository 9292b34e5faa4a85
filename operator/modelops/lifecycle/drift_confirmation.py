"""Drift that persists: k of the last n evaluations on distinct data must drift before drift alone acts.

Why k-of-n and not a sequential test (CUSUM, SPRT): each evaluation already is a corrected test at level
alpha, so under no drift the per-evaluation alarm is Bernoulli(p <= alpha) and the chance of a false
confirmation is a binomial tail anyone can check: P = sum_{j>=k} C(n, j) p^j (1-p)^(n-j). Measured p on
clean batches is 2-4.5 % (issue #28); with k=3, n=4 that is ~1e-4 per evaluation, under one a week at a
5-minute interval, while a real shift that every evaluation sees is confirmed after k evaluations.
Evaluations count only on distinct data (the monitoring file's content hash): re-reading the same rows
is not new evidence, and would let one unlucky batch confirm itself. Votes belong to one serving version:
a new version has a new reference, so the count starts again.
"""

from __future__ import annotations

from typing import Any


def record_vote(votes: list[dict[str, Any]], version: int, sha256: str | None, drifted: bool,
                window: int) -> list[dict[str, Any]]:
    """The votes after one judged evaluation: only this version's, one per distinct data, newest last.

    A re-read of data already counted replaces nothing (the first reading of those rows stands); data
    without a content hash always counts as new."""
    kept = [v for v in votes if v.get("version") == version]
    if sha256 is not None and any(v.get("sha256") == sha256 for v in kept):
        return kept[-window:]
    kept.append({"version": version, "sha256": sha256, "drifted": drifted})
    return kept[-window:]


def confirmation(votes: list[dict[str, Any]], required: int, window: int) -> tuple[bool, str]:
    """(confirmed, text) for the latest `window` votes."""
    recent = votes[-window:]
    drifted = sum(1 for v in recent if v.get("drifted"))
    confirmed = drifted >= required and bool(recent) and bool(recent[-1].get("drifted"))
    text = (f"{drifted} of the last {len(recent)} evaluation(s) on distinct data drifted "
            f"({required} of {window} needed to act)")
    return confirmed, text
