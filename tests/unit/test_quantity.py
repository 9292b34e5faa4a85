"""api/quantity.py parses quantities as the API server does. The table was checked value by value on the
real API server (CEL isQuantity on an int-or-string field, and a Job's resources): accepted ones parse,
refused ones do not, and the values compare as `quantity(...).compareTo` does."""

from __future__ import annotations

from decimal import Decimal

import pytest

from modelops.api.quantity import parse_quantity, quantity_value
from modelops.api.resources_schema import is_extended, name_ok

# Accepted by the API server, with their value.
ACCEPTED = {"500m": "0.5", "1.5Gi": "1610612736", "2": "2", "1k": "1000", "1e3": "1000", "12E+3": "12000",
            "5e-3": "0.005", "1E": "1e18", "1Mi": "1048576", ".5Mi": "524288", "1.": "1", "-1": "-1",
            "0.0000000001": "1e-9",  # rounded up to one nano unit
            "m": "0", "+": "0", "-": "0", ".": "0", "+.": "0", "Ki": "0"}  # the scanner's numerator-less forms
# Refused by the API server (isQuantity false; the Job "cannot be handled").
REFUSED = ["", "lots", "1GB", "1K", "1ki", "1e", "1e+", "1e-", "1.2.3", "1 ", "1e3m"]


@pytest.mark.parametrize(("text", "value"), ACCEPTED.items())
def test_quantities_the_api_server_accepts_parse_to_their_value(text: str, value: str) -> None:
    assert parse_quantity(text) == Decimal(value)


@pytest.mark.parametrize("text", REFUSED)
def test_what_the_api_server_refuses_does_not_parse(text: str) -> None:
    assert parse_quantity(text) is None


def test_number_or_string_values() -> None:
    assert quantity_value(2) == 2
    assert quantity_value("2Gi") > quantity_value("2G") > quantity_value(1000)
    # `cpu: 0.5` as in a Pod: the JSON number's digits, exactly (not the binary float's expansion)
    assert quantity_value(0.5) == quantity_value("500m") and quantity_value(0.1) == Decimal("0.1")
    assert quantity_value(1e-05) == quantity_value("10u") and quantity_value(1.5e9) == quantity_value("1500M")
    assert quantity_value(True) is None and quantity_value(float("nan")) is None  # wrong types: the schema's error


@pytest.mark.parametrize(("name", "ok", "extended"), [
    ("cpu", True, False), ("memory", True, False), ("ephemeral-storage", True, False), ("hugepages-2Mi", True, False),
    ("nvidia.com/gpu", True, True), ("kubernetes.io/foo", True, False), ("example.com/foo", True, True),
    ("gpu", False, False), ("requests.foo", False, False), ("storage", False, False), ("Nvidia.com/gpu", False, True),
])
def test_resource_names_as_the_api_server_judges_them(name: str, ok: bool, extended: bool) -> None:
    assert name_ok(name) is ok
    assert is_extended(name) is extended
