"""Turn a ModelDeployment document (YAML/JSON already parsed) into a validated, defaulted value."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelops import API_GROUP, API_VERSION, KIND
from modelops.api.rules import rule_errors
from modelops.api.schema import normalize
from modelops.api.spec_schema import SPEC
from modelops.api.validation import SPEC_RULES, metadata_errors, semantic_errors

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class SpecError(ValueError):
    """Every problem in a document, each message starting with the field path."""

    def __init__(self, errors: list[str], source: str = "") -> None:
        self.errors = list(errors)
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__(prefix + "invalid ModelDeployment:\n  " + "\n  ".join(self.errors))


@dataclass(frozen=True)
class ModelDeploymentDoc:
    name: str
    namespace: str
    generation: int
    spec: dict[str, Any]
    raw: Mapping[str, Any] = field(repr=False, default_factory=dict)
    uid: str = ""


def _metadata_errors(doc: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    expected = f"{API_GROUP}/{API_VERSION}"
    if doc.get("apiVersion") != expected:
        errors.append(f'apiVersion: expected "{expected}", got {doc.get("apiVersion")!r}')
    if doc.get("kind") != KIND:
        errors.append(f'kind: expected "{KIND}", got {doc.get("kind")!r}')
    metadata = doc.get("metadata")
    if not isinstance(metadata, Mapping):
        return [*errors, "metadata: required mapping with a name is missing"]
    name = metadata.get("name")
    if not isinstance(name, str):
        errors.append(f"metadata.name: {name!r} is not a DNS label (lower-case letters, digits and '-')")
    else:
        errors.extend(metadata_errors(doc))
    namespace = metadata.get("namespace", "default")
    if not isinstance(namespace, str) or not _DNS_LABEL.match(namespace):
        errors.append(f"metadata.namespace: {namespace!r} is not a DNS label")
    return errors


def normalize_spec(spec: Any) -> tuple[dict[str, Any], list[str]]:
    """The spec with every default applied, plus all schema and semantic errors."""
    errors: list[str] = []
    if spec is None:
        return {}, ["spec: required mapping is missing"]
    normalized = normalize(SPEC, spec, "spec", errors)
    if not errors:
        errors.extend(semantic_errors(normalized))
    else:
        errors.extend(_semantic_errors_beside(normalized, errors))
    return normalized, errors


def _semantic_errors_beside(spec: Any, schema_errors: list[str]) -> list[str]:
    """Semantic problems of a spec that also has schema errors, so one run lists every mistake.

    Each rule runs on its own: one that trips over a field the schema already refused is skipped,
    and a semantic error about a field that already has a schema error is not repeated."""
    if not isinstance(spec, Mapping):
        return []
    bad_fields = {error.split(":", 1)[0] for error in schema_errors}
    found: list[str] = []
    for rule in SPEC_RULES:
        try:
            errors = rule_errors(rule, {"spec": spec})
        except (KeyError, TypeError, AttributeError, ValueError, IndexError):
            continue
        found += [e for e in errors if not any(_within(e.split(":", 1)[0], f) for f in bad_fields)]
    return found


def _within(path: str, field_path: str) -> bool:
    return path == field_path or path.startswith((f"{field_path}.", f"{field_path}["))


def parse_model_deployment(doc: Any, source: str = "") -> ModelDeploymentDoc:
    """Validate a whole document; raises SpecError listing every problem with its field path."""
    if not isinstance(doc, Mapping):
        raise SpecError([f"document: expected a mapping, got {type(doc).__name__}"], source)
    errors = _metadata_errors(doc)
    spec, spec_errors = normalize_spec(doc.get("spec"))
    errors.extend(spec_errors)
    if errors:
        raise SpecError(errors, source)
    metadata = doc["metadata"]
    return ModelDeploymentDoc(
        name=metadata["name"],
        namespace=metadata.get("namespace", "default"),
        generation=int(metadata.get("generation", 1)),
        spec=spec,
        raw=doc,
        uid=str(metadata.get("uid", "")),
    )
