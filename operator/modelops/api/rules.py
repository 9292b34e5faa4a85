"""One declaration per cross-field rule, read twice: as CEL for the API server, as Python for the operator.

A rule names where it sits in the document (`at`), the CEL expression that is true when the object is
valid, the same predicate in Python, and ONE message built from literal text and `Ref`s (a value read by
a CEL expression and by a Python function). `crd.py` turns rules into `x-kubernetes-validations`
(`rule`, `messageExpression`, `fieldPath`); `validation.py` evaluates the Python side, so `kubectl apply`
and `modelops validate` reject the same document with the same words. Tests on the real API server keep
the two expressions honest.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Check = Callable[..., bool]


@dataclass(frozen=True)
class Ref:
    """A value inside a message: `cel` is evaluated by the API server, `py` gets the rule's arguments."""

    cel: str
    py: Callable[..., Any]


Message = tuple[str | Ref, ...]


@dataclass(frozen=True)
class Rule:
    """A rule on every object at `at` ("spec", "spec.validation.gates[]", "spec.x.limits{}" = each value
    of a map, "" = the whole resource).

    `check(node)` (or `check(node, old)` for a transition rule, which CEL evaluates with `oldSelf` on
    updates only) is True when valid. `field` is the offending field relative to the node (".min").
    """

    name: str
    at: str
    cel: str
    check: Check
    message: Message
    field: str = ""
    transition: bool = False


@dataclass(frozen=True)
class ItemRule:
    """A rule on each item of the list `items` (a dotted path under `at`) that also needs the enclosing
    object (e.g. a gate's metric against `spec.task`). CEL binds the item to `g`; `check(item, node)`.

    CEL's `fieldPath` cannot carry a list index, so the API server names the list and the Python side
    names the item; the message text is the same.
    """

    name: str
    at: str
    items: str
    cel: str
    check: Check
    message: Message
    field: str = ""


AnyRule = Rule | ItemRule


# ------------------------------------------------------------------ rendering


def cel_string(value: Any) -> str:
    """`value` as CEL's format("%s") writes it (Go's shortest %g for doubles), so both messages match."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _go_float(value: float) -> str:
    """strconv.FormatFloat(v, 'g', -1, 64): shortest digits, exponent form below 1e-4 and from 1e6."""
    if math.isnan(value) or math.isinf(value):
        return {math.inf: "+Inf", -math.inf: "-Inf"}.get(value, "NaN")
    if value == 0:
        return "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    exp10 = len(digits) + int(exponent) - 1
    prefix = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if exp10 < 0:
        return f"{prefix}0.{'0' * (-exp10 - 1)}{digits}"
    whole, frac = digits[: exp10 + 1].ljust(exp10 + 1, "0"), digits[exp10 + 1:]
    return f"{prefix}{whole}{'.' + frac if frac else ''}"


def render_python(message: Message, *args: Any) -> str:
    return "".join(part if isinstance(part, str) else cel_string(part.py(*args)) for part in message)


def _cel_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render_cel(message: Message, item: str = "") -> str:
    """A CEL messageExpression: `'<text with %s>'.format([refs])`.

    `format` rather than `+` and string(): the API server's cost estimate treats string() of a number
    as unbounded, so a concatenation of it exceeds the budget; format's output is costed as bounded.
    `item` replaces the item variable `g` of an ItemRule (CRD CEL has no cel.bind).
    """
    template = "".join(part.replace("%", "%%") if isinstance(part, str) else "%s" for part in message)
    refs = [_substitute(part.cel, item) for part in message if isinstance(part, Ref)]
    return f"{_cel_literal(template)}.format([{', '.join(refs)}])"


def _substitute(expression: str, item: str) -> str:
    return re.sub(r"\bg\.", f"{item}.", expression) if item else expression


def is_static(message: Message) -> bool:
    return all(isinstance(part, str) for part in message)


# ------------------------------------------------------------------ CEL generation


def guarded_path(base: str, dotted: str) -> tuple[str, str]:
    """(`has(...) && ...` guard for every step of `dotted` under `base`, the full CEL path)."""
    guards, path = [], base
    for step in dotted.split("."):
        path = f"{path}.{step}"
        guards.append(f"has({path})")
    return " && ".join(guards), path


def validation_entry(rule: AnyRule) -> dict[str, Any]:
    """The `x-kubernetes-validations` entry of a rule."""
    if isinstance(rule, ItemRule):
        guard, path = guarded_path("self", rule.items)
        expression = f"!({guard}) || {path}.all(g, {rule.cel})"
        first_bad = f"{path}.filter(g, !({rule.cel}))[0]"
        entry: dict[str, Any] = {"rule": expression, "messageExpression": render_cel(rule.message, first_bad)}
        entry["message"] = _static_fallback(rule)
        field = f".{rule.items}"
    else:
        entry = {"rule": rule.cel}
        if is_static(rule.message):
            entry["message"] = "".join(rule.message)  # type: ignore[arg-type]
        else:
            entry["messageExpression"] = render_cel(rule.message)
            entry["message"] = _static_fallback(rule)
        field = rule.field
    if field:
        entry["fieldPath"] = field
    return entry


def _static_fallback(rule: AnyRule) -> str:
    """Shown only if a messageExpression fails to evaluate: the literal parts with "..." for values."""
    return "".join(part if isinstance(part, str) else "..." for part in rule.message).strip()


# ------------------------------------------------------------------ Python evaluation


def _nodes(root: Any, at: str, path: str) -> Iterator[tuple[str, Any]]:
    """(field path, node) for every node at the dotted location `at` ("a.b[]" = each item of the list a.b,
    "a.b{}" = each value of the map a.b, named `a.b[key]` as the API server names it)."""
    if not at:
        yield path, root
        return
    head, _, rest = at.partition(".")
    suffix = head[-2:] if head[-2:] in ("[]", "{}") else ""
    key = head.removesuffix(suffix)
    if not isinstance(root, Mapping) or root.get(key) is None:
        return
    child, child_path = root[key], f"{path}.{key}" if path else key
    if suffix == "[]":
        for index, item in enumerate(child if isinstance(child, list) else []):
            yield from _nodes(item, rest, f"{child_path}[{index}]")
    elif suffix == "{}":
        for name, value in (child.items() if isinstance(child, Mapping) else ()):
            yield from _nodes(value, rest, f"{child_path}[{name}]")
    else:
        yield from _nodes(child, rest, child_path)


def _get(node: Any, dotted: str) -> Any:
    for step in dotted.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(step)
    return node


def rule_errors(rule: AnyRule, document: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> list[str]:
    """`path: message` for each place `document` (rooted where `rule.at` starts) violates `rule`.

    Transition rules need `old` (the stored object) and are skipped without it, as on a create.
    """
    errors: list[str] = []
    if isinstance(rule, ItemRule):
        for path, node in _nodes(document, rule.at, ""):
            for index, item in enumerate(_get(node, rule.items) or []):
                if not rule.check(item, node):
                    errors.append(f"{path}.{rule.items}[{index}]{rule.field}: "
                                  f"{render_python(rule.message, item, node)}")
        return errors
    if rule.transition:
        if old is None:
            return errors
        pairs = zip(_nodes(document, rule.at, ""), _nodes(old, rule.at, ""), strict=False)
        for (path, node), (_, old_node) in pairs:
            if not rule.check(node, old_node):
                errors.append(f"{_join(path, rule.field)}: {render_python(rule.message, node, old_node)}")
        return errors
    for path, node in _nodes(document, rule.at, ""):
        if not rule.check(node):
            errors.append(f"{_join(path, rule.field)}: {render_python(rule.message, node)}")
    return errors


def _join(path: str, field: str) -> str:
    return f"{path}{field}" if path else field.lstrip(".")
