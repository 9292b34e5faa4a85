"""Drift false-alarm rate on clean random splits, and power on a 0.5 standard-deviation shift.

    python bench/drift.py [--null-trials 1200] [--power-trials 300] [--seed 17] [--shift-sd 0.5]
    python bench/drift.py --typed [--shift-share 0.1]   # mixed-type Tables, measured by type

Each trial draws a table of mixed features (normal, skewed, heavy-tailed, tied integers, counts, flags,
correlated pairs), splits it at random into training and live rows, profiles the training rows, measures
drift as the evaluate stage does and judges it as the lifecycle does (`modelops.workloads.drift.trials`).
Null shapes: 10-50 features, 30-5000 live rows (incl. the issue's 13 x 36 and 10 x 88); power shapes:
10-50 features, 500-5000 live rows, feature 0 shifted by --shift-sd (0.5) of its standard deviation.
Per rule (default: Benjamini-Hochberg at alpha 0.05 with the PSI >= 0.1 floor; Bonferroni; tests only,
no floor) the rates are printed; the last line is the default rule's headline:
`false_alarm=<rate> power=<rate>`.
With --typed the trials are Tables with string categories (a 40-value long tail), booleans, tied integers and
missing cells, measured by type (`workloads/drift/by_type.py`); power shapes move --shift-share of one
categorical column's live rows to its fifth most frequent value.
"""

from __future__ import annotations

import argparse
import time

from modelops.workloads.drift.trials import (
    DEFAULT_RULE,
    NULL_SHAPES,
    POWER_SHAPES,
    TESTS_ONLY_RULE,
    TYPED_NULL_SHAPES,
    TYPED_POWER_SHAPES,
    alarm_rates,
    trial_summary,
    typed_trial_summary,
)

RULES = {"default": DEFAULT_RULE, "bonferroni": {**DEFAULT_RULE, "correction": "bonferroni"},
         "tests-only": TESTS_ONLY_RULE}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--null-trials", type=int, default=1200)
    parser.add_argument("--power-trials", type=int, default=300)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--shift-sd", type=float, default=0.5, help="shift of one feature in the power trials")
    parser.add_argument("--typed", action="store_true", help="mixed-type Tables measured by type")
    parser.add_argument("--shift-share", type=float, default=0.1,
                        help="--typed: share of one categorical column's live rows moved in the power trials")
    args = parser.parse_args()
    started = time.monotonic()
    trial, shift = (typed_trial_summary, args.shift_share) if args.typed else (trial_summary, args.shift_sd)
    null_shapes, power_shapes = (TYPED_NULL_SHAPES, TYPED_POWER_SHAPES) if args.typed else (NULL_SHAPES, POWER_SHAPES)
    false_alarm = alarm_rates(args.null_trials, args.seed, null_shapes, RULES, trial=trial)
    power = alarm_rates(args.power_trials, args.seed + 1, power_shapes, RULES, shift_sd=shift, trial=trial)
    for name in RULES:
        print(f"{name:>11}: false alarm {false_alarm[name]:.4f} over {args.null_trials} clean splits, "
              f"power {power[name]:.4f} over {args.power_trials} shifted splits")
    print(f"{time.monotonic() - started:.1f}s")
    print(f"false_alarm={false_alarm['default']:.4f} power={power['default']:.4f}")


if __name__ == "__main__":
    main()
