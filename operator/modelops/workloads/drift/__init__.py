"""Data drift: the training profile stored with each version and the per-feature tests against it."""
