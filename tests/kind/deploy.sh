#!/usr/bin/env bash
# Deploys an overlay (OVERLAY, default k8s/overlays/poc) to the kind cluster:
# the DoT Secret (k8s/scripts/tls-cert.sh), then the render with the seed's
# LAN addresses (192.168.139.50-70, lb .53, dhcp4 .67) moved onto kind's
# Docker network, then waits for every rollout and the LoadBalancer address.
# Without the prometheus-operator CRDs (make monitoring) the ServiceMonitors
# and PrometheusRules are left out, with a warning.
source "$(dirname "$0")/lib.sh"
need_docker
need python3
cluster_exists || die "no kind cluster $CLUSTER: run tests/kind/create-cluster.sh (make deploy does)"
eval "$(kind_addresses)"
log "kind addresses: pool $POOL, lb $DNS_IP, dhcp4 $DHCP_IP"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$KIND_DIR/render.sh" "$OVERLAY" "$(kind_subnet)" > "$work/kind.yaml" || die "$OVERLAY does not render"

if ! grep -q '^kind: Certificate$' "$work/kind.yaml"; then
  log "DoT certificate (k8s/scripts/tls-cert.sh)"
  KUBECTL="$KUBECTL --context $KCTX" "$REPO/k8s/scripts/tls-cert.sh" --namespace "$NAMESPACE" --ip "$DNS_IP" ${FORCE_CERT:+--force}
fi

if ! k get crd servicemonitors.monitoring.coreos.com >/dev/null 2>&1; then
  log "WARNING: no prometheus-operator CRDs (run make monitoring): applying without ServiceMonitors and PrometheusRules"
  python3 - "$work/kind.yaml" <<'PY'
import sys
docs = open(sys.argv[1]).read().split("\n---\n")
keep = [d for d in docs if "apiVersion: monitoring.coreos.com/" not in d]
open(sys.argv[1], "w").write("\n---\n".join(keep))
PY
fi
k get namespace monitoring >/dev/null 2>&1 || k create namespace monitoring

log "applying $OVERLAY"
k apply -f "$work/kind.yaml"
for deployment in redis resolver lb dhcp4; do
  k -n "$NAMESPACE" rollout status "deployment/$deployment" --timeout=300s || {
    k -n "$NAMESPACE" get pods -o wide
    k -n "$NAMESPACE" logs "deployment/$deployment" --tail=50 || true
    die "deployment/$deployment did not roll out"
  }
done
for _ in $(seq 60); do
  ip=$(k -n "$NAMESPACE" get service lb -o jsonpath='{.status.loadBalancer.ingress[0].ip}' 2>/dev/null || true)
  [ "$ip" = "$DNS_IP" ] && break
  sleep 2
done
[ "${ip:-}" = "$DNS_IP" ] || die "Service lb did not get its LoadBalancer address $DNS_IP from MetalLB (got '${ip:-}')"
log "deployed: DNS at $DNS_IP (53/udp, 53/tcp, 853/tcp)"
