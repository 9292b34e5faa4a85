"""Generate the species example's NPZ files (no downloads): train, validation and live data.

    python generate_data.py             # one world
    python generate_data.py --shift 1.5 # rewrite live.npz shifted: monitoring raises an alert (onDegradation: Alert)
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from modelops.workloads.data.synthetic import make_dataset, write_npz

TASK, FEATURES, CLASSES = "multiclass-classification", 6, 3
ROWS = {"train": 1500, "validation": 500, "live": 500}
SEEDS = {"train": 11, "validation": 12, "live": 13}


def write(out: Path, split: str, shift: float = 0.0) -> None:
    x, y, names = make_dataset(TASK, ROWS[split], FEATURES, SEEDS[split], shift, num_classes=CLASSES, noise=0.03)
    tmp = out / f".{split}.npz.tmp"
    write_npz(tmp, x, y, names)
    os.replace(tmp, out / f"{split}.npz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    parser.add_argument("--shift", type=float, default=0.0, help="feature shift of live.npz in standard deviations")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for split in (["live"] if args.shift else ROWS):
        write(args.out, split, args.shift if split == "live" else 0.0)
    print(f"wrote species data to {args.out}")


if __name__ == "__main__":
    main()
