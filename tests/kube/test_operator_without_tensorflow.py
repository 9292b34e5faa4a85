"""`pip install modelops` is the operator: it must run without TensorFlow or tensorflow-serving-api."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCK_ML = textwrap.dedent("""
    import importlib.abc, sys

    class NoML(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "tensorflow_serving", "keras", "matplotlib"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)  # as if not installed
            return None

    sys.meta_path.insert(0, NoML())
""")


def test_operator_imports_and_renders_serving_config_without_ml_packages() -> None:
    code = BLOCK_ML + textwrap.dedent("""
        from modelops.cli import main
        from modelops.kube.builders.common import Owner
        from modelops.kube.builders.config import build_serving_config_map
        from modelops.kube.handlers import register
        from modelops.api import parse_model_deployment
        import yaml
        doc = yaml.safe_load(open("manifests/samples/binary-classification.yaml"))
        cm = build_serving_config_map(Owner("churn", "default", "uid"), parse_model_deployment(doc).spec,
                                      "stable", 4)
        assert "versions: 4" in cm["data"]["models.config"], cm
        try:
            main(["operator", "--help"])
        except SystemExit as exit_:
            assert exit_.code in (0, None)
        print("ok", sorted(m for m in sys.modules if m.startswith(("tensorflow", "keras"))))
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().splitlines()[-1] == "ok []"


def test_stage_commands_without_the_worker_extra_say_what_to_install() -> None:
    code = BLOCK_ML + textwrap.dedent("""
        from modelops.cli import main
        sys.exit(main(["serve", "--model_name", "m", "--model_base_path", "/tmp", "--rest_api_port", "0"]))
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, (run.stdout, run.stderr[-2000:])
    assert "pip install 'modelops[worker]'" in run.stderr and "Traceback" not in run.stderr
