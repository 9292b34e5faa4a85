"""`modelops validate FILE...`: the same checks the operator and `modelops run` apply, for CI pipelines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from modelops.api.document import SpecError, parse_model_deployment


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="modelops validate", description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    failed = 0
    for path in args.files:
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
            for doc in docs:
                parsed = parse_model_deployment(doc, source=str(path))
                print(f"{path}: {parsed.namespace}/{parsed.name} is valid")
        except (OSError, yaml.YAMLError, SpecError) as exc:
            failed += 1
            print(f"{path}: {exc}" if not isinstance(exc, SpecError) else str(exc), file=sys.stderr)
    return 1 if failed else 0
