"""Generate the own-model example's CSVs (no downloads): train, validation and live data.

    python generate_data.py

Subscribers who leave or stay; three usage columns and three account columns, which the example's own
model (`model/two_branch.py`) reads as two branches. Files are replaced atomically.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from modelops.workloads.data.synthetic import make_dataset, write_csv

TASK, LABEL = "binary-classification", "churned"
USAGE = ("sessions", "minutes", "support_calls")
ACCOUNT = ("tenure_months", "plan_price", "discount")
ROWS = {"train": 1200, "validation": 400, "live": 400}
SEEDS = {"train": 21, "validation": 22, "live": 23}


def write(out: Path, split: str) -> None:
    x, y, _ = make_dataset(TASK, ROWS[split], len(USAGE) + len(ACCOUNT), SEEDS[split], noise=0.03)
    tmp = out / f".{split}.csv.tmp"
    write_csv(tmp, x, y, [*USAGE, *ACCOUNT], label_column=LABEL)
    os.replace(tmp, out / f"{split}.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for split in ROWS:
        write(args.out, split)
    print(f"wrote own-model data to {args.out}")


if __name__ == "__main__":
    main()
