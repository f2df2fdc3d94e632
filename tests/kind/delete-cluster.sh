#!/usr/bin/env bash
# Deletes the kind cluster.
source "$(dirname "$0")/lib.sh"
need kind
if cluster_exists; then kind delete cluster --name "$CLUSTER"; else log "no kind cluster $CLUSTER"; fi
