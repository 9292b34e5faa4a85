"""The ModelDeployment spec: every field's type, bounds, default and the sentence `kubectl explain` shows."""

from __future__ import annotations

import re

from modelops.api.dataset_schema import CLASSES, DATASET_COLUMNS, POSITIVE_CLASS
from modelops.api.durations import duration
from modelops.api.limits_schema import CONSECUTIVE_ERROR_LIMIT, KEEP_RECORDS
from modelops.api.metrics import ALL_METRICS, TASKS
from modelops.api.model_schema import MODEL
from modelops.api.mount_rules import MOUNT_PATH_MAX_LENGTH
from modelops.api.pod_template_schema import SERVING_POD_TEMPLATE, STAGE_POD_TEMPLATE, SUBDOMAIN
from modelops.api.resources_schema import resources
from modelops.api.schema import Arr, Bool, Int, IntOrString, Num, Obj, Str
from modelops.api.schema_rules_schema import SCHEMA_RULES
from modelops.api.tuning_schema import TUNING
from modelops.api.vocabulary import (
    COLLECTIVE_IMPLEMENTATIONS,
    DATASET_FORMATS,
    DISTRIBUTION_STRATEGIES,
    OPTIMIZERS,
    RETRAINING_INPUTS,
)

DEFAULT_WORKER_IMAGE = "ghcr.io/modelops/modelops-worker:0.1.0"
DEFAULT_SERVING_IMAGE = "tensorflow/serving:2.18.0"

# Lists that CEL rules iterate need a bound, or the API server's cost estimate rejects the CRD.
MAX_RULES = 32


def dataset(what: str, note: str = "", window: bool = False) -> Obj:
    """A dataset reference; `what` is a bare noun phrase, `note` optional full sentences after it; `window`
    adds `lastRows` (read only the last rows of an appended file)."""
    if not re.fullmatch(r"[a-z][a-z ]*[a-z]", what):
        raise ValueError(f"dataset(): {what!r} must be a plain noun phrase; put clauses in `note`")
    if note and not (note[0].isupper() and note.endswith(".")):
        raise ValueError(f"dataset(): note {note!r} must be whole sentences")
    return Obj(
        f"Where the {what} comes from.{' ' + note if note else ''} CSV files need a header row; TFRecord files "
        "hold tf.train.Example records; NPZ files hold arrays `x` [rows, features] and `y` [rows] (and optionally "
        "`feature_names`). Rows without a label are left out and counted.",
        properties={
            "uri": Str("A path inside the storage volume (or relative to the manifest for `modelops run`), "
                       "or an http(s) URL.", min_length=1),
            "labelColumn": Str("Name of the label column (CSV column, TFRecord feature).", default="label",
                               min_length=1),
            "format": Str("File format; inferred from the file extension when omitted.", enum=DATASET_FORMATS),
            **DATASET_COLUMNS,
            **({"lastRows": Int("Read only the last this many rows (the newest of an appended file), so the data "
                                "moves with the world.", minimum=1)} if window else {}),
        },
        required=("uri",),
    )


DISTRIBUTION = Obj(
    "How the workers train together when workers is above 1: TensorFlow's own multi-worker engine, configured "
    "through TF_CONFIG, so gradients are all-reduced by TensorFlow's collectives.",
    default={},
    properties={
        "strategy": Str("The tf.distribute strategy: multiWorkerMirrored keeps a copy of every variable on each "
                        "worker and all-reduces gradients after every step.", default="multiWorkerMirrored",
                        enum=DISTRIBUTION_STRATEGIES),
        "communication": Str("The collective implementation (tf.distribute.experimental.CommunicationImplementation): "
                             "auto lets TensorFlow choose, ring uses ring all-reduce over gRPC.", default="auto",
                             enum=COLLECTIVE_IMPLEMENTATIONS),
        "port": Int("Port each worker's TensorFlow server listens on (the host part comes from the pod's hostname "
                    "in the headless Service).", default=2222, minimum=1024, maximum=65535),
    },
)

TRAINING = Obj(
    "How a model version is trained: the worker image, data, architecture and hyperparameters.",
    required=("dataset",),
    properties={
        "image": Str("Worker image that runs `modelops worker train|validate|evaluate`.",
                     default=DEFAULT_WORKER_IMAGE, min_length=1),
        "command": Arr("A whole custom trainer: the container command of the train stage (and of the tune stage "
                       "when tuning is enabled), for user code that follows the worker contract (reads --config, "
                       "writes the result JSON and publishes a SavedModel whose signature follows the schema). "
                       "The stage name and --config are appended. Validate, evaluate and prune always run the "
                       "worker image's own `modelops worker` on what it published.",
                       items=Str("One argument.")),
        "dataset": dataset("training data"),
        "classes": CLASSES,
        "positiveClass": POSITIVE_CLASS,
        "model": MODEL,
        "hyperparameters": Obj(
            "Optimisation settings. Training is seeded, so the same spec and data give the same model.",
            default={},
            properties={
                "epochs": Int("Maximum number of passes over the training data.", default=20, minimum=1,
                              maximum=10000),
                "batchSize": Int("Rows per gradient step.", default=32, minimum=1, maximum=65536),
                "learningRate": Num("Optimizer learning rate.", default=0.001, minimum=0.0, exclusive_minimum=True,
                                    maximum=10.0),
                "optimizer": Str("Optimizer.", default="adam", enum=OPTIMIZERS),
                "seed": Int("Random seed for weights, shuffling and the validation split.", default=42,
                            minimum=0),
                "validationSplit": Num("Fraction of the training rows held out to drive early stopping.",
                                       default=0.1, minimum=0.0, maximum=0.5),
                "earlyStopping": Obj(
                    "Stop when the monitored loss stops improving; the best weights are kept.",
                    default={},
                    properties={
                        "enabled": Bool("Whether early stopping is on.", default=True),
                        "patience": Int("Epochs without improvement before stopping.", default=3, minimum=0),
                        "monitor": Str("Loss to monitor; val_loss needs validationSplit > 0.",
                                       default="val_loss", enum=("val_loss", "loss")),
                        "minDelta": Num("Smallest change that counts as an improvement.", default=0.0,
                                        minimum=0.0),
                    },
                ),
            },
        ),
        "resources": resources("training"),
        "workers": Int("Processes that train one model together with TensorFlow's MultiWorkerMirroredStrategy, "
                       "each with training.resources. Above 1 the training stage is an Indexed Job (one pod per "
                       "worker, index 0 the chief that publishes the version) with a headless Service for the "
                       "pods' hostnames. hyperparameters.batchSize stays the global batch: each worker takes "
                       "batchSize / workers rows per step, so the model does not change with the worker count.",
                       default=1, minimum=1, maximum=64),
        "distribution": DISTRIBUTION,
        "tuning": TUNING,
        "backoffLimit": Int("Retries of the training Job's pod before the stage counts as failed (with workers "
                            "above 1: retries of each worker's pod).", default=1,
                            minimum=0, maximum=20),
        "activeDeadlineSeconds": Int("Wall-clock limit of a training, validation or evaluation Job.",
                                     default=3600, minimum=1),
    },
)

# What each metric is, the same words as docs/predictions-and-metrics.md (for `kubectl explain`).
METRIC_DESCRIPTION = (
    "Metric name, computed on every row of the stage's dataset. binary-classification: accuracy, precision, "
    "recall and f1 count p > 0.5 as positive, auc is ROC AUC, loss is cross-entropy with probabilities clipped "
    "to [1e-7, 1 - 1e-7] (so it can differ from scikit-learn's log_loss on confidently wrong rows); "
    "multiclass-classification: accuracy of the argmax, precision, recall and f1 macro-averaged over the "
    "model's K classes, loss clipped likewise; regression: mse, rmse, mae, and loss = mse. "
    "See docs/predictions-and-metrics.md."
)

GATE = Obj(
    "One gate on one validation metric. Absolute bounds: passes when value >= min and value <= max. "
    "Change: diff = candidate - baseline (the serving version, on the same data); passes when the candidate is "
    "worse by at most maxRegression in the metric's direction (higher is better for accuracy, precision, recall, "
    "f1, auc; lower for loss, mse, rmse, mae). Change gates are skipped when nothing serves yet.",
    required=("metric",),
    properties={
        "metric": Str(METRIC_DESCRIPTION, enum=ALL_METRICS, noun="metric", max_length=16),
        "min": Num("Lowest acceptable value."),
        "max": Num("Highest acceptable value."),
        "maxRegression": Num("Largest allowed worsening against the serving version (absolute, >= 0).",
                             minimum=0.0),
    },
)

VALIDATION = Obj(
    "How a candidate version is validated before it may serve.",
    required=("dataset",),
    properties={
        "dataset": dataset("validation data", "The candidate and the serving baseline are both scored on it.",
                           window=True),
        "gates": Arr("Gates every candidate must pass; none means every trained version is blessed.",
                     default=[], items=GATE, max_items=MAX_RULES),
        "floorPolicy": Str("What a candidate that misses an absolute gate (min/max) gets when the serving version, "
                           "scored on the same rows, misses it too. BeatServing: blessed when it beats the serving "
                           "version on each such metric by retraining.minImprovement (and more than 0); the "
                           "deployment then stays Degraded (FloorUnmet) naming the floor. Strict: rejected.",
                           default="BeatServing", enum=("BeatServing", "Strict")),
    },
)

AUTOSCALING = Obj(
    "A HorizontalPodAutoscaler (autoscaling/v2) for the stable track; while it is enabled, replicas is "
    "ignored. A canary gets its own autoscaler with the same targets and proportional bounds, so both tracks "
    "keep their share of traffic as load changes.",
    default={},
    properties={
        "enabled": Bool("Whether the stable track is autoscaled.", default=False),
        "minReplicas": Int("Fewest stable replicas.", default=2, minimum=1, maximum=100),
        "maxReplicas": Int("Most stable replicas.", default=5, minimum=1, maximum=100),
        "targetCPUUtilizationPercentage": Int("Average CPU use, as a percentage of the CPU request, that the "
                                              "autoscaler keeps the pods at.", default=70, minimum=1,
                                              maximum=100),
        "podsMetric": Obj(
            "Optional second target: a per-pod metric from the custom metrics API (for example requests in "
            "flight, published by whatever metrics adapter the cluster runs), averaged over the pods.",
            required=("name", "averageValue"),
            properties={
                "name": Str("Metric name as the custom metrics API serves it.", min_length=1),
                "averageValue": IntOrString("Target average per pod."),
            },
        ),
    },
)

SERVING = Obj(
    "How blessed versions are served with TensorFlow Serving. Editing only these fields never retrains.",
    default={},
    properties={
        "image": Str("TensorFlow Serving image.", default=DEFAULT_SERVING_IMAGE, min_length=1),
        "replicas": Int("Serving replicas of the stable version.", default=1, minimum=1, maximum=100),
        "resources": resources("serving"),
        "podTemplate": SERVING_POD_TEMPLATE,
        "canary": Obj(
            "Roll a newly blessed version out beside the stable one first; the next evaluation of the canary "
            "promotes it or rolls it back.",
            default={},
            properties={
                "enabled": Bool("Whether new versions go through a canary.", default=False),
                "replicas": Int("Replicas of the canary (its share of traffic = canary / (stable + canary)).",
                                default=1, minimum=1, maximum=100),
            },
        ),
        "pinnedVersion": Int("Serve exactly this blessed version (manual rollback); automatic rollouts wait "
                             "while it is set.", minimum=1),
        "autoscaling": AUTOSCALING,
        "terminationGracePeriodSeconds": Int(
            "Time a serving pod gets to finish in-flight requests after it leaves the Service endpoints (a "
            "preStop pause comes first), before it is killed.", default=45, minimum=15, maximum=3600),
    },
)

DEGRADATION_RULE = Obj(
    "A rule on the live model's evaluation: a floor (min, for higher-is-better metrics), a ceiling (max, for "
    "lower-is-better ones), or the largest allowed drop from the version's own validation value (maxDrop, "
    "in the metric's worse direction).",
    required=("metric",),
    properties={
        "metric": Str(METRIC_DESCRIPTION, enum=ALL_METRICS, noun="metric", max_length=16),
        "min": Num("Degraded when the live value falls below this."),
        "max": Num("Degraded when the live value rises above this."),
        "maxDrop": Num("Degraded when the live value is worse than the validation value by more than this.",
                       minimum=0.0),
    },
)

DRIFT = Obj(
    "Data drift of the live inputs against the serving version's training profile. Each feature gets a "
    "two-sample test (Kolmogorov-Smirnov for numeric features, chi-squared for categorical ones: at most 20 "
    "distinct training values); the p-values are corrected for the number of features, so many features do "
    "not mean many chances of a false alarm. PSI and Jensen-Shannon distance are reported as effect sizes.",
    default={},
    properties={
        "enabled": Bool("Whether drift is judged at all; false keeps the measurements but no verdict "
                        "(Disabled).", default=True),
        "alpha": Num("Significance level for the whole feature set: with no drift, the chance that any "
                     "feature is reported drifted is at most this.", default=0.05, minimum=0.0,
                     exclusive_minimum=True, maximum=0.5),
        "correction": Str("Multiple-comparison correction across features: bonferroni (controls the chance of "
                          "any false alarm) or benjamini-hochberg (controls the share of false discoveries "
                          "among drifted features; more sensitive when several features drift).",
                          default="benjamini-hochberg", enum=("bonferroni", "benjamini-hochberg")),
        "minDriftedShare": Num("Dataset drift needs at least this share of the tested features to drift; 0 "
                               "means any one feature.", default=0.0, minimum=0.0, maximum=1.0),
        "minRows": Int("Fewer live rows than this make the drift verdict Inconclusive, never Degraded: a "
                       "tiny sample cannot tell drift from chance.", default=30, minimum=2),
        "metric": Str("Effect size that `threshold` applies to: psi (Population Stability Index), js "
                      "(Jensen-Shannon distance, base 2, 0..1) or ks (Kolmogorov-Smirnov statistic, 0..1).",
                      default="psi", enum=("psi", "js", "ks")),
        "confirm": Obj(
            "Drift alone costs a retrain only when it persists: at least `required` of the last `window` "
            "evaluations on distinct monitoring data (by content hash) drifted. At alpha 0.05 about 3% of clean "
            "batches alarm; 3 of 4 makes a false confirmation ~1e-4 per evaluation (under one a week at a "
            "5-minute interval) and confirms a real shift in 3 evaluations. Quality rules act at once.",
            default={},
            properties={
                "required": Int("Drifted evaluations needed within the window; 1 acts on the first alarm.",
                                default=3, minimum=1, maximum=20),
                "window": Int("How many of the latest evaluations on distinct data are counted.", default=4,
                              minimum=1, maximum=20),
            },
        ),
        "threshold": Num("Practical-significance floor: a feature counts as drifted only when its test is "
                         "significant AND its `metric` is at least this (0.1: PSI's usual 'stable' bound, a "
                         "small Jensen-Shannon or KS distance). Large samples make negligible shifts "
                         "significant; 0 lets significance alone decide.", default=0.1, minimum=0.0),
    },
)

MONITORING = Obj(
    "Scheduled evaluation of the serving version through its REST endpoint: quality and data drift.",
    default={},
    properties={
        "interval": duration("Time between evaluations.", "5m"),
        "dataset": dataset("labelled live data",
                           "Evaluations score the serving model on it; without it no evaluation runs."),
        "degradation": Arr("Quality rules; any violated rule marks the deployment Degraded.", default=[],
                           items=DEGRADATION_RULE, max_items=MAX_RULES),
        "drift": DRIFT,
        "onDegradation": Str("What a violated quality rule does. Retrain: train, validate and roll out a new "
                             "version. Alert: only mark Degraded and emit events.", default="Retrain",
                             enum=("Retrain", "Alert")),
        "consecutiveErrorLimit": CONSECUTIVE_ERROR_LIMIT,
        "onDrift": Str("What dataset drift does, independently of quality. Retrain: mark Degraded and retrain. "
                       "Alert: mark Degraded and emit events only. Ignore: record it in "
                       "status.lastEvaluation.drift, never Degraded. Unset: the same as onDegradation.",
                       enum=("Retrain", "Alert", "Ignore")),
    },
)

RETRAINING = Obj(
    "How degradation-triggered retraining runs.",
    default={},
    properties={
        "dataset": dataset("retraining data", "Defaults to training.dataset."),
        "include": Arr("What a degradation retrain learns from: `training` (training.dataset, or retraining.dataset "
                       "when set) and `monitoring` (the labelled monitoring data that revealed the degradation). "
                       "Defaults to both, or to `training` alone when retraining.dataset is set.",
                       items=Str("One input: training or monitoring.", enum=RETRAINING_INPUTS), max_items=2),
        "maxRows": Int("At most this many monitoring rows (the last ones in the file, i.e. the most recent) are "
                       "added to a retrain.", minimum=1),
        "monitoringWeight": Num("Sample weight of each monitoring row relative to a training row.", default=1.0,
                                minimum=0.0, exclusive_minimum=True, maximum=100.0),
        "minImprovement": Num("How much better than the serving version a retrained candidate must be on the "
                              "monitoring rows neither was trained on (in the violated rule's metric and "
                              "direction) to replace it.", default=0.0, minimum=0.0),
        "maxRecipes": Int("How many data recipes a degradation retrain tries, in order: configured (training + "
                          "monitoring at monitoringWeight), balanced (monitoring rows weighted to weigh as much as "
                          "the training rows), recent (monitoring rows alone); each is scored on the held-out "
                          "monitoring rows and the best one goes on to validation. 1 trains the configured recipe "
                          "only.", default=1, minimum=1, maximum=3),
        "changeGatesOn": Str("Which rows a degradation candidate's change gates (maxRegression) compare it with the "
                             "serving version on. recent: the monitoring rows neither was trained on (the world it "
                             "was retrained for), with the static validation set kept as the guard for absolute "
                             "bounds (min/max); validation: the static validation set only; both: change gates "
                             "must pass on both.", default="recent", enum=("recent", "validation", "both")),
        "challengeAlpha": Num("The challenger must beat the serving version beyond chance on the unseen rows: a "
                              "one-sided paired test (exact sign test on the rows exactly one version gets right "
                              "for classification, Wilcoxon signed-rank on squared errors for regression) must "
                              "reach this level. A learner of label noise wins about half its comparisons by luck.",
                              default=0.05, minimum=0.0, exclusive_minimum=True, maximum=1.0),
        "holdout": Obj(
            "Monitoring rows a degradation retrain never trains on, so its judgements (the challenge against the "
            "serving version, the evaluation that declares it recovered, its drift reference) read rows it did "
            "not see.",
            default={},
            properties={
                "fraction": Num("Share of the monitoring rows held out (seeded by training.hyperparameters.seed, "
                                "stratified by label for classification).", default=0.3, minimum=0.05,
                                maximum=0.9),
                "minRows": Int("Fewest unseen labelled rows a judgement may rest on; fewer make the challenge "
                               "or evaluation Inconclusive (a candidate is then not blessed).", default=20,
                               minimum=1),
            },
        ),
        "maxAttempts": Int("Retraining attempts per degradation episode before the deployment is Failed. An "
                           "episode ends only when a new version's evaluation passes the rules that opened it.",
                           default=3, minimum=1, maximum=100),
        "cooldown": duration("Least time between two retraining attempts.", "10m"),
        "retune": Bool("Whether a degradation retrain searches hyperparameters again (training.tuning) before "
                       "training; false reuses the last search's best values, so a retrain stays cheap.",
                       default=False),
    },
)

RETENTION = Obj(
    "How many model versions keep their files. The serving, canary, pinned and last blessed versions are never "
    "deleted.",
    default={},
    properties={"keepVersions": Int("Versions to keep on storage.", default=5, minimum=1, maximum=1000),
                "keepRecords": KEEP_RECORDS},
)

STORAGE = Obj(
    "The volume holding model versions (<mountPath>/<namespace>/<name>/<version>/); mounted into every stage "
    "and serving pod.",
    required=("persistentVolumeClaim",),
    properties={
        "persistentVolumeClaim": Str("Name of a PersistentVolumeClaim in the deployment's namespace (ReadWriteMany "
                                     "when stages and serving run on different nodes).", pattern=SUBDOMAIN,
                                     pattern_hint="a valid PersistentVolumeClaim name (a DNS subdomain such as "
                                     "models or models.team-a)", min_length=1, max_length=253),
        "mountPath": Str("Where the volume is mounted in every container; not /tmp or under /etc/modelops, where "
                         "the operator mounts its own volumes.", default="/models", pattern=r"^/.*",
                         pattern_hint="an absolute path", max_length=MOUNT_PATH_MAX_LENGTH),
    },
)

SPEC = Obj(
    "Desired state of a ModelDeployment: how to train, gate, serve and monitor one TensorFlow model.",
    required=("task", "storage", "training", "validation"),
    properties={
        "task": Str("The learning task; it fixes the output layer, loss and available metrics, and what "
                    "serving answers per instance: binary-classification [p] with p the probability of label 1, "
                    "multiclass-classification [p_0, ..., p_K-1] (softmax over the K classes), regression [y].",
                    enum=TASKS, noun="task", max_length=32),
        "storage": STORAGE,
        "training": TRAINING,
        "podTemplate": STAGE_POD_TEMPLATE,
        "validation": VALIDATION,
        "serving": SERVING,
        "monitoring": MONITORING,
        "retraining": RETRAINING,
        "retention": RETENTION,
        "schemaRules": SCHEMA_RULES,
    },
)
