"""`modelops manifests crd|policy [-o FILE]`: print or write the generated CRD or admission policy."""

from __future__ import annotations

import argparse
from pathlib import Path

from modelops.api.admission_policy import render_policy_yaml
from modelops.api.crd import render_crd_yaml


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="modelops manifests", description=__doc__)
    parser.add_argument("kind", choices=["crd", "policy"], help="which manifest to generate")
    parser.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    args = parser.parse_args(argv)
    text = render_crd_yaml() if args.kind == "crd" else render_policy_yaml()
    if args.output:
        args.output.write_text(text)
    else:
        print(text, end="")
    return 0
