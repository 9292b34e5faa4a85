"""The stage contract: what a runtime hands a worker and what the worker hands back.

Low in the house (it imports only `modelops.api`): workloads, lifecycle, kube and local all read the
same config keys, result shape, reason codes and storage layout from here, so they cannot drift.
"""
