#!/usr/bin/env bash
# Creates the kind cluster (tests/kind/kind-config.yaml) and installs MetalLB
# (and cert-manager with CERT_MANAGER=1). Idempotent.
source "$(dirname "$0")/lib.sh"
need_docker

if cluster_exists; then
  log "kind cluster $CLUSTER exists"
else
  log "creating kind cluster $CLUSTER ($KIND_NODE_IMAGE)"
  kind create cluster --name "$CLUSTER" --image "$KIND_NODE_IMAGE" --config "$KIND_DIR/kind-config.yaml" --wait 120s
fi

log "MetalLB $METALLB_VERSION"
k apply -f "https://raw.githubusercontent.com/metallb/metallb/$METALLB_VERSION/config/manifests/metallb-native.yaml"
k -n metallb-system rollout status deployment/controller --timeout=180s
k -n metallb-system rollout status daemonset/speaker --timeout=180s
# The webhook must answer before IPAddressPools can be created.
k -n metallb-system wait --for=condition=Available deployment/controller --timeout=120s

if [ "${CERT_MANAGER:-0}" = 1 ]; then
  log "cert-manager $CERT_MANAGER_VERSION"
  k apply -f "https://github.com/cert-manager/cert-manager/releases/download/$CERT_MANAGER_VERSION/cert-manager.yaml"
  k -n cert-manager rollout status deployment/cert-manager-webhook --timeout=180s
fi
log "cluster $CLUSTER ready (context $KCTX)"
