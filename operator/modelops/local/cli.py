"""`modelops run -f modeldeployment.yaml`: the whole lifecycle on this machine, no cluster needed.

The YAML is the same document `kubectl apply` takes and is validated by the same code. Relative dataset
URIs are resolved against the YAML file's directory, so an example folder runs from anywhere; storage
settings (PVC, mount path) and images are ignored: models live under `<state-dir>/models`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from modelops.api import SpecError, parse_model_deployment
from modelops.api.validate_cli import yaml_error_text
from modelops.local.runner import UNTIL_CHOICES, Runner
from modelops.local.serving_process import ServingError
from modelops.local.state_store import DEFAULT_ROOT, StateError, StateStore


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelops run", description=__doc__.splitlines()[0])
    parser.add_argument("-f", "--filename", required=True, type=Path, help="ModelDeployment YAML file")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_ROOT,
                        help="where status, stages, logs and model versions are kept (default: .modelops)")
    parser.add_argument("--port", type=int, default=8501, help="REST port of the local model server")
    parser.add_argument("--until", choices=UNTIL_CHOICES, default="forever",
                        help="'serving': exit 0 once a validated version serves; 'forever': keep monitoring")
    parser.add_argument("--plain", action="store_true", help="plain log lines even on a terminal")
    return parser


def load_document(path: Path) -> Any:
    """The single YAML document in `path`; errors name the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([f"cannot read file: {exc.strerror or exc}"], str(path)) from exc
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise SpecError([yaml_error_text(exc)], str(path)) from exc
    if len(documents) != 1:
        raise SpecError([f"expected exactly one ModelDeployment document, found {len(documents)}"], str(path))
    return documents[0]


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if not 1 <= args.port <= 65535:
        print(f"modelops run: --port: expected 1..65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        doc = parse_model_deployment(load_document(args.filename), str(args.filename))
    except SpecError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    from modelops.local.view import RunView

    store = StateStore(args.state_dir.resolve(), doc.namespace, doc.name)
    view = RunView(live=False if args.plain else None)
    runner = Runner(store, doc.spec, args.filename.resolve().parent, port=args.port, until=args.until, view=view)
    resume = f"modelops run -f {args.filename} --state-dir {args.state_dir} --port {args.port}"
    view.message(f"{doc.namespace}/{doc.name}: state in {store.dir}, models in {store.versions_dir}")
    view.message(f"endpoint (once serving): {runner.serving.model_url}:predict")
    try:
        code = runner.run()
    except (StateError, ServingError) as exc:
        print(f"modelops run: {exc}", file=sys.stderr)
        return 1
    view.message(f"status: modelops status {doc.name} --state-dir {args.state_dir}")
    if code == 130:
        view.message(f"stopped; state kept in {store.dir}. Resume with: {resume}")
    return code
