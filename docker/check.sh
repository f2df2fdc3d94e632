#!/usr/bin/env bash
# CI check of the images (issue 6; lb-nodelocal, issue 20), with podman and no registry:
#
#  1. docker/build-images.sh with BASE=scratch: one static release build
#     (cargo --locked, crt-static) staged by docker/stage.sh, then the four
#     images from docker/Dockerfile (BINARIES=prebuilt; nothing is pulled);
#  2. the staged binaries: static (no interpreter, no NEEDED), file
#     capability (lb, resolver cap_net_bind_service=ep; dhcp4 permitted-only), and they run;
#  3. each image's config (User 65532:65532, Entrypoint, ExposedPorts) and
#     contents (exactly the binary, plus the CA bundle for the resolver, with
#     its file capability);
#  4. each image run as the manifests run it (read-only root, every capability
#     dropped but NET_BIND_SERVICE, no privilege escalation), in network
#     namespaces of its own (loopback and a veth pair only: no traffic leaves
#     this machine), where binding :53 and :67 needs the file capability:
#       resolver, no config: /healthz, and `localhost` answered 127.0.0.1;
#       lb in front of a resolver: the backend found by discovery through the
#         container's resolv.conf (glibc's getaddrinfo, linked statically),
#         /readyz, and one query over UDP, TCP and DoT answered via the backend;
#       dhcp4: /healthz and /readyz, and busybox udhcpc on a veth gets a lease
#         with the configured options, written to the lease volume; without
#         NET_BIND_SERVICE it cannot bind :67; with NET_RAW added too (the
#         hostNetwork variant) both are effective and the packet socket opens.
#  5. lb-nodelocal (the node-local DaemonSet's image): root, the lb without a
#     file capability, iptables (nft and legacy backends) and nft that run
#     in it (--version), `lb --check-config` on the DaemonSet's config
#     (k8s/components/nodelocal/configs/node-local.toml); then, as the
#     DaemonSet runs it (uid 0, NET_ADMIN and NET_BIND_SERVICE only,
#     read-only root, no privilege escalation, the node's xtables lock) in a
#     network namespace standing for the node, once per firewall (iptables,
#     nftables): its interface with 169.254.20.10 and its rules appear,
#     /health, /readyz, a cluster.local name (over TCP to the cluster DNS) and
#     another name (the resolv.conf upstream) answered through 169.254.20.10,
#     and at stop the interface and the serving rules go, the fallback stays.
#
# Needs root. Every wait is bounded; everything it starts (containers, images,
# network namespaces, files) is removed on exit. Exits non-zero on the first
# failure, saying what failed. Environment: CARGO_TARGET_DIR (default
# target/), BASE (default scratch), SKIP_CARGO=1 (reuse staged binaries).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$SECONDS

fail() {
  echo "docker/check.sh: FAILED: $*" >&2
  for c in "${containers[@]:-}"; do
    [ -n "$c" ] || continue
    echo "--- podman logs $c (last 30 lines):" >&2
    timeout 20 podman logs --tail 30 "$c" >&2 2>&1 || true
  done
  exit 1
}
checks=0
ok() { checks=$((checks + 1)); echo "  ok: $*"; }

[ "$(id -u)" -eq 0 ] || fail "needs root (podman and network namespaces)"

# --- tools, installed only when missing (Debian packages) ---------------------
need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v dig >/dev/null 2>&1 || need+=(dnsutils)
command -v kdig >/dev/null 2>&1 || need+=(knot-dnsutils)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v setcap >/dev/null 2>&1 || need+=(libcap2-bin)
command -v file >/dev/null 2>&1 || need+=(file)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v readelf >/dev/null 2>&1 || need+=(binutils)
command -v python3 >/dev/null 2>&1 || need+=(python3)
[ -x /usr/sbin/xtables-nft-multi ] || need+=(iptables)
[ -x /usr/sbin/nft ] || need+=(nftables)
[ -x /usr/bin/busybox ] || need+=(busybox)
[ -s /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  timeout 600 apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq "${need[@]}" >/dev/null
fi
export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/docker/containers.conf}

# --- names this run owns, removed on exit ------------------------------------
id=$$
tag=check-$id
tmp=$(mktemp -d /tmp/noc-image-check.XXXXXX)
chmod 0755 "$tmp"
ns_res=nocimg$id-r ns_lb=nocimg$id-l ns_srv=nocimg$id-s ns_cli=nocimg$id-c ns_nl=nocimg$id-n
c_res=nocimg$id-resolver c_backend=nocimg$id-backend c_lb=nocimg$id-lb c_dhcp=nocimg$id-dhcp4
containers=()
images=("noc/lb:$tag" "noc/resolver:$tag" "noc/dhcp4:$tag" "noc/lb-nodelocal:$tag")
cleanup() {
  local rc=$?
  set +e
  for c in "${containers[@]:-}"; do
    [ -n "$c" ] && timeout 60 podman rm -f -t 2 "$c" >/dev/null 2>&1
  done
  for i in "${images[@]}"; do
    timeout 60 podman image exists "$i" 2>/dev/null && timeout 60 podman rmi -f "$i" >/dev/null 2>&1
  done
  for n in "$ns_res" "$ns_lb" "$ns_srv" "$ns_cli" "$ns_nl-iptables" "$ns_nl-nftables"; do
    ip netns del "$n" 2>/dev/null
  done
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

P() { timeout 120 podman "$@"; }

# --- 1. build ------------------------------------------------------------------
echo "== build: static release binaries and the images (BASE=${BASE:-scratch})"
ctx=$tmp/context
# Bounded too: a release build from nothing takes 3-4 minutes on 2 cores.
ENGINE=podman BUILD_MODE=prebuilt BASE=${BASE:-scratch} TAG=$tag IMAGE_REPO=noc \
  STAGE_DIR=$ctx timeout 2400 docker/build-images.sh || fail "docker/build-images.sh"
ok "images built in $((SECONDS - started)) s: ${images[*]}"

# --- 2. binaries -------------------------------------------------------------
echo "== binaries"
# dhcp4's are permitted only: it raises what the pod allows (docker/README.md).
declare -A want_caps=(
  [lb]="cap_net_bind_service=ep"
  [resolver]="cap_net_bind_service=ep"
  [dhcp4]="cap_net_bind_service,cap_net_raw=p"
)
for b in lb resolver dhcp4; do
  f=$ctx/$b
  desc=$(file -b "$f")
  case "$desc" in
    *"static-pie linked"* | *"statically linked"*) ;;
    *) fail "$b is not static: file says: $desc" ;;
  esac
  ! grep -q INTERP <<<"$(readelf -lW "$f")" || fail "$b has a program interpreter"
  ! grep -q NEEDED <<<"$(readelf -dW "$f")" || fail "$b needs shared libraries: $(readelf -dW "$f" | grep NEEDED)"
  caps=$(getcap "$f" | sed 's/^[^ ]* //')
  [ "$caps" = "${want_caps[$b]}" ] || fail "$b file capabilities are '$caps', want ${want_caps[$b]}"
  v=$(timeout 10 "$f" --version) || fail "$b --version"
  ok "$b: ${desc%%,*}, static, $caps, runs ($v)"
done

# --- 3. image config and contents ----------------------------------------------
echo "== image config"
declare -A ports=(
  [lb]="53/udp 53/tcp 853/tcp 8083/tcp"
  [resolver]="53/udp 53/tcp 9167/tcp"
  [dhcp4]="67/udp 9547/tcp"
)
for b in lb resolver dhcp4; do
  img=noc/$b:$tag
  cfg=$(P image inspect --format '{{json .Config}}' "$img") || fail "inspect $img"
  # User, Entrypoint, Cmd (none: the Deployments pass args), ExposedPorts.
  why=$(python3 -c '
import json, sys
c, name, ports = json.loads(sys.argv[1]), sys.argv[2], set(sys.argv[3].split())
got = (c.get("User"), c.get("Entrypoint"), c.get("Cmd"), set(c.get("ExposedPorts") or {}))
want = ("65532:65532", ["/usr/local/bin/" + name], None, ports)
for what, g, w in zip(("User", "Entrypoint", "Cmd", "ExposedPorts"), got, want):
    if g != w:
        print(f"{what} is {sorted(g) if isinstance(g, set) else g!r}, want {sorted(w) if isinstance(w, set) else w!r}")
' "$cfg" "$b" "${ports[$b]}") || fail "python3: config of $img"
  [ -z "$why" ] || fail "$img config: $why"
  ok "$img: User 65532:65532, Entrypoint /usr/local/bin/$b, ExposedPorts ${ports[$b]}"

  mnt=$(P image mount "$img") || fail "mount $img"
  files=$(cd "$mnt" && find . ! -type d | sort | tr '\n' ' ')
  caps=$(getcap "$mnt/usr/local/bin/$b" | sed 's/^[^ ]* //')
  owner=$(stat -c '%u:%g %a' "$mnt/usr/local/bin/$b")
  P image unmount "$img" >/dev/null || true
  if [ "${BASE:-scratch}" = scratch ]; then
    want_files="./usr/local/bin/$b "
    [ "$b" = resolver ] && want_files="./etc/ssl/certs/ca-certificates.crt ./usr/local/bin/resolver "
    [ "$files" = "$want_files" ] || fail "$img holds '$files', want exactly '$want_files'"
  fi
  [ "$caps" = "${want_caps[$b]}" ] || fail "$img: /usr/local/bin/$b capabilities '$caps', want ${want_caps[$b]} (lost in the image?)"
  [ "$owner" = "0:0 755" ] || fail "$img: /usr/local/bin/$b is $owner, want root-owned 755"
  ok "$img holds ${files}(root 755, $caps)"
done
# The flip side of a file capability with the effective bit: a pod that drops
# ALL without adding NET_BIND_SERVICE cannot exec the binary at all (the
# kernel refuses a file whose capabilities it cannot grant), rather than
# starting and failing to bind. docker/README.md says so. dhcp4's file
# capabilities have no effective bit, so it starts (and, in the smoke run
# below, fails to bind :67 without NET_BIND_SERVICE).
for b in lb resolver; do
  containers+=("nocimg$id-nocap-$b")
  if out=$(P run --rm --name "nocimg$id-nocap-$b" --pull=never --network none --read-only \
    --cap-drop=all --security-opt no-new-privileges "noc/$b:$tag" --version 2>&1); then
    fail "noc/$b:$tag ran without NET_BIND_SERVICE: $out"
  fi
  grep -q 'operation not permitted' <<<"$out" || fail "noc/$b:$tag without NET_BIND_SERVICE: '$out', want exec's 'operation not permitted'"
  ok "noc/$b:$tag with no capabilities at all: does not start ($(tail -1 <<<"$out"))"
done
containers+=("nocimg$id-nocap-dhcp4")
out=$(P run --rm --name "nocimg$id-nocap-dhcp4" --pull=never --network none --read-only \
  --cap-drop=all --security-opt no-new-privileges "noc/dhcp4:$tag" --version 2>&1) \
  || fail "noc/dhcp4:$tag with no capabilities: '$out', want it to start (permitted-only file capabilities)"
ok "noc/dhcp4:$tag with no capabilities at all: starts ($out)"

# --- 4. smoke runs ----------------------------------------------------------------
# As the Deployments run them: read-only root, all capabilities dropped but
# NET_BIND_SERVICE, allowPrivilegeEscalation: false (no-new-privileges).
run() { # name netns image args...
  local name=$1 ns=$2
  shift 2
  containers+=("$name")
  P run -d --name "$name" --pull=never --network "ns:/run/netns/$ns" \
    --read-only --cap-drop=all --cap-add=NET_BIND_SERVICE \
    --security-opt no-new-privileges "$@" >/dev/null || fail "podman run $name"
}
mkns() {
  ip netns add "$1" || fail "ip netns add $1"
  ip -n "$1" link set lo up
  # A new namespace keeps the kernel default, so :53/:67 need the capability.
  local start
  start=$(ip netns exec "$1" cat /proc/sys/net/ipv4/ip_unprivileged_port_start)
  [ "$start" -ge 1024 ] || fail "$1: ip_unprivileged_port_start is $start; the bind test would prove nothing"
}
running() { [ "$(P inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }
# wait_http NETNS CONTAINER URL: until URL answers 200, at most 30 s.
wait_http() {
  local ns=$1 c=$2 url=$3 code=000 deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    running "$c" || fail "$c exited (status $(P inspect -f '{{.State.ExitCode}}' "$c" 2>/dev/null))"
    code=$(ip netns exec "$ns" curl -s -o /dev/null -m 2 -w '%{http_code}' "$url") || true
    [ "$code" = 200 ] && return 0
    sleep 0.3
  done
  fail "$c: $url answered $code, not 200, within 30 s"
}
# The running process: uid/gid 65532, only NET_BIND_SERVICE, and from the file
# capability (podman also sets it ambient; exec of a file with capabilities
# clears the ambient set, so CapAmb 0 shows the file's capability at work,
# as under Kubernetes, which sets no ambient capabilities).
check_process() { # CONTAINER [CAPEFF, default 0000000000000400]
  local c=$1 want=${2:-0000000000000400} pid status
  pid=$(P inspect -f '{{.State.Pid}}' "$c") || fail "inspect $c"
  status=$(cat "/proc/$pid/status")
  grep -Eq '^Uid:\s+65532\s+65532\s+65532\s+65532$' <<<"$status" || fail "$c: not uid 65532: $(grep ^Uid <<<"$status")"
  grep -Eq '^Gid:\s+65532\s+65532\s+65532\s+65532$' <<<"$status" || fail "$c: not gid 65532: $(grep ^Gid <<<"$status")"
  grep -q "^CapEff:\s*$want$" <<<"$status" || fail "$c: effective capabilities $(grep ^CapEff <<<"$status"), want $want"
  grep -q '^CapAmb:\s*0000000000000000$' <<<"$status" || fail "$c: ambient capabilities $(grep ^CapAmb <<<"$status"), want none"
  grep -q '^NoNewPrivs:\s*1$' <<<"$status" || fail "$c: no_new_privs not set"
  ok "$c: uid/gid 65532, CapEff $want (file capability; ambient 0), no_new_privs"
}
# dig_expect NETNS WANT DIG-ARGS...: the answer section, one line, must be WANT.
dig_expect() {
  local ns=$1 want=$2 out
  shift 2
  out=$(ip netns exec "$ns" timeout 10 dig +time=2 +tries=2 +short "$@" 2>&1) || fail "dig $* failed: $out"
  [ "$out" = "$want" ] || fail "dig $*: answered '$out', want '$want'"
  ok "dig $*: $out"
}

echo "== resolver, no config (embedded default: 127.0.0.1:5353, metrics :9167)"
mkns "$ns_res"
run "$c_res" "$ns_res" "noc/resolver:$tag"
wait_http "$ns_res" "$c_res" http://127.0.0.1:9167/healthz
ok "$c_res: /healthz 200"
dig_expect "$ns_res" 127.0.0.1 @127.0.0.1 -p 5353 localhost A
dig_expect "$ns_res" localhost. @127.0.0.1 -p 5353 -x 127.0.0.1
check_process "$c_res"

echo "== lb in front of a resolver, backend discovered through resolv.conf"
mkns "$ns_lb"
mkdir -p "$tmp/lb/tls"
cat >"$tmp/lb/unbound.conf" <<'EOF'
server:
    interface: 127.0.0.2
    port: 53
    local-data: "www.noc.test. 300 IN A 192.0.2.80"
    local-data: "backends.noc.test. 300 IN A 127.0.0.2"
EOF
cat >"$tmp/lb/lb.toml" <<'EOF'
[listen]
udp = ["127.0.0.1:53"]
tcp = ["127.0.0.1:53"]
tls = ["127.0.0.1:853"]
tls-cert = "/etc/lb/tls/tls.crt"
tls-key = "/etc/lb/tls/tls.key"

[backends]
# No discover-server: the system resolver, i.e. glibc's getaddrinfo reading
# /etc/resolv.conf, as in the pod.
discover = "backends.noc.test"
discover-port = 53
discover-interval = "1s"

[health]
query = "www.noc.test."

[metrics]
addr = "127.0.0.1:8083"
EOF
printf 'nameserver 127.0.0.2\noptions timeout:1 attempts:2\n' >"$tmp/lb/resolv.conf"
timeout 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=lb.noc.test -addext subjectAltName=DNS:lb.noc.test \
  -keyout "$tmp/lb/tls/tls.key" -out "$tmp/lb/tls/tls.crt" 2>/dev/null || fail "openssl: test certificate"
chmod -R a+rX "$tmp/lb"
run "$c_backend" "$ns_lb" -v "$tmp/lb/unbound.conf:/etc/unbound/unbound.conf:ro" \
  "noc/resolver:$tag" -c /etc/unbound/unbound.conf --metrics-addr 127.0.0.2:9167
wait_http "$ns_lb" "$c_backend" http://127.0.0.2:9167/readyz
ok "$c_backend: /readyz 200"
dig_expect "$ns_lb" 192.0.2.80 @127.0.0.2 www.noc.test A
check_process "$c_backend"
run "$c_lb" "$ns_lb" -v "$tmp/lb/lb.toml:/etc/lb/lb.toml:ro" -v "$tmp/lb/tls:/etc/lb/tls:ro" \
  -v "$tmp/lb/resolv.conf:/etc/resolv.conf:ro" "noc/lb:$tag" -c /etc/lb/lb.toml
wait_http "$ns_lb" "$c_lb" http://127.0.0.1:8083/healthz
ok "$c_lb: /healthz 200"
# Ready only with a healthy backend, and the only one is the discovered one.
wait_http "$ns_lb" "$c_lb" http://127.0.0.1:8083/readyz
grep -q 'backend added.*127.0.0.2:53' <<<"$(P logs "$c_lb" 2>&1)" || fail "$c_lb: no 'backend added 127.0.0.2:53' in its log"
ok "$c_lb: /readyz 200 with backend 127.0.0.2:53 from discovery (static getaddrinfo, resolv.conf)"
dig_expect "$ns_lb" 192.0.2.80 @127.0.0.1 www.noc.test A
dig_expect "$ns_lb" 192.0.2.80 @127.0.0.1 +tcp www.noc.test A
out=$(ip netns exec "$ns_lb" timeout 10 kdig +time=2 +retry=1 +short +tls @127.0.0.1 -p 853 www.noc.test A 2>&1) || fail "kdig +tls: $out"
[ "$out" = 192.0.2.80 ] || fail "kdig +tls @127.0.0.1:853 www.noc.test: answered '$out', want 192.0.2.80"
ok "kdig +tls @127.0.0.1 -p 853 www.noc.test A: $out"
check_process "$c_lb"

echo "== dhcp4 on a veth LAN, a busybox udhcpc client"
mkns "$ns_srv"
mkns "$ns_cli"
ip link add nocimg${id}s netns "$ns_srv" type veth peer name nocimg${id}c netns "$ns_cli" \
  || fail "veth pair"
ip -n "$ns_srv" addr add 192.168.77.1/24 dev nocimg${id}s
ip -n "$ns_srv" link set nocimg${id}s up
ip -n "$ns_cli" link set nocimg${id}c up
mkdir -p "$tmp/dhcp4/leases"
cat >"$tmp/dhcp4/kea-dhcp4.conf" <<EOF
{
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "nocimg${id}s" ] },
    "lease-database": { "type": "memfile", "persist": true, "name": "/data/dhcp4.leases" },
    "valid-lifetime": 600,
    "subnet4": [
      {
        "id": 1,
        "subnet": "192.168.77.0/24",
        "pools": [ { "pool": "192.168.77.100 - 192.168.77.109" } ],
        "option-data": [
          { "name": "routers", "data": "192.168.77.1" },
          { "name": "domain-name-servers", "data": "192.168.77.53" }
        ]
      }
    ]
  }
}
EOF
chmod 0644 "$tmp/dhcp4/kea-dhcp4.conf"
# The lease volume, writable by the server's uid as the PVC is through fsGroup.
chown 65532:65532 "$tmp/dhcp4/leases"
chmod 0700 "$tmp/dhcp4/leases"
run "$c_dhcp" "$ns_srv" -v "$tmp/dhcp4/kea-dhcp4.conf:/etc/kea/kea-dhcp4.conf:ro" \
  -v "$tmp/dhcp4/leases:/data:rw" "noc/dhcp4:$tag" -c /etc/kea/kea-dhcp4.conf
wait_http "$ns_srv" "$c_dhcp" http://127.0.0.1:9547/healthz
ok "$c_dhcp: /healthz 200"
wait_http "$ns_srv" "$c_dhcp" http://127.0.0.1:9547/readyz
ok "$c_dhcp: /readyz 200 (lease file replayed, :67 bound)"
cat >"$tmp/dhcp4/udhcpc.sh" <<EOF
#!/bin/sh
[ "\$1" = bound ] && echo "\$ip \$router \$dns \$serverid \$lease" >"$tmp/dhcp4/lease.txt"
exit 0
EOF
chmod 0755 "$tmp/dhcp4/udhcpc.sh"
ip netns exec "$ns_cli" timeout 30 busybox udhcpc -i nocimg${id}c -f -q -n -t 4 -T 2 \
  -s "$tmp/dhcp4/udhcpc.sh" >"$tmp/dhcp4/udhcpc.log" 2>&1 \
  || fail "udhcpc got no lease: $(tr '\n' ' ' <"$tmp/dhcp4/udhcpc.log")"
got=$(cat "$tmp/dhcp4/lease.txt" 2>/dev/null || true)
want="192.168.77.100 192.168.77.1 192.168.77.53 192.168.77.1 600"
[ "$got" = "$want" ] || fail "udhcpc lease (ip router dns serverid lease): '$got', want '$want'"
ok "udhcpc: DISCOVER/OFFER/REQUEST/ACK, lease $got"
grep -q '^192\.168\.77\.100,' "$tmp/dhcp4/leases/dhcp4.leases" 2>/dev/null \
  || fail "lease 192.168.77.100 not in the lease file on the volume"
[ "$(stat -c %u "$tmp/dhcp4/leases/dhcp4.leases")" = 65532 ] || fail "lease file not written by uid 65532"
ok "lease file on the volume holds 192.168.77.100, owned by 65532"
check_process "$c_dhcp"
grep -q 'no packet socket' <<<"$(P logs "$c_dhcp" 2>&1)" \
  || fail "$c_dhcp: NET_RAW was not added, yet it did not log that it broadcasts instead"
ok "$c_dhcp: without NET_RAW, replies to clients without an address are broadcast (logged)"
P rm -f -t 5 "$c_dhcp" >/dev/null || fail "stopping $c_dhcp"

# Without NET_BIND_SERVICE dhcp4 starts (no effective file capability) but
# cannot bind :67, and says so.
c_nobind=nocimg$id-dhcp4-nobind
containers+=("$c_nobind")
if out=$(P run --rm --name "$c_nobind" --pull=never --network "ns:/run/netns/$ns_srv" \
  --read-only --cap-drop=all --security-opt no-new-privileges \
  -v "$tmp/dhcp4/kea-dhcp4.conf:/etc/kea/kea-dhcp4.conf:ro" -v "$tmp/dhcp4/leases:/data:rw" \
  "noc/dhcp4:$tag" -c /etc/kea/kea-dhcp4.conf 2>&1); then
  fail "$c_nobind served without NET_BIND_SERVICE: $out"
fi
grep -qi 'permission denied' <<<"$out" || fail "$c_nobind: '$out', want a bind refused with permission denied"
ok "$c_nobind: without NET_BIND_SERVICE it cannot bind :67 ($(grep -i -m1 'permission denied' <<<"$out" | cut -c1-160))"

# The hostNetwork variant adds NET_RAW: the same image makes it effective and
# answers a client without an address by unicast through its packet socket.
echo "== dhcp4 with NET_RAW added (the hostNetwork variant's capabilities)"
c_raw=nocimg$id-dhcp4-raw
run "$c_raw" "$ns_srv" --cap-add=NET_RAW -v "$tmp/dhcp4/kea-dhcp4.conf:/etc/kea/kea-dhcp4.conf:ro" \
  -v "$tmp/dhcp4/leases:/data:rw" "noc/dhcp4:$tag" -c /etc/kea/kea-dhcp4.conf
wait_http "$ns_srv" "$c_raw" http://127.0.0.1:9547/readyz
check_process "$c_raw" 0000000000002400
! grep -q 'no packet socket' <<<"$(P logs "$c_raw" 2>&1)" \
  || fail "$c_raw: NET_RAW added, yet no packet socket: $(P logs "$c_raw" 2>&1 | grep 'no packet socket')"
rm -f "$tmp/dhcp4/lease.txt"
ip netns exec "$ns_cli" timeout 30 busybox udhcpc -i nocimg${id}c -f -q -n -t 4 -T 2 \
  -s "$tmp/dhcp4/udhcpc.sh" >"$tmp/dhcp4/udhcpc.log" 2>&1 \
  || fail "udhcpc got no lease from $c_raw: $(tr '\n' ' ' <"$tmp/dhcp4/udhcpc.log")"
got=$(cat "$tmp/dhcp4/lease.txt" 2>/dev/null || true)
[ "$got" = "$want" ] || fail "udhcpc lease from $c_raw: '$got', want '$want'"
ok "$c_raw: packet socket open (no broadcast fallback); udhcpc got its lease again ($got)"

# --- lb-nodelocal -----------------------------------------------------------
echo "== lb-nodelocal: the node-local DaemonSet's image"
img=noc/lb-nodelocal:$tag
cfg=$(P image inspect --format '{{json .Config}}' "$img") || fail "inspect $img"
why=$(python3 -c '
import json, sys
c = json.loads(sys.argv[1])
got = (c.get("User"), c.get("Entrypoint"), c.get("Cmd"), sorted(c.get("ExposedPorts") or {}))
want = ("0:0", ["/usr/local/bin/lb"], None, sorted(["53/udp", "53/tcp", "8080/tcp", "9253/tcp"]))
for what, g, w in zip(("User", "Entrypoint", "Cmd", "ExposedPorts"), got, want):
    if g != w:
        print(f"{what} is {g!r}, want {w!r}")
' "$cfg") || fail "python3: config of $img"
[ -z "$why" ] || fail "$img config: $why"
ok "$img: User 0:0 (root, as node-local-dns), Entrypoint /usr/local/bin/lb, ExposedPorts 53/udp 53/tcp 8080/tcp 9253/tcp"
mnt=$(P image mount "$img") || fail "mount $img"
nl_lb_caps=$(getcap "$mnt/usr/local/bin/lb")
nl_lb_file=$(file -b "$mnt/usr/local/bin/lb")
nl_shell=$(ls "$mnt/bin/sh" "$mnt/usr/bin/sh" 2>/dev/null || true)
nl_tools=$(cd "$mnt/usr/sbin" && ls | tr '\n' ' ')
nl_files=$(cd "$mnt" && find . ! -type d | wc -l)
P image unmount "$img" >/dev/null || true
[ -z "$nl_lb_caps" ] || fail "$img: /usr/local/bin/lb has file capabilities ($nl_lb_caps); as root it needs none"
case "$nl_lb_file" in *"static-pie linked"* | *"statically linked"*) ;; *) fail "$img: lb is not static: $nl_lb_file" ;; esac
[ -z "$nl_shell" ] || fail "$img holds a shell ($nl_shell)"
for t in iptables ip6tables iptables-legacy ip6tables-legacy nft xtables-nft-multi xtables-legacy-multi; do
  grep -qw -- "$t" <<<"$nl_tools" || fail "$img has no /usr/sbin/$t (has: $nl_tools)"
done
ok "$img: static lb without file capabilities, no shell, /usr/sbin: $nl_tools($nl_files files)"
# The tools run inside the image (their shared objects and loader are there),
# with what the DaemonSet gives them: uid 0, NET_ADMIN and NET_BIND_SERVICE,
# read-only root, no privilege escalation (and here no network).
nl_run() { # name entrypoint podman-args... image args...
  local name=nocimg$id-nl-$1 entry=$2
  shift 2
  containers+=("$name")
  P run --rm --name "$name" --pull=never --network none --read-only --user 0:0 \
    --cap-drop=all --cap-add=NET_ADMIN --cap-add=NET_BIND_SERVICE --security-opt no-new-privileges \
    --entrypoint "$entry" "$@" 2>&1
}
for t in iptables ip6tables iptables-legacy ip6tables-legacy nft; do
  out=$(nl_run "v-$t" "/usr/sbin/$t" "$img" --version) || fail "$img: $t --version: $out"
  case "$t:$out" in
    iptables:*nf_tables* | ip6tables:*nf_tables* | iptables-legacy:*legacy* | ip6tables-legacy:*legacy* | nft:nftables*) ;;
    *) fail "$img: $t --version said '$out'" ;;
  esac
  ok "$img: $t --version: $out"
done
mkdir -p "$tmp/nl"
cp k8s/components/nodelocal/configs/node-local.toml "$tmp/nl/node-local.toml"
printf 'nameserver 127.0.0.2\noptions timeout:1 attempts:2\n' >"$tmp/nl/resolv.conf"
chmod -R a+rX "$tmp/nl"
out=$(nl_run check /usr/local/bin/lb -v "$tmp/nl/node-local.toml:/etc/lb/node-local.toml:ro" \
  -v "$tmp/nl/resolv.conf:/etc/resolv.conf:ro" "$img" -c /etc/lb/node-local.toml --check-config) \
  || fail "$img: lb --check-config on k8s/components/nodelocal/configs/node-local.toml: $out"
grep -q '^node-local: 169.254.20.10 on nodelocaldns' <<<"$out" || fail "$img: lb --check-config summary has no node-local line: $out"
ok "$img: lb --check-config on the DaemonSet's node-local.toml: $(grep '^node-local:' <<<"$out" | head -1)"

# As the DaemonSet runs it, in a namespace standing for the node: the agent
# makes its interface and rules there. This kernel may lack the dummy module
# (then link-type ifb); kube-dns-upstream is a resolver on 127.0.0.2, which
# is also the upstream in the node's resolv.conf.
touch "$tmp/nl/xtables.lock"
printf '%s\n' 'server:' '    interface: 127.0.0.2' '    port: 53' \
  '    local-data: "www.noc.test. 300 IN A 192.0.2.80"' \
  '    local-data: "kubernetes.default.svc.cluster.local. 30 IN A 10.96.0.1"' >"$tmp/nl/unbound.conf"
chmod a+r "$tmp/nl/unbound.conf"
for fw in iptables nftables; do
  ns=$ns_nl-$fw c_up=nocimg$id-nl-up-$fw c_nl=nocimg$id-nl-$fw
  mkns "$ns"
  link=dummy
  ip -n "$ns" link add nocimgdummy type dummy 2>/dev/null || link=ifb
  ip -n "$ns" link del nocimgdummy 2>/dev/null || true
  sed -e "s/^link-type = .*/link-type = \"$link\"/" -e "s/^firewall = .*/firewall = \"$fw\"/" \
    -e 's/^cluster-dns = .*/cluster-dns = "127.0.0.2"/' k8s/components/nodelocal/configs/node-local.toml >"$tmp/nl/$fw.toml"
  chmod a+r "$tmp/nl/$fw.toml"
  run "$c_up" "$ns" -v "$tmp/nl/unbound.conf:/etc/unbound/unbound.conf:ro" \
    "noc/resolver:$tag" -c /etc/unbound/unbound.conf --metrics-addr 127.0.0.2:9167
  wait_http "$ns" "$c_up" http://127.0.0.2:9167/readyz
  containers+=("$c_nl")
  P run -d --name "$c_nl" --pull=never --network "ns:/run/netns/$ns" --read-only --user 0:0 \
    --cap-drop=all --cap-add=NET_ADMIN --cap-add=NET_BIND_SERVICE --security-opt no-new-privileges \
    -v "$tmp/nl/$fw.toml:/etc/lb/node-local.toml:ro" -v "$tmp/nl/resolv.conf:/etc/resolv.conf:ro" \
    -v "$tmp/nl/xtables.lock:/run/xtables.lock" "$img" -c /etc/lb/node-local.toml --lameduck 1 >/dev/null \
    || fail "podman run $c_nl"
  wait_http "$ns" "$c_nl" http://169.254.20.10:8080/health
  wait_http "$ns" "$c_nl" http://169.254.20.10:9253/readyz
  ok "$c_nl ($fw, link-type $link): /health on 169.254.20.10:8080 and /readyz on :9253 answer 200"
  addrs=$(ip -n "$ns" -br addr show dev nodelocaldns 2>&1) || fail "$c_nl: no interface nodelocaldns: $addrs"
  grep -q '169\.254\.20\.10/32' <<<"$addrs" || fail "$c_nl: nodelocaldns has '$addrs', want 169.254.20.10/32"
  if [ "$fw" = iptables ]; then
    rules=$(ip netns exec "$ns" iptables-save 2>&1)
    grep -Eq -- '-d 169\.254\.20\.10/32 -p udp .*(NOTRACK|CT --notrack)' <<<"$rules" \
      || fail "$c_nl: no NOTRACK rule for 169.254.20.10 udp/53 in the namespace: $rules"
    grep -q -- 'DNAT --to-destination 10.96.0.10:53' <<<"$rules" || fail "$c_nl: no fallback DNAT to 10.96.0.10:53: $rules"
  else
    rules=$(ip netns exec "$ns" nft list table inet node_local_dns 2>&1) || fail "$c_nl: no nft table inet node_local_dns: $rules"
    grep -q 'notrack' <<<"$rules" || fail "$c_nl: no notrack rule in inet node_local_dns: $rules"
    grep -q 'dnat .*10.96.0.10' <<<"$rules" || fail "$c_nl: no fallback dnat to 10.96.0.10: $rules"
  fi
  ok "$c_nl: interface nodelocaldns with 169.254.20.10/32, $fw rules (NOTRACK, fallback DNAT to 10.96.0.10:53) in place"
  dig_expect "$ns" 192.0.2.80 @169.254.20.10 www.noc.test A
  dig_expect "$ns" 10.96.0.1 @169.254.20.10 kubernetes.default.svc.cluster.local A
  dig_expect "$ns" 10.96.0.1 @169.254.20.10 +tcp kubernetes.default.svc.cluster.local A
  series=$(ip netns exec "$ns" curl -s -m 2 http://127.0.0.1:9253/metrics) || fail "$c_nl: /metrics"
  grep -q '^coredns_cache_hits_total{' <<<"$series" || fail "$c_nl: no coredns_cache_hits_total after a repeated query"
  grep -q '^coredns_forward_requests_total{to="127.0.0.2:53"}' <<<"$series" \
    || fail "$c_nl: no coredns_forward_requests_total{to=\"127.0.0.2:53\"}"
  ok "$c_nl: CoreDNS's series after the queries (cache hits, forward requests to 127.0.0.2:53)"
  pid=$(P inspect -f '{{.State.Pid}}' "$c_nl") || fail "inspect $c_nl"
  status=$(cat "/proc/$pid/status")
  grep -Eq '^Uid:\s+0\s+0\s+0\s+0$' <<<"$status" || fail "$c_nl: not uid 0: $(grep ^Uid <<<"$status")"
  grep -q '^CapEff:\s*0000000000001400$' <<<"$status" \
    || fail "$c_nl: effective capabilities $(grep ^CapEff <<<"$status"), want NET_ADMIN and NET_BIND_SERVICE (0000000000001400)"
  grep -q '^NoNewPrivs:\s*1$' <<<"$status" || fail "$c_nl: no_new_privs not set"
  ok "$c_nl: uid 0, CapEff 0000000000001400 (NET_ADMIN, NET_BIND_SERVICE only), no_new_privs"
  # Stop (SIGTERM): hand-over, drain, then the interface and every rule but
  # the fallback go (keep-fallback), so queries keep reaching the cluster DNS.
  P stop -t 20 "$c_nl" >/dev/null || fail "podman stop $c_nl"
  code=$(P inspect -f '{{.State.ExitCode}}' "$c_nl")
  [ "$code" = 0 ] || fail "$c_nl exited $code after SIGTERM"
  ! ip -n "$ns" link show nodelocaldns >/dev/null 2>&1 || fail "$c_nl: interface nodelocaldns left after stop"
  if [ "$fw" = iptables ]; then
    rules=$(ip netns exec "$ns" iptables-save 2>&1)
    ! grep -Eq -- '-d 169\.254\.20\.10/32 .*(NOTRACK|CT --notrack)' <<<"$rules" || fail "$c_nl: NOTRACK rules left after stop: $rules"
    grep -q -- 'DNAT --to-destination 10.96.0.10:53' <<<"$rules" || fail "$c_nl: the fallback DNAT went at stop (keep-fallback): $rules"
  else
    rules=$(ip netns exec "$ns" nft list table inet node_local_dns 2>&1) || fail "$c_nl: table inet node_local_dns gone at stop (keep-fallback)"
    ! grep -q 'notrack' <<<"$rules" || fail "$c_nl: notrack rules left after stop: $rules"
    grep -q 'dnat .*10.96.0.10' <<<"$rules" || fail "$c_nl: the fallback dnat went at stop (keep-fallback): $rules"
  fi
  ok "$c_nl: exited 0 at SIGTERM; interface and serving rules removed, the fallback DNAT kept"
  P rm -f -t 2 "$c_nl" "$c_up" >/dev/null 2>&1 || true
done

echo "docker/check.sh: all $checks checks passed in $((SECONDS - started)) s"
