"""Training on several workers (MultiWorkerMirroredStrategy), resumable from a backup."""
