"""TF Serving configuration files and `modelops serve`, a TF-Serving-compatible REST server.

config (model / monitoring / batching files) · protos (messages the pip package lacks) ·
servable (a loaded SavedModel) · registry (versions, states, switches) · batching · codec (REST JSON) ·
http_api · metrics · server (assembly) · cli (`modelops serve`).
config, protos, errors, metrics and cli import no TensorFlow (the operator renders configs cheaply).
"""
