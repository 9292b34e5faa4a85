"""A persistent refusal stops the loop: what a runtime records when retrying cannot help.

Both runtimes call `decide_refused` when the API server (or the local machine) refuses what the core
asked for in a way the same request would meet again — a 4xx other than 409/429, a command that does
not exist — or when deciding on an observation raised. Retrying such a request every few seconds only
loads the API server and hides the cause, so instead the deployment fails with the refusing party's own
message: `status.failure` (phase Failed, `Stalled=True` with the reason, `Ready=False`) and one Warning
Event. Like every failure, the next spec edit clears it (core.py `_on_spec_change`) and the core tries
again. Whatever serves keeps serving.

A refused stage Job is not handled here: the runtime reports it as that stage's failed result (reason
`JobRejected`), so the version's record says why too (stage_results.py).
"""

from __future__ import annotations

from modelops.contract.reasons import RECONCILE_ERROR
from modelops.lifecycle.draft import Draft
from modelops.lifecycle.messages import Context, Decision
from modelops.lifecycle.summary import summarize

MAX_MESSAGE = 2000


def decide_refused(ctx: Context, status: dict | None, reason: str, message: str) -> Decision:
    """Failed with `reason` until the spec is edited; the Warning Event is posted only when the failure
    is new (the same refusal again changes nothing, so a runtime that meets it again writes nothing)."""
    d = Draft.start(ctx, status)
    previous_phase = d.status.get("phase")
    # The refusal answers this generation: kstatus must read Stalled, not "generation not yet observed".
    d.status["observedGeneration"] = ctx.generation
    d.fail(reason, message[:MAX_MESSAGE])
    summarize(d, previous_phase)
    return Decision(d.status, d.actions)


def raised_text(error: BaseException) -> tuple[str, str]:
    """(reason, message) when deciding raised: the same words from both runtimes."""
    return RECONCILE_ERROR, f"deciding failed with {type(error).__name__}: {error}"[:MAX_MESSAGE]
