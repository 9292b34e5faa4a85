"""Generate the churn example's CSVs (no downloads): train, validation, live and recent data.

    python generate_data.py              # one world: every file drawn from the same distribution
    python generate_data.py --shift 2    # the world moved: rewrite validation, live and recent shifted
                                         # (train.csv keeps the old world, so the served model degrades)
    python generate_data.py --bad-labels # rewrite recent.csv with random labels: a retrain must be rejected
    python generate_data.py --noisy-live # rewrite live.csv with random labels: nothing can be learned from it

Files are replaced atomically, so a running `modelops run` never reads half a file.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from modelops.workloads.data.synthetic import make_dataset, write_csv

TASK, FEATURES, LABEL = "binary-classification", 8, "churned"
ROWS = {"train": 1500, "validation": 500, "live": 500, "recent": 1500}
SEEDS = {"train": 1, "validation": 2, "live": 3, "recent": 4}


def write(out: Path, split: str, shift: float = 0.0, random_labels: bool = False) -> None:
    x, y, names = make_dataset(TASK, ROWS[split], FEATURES, SEEDS[split] + int(shift * 100), shift, noise=0.03)
    if random_labels:
        y = np.random.default_rng(99).integers(0, 2, size=y.shape[0])
    tmp = out / f".{split}.csv.tmp"
    write_csv(tmp, x, y, names, label_column=LABEL)
    os.replace(tmp, out / f"{split}.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    parser.add_argument("--shift", type=float, default=0.0, help="feature shift in standard deviations")
    parser.add_argument("--bad-labels", action="store_true", help="only rewrite recent.csv with random labels")
    parser.add_argument("--noisy-live", action="store_true", help="only rewrite live.csv with random labels")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.bad_labels:
        write(args.out, "recent", args.shift, random_labels=True)
    elif args.noisy_live:
        write(args.out, "live", args.shift, random_labels=True)
    elif args.shift:
        for split in ("validation", "recent", "live"):  # live last: the next evaluation sees a complete world
            write(args.out, split, args.shift)
    else:
        for split in ROWS:
            write(args.out, split)
    print(f"wrote churn data to {args.out}")


if __name__ == "__main__":
    main()
