#!/usr/bin/env bash
# Prints OVERLAY's render for kind: the seed's LAN addresses (pool
# 192.168.139.50-70, lb .53, dhcp4 .67) moved to the same layout at the top of
# kind's Docker network SUBNET (e.g. 172.18.0.0/16 -> 172.18.255.50-70, .53,
# .67). Needs only kubectl and python3, so k8s/check.sh checks this render too.
#   tests/kind/render.sh [OVERLAY [SUBNET]]
set -euo pipefail
overlay=${1:-$(cd "$(dirname "$0")/../.." && pwd)/k8s/overlays/poc}
subnet=${2:-172.18.0.0/16}
eval "$(python3 - "$subnet" <<'PY'
import ipaddress, sys
net = ipaddress.ip_network(sys.argv[1])
start = net.broadcast_address - 205  # x.y.255.50 on a /16
print(f"POOL={start}-{start + 20} DNS_IP={start + 3} DHCP_IP={start + 17}")
PY
)"
"${KUBECTL:-kubectl}" kustomize "$overlay" | sed \
  -e "s/192\.168\.139\.50-192\.168\.139\.70/$POOL/g" \
  -e "s/192\.168\.139\.53/$DNS_IP/g" \
  -e "s/192\.168\.139\.67/$DHCP_IP/g"
