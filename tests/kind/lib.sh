#!/usr/bin/env bash
# Shared by the kind scripts: names, tool checks, small helpers.
# These scripts need Docker (or Podman for the images), kind and kubectl, and a
# network for the images they pull (kind's node image, MetalLB, Redis, Debian).
# The machine the project's CI runs on has no Docker engine: there they cannot
# run, and k8s/check.sh checks what can be checked without a cluster.
set -euo pipefail

KIND_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$KIND_DIR/../.." && pwd)
CLUSTER=${CLUSTER:-noc-poc}
NAMESPACE=${NAMESPACE:-noc-poc}
TEST_NAMESPACE=${TEST_NAMESPACE:-noc-test}
OVERLAY=${OVERLAY:-$REPO/k8s/overlays/poc}
KUBECTL=${KUBECTL:-kubectl}
METALLB_VERSION=${METALLB_VERSION:-v0.14.9}
CERT_MANAGER_VERSION=${CERT_MANAGER_VERSION:-v1.16.3}
KIND_NODE_IMAGE=${KIND_NODE_IMAGE:-kindest/node:v1.32.2}
TOOLS_IMAGE=${TOOLS_IMAGE:-noc/kind-tools:test}
KCTX="kind-$CLUSTER"

log() { echo "== $*" >&2; }
die() { echo "tests/kind: FAILED: $*" >&2; exit 1; }

# The workspace version: the tag of our images (noc/<binary>:<version>).
version() {
  sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/lb/Cargo.toml" | head -1
}

need() {
  local missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    die "missing: ${missing[*]}. The kind tests need Docker (a running engine), kind and kubectl; see k8s/README.md (\"kind\"). Where there is no Docker engine (as on the project's CI machine), \`make check-k8s\` checks the manifests without a cluster."
  fi
}

need_docker() {
  need docker kind "$KUBECTL"
  docker info >/dev/null 2>&1 || die "docker is installed but no Docker engine answers (docker info). kind needs a running engine."
}

k() { "$KUBECTL" --context "$KCTX" "$@"; }

cluster_exists() { kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; }

# kind's Docker network (IPv4).
kind_subnet() {
  local subnet
  subnet=$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' | tr ' ' '\n' | grep -v : | head -1)
  [ -n "$subnet" ] || die "no IPv4 subnet on Docker network kind"
  echo "$subnet"
}

# Addresses on kind's Docker network for MetalLB: the seed's .50-.70 layout
# (lb .53, dhcp4 .67) at the top of the network, e.g. 172.18.255.50-70 (the
# same arithmetic as tests/kind/render.sh).
kind_addresses() {
  python3 - "$(kind_subnet)" <<'PY'
import ipaddress, sys
net = ipaddress.ip_network(sys.argv[1])
start = net.broadcast_address - 205  # x.y.255.50 on a /16
print(f"POOL={start}-{start + 20} DNS_IP={start + 3} DHCP_IP={start + 17}")
PY
}

# Runs a command in the tools pod.
tools() { k -n "$TEST_NAMESPACE" exec noc-tools -- "$@"; }
