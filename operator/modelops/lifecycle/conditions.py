"""metav1.Condition bookkeeping: lastTransitionTime moves only when a condition's status flips."""

from __future__ import annotations

from typing import Any


def get_condition(status: dict[str, Any], type_: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions", []) if c["type"] == type_), None)


def condition_is_true(status: dict[str, Any], type_: str) -> bool:
    cond = get_condition(status, type_)
    return bool(cond and cond["status"] == "True")


def set_condition(status: dict[str, Any], type_: str, value: bool | None, reason: str, message: str,
                  generation: int, now_stamp: str) -> None:
    """Upsert one condition (`value` None means Unknown), keeping the transition time unless status flips."""
    text = "Unknown" if value is None else ("True" if value else "False")
    conditions = status.setdefault("conditions", [])
    existing = get_condition(status, type_)
    if existing is None:
        conditions.append({"type": type_, "status": text, "reason": reason, "message": message,
                           "lastTransitionTime": now_stamp, "observedGeneration": generation})
        return
    if existing["status"] != text:
        existing["lastTransitionTime"] = now_stamp
    existing.update(status=text, reason=reason, message=message, observedGeneration=generation)
