"""What fault-injection tests read off the real API server: conditions, and the operator's own requests."""

from __future__ import annotations

from kube.harness import OPERATOR_USER


def condition(status: dict, type_: str) -> dict:
    return next((c for c in status.get("conditions") or [] if c["type"] == type_), {})


def operator_requests(control_plane, namespace: str, since: int) -> list[tuple[str, str, str]]:
    """(verb, resource, name) of the operator's requests in `namespace` after audit entry `since`, without
    its watches (and the LISTs that open them). The audit log names the user: only the operator's
    ServiceAccount is counted."""
    events = control_plane.audit_events(OPERATOR_USER)[since:]
    return [(e["verb"], e["objectRef"].get("resource", ""), e["objectRef"].get("name", ""))
            for e in events if (e.get("objectRef") or {}).get("namespace") == namespace
            and e["verb"] not in ("watch", "list")]


def audit_mark(control_plane) -> int:
    """The position to count the operator's requests from."""
    return len(control_plane.audit_events(OPERATOR_USER))
