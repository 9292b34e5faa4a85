# syntax=docker/dockerfile:1
# Two images from one file:
#   docker build --target operator -t ghcr.io/modelops/modelops-operator:0.1.0 .
#   docker build --target worker   -t ghcr.io/modelops/modelops-worker:0.1.0 .
#   docker build --target worker-gpu -t ghcr.io/modelops/modelops-worker:0.1.0-gpu .   (GPU node pools)
# The operator image is `pip install modelops` (no TensorFlow), so it stays small and its memory low;
# the worker image is `pip install "modelops[worker]"` and runs `modelops worker <stage>`.
# Base pinned by tag; pin a digest at release time with --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:...
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp
# uid/gid 10001 = WORKER_UID/MODEL_GID in operator/modelops/kube/builders/common.py
RUN groupadd --gid 10001 modelops \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin modelops
WORKDIR /src
COPY pyproject.toml README.md* ./
COPY operator/ ./operator/

# ---------------------------------------------------------------- operator
FROM base AS operator
# The plain package is the operator: no TensorFlow (TF Serving config is rendered with protobuf alone).
RUN pip install . \
 && modelops operator --help >/dev/null \
 && rm -rf /src
WORKDIR /tmp
USER 10001:10001
EXPOSE 8080 9090
ENTRYPOINT ["modelops"]
CMD ["operator", "--all-namespaces"]

# ---------------------------------------------------------------- worker
FROM base AS worker
RUN pip install ".[worker]" \
 && modelops worker --help >/dev/null \
 && rm -rf /src
WORKDIR /tmp
USER 10001:10001
# Jobs set the command themselves: modelops worker <stage> --config /etc/modelops/stage/config.json
ENTRYPOINT ["modelops"]
CMD ["worker", "--help"]

# ---------------------------------------------------------------- worker-gpu
# The same worker with TensorFlow's CUDA and cuDNN libraries (pip's tensorflow[and-cuda]) for GPU node
# pools; the node needs only the NVIDIA driver and the device plugin that advertises nvidia.com/gpu.
FROM base AS worker-gpu
RUN pip install ".[worker,gpu]" \
 && modelops worker --help >/dev/null \
 && rm -rf /src
WORKDIR /tmp
USER 10001:10001
ENTRYPOINT ["modelops"]
CMD ["worker", "--help"]
