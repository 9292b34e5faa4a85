"""TF Serving configuration files and `modelops serve`, a TF-Serving-compatible gRPC + REST server.

config (model / monitoring / batching files) · protos (messages the pip package lacks) ·
servable (a loaded SavedModel, run as TF Serving runs it) · registry (versions, states, switches) ·
batching · inference (the one request path both APIs share) · codec (REST JSON) · http_api ·
grpc_codec (TensorProtos, tf.Examples) · grpc_api · metrics · server (assembly) · cli (`modelops serve`).
config, protos, errors, metrics and cli import no TensorFlow (the operator renders configs cheaply).
"""
