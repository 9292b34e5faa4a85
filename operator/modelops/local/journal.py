"""Actions as JSON, so decided-but-unexecuted actions survive a SIGKILL and get replayed (they are the
`pending` list of the state record, state_store.py).

Replaying is safe because every action is idempotent in the local executor: a StartStage whose id has a
live process or a result is adopted, ApplyServing rewrites the same pin, DeleteVersion of a missing
directory does nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from modelops.lifecycle.messages import Action, ApplyServing, CancelStage, DeleteVersion, EmitEvent, StartStage
from modelops.lifecycle.stage_codec import MalformedStage, stage_action, stage_record

_KINDS: dict[str, type] = {cls.__name__: cls for cls in (StartStage, ApplyServing, CancelStage, DeleteVersion,
                                                         EmitEvent)}


def encode(action: Action) -> dict[str, Any]:
    """A StartStage is written as status.stage is (lifecycle/stage_codec.py): one codec for a decided run."""
    if isinstance(action, StartStage):
        return {"kind": "StartStage", "run": stage_record(action)}
    return {"kind": type(action).__name__, **dataclasses.asdict(action)}


def decode(record: dict[str, Any]) -> Action:
    """Rebuild an action; raises ValueError naming the kind or field that does not fit."""
    fields = dict(record)
    kind = fields.pop("kind", None)
    cls = _KINDS.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"pending action kind {kind!r} is unknown (expected one of {', '.join(_KINDS)})")
    if cls is StartStage and isinstance(fields.get("run"), dict):
        try:
            return stage_action(fields["run"])
        except MalformedStage as bad:
            raise ValueError(f"pending action StartStage: {bad}") from None
    # JSON has no tuples: fields declared as tuples (datasets of a StartStage) come back as lists
    tuples = {f.name for f in dataclasses.fields(cls) if str(f.type).startswith("tuple")}
    fields = {k: tuple(v) if k in tuples and isinstance(v, list) else v for k, v in fields.items()}
    try:
        return cls(**fields)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise ValueError(f"pending action {kind}: {exc}") from exc
