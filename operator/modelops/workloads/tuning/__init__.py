"""Hyperparameter search with KerasTuner: the search space as a HyperModel and the tuning block of the config."""
