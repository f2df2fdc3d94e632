#!/usr/bin/env bash
# The whole kind scenario: cluster, images, deploy, DNS, DHCP and scale tests.
# KEEP=1 keeps the cluster afterwards (default: deleted, even on failure).
source "$(dirname "$0")/lib.sh"
need_docker
[ "${KEEP:-0}" = 1 ] || trap '"$KIND_DIR/delete-cluster.sh"' EXIT
"$KIND_DIR/create-cluster.sh"
"$KIND_DIR/load-images.sh"
"$KIND_DIR/deploy.sh"
"$KIND_DIR/test-dns.sh"
"$KIND_DIR/test-dhcp.sh"
"$KIND_DIR/test-scale.sh"
log "kind scenario passed"
