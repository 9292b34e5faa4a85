"""Generate the prices example's CSVs (no downloads): train, validation, live and recent data.

    python generate_data.py              # one world
    python generate_data.py --shift 1.5  # the world moved: rewrite validation, live and recent shifted
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from modelops.workloads.data.synthetic import make_dataset, write_csv

TASK, FEATURES, LABEL = "regression", 5, "price"
ROWS = {"train": 1500, "validation": 500, "live": 500, "recent": 1500}
SEEDS = {"train": 21, "validation": 22, "live": 23, "recent": 24}


def write(out: Path, split: str, shift: float = 0.0) -> None:
    x, y, names = make_dataset(TASK, ROWS[split], FEATURES, SEEDS[split] + int(shift * 100), shift, noise=0.2)
    tmp = out / f".{split}.csv.tmp"
    write_csv(tmp, x, y, names, label_column=LABEL)
    os.replace(tmp, out / f"{split}.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    parser.add_argument("--shift", type=float, default=0.0, help="feature shift in standard deviations")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    splits = ("validation", "recent", "live") if args.shift else tuple(ROWS)
    for split in splits:
        write(args.out, split, args.shift)
    print(f"wrote prices data to {args.out}")


if __name__ == "__main__":
    main()
