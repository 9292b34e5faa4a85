"""Seeded simulation: drift does not cry wolf on clean random splits, and finds a 0.5 sd shift.

Issue #17's check: 200 i.i.d. splits of several shapes (10-50 features, 30-5000 live rows) give a false-alarm
rate at or below alpha, and a 0.5 standard-deviation shift in one feature is found at >= 90 % power with
500+ live rows. The same for mixed-type Tables (issue #25: string categories, booleans, missing cells): clean
splits stay at or below alpha, and a tenth of one categorical column's rows moving to another category is found.
bench/drift.py runs the same trials at a larger count.
"""

from __future__ import annotations

from modelops.workloads.drift.trials import (
    DEFAULT_RULE,
    NULL_SHAPES,
    POWER_SHAPES,
    TESTS_ONLY_RULE,
    TYPED_NULL_SHAPES,
    TYPED_POWER_SHAPES,
    alarm_rates,
    typed_trial_summary,
)


def test_false_alarm_rate_is_at_most_alpha_on_clean_splits() -> None:
    rules = {"default": DEFAULT_RULE, "bonferroni": {**DEFAULT_RULE, "correction": "bonferroni"},
             "tests-only": TESTS_ONLY_RULE}
    rates = alarm_rates(200, seed=17, shapes=NULL_SHAPES, rules=rules)
    assert rates["default"] <= 0.05 and rates["bonferroni"] <= 0.05, rates
    # Significance alone sits at alpha (the tests are exact-ish); 0.08 is alpha plus ~1 binomial sd at 200 trials.
    assert rates["tests-only"] <= 0.08, rates


def test_without_correction_thirty_features_would_cry_wolf() -> None:
    # The control: one uncorrected test per feature (alpha / m undone) fires far more often.
    uncorrected = {**TESTS_ONLY_RULE, "alpha": 0.05 * 30, "correction": "bonferroni"}
    rates = alarm_rates(40, seed=5, shapes=[(30, 1000, 3000)], rules={"uncorrected": uncorrected})
    assert rates["uncorrected"] > 0.5, rates


def test_half_a_standard_deviation_in_one_feature_is_found() -> None:
    rates = alarm_rates(60, seed=18, shapes=POWER_SHAPES, shift_sd=0.5,
                        rules={"default": DEFAULT_RULE, "bonferroni": {**DEFAULT_RULE, "correction": "bonferroni"}})
    assert rates["default"] >= 0.9 and rates["bonferroni"] >= 0.9, rates


def test_false_alarm_rate_is_at_most_alpha_on_clean_mixed_type_splits() -> None:
    # Tables with string categories (a long tail past the tested vocabulary), booleans, tied integers and missing
    # cells, measured by type (workloads/drift/by_type.py): the categorical tests keep the same control.
    rules = {"default": DEFAULT_RULE, "bonferroni": {**DEFAULT_RULE, "correction": "bonferroni"},
             "tests-only": TESTS_ONLY_RULE}
    rates = alarm_rates(200, seed=25, shapes=TYPED_NULL_SHAPES, rules=rules, trial=typed_trial_summary)
    assert rates["default"] <= 0.05 and rates["bonferroni"] <= 0.05, rates
    assert rates["tests-only"] <= 0.08, rates


def test_a_tenth_of_the_rows_moving_to_another_category_is_found() -> None:
    rates = alarm_rates(40, seed=26, shapes=TYPED_POWER_SHAPES, shift_sd=0.1, trial=typed_trial_summary,
                        rules={"default": DEFAULT_RULE, "bonferroni": {**DEFAULT_RULE, "correction": "bonferroni"}})
    assert rates["default"] >= 0.9 and rates["bonferroni"] >= 0.9, rates
