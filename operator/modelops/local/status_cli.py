"""`modelops status [NAME]`: what a locally run ModelDeployment is doing, read from its state directory.

Read-only and safe while `modelops run` is working: the state record (state.json) is replaced atomically, so this never
sees half a status.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from modelops.lifecycle.gates import gate_text
from modelops.local.processes import adopt
from modelops.local.schema_view import describe_schema, describe_schema_check
from modelops.local.state_store import DEFAULT_ROOT, StateError, StateStore, discover, read_json, read_jsonl
from modelops.local.view import describe_evaluation


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelops status", description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", help="ModelDeployment name (optional when only one exists)")
    parser.add_argument("-n", "--namespace", default=None, help="namespace (default: any)")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_ROOT, help="state directory of `modelops run`")
    parser.add_argument("-o", "--output", choices=("text", "yaml", "json"), default="text")
    parser.add_argument("--plot", type=Path, help="write metric history per version to this PNG file")
    return parser


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in rows]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def describe_gates(gates: Any) -> str:
    """The same gate summary the Validated event and condition carry (`lifecycle.gates.gate_text`)."""
    if not isinstance(gates, list) or not gates:
        return "-"
    return gate_text(g for g in gates if isinstance(g, Mapping))


def describe_lineage(data: Any) -> str:
    """`training 3f2a9c1e 1500, monitoring aade0e2f 500`: enough to match a file's sha256sum."""
    if not isinstance(data, list) or not data:
        return "-"
    return ", ".join(f"{d.get('role', '?')} {str(d.get('sha256', '?'))[:8]} {d.get('rowsUsed', d.get('rows', '?'))}"
                     for d in data if isinstance(d, Mapping))


def describe_challenge(challenge: Any) -> str:
    if not isinstance(challenge, Mapping):
        return "-"
    if challenge.get("verdict") == "Inconclusive":
        return f"inconclusive: {challenge.get('rows', 0)} unseen monitoring rows < {challenge.get('minRows')}"
    verdict = "beat" if challenge.get("passed") else "did not beat"
    where = f"{challenge['rows']} unseen monitoring rows" if challenge.get("rows") else "monitoring data"
    p_value = f" (p {challenge['pValue']:.2g})" if challenge.get("pValue") is not None else ""
    return (f"{verdict} serving on {where}: {challenge.get('metric')} {_fmt(challenge.get('candidate'))} "
            f"vs {_fmt(challenge.get('serving'))}{p_value}")


def _header_metrics(status: Mapping[str, Any]) -> str:
    """The serving version's validation value, named as such, and its latest live value beside it: a bare
    validation number next to phase=Degraded would read as current performance."""
    validated = str(status.get("primaryMetric") or "")
    name = validated.split("=")[0]
    last = status.get("lastEvaluation") or {}
    live = (last.get("metrics") or {}).get(name) if last.get("version") == status.get("servingVersion") else None
    parts = [f"validation {validated}" if validated else "", f"live {name}={live:.4g}" if live is not None else ""]
    return "  ".join(p for p in parts if p)


def render_text(store: StateStore, status: Mapping[str, Any]) -> str:
    lines = [f"{store.namespace}/{store.name}  phase={status.get('phase', 'Pending')}  "
             f"serving={_fmt(status.get('servingVersion'))}  latest={_fmt(status.get('latestVersion'))}  "
             f"{_header_metrics(status)}".rstrip()]
    if status.get("message"):
        lines.append(f"  message: {status['message']}")
    stage = status.get("stage")
    if stage:
        lines.append(f"  running: {stage.get('name')} v{stage.get('version')} ({stage.get('id')}) "
                     f"since {stage.get('startedAt')}  log: {store.stage_dir(stage['id']) / 'log.txt'}")
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, Mapping)]
    if conditions:
        rows = [("TYPE", "STATUS", "REASON", "MESSAGE")]
        rows += [(str(c.get("type")), str(c.get("status")), str(c.get("reason", "")), str(c.get("message", "")))
                 for c in conditions]
        lines += ["", "Conditions:", *_table(rows)]
    versions = [v for v in status.get("versions") or [] if isinstance(v, Mapping)]
    if versions:
        metric_names = sorted({k for v in versions for k in (v.get("metrics") or {})})[:6]
        rows = [("VERSION", "STATE", "TRIGGER", *(m.upper() for m in metric_names), "GATES", "REASON")]
        for record in versions:
            metrics = record.get("metrics") or {}
            rows.append((str(record.get("version")), str(record.get("state")), _fmt(record.get("trigger")),
                         *(_fmt(metrics.get(m)) for m in metric_names), describe_gates(record.get("gates")),
                         str(record.get("reason") or "") + (" (files deleted)" if record.get("deleted") else "")))
        lines += ["", "Versions:", *_table(rows)]
        lineage = [(record, (record.get("lineage") or {}).get("data")) for record in versions]
        if any(data for _, data in lineage):
            rows = [("VERSION", "TRAINED ON (role sha256 rows-used)", "SPEC", "CHALLENGE")]
            rows += [(str(record.get("version")), describe_lineage(data),
                      str((record.get("lineage") or {}).get("trainingSpecHash", "-")),
                      describe_challenge(record.get("challenge"))) for record, data in lineage]
            lines += ["", "Lineage:", *_table(rows)]
        if any(record.get("schema") or record.get("schemaCheck") for record in versions):
            rows = [("VERSION", "SCHEMA", "CHECK OF ITS DATA")]
            rows += [(str(record.get("version")), describe_schema(record.get("schema")),
                      describe_schema_check(record.get("schemaCheck"))) for record in versions]
            lines += ["", "Schema:", *_table(rows)]
        searched = [record for record in versions if (record.get("tuning") or {}).get("summary")]
        if searched:
            rows = [("VERSION", "HYPERPARAMETER SEARCH")]
            rows += [(str(record.get("version")), str(record["tuning"]["summary"])) for record in searched]
            lines += ["", "Tuning:", *_table(rows)]
    waiting = (status.get("retrain") or {}).get("waiting")
    if waiting:
        lines.append(f"  retraining: {waiting} (add new labelled data or edit spec.training)")
    evaluation = status.get("lastEvaluation")
    lines += ["", f"Last evaluation: {describe_evaluation(evaluation)}"
              + (f"  at {evaluation.get('time')}" if evaluation else "")]
    if evaluation and evaluation.get("schemaCheck"):
        lines.append(f"  data check: {describe_schema_check(evaluation['schemaCheck'])}")
    server = adopt(store.serving_dir / "pid")
    if server is not None:
        url = (read_json(store.serving_dir / "applied.json", {}) or {}).get("url", "?")
        lines.append(f"Endpoint: {url}:predict (model server pid {server.pid}, log {store.serving_dir / 'log.txt'})")
    else:
        lines.append("Endpoint: not running (serving resumes with `modelops run`)")
    lines.append(f"State: {store.dir}")
    return "\n".join(lines)


def _select(stores: list[StateStore], name: str | None, namespace: str | None, root: Path) -> StateStore:
    matching = [s for s in stores if (name is None or s.name == name) and
                (namespace is None or s.namespace == namespace)]
    if not matching:
        what = f"{namespace + '/' if namespace else ''}{name}" if name else "any ModelDeployment"
        raise StateError(f"no state for {what} under {root} (run `modelops run -f FILE --state-dir {root}`)")
    if len(matching) > 1:
        names = ", ".join(f"{s.namespace}/{s.name}" for s in matching)
        raise StateError(f"several ModelDeployments under {root} ({names}): name one (and -n NAMESPACE)")
    return matching[0]


def render_summary(stores: list[StateStore]) -> str:
    """One line per deployment, like `kubectl get modeldeployments`."""
    rows = [("NAMESPACE", "NAME", "PHASE", "SERVING", "LATEST", "METRIC", "MESSAGE")]
    for store in stores:
        status = store.load_status()
        rows.append((store.namespace, store.name, str(status.get("phase", "Pending")),
                     _fmt(status.get("servingVersion")), _fmt(status.get("latestVersion")),
                     str(status.get("primaryMetric", "")), str(status.get("message", ""))))
    return "\n".join(line[2:] for line in _table(rows))


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    root = args.state_dir.resolve()
    try:
        stores = discover(root)
        if args.name is None and args.namespace is None and len(stores) > 1 and args.plot is None:
            if args.output == "text":
                print(render_summary(stores))
            else:
                listing = [{"namespace": s.namespace, "name": s.name, "status": s.load_status()} for s in stores]
                print(json.dumps(listing, indent=2) if args.output == "json" else yaml.safe_dump(listing), end="\n")
            return 0
        store = _select(stores, args.name, args.namespace, root)
        status = store.load_status()
    except StateError as exc:
        print(f"modelops status: {exc}", file=sys.stderr)
        return 1
    if args.output == "json":
        print(json.dumps(status, indent=2, sort_keys=True))
    elif args.output == "yaml":
        print(yaml.safe_dump(status, sort_keys=False), end="")
    else:
        print(render_text(store, status))
    if args.plot:
        from modelops.local.plot import plot_history

        try:
            written = plot_history(status, read_jsonl(store.history_path), args.plot, f"{store.namespace}/{store.name}")
        except ValueError as exc:
            print(f"modelops status: --plot: {exc}", file=sys.stderr)
            return 1
        print(f"plot written to {written}", file=sys.stderr)
    return 0
