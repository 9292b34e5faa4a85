"""`modelops status` lines for data schemas: a version's schema in one line, a check's anomalies in another."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

KIND_ORDER = ("numeric", "integer", "boolean", "categorical")
SHOWN_CLASSES = 5
SHOWN_ANOMALIES = 4


def describe_schema(summary: Any) -> str:
    """`7 features (4 numeric, 1 integer, 2 categorical), 333 rows, 3 classes: Adelie, Chinstrap, Gentoo`."""
    if not isinstance(summary, Mapping):
        return "-"
    kinds = summary.get("kinds") or {}
    by_kind = ", ".join(f"{kinds[k]} {k}" for k in KIND_ORDER if kinds.get(k))
    text = f"{summary.get('features', 0)} features" + (f" ({by_kind})" if by_kind else "")
    text += f", {summary.get('rows', 0)} rows"
    if summary.get("droppedUnlabelled"):
        text += f" ({summary['droppedUnlabelled']} unlabelled left out)"
    if summary.get("featuresWithMissing"):
        text += f", {summary['featuresWithMissing']} with missing cells"
    classes: Sequence[str] = summary.get("classes") or []
    if classes:
        total = int(summary.get("numClasses") or len(classes))
        shown = ", ".join(classes[:SHOWN_CLASSES]) + (", ..." if total > SHOWN_CLASSES else "")
        text += f", {total} classes: {shown}"
        if summary.get("positiveClass") is not None:
            text += f" (positive {summary['positiveClass']})"
    return text


def describe_schema_check(check: Any) -> str:
    """`v3 schema: 2 anomalies (1 drift, 1 accepted): island unseenCategory x4 -> Drift; ...`; '-' when clean."""
    if not isinstance(check, Mapping):
        return "-"
    failed, drifted, accepted = (int(check.get(k) or 0) for k in ("failed", "drifted", "accepted"))
    total = failed + drifted + accepted
    if total == 0:
        return f"v{check.get('version')} schema: no anomalies"
    counts = ", ".join(f"{n} {word}" for n, word in ((failed, "failed"), (drifted, "drift"), (accepted, "accepted"))
                       if n)
    items = [f"{a.get('column')} {a.get('kind')} x{a.get('count')} -> {a.get('action')}"
             for a in (check.get("anomalies") or [])[:SHOWN_ANOMALIES] if isinstance(a, Mapping)]
    more = f"; {total - len(items)} more" if total > len(items) else ""
    return f"v{check.get('version')} schema: {total} anomalies ({counts}): {'; '.join(items)}{more}"
