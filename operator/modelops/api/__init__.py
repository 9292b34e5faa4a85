"""The ModelDeployment API: schema (the single source for the CRD), defaults and validation."""

from modelops.api.document import ModelDeploymentDoc, SpecError, normalize_spec, parse_model_deployment
from modelops.api.durations import parse_duration

__all__ = ["ModelDeploymentDoc", "SpecError", "normalize_spec", "parse_duration", "parse_model_deployment"]
