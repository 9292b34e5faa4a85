#!/usr/bin/env python3
"""Write the Grafana dashboard: charts/modelops/dashboards/modelops.json and manifests/grafana-dashboard.yaml.

Panels are declared here in a few lines each, so a reader sees every query on one screen; the JSON is
the output. Every query names metrics that `modelops operator` or `modelops serve` export (a test reads
both /metrics endpoints).

Usage: scripts/gen-dashboard.py [--check]   (--check: exit 1 if a committed file is stale)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
JSON_OUT = ROOT / "charts" / "modelops" / "dashboards" / "modelops.json"
MANIFEST_OUT = ROOT / "manifests" / "grafana-dashboard.yaml"
SEL = 'namespace=~"$namespace", name=~"$name"'
SERVE_SEL = 'model=~"$name"'
NS_SEL = 'namespace=~"$namespace"'
# the model config names each model after its ModelDeployment; a series scraped without a namespace
# label (a local `modelops serve`) still matches the "All" value `.*`
TFS_SEL = 'namespace=~"$namespace", model_name=~"$name"'
LOAD_SEL = 'namespace=~"$namespace", model_path=~".*/($name)/[0-9]+"'  # <root>/<namespace>/<name>/<version>

# One panel per unit (the operator exports one gauge per unit): family, title, Grafana unit.
UNIT_PANELS = [
    ("score_ratio", "scores (accuracy, precision, recall, f1, auc)", "percentunit"),
    ("error", "errors (rmse, mae, in the label's unit)", "none"),
    ("squared_error", "squared error (mse)", "none"),
    ("loss", "loss", "none"),
]

# (title, panel type, unit, [(query, legend)], width)
ROWS: list[tuple[str, list[tuple[str, str, str, list[tuple[str, str]], int]]]] = [
    ("Model quality", [
        ("Phase", "stat", "none",
         [(f"modelops_deployment_phase{{{SEL}}} == 1", "{{name}}: {{phase}}")], 6),
        ("Serving version", "stat", "none",
         [(f"modelops_serving_version{{{SEL}}}", "{{name}}")], 6),
        ("Versions retrained after degradation", "stat", "none",
         [(f"modelops_retrained_versions{{{SEL}}}", "{{name}}")], 6),
        ("Reconcile errors (1h)", "stat", "none",
         [("sum(increase(modelops_reconcile_errors_total[1h]))", "errors")], 6),
        *[(f"Live {title} against validation", "timeseries", unit,
           [(f"modelops_live_{family}{{{SEL}}}", "{{name}} live {{metric}}"),
            (f"modelops_model_{family}{{{SEL}}}", "{{name}} v{{version}} validation {{metric}}")], 6)
          for family, title, unit in UNIT_PANELS],
        ("Largest feature drift", "timeseries", "none",
         [(f"modelops_drift{{{SEL}}}", "{{name}} {{statistic}}")], 24),
        ("Validation metrics per version", "table", "none",
         [(f"max by (namespace, name, version, metric) (modelops_model_{family}{{{SEL}}})", "")
          for family, _, _ in UNIT_PANELS], 24),
    ]),
    # TF Serving's own names (servables/tensorflow/util.cc, batching/batching_session.cc, TF's
    # cc/saved_model/loader.cc): the real tensorflow/serving image and `modelops serve` both export them
    ("Serving (TF Serving metrics)", [
        ("Requests per second by status", "timeseries", "reqps",
         [(f"sum by (model_name, status) (rate(:tensorflow:serving:request_count{{{TFS_SEL}}}[5m]))",
           "{{model_name}} {{status}}")], 12),
        ("Request latency p50 / p99 (successful requests)", "timeseries", "µs",
         [(f"histogram_quantile(0.5, sum by (le, model_name, entrypoint) "
           f"(rate(:tensorflow:serving:request_latency_bucket{{{TFS_SEL}}}[5m])))",
           "{{model_name}} {{entrypoint}} p50"),
          (f"histogram_quantile(0.99, sum by (le, model_name, entrypoint) "
           f"(rate(:tensorflow:serving:request_latency_bucket{{{TFS_SEL}}}[5m])))",
           "{{model_name}} {{entrypoint}} p99")], 12),
        ("Model runtime p99 (session run, incl. batch queueing)", "timeseries", "µs",
         [(f"histogram_quantile(0.99, sum by (le, model_name, API) "
           f"(rate(:tensorflow:serving:runtime_latency_bucket{{{TFS_SEL}}}[5m])))", "{{model_name}} {{API}}")], 8),
        ("Batch queueing p99 (with --enable_batching)", "timeseries", "µs",
         [(f"histogram_quantile(0.99, sum by (le, namespace) "
           f"(rate(:tensorflow:serving:batching_session:queuing_latency_bucket{{{NS_SEL}}}[5m])))",
           "{{namespace}}")], 8),
        ("SavedModel loads (1h) by outcome", "timeseries", "none",
         [(f"sum by (status) (increase(:tensorflow:cc:saved_model:load_attempt_count{{{LOAD_SEL}}}[1h]))",
           "{{status}}")], 8),
    ]),
    # series only `modelops serve` has (the local runtime): TF Serving exports no equivalent
    ("Serving extras (modelops serve only)", [
        ("Rows per batch (mean)", "timeseries", "none",
         [(f"sum by (model) (rate(modelops_serving_batch_size_sum{{{SERVE_SEL}}}[5m])) / "
           f"sum by (model) (rate(modelops_serving_batch_size_count{{{SERVE_SEL}}}[5m]))", "{{model}}")], 8),
        ("Rows waiting in the batching queue", "timeseries", "none",
         [(f"sum by (model, version) (modelops_serving_batch_queue_rows{{{SERVE_SEL}}})",
           "{{model}} v{{version}}")], 8),
        ("Versions available", "timeseries", "none",
         [(f"modelops_serving_version_available{{{SERVE_SEL}}}", "{{model}} v{{version}}")], 8),
    ]),
    ("Operator", [
        ("Reconciles per second by trigger", "timeseries", "ops",
         [("sum by (kind) (rate(modelops_reconciles_total[5m]))", "{{kind}}")], 8),
        ("Reconcile errors per second", "timeseries", "ops",
         [("sum by (kind, error) (rate(modelops_reconcile_errors_total[5m]))", "{{kind}} {{error}}")], 8),
        ("Stage duration p90", "timeseries", "s",
         [("histogram_quantile(0.9, sum by (le, stage) (rate(modelops_stage_duration_seconds_bucket[1h])))",
           "{{stage}}")], 8),
    ]),
]


def _variable(name: str, query: str) -> dict:
    return {"name": name, "label": name, "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "query": {"query": query, "refId": name}, "definition": query, "refresh": 2, "includeAll": True,
            "multi": True, "allValue": ".*", "current": {"text": "All", "value": "$__all"}, "sort": 1}


def dashboard() -> dict:
    panels: list[dict] = []
    y, panel_id = 0, 1
    for row_title, row_panels in ROWS:
        panels.append({"id": panel_id, "type": "row", "title": row_title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        panel_id, y, x = panel_id + 1, y + 1, 0
        for title, kind, unit, queries, width in row_panels:
            if x + width > 24:
                x, y = 0, y + 8
            panels.append({
                "id": panel_id, "type": kind, "title": title,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": width, "x": x, "y": y},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {"legend": {"displayMode": "table", "placement": "bottom"}} if kind == "timeseries" else {},
                "targets": [{"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend,
                             **({"format": "table", "instant": True} if kind == "table" else {})}
                            for i, (expr, legend) in enumerate(queries)],
            })
            panel_id, x = panel_id + 1, x + width
        y += 8
    return {
        "uid": "modelops", "title": "modelops", "tags": ["modelops", "ml"], "editable": True,
        "schemaVersion": 39, "version": 1, "time": {"from": "now-6h", "to": "now"}, "refresh": "30s",
        "description": "Model quality per ModelDeployment and version (live against validation, drift, phase, "
                       "retraining), modelops serve traffic and the operator's own health.",
        "templating": {"list": [
            {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus"},
            _variable("namespace", "label_values(modelops_deployment_phase, namespace)"),
            _variable("name", 'label_values(modelops_deployment_phase{namespace=~"$namespace"}, name)'),
        ]},
        "panels": panels,
    }


def render_json() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings as `|` blocks, so the ConfigMap's JSON stays readable in review."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_BlockDumper.add_representer(str, _represent_str)


def render_manifest() -> str:
    config_map = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "modelops-grafana-dashboard", "namespace": "modelops-system",
                     "labels": {"app.kubernetes.io/name": "modelops", "grafana_dashboard": "1"}},
        "data": {"modelops.json": render_json()},
    }
    header = ("# Generated by scripts/gen-dashboard.py; do not edit by hand. Picked up by the Grafana sidecar\n"
              "# (label grafana_dashboard=1); the Helm chart ships the same JSON (dashboard.enabled).\n")
    return header + yaml.dump(config_map, Dumper=_BlockDumper, sort_keys=False, width=120)


def main(argv: list[str]) -> int:
    outputs = {JSON_OUT: render_json(), MANIFEST_OUT: render_manifest()}
    if "--check" in argv:
        stale = [str(path) for path, text in outputs.items() if not path.exists() or path.read_text() != text]
        if stale:
            print("stale: " + ", ".join(stale) + " (run scripts/gen-dashboard.py)", file=sys.stderr)
        return 1 if stale else 0
    for path, text in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
