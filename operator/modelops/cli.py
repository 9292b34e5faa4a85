"""The `modelops` command: a thin dispatcher so each runtime owns its own flags and imports.

Subcommands import lazily: `modelops manifests` must not pay for importing TensorFlow.
"""

from __future__ import annotations

import importlib
import os
import sys

# subcommand -> (module exposing `main(argv) -> int`, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": ("modelops.local.cli", "run a ModelDeployment on this machine (embedded runtime)"),
    "status": ("modelops.local.status_cli", "show the status of a locally run ModelDeployment"),
    "serve": ("modelops.serving.cli", "TF-Serving-compatible REST model server"),
    "operator": ("modelops.kube.cli", "run the Kubernetes operator (kopf)"),
    "manifests": ("modelops.api.manifests_cli", "generate manifests (crd) from the API definitions"),
    "worker": ("modelops.workloads.cli", "run one workload stage: train | validate | evaluate | prune"),
    "validate": ("modelops.api.validate_cli", "check ModelDeployment YAML files without running them"),
}

# packages an extra brings -> that extra (the base install is the operator and has none of them)
EXTRAS = {"tensorflow": "worker", "tensorflow_serving": "worker", "keras": "worker", "tensorboard": "worker",
          "matplotlib": "plot"}


def _usage() -> str:
    lines = ["usage: modelops <command> [options]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    return "\n".join(lines)


# Exit codes every subcommand keeps (docs/troubleshooting.md): 0 done, 1 failed or invalid, 2 usage
# error, 130 interrupted (`modelops run`), 141 stdout closed early (`modelops status | head`).
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a process killed by SIGPIPE


def _stdout_closed() -> int:
    """The reader went away (`| head`): stop quietly, like other Unix tools, instead of a traceback.
    Later flushes at interpreter exit must not fail either, so stdout is pointed at /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_BROKEN_PIPE


def main(argv: list[str] | None = None) -> int:
    try:
        return _dispatch(argv)
    except BrokenPipeError:
        return _stdout_closed()


def _dispatch(argv: list[str] | None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in SUBCOMMANDS:
        print(f"modelops: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(SUBCOMMANDS[command][0])
        return int(module.main(rest) or 0)
    except ModuleNotFoundError as exc:
        extra = EXTRAS.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        print(f"modelops {command}: needs {exc.name}, which `pip install modelops` (the operator) leaves out; "
              f"install it with: pip install 'modelops[{extra}]'", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
