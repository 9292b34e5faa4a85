"""Container resources (`requests` / `limits`) and the rules that refuse, at admission, what the API server
would refuse only later, when the operator creates the Job or Deployment (ValidateResourceRequirements in
kubernetes/pkg/apis/core/validation/validation.go, probed on the real API server):

- a value that is not a quantity ("quantities must match the regular expression ...") or is negative;
- a resource name that is neither a standard container resource nor domain-qualified (`gpu` for
  `nvidia.com/gpu`: "must be a standard resource type or fully qualified");
- a request above its limit ("must be less than or equal to cpu limit of 1");
- an extended resource (a domain-qualified name outside kubernetes.io) in fractions ("must be an
  integer") or requested without an equal limit (extended resources are never overcommitted).

A quantity is written as in a Pod: an integer, a number (`cpu: 0.5`) or a string (`500m`). A CRD field
that takes numbers and strings has no type CEL can see (an `x-kubernetes-int-or-string` field takes
integers and strings only, apiextensions-apiserver pkg/apiserver/validation/validation.go), so these rules
are not CRD rules: they run in a ValidatingAdmissionPolicy (api/admission_policy.py; GA in 1.30, our
minimum) over the untyped values, with the Kubernetes quantity library (`isQuantity`, `quantity`,
`isLessThan`, `isInteger`, `compareTo`). The Python side parses quantities as the API server does
(api/quantity.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelops.api.quantity import FORMAT_MESSAGE, quantity_value
from modelops.api.rules import Ref, Rule
from modelops.api.schema import Map, Node, Obj, type_name

MAX_RESOURCES = 16  # bounds the CEL cost estimate; a container rarely names more than four
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
# IsStandardContainerResourceName: cpu, memory, ephemeral-storage and hugepages-<size>.
STANDARD_NAME = rf"^(cpu|memory|ephemeral-storage|hugepages-{_NAME})$"
# A qualified name with its DNS-subdomain prefix (IsQualifiedName), e.g. nvidia.com/gpu.
PREFIXED_NAME = rf"^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/{_NAME}$"  # no backslash: CEL


@dataclass(frozen=True)
class Quantity(Node):
    """A resource quantity as a Pod takes it: an integer, a number or a string. Untyped in the CRD
    (`x-kubernetes-preserve-unknown-fields`), so the API server stores `0.5` as it stores it for a Pod;
    what is a quantity is decided by the rules below."""

    def _format_note(self) -> str:
        return "Format: a Kubernetes quantity, a number or a string such as 500m or 0.5 (CPU), 2Gi or 512Mi (memory)."

    def _openapi(self) -> dict[str, Any]:
        return {"x-kubernetes-preserve-unknown-fields": True}

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            errors.append(f"{path}: expected a number or a string quantity, got {type_name(value)} {value!r}")
        elif isinstance(value, float) and not math.isfinite(value):
            errors.append(f"{path}: {value!r} is not a quantity")
        return value


def resources(what: str) -> Obj:
    quantities = Map("Resource name (cpu, memory, ephemeral-storage, hugepages-<size>, or a domain-qualified "
                     "extended resource such as nvidia.com/gpu) to a Kubernetes quantity, written as in a Pod: "
                     "a number such as 2 or 0.5, or a string such as 500m (CPU), 2Gi or 512Mi (memory).",
                     values=Quantity("The amount of this resource."), max_properties=MAX_RESOURCES)
    return Obj(
        f"Compute resources of the {what} container, as in a Pod spec. A request may not exceed its limit; "
        "an extended resource (nvidia.com/gpu) is a whole number and needs a limit equal to its request.",
        default={},
        properties={"requests": quantities, "limits": quantities},
    )


# ------------------------------------------------------------------ predicates (Python side)


def name_ok(name: str) -> bool:
    return (re.fullmatch(STANDARD_NAME, name) is not None
            or (re.fullmatch(PREFIXED_NAME, name) is not None and not name.startswith("requests.")))


def is_extended(name: str) -> bool:
    """IsExtendedResourceName: qualified, outside the kubernetes.io domain."""
    return "/" in name and "kubernetes.io/" not in name


def _not_quantity(value: Any) -> bool:
    """A value of the right type that does not parse (a wrong type is the schema's error, not ours)."""
    return isinstance(value, str) and quantity_value(value) is None


def _negative(value: Any) -> bool:
    amount = quantity_value(value)
    return amount is not None and amount < 0


def _first_bad_name(names: Mapping[str, Any]) -> str:
    return next(name for name in names if not name_ok(name))


def _over_limit(resources: Mapping[str, Any]) -> list[str]:
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    return [name for name, value in requests.items() if name in limits and None not in (
        quantity_value(value), quantity_value(limits[name])) and quantity_value(value) > quantity_value(limits[name])]


def _fractional_extended(limits: Mapping[str, Any]) -> list[str]:
    amounts = {name: quantity_value(value) for name, value in limits.items() if is_extended(name)}
    return [name for name, amount in amounts.items() if amount is not None and amount != amount.to_integral_value()]


def _unmatched_extended(resources: Mapping[str, Any]) -> list[str]:
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    return [name for name, value in requests.items() if is_extended(name) and quantity_value(value) is not None
            and (name not in limits or quantity_value(limits[name]) != quantity_value(value))]


# ------------------------------------------------------------------ the same in CEL


def _q(expression: str) -> str:
    """A number or string value as a CEL quantity (string() writes 0.5 as "0.5", a string stays itself)."""
    return f"quantity(string({expression}))"


def _isq(expression: str) -> str:
    """The value is a number, or a string that parses as a quantity (anything else is not a quantity)."""
    return (f"(type({expression}) == int || type({expression}) == double || (type({expression}) == string "
            f"&& isQuantity(string({expression}))))")


_NAME_OK = f"(k.matches('{STANDARD_NAME}') || (k.matches('{PREFIXED_NAME}') && !k.startsWith('requests.')))"
_EXTENDED = "(k.contains('/') && !k.contains('kubernetes.io/'))"
_OVER = (f"(k in self.limits && {_isq('self.requests[k]')} && {_isq('self.limits[k]')} "
         f"&& {_q('self.requests[k]')}.compareTo({_q('self.limits[k]')}) > 0)")
_FRACTIONAL = f"({_EXTENDED} && {_isq('self[k]')} && !{_q('self[k]')}.isInteger())"
_UNMATCHED = (f"({_EXTENDED} && {_isq('self.requests[k]')} && (!has(self.limits) || !(k in self.limits) "
              f"|| !{_isq('self.limits[k]')} || {_q('self.requests[k]')}.compareTo({_q('self.limits[k]')}) != 0))")


def resource_rules(where: str, at: str) -> tuple[Rule, ...]:
    """The rules for one container's resources at `at` (e.g. spec.training.resources)."""
    rules: list[Rule] = []
    for side in ("requests", "limits"):
        rules += [
            # A value the API server cannot decode makes it refuse the whole Job (HTTP 400).
            Rule(f"{where}-{side}-are-quantities", at=f"{at}.{side}{{}}",
                 cel=_isq("self"), check=lambda value: not _not_quantity(value),
                 message=('"', Ref("self", lambda value: value), '" is not a quantity: ', FORMAT_MESSAGE,
                          " and end in a known suffix (Ki, Mi, Gi, Ti, Pi, Ei, n, u, m, k, M, G, T, P, E or an "
                          "exponent such as e3)")),
            Rule(f"{where}-{side}-not-negative", at=f"{at}.{side}{{}}",
                 cel=f"!{_isq('self')} || !{_q('self')}.isLessThan(quantity('0'))",
                 check=lambda value: not _negative(value),
                 message=('"', Ref("self", lambda value: value), '" must be greater than or equal to 0')),
            # `gpu` alone is neither a standard resource nor an extended one; the node advertises nvidia.com/gpu.
            Rule(f"{where}-{side}-names", at=f"{at}.{side}", cel=f"self.all(k, {_NAME_OK})",
                 check=lambda names: all(name_ok(name) for name in names),
                 message=('"', Ref(f"self.filter(k, !{_NAME_OK})[0]", _first_bad_name),
                          '" must be a standard resource type or fully qualified: cpu, memory, ephemeral-storage, '
                          "hugepages-<size>, or an extended resource with its domain such as nvidia.com/gpu")),
        ]
    rules += [
        # Extended resources are counted in whole devices.
        Rule(f"{where}-extended-limits-whole", at=f"{at}.limits", cel=f"!self.exists(k, {_FRACTIONAL})",
             check=lambda limits: not _fractional_extended(limits),
             message=(Ref(f"self.filter(k, {_FRACTIONAL})[0]", lambda limits: _fractional_extended(limits)[0]),
                      ' "', Ref(f"string(self[self.filter(k, {_FRACTIONAL})[0]])",
                                lambda limits: limits[_fractional_extended(limits)[0]]),
                      '" must be an integer (an extended resource comes in whole units)')),
        # The scheduler would never honour a request the container may not use.
        Rule(f"{where}-requests-within-limits", at=at, field=".requests",
             cel=f"!has(self.requests) || !has(self.limits) || !self.requests.exists(k, {_OVER})",
             check=lambda resources: not _over_limit(resources),
             message=(Ref(f"self.requests.filter(k, {_OVER})[0]", lambda r: _over_limit(r)[0]), ' request "',
                      Ref(f"string(self.requests[self.requests.filter(k, {_OVER})[0]])",
                          lambda r: r["requests"][_over_limit(r)[0]]),
                      '" must be less than or equal to its limit "',
                      Ref(f"string(self.limits[self.requests.filter(k, {_OVER})[0]])",
                          lambda r: r["limits"][_over_limit(r)[0]]), '"')),
        # Extended resources are not overcommitted: the limit is required and equals the request.
        Rule(f"{where}-extended-requests-equal-limits", at=at, field=".requests",
             cel=f"!has(self.requests) || !self.requests.exists(k, {_UNMATCHED})",
             check=lambda resources: not _unmatched_extended(resources),
             message=(Ref(f"self.requests.filter(k, {_UNMATCHED})[0]", lambda r: _unmatched_extended(r)[0]),
                      " is an extended resource: its limit must be set and equal to its request (it is never "
                      "overcommitted)")),
    ]
    return tuple(rules)


RESOURCE_RULES = (*resource_rules("training", "spec.training.resources"),
                  *resource_rules("serving", "spec.serving.resources"))
