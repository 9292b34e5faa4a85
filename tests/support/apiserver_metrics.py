"""Request counts from the API server's own `/metrics` (`apiserver_request_total`), not client counters.

The metric has no user label, so a caller attributes a window's requests by what is known about the
other clients in it (see bench/operator_load.py): a snapshot before, one after, and the difference
grouped by (verb, resource, subresource).
"""

from __future__ import annotations

import re
from collections import Counter

from support.kuberest import KubeRest

Key = tuple[str, str, str]  # verb, resource, subresource
_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_request_totals(text: str, by_code: bool = False) -> Counter[Key]:
    """Sum `apiserver_request_total` over groups and versions (and codes, unless `by_code`: then the
    subresource slot reads `<subresource>@<code>`), by (verb, resource, subresource)."""
    totals: Counter[Key] = Counter()
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        labels = dict(_LABEL.findall(match.group("labels")))
        sub = labels.get("subresource", "") + (f"@{labels.get('code', '')}" if by_code else "")
        key = (labels.get("verb", ""), labels.get("resource", ""), sub)
        totals[key] += int(float(match.group("value")))
    return totals


def request_totals(rest: KubeRest, by_code: bool = False) -> Counter[Key]:
    """A snapshot of the API server's request counters (needs an admin token: `/metrics` is protected)."""
    return parse_request_totals(str(rest.get("/metrics").get("raw", "")), by_code)


def delta(after: Counter[Key], before: Counter[Key]) -> Counter[Key]:
    return Counter({key: after[key] - before[key] for key in after if after[key] - before[key] > 0})


def describe(counts: Counter[Key]) -> str:
    """`POST jobs=200, PATCH modeldeployments/status=200, ...`, largest first."""
    return ", ".join(f"{verb} {resource}{'/' + sub if sub else ''}={n}"
                     for (verb, resource, sub), n in counts.most_common())
