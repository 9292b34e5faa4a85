#!/usr/bin/env bash
# Build the real test control plane (etcd, kube-apiserver, kube-controller-manager) from Go modules.
#
# Why: the cluster tests need a real API server and real Job/Deployment/GC controllers, and Debian's
# etcd is too old. Binaries go to a cache directory OUTSIDE git, keyed by the Kubernetes and etcd
# versions, so a second run is a no-op. Go's own module and build caches stay at their defaults so
# CI on the same machine reuses them.
#
# Usage: scripts/build-controlplane.sh        -> prints the bin dir on stdout (last line)
#        scripts/build-controlplane.sh --force -> rebuild even if the binaries are cached
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GO_DIR="$ROOT/tests/cluster/go"
K8S_MOD="$GO_DIR/kubernetes"
ETCD_MOD="$GO_DIR/etcd"

# The versions are read from the committed go.mod files, so the cache key can never disagree with them.
required_version() {  # $1 = module path, $2 = go.mod; prints the required version ("require X v" or in a block)
    awk -v mod="$1" '{ for (i = 1; i < NF; i++) if ($i == mod && $(i + 1) ~ /^v[0-9]/) { print $(i + 1); exit } }' "$2"
}
K8S_VERSION="$(required_version k8s.io/kubernetes "$K8S_MOD/go.mod")"
ETCD_VERSION="$(required_version go.etcd.io/etcd/server/v3 "$ETCD_MOD/go.mod")"
if [[ -z "$K8S_VERSION" || -z "$ETCD_VERSION" ]]; then
    echo "build-controlplane: cannot read versions from $K8S_MOD/go.mod or $ETCD_MOD/go.mod" >&2
    exit 1
fi

CACHE_ROOT="${MODELOPS_CACHE_DIR:-$HOME/.cache/modelops}"
BIN_DIR="$CACHE_ROOT/controlplane/$K8S_VERSION"
STAMP="$BIN_DIR/.built-k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
BINARIES=(etcd kube-apiserver kube-controller-manager)

all_present() {
    [[ -f "$STAMP" ]] || return 1
    for bin in "${BINARIES[@]}"; do [[ -x "$BIN_DIR/$bin" ]] || return 1; done
}

if [[ "${1:-}" != "--force" ]] && all_present; then
    echo "$BIN_DIR"
    exit 0
fi

command -v go >/dev/null || { echo "build-controlplane: 'go' not found on PATH" >&2; exit 1; }
mkdir -p "$BIN_DIR"
# Build into a temp dir and move in at the end: an interrupted build never leaves a half-written binary.
STAGE="$(mktemp -d "$BIN_DIR/.stage.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT

export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath -mod=readonly"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

# Same version stamping as upstream's hack/lib/version.sh, so `--version` and /version tell the truth.
minor="$(echo "$K8S_VERSION" | cut -d. -f2)"
K8S_LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    K8S_LDFLAGS+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    K8S_LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

start=$(date +%s)
echo "build-controlplane: building etcd $ETCD_VERSION" >&2
(cd "$ETCD_MOD" && go build -ldflags "-s -w" -o "$STAGE/etcd" .)
echo "build-controlplane: building kube-apiserver and kube-controller-manager $K8S_VERSION" >&2
(cd "$K8S_MOD" && go build -ldflags "$K8S_LDFLAGS" -o "$STAGE/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager)

for bin in "${BINARIES[@]}"; do mv -f "$STAGE/$bin" "$BIN_DIR/$bin"; done
rm -f "$BIN_DIR"/.built-*
touch "$STAMP"
echo "build-controlplane: built in $(( $(date +%s) - start ))s" >&2
echo "$BIN_DIR"
