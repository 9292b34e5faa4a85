"""Split the shipped Palmer penguins table into the example's train, validation and live CSVs (no downloads).

    python generate_data.py

`penguins.csv` is the palmerpenguins package's `penguins` table (Horst, Hill & Gorman 2020, data from Gorman,
Williams & Fraser 2014, Palmer Station LTER; CC0 public domain): 344 penguins, the label `species` and the
features `island` and `sex` are text, four measurements are numbers, 11 cells are `NA`. Its rows are shuffled
with a fixed seed and cut into three disjoint files, so monitoring scores rows the model never trained on and
every run of this script writes the same files. Cells are copied as written (missing cells stay `NA`).
Files are replaced atomically.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "penguins.csv"
SEED = 25
SHARES = {"train": 0.6, "validation": 0.2}  # live gets the rest


def split(rows: list[list[str]], seed: int = SEED) -> dict[str, list[list[str]]]:
    """The rows shuffled with `seed` and cut by SHARES: disjoint, together the whole table."""
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    train_end = round(len(shuffled) * SHARES["train"])
    validation_end = train_end + round(len(shuffled) * SHARES["validation"])
    return {"train": shuffled[:train_end], "validation": shuffled[train_end:validation_end],
            "live": shuffled[validation_end:]}


def write(out: Path, name: str, header: list[str], rows: list[list[str]]) -> None:
    tmp = out / f".{name}.csv.tmp"
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(tmp, out / f"{name}.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "data")
    args = parser.parse_args()
    with SOURCE.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    args.out.mkdir(parents=True, exist_ok=True)
    for name, part in split(rows).items():
        write(args.out, name, header, part)
        print(f"{args.out / name}.csv: {len(part)} rows")


if __name__ == "__main__":
    main()
