#!/usr/bin/env bash
# What runs: pods, Services and their addresses, the lb's backends.
source "$(dirname "$0")/lib.sh"
need kind
k -n "$NAMESPACE" get pods,services,endpoints,pvc,pdb -o wide
k -n metallb-system get ipaddresspools.metallb.io,l2advertisements.metallb.io 2>/dev/null || true
k -n monitoring get configmaps -l grafana_dashboard=1 2>/dev/null || true
if k -n "$TEST_NAMESPACE" get pod noc-tools >/dev/null 2>&1; then
  echo "lb backends (dnsdist_server_status):"
  tools curl -s "http://lb-metrics.$NAMESPACE.svc.cluster.local:8083/metrics" | grep '^dnsdist_server_status' || true
fi
