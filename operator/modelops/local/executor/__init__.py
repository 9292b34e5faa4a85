"""Workload stage execution for the local runtime."""
