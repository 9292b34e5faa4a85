"""Schema anomalies decided by the spec's rules (`spec.schemaRules`): fail the stage, count as drift, or accept.

A worker checks the data it read against the schema of the version it works for (validation: the candidate's;
monitoring: the serving version's) and reports every anomaly in its result's `schemaCheck` block; this module
decides what each one does, so every runtime — and a worker that knew other rules — is judged alike:
- any anomaly whose kind's rule is Fail turns the stage into a failure with reason SchemaViolation and a
  message naming the column (the version or the evaluation fails the usual way);
- Drift anomalies of an evaluation make its drift verdict Drifted (they then count toward drift confirmation
  like any drift, `drift_confirmation.py`), naming the columns;
- Accept anomalies are recorded only. Every anomaly is kept with the action it got.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelops.api.schema_rules_schema import ANOMALY_KINDS, RULE_ACTIONS
from modelops.lifecycle.draft import Draft
from modelops.lifecycle.reasons import SCHEMA_VIOLATION
from modelops.lifecycle.results_parser import StageOutcome

SCREENED_STAGES = ("train", "validate", "evaluate")
MAX_RECORDED = 8
MAX_MESSAGE = 1500


def rule_for(rules: Mapping[str, Any], kind: str) -> str:
    """The action for one anomaly kind: the spec's, else the kind's default; a kind this core does not know
    (a newer worker) is recorded, never acted on."""
    action = rules.get(kind)
    if action in RULE_ACTIONS:
        return str(action)
    return ANOMALY_KINDS[kind][0] if kind in ANOMALY_KINDS else "Accept"


@dataclass(frozen=True)
class SchemaJudgement:
    """The anomalies of one check, each with its action, and what they add up to."""

    version: int | None
    anomalies: tuple[dict[str, Any], ...]
    unlisted: tuple[tuple[str, int, str], ...] = ()  # (kind, count, action) of anomalies past the summary's bound

    def with_action(self, action: str) -> list[dict[str, Any]]:
        return [a for a in self.anomalies if a["action"] == action]

    def count(self, action: str) -> int:
        return len(self.with_action(action)) + sum(n for _, n, a in self.unlisted if a == action)

    def message(self, action: str) -> str:
        parts = [str(a.get("message") or f"column {a['column']!r}: {a['kind']}") for a in self.with_action(action)]
        parts += [f"{n} more {kind} (see the stage report)" for kind, n, a in self.unlisted if a == action]
        against = f" (schema of version {self.version})" if self.version is not None else ""
        total = self.count(action)
        return f"{total} schema anomal{'y' if total == 1 else 'ies'}{against}: {'; '.join(parts)}"[:MAX_MESSAGE]

    def to_status(self) -> dict[str, Any]:
        counts = {action: self.count(action) for action in RULE_ACTIONS}
        return {"version": self.version, "anomalies": [dict(a) for a in self.anomalies[:MAX_RECORDED]],
                "failed": counts["Fail"], "drifted": counts["Drift"], "accepted": counts["Accept"]}


def judge_schema(rules: Mapping[str, Any], check: Mapping[str, Any] | None) -> SchemaJudgement | None:
    """The judgement of a result's `schemaCheck` block under `rules`; None when the stage checked nothing.
    Anomalies the block only counts (past its size bound) are judged by kind too."""
    if not isinstance(check, Mapping):
        return None
    anomalies = tuple({**dict(a), "action": rule_for(rules, str(a.get("kind")))}
                      for a in check.get("anomalies") or [] if isinstance(a, Mapping) and "column" in a)
    listed = Counter(str(a.get("kind")) for a in anomalies)
    counts = check.get("counts") if isinstance(check.get("counts"), Mapping) else {}
    unlisted = tuple((str(kind), int(n) - listed[str(kind)], rule_for(rules, str(kind)))
                     for kind, n in sorted(counts.items()) if int(n) > listed[str(kind)])
    version = check.get("version")
    return SchemaJudgement(None if version is None else int(version), anomalies, unlisted)


def screen_outcome(spec: Mapping[str, Any], stage: str, outcome: StageOutcome) -> StageOutcome:
    """A successful result whose data broke a Fail rule becomes a SchemaViolation failure of the stage."""
    if not outcome.ok or stage not in SCREENED_STAGES:
        return outcome
    judgement = judge_schema(spec.get("schemaRules") or {}, outcome.result.get("schemaCheck"))
    if judgement is None or not judgement.count("Fail"):
        return outcome
    return StageOutcome(False, outcome.result, SCHEMA_VIOLATION, judgement.message("Fail"))


def drift_with_schema(drift: dict[str, Any], judgement: SchemaJudgement | None) -> dict[str, Any]:
    """An evaluation's judged drift, made Drifted by the schema anomalies whose rule is Drift (not when drift
    is disabled: then nothing counts as drift)."""
    if judgement is None or not judgement.count("Drift") or drift.get("verdict") == "Disabled":
        return drift
    columns = list(dict.fromkeys(str(a["column"]) for a in judgement.with_action("Drift")))
    text = judgement.message("Drift")
    message = text if drift.get("verdict") != "Drifted" else f"{drift.get('message', '')}; {text}"
    return {**drift, "verdict": "Drifted", "message": message, "schemaDrifted": columns,
            "driftedFeature": drift.get("driftedFeature") or (columns[0] if columns else None)}


def note_schema(d: Draft, stage: Mapping[str, Any], result: Mapping[str, Any]) -> None:
    """Keep what a finished stage said about schemas: the train stage's summary of the version's schema on its
    record, a check's judged anomalies on the version's record (train, validate) or the evaluation."""
    record = d.record(stage["version"])
    if stage["name"] == "train" and record is not None and isinstance(result.get("schema"), Mapping):
        record["schema"] = dict(result["schema"])
    judgement = judge_schema(d.spec.get("schemaRules") or {}, result.get("schemaCheck"))
    if judgement is None:
        return
    evaluation = d.status.get("lastEvaluation") or {}
    if stage["name"] == "evaluate" and evaluation.get("stageId") == stage["id"]:
        evaluation["schemaCheck"] = judgement.to_status()
    elif stage["name"] != "evaluate" and record is not None:
        record["schemaCheck"] = {**judgement.to_status(), "stage": stage["name"]}
