"""Pod runner: the kubelet stand-in used by cluster tests."""
