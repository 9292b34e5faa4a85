"""TensorFlow workloads run inside Jobs (or local worker processes): `modelops worker <stage> --config FILE`.

One job per module: config (typed stage config), data (load + check datasets), model (Keras model and
SavedModel export), metrics, profile and drift (per-feature KS / chi-squared tests, PSI / JS),
drift_trials (seeded false-alarm / power trials), train / validate / evaluate (the stages), result (the
≤ 4 KiB result contract), serving_client (TF Serving REST), synthetic (generated data).
"""
