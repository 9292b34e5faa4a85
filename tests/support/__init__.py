"""Test-side support code: the real control plane fixture and the pod runner standing in for a kubelet."""
