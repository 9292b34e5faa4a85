"""Where and as whom the pods run: the Pod fields users set on stage pods and serving pods, in Kubernetes'
own shapes (a user copies them from any Pod spec). Scheduling objects too rich to restate (affinity,
topology spread, volumes, env valueFrom) keep their Kubernetes shape and are checked by the API server
when the operator creates the Job or Deployment; the rest is checked at admission by the CRD's schema."""

from __future__ import annotations

from modelops.api.schema import Arr, Bool, Int, KubeObject, Map, Obj, Str

# DNS-1123 subdomain (Secret, ServiceAccount, PriorityClass and ConfigMap names).
SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SUBDOMAIN_HINT = "a lowercase DNS subdomain name such as gpu-high or my.registry-secret"
# Names the operator's own containers rely on; a user's env cannot replace them.
RESERVED_ENV = ("PYTHONUNBUFFERED", "TF_CPP_MIN_LOG_LEVEL", "TF_CONFIG", "TMPDIR", "HOME")


def _name(what: str) -> Str:
    return Str(f"Name of the {what}.", pattern=SUBDOMAIN, pattern_hint=SUBDOMAIN_HINT, min_length=1, max_length=253)


TOLERATION = Obj(
    "A core/v1 Toleration: lets the pod schedule onto nodes with a matching taint (e.g. a GPU node pool).",
    properties={
        "key": Str("Taint key to match; empty with operator Exists matches every taint."),
        "operator": Str("Exists or Equal.", enum=("Exists", "Equal")),
        "value": Str("Taint value to match (operator Equal)."),
        "effect": Str("Taint effect to match; empty matches every effect.",
                      enum=("NoSchedule", "PreferNoSchedule", "NoExecute")),
        "tolerationSeconds": Int("For NoExecute: how long the pod stays bound after the taint appears.", minimum=0),
    },
)

ENV_VAR = Obj(
    "A core/v1 EnvVar.",
    required=("name",),
    properties={
        "name": Str("Variable name.", pattern=r"^[-._a-zA-Z][-._a-zA-Z0-9]*$",
                    pattern_hint="a C identifier-like name (letters, digits, '_', '-', '.')", min_length=1),
        "value": Str("Value."),
        "valueFrom": KubeObject("Where the value comes from (a Secret, ConfigMap, field or resource reference).",
                                kube_type="core/v1 EnvVarSource"),
    },
)

ENV_FROM = Obj(
    "A core/v1 EnvFromSource: every key of a ConfigMap or Secret as variables.",
    properties={
        "prefix": Str("Prefix added to every variable name."),
        "configMapRef": Obj("The ConfigMap to read.", required=("name",),
                            properties={"name": _name("ConfigMap"), "optional": Bool("Whether it may be missing.")}),
        "secretRef": Obj("The Secret to read.", required=("name",),
                         properties={"name": _name("Secret"), "optional": Bool("Whether it may be missing.")}),
    },
)

VOLUME_MOUNT = Obj(
    "A core/v1 VolumeMount of one of podTemplate.volumes.",
    required=("name", "mountPath"),
    properties={
        "name": Str("Name of the volume in podTemplate.volumes.", min_length=1),
        "mountPath": Str("Where it is mounted; not /tmp, under /etc/modelops or at spec.storage.mountPath, where "
                         "the operator mounts its own volumes.", pattern=r"^/.*", pattern_hint="an absolute path",
                         max_length=1024),
        "subPath": Str("Path inside the volume to mount instead of its root."),
        "readOnly": Bool("Mount read-only."),
    },
)

_FIELDS = {
    "nodeSelector": Map("Node labels the pod's node must carry (core/v1 PodSpec.nodeSelector), e.g. "
                        "cloud.google.com/gke-accelerator: nvidia-l4.", values=Str("Label value.")),
    "tolerations": Arr("Taints the pod tolerates, e.g. the taint of a GPU node pool.", items=TOLERATION,
                       max_items=32),
    "affinity": KubeObject("Node and pod affinity and anti-affinity rules.", kube_type="core/v1 Affinity"),
    "topologySpreadConstraints": Arr(
        "How pods spread across zones or nodes.", max_items=8,
        items=KubeObject("One constraint.", kube_type="core/v1 TopologySpreadConstraint")),
    "priorityClassName": _name("PriorityClass the pods run with"),
    "imagePullSecrets": Arr("Secrets holding registry credentials, e.g. for a worker image in a private registry.",
                            max_items=16, items=Obj("A core/v1 LocalObjectReference to a Secret.", required=("name",),
                                                    properties={"name": _name("Secret")})),
    "serviceAccountName": _name("ServiceAccount the pods run as (workload identity for reading data)"),
    "automountServiceAccountToken": Bool(
        "Mount the ServiceAccount's API token into the pods. Off unless set: the workloads never call the "
        "Kubernetes API, but an IRSA- or token-based workload identity needs it."),
    "env": Arr(f"Extra environment variables for the container; the operator's own ({', '.join(RESERVED_ENV)}) "
               "cannot be replaced.", items=ENV_VAR, max_items=64),
    "envFrom": Arr("ConfigMaps and Secrets whose keys become environment variables.", items=ENV_FROM,
                   max_items=16),
    "volumes": Arr("Extra volumes (e.g. a Secret with cloud credentials or a CSI-mounted bucket).", max_items=16,
                   items=KubeObject("A core/v1 Volume; its name must not be models or tmp.",
                                    kube_type="core/v1 Volume")),
    "volumeMounts": Arr("Where the container mounts the extra volumes.", items=VOLUME_MOUNT, max_items=16),
}

STAGES_WITH_PODS = ("tune", "train", "validate", "evaluate", "prune")

STAGE_POD_TEMPLATE = Obj(
    "Where and as whom every stage pod (tune, train, validate, evaluate, prune) runs, in Pod spec fields. A "
    "field set under stages.<stage> replaces the same field for that stage only. Editing it never retrains: "
    "the next Job uses it.",
    properties={**_FIELDS, "stages": Obj(
        "Per-stage replacements of the fields above.",
        properties={stage: Obj(f"Fields for the {stage} stage's pods.", properties=_FIELDS)
                    for stage in STAGES_WITH_PODS})},
)

SERVING_POD_TEMPLATE = Obj(
    "Where and as whom the TensorFlow Serving pods run, in Pod spec fields (a GPU node pool's taint and "
    "node selector, a private registry's pull secret, ...). Editing it rolls the serving pods.",
    properties=_FIELDS,
)
