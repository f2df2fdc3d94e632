#!/usr/bin/env bash
# The lb follows the resolvers without a restart: scale to REPLICAS (3) under a
# dnsperf load, check the lb's backends, scale back, and report lost queries.
source "$(dirname "$0")/lib.sh"
"$KIND_DIR/tools.sh"
eval "$(kind_addresses)"
replicas=${REPLICAS:-3}
before=$(k -n "$NAMESPACE" get deploy resolver -o jsonpath='{.spec.replicas}')
lb_pods=$(k -n "$NAMESPACE" get pods -l app.kubernetes.io/name=lb -o jsonpath='{range .items[*]}{.metadata.name}={.status.containerStatuses[0].restartCount} {end}')

backends_up() {
  tools curl -s "http://lb-metrics.$NAMESPACE.svc.cluster.local:8083/metrics" |
    awk '/^dnsdist_server_status/ && $2==1 {n++} END {print n+0}'
}
wait_backends() {
  for _ in $(seq 90); do
    [ "$(backends_up)" = "$1" ] && return 0
    sleep 1
  done
  die "the lb shows $(backends_up) backends up, not $1"
}

tools sh -c 'printf "example.com A\nexample.org A\nexample.net A\nlocalhost A\n" > /tmp/scale-queries.txt'
log "dnsperf for 40 s against $DNS_IP while resolvers go $before -> $replicas -> $before"
tools sh -c "dnsperf -s $DNS_IP -d /tmp/scale-queries.txt -c 4 -Q 2000 -l 40 > /tmp/scale-dnsperf.txt 2>&1" &
load=$!
sleep 5
k -n "$NAMESPACE" scale deployment/resolver --replicas="$replicas"
k -n "$NAMESPACE" rollout status deployment/resolver --timeout=180s
wait_backends "$replicas"
echo "ok   the lb balances over $replicas resolvers"
sleep 5
k -n "$NAMESPACE" scale deployment/resolver --replicas="$before"
k -n "$NAMESPACE" rollout status deployment/resolver --timeout=180s
wait_backends "$before"
echo "ok   the lb is back to $before resolvers"
wait "$load" || true
tools cat /tmp/scale-dnsperf.txt | grep -E "Queries (sent|completed|lost)|Response codes" || true
after=$(k -n "$NAMESPACE" get pods -l app.kubernetes.io/name=lb -o jsonpath='{range .items[*]}{.metadata.name}={.status.containerStatuses[0].restartCount} {end}')
[ "$lb_pods" = "$after" ] || die "the lb pods restarted or changed ($lb_pods -> $after)"
echo "scale test passed (no lb restart)"
