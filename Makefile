# The two commands of README.md: `make demo` (the closed loop on this machine) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test test-fast controlplane helm gitops-tools lint crd bench

setup:
	bash scripts/setup.sh

demo: setup
	bash scripts/demo.sh

controlplane:
	bash scripts/build-controlplane.sh

helm:
	bash scripts/build-helm.sh

# kstatus (cli-utils) and gopher-lua (Argo CD's Lua), so tests read our status as GitOps tools do.
gitops-tools:
	bash scripts/build-gitops-tools.sh

# Everything: unit, workloads, serving, local, the real control plane (cluster, kube, e2e), helm lint.
# Go-built binaries are cached in ~/.cache/modelops, so only the first run builds them.
test: setup controlplane helm gitops-tools
	$(PY) -m pytest

# Without the Go-built control plane: quick feedback while developing.
test-fast: setup
	$(PY) -m pytest -m "not cluster"

lint:
	$(VENV)/bin/ruff check operator tests bench examples

crd:
	$(VENV)/bin/modelops manifests crd -o manifests/crd.yaml
	cp manifests/crd.yaml charts/modelops/crds/modeldeployments.modelops.dev.yaml
	$(VENV)/bin/modelops manifests policy -o manifests/admission-policy.yaml
	cp manifests/admission-policy.yaml charts/modelops/policies/admission-policy.yaml

bench:
	$(PY) bench/serve.py
	$(PY) bench/evaluate.py
	$(PY) bench/operator_load.py
	$(PY) bench/drift.py
	$(PY) bench/distributed.py
	$(PY) bench/tuning.py
