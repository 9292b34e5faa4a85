"""The ModelDeployment status: its full schema, so the API server prunes nothing the operator writes."""

from __future__ import annotations

from modelops.api.dataset_schema import DATASET_COLUMNS
from modelops.api.limits_schema import EVALUATION_FAILURES, TRIMMED_VERSIONS
from modelops.api.repeats_schema import DELETION, SERVING_REPAIRS
from modelops.api.schema import Arr, Bool, Int, KubeObject, Map, Num, Obj, Str
from modelops.api.schema_status_schema import DRIFT_FEATURE_FIELDS, DRIFT_SCHEMA_FIELDS, SCHEMA_CHECK, SCHEMA_SUMMARY
from modelops.api.vocabulary import DATASET_FORMATS

PHASES = ("Pending", "Tuning", "Training", "Validating", "Deploying", "Serving", "Degraded", "Retraining",
          "Rejected", "Failed")
VERSION_STATES = ("Tuning", "Tuned", "Training", "Trained", "Validating", "Blessed", "Rejected", "Failed",
                  "Deploying", "Canary", "Serving", "Retired")
CONDITION_TYPES = ("Trained", "Validated", "Available", "Degraded", "Ready", "Reconciling", "Stalled")

CONDITION = Obj(
    "A metav1.Condition: lastTransitionTime changes only when status flips.",
    required=("type", "status", "reason", "message", "lastTransitionTime"),
    properties={
        "type": Str("Condition type, each about one subject: Trained (the newest version's training), Validated "
                    "(its gates), Available (a validated version answers), Degraded (the serving version's latest "
                    "evaluation), Ready (the deployment as a whole), Reconciling (True while a search, training, "
                    "validation, rollout or canary is under way) or Stalled (True while only a spec or data edit can "
                    "move it on: invalid spec, retries exhausted, a rejected candidate, a degradation nothing "
                    "retrains). Reconciling and Stalled follow kstatus, so Flux and kubectl-based checks read them."),
        "status": Str("True, False or Unknown.", enum=("True", "False", "Unknown")),
        "reason": Str("One CamelCase word saying why."),
        "message": Str("Human-readable details."),
        "lastTransitionTime": Str("When status last changed (RFC 3339).", ),
        "observedGeneration": Int("The spec generation this condition was computed from.", minimum=0),
    },
)

GATE_RESULT = Obj(
    "The outcome of one gate bound.",
    properties={
        "metric": Str("Metric name."),
        "kind": Str("Kind of bound: min, max or maxRegression.", enum=("min", "max", "maxRegression")),
        "value": Num("The candidate's value.", nullable=True),
        "bound": Num("The bound it was compared with."),
        "baseline": Num("The serving version's value on the same data (maxRegression).", nullable=True),
        "diff": Num("Change against the baseline: candidate - baseline.", nullable=True),
        "passed": Bool("Whether this bound passed."),
        "skipped": Bool("True when a change gate had no baseline."),
        "reason": Str("Why it failed or was skipped."),
        "data": Str("The rows it was measured on: validation (the validation dataset) or heldOutRecentRows (the "
                    "monitoring rows neither version was trained on).", enum=("validation", "heldOutRecentRows")),
    },
)

DATASET_REF = Obj(
    "A dataset a stage reads.",
    properties={
        "uri": Str("Path or URL."),
        "labelColumn": Str("Label column."),
        "format": Str("File format: csv, tfrecord or npz.", enum=DATASET_FORMATS),
        **DATASET_COLUMNS,
        "role": Str("Why the stage reads it: training, retraining or monitoring data."),
        "maxRows": Int("At most this many rows are used (the most recent ones).", minimum=1),
        "weight": Num("Sample weight of its rows in training.", minimum=0.0),
        "holdout": Num("Share of its rows a retrain holds out and never trains on.", minimum=0.0),
    },
)

FINGERPRINT = Obj(
    "What one dataset was when a stage read it: enough to tell whether a rerun would see the same data.",
    properties={
        "role": Str("Its role: training, retraining or monitoring data."),
        "uri": Str("Where it was read from."),
        "sha256": Str("SHA-256 of the file's bytes."),
        "rows": Int("Rows read (with a label).", minimum=0),
        "droppedUnlabelled": Int("Rows left out because their label cell was empty.", minimum=0),
        "rowsUsed": Int("Rows used after maxRows.", minimum=0),
        "columns": Int("Feature columns.", minimum=0),
        "schema": Str("Hash of the feature names and kinds (the full list is in report.json)."),
        "maxRows": Int("The row cap it was read with.", minimum=1),
        "weight": Num("Sample weight of its rows in training.", minimum=0.0),
        "holdout": Num("Share of its rows held out: never trained on, kept for judging the version.",
                       minimum=0.0),
        "heldOutRows": Int("Rows held out of training (the rest, rowsUsed, were learned from).", minimum=0),
        "holdoutSeed": Int("Seed of the held-out split.", minimum=0),
        "stratified": Bool("Whether the split kept each label's share."),
    },
)

LINEAGE = Obj(
    "What a version was made from: every dataset's fingerprint and the hash of the effective training spec.",
    properties={
        "data": Arr("The datasets it was trained on.", items=FINGERPRINT, max_items=8),
        "trainingSpecHash": Str("Hash of task, model and hyperparameters as trained."),
        "inputsHash": Str("One hash over the data fingerprints and the training spec: equal means a rerun "
                          "would train the same model."),
        "validation": FINGERPRINT,
    },
)

CHALLENGE = Obj(
    "Champion/challenger on the labelled data that revealed the degradation: both versions scored on the "
    "same rows with the metric of the rule that was violated.",
    properties={
        "metric": Str("The metric compared."),
        "candidate": Num("The candidate's value.", nullable=True),
        "serving": Num("The serving version's value on the same rows.", nullable=True),
        "improvement": Num("How much better the candidate is, in the metric's direction.", nullable=True),
        "minImprovement": Num("The improvement required."),
        "rows": Int("Rows both were scored on: monitoring rows neither version was trained on.", minimum=0),
        "totalRows": Int("Monitoring rows read.", minimum=0),
        "excludedRows": Obj("Rows left out because a version was trained on them.", properties={
            "candidate": Int("Rows the candidate was trained on.", minimum=0),
            "baseline": Int("Rows the serving version was trained on.", minimum=0)}),
        "minRows": Int("Fewest unseen rows the comparison may rest on (retraining.holdout.minRows).", minimum=1),
        "pValue": Num("One-sided paired test of 'the candidate is no better on these rows'."),
        "alpha": Num("The level it had to reach (retraining.challengeAlpha)."),
        "verdict": Str("Passed, Failed or Inconclusive (too few unseen rows: the candidate is not blessed).",
                       enum=("Passed", "Failed", "Inconclusive")),
        "passed": Bool("Whether the candidate improved enough."),
    },
)

CHOSEN = Obj(
    "Hyperparameter values in the spec's own names (training.model and training.hyperparameters).",
    properties={
        "hiddenLayers": Arr("Units of each hidden layer.", items=Int("Units.", minimum=1), max_items=16),
        "activation": Str("Hidden-layer activation."),
        "dropout": Num("Dropout rate."),
        "learningRate": Num("Learning rate."),
        "batchSize": Int("Batch size.", minimum=1),
        "optimizer": Str("Optimizer."),
        "moduleValues": KubeObject("A user module's own hyperparameters (name to value), as its hp calls named "
                                   "them."),
    },
)

OBJECTIVE = Obj(
    "The search objective and the best value found.",
    properties={
        "metric": Str("Metric, computed on the held-out rows of the training data."),
        "direction": Str("Either max (higher is better) or min (lower is better).", enum=("max", "min")),
        "value": Num("The best trial's value.", nullable=True),
    },
)

TUNING_RECORD = Obj(
    "The hyperparameter search behind this version (spec.training.tuning): what it chose and how it went.",
    properties={
        "summary": Str("One line: the best objective value, the trial count and the chosen values."),
        "algorithm": Str("KerasTuner algorithm: random, bayesian or hyperband."),
        "hyperparameters": CHOSEN,
        "objective": OBJECTIVE,
        "trials": Obj("Trial counts.", properties={
            "total": Int("Trials run.", minimum=0),
            "completed": Int("Trials that finished with an objective value.", minimum=0),
            "failed": Int("Trials that crashed, diverged or passed trialDeadline.", minimum=0),
        }),
        "bestTrials": Arr("The best trials, best first.", max_items=5, items=Obj("One trial.", properties={
            "trial": Str("KerasTuner's trial id."),
            "value": Num("Its objective value.", nullable=True),
            "hyperparameters": CHOSEN,
        })),
        "fromVersion": Int("When the values were reused: the version whose search found them.", minimum=1),
    },
)

VERSION = Obj(
    "The record of one model version, kept after its files are deleted.",
    required=("version", "state"),
    properties={
        "version": Int("Version number; monotonically increasing, never reused.", minimum=1),
        "state": Str("Where the version is in its life.", enum=VERSION_STATES),
        "trigger": Str("What created it: Initial, SpecChange, Degradation or Recovery."),
        "generation": Int("The spec generation it was trained from.", minimum=0),
        "reason": Str("Why it is in this state (CamelCase)."),
        "message": Str("The gate summary (e.g. 'passed 2/2 gate checks'; failures first), or why it failed."),
        "createdAt": Str("When training started."),
        "trainedAt": Str("When training finished."),
        "validatedAt": Str("When validation finished."),
        "servedAt": Str("When it first served."),
        "retiredAt": Str("When it stopped serving."),
        "trainMetrics": Map("Keras fit history at the epoch whose weights were kept: batch averages on the "
                            "training data (val_* on the validationSplit hold-out); progress only, gates never "
                            "use them.", values=Num("Metric value.")),
        "metrics": Map("Validation metrics on every row of the validation dataset (formulas, averaging and "
                       "thresholds: docs/predictions-and-metrics.md).", values=Num("Metric value.")),
        "baselineVersion": Int("The serving version it was compared against.", minimum=1),
        "baselineMetrics": Map("The baseline's metrics on the same data.", values=Num("Metric value.")),
        "gates": Arr("Every gate result.", items=GATE_RESULT),
        "deleted": Bool("True when retention removed its files."),
        "deletion": DELETION,
        "lineage": LINEAGE,
        "challengeRequested": Bool("True when validation also compares it with the serving version on the "
                                   "monitoring data (a degradation retrain)."),
        "challenge": CHALLENGE,
        "recipes": Obj(
            "The data recipes a degradation retrain tried (retraining.maxRecipes) and the one it kept.",
            properties={
                "metric": Str("The metric that picked it."),
                "heldOutRows": Int("Held-out monitoring rows each recipe was scored on.", minimum=0),
                "chosen": Str("The recipe kept: configured, balanced or recent."),
                "tried": Arr("Every recipe tried.", items=Obj("One recipe's score.", properties={
                    "name": Str("The recipe: configured, balanced or recent."),
                    "rows": Int("Rows it learned from.", minimum=0),
                    "value": Num("Its metric on the held-out rows.", nullable=True)}), max_items=3),
            },
        ),
        "recentMetrics": Map("A degradation retrain's metrics on the held-out monitoring rows it never saw (the "
                             "challenge): what monitoring maxDrop compares its live values with, instead of the "
                             "static validation set.", values=Num("Metric value.")),
        "floorsUnmet": Arr("Absolute gates it misses, blessed because it beats the serving version that missed "
                           "them too (validation.floorPolicy BeatServing).", items=Str("One unmet floor."),
                           max_items=16),
        "canaryPassed": Bool("True when the version passed its post-rollout evaluation as a canary."),
        "tuning": TUNING_RECORD,
        "schema": SCHEMA_SUMMARY, "schemaCheck": SCHEMA_CHECK,
    },
)

DRIFT_FEATURE = Obj(
    "One feature's drift test (most significant first).",
    properties={
        "name": Str("Feature name."),
        "type": Str("How it was tested: numeric or categorical.", enum=("numeric", "categorical")),
        "test": Str("The test used: ks (two-sample Kolmogorov-Smirnov), chi2 (chi-squared homogeneity) or fisher "
                    "(exact, for too sparse tables); null when the feature could not be tested.", nullable=True),
        "statistic": Num("The test statistic (KS D, chi-squared, or Fisher's odds ratio).", nullable=True),
        "pValue": Num("The test's p-value.", nullable=True),
        "adjustedPValue": Num("The p-value after the multiple-comparison correction.", nullable=True),
        "psi": Num("Population Stability Index (smoothed bins).", nullable=True),
        "js": Num("Jensen-Shannon distance, base 2 (smoothed bins).", nullable=True),
        "ks": Num("Kolmogorov-Smirnov statistic D.", nullable=True),
        "drifted": Bool("Whether this feature counts as drifted."),
        **DRIFT_FEATURE_FIELDS,
    },
)

DRIFT = Obj(
    "Input drift against the serving version's training profile, and its verdict.",
    properties={
        "verdict": Str("Drifted, NoDrift, Inconclusive (too few live rows or nothing testable; never Degraded) "
                       "or Disabled.", enum=("Drifted", "NoDrift", "Inconclusive", "Disabled")),
        "message": Str("Why: how many features drifted at which level, or why the verdict is inconclusive."),
        "rows": Int("Live rows tested.", minimum=0),
        "tested": Int("Features tested.", minimum=0),
        "drifted": Int("Features that drifted after the correction.", minimum=0),
        "driftedShare": Num("The share of tested features that drifted."),
        "alpha": Num("The significance level applied."),
        "correction": Str("The multiple-comparison correction applied."),
        "features": Arr("The most significant features (at most 5).", items=DRIFT_FEATURE),
        "maxPsi": Num("Largest PSI over the tested features."),
        "maxJs": Num("Largest Jensen-Shannon distance over the tested features."),
        "maxKs": Num("Largest KS statistic over the tested features."),
        "driftedFeature": Str("The most significant feature that drifted; null when none did.", nullable=True),
        "referenceRows": Int("Rows of the version's drift reference (its training profile).", minimum=0),
        "confirmed": Bool("Whether drift persisted enough (drift.confirm) to act on; false for a first alarm."),
        "confirmation": Str("How many of the latest evaluations on distinct data drifted, and how many are "
                            "needed."),
        **DRIFT_SCHEMA_FIELDS,
    },
)

EVALUATION = Obj(
    "The latest scheduled evaluation of the live model.",
    properties={
        "time": Str("When it finished."),
        "version": Int("The version evaluated.", minimum=1),
        "stageId": Str("The evaluation run's id."),
        "rows": Int("Rows scored: monitoring rows the version was not trained on.", minimum=0),
        "totalRows": Int("Monitoring rows read.", minimum=0),
        "excludedRows": Obj("Rows no judgement of this version may score.", properties={
            "trainedOn": Int("Rows the version was trained on (left out of every rule).", minimum=0),
            "driftReference": Int("Rows of its drift reference (left out of the drift tests).", minimum=0)}),
        "referenceData": Str("What maxDrop rules compared with: the version's validation metrics, or its metrics on "
                             "held-out recent rows it never saw (a degradation retrain).",
                             enum=("validation", "heldOutRecentRows")),
        "verdict": Str("Judged, or Inconclusive when too few unseen rows remain (no rule is applied).",
                       enum=("Judged", "Inconclusive")),
        "message": Str("Why the evaluation is inconclusive, with the row counts."),
        "metrics": Map("The live model's metrics on the monitoring rows it was not trained on, computed as at "
                       "validation (docs/predictions-and-metrics.md).", values=Num("Metric value.")),
        "drift": DRIFT,
        "degraded": Bool("Whether any degradation rule fired."),
        "reasons": Arr("Every rule that fired.", items=Str("One violated rule.")),
        "error": Str("Why the evaluation failed, if it did."),
        "reason": Str("The first violated rule's reason, or Healthy."),
        "causes": Arr("Kinds of rule that fired, each with its own policy: Quality (onDegradation), Drift "
                      "(onDrift).", items=Str("Quality or Drift.", enum=("Quality", "Drift"))),
        "superseded": Bool("True when a newer version started serving after this evaluation."),
        "data": FINGERPRINT,
        "retrainInputs": Arr("Fingerprints of what a retrain would read now.", items=FINGERPRINT, max_items=8),
        "schemaCheck": SCHEMA_CHECK,
    },
)

STATUS = Obj(
    "Observed state, written only by the operator (or `modelops run`). Until the operator's first write the "
    "API server shows observedGeneration 0, so kstatus, Flux and Argo CD read a new object as in progress, "
    "never as done.",
    # Defaulted by the API server when it reads the object (a create cannot set status): an object with
    # no status and no conditions would read as Current to kstatus (docs/gitops.md).
    default={"observedGeneration": 0},
    properties={
        "phase": Str("Pending, Tuning, Training, Validating, Deploying, Serving, Degraded, Retraining, Rejected "
                     "or Failed.", enum=PHASES),
        "message": Str("What is happening now, in one sentence."),
        "observedGeneration": Int("The spec generation the status reflects.", minimum=0),
        "conditions": Arr("Trained, Validated, Available, Degraded, Ready, Reconciling and Stalled; read them by "
                          "type, never by position.", items=CONDITION),
        "servingVersion": Int("The blessed version serving with label stable.", minimum=1),
        "canaryVersion": Int("A blessed version serving beside it as a canary.", minimum=1),
        "candidateVersion": Int("The version being trained or validated.", minimum=1),
        "latestVersion": Int("The highest version number ever allocated.", minimum=0),
        "primaryMetric": Str("The serving version's main validation metric, e.g. accuracy=0.931."),
        "trainingHash": Str("Hash of the spec fields that define a model; a change trains a new version."),
        "evaluations": Int("Evaluations run so far.", minimum=0),
        "stage": Obj(
            "The stage run in flight.",
            properties={
                "id": Str("Deterministic run id, e.g. train-v3-a1."),
                "name": Str("The stage: tune, train, validate or evaluate.",
                            enum=("tune", "train", "validate", "evaluate")),
                "version": Int("The version it works on.", minimum=1),
                "startedAt": Str("When it was started."),
                "restarts": Int("Times its run was found missing and started again (at most 3, then StageLost).",
                                minimum=0),
                "baselineVersion": Int("For validate, the serving version it compares against.", minimum=1),
                "track": Str("For evaluate, the serving track it sends data to.", enum=("stable", "canary")),
                "dataset": DATASET_REF,
                "extraDatasets": Arr("For train, further data a retrain learns from.", items=DATASET_REF,
                                     max_items=8),
                "challengeDataset": DATASET_REF,
                "hyperparameters": CHOSEN,
                "tunedBy": Int("For train, the version whose hyperparameter search chose these values.", minimum=1),
                "fingerprint": Arr("For evaluate, the datasets to fingerprint (what a retrain would read).",
                                   items=DATASET_REF, max_items=8),
            },
        ),
        "versions": Arr("Version records, oldest first: every version ever created, except old ones whose files "
                        "retention removed, beyond spec.retention.keepRecords.", items=VERSION),
        "lastEvaluation": EVALUATION,
        "driftVotes": Arr(
            "Drift verdicts of the serving version's latest evaluations on distinct data (newest last), which "
            "monitoring.drift.confirm counts.",
            items=Obj("One evaluation's drift verdict.", properties={
                "version": Int("The version evaluated.", minimum=1),
                "sha256": Str("Content hash of the monitoring data it read."),
                "drifted": Bool("Whether that evaluation's data drifted."),
            }), max_items=20),
        "retrain": Obj(
            "Retraining bookkeeping for the current degradation episode.",
            properties={
                "attempts": Int("Attempts in this episode.", minimum=0),
                "lastAttemptTime": Str("When the last attempt started."),
                "reason": Str("Why retraining was triggered."),
                "openedBy": Arr("The rules (reasons) whose violation opened the episode; it ends when a newer "
                                "version's live evaluation passes them.", items=Str("A reason."), max_items=16),
                "openedAt": Str("When the episode opened."),
                "version": Int("The version that was serving when the episode opened.", minimum=1),
                "metric": Str("The metric a challenger must beat the serving version on."),
                "waiting": Str("RetrainWouldRepeat when a retrain would read exactly what the serving version "
                               "was made from."),
                "repeats": Int("The version a retrain now would repeat (RetrainWouldRepeat).", minimum=1),
                "lastAttemptEvaluation": Int("The evaluation count when the last attempt started: the next attempt "
                                             "waits for a newer evaluation.", minimum=0),
            },
        ),
        "tuning": Obj(
            "The last hyperparameter search's outcome, reused by retraining until the training spec changes (or "
            "retraining.retune asks for a new search).",
            properties={
                "version": Int("The version whose search found these values.", minimum=1),
                "specHash": Str("Hash of the training spec the search ran for."),
                "hyperparameters": CHOSEN,
                "objective": OBJECTIVE,
            },
        ),
        "nextEvaluationTime": Str("When the next evaluation is due."),
        "rollout": Obj(
            "The versions last asked of serving.",
            properties={
                "stable": Int("Version labelled stable.", minimum=1),
                "canary": Int("Version labelled canary.", minimum=1),
            },
        ),
        "servingReady": Bool("Whether the serving version answered as AVAILABLE at the last observation."),
        "servingRestarts": Obj(
            "Local runtime: consecutive restarts of a model server that kept exiting (with exponential backoff), "
            "and the bound after which it is left down (phase Failed, reason ServingCrashLoop).",
            properties={"count": Int("Restarts in a row.", minimum=0), "limit": Int("The bound.", minimum=0),
                        "lastRestartTime": Str("When the count last changed.")},
        ),
        "servingRepairs": SERVING_REPAIRS,
        "servingHash": Str("Hash of the serving fields last applied; a change re-applies serving."),
        "evaluationFailures": EVALUATION_FAILURES,
        "trimmedVersions": TRIMMED_VERSIONS,
        "failure": Obj(
            "Why the deployment is Failed; cleared by a spec edit.",
            properties={"reason": Str("CamelCase reason."), "message": Str("Details.")},
        ),
    },
)
