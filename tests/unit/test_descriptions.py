"""`kubectl explain` text: every description of the CRD reads as whole sentences, and the helpers that
compose descriptions refuse fragments that would not."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from modelops.api.crd import crd_document
from modelops.api.spec_schema import dataset


def _descriptions(schema: dict, path: str) -> Iterator[tuple[str, str]]:
    if "description" in schema:
        yield path, schema["description"]
    for name, child in (schema.get("properties") or {}).items():
        yield from _descriptions(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _descriptions(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _descriptions(schema["additionalProperties"], f"{path}{{}}")


ROOT = crd_document()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
DESCRIPTIONS = list(_descriptions(ROOT, "ModelDeployment"))
# "Where the X comes from." must end its sentence right there: a clause inside X breaks it.
WHERE_FROM = re.compile(r"^Where the [a-z ]+ comes from\.( |$)")


def sentence_problems(text: str) -> list[str]:
    problems = []
    if not (text[:1].isupper() or text[:1] == "`"):
        problems.append("does not start with a capital letter")
    if not text.rstrip(")").endswith("."):
        problems.append("does not end with a full stop")
    if "  " in text or text != text.strip():
        problems.append("has stray spaces")
    if text.count("(") != text.count(")") or text.count("`") % 2:
        problems.append("has unbalanced brackets or backticks")
    if re.search(r"\b(\w+) \1\b", text):
        problems.append("repeats a word")
    if text.startswith("Where the") and " comes from." in text and not WHERE_FROM.match(text):
        problems.append("'Where the ... comes from.' is interrupted by a clause")
    return problems


@pytest.mark.parametrize(("path", "text"), DESCRIPTIONS, ids=[p for p, _ in DESCRIPTIONS])
def test_description_reads_as_sentences(path: str, text: str) -> None:
    assert sentence_problems(text) == [], text


def test_the_reported_explain_text_is_fixed() -> None:
    monitoring = ROOT["properties"]["spec"]["properties"]["monitoring"]["properties"]["dataset"]["description"]
    assert monitoring.startswith("Where the labelled live data comes from. Evaluations score the serving model "
                                 "on it; without it no evaluation runs.")


def test_the_checker_catches_the_old_wording() -> None:
    old = "Where the labelled live data used for evaluations; without it no evaluation runs comes from."
    assert sentence_problems(old)


@pytest.mark.parametrize("what", ["live data; without it nothing runs", "data (optional)", "Data"])
def test_dataset_helper_refuses_clauses_in_its_noun_phrase(what: str) -> None:
    with pytest.raises(ValueError, match="noun phrase"):
        dataset(what)


def test_dataset_helper_refuses_a_note_that_is_not_a_sentence() -> None:
    with pytest.raises(ValueError, match="sentences"):
        dataset("live data", "without it nothing runs")


def _schemas(schema: dict, path: str) -> Iterator[tuple[str, dict]]:
    yield path, schema
    for name, child in (schema.get("properties") or {}).items():
        yield from _schemas(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _schemas(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _schemas(schema["additionalProperties"], f"{path}{{}}")


SCHEMAS = list(_schemas(ROOT, "ModelDeployment"))
DEFAULTED = [(p, s) for p, s in SCHEMAS if "default" in s]
PATTERNED = [(p, s) for p, s in SCHEMAS if "pattern" in s]


@pytest.mark.parametrize(("path", "schema"), DEFAULTED, ids=[p for p, _ in DEFAULTED])
def test_every_defaulted_field_ends_with_its_default(path: str, schema: dict) -> None:
    """kubectl explain prints no default: the description must (issue #27: 76 fields hid theirs)."""
    text, default = schema["description"], schema["default"]
    assert "Default: " in text, text
    tail = text[text.rindex("Default: ") + len("Default: "):]
    if isinstance(default, bool):
        assert tail == f"{str(default).lower()}."
    elif isinstance(default, dict) and not default:
        assert tail.startswith("{}")
    elif isinstance(default, str) and default:
        assert tail == f"{default}."
    else:
        assert tail.rstrip(".") == json.dumps(default), (tail, default)


@pytest.mark.parametrize(("path", "schema"), PATTERNED, ids=[p for p, _ in PATTERNED])
def test_every_patterned_field_says_what_it_accepts(path: str, schema: dict) -> None:
    assert "Format: " in schema["description"], schema["description"]


def test_durations_and_quantities_say_their_format() -> None:
    spec = ROOT["properties"]["spec"]["properties"]
    interval = spec["monitoring"]["properties"]["interval"]["description"]
    assert interval.endswith('Format: a duration such as "30s", "5m" or "1h30m". Default: 5m.')
    epochs = spec["training"]["properties"]["hyperparameters"]["properties"]["epochs"]["description"]
    assert epochs.endswith("Default: 20.")
    requests = spec["serving"]["properties"]["resources"]["properties"]["requests"]["description"]
    assert "quantity" in requests and "500m" in requests and "2Gi" in requests
    quantities = [s for _, s in SCHEMAS if s.get("x-kubernetes-int-or-string")]
    assert quantities and all("Kubernetes quantity" in s["description"] for s in quantities)


def test_the_count_of_fields_stating_defaults_matches_the_schema() -> None:
    stated = [p for p, s in SCHEMAS if "Default: " in s.get("description", "")]
    assert len(DEFAULTED) >= 70 and {p for p, _ in DEFAULTED} <= set(stated)
