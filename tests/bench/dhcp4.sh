#!/usr/bin/env bash
# Benchmark: our `dhcp4` against Kea (Debian's kea-dhcp4 2.2, memfile) on identical
# perfdhcp workloads, in one run. See tests/bench/README.md.
#
#   sudo tests/bench/dhcp4.sh                  # full run: about 7 min on 2 cores
#   sudo BUILD=0 REPEAT=1 RATES="1000 8000 max" tests/bench/dhcp4.sh   # smoke run
#
# Setup: two network namespaces joined by a veth pair, the server's (SERVER_IP on
# SUBNET) and perfdhcp's (CLIENT_IP). perfdhcp always acts as a relay: giaddr is
# its own address (-l CLIENT_IP), so both servers pick the subnet by giaddr and
# answer to CLIENT_IP:67. Each server runs in turn in the server namespace with the
# same config file: one subnet with one big pool, memfile lease file in a fresh
# directory, persist true, lfc-interval 0 (no compaction), Kea's multi-threading
# off (Kea 2.2's default; ours ignores the key), Kea's per-lease INFO log lines
# (kea-dhcp4.leases) at KEA_LEASE_LOG. Every run starts the server fresh with an
# empty lease file, so all runs see the same state.
#
# Each run: perfdhcp -R CLIENTS (distinct clients, so every exchange is a new
# lease) full DORA exchanges at an offered rate for DURATION s, then waits WAIT_US
# for replies still in flight (-W, so the exchanges cut off by the end of the run
# are not counted as drops). Recorded per run:
#   exchanges/s   ACKs received / DURATION (completed DORA exchanges per second)
#   drops         (DISCOVERs sent - OFFERs received) + (REQUESTs sent - ACKs
#                 received); a reply later than perfdhcp's drop time (1 s) is a drop
#   latency       perfdhcp's "avg delay" of DISCOVER-OFFER and REQUEST-ACK, and
#                 the medians of both from its per-exchange timestamps (-x t;
#                 perfdhcp 2.2 prints no median itself)
#   CPU           utime+stime of the server process (/proc/PID/stat, all its
#                 threads) from just before perfdhcp starts to just after it ends,
#                 in seconds per 1000 leases (ACKs received)
#   lease file    lines (header excluded) and duplicate addresses in it; for ours
#                 also the ACKs it sent and the fsyncs it made
#                 (dhcp4_lease_file_fsyncs, scraped inside the namespace)
# FSYNC_CHECK=1 adds one more short run per server under `strace -c` counting
# fsync-family calls: Kea's memfile never fsyncs (one write(2) per lease), ours
# fsyncs every lease before its ACK (group commit); the check also compares our
# metric with the system calls strace saw.
#
# CONFIG=classified swaps the config for one that makes every packet go through
# classification (issue 16): 20 client classes whose tests read options 60, 61,
# 77, 82 (relay4[]) and pkt4 fields, six of them matching every perfdhcp client;
# option-def'd custom options (always-send) from the matching classes; 300
# hardware-address reservations in the subnet (outside the pool), so each packet
# also costs a reservation lookup. perfdhcp then sends options 60 (a UEFI PXE
# vendor class), 93, 77 ("lab-bench") and 82 (circuit id "port-7", remote id
# "relay-1") in every DISCOVER and REQUEST (-o). The script checks the config
# with `kea-dhcp4 -t` before the first run.
#
# Knobs (environment):
#   CONFIG=basic     basic: the one-subnet config below; classified: the above
#   REPEAT=3         repetitions of the whole comparison; tables give medians.
#                    The server that goes first alternates between repetitions.
#   RATES="1000 2000 4000 6000 8000 10000 max"   offered exchanges/s (perfdhcp -r);
#                    max: no -r, perfdhcp sends as fast as it can
#   DURATION=5       seconds of each perfdhcp run (-p)
#   WAIT_US=1000000  perfdhcp -W: wait for late replies after the run
#   CLIENTS=1000000  perfdhcp -R
#   SUBNET=10.64.0.0/12 SERVER_IP=10.64.0.1 CLIENT_IP=10.64.0.2
#   POOL="10.65.0.0 - 10.79.255.254"   983,039 addresses. Ours holds an offered
#                    address for 10 s (Kea 2.2 holds none), and at the max rate
#                    perfdhcp offers over 50,000 new clients a second, which
#                    exhausts a /16 pool within 2 s; this pool does not run out
#                    in DURATION s at any rate
#   KEA_LEASE_LOG=WARN   severity of Kea's kea-dhcp4.leases logger. INFO (the
#                    Debian default) logs two lines per lease; ours logs none, so
#                    by default Kea does not either
#   NOISE_MAX=0.2 RETRIES=2 RETRY_BUDGET=15 QUIET_WAIT=120   this machine is shared:
#                    before each run, wait up to QUIET_WAIT s until other processes
#                    use at most NOISE_MAX cores; redo a run during which they used
#                    more (other = all busy CPU time - server - perfdhcp, plus steal),
#                    up to RETRIES times, at most RETRY_BUDGET redos in all
#   FSYNC_CHECK=1    0: skip the strace runs
#   BUILD=1          0: skip `cargo build --release -p dhcp4`
#   OURS_ARGS=       more arguments for ours, e.g. "--receive-window 0 --commit-window 0"
#                    to measure without the latency it trades for CPU
#   OURS_BIN=        benchmark this dhcp4 binary instead (no build), e.g. one built
#                    from `git archive REV` elsewhere; OURS_SOURCE= names it in the report
#   WORKDIR=         configs, lease files, logs, raw results (default: mktemp in /tmp;
#                    the lease files are there, so it must be a real disk: fsync
#                    on tmpfs costs nothing)
#
# Needs root (network namespaces), perfdhcp and kea-dhcp4 (Debian:
# kea-dhcp4-server, kea-admin; installed when missing), curl, strace for
# FSYNC_CHECK. All DHCP traffic stays on the veth pair between the two namespaces;
# the namespaces (and with them the veth pair) are deleted on exit. Only the
# processes the script started are stopped, by PID.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"
# shellcheck source=tests/bench/lib_dhcp.sh
source "$HERE/lib_dhcp.sh"

KNOBS=(CONFIG REPEAT RATES DURATION WAIT_US CLIENTS SUBNET SERVER_IP CLIENT_IP POOL KEA_LEASE_LOG NOISE_MAX RETRIES RETRY_BUDGET QUIET_WAIT FSYNC_CHECK BUILD OURS_BIN OURS_SOURCE OURS_ARGS WORKDIR)
COMMAND=""
for k in "${KNOBS[@]}"; do
    [[ -n "${!k+x}" ]] && COMMAND+="$k=$(printf '%q' "${!k}") "
done
COMMAND+="$0"

CONFIG=${CONFIG:-basic}
REPEAT=${REPEAT:-3}
RATES=${RATES:-"1000 2000 4000 6000 8000 10000 max"}
DURATION=${DURATION:-5}
WAIT_US=${WAIT_US:-1000000}
CLIENTS=${CLIENTS:-1000000}
SUBNET=${SUBNET:-10.64.0.0/12}
SERVER_IP=${SERVER_IP:-10.64.0.1}
CLIENT_IP=${CLIENT_IP:-10.64.0.2}
POOL=${POOL:-"10.65.0.0 - 10.79.255.254"}
KEA_LEASE_LOG=${KEA_LEASE_LOG:-WARN}
NOISE_MAX=${NOISE_MAX:-0.2}
RETRIES=${RETRIES:-2}
RETRY_BUDGET=${RETRY_BUDGET:-15}
QUIET_WAIT=${QUIET_WAIT:-120}
FSYNC_CHECK=${FSYNC_CHECK:-1}
BUILD=${BUILD:-1}
WORKDIR=${WORKDIR:-$(mktemp -d /tmp/bench-dhcp4.XXXXXX)}
if [[ -n "${OURS_BIN:-}" ]]; then
    BUILD=0
    SOURCE=${OURS_SOURCE:-$OURS_BIN}
else
    OURS_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/dhcp4
    SOURCE=""
fi
KEA_BIN=/usr/sbin/kea-dhcp4
PERFDHCP=/usr/sbin/perfdhcp
METRICS=127.0.0.1:9547 # inside the server namespace
RESULTS=$WORKDIR/results.tsv # server rate rep metric value

# Names with this run's PID, so they clash neither with the host's nor with
# another run's. The veth ends are created inside the namespaces.
SRV_NS=bench-dhcp4-$$-srv
CLI_NS=bench-dhcp4-$$-cli
SRV_IF=bd4s$$
CLI_IF=bd4c$$
PREFIX_LEN=${SUBNET#*/}

bench_init "$WORKDIR"
NETNS_MADE=0
cleanup() {
    bench_cleanup
    if [[ "$NETNS_MADE" == 1 ]]; then
        ip netns del "$SRV_NS" 2>/dev/null || true
        ip netns del "$CLI_NS" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM
START=$SECONDS
log "work directory: $WORKDIR"
log "command: $COMMAND"

[[ $(id -u) -eq 0 ]] || die "run as root (network namespaces)"
apt_ensure perfdhcp kea-admin
apt_ensure kea-dhcp4 kea-dhcp4-server
apt_ensure curl curl
if [[ "$FSYNC_CHECK" == 1 ]]; then apt_ensure strace strace; fi
[[ -x "$PERFDHCP" && -x "$KEA_BIN" ]] || die "missing $PERFDHCP or $KEA_BIN"
[[ "$CONFIG" == basic || "$CONFIG" == classified ]] || die "CONFIG must be basic or classified, not $CONFIG"
if [[ "$BUILD" == 1 ]]; then
    log "cargo build --release -p dhcp4"
    (cd "$ROOT" && cargo build --release -p dhcp4) >"$WORKDIR/build.log" 2>&1 ||
        { tail -20 "$WORKDIR/build.log" >&2; die "cargo build failed"; }
fi
[[ -x "$OURS_BIN" ]] || die "missing $OURS_BIN (BUILD=1)"
read -r -a OURS_EXTRA <<<"${OURS_ARGS:-}"
if [[ -z "$SOURCE" ]]; then
    SOURCE=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [[ -n "$(git -C "$ROOT" status --porcelain -- dhcp4 common Cargo.lock 2>/dev/null)" ]]; then
        SOURCE+=" + uncommitted changes in dhcp4/common"
    fi
fi
KEA_VERSION=$("$KEA_BIN" -v 2>/dev/null | head -1)
LEASE_FS=$(findmnt -n -o FSTYPE -T "$WORKDIR" 2>/dev/null || echo unknown)
[[ "$LEASE_FS" == tmpfs || "$LEASE_FS" == ramfs ]] &&
    log "warning: $WORKDIR is on $LEASE_FS, where fsync costs nothing; set WORKDIR to a directory on disk"

# ---------------------------------------------------------------- network
int2ip() { echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"; }
ip2int() {
    local a b c d
    IFS=. read -r a b c d <<<"$1"
    echo $(((a << 24) | (b << 16) | (c << 8) | d))
}
MASK=$(((0xffffffff << (32 - PREFIX_LEN)) & 0xffffffff))
NET_INT=$(($(ip2int "${SUBNET%/*}") & MASK))
for a in $(ip -4 -o addr show | awk '{ split($4, x, "/"); print x[1] }'); do
    ((($(ip2int "$a") & MASK) != NET_INT)) || die "host address $a is inside $SUBNET; pick another SUBNET/SERVER_IP/CLIENT_IP/POOL"
done
ip netns add "$SRV_NS"
NETNS_MADE=1
ip netns add "$CLI_NS"
ip link add "$SRV_IF" netns "$SRV_NS" type veth peer name "$CLI_IF" netns "$CLI_NS"
ip -n "$SRV_NS" addr add "$SERVER_IP/$PREFIX_LEN" dev "$SRV_IF"
ip -n "$CLI_NS" addr add "$CLIENT_IP/$PREFIX_LEN" dev "$CLI_IF"
for ns in "$SRV_NS" "$CLI_NS"; do ip -n "$ns" link set lo up; done
ip -n "$SRV_NS" link set "$SRV_IF" up
ip -n "$CLI_NS" link set "$CLI_IF" up
link_up() { ip -n "$1" -o link show "$2" | grep -q 'state UP'; }
bench_wait_for 10 link_up "$SRV_NS" "$SRV_IF" || die "$SRV_IF does not come up"
bench_wait_for 10 link_up "$CLI_NS" "$CLI_IF" || die "$CLI_IF does not come up"
log "namespaces $SRV_NS ($SRV_IF $SERVER_IP/$PREFIX_LEN) and $CLI_NS ($CLI_IF $CLIENT_IP/$PREFIX_LEN)"

# ---------------------------------------------------------------- servers
write_config() { # DIR: DIR/dhcp4.json, leases in DIR/leases.csv
    if [[ "$CONFIG" == classified ]]; then
        write_classified_config "$1"
        return
    fi
    cat >"$1/dhcp4.json" <<EOF
{
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "$SRV_IF" ] },
    "lease-database": { "type": "memfile", "persist": true, "name": "$1/leases.csv", "lfc-interval": 0 },
    "multi-threading": { "enable-multi-threading": false },
    "valid-lifetime": 3600,
    "subnet4": [
      {
        "id": 1,
        "subnet": "$SUBNET",
        "pools": [ { "pool": "$POOL" } ],
        "option-data": [ { "name": "routers", "data": "$SERVER_IP" } ]
      }
    ],
    "loggers": [
      { "name": "kea-dhcp4", "severity": "INFO", "output_options": [ { "output": "stdout" } ] },
      { "name": "kea-dhcp4.leases", "severity": "$KEA_LEASE_LOG", "output_options": [ { "output": "stdout" } ] }
    ]
  }
}
EOF
}

# The classes of CONFIG=classified, "name|test|option-data members". Six match
# every perfdhcp client (pxe-uefi, lab, port-7, relayed, ethernet, and cid-ether:
# perfdhcp sends option 61); the other fourteen are evaluated and fail.
CLASSES=(
    "pxe-uefi|substring(option[60].hex,0,9) == 'PXEClient' and option[93].hex == 0x0007|{ \"name\": \"boot-file-name\", \"data\": \"ipxe.efi\", \"always-send\": true }, { \"name\": \"site-tag\", \"data\": \"pxe-uefi\", \"always-send\": true }"
    "pxe-bios|substring(option[60].hex,0,9) == 'PXEClient' and option[93].hex == 0x0000|{ \"name\": \"boot-file-name\", \"data\": \"undionly.kpxe\", \"always-send\": true }"
    "msft|option[60].text == 'MSFT 5.0'|{ \"name\": \"site-tag\", \"data\": \"msft\", \"always-send\": true }"
    "aastra|substring(option[60].hex,0,6) == 'Aastra'|{ \"name\": \"site-vlan\", \"data\": \"100\", \"always-send\": true }"
    "polycom|substring(option[60].hex,0,7) == 'Polycom'|{ \"name\": \"site-vlan\", \"data\": \"101\", \"always-send\": true }"
    "cisco-ap|option[60].text == 'Cisco AP c2700'|{ \"name\": \"site-servers\", \"data\": \"10.64.0.10, 10.64.0.11\", \"always-send\": true }"
    "ipxe|option[77].hex == 'iPXE'|{ \"name\": \"boot-file-name\", \"data\": \"http://10.64.0.1/boot.ipxe\", \"always-send\": true }"
    "lab|substring(option[77].hex,0,3) == 'lab'|{ \"name\": \"site-record\", \"data\": \"7, lab\", \"always-send\": true }, { \"name\": \"domain-name\", \"data\": \"lab.example.org\" }"
    "gaming|option[77].text == 'gaming'|{ \"name\": \"site-tag\", \"data\": \"gaming\", \"always-send\": true }"
    "port-7|relay4[1].hex == 'port-7'|{ \"name\": \"site-vlan\", \"data\": \"7\", \"always-send\": true }"
    "remote-2|relay4[2].hex == 'relay-2'|{ \"name\": \"site-vlan\", \"data\": \"2\", \"always-send\": true }"
    "no-agent|not option[82].exists|{ \"name\": \"site-tag\", \"data\": \"direct\", \"always-send\": true }"
    "cid-ether|substring(option[61].hex,0,1) == 0x01|{ \"name\": \"site-tag\", \"data\": \"cid\", \"always-send\": true }"
    "cid-duid|substring(option[61].hex,0,1) == 0xff|{ \"name\": \"site-tag\", \"data\": \"duid\", \"always-send\": true }"
    "relayed|pkt4.giaddr == CLIENT_IP|{ \"name\": \"site-servers\", \"data\": \"SERVER_IP\", \"always-send\": true }"
    "oui-other|substring(pkt4.mac,0,3) == 0x001122|{ \"name\": \"site-tag\", \"data\": \"oui\", \"always-send\": true }"
    "inform|pkt4.msgtype == 8|{ \"name\": \"site-tag\", \"data\": \"inform\", \"always-send\": true }"
    "ethernet|pkt4.htype == 1 and pkt4.hlen == 6|{ \"name\": \"ntp-servers\", \"data\": \"SERVER_IP\" }"
    "kiosk|option[12].exists and substring(option[12].hex,0,5) == 'kiosk'|{ \"name\": \"site-tag\", \"data\": \"kiosk\", \"always-send\": true }"
    "chosen|ifelse(option[60].exists, substring(option[60].hex,0,4), 'none') == 'MSFT'|{ \"name\": \"site-tag\", \"data\": \"chosen\", \"always-send\": true }"
)
# What perfdhcp adds to every DISCOVER and REQUEST under CONFIG=classified.
hexof() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
CLASSIFIED_PERF_OPTS=(
    -o "60,$(hexof 'PXEClient:Arch:00007:UNDI:003016')"
    -o "93,0007"
    -o "77,$(hexof lab-bench)"
    -o "82,0106$(hexof port-7)0207$(hexof relay-1)"
)

write_classified_config() { # DIR: DIR/dhcp4.json, leases in DIR/leases.csv
    local i name test data sep="" k
    {
        cat <<EOF
{
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "$SRV_IF" ] },
    "lease-database": { "type": "memfile", "persist": true, "name": "$1/leases.csv", "lfc-interval": 0 },
    "multi-threading": { "enable-multi-threading": false },
    "valid-lifetime": 3600,
    "option-def": [
      { "name": "site-tag", "code": 224, "type": "string" },
      { "name": "site-vlan", "code": 225, "type": "uint16" },
      { "name": "site-servers", "code": 226, "type": "ipv4-address", "array": true },
      { "name": "site-record", "code": 227, "type": "record", "record-types": "uint8, string" }
    ],
    "option-data": [ { "name": "domain-name", "data": "example.org" }, { "name": "domain-name-servers", "data": "$SERVER_IP" } ],
    "client-classes": [
EOF
        for i in "${!CLASSES[@]}"; do
            IFS='|' read -r name test data <<<"${CLASSES[$i]}"
            test=${test//CLIENT_IP/$CLIENT_IP}
            data=${data//SERVER_IP/$SERVER_IP}
            printf '%s      { "name": "%s", "test": "%s", "option-data": [ %s ] }' "$sep" "$name" "$test" "$data"
            sep=$',\n'
        done
        cat <<EOF

    ],
    "subnet4": [
      {
        "id": 1,
        "subnet": "$SUBNET",
        "pools": [ { "pool": "$POOL" } ],
        "option-data": [ { "name": "routers", "data": "$SERVER_IP" } ],
        "reservations": [
EOF
        # 300 reservations by hardware address from the subnet's address 257 on
        # (10.64.1.1 with the defaults), below the pool.
        sep=""
        for ((k = 0; k < 300; k++)); do
            printf '%s          { "hw-address": "02:00:00:00:%02x:%02x", "ip-address": "%s", "hostname": "host-%d" }' \
                "$sep" $((k / 256)) $((k % 256)) "$(int2ip $((NET_INT + 257 + k)))" "$k"
            sep=$',\n'
        done
        cat <<EOF

        ]
      }
    ],
    "loggers": [
      { "name": "kea-dhcp4", "severity": "INFO", "output_options": [ { "output": "stdout" } ] },
      { "name": "kea-dhcp4.leases", "severity": "$KEA_LEASE_LOG", "output_options": [ { "output": "stdout" } ] }
    ]
  }
}
EOF
    } >"$1/dhcp4.json"
}

scrape() { ip netns exec "$SRV_NS" curl -fsS --max-time 2 "http://$METRICS/metrics"; }
ours_ready() { ip netns exec "$SRV_NS" curl -fsS -o /dev/null --max-time 1 "http://$METRICS/readyz"; }
kea_ready() { grep -q DHCP4_STARTED "$1"; }

SERVER_PID=""
start_server() { # SERVER DIR; sets SERVER_PID
    local s=$1 dir=$2 comm
    write_config "$dir"
    if [[ $s == ours ]]; then
        bench_spawn "${dir#"$WORKDIR"/}/server" ip netns exec "$SRV_NS" "$OURS_BIN" -c "$dir/dhcp4.json" --metrics-addr "$METRICS" "${OURS_EXTRA[@]}"
        SERVER_PID=$SPAWNED_PID
        bench_wait_for 20 ours_ready || { tail -20 "$dir/server.log" >&2; die "ours did not become ready ($dir/server.log)"; }
        comm=dhcp4
    else
        bench_spawn "${dir#"$WORKDIR"/}/server" env KEA_PIDFILE_DIR="$dir" KEA_LOCKFILE_DIR="$dir" \
            ip netns exec "$SRV_NS" "$KEA_BIN" -c "$dir/dhcp4.json"
        SERVER_PID=$SPAWNED_PID
        bench_wait_for 20 kea_ready "$dir/server.log" || { tail -20 "$dir/server.log" >&2; die "Kea did not start ($dir/server.log)"; }
        comm=kea-dhcp4
    fi
    # ip netns exec (and env) exec the server: the PID is the server's own.
    [[ $(cat "/proc/$SERVER_PID/comm" 2>/dev/null) == "$comm" ]] || die "PID $SERVER_PID is not $comm"
}

STOP_RC=0
stop_server() { # PID; sets STOP_RC (the server's exit status)
    local pid=$1 i
    STOP_RC=0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "warning: PID $pid still runs 10 s after SIGTERM; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || STOP_RC=$?
    bench_forget "$pid"
}

# perfdhcp_run OUT RATE [DURATION]: in the client namespace, bounded by timeout(1);
# sets PERF_RC (0: every exchange completed, 3: some did not).
PERF_RC=0
perfdhcp_run() {
    local out=$1 rate=$2 secs=${3:-$DURATION}
    local args=(-4 -l "$CLIENT_IP" -R "$CLIENTS" -p "$secs" -W "$WAIT_US" -x t)
    [[ "$CONFIG" == classified ]] && args+=("${CLASSIFIED_PERF_OPTS[@]}")
    [[ $rate == max ]] || args+=(-r "$rate")
    args+=("$SERVER_IP")
    timeout -k 5 $((secs + WAIT_US / 1000000 + 30)) ip netns exec "$CLI_NS" "$PERFDHCP" "${args[@]}" >"$out" 2>&1 &
    local pid=$!
    BENCH_PIDS+=("$pid")
    PERF_RC=0
    wait "$pid" || PERF_RC=$?
    bench_forget "$pid"
}

RECORD_TO=$RESULTS

REDONE=0 DISTURBED=0
CRASHES=()

# shellcheck disable=SC2034 # the recorded values are read through ${!k}
NOISY=0
# shellcheck disable=SC2034 # the recorded values are read through ${!k}
run_once() { # SERVER RATE REP ATTEMPT
    local s=$1 rate=$2 rep=$3 attempt=$4 dir out pid t0 t1 alive=1 m=""
    local b0 b1 st0 st1 w0 w1 k0 k1 perf_cores other steal
    dir=$WORKDIR/$s-$rate-r$rep
    ((attempt == 1)) || dir+=-a$attempt
    mkdir -p "$dir"
    out=$dir/perfdhcp.out
    start_server "$s" "$dir"
    pid=$SERVER_PID
    t0=$(cpu_ticks "$pid")
    b0=$(sys_busy_ticks) st0=$(sys_steal_ticks) w0=$(date +%s.%N)
    local cli_q0 srv_q0 cli_q1 srv_q1
    cli_q0=$(udp_rcvbuf_errors "$CLI_NS") srv_q0=$(udp_rcvbuf_errors "$SRV_NS")
    times >"$WORKDIR/.times0"
    perfdhcp_run "$out" "$rate"
    times >"$WORKDIR/.times1"
    cli_q1=$(udp_rcvbuf_errors "$CLI_NS") srv_q1=$(udp_rcvbuf_errors "$SRV_NS")
    b1=$(sys_busy_ticks) st1=$(sys_steal_ticks) w1=$(date +%s.%N)
    if kill -0 "$pid" 2>/dev/null; then
        t1=$(cpu_ticks "$pid")
        [[ $s == ours ]] && m=$(scrape || true)
    else
        alive=0
        t1=$t0
    fi
    # Cores used over the run: perfdhcp (reaped children of this shell), and
    # everything else on the machine but the server and perfdhcp (a noise indicator).
    k0=$(children_cpu_s "$WORKDIR/.times0")
    k1=$(children_cpu_s "$WORKDIR/.times1")
    read -r perf_cores other steal < <(awk -v c=$((t1 - t0)) -v b=$((b1 - b0)) -v st=$((st1 - st0)) \
        -v k="$(awk -v a="$k0" -v b="$k1" 'BEGIN { print b - a }')" -v hz="$CLK_TCK" -v w0="$w0" -v w1="$w1" 'BEGIN {
            r = w1 - w0; if (r <= 0) r = 1
            o = (b - c) / hz - k; if (o < 0) o = 0
            printf "%.2f %.2f %.2f\n", k / r, o / r, st / hz / r }')
    NOISY=0
    if awk -v o="$other" -v st="$steal" -v m="$NOISE_MAX" 'BEGIN { exit !(o + st > m) }'; then
        log "warning: other load on the machine during this run: other $other, steal $steal cores"
        NOISY=1
    fi
    stop_server "$pid"
    if ((!alive)); then
        CRASHES+=("$s rate $rate rep $rep: exited with status $STOP_RC during the run ($dir/server.log)")
        log "error: $s exited with status $STOP_RC during the run; last lines of $dir/server.log:"
        tail -20 "$dir/server.log" >&2
    fi
    ((PERF_RC == 0 || PERF_RC == 3)) || log "warning: perfdhcp exited $PERF_RC ($out)"

    local do_sent do_recv ra_sent ra_recv do_avg ra_avg mal orph rej nu prate
    read -r do_sent do_recv ra_sent ra_recv do_avg ra_avg mal orph rej nu prate < <(perfdhcp_stats "$out")
    local do_med ra_med lines dups drops exps cpu_s cpu1k fsyncs=nan writes=nan sent_acks=nan
    do_med=$(perfdhcp_median "$out" DISCOVER-OFFER)
    ra_med=$(perfdhcp_median "$out" REQUEST-ACK)
    lines=0 dups=0
    if [[ -f $dir/leases.csv ]]; then
        lines=$(tail -n +2 "$dir/leases.csv" | wc -l)
        dups=$(tail -n +2 "$dir/leases.csv" | cut -d, -f1 | sort | uniq -d | wc -l)
    fi
    if [[ -n $m ]]; then
        fsyncs=$(metric dhcp4_lease_file_fsyncs <<<"$m")
        writes=$(metric dhcp4_lease_file_writes_total <<<"$m")
        sent_acks=$(metric 'kea_dhcp4_packets_sent_total{operation="ack"}' <<<"$m")
    fi
    drops=$((do_sent - do_recv + ra_sent - ra_recv))
    local rcvbuf_perfdhcp=$((cli_q1 - cli_q0)) rcvbuf_server=$((srv_q1 - srv_q0))
    exps=$(awk -v n="$ra_recv" -v d="$DURATION" 'BEGIN { printf "%.1f", n / d }')
    cpu_s=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')
    cpu1k=$(awk -v c="$cpu_s" -v n="$ra_recv" 'BEGIN { if (n > 0) printf "%.4f", c / (n / 1000); else print "nan" }')
    local k v server_cores
    server_cores=$(awk -v c="$cpu_s" -v w0="$w0" -v w1="$w1" 'BEGIN { printf "%.2f", c / (w1 - w0) }')
    for k in exps drops do_sent do_recv ra_sent ra_recv do_avg ra_avg do_med ra_med cpu_s cpu1k lines dups \
        fsyncs writes sent_acks mal orph rej nu prate alive server_cores perf_cores other steal \
        rcvbuf_perfdhcp rcvbuf_server; do
        v=${!k}
        record "$s" "$rate" "$rep" "$k" "$v"
    done
    log "$(printf '%-4s rate %-5s rep %d: %8s ex/s, drops %d (DO %d, RA %d), avg/median ms DO %s/%s RA %s/%s, CPU %ss = %s s/1000 leases, lines %d, fsyncs %s; cores: server %s, perfdhcp %s, other %s, steal %s' \
        "$s" "$rate" "$rep" "$exps" "$drops" $((do_sent - do_recv)) $((ra_sent - ra_recv)) "$do_avg" "$do_med" "$ra_avg" "$ra_med" "$cpu_s" "$cpu1k" "$lines" "$fsyncs" \
        "$server_cores" "$perf_cores" "$other" "$steal")"
    if ((mal + orph + rej + nu > 0)); then
        log "warning: $s rate $rate rep $rep: perfdhcp saw malformed $mal, orphans $orph, rejected leases $rej, non-unique addresses $nu"
    fi
    # The per-exchange timestamps are large; keep perfdhcp's summary only.
    grep -v '^sent / received:' "$out" >"$dir/perfdhcp.summary" || true
    rm -f "$out"
}

if [[ "$CONFIG" == classified ]]; then
    mkdir -p "$WORKDIR/config-check"
    write_config "$WORKDIR/config-check"
    ip netns exec "$SRV_NS" "$KEA_BIN" -t "$WORKDIR/config-check/dhcp4.json" >"$WORKDIR/config-check/kea-t.log" 2>&1 ||
        { tail -5 "$WORKDIR/config-check/kea-t.log" >&2; die "Kea rejects the classified config"; }
    log "classified config: ${#CLASSES[@]} classes, 300 reservations; perfdhcp ${CLASSIFIED_PERF_OPTS[*]}"
fi
: >"$RESULTS"
log "servers: ours $OURS_BIN${OURS_ARGS:+ $OURS_ARGS} (source $SOURCE), $KEA_VERSION; lease files on $LEASE_FS"
for ((rep = 1; rep <= REPEAT; rep++)); do
    if ((rep % 2)); then order=(kea ours); else order=(ours kea); fi
    for rate in $RATES; do
        for s in "${order[@]}"; do run_one "$s" "$rate" "$rep"; done
    done
done

# ---------------------------------------------------------------- fsync check
FSYNC_REPORT=""
if [[ "$FSYNC_CHECK" == 1 ]]; then
    for s in kea ours; do
        dir=$WORKDIR/$s-strace
        mkdir -p "$dir"
        start_server "$s" "$dir"
        pid=$SERVER_PID
        bench_spawn "${dir#"$WORKDIR"/}/strace" strace -f -c -o "$dir/strace.txt" \
            -e trace=fsync,fdatasync,sync_file_range,syncfs,sync,msync,write,writev,pwrite64,pwritev -p "$pid"
        spid=$SPAWNED_PID
        sleep 1 # attach to every thread
        perfdhcp_run "$dir/perfdhcp.out" 1000 2
        m=""
        [[ $s == ours ]] && m=$(scrape || true)
        kill -INT "$spid" 2>/dev/null || true
        wait "$spid" 2>/dev/null || true
        bench_forget "$spid"
        stop_server "$pid"
        read -r _ _ _ acks _ < <(perfdhcp_stats "$dir/perfdhcp.out")
        read -r nsync nwrite < <(awk '
            $NF ~ /^(fsync|fdatasync|sync_file_range|syncfs|sync|msync)$/ { f += $4 }
            $NF ~ /^(write|writev|pwrite64|pwritev)$/ { w += $4 }
            END { printf "%d %d\n", f, w }' "$dir/strace.txt")
        line="$s: $acks ACKs at 1000/s for 2 s: $nsync fsync-family system calls, $nwrite writes (strace -f -c)"
        [[ $s == ours ]] && line+="; dhcp4_lease_file_fsyncs says $(metric dhcp4_lease_file_fsyncs <<<"$m")"
        log "$line"
        FSYNC_REPORT+="$line"$'\n'
        rm -f "$dir/perfdhcp.out"
    done
fi

# ---------------------------------------------------------------- report
med() { # SERVER RATE METRIC
    # shellcheck disable=SC2046
    median $(awk -F'\t' -v s="$1" -v r="$2" -v m="$3" '$1 == s && $2 == r && $4 == m && $5 != "nan" { print $5 }' "$RESULTS")
}
runs() { # SERVER RATE METRIC: every repetition's value
    awk -F'\t' -v s="$1" -v r="$2" -v m="$3" '$1 == s && $2 == r && $4 == m { printf "%s%s", (n++ ? " " : ""), $5 }' "$RESULTS"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "nan" || b == "nan") print "n/a"; else printf "%.2f", a / b }'; }
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "nan" || v == "") print "-"; else printf f, v }'; }
label() { if [[ $1 == max ]]; then echo unlimited; else echo "$1"; fi; }
# Highest offered rate at which SERVER dropped nothing in every repetition.
best_rate() {
    local s=$1 rate best=none
    for rate in $RATES; do
        if awk -F'\t' -v s="$s" -v r="$rate" '$1 == s && $2 == r && $4 == "drops" { n++; if ($5 != 0) bad = 1 } END { exit !(n > 0 && !bad) }' "$RESULTS"; then
            best=$(label "$rate")
        fi
    done
    echo "$best"
}

TABLE1=$(
    echo "| offered/s | Kea ex/s | ours ex/s | ratio | Kea drops | our drops | Kea CPU s/1000 leases | ours | ratio |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for rate in $RATES; do
        ke=$(med kea "$rate" exps) oe=$(med ours "$rate" exps)
        kc=$(med kea "$rate" cpu1k) oc=$(med ours "$rate" cpu1k)
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(label "$rate")" "$(fmt "$ke" %.0f)" "$(fmt "$oe" %.0f)" \
            "$(ratio "$oe" "$ke")" "$(fmt "$(med kea "$rate" drops)" %.0f)" "$(fmt "$(med ours "$rate" drops)" %.0f)" \
            "$(fmt "$kc" %.3f)" "$(fmt "$oc" %.3f)" "$(ratio "$oc" "$kc")"
    done
)
TABLE2=$(
    echo "| offered/s | Kea DO avg | ours DO avg | Kea RA avg | ours RA avg | Kea RA median | ours RA median |"
    echo "|---|---|---|---|---|---|---|"
    for rate in $RATES; do
        printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$(label "$rate")" \
            "$(fmt "$(med kea "$rate" do_avg)" %.3f)" "$(fmt "$(med ours "$rate" do_avg)" %.3f)" \
            "$(fmt "$(med kea "$rate" ra_avg)" %.3f)" "$(fmt "$(med ours "$rate" ra_avg)" %.3f)" \
            "$(fmt "$(med kea "$rate" ra_med)" %.3f)" "$(fmt "$(med ours "$rate" ra_med)" %.3f)"
    done
)
TABLE3=$(
    echo "| offered/s | Kea ACKs | Kea lease lines | ours ACKs received | ACKs sent | lease lines | fsyncs | leases/fsync |"
    echo "|---|---|---|---|---|---|---|---|"
    for rate in $RATES; do
        of=$(med ours "$rate" fsyncs) ol=$(med ours "$rate" lines)
        printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(label "$rate")" \
            "$(fmt "$(med kea "$rate" ra_recv)" %.0f)" "$(fmt "$(med kea "$rate" lines)" %.0f)" \
            "$(fmt "$(med ours "$rate" ra_recv)" %.0f)" "$(fmt "$(med ours "$rate" sent_acks)" %.0f)" \
            "$(fmt "$ol" %.0f)" "$(fmt "$of" %.0f)" "$(ratio "$ol" "$of")"
    done
)
PER_RUN=$(
    for rate in $RATES; do
        for s in kea ours; do
            printf '  %-9s %-4s ex/s: %-26s drops: %-20s CPU s/1000: %-22s other cores: %-16s rcvbuf full perfdhcp: %-20s server: %s\n' "$(label "$rate")" "$s" \
                "$(runs "$s" "$rate" exps)" "$(runs "$s" "$rate" drops)" "$(runs "$s" "$rate" cpu1k)" "$(runs "$s" "$rate" other)" \
                "$(runs "$s" "$rate" rcvbuf_perfdhcp)" "$(runs "$s" "$rate" rcvbuf_server)"
        done
    done
)
# Lease-file check on every run of ours: one line per ACK it sent, no address twice.
LEASE_CHECK=$(awk -F'\t' '
    $1 == "ours" { v[$2 " " $3, $4] = $5; k[$2 " " $3] = 1 }
    END {
        bad = 0; n = 0
        for (r in k) {
            n++
            if (v[r, "lines"] != v[r, "sent_acks"] || v[r, "lines"] != v[r, "writes"] || v[r, "dups"] != 0) {
                bad++; printf "  MISMATCH rate/rep %s: lines %s, ACKs sent %s, writes %s, duplicate addresses %s\n", r, v[r, "lines"], v[r, "sent_acks"], v[r, "writes"], v[r, "dups"]
            }
        }
        if (!bad) printf "  ours, all %d runs: lease lines = ACKs sent = lease writes, no address twice\n", n
    }' "$RESULTS")
PROBLEMS=$(
    awk -F'\t' '($4 == "mal" || $4 == "orph" || $4 == "rej" || $4 == "nu") && $5 != 0 { printf "  %s rate %s rep %s: perfdhcp %s = %s\n", $1, $2, $3, $4, $5 }' "$RESULTS"
    for c in "${CRASHES[@]}"; do echo "  CRASH: $c"; done
)

cat <<EOF

================================================================================
dhcp4 benchmark: ours (source $SOURCE) vs $KEA_VERSION (memfile, no multi-threading)
date: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r); lease files on $LEASE_FS
perfdhcp relay ($CLIENT_IP -> $SERVER_IP, veth), -R $CLIENTS, full DORA, ${DURATION}s per run + -W ${WAIT_US}us; medians of $REPEAT
config $CONFIG: subnet $SUBNET, pool $POOL, fresh server and lease file per run; Kea lease log $KEA_LEASE_LOG
ex/s = ACKs received / ${DURATION}s; drops = DO + RA sent - received; ratio = ours / Kea
--------------------------------------------------------------------------------
$TABLE1

latency, ms (perfdhcp avg delay; median from its per-exchange timestamps):
$TABLE2

lease file and fsyncs (Kea's memfile never fsyncs):
$TABLE3
$LEASE_CHECK

highest offered rate with zero drops in every repetition: Kea $(best_rate kea), ours $(best_rate ours)
disturbed runs (other load > $NOISE_MAX cores): $REDONE redone, $DISTURBED kept as they were
--------------------------------------------------------------------------------
every run:
$PER_RUN
--------------------------------------------------------------------------------
fsync check:
${FSYNC_REPORT:-  (FSYNC_CHECK=0: not run)}
problems:
${PROBLEMS:-  none (no crash; perfdhcp saw no malformed packet, orphan, rejected lease or duplicate address)}
command: $COMMAND
raw results: $RESULTS
runtime: $(((SECONDS - START) / 60))m$(((SECONDS - START) % 60))s
EOF
