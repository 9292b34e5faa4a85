# syntax=docker/dockerfile:1
# Two images from one file:
#   docker build --target operator -t ghcr.io/modelops/modelops-operator:0.1.0 .
#   docker build --target worker   -t ghcr.io/modelops/modelops-worker:0.1.0 .
# The operator image has no TensorFlow (it only needs kopf, kubernetes and the TF Serving config
# protos), so it stays small and its memory low; the worker image runs `modelops worker <stage>`.
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
# The package without its ML dependencies, then exactly what `modelops operator` imports.
# tensorflow-serving-api is installed without deps: only its config protos are used (no TensorFlow).
RUN pip install --no-deps . \
 && pip install "kopf>=1.44.6,<2" "kubernetes>=29,<38" "pyyaml>=6,<7" "prometheus-client>=0.20,<1" \
        "aiohttp>=3.9,<4" "protobuf>=4.21,<7" \
 && pip install --no-deps "tensorflow-serving-api>=2.16,<2.22" \
 && modelops operator --help >/dev/null \
 && rm -rf /src
WORKDIR /tmp
USER 10001:10001
EXPOSE 8080 9090
ENTRYPOINT ["modelops"]
CMD ["operator", "--all-namespaces"]

# ---------------------------------------------------------------- worker
FROM base AS worker
RUN pip install . \
 && modelops worker --help >/dev/null \
 && rm -rf /src
WORKDIR /tmp
USER 10001:10001
# Jobs set the command themselves: modelops worker <stage> --config /etc/modelops/stage/config.json
ENTRYPOINT ["modelops"]
CMD ["worker", "--help"]
