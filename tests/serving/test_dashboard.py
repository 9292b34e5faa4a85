"""The Grafana dashboard only queries metrics that really exist: every metric name in every panel's query
is one that `modelops operator` or `modelops serve` exports, read from their /metrics endpoints."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from modelops.kube.metrics import OperatorMetrics
from modelops.serving.config import DEFAULT_PROMETHEUS_PATH, ServedModel

from .conftest import running_server

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "charts" / "modelops" / "dashboards" / "modelops.json"
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
                "offset", "le", "inf", "nan"}
# series a `# TYPE <name> <kind>` line stands for (prometheus_client already writes a counter's name with _total)
SERIES_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count", "")}


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords or labels."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", text):
        if match.group(1).lower() not in PROMQL_WORDS:
            names.add(match.group(1))
    return names


def exported_series(exposition: str) -> set[str]:
    """Every series name an endpoint puts on the wire, including those of labelled metrics with no
    child yet. Read from the text itself: prometheus_client's parser would rename TF Serving's
    counters (`:tensorflow:serving:request_count`, no `_total` on the wire) to `..._total`."""
    families = list(text_string_to_metric_families(exposition))  # the page must parse at all
    assert families, "empty exposition"
    names = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            names.update(name + suffix for suffix in SERIES_SUFFIXES.get(kind, ("",)))
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def _operator_exposition() -> str:
    """A real `modelops operator` metrics endpoint, fed one realistic status, scraped over HTTP."""
    script = (
        "import socket, sys, time\n"
        "from modelops.kube.metrics import OperatorMetrics\n"
        "m = OperatorMetrics()\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()\n"
        "m.serve(port, '127.0.0.1')\n"
        "m.observe_status('ml', 'churn', {'phase': 'Serving', 'servingVersion': 2, 'versions': [\n"
        "    {'version': 1, 'state': 'Retired', 'trigger': 'Initial', 'metrics': {'accuracy': 0.9}},\n"
        "    {'version': 2, 'state': 'Serving', 'trigger': 'Degradation', 'metrics': {'accuracy': 0.92}}],\n"
        "    'lastEvaluation': {'metrics': {'accuracy': 0.88, 'loss': 0.4}, 'drift': {'maxPsi': 0.1, 'maxKs': 0.2}}})\n"
        "m.observe_status('ml', 'prices', {'phase': 'Serving', 'servingVersion': 1, 'versions': [\n"
        "    {'version': 1, 'state': 'Serving', 'metrics': {'rmse': 2.1, 'mae': 1.5, 'mse': 4.4, 'loss': 4.4}}],\n"
        "    'lastEvaluation': {'metrics': {'rmse': 2.5, 'mae': 1.9, 'mse': 6.2}}})\n"
        "print(port, flush=True)\n"
        "sys.stdin.read()\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    try:
        port = int(process.stdout.readline())
        return _get(f"http://127.0.0.1:{port}/metrics")
    finally:
        process.communicate("", timeout=10)


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def test_committed_dashboard_matches_its_generator() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen-dashboard.py"), "--check"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load((ROOT / "manifests" / "grafana-dashboard.yaml").read_text())
    assert manifest["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert manifest["data"]["modelops.json"] == DASHBOARD.read_text()


def test_the_query_parser_finds_metrics_and_skips_the_rest() -> None:
    expr = ('histogram_quantile(0.99, sum by (le, model) (rate(a_bucket{model=~"$name", x="y{z}"}[5m]))) '
            "/ on (model) group_left b_total and c")
    assert metric_names(expr) == {"a_bucket", "b_total", "c"}
    assert metric_names('sum by (status) (rate(:tensorflow:serving:request_count{model_name=~"$name"}[5m]))') == {
        ":tensorflow:serving:request_count"}


async def test_every_panel_queries_metrics_the_operator_or_modelops_serve_exports(dashboard, model_bases) -> None:
    models = [ServedModel("scaler", model_bases["scaler"], (2,), {"stable": 2})]
    async with running_server(metrics_path=DEFAULT_PROMETHEUS_PATH) as (server, _, session):
        await server.registry.apply(models)
        async with session.post("/v1/models/scaler:predict", json={"instances": [[1.0, 2.0, 3.0]]}) as answer:
            assert answer.status == 200
        async with session.get(DEFAULT_PROMETHEUS_PATH) as response:
            serving = exported_series(await response.text())
    operator = exported_series(_operator_exposition())
    assert "modelops_serving_requests_total" in serving and "modelops_retrained_versions" in operator

    used: set[str] = set()
    for row, row_panels in panels_by_row(dashboard):
        source = serving if row.startswith("Serving") else operator
        for panel in row_panels:
            assert panel["targets"], f"panel {panel['title']!r} has no query"
            for target in panel["targets"]:
                names = metric_names(target["expr"])
                assert names, f"panel {panel['title']!r}: no metric in {target['expr']!r}"
                missing = names - source
                assert not missing, f"panel {panel['title']!r} queries metrics its exporter lacks: {sorted(missing)}"
                used |= names
    # The model-quality figures the issue asks for are all on the dashboard.
    for metric in ("modelops_live_score_ratio", "modelops_model_score_ratio", "modelops_live_error",
                   "modelops_model_error", "modelops_model_squared_error", "modelops_model_loss", "modelops_drift",
                   "modelops_deployment_phase", "modelops_retrained_versions"):
        assert metric in used, metric
    # Serving is charted from TF Serving's own names, so the panels work on the real image too.
    for metric in (":tensorflow:serving:request_count", ":tensorflow:serving:request_latency_bucket",
                   ":tensorflow:serving:runtime_latency_bucket", ":tensorflow:cc:saved_model:load_attempt_count"):
        assert metric in used, metric


def panels_by_row(dashboard: dict) -> list[tuple[str, list[dict]]]:
    rows: list[tuple[str, list[dict]]] = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            rows.append((panel["title"], []))
        else:
            rows[-1][1].append(panel)
    return rows


def test_retrain_gauge_counts_versions_trained_after_degradation() -> None:
    metrics = OperatorMetrics()
    metrics.observe_status("ml", "churn", {"versions": [{"version": 1, "trigger": "Degradation"},
                                                        {"version": 2, "trigger": "Degradation"},
                                                        {"version": 3, "trigger": "SpecChange"}]})
    assert metrics.registry.get_sample_value("modelops_retrained_versions", {"namespace": "ml", "name": "churn"}) == 2
