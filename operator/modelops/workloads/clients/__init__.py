"""Clients of TF Serving's predict API (REST and gRPC) used by the evaluate stage."""
