"""TensorFlow workloads run inside Jobs (or local worker processes): `modelops worker <stage> --config FILE`.

Grouped by concern:
- `stages/`: the entry points (tune, train, validate, evaluate, prune);
- `config/`: the strict stage-config reader;
- `data/`: tables, training sets, held-out rows, retrain recipes, generated data;
- `model/`: the Keras model, its SavedModel export, a published version read back;
- `distributed/`: multi-worker fits;
- `tuning/`: the KerasTuner search;
- `quality/`: metrics and the paired significance test;
- `drift/`: the training profile and per-feature tests;
- `clients/`: TF Serving REST and gRPC clients.
`cli.py` dispatches to the stages; `errors.py` holds the one workload exception.
"""
