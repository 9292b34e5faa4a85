"""`modelops validate FILE...`: the same checks the operator and `modelops run` apply, for CI pipelines.

Every problem in every document of every file is reported, each with its field path (or, for YAML
syntax, its line and column). Exit codes: 0 every document is valid, 1 at least one is not (or a file
cannot be read), 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from modelops.api.document import SpecError, parse_model_deployment


def yaml_error_text(exc: yaml.YAMLError) -> str:
    """`line 3 column 7: expected ',' or ']'` (1-based, as editors count) instead of PyYAML's dump."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
    context = getattr(exc, "context", None)
    return f"{where}not valid YAML: {problem}" + (f" ({context})" if context else "")


def check_file(path: Path) -> tuple[list[str], list[str]]:
    """(lines for valid documents, error lines) for one file; documents are numbered when there are several."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return [], [f"{path}: cannot read: {reason}"]
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        return [], [f"{path}: {yaml_error_text(exc)}"]
    if not docs:
        return [], [f"{path}: no ModelDeployment document found"]
    valid, errors = [], []
    for index, doc in enumerate(docs):
        source = f"{path}" if len(docs) == 1 else f"{path} (document {index + 1})"
        try:
            parsed = parse_model_deployment(doc, source=source)
        except SpecError as exc:
            errors.append(str(exc))
            continue
        valid.append(f"{source}: {parsed.namespace}/{parsed.name} is valid")
    return valid, errors


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="modelops validate", description=__doc__.splitlines()[0],
                                     epilog="exit codes: 0 all valid, 1 invalid or unreadable, 2 usage error")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    failed = 0
    for path in args.files:
        valid, errors = check_file(path)
        for line in valid:
            print(line)
        for line in errors:
            print(line, file=sys.stderr)
        failed += bool(errors)
    return 1 if failed else 0
