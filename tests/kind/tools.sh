#!/usr/bin/env bash
# Starts (or finds) the test tools pod in namespace noc-test: dig, kdig,
# dnsperf, a DHCP client and relay (image noc/kind-tools:test, built and loaded
# by load-images.sh).
source "$(dirname "$0")/lib.sh"
need kind
if ! k -n "$TEST_NAMESPACE" get pod noc-tools >/dev/null 2>&1; then
  k apply -f "$KIND_DIR/manifests/tools.yaml"
fi
k -n "$TEST_NAMESPACE" wait --for=condition=Ready pod/noc-tools --timeout=120s
