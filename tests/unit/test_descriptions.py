"""`kubectl explain` text: every description of the CRD reads as whole sentences, and the helpers that
compose descriptions refuse fragments that would not."""

from __future__ import annotations

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
