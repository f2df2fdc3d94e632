#!/usr/bin/env bash
# DHCP the way the event LAN reaches dhcp4 behind MetalLB: a relay (ISC
# dhcrelay, as the LAN's router would run) in a pod on the host network of the
# node that runs dhcp4, with a client (busybox udhcpc) in a network namespace
# behind it on 192.168.1.0/24. The client must get an address from the pool,
# the lb's address as DNS server, and resolve a name through it.
source "$(dirname "$0")/lib.sh"
need_docker
eval "$(kind_addresses)"
node=$(k -n "$NAMESPACE" get pod -l app.kubernetes.io/name=dhcp4 -o jsonpath='{.items[0].spec.nodeName}')
[ -n "$node" ] || die "no dhcp4 pod"
k get namespace "$TEST_NAMESPACE" >/dev/null 2>&1 || k apply -f "$KIND_DIR/manifests/tools.yaml"
sed "s/NODE_NAME/$node/" "$KIND_DIR/manifests/dhcp-relay.yaml" | k apply -f -
k -n "$TEST_NAMESPACE" wait --for=condition=Ready pod/noc-dhcp-relay --timeout=120s
relay() { k -n "$TEST_NAMESPACE" exec noc-dhcp-relay -- "$@"; }
cleanup() {
  relay sh -c 'pkill dhcrelay; ip link del noc-relay; ip netns del noc-lan' >/dev/null 2>&1 || true
  k -n "$TEST_NAMESPACE" delete pod noc-dhcp-relay --wait=false >/dev/null 2>&1 || true
}
trap cleanup EXIT

log "relay on node $node: 192.168.1.1 -> $DHCP_IP"
relay sh -euc '
  ip netns del noc-lan 2>/dev/null || true; ip link del noc-relay 2>/dev/null || true
  ip netns add noc-lan
  ip link add noc-relay type veth peer name noc-client
  ip link set noc-client netns noc-lan
  ip addr add 192.168.1.1/24 dev noc-relay
  ip link set noc-relay up
  ip netns exec noc-lan ip link set lo up
  ip netns exec noc-lan ip link set noc-client up
  uplink=$(ip route show default | sed -n "s/.* dev \([^ ]*\).*/\1/p" | head -1)
  dhcrelay -4 -id noc-relay -iu "$uplink" '"$DHCP_IP"' >/tmp/dhcrelay.log 2>&1
'
log "DHCP client behind the relay"
lease=$(relay ip netns exec noc-lan busybox udhcpc -i noc-client -n -q -f -t 5 -T 3 -s /usr/local/bin/udhcpc-env) ||
  { relay cat /tmp/dhcrelay.log || true; die "no lease through the relay"; }
echo "$lease"
ip=$(sed -n 's/^ip=//p' <<< "$lease")
dns=$(sed -n 's/^dns=//p' <<< "$lease" | cut -d' ' -f1)
router=$(sed -n 's/^router=//p' <<< "$lease")
python3 - "$ip" <<'PY' || die "leased address $ip is not in the pool 192.168.1.100-200"
import ipaddress, sys
a = ipaddress.ip_address(sys.argv[1])
sys.exit(0 if ipaddress.ip_address("192.168.1.100") <= a <= ipaddress.ip_address("192.168.1.200") else 1)
PY
[ "$dns" = "$DNS_IP" ] || die "the lease's DNS server is '$dns', not the lb's $DNS_IP"
[ "$router" = "192.168.1.1" ] || die "the lease's router is '$router', not 192.168.1.1"
echo "ok   lease $ip, DNS $dns, router $router"

relay ip netns exec noc-lan sh -euc "ip addr add $ip/24 dev noc-client; ip route add default via 192.168.1.1"
relay ip netns exec noc-lan dig +time=5 +tries=2 @"$dns" example.com A | grep -q 'status: NOERROR' ||
  die "the client could not resolve through the DNS server its lease named"
echo "ok   the client resolves example.com through $dns"

assigned=$(k -n "$TEST_NAMESPACE" exec noc-dhcp-relay -- curl -s "http://dhcp4-metrics.$NAMESPACE.svc.cluster.local:9547/metrics" 2>/dev/null |
  awk '/^kea_dhcp4_addresses_assigned_total/ {s+=$2} END {print s+0}') || assigned=0
[ "${assigned:-0}" -ge 1 ] || die "kea_dhcp4_addresses_assigned_total is $assigned after a lease"
echo "DHCP tests passed ($assigned address(es) leased)"
