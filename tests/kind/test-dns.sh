#!/usr/bin/env bash
# DNS through the lb's LoadBalancer address and its ClusterIP, from a pod:
# recursion, NXDOMAIN, TCP, DoT (kdig, certificate checked against the Secret),
# the shared Redis cache, and the lb's view of its backends.
source "$(dirname "$0")/lib.sh"
"$KIND_DIR/tools.sh"
eval "$(kind_addresses)"
fail=0
check() {
  local what=$1; shift
  if out=$("$@" 2>&1); then
    echo "ok   $what"
  else
    echo "FAIL $what: $out" >&2
    fail=1
  fi
}
expect() { local want=$1; shift; local got; got=$("$@" 2>&1); [[ "$got" == *"$want"* ]] || { echo "$got"; return 1; }; }

lb_cluster_ip=$(k -n "$NAMESPACE" get service lb -o jsonpath='{.spec.clusterIP}')
for server in "$DNS_IP" "$lb_cluster_ip"; do
  check "recursion via $server (example.com A)" expect "status: NOERROR" tools dig +time=5 +tries=2 @"$server" example.com A
  check "NXDOMAIN via $server" expect "status: NXDOMAIN" tools dig +time=5 +tries=2 @"$server" no-such-name.example.com A
  check "TCP via $server" expect "status: NOERROR" tools dig +tcp +time=5 @"$server" example.org A
  check "local zone via $server (localhost)" expect "127.0.0.1" tools dig +short @"$server" localhost A
done
k -n "$NAMESPACE" get secret lb-tls -o jsonpath='{.data.tls\.crt}' | base64 -d > /tmp/noc-lb-tls.crt
k -n "$TEST_NAMESPACE" cp /tmp/noc-lb-tls.crt noc-tools:/tmp/lb-tls.crt
check "DoT via $DNS_IP:853 (certificate verified)" expect "NOERROR" \
  tools kdig +tls-ca=/tmp/lb-tls.crt +tls-hostname=dns.noc-poc.internal @"$DNS_IP" -p 853 example.net A
check "DoT via $DNS_IP:853 (kdig +tls)" expect "NOERROR" tools kdig +tls @"$DNS_IP" -p 853 example.com AAAA

# The shared cache: a name one resolver looked up is in Redis for the others.
name="cache-$(date +%s).example.com"
tools dig +short @"$DNS_IP" "$name" A >/dev/null || true
sleep 1
keys=$(k -n "$NAMESPACE" exec deploy/redis -- redis-cli dbsize 2>/dev/null | tr -dc 0-9)
if [ "${keys:-0}" -gt 0 ]; then echo "ok   answers are shared through Redis ($keys keys)"; else echo "FAIL no key in Redis" >&2; fail=1; fi

# The lb sees every resolver pod as a backend, up.
resolvers=$(k -n "$NAMESPACE" get deploy resolver -o jsonpath='{.status.readyReplicas}')
check "the lb has $resolvers backends up" expect "up=$resolvers" sh -c \
  "$KUBECTL --context $KCTX -n $TEST_NAMESPACE exec noc-tools -- curl -s http://lb-metrics.$NAMESPACE.svc:8083/metrics \
   | awk '/^dnsdist_server_status/ && \$2==1 {n++} END {print \"up=\" n+0}'"
[ "$fail" = 0 ] || die "DNS tests failed"
echo "DNS tests passed"
