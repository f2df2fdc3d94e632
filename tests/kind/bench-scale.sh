#!/usr/bin/env bash
# The seed's benchmark: dnsperf -c 10 -T 10 -l 30 from a pod against the lb's
# LoadBalancer address, for each resolver count in REPLICAS_LIST (1 2 3).
source "$(dirname "$0")/lib.sh"
"$KIND_DIR/tools.sh"
eval "$(kind_addresses)"
list=${REPLICAS_LIST:-1 2 3}
duration=${DURATION:-30}
before=$(k -n "$NAMESPACE" get deploy resolver -o jsonpath='{.spec.replicas}')
# Names the cluster can resolve from the root; the first pass warms the caches.
tools sh -c 'for n in example.com example.org example.net iana.org wikipedia.org debian.org kernel.org \
  kubernetes.io github.com python.org rust-lang.org crates.io; do echo "$n A"; echo "$n AAAA"; done > /tmp/bench-queries.txt'
printf "%-9s %12s %14s %10s %s\n" replicas QPS "avg latency" lost "(dnsperf -c 10 -T 10 -l $duration)"
for r in $list; do
  k -n "$NAMESPACE" scale deployment/resolver --replicas="$r" >/dev/null
  k -n "$NAMESPACE" rollout status deployment/resolver --timeout=180s >/dev/null
  sleep 5
  tools dnsperf -s "$DNS_IP" -d /tmp/bench-queries.txt -l 5 >/dev/null 2>&1 || true
  out=$(tools dnsperf -s "$DNS_IP" -d /tmp/bench-queries.txt -c 10 -T 10 -l "$duration" 2>&1)
  qps=$(sed -n 's/.*Queries per second: *\([0-9.]*\).*/\1/p' <<< "$out")
  lat=$(sed -n 's/.*Average Latency (s): *\([0-9.]*\).*/\1/p' <<< "$out")
  lost=$(sed -n 's/.*Queries lost: *\([0-9]*\).*/\1/p' <<< "$out")
  printf "%-9s %12s %12s s %10s\n" "$r" "${qps:-?}" "${lat:-?}" "${lost:-?}"
done
k -n "$NAMESPACE" scale deployment/resolver --replicas="$before" >/dev/null
