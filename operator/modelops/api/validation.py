"""Rules a schema's types and bounds cannot express: metric/task fit, bound consistency, cross-field needs.

Every rule is declared once (see `rules.py`): the CRD carries it as CEL so the API server rejects the
apply with the field named, and `semantic_errors` runs the same rule in Python for `modelops run`,
`modelops validate` and the operator (which reports InvalidSpec for anything admission let through,
e.g. a CRD installed from an older release). Transition rules (fields that must not change once
versions exist) need the stored object: the API server checks them on update, `transition_errors`
offers the same check to callers that hold the previous document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from modelops.api.dataset_rules import DATASET_RULES
from modelops.api.metrics import HIGHER_IS_BETTER, LOWER_IS_BETTER, METRICS_BY_TASK
from modelops.api.model_schema import USER_MODEL_RULES
from modelops.api.mount_rules import MOUNT_RULES
from modelops.api.pod_template_schema import RESERVED_ENV
from modelops.api.resources_schema import RESOURCE_RULES
from modelops.api.rules import AnyRule, ItemRule, Ref, Rule, rule_errors

Spec = Mapping[str, Any]

# Child names are "<name>-<stage id>" (e.g. "churn-evaluate-v12-e345"); 40 leaves room within 63.
MAX_NAME_LENGTH = 40
DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


def _has(node: Mapping[str, Any], *keys: str) -> bool:
    return all(node.get(k) is not None for k in keys)


def _cel_list(values: Any) -> str:
    return "[" + ", ".join(f"'{v}'" for v in sorted(values)) + "]"


_BY_TASK_CEL = "{" + ", ".join(f"'{task}': {_cel_list(metrics)}" for task, metrics in METRICS_BY_TASK.items()) + "}"
_EXPECTED_CEL = "{" + ", ".join(f"'{task}': '{', '.join(metrics)}'" for task, metrics in METRICS_BY_TASK.items()) + "}"
_HIGHER_CEL = _cel_list(HIGHER_IS_BETTER)
_LOWER_CEL = _cel_list(LOWER_IS_BETTER)


def _fits_task(item: Spec, spec: Spec) -> bool:
    return item["metric"] in METRICS_BY_TASK.get(spec["task"], (item["metric"],))


_NOT_COMPUTED = ('metric "', Ref("g.metric", lambda item, spec: item["metric"]), '" is not computed for task ',
                 Ref("self.task", lambda item, spec: spec["task"]), " (expected one of ",
                 Ref(f"{_EXPECTED_CEL}[self.task]", lambda item, spec: ", ".join(METRICS_BY_TASK[spec["task"]])),
                 ")")

_DEGRADATION_BOUNDS = "[has(self.min), has(self.max), has(self.maxDrop)].filter(b, b).size()"


def _bound_count(rule: Spec) -> int:
    return sum(rule.get(k) is not None for k in ("min", "max", "maxDrop"))


_ANY_TRAINED_CEL = ("(has(oldSelf.status) && has(oldSelf.status.versions) "
                    "&& oldSelf.status.versions.exists(v, has(v.trainedAt)))")


def _any_trained(document: Mapping[str, Any]) -> bool:
    """Whether any version of the stored object was trained (has a model on the claim)."""
    return any(v.get("trainedAt") for v in (document.get("status") or {}).get("versions") or [])


_SEARCH_KNOBS = ("hiddenLayers", "activation", "dropout", "learningRate", "batchSize", "optimizer")
_SEARCHES_ANY = ("(has(self.tuning.searchSpace) && ("
                 + " || ".join(f"has(self.tuning.searchSpace.{k})" for k in _SEARCH_KNOBS) + "))")


def _user_model(training: Spec) -> bool:
    model = training.get("model") or {}
    return model.get("module") is not None or model.get("path") is not None


def _range_rule(knob: str) -> Rule:
    """An inverted range (min above max) leaves nothing to search."""
    return Rule(f"tuning-{knob.replace('.', '-').lower()}-range", at=f"spec.training.tuning.searchSpace.{knob}",
                field=".min", cel="self.min <= self.max", check=lambda bounds: bounds["min"] <= bounds["max"],
                message=(Ref("self.min", lambda bounds: bounds["min"]), " is greater than max ",
                         Ref("self.max", lambda bounds: bounds["max"])))


RULES: tuple[AnyRule, ...] = (
    # A gate on a metric the task never computes can never pass (or would silently never be checked).
    ItemRule("gate-metric-fits-task", at="spec", items="validation.gates", field=".metric",
             cel=f"g.metric in {_BY_TASK_CEL}[self.task]", check=_fits_task, message=_NOT_COMPUTED),
    # A gate without a bound checks nothing.
    Rule("gate-has-bound", at="spec.validation.gates[]",
         cel="has(self.min) || has(self.max) || has(self.maxRegression)",
         check=lambda gate: _has(gate, "min") or _has(gate, "max") or _has(gate, "maxRegression"),
         message=("needs at least one of min, max or maxRegression",)),
    # min above max rejects every candidate.
    Rule("gate-min-below-max", at="spec.validation.gates[]", field=".min",
         cel="!has(self.min) || !has(self.max) || self.min <= self.max",
         check=lambda gate: not _has(gate, "min", "max") or gate["min"] <= gate["max"],
         message=(Ref("self.min", lambda gate: gate["min"]), " is greater than max ",
                  Ref("self.max", lambda gate: gate["max"]))),
    # Degradation on a metric the evaluation does not compute would never fire.
    ItemRule("degradation-metric-fits-task", at="spec", items="monitoring.degradation", field=".metric",
             cel=f"g.metric in {_BY_TASK_CEL}[self.task]", check=_fits_task, message=_NOT_COMPUTED),
    # One bound per rule keeps the reason in the status unambiguous.
    Rule("degradation-one-bound", at="spec.monitoring.degradation[]", cel=f"{_DEGRADATION_BOUNDS} == 1",
         check=lambda rule: _bound_count(rule) == 1,
         message=("needs exactly one of min, max or maxDrop (got ", Ref(_DEGRADATION_BOUNDS, _bound_count), ")")),
    # A floor on a lower-is-better metric (or a ceiling on a higher-is-better one) never fires.
    Rule("degradation-floor-direction", at="spec.monitoring.degradation[]", field=".min",
         cel=f"!has(self.min) || !(self.metric in {_LOWER_CEL})",
         check=lambda rule: not _has(rule, "min") or rule["metric"] not in LOWER_IS_BETTER,
         message=('"', Ref("self.metric", lambda rule: rule["metric"]),
                  '" is lower-is-better; a floor never fires, use max')),
    Rule("degradation-ceiling-direction", at="spec.monitoring.degradation[]", field=".max",
         cel=f"!has(self.max) || !(self.metric in {_HIGHER_CEL})",
         check=lambda rule: not _has(rule, "max") or rule["metric"] not in HIGHER_IS_BETTER,
         message=('"', Ref("self.metric", lambda rule: rule["metric"]),
                  '" is higher-is-better; a ceiling never fires, use min')),
    # Only a multiclass output layer has a class count.
    Rule("num-classes-multiclass-only", at="spec", field=".training.model.numClasses",
         cel="!has(self.training.model) || !has(self.training.model.numClasses) "
             "|| self.task == 'multiclass-classification'",
         check=lambda spec: (spec["training"].get("model") or {}).get("numClasses") is None
         or spec["task"] == "multiclass-classification",
         message=("only allowed for task multiclass-classification",)),
    # Early stopping on val_loss needs held-out rows to compute it.
    Rule("val-loss-needs-split", at="spec.training.hyperparameters", field=".earlyStopping.monitor",
         cel="!has(self.earlyStopping) || !has(self.earlyStopping.enabled) || !self.earlyStopping.enabled "
             "|| !has(self.earlyStopping.monitor) || self.earlyStopping.monitor != 'val_loss' "
             "|| (has(self.validationSplit) && self.validationSplit > 0.0)",
         check=lambda hyper: not (hyper.get("earlyStopping") or {}).get("enabled")
         or hyper["earlyStopping"].get("monitor") != "val_loss" or bool(hyper.get("validationSplit")),
         message=("val_loss needs validationSplit > 0 (or monitor: loss)",)),
    # batchSize is the global batch of a multi-worker step; every worker must take the same share of it.
    Rule("batch-splits-over-workers", at="spec.training", field=".hyperparameters.batchSize",
         cel="!has(self.workers) || self.workers <= 1 || !has(self.hyperparameters) "
             "|| !has(self.hyperparameters.batchSize) || self.hyperparameters.batchSize % self.workers == 0",
         check=lambda training: int(training.get("workers") or 1) <= 1
         or int((training.get("hyperparameters") or {}).get("batchSize", 32)) % int(training["workers"]) == 0,
         message=(Ref("self.hyperparameters.batchSize",
                      lambda training: (training.get("hyperparameters") or {}).get("batchSize", 32)),
                  " does not split evenly over ", Ref("self.workers", lambda training: training["workers"]),
                  " workers (it is the global batch: each worker takes batchSize / workers rows per step)")),
    # A search over nothing would train every trial with the same values.
    # (a user module's search is its own hp calls, so it needs no searchSpace)
    Rule("tuning-searches-something", at="spec.training", field=".tuning.searchSpace",
         cel=f"!has(self.tuning) || !has(self.tuning.enabled) || !self.tuning.enabled || {_SEARCHES_ANY} "
             "|| (has(self.model) && (has(self.model.module) || has(self.model.path)))",
         check=lambda training: not (training.get("tuning") or {}).get("enabled") or any(
             (training["tuning"].get("searchSpace") or {}).get(k) is not None for k in _SEARCH_KNOBS)
         or _user_model(training),
         message=("tuning is enabled but searches nothing: give at least one of ", ", ".join(_SEARCH_KNOBS),
                  " (or name your own model in training.model, whose hp calls are the search)")),
    # The objective is computed with the gates' formulas, so it must be a metric of the task.
    Rule("tuning-objective-fits-task", at="spec", field=".training.tuning.objective",
         cel=f"!has(self.training.tuning) || !has(self.training.tuning.objective) "
             f"|| self.training.tuning.objective in {_BY_TASK_CEL}[self.task]",
         check=lambda spec: (spec["training"].get("tuning") or {}).get("objective") is None
         or spec["training"]["tuning"]["objective"] in METRICS_BY_TASK.get(spec["task"], ()),
         message=('metric "', Ref("self.training.tuning.objective",
                                  lambda spec: spec["training"]["tuning"]["objective"]),
                  '" is not computed for task ', Ref("self.task", lambda spec: spec["task"]), " (expected one of ",
                  Ref(f"{_EXPECTED_CEL}[self.task]", lambda spec: ", ".join(METRICS_BY_TASK[spec["task"]])), ")")),
    # More trials at once than trials in all would leave workers with nothing to do.
    Rule("tuning-parallelism-within-trials", at="spec.training.tuning", field=".parallelism",
         cel="!has(self.parallelism) || !has(self.maxTrials) || self.parallelism <= self.maxTrials",
         check=lambda tuning: int(tuning.get("parallelism", 1)) <= int(tuning.get("maxTrials", 10)),
         message=(Ref("self.parallelism", lambda tuning: tuning["parallelism"]), " is more than maxTrials ",
                  Ref("self.maxTrials", lambda tuning: tuning["maxTrials"]),
                  " (workers beyond the trial count would get none)")),
    *(_range_rule(knob) for knob in ("hiddenLayers.layers", "hiddenLayers.units", "dropout", "learningRate")),
    # Every batch size a trial may pick must be one the final multi-worker training can split.
    Rule("tuned-batch-splits-over-workers", at="spec.training", field=".tuning.searchSpace.batchSize",
         cel="!has(self.workers) || self.workers <= 1 || !has(self.tuning) || !has(self.tuning.searchSpace) "
             "|| !has(self.tuning.searchSpace.batchSize) "
             "|| self.tuning.searchSpace.batchSize.all(b, b % self.workers == 0)",
         check=lambda training: int(training.get("workers") or 1) <= 1 or all(
             b % int(training["workers"]) == 0
             for b in ((training.get("tuning") or {}).get("searchSpace") or {}).get("batchSize") or []),
         message=("every choice must split evenly over ", Ref("self.workers", lambda training: training["workers"]),
                  " workers (batchSize is the global batch)")),
    # An empty command would start a container that runs nothing.
    Rule("command-not-empty", at="spec.training", field=".command",
         cel="!has(self.command) || size(self.command) > 0",
         check=lambda training: training.get("command") != [],
         message=("must not be an empty list (omit it to use the worker image)",)),
    # A canary is promoted or rolled back by an evaluation, which needs live data.
    Rule("canary-needs-monitoring", at="spec", field=".serving.canary.enabled",
         cel="!has(self.serving) || !has(self.serving.canary) || !has(self.serving.canary.enabled) "
             "|| !self.serving.canary.enabled "
             "|| (has(self.monitoring) && has(self.monitoring.dataset))",
         check=lambda spec: not (spec.get("serving") or {}).get("canary", {}).get("enabled")
         or _has(spec.get("monitoring") or {}, "dataset"),
         message=("a canary is promoted by an evaluation; set spec.monitoring.dataset",)),
    # The HPA rejects minReplicas above maxReplicas only after the ModelDeployment was accepted.
    Rule("autoscaling-min-below-max", at="spec.serving.autoscaling", field=".minReplicas",
         cel="!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas",
         check=lambda scaling: not _has(scaling, "minReplicas", "maxReplicas")
         or scaling["minReplicas"] <= scaling["maxReplicas"],
         message=(Ref("self.minReplicas", lambda scaling: scaling["minReplicas"]), " is greater than maxReplicas ",
                  Ref("self.maxReplicas", lambda scaling: scaling["maxReplicas"]))),
    # CPU utilization is measured against the request; without one the HPA never scales.
    Rule("autoscaling-needs-cpu-request", at="spec.serving", field=".autoscaling.enabled",
         cel="!has(self.autoscaling) || !has(self.autoscaling.enabled) || !self.autoscaling.enabled "
             "|| (has(self.resources) && has(self.resources.requests) && 'cpu' in self.resources.requests)",
         check=lambda serving: not (serving.get("autoscaling") or {}).get("enabled")
         or "cpu" in ((serving.get("resources") or {}).get("requests") or {}),
         message=("CPU utilization is measured against spec.serving.resources.requests.cpu; set it",)),
    # Child objects (Services, Jobs) are named after the resource, and Service names must be DNS labels.
    Rule("name-is-dns-label", at="", field=".metadata.name",
         cel=f"self.metadata.name.matches('{DNS_LABEL}')",
         check=lambda doc: re.fullmatch(DNS_LABEL, doc["metadata"]["name"]) is not None,
         message=("'", Ref("self.metadata.name", lambda doc: doc["metadata"]["name"]),
                  "' is not a DNS label (lower-case letters, digits and '-')")),
    # Child names append a suffix ("-evaluate-v12-e345") and must stay within 63 characters.
    Rule("name-leaves-room-for-suffixes", at="", field=".metadata.name",
         cel=f"!self.metadata.name.matches('{DNS_LABEL}') || size(self.metadata.name) <= {MAX_NAME_LENGTH}",
         check=lambda doc: re.fullmatch(DNS_LABEL, doc["metadata"]["name"]) is None
         or len(doc["metadata"]["name"]) <= MAX_NAME_LENGTH,
         message=("'", Ref("self.metadata.name", lambda doc: doc["metadata"]["name"]),
                  f"' is longer than {MAX_NAME_LENGTH} characters (child Jobs and Services append a suffix)")),
    # A threshold on a bounded effect size (js, ks: 0..1) above 1 could never be reached.
    Rule("drift-threshold-reachable", at="spec.monitoring.drift", field=".threshold",
         cel="!has(self.threshold) || !has(self.metric) || !(self.metric in ['js', 'ks']) || self.threshold <= 1.0",
         check=lambda drift: drift.get("threshold") is None or drift.get("metric", "psi") not in ("js", "ks")
         or drift["threshold"] <= 1,
         message=(Ref("self.threshold", lambda drift: drift["threshold"]), " is above 1, the largest ",
                  Ref("self.metric", lambda drift: drift["metric"]), " possible; no feature could ever drift")),
    # Drift is confirmed by `required` of the last `window` evaluations: more than the window never confirms.
    Rule("drift-confirm-within-window", at="spec.monitoring.drift.confirm", field=".required",
         cel="!has(self.required) || !has(self.window) || self.required <= self.window",
         check=lambda confirm: not _has(confirm, "required", "window") or confirm["required"] <= confirm["window"],
         message=(Ref("self.required", lambda confirm: confirm["required"]), " drifted evaluations can never be "
                  "found among the last ", Ref("self.window", lambda confirm: confirm["window"]),
                  "; drift would never act")),
    # A retrain can only learn from monitoring data that exists.
    Rule("retraining-monitoring-needs-data", at="spec", field=".retraining.include",
         cel="!has(self.retraining) || !has(self.retraining.include) || !('monitoring' in self.retraining.include) "
             "|| (has(self.monitoring) && has(self.monitoring.dataset))",
         check=lambda spec: "monitoring" not in ((spec.get("retraining") or {}).get("include") or [])
         or _has(spec.get("monitoring") or {}, "dataset"),
         message=("monitoring needs spec.monitoring.dataset (the labelled data a retrain learns from)",)),
    # Each input once: a repeated entry would read like a weight, which it is not.
    Rule("retraining-inputs-once", at="spec.retraining", field=".include",
         cel="!has(self.include) || self.include.all(x, self.include.exists_one(y, y == x))",
         check=lambda retraining: len(set(retraining.get("include") or [])) == len(retraining.get("include") or []),
         message=("lists an input twice",)),
    # Versions already trained belong to this task; other tasks' gates and metrics would not apply.
    # "Trained" means a version got as far as a model (trainedAt): one refused or failed before that has no
    # files of the old task, so the spec can still be corrected (issue #26: a refused first Job).
    Rule("task-fixed-once-trained", at="", field=".spec.task", transition=True,
         cel=f"self.spec.task == oldSelf.spec.task || !{_ANY_TRAINED_CEL}",
         check=lambda new, old: new["spec"]["task"] == old["spec"]["task"] or not _any_trained(old),
         message=("cannot change once versions exist (create a new ModelDeployment)",)),
    # Every version's files live on this claim; another claim would orphan them.
    Rule("storage-fixed-once-trained", at="", field=".spec.storage.persistentVolumeClaim", transition=True,
         cel="self.spec.storage.persistentVolumeClaim == oldSelf.spec.storage.persistentVolumeClaim "
             f"|| !{_ANY_TRAINED_CEL}",
         check=lambda new, old: new["spec"]["storage"]["persistentVolumeClaim"]
         == old["spec"]["storage"]["persistentVolumeClaim"] or not _any_trained(old),
         message=("cannot change once versions exist: they live on this claim",)),
)


def _reserved_env_rule(where: str, at: str) -> Rule:
    """The operator's own variables (scratch dir, TF_CONFIG, logging) keep their values."""
    return Rule(f"{where}-env-not-reserved", at=f"{at}.env[]", field=".name",
                cel=f"!(self.name in {_cel_list(RESERVED_ENV)})", check=lambda env: env["name"] not in RESERVED_ENV,
                message=('"', Ref("self.name", lambda env: env["name"]), '" is set by the operator and cannot be '
                         "replaced"))


RULES = (*RULES, _reserved_env_rule("stage-pods", "spec.podTemplate"),
         _reserved_env_rule("serving-pods", "spec.serving.podTemplate"), *DATASET_RULES, *USER_MODEL_RULES,
         *RESOURCE_RULES, *MOUNT_RULES)

SPEC_RULES = tuple(r for r in RULES if r.at.startswith("spec"))
METADATA_RULES = tuple(r for r in RULES if isinstance(r, Rule) and not r.at and not r.transition)
TRANSITION_RULES = tuple(r for r in RULES if isinstance(r, Rule) and r.transition)


def semantic_errors(spec: Spec) -> list[str]:
    """Every violated rule of a (defaulted) spec, each message starting with its field path."""
    document = {"spec": spec}
    return [error for rule in SPEC_RULES for error in rule_errors(rule, document)]


def metadata_errors(document: Mapping[str, Any]) -> list[str]:
    """Rules on the resource's name (the caller has checked it is a string)."""
    return [error for rule in METADATA_RULES for error in rule_errors(rule, document)]


def transition_errors(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[str]:
    """Violations of the rules that compare a whole resource with its stored predecessor."""
    return [error for rule in TRANSITION_RULES for error in rule_errors(rule, new, old)]
