"""Operator fixtures (defined in harness.py so tests/e2e can share them)."""

from kube.harness import operator_kubeconfig, start_operator

__all__ = ["operator_kubeconfig", "start_operator"]
