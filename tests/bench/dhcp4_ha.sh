#!/usr/bin/env bash
# Benchmark: a hot-standby HA pair of our `dhcp4` against a hot-standby pair of
# Debian's Kea 2.2 (kea-dhcp4 + libdhcp_ha.so + libdhcp_lease_cmds.so, memfile),
# on identical perfdhcp workloads through a relay, in one run. See
# tests/bench/README.md.
#
#   sudo tests/bench/dhcp4_ha.sh                   # full run: about 7 min on 2 quiet cores
#   sudo BUILD=0 REPEAT=1 DURATION=3 RATES="500 2000" tests/bench/dhcp4_ha.sh   # smoke run
#
# Setup: three network namespaces. The relay's (RELAY_IP on bridge br0) runs
# perfdhcp; each server has its own namespace (S1_IP, S2_IP on eth0), a veth
# whose other end is a port of br0. Both servers of a pair run the same
# config but for this-server-name: one subnet with one big pool, memfile lease
# file in a fresh directory (persist true, lfc-interval 0), a UNIX control
# socket, libdhcp_lease_cmds.so and libdhcp_ha.so in hot-standby (server1
# primary, server2 standby; heartbeat-delay HEARTBEAT_MS, max-response-delay
# MAX_RESPONSE_MS, max-ack-delay 1000, max-unacked-clients 0; peer URLs
# http://S1_IP:8001/ and http://S2_IP:8001/ with basic-auth). Kea runs with
# multi-threading on in Dhcp4 and in HA with "http-dedicated-listener": true,
# so each kea-dhcp4 serves its peer URL itself (no kea-ctrl-agent): Kea's
# fastest HA setup in 2.2. Its thread counts are its defaults (KEA_THREADS=0:
# as many packet threads as cores; KEA_QUEUE=64; KEA_HA_THREADS=0: as many HA
# listener and HA client threads as cores); the report gives the counts Kea
# chose (status-get) and the threads of every server process. Ours ignores
# both multi-threading maps (its HA listener is always its own).
#
# Each pair is started fresh for every run with empty lease files; the run
# begins once both servers report "state": "hot-standby" for themselves in
# status-get (over their UNIX control sockets).
#
# Client traffic: perfdhcp 2.2 sends to one address only. It is sent to
# "all", which perfdhcp turns into the limited broadcast 255.255.255.255 (with
# -l RELAY_IP it still acts as a relay: giaddr RELAY_IP, hops 1), so every
# DISCOVER and REQUEST reaches both servers through the bridge, as a relay
# with both servers as helper addresses sends them. The primary answers; the
# standby parses each packet and drops it (not its scope), which is work a
# real standby does too and is counted. Replies go unicast to RELAY_IP:67.
#
# Each run: perfdhcp -R CLIENTS (distinct clients, so every exchange is a new
# lease) full DORA exchanges at an offered rate for DURATION s, then -W WAIT_US
# for replies still in flight. Every ACK of ours waits for the primary's lease
# file fsync AND the standby's acknowledgement of the lease update (the
# standby fsyncs it too before answering); Kea's primary parks each reply until
# the standby acknowledges the lease4-update (its memfile never fsyncs).
# Recorded per run:
#   leases/s      ACKs received / DURATION
#   drops         (DISCOVERs sent - OFFERs received) + (REQUESTs sent - ACKs
#                 received); a reply later than perfdhcp's drop time (1 s) is a drop
#   CPU           utime+stime (/proc/PID/stat, all threads) of BOTH servers of
#                 the pair from just before perfdhcp starts to just after it
#                 ends, in seconds per 1000 leases (ACKs received); also per server
#   latency       perfdhcp's REQUEST-ACK avg delay, and its median (-x t)
#   HA state      status-get of both servers after the load (and the drain):
#                 still hot-standby?
#   lease files   once the pair is drained (DRAIN_WAIT) and stopped: live rows in
#                 each file; addresses held by two different MACs across the
#                 pair's two files (must be 0: nothing is released or expires in a
#                 run, so no address may legitimately change hands); ACKed leases
#                 (perfdhcp -x l: address and client id of every ACK it received)
#                 missing from the primary's or the standby's file (must be 0:
#                 lease updates worked before the ACK); and, for information,
#                 the primary's leases missing from the standby's file (a lease
#                 whose update failed or timed out stays on the primary without
#                 an ACK, in Kea as in ours)
#   ours only     ACKs sent, lease updates sent/failed, fsyncs of each server
#                 (scraped from /metrics inside each server's namespace)
#   Kea only      the primary's pkt4-ack-sent and pkt4-receive-drop
#                 (statistic-get-all; the answer is kept in statistics1.json)
#
# Knobs (environment):
#   REPEAT=3         repetitions of the whole comparison; tables give medians.
#                    The pair that goes first alternates between repetitions.
#   RATES="500 1000 2000 3000 4000 max"   offered exchanges/s (perfdhcp -r);
#                    max: no -r, perfdhcp sends as fast as it can
#   DURATION=5       seconds of each perfdhcp run (-p)
#   WAIT_US=1000000  perfdhcp -W: wait for late replies after the run
#   CLIENTS=1000000  perfdhcp -R
#   SUBNET=10.64.0.0/12 RELAY_IP=10.64.0.2 S1_IP=10.64.0.11 S2_IP=10.64.0.12
#   POOL="10.65.0.0 - 10.79.255.254"   983,039 addresses (ours holds an offered
#                    address for 10 s; this pool does not run out at any rate)
#   HEARTBEAT_MS=1000 MAX_RESPONSE_MS=10000   HA heartbeat-delay and
#                    max-response-delay of both pairs (short heartbeats bring a
#                    fresh pair to hot-standby within seconds)
#   STATE_WAIT=60    seconds to wait for both servers of a pair to be hot-standby
#   DRAIN_WAIT=20    after the load, seconds to wait at most for the pair to finish
#                    (lease files no longer growing) before the checks and the stop
#   KEA_THREADS=0 KEA_QUEUE=64 KEA_HA_THREADS=0   Kea's thread-pool-size,
#                    packet-queue-size, and HA http-listener-threads and
#                    http-client-threads (0: Kea picks, one per core)
#   KEA_LEASE_LOG=WARN   severity of Kea's kea-dhcp4.leases logger (INFO logs two
#                    lines per lease; ours logs none)
#   NOISE_MAX=0.2 RETRIES=2 RETRY_BUDGET=15 QUIET_WAIT=120   this machine is shared:
#                    before each run, wait up to QUIET_WAIT s until other processes
#                    use at most NOISE_MAX cores; redo a run during which they used
#                    more (other = all busy CPU time - both servers - perfdhcp, plus
#                    steal), up to RETRIES times, at most RETRY_BUDGET redos in all
#   BUILD=1          0: skip `cargo build --release -p dhcp4`
#   OURS_ARGS=       more arguments for both servers of ours
#   OURS_BIN=        benchmark this dhcp4 binary instead (no build); OURS_SOURCE=
#                    names it in the report
#   WORKDIR=         configs, lease files, logs, raw results (default: mktemp in /tmp;
#                    the lease files are there, so it must be a real disk: fsync
#                    on tmpfs costs nothing)
#
# Needs root (network namespaces), perfdhcp and kea-dhcp4 with its hooks
# (Debian: kea-admin, kea-dhcp4-server; installed when missing), curl, socat, jq.
# All traffic stays inside the three namespaces the script makes; they (and
# with them the bridge and the veth pairs) are deleted on exit. Only the
# processes the script started are stopped, by PID.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"
# shellcheck source=tests/bench/lib_dhcp.sh
source "$HERE/lib_dhcp.sh"

KNOBS=(REPEAT RATES DURATION WAIT_US CLIENTS SUBNET RELAY_IP S1_IP S2_IP POOL HEARTBEAT_MS MAX_RESPONSE_MS STATE_WAIT DRAIN_WAIT
    KEA_THREADS KEA_QUEUE KEA_HA_THREADS KEA_LEASE_LOG NOISE_MAX RETRIES RETRY_BUDGET QUIET_WAIT BUILD OURS_BIN OURS_SOURCE OURS_ARGS WORKDIR)
COMMAND=""
for k in "${KNOBS[@]}"; do
    [[ -n "${!k+x}" ]] && COMMAND+="$k=$(printf '%q' "${!k}") "
done
COMMAND+="$0"

REPEAT=${REPEAT:-3}
RATES=${RATES:-"500 1000 2000 3000 4000 max"}
DURATION=${DURATION:-5}
WAIT_US=${WAIT_US:-1000000}
CLIENTS=${CLIENTS:-1000000}
SUBNET=${SUBNET:-10.64.0.0/12}
RELAY_IP=${RELAY_IP:-10.64.0.2}
S1_IP=${S1_IP:-10.64.0.11}
S2_IP=${S2_IP:-10.64.0.12}
POOL=${POOL:-"10.65.0.0 - 10.79.255.254"}
HEARTBEAT_MS=${HEARTBEAT_MS:-1000}
MAX_RESPONSE_MS=${MAX_RESPONSE_MS:-10000}
STATE_WAIT=${STATE_WAIT:-60}
DRAIN_WAIT=${DRAIN_WAIT:-20}
KEA_THREADS=${KEA_THREADS:-0}
KEA_QUEUE=${KEA_QUEUE:-64}
KEA_HA_THREADS=${KEA_HA_THREADS:-0}
KEA_LEASE_LOG=${KEA_LEASE_LOG:-WARN}
NOISE_MAX=${NOISE_MAX:-0.2}
RETRIES=${RETRIES:-2}
RETRY_BUDGET=${RETRY_BUDGET:-15}
QUIET_WAIT=${QUIET_WAIT:-120}
BUILD=${BUILD:-1}
WORKDIR=${WORKDIR:-$(mktemp -d /tmp/bench-dhcp4-ha.XXXXXX)}
if [[ -n "${OURS_BIN:-}" ]]; then
    BUILD=0
    SOURCE=${OURS_SOURCE:-$OURS_BIN}
else
    OURS_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/dhcp4
    SOURCE=""
fi
KEA_BIN=/usr/sbin/kea-dhcp4
PERFDHCP=/usr/sbin/perfdhcp
HOOKS=/usr/lib/x86_64-linux-gnu/kea/hooks
METRICS=127.0.0.1:9547 # inside each server's namespace
RESULTS=$WORKDIR/results.tsv # pair rate rep metric value

# Names with this run's PID, so they clash neither with the host's nor with
# another run's. Bridge and veth ends are made inside the namespaces (br0, p1,
# p2 in the relay's; eth0 in each server's), so their names clash with nothing.
RLY_NS=bench-dhcp4ha-$$-rly
S_NS=(bench-dhcp4ha-$$-s1 bench-dhcp4ha-$$-s2)
S_IP=("$S1_IP" "$S2_IP")
PREFIX_LEN=${SUBNET#*/}

bench_init "$WORKDIR"
NETNS_MADE=0
cleanup() {
    bench_cleanup
    if [[ "$NETNS_MADE" == 1 ]]; then
        for ns in "$RLY_NS" "${S_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
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
apt_ensure socat socat
apt_ensure jq jq
[[ -x "$PERFDHCP" && -x "$KEA_BIN" ]] || die "missing $PERFDHCP or $KEA_BIN"
[[ -f "$HOOKS/libdhcp_ha.so" && -f "$HOOKS/libdhcp_lease_cmds.so" ]] || die "missing Kea's HA or lease_cmds hook in $HOOKS"
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
ip2int() {
    local a b c d
    IFS=. read -r a b c d <<<"$1"
    echo $(((a << 24) | (b << 16) | (c << 8) | d))
}
MASK=$(((0xffffffff << (32 - PREFIX_LEN)) & 0xffffffff))
NET_INT=$(($(ip2int "${SUBNET%/*}") & MASK))
for a in $(ip -4 -o addr show | awk '{ split($4, x, "/"); print x[1] }'); do
    ((($(ip2int "$a") & MASK) != NET_INT)) || die "host address $a is inside $SUBNET; pick another SUBNET/RELAY_IP/S1_IP/S2_IP/POOL"
done
ip netns add "$RLY_NS"
NETNS_MADE=1
ip -n "$RLY_NS" link set lo up
ip -n "$RLY_NS" link add br0 type bridge
ip -n "$RLY_NS" addr add "$RELAY_IP/$PREFIX_LEN" dev br0
ip -n "$RLY_NS" link set br0 up
for i in 0 1; do
    ns=${S_NS[$i]}
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add "p$((i + 1))" netns "$RLY_NS" type veth peer name eth0 netns "$ns"
    ip -n "$RLY_NS" link set "p$((i + 1))" master br0
    ip -n "$RLY_NS" link set "p$((i + 1))" up
    ip -n "$ns" addr add "${S_IP[$i]}/$PREFIX_LEN" dev eth0
    ip -n "$ns" link set eth0 up
done
link_up() { ip -n "$1" -o link show "$2" | grep -q 'state UP'; }
bench_wait_for 10 link_up "$RLY_NS" br0 || die "br0 does not come up"
for i in 0 1; do
    bench_wait_for 10 link_up "${S_NS[$i]}" eth0 || die "eth0 in ${S_NS[$i]} does not come up"
done
log "namespaces $RLY_NS (br0 $RELAY_IP/$PREFIX_LEN), ${S_NS[0]} (eth0 $S1_IP), ${S_NS[1]} (eth0 $S2_IP)"

# ---------------------------------------------------------------- servers
write_config() { # DIR N: DIR/sN.json, leases in DIR/leasesN.csv, control socket DIR/sN.sock
    local dir=$1 n=$2
    cat >"$dir/s$n.json" <<EOF
{
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "eth0" ] },
    "lease-database": { "type": "memfile", "persist": true, "name": "$dir/leases$n.csv", "lfc-interval": 0 },
    "control-socket": { "socket-type": "unix", "socket-name": "$dir/s$n.sock" },
    "multi-threading": { "enable-multi-threading": true, "thread-pool-size": $KEA_THREADS, "packet-queue-size": $KEA_QUEUE },
    "valid-lifetime": 3600,
    "hooks-libraries": [
      { "library": "$HOOKS/libdhcp_lease_cmds.so" },
      { "library": "$HOOKS/libdhcp_ha.so",
        "parameters": { "high-availability": [ {
          "this-server-name": "server$n",
          "mode": "hot-standby",
          "heartbeat-delay": $HEARTBEAT_MS,
          "max-response-delay": $MAX_RESPONSE_MS,
          "max-ack-delay": 1000,
          "max-unacked-clients": 0,
          "multi-threading": { "enable-multi-threading": true, "http-dedicated-listener": true,
                               "http-listener-threads": $KEA_HA_THREADS, "http-client-threads": $KEA_HA_THREADS },
          "peers": [
            { "name": "server1", "url": "http://$S1_IP:8001/", "role": "primary",
              "basic-auth-user": "ha", "basic-auth-password": "bench-secret" },
            { "name": "server2", "url": "http://$S2_IP:8001/", "role": "standby",
              "basic-auth-user": "ha", "basic-auth-password": "bench-secret" }
          ] } ] } }
    ],
    "subnet4": [
      {
        "id": 1,
        "subnet": "$SUBNET",
        "pools": [ { "pool": "$POOL" } ],
        "option-data": [ { "name": "routers", "data": "$RELAY_IP" } ]
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

# One command over a server's UNIX control socket; prints the answer.
control() { # SOCKET JSON
    printf '%s' "$2" | timeout 10 socat -t 5 - "UNIX-CONNECT:$1" 2>/dev/null
}
# The HA state the server reports for itself ("local" part of status-get).
ha_state() { # SOCKET
    control "$1" '{ "command": "status-get" }' |
        sed -n 's/.*"local": {[^}]*"state": "\([^"]*\)".*/\1/p'
}
kea_started() { grep -q DHCP4_STARTED "$1"; }
is_comm() { [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]; }

PAIR_PIDS=()
start_pair() { # PAIR DIR; sets PAIR_PIDS (server1 server2)
    local s=$1 dir=$2 n comm pid deadline st
    PAIR_PIDS=()
    for n in 1 2; do
        write_config "$dir" "$n"
        if [[ $s == ours ]]; then
            bench_spawn "${dir#"$WORKDIR"/}/server$n" ip netns exec "${S_NS[$((n - 1))]}" "$OURS_BIN" -c "$dir/s$n.json" --metrics-addr "$METRICS" "${OURS_EXTRA[@]}"
        else
            mkdir -p "$dir/run$n"
            bench_spawn "${dir#"$WORKDIR"/}/server$n" env KEA_PIDFILE_DIR="$dir/run$n" KEA_LOCKFILE_DIR="$dir/run$n" \
                ip netns exec "${S_NS[$((n - 1))]}" "$KEA_BIN" -c "$dir/s$n.json"
        fi
        PAIR_PIDS+=("$SPAWNED_PID")
    done
    if [[ $s == ours ]]; then comm=dhcp4; else comm=kea-dhcp4; fi
    for n in 1 2; do
        pid=${PAIR_PIDS[$((n - 1))]}
        if [[ $s == kea ]]; then
            bench_wait_for 20 kea_started "$dir/server$n.log" || { tail -20 "$dir/server$n.log" >&2; die "Kea server$n did not start ($dir/server$n.log)"; }
        fi
        # ip netns exec (and env) exec the server: the PID is the server's own
        # once the exec is done.
        bench_wait_for 20 is_comm "$pid" "$comm" || { tail -20 "$dir/server$n.log" >&2; die "PID $pid is not $comm ($dir/server$n.log)"; }
    done
    # Both servers must report hot-standby for themselves before the load.
    deadline=$((SECONDS + STATE_WAIT))
    for n in 1 2; do
        pid=${PAIR_PIDS[$((n - 1))]}
        while :; do
            kill -0 "$pid" 2>/dev/null || { tail -20 "$dir/server$n.log" >&2; die "$s server$n exited while starting ($dir/server$n.log)"; }
            st=$(ha_state "$dir/s$n.sock" || true)
            [[ $st == hot-standby ]] && break
            ((SECONDS < deadline)) || { tail -20 "$dir/server$n.log" >&2; die "$s server$n not hot-standby within ${STATE_WAIT}s (last: ${st:-no answer})"; }
            sleep 0.2
        done
    done
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

scrape() { ip netns exec "$1" curl -fsS --max-time 2 "http://$METRICS/metrics"; }

# perfdhcp_run OUT RATE: in the relay namespace, to the limited broadcast
# ("all"), bounded by timeout(1); sets PERF_RC (0: every exchange completed,
# 3: some did not). -x t: per-exchange timestamps (medians); -x l: the leases
# it was ACKed (client id and address, for the lease-file checks).
PERF_RC=0
perfdhcp_run() {
    local out=$1 rate=$2
    local args=(-4 -l "$RELAY_IP" -R "$CLIENTS" -p "$DURATION" -W "$WAIT_US" -x tl)
    [[ $rate == max ]] || args+=(-r "$rate")
    args+=(all)
    timeout -k 5 $((DURATION + WAIT_US / 1000000 + 30)) ip netns exec "$RLY_NS" "$PERFDHCP" "${args[@]}" >"$out" 2>&1 &
    local pid=$!
    BENCH_PIDS+=("$pid")
    PERF_RC=0
    wait "$pid" || PERF_RC=$?
    bench_forget "$pid"
}

# Live rows (valid-lifetime > 0, state 0) of a memfile CSV: "address mac".
live_rows() { [[ -f $1 ]] || return 0; awk -F, 'NR > 1 && $4 > 0 && $10 == 0 { print $1, $2 }' "$1"; }
# Live rows of a memfile CSV as "address client-id" (hex digits, no colons).
live_ids() {
    [[ -f $1 ]] || return 0
    awk -F, 'NR > 1 && $4 > 0 && $10 == 0 { c = tolower($3); gsub(":", "", c); print $1, c }' "$1"
}
# The leases perfdhcp was ACKed (-x l: "client-id-hex,address," lines under
# "***Leases for REQUEST-ACK***"), as "address client-id".
acked_leases() { # OUT
    awk -F, '/^\*\*\*Leases for / { s = ($0 ~ /REQUEST-ACK/); next }
        s && NF >= 2 && $2 ~ /^[0-9.]+$/ { print $2, tolower($1) }' "$1"
}
# ACKed leases absent from a lease file.
acked_missing() { # ACKED_LIST FILE
    comm -23 <(sort -u "$1") <(live_ids "$2" | sort -u) | wc -l
}
# After the load, let the pair finish what it still holds (queued requests,
# lease updates in flight): wait until neither lease file grows for 0.5 s.
drain_pair() { # DIR
    local prev="" cur deadline=$((SECONDS + DRAIN_WAIT))
    while ((SECONDS < deadline)); do
        cur="$(wc -l <"$1/leases1.csv" 2>/dev/null || echo 0) $(wc -l <"$1/leases2.csv" 2>/dev/null || echo 0)"
        [[ $cur == "$prev" ]] && return 0
        prev=$cur
        sleep 0.5
    done
    log "warning: lease files of $1 still growing after ${DRAIN_WAIT}s"
}
# Addresses held by more than one MAC across the files.
conflicts() { # FILE...
    local f
    for f in "$@"; do live_rows "$f"; done | sort -u | awk '{ n[$1]++ } END { c = 0; for (a in n) if (n[a] > 1) c++; print c }'
}
# Leases (address + MAC) live in FILE1 and absent from FILE2.
missing() { # FILE1 FILE2
    comm -23 <(live_rows "$1" | sort -u) <(live_rows "$2" | sort -u) | wc -l
}

RECORD_TO=$RESULTS

REDONE=0 DISTURBED=0
CRASHES=()
KEA_POOL_SIZE=""

# shellcheck disable=SC2034 # the recorded values are read through ${!k}
NOISY=0
# shellcheck disable=SC2034 # the recorded values are read through ${!k}
run_once() { # PAIR RATE REP ATTEMPT
    local s=$1 rate=$2 rep=$3 attempt=$4 dir out p1 p2 a1=1 a2=1 m1="" m2="" answer
    local t1_0 t2_0 t1_1 t2_1 b0 b1 st0 st1 w0 w1 k0 k1 perf_cores other steal
    dir=$WORKDIR/$s-$rate-r$rep
    ((attempt == 1)) || dir+=-a$attempt
    mkdir -p "$dir"
    out=$dir/perfdhcp.out
    start_pair "$s" "$dir"
    p1=${PAIR_PIDS[0]} p2=${PAIR_PIDS[1]}
    local threads1 threads2
    if [[ $s == kea && -z $KEA_POOL_SIZE ]]; then
        answer=$(control "$dir/s1.sock" '{ "command": "status-get" }' || true)
        KEA_POOL_SIZE=$(sed -n 's/.*"thread-pool-size": \([0-9]*\).*/\1/p' <<<"$answer")
        KEA_POOL_SIZE+=" packet threads, queue $(sed -n 's/.*"packet-queue-size": \([0-9]*\).*/\1/p' <<<"$answer")"
    fi
    t1_0=$(cpu_ticks "$p1") t2_0=$(cpu_ticks "$p2")
    b0=$(sys_busy_ticks) st0=$(sys_steal_ticks) w0=$(date +%s.%N)
    local cli_q0 cli_q1
    cli_q0=$(udp_rcvbuf_errors "$RLY_NS")
    times >"$WORKDIR/.times0"
    perfdhcp_run "$out" "$rate"
    times >"$WORKDIR/.times1"
    cli_q1=$(udp_rcvbuf_errors "$RLY_NS")
    b1=$(sys_busy_ticks) st1=$(sys_steal_ticks) w1=$(date +%s.%N)
    if kill -0 "$p1" 2>/dev/null; then t1_1=$(cpu_ticks "$p1"); else a1=0 t1_1=$t1_0; fi
    if kill -0 "$p2" 2>/dev/null; then t2_1=$(cpu_ticks "$p2"); else a2=0 t2_1=$t2_0; fi
    threads1=$(awk '/^Threads:/ { print $2 }' "/proc/$p1/status" 2>/dev/null || echo 0)
    threads2=$(awk '/^Threads:/ { print $2 }' "/proc/$p2/status" 2>/dev/null || echo 0)
    local state1 state2 alive=$((a1 && a2))
    drain_pair "$dir"
    state1=$(ha_state "$dir/s1.sock" || true)
    state2=$(ha_state "$dir/s2.sock" || true)
    local kea_acks=nan kea_drops=nan
    if [[ $s == ours ]]; then
        ((a1)) && m1=$(scrape "${S_NS[0]}" || true)
        ((a2)) && m2=$(scrape "${S_NS[1]}" || true)
    elif ((a1)); then
        # Kea's primary: ACKs sent and packets dropped (pkt4-receive-drop: in
        # the smoke runs, exactly its leases that never reached the standby).
        answer=$(control "$dir/s1.sock" '{ "command": "statistic-get-all" }' || true)
        printf '%s\n' "$answer" >"$dir/statistics1.json"
        kea_acks=$(jq -r '.arguments["pkt4-ack-sent"][0][0] // "nan"' <<<"$answer" 2>/dev/null || echo nan)
        kea_drops=$(jq -r '.arguments["pkt4-receive-drop"][0][0] // "nan"' <<<"$answer" 2>/dev/null || echo nan)
    fi
    # Cores used over the run: perfdhcp (reaped children of this shell), and
    # everything else on the machine but the pair and perfdhcp (a noise indicator).
    k0=$(children_cpu_s "$WORKDIR/.times0")
    k1=$(children_cpu_s "$WORKDIR/.times1")
    read -r perf_cores other steal < <(awk -v c=$((t1_1 - t1_0 + t2_1 - t2_0)) -v b=$((b1 - b0)) -v st=$((st1 - st0)) \
        -v k="$(awk -v a="$k0" -v b="$k1" 'BEGIN { print b - a }')" -v hz="$CLK_TCK" -v w0="$w0" -v w1="$w1" 'BEGIN {
            r = w1 - w0; if (r <= 0) r = 1
            o = (b - c) / hz - k; if (o < 0) o = 0
            printf "%.2f %.2f %.2f\n", k / r, o / r, st / hz / r }')
    NOISY=0
    if awk -v o="$other" -v st="$steal" -v m="$NOISE_MAX" 'BEGIN { exit !(o + st > m) }'; then
        log "warning: other load on the machine during this run: other $other, steal $steal cores"
        NOISY=1
    fi
    local n pid
    for n in 1 2; do
        pid=${PAIR_PIDS[$((n - 1))]}
        stop_server "$pid"
        if [[ $n == 1 && $a1 == 0 || $n == 2 && $a2 == 0 ]]; then
            CRASHES+=("$s server$n rate $rate rep $rep: exited with status $STOP_RC during the run ($dir/server$n.log)")
            log "error: $s server$n exited with status $STOP_RC during the run; last lines of $dir/server$n.log:"
            tail -20 "$dir/server$n.log" >&2
        fi
    done
    ((PERF_RC == 0 || PERF_RC == 3)) || log "warning: perfdhcp exited $PERF_RC ($out)"

    local do_sent do_recv ra_sent ra_recv do_avg ra_avg mal orph rej nu prate
    read -r do_sent do_recv ra_sent ra_recv do_avg ra_avg mal orph rej nu prate < <(perfdhcp_stats "$out")
    local ra_med drops exps cpu_s cpu1_s cpu2_s cpu1k lines1 lines2 dups missing_standby acked acked_missing1 acked_missing2
    ra_med=$(perfdhcp_median "$out" REQUEST-ACK)
    acked_leases "$out" >"$dir/acked.txt"
    acked=$(wc -l <"$dir/acked.txt")
    acked_missing1=$(acked_missing "$dir/acked.txt" "$dir/leases1.csv")
    acked_missing2=$(acked_missing "$dir/acked.txt" "$dir/leases2.csv")
    lines1=$(live_rows "$dir/leases1.csv" | wc -l)
    lines2=$(live_rows "$dir/leases2.csv" | wc -l)
    dups=$(conflicts "$dir/leases1.csv" "$dir/leases2.csv")
    missing_standby=$(missing "$dir/leases1.csv" "$dir/leases2.csv")
    local fsyncs1=nan fsyncs2=nan sent_acks=nan updates_sent=nan updates_failed=nan
    if [[ -n $m1 ]]; then
        fsyncs1=$(metric dhcp4_lease_file_fsyncs <<<"$m1")
        sent_acks=$(metric 'kea_dhcp4_packets_sent_total{operation="ack"}' <<<"$m1")
        updates_sent=$(metric 'dhcp4_ha_lease_updates_total{result="sent"}' <<<"$m1")
        updates_failed=$(metric 'dhcp4_ha_lease_updates_total{result="failed"}' <<<"$m1")
    fi
    [[ -n $m2 ]] && fsyncs2=$(metric dhcp4_lease_file_fsyncs <<<"$m2")
    local states_ok=0
    [[ $state1 == hot-standby && $state2 == hot-standby ]] && states_ok=1
    drops=$((do_sent - do_recv + ra_sent - ra_recv))
    local rcvbuf_perfdhcp=$((cli_q1 - cli_q0))
    exps=$(awk -v n="$ra_recv" -v d="$DURATION" 'BEGIN { printf "%.1f", n / d }')
    cpu1_s=$(awk -v t=$((t1_1 - t1_0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')
    cpu2_s=$(awk -v t=$((t2_1 - t2_0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')
    cpu_s=$(awk -v a="$cpu1_s" -v b="$cpu2_s" 'BEGIN { printf "%.2f", a + b }')
    cpu1k=$(awk -v c="$cpu_s" -v n="$ra_recv" 'BEGIN { if (n > 0) printf "%.4f", c / (n / 1000); else print "nan" }')
    local cpu1k_1 cpu1k_2 pair_cores
    cpu1k_1=$(awk -v c="$cpu1_s" -v n="$ra_recv" 'BEGIN { if (n > 0) printf "%.4f", c / (n / 1000); else print "nan" }')
    cpu1k_2=$(awk -v c="$cpu2_s" -v n="$ra_recv" 'BEGIN { if (n > 0) printf "%.4f", c / (n / 1000); else print "nan" }')
    pair_cores=$(awk -v c="$cpu_s" -v w0="$w0" -v w1="$w1" 'BEGIN { printf "%.2f", c / (w1 - w0) }')
    local k v
    for k in exps drops do_sent do_recv ra_sent ra_recv do_avg ra_avg ra_med cpu_s cpu1_s cpu2_s cpu1k cpu1k_1 cpu1k_2 \
        lines1 lines2 dups missing_standby acked acked_missing1 acked_missing2 states_ok fsyncs1 fsyncs2 sent_acks updates_sent updates_failed \
        kea_acks kea_drops threads1 threads2 mal orph rej nu prate alive pair_cores perf_cores other steal rcvbuf_perfdhcp; do
        v=${!k}
        record "$s" "$rate" "$rep" "$k" "$v"
    done
    log "$(printf '%-4s rate %-5s rep %d: %8s leases/s, drops %d (DO %d, RA %d), RA avg/median ms %s/%s, CPU %s+%s s = %s s/1000 leases; leases primary %d standby %d, ACKed %d (missing on primary %d, on standby %d), primary leases missing on standby %d, conflicts %d; states after %s/%s; cores: pair %s, perfdhcp %s, other %s, steal %s' \
        "$s" "$rate" "$rep" "$exps" "$drops" $((do_sent - do_recv)) $((ra_sent - ra_recv)) "$ra_avg" "$ra_med" "$cpu1_s" "$cpu2_s" "$cpu1k" \
        "$lines1" "$lines2" "$acked" "$acked_missing1" "$acked_missing2" "$missing_standby" "$dups" "${state1:-?}" "${state2:-?}" "$pair_cores" "$perf_cores" "$other" "$steal")"
    if ((mal + orph + rej + nu > 0)); then
        log "warning: $s rate $rate rep $rep: perfdhcp saw malformed $mal, orphans $orph, rejected leases $rej, non-unique addresses $nu"
    fi
    # The per-exchange timestamps and leases are large; keep perfdhcp's summary only.
    grep -Ev '^sent / received:|^[0-9a-f]*,[0-9.]*,' "$out" >"$dir/perfdhcp.summary" || true
    rm -f "$out" "$dir/acked.txt"
}

# Both configs must pass both servers' checks before anything runs.
mkdir -p "$WORKDIR/config-check"
for n in 1 2; do
    write_config "$WORKDIR/config-check" "$n"
    "$OURS_BIN" --check-config -c "$WORKDIR/config-check/s$n.json" >"$WORKDIR/config-check/ours$n.log" 2>&1 ||
        { tail -5 "$WORKDIR/config-check/ours$n.log" >&2; die "ours rejects the config of server$n"; }
    "$KEA_BIN" -t "$WORKDIR/config-check/s$n.json" >"$WORKDIR/config-check/kea$n.log" 2>&1 ||
        { tail -5 "$WORKDIR/config-check/kea$n.log" >&2; die "Kea rejects the config of server$n"; }
done
: >"$RESULTS"
log "pairs: ours $OURS_BIN${OURS_ARGS:+ $OURS_ARGS} (source $SOURCE), $KEA_VERSION; lease files on $LEASE_FS"
for ((rep = 1; rep <= REPEAT; rep++)); do
    if ((rep % 2)); then order=(kea ours); else order=(ours kea); fi
    for rate in $RATES; do
        for s in "${order[@]}"; do run_one "$s" "$rate" "$rep"; done
    done
done

# ---------------------------------------------------------------- report
med() { # PAIR RATE METRIC
    # shellcheck disable=SC2046
    median $(awk -F'\t' -v s="$1" -v r="$2" -v m="$3" '$1 == s && $2 == r && $4 == m && $5 != "nan" { print $5 }' "$RESULTS")
}
runs() { # PAIR RATE METRIC: every repetition's value
    awk -F'\t' -v s="$1" -v r="$2" -v m="$3" '$1 == s && $2 == r && $4 == m { printf "%s%s", (n++ ? " " : ""), $5 }' "$RESULTS"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "nan" || b == "nan") print "n/a"; else printf "%.2f", a / b }'; }
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "nan" || v == "") print "-"; else printf f, v }'; }
label() { if [[ $1 == max ]]; then echo unlimited; else echo "$1"; fi; }
# Highest offered rate at which PAIR dropped nothing in every repetition, and
# its median leases/s there.
best_rate() { # PAIR
    local s=$1 rate best=none
    for rate in $RATES; do
        if awk -F'\t' -v s="$s" -v r="$rate" '$1 == s && $2 == r && $4 == "drops" { n++; if ($5 != 0) bad = 1 } END { exit !(n > 0 && !bad) }' "$RESULTS"; then
            best=$rate
        fi
    done
    echo "$best"
}
BEST_KEA=$(best_rate kea) BEST_OURS=$(best_rate ours)
best_exps() { if [[ $1 == none ]]; then echo nan; else med "$2" "$1" exps; fi; }
BEST_KEA_EXPS=$(best_exps "$BEST_KEA" kea) BEST_OURS_EXPS=$(best_exps "$BEST_OURS" ours)
LAST_RATE=${RATES##* }
bound() { if [[ $1 == "$LAST_RATE" ]]; then echo " (the highest rate tried: a lower bound)"; fi; }

TABLE1=$(
    echo "| offered/s | Kea leases/s | ours leases/s | ratio | Kea drops | our drops | Kea CPU s/1000 leases (pair) | ours | ratio |"
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
    echo "| offered/s | Kea primary | Kea standby | ours primary | ours standby | Kea RA avg | ours RA avg | Kea RA median | ours RA median |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for rate in $RATES; do
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(label "$rate")" \
            "$(fmt "$(med kea "$rate" cpu1k_1)" %.3f)" "$(fmt "$(med kea "$rate" cpu1k_2)" %.3f)" \
            "$(fmt "$(med ours "$rate" cpu1k_1)" %.3f)" "$(fmt "$(med ours "$rate" cpu1k_2)" %.3f)" \
            "$(fmt "$(med kea "$rate" ra_avg)" %.3f)" "$(fmt "$(med ours "$rate" ra_avg)" %.3f)" \
            "$(fmt "$(med kea "$rate" ra_med)" %.3f)" "$(fmt "$(med ours "$rate" ra_med)" %.3f)"
    done
)
TABLE3=$(
    echo "| offered/s | Kea ACKs | Kea ACKs sent/dropped | Kea leases primary/standby | not on standby | ours ACKs | ours ACKs sent | leases primary/standby | not on standby | updates sent/failed | fsyncs primary/standby |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    for rate in $RATES; do
        printf '| %s | %s | %s/%s | %s/%s | %s | %s | %s | %s/%s | %s | %s/%s | %s/%s |\n' "$(label "$rate")" \
            "$(fmt "$(med kea "$rate" ra_recv)" %.0f)" "$(fmt "$(med kea "$rate" kea_acks)" %.0f)" "$(fmt "$(med kea "$rate" kea_drops)" %.0f)" "$(fmt "$(med kea "$rate" lines1)" %.0f)" "$(fmt "$(med kea "$rate" lines2)" %.0f)" \
            "$(fmt "$(med kea "$rate" missing_standby)" %.0f)" \
            "$(fmt "$(med ours "$rate" ra_recv)" %.0f)" "$(fmt "$(med ours "$rate" sent_acks)" %.0f)" \
            "$(fmt "$(med ours "$rate" lines1)" %.0f)" "$(fmt "$(med ours "$rate" lines2)" %.0f)" \
            "$(fmt "$(med ours "$rate" missing_standby)" %.0f)" \
            "$(fmt "$(med ours "$rate" updates_sent)" %.0f)" "$(fmt "$(med ours "$rate" updates_failed)" %.0f)" \
            "$(fmt "$(med ours "$rate" fsyncs1)" %.0f)" "$(fmt "$(med ours "$rate" fsyncs2)" %.0f)"
    done
)
PER_RUN=$(
    for rate in $RATES; do
        for s in kea ours; do
            printf '  %-9s %-4s leases/s: %-22s drops: %-16s CPU s/1000: %-20s threads: %s/%s  other cores: %-14s rcvbuf full perfdhcp: %s\n' "$(label "$rate")" "$s" \
                "$(runs "$s" "$rate" exps)" "$(runs "$s" "$rate" drops)" "$(runs "$s" "$rate" cpu1k)" \
                "$(runs "$s" "$rate" threads1)" "$(runs "$s" "$rate" threads2)" "$(runs "$s" "$rate" other)" "$(runs "$s" "$rate" rcvbuf_perfdhcp)"
        done
    done
)
# Lease-file check on every run of both pairs.
LEASE_CHECK=$(awk -F'\t' '
    { v[$1 " " $2 " " $3, $4] = $5; k[$1 " " $2 " " $3] = 1 }
    END {
        bad = 0; n = 0
        for (r in k) {
            n++
            if (v[r, "dups"] != 0 || v[r, "acked_missing1"] != 0 || v[r, "acked_missing2"] != 0 || v[r, "states_ok"] != 1 || v[r, "acked"] != v[r, "ra_recv"]) {
                bad++
                printf "  PROBLEM %s: addresses with two MACs %s; of %s ACKed leases (perfdhcp counted %s) missing on the primary %s, on the standby %s; both hot-standby after the load: %s\n",
                    r, v[r, "dups"], v[r, "acked"], v[r, "ra_recv"], v[r, "acked_missing1"], v[r, "acked_missing2"], (v[r, "states_ok"] == 1 ? "yes" : "NO")
            }
        }
        if (!bad) printf "  all %d runs: no address held by two MACs across the pair; every ACKed lease in both lease files; both servers still hot-standby after the load\n", n
    }' "$RESULTS")
PROBLEMS=$(
    awk -F'\t' '($4 == "mal" || $4 == "orph" || $4 == "rej" || $4 == "nu") && $5 != 0 { printf "  %s rate %s rep %s: perfdhcp %s = %s\n", $1, $2, $3, $4, $5 }' "$RESULTS"
    for c in "${CRASHES[@]}"; do echo "  CRASH: $c"; done
)

cat <<EOF

================================================================================
dhcp4 HA benchmark: hot-standby pair of ours (source $SOURCE) vs a pair of $KEA_VERSION
  Kea: libdhcp_ha.so + libdhcp_lease_cmds.so, memfile (no fsync), multi-threading with the HA
  dedicated listener: ${KEA_POOL_SIZE:-?}, HA listener/client threads $KEA_HA_THREADS (0 = one per core)
  ours: every ACK after the primary's fsync and the standby's acknowledgement (standby fsyncs too)
date: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r); lease files on $LEASE_FS
perfdhcp relay $RELAY_IP -> 255.255.255.255 (bridge; both servers receive every packet), -R $CLIENTS,
full DORA, ${DURATION}s per run + -W ${WAIT_US}us; medians of $REPEAT; heartbeat ${HEARTBEAT_MS} ms
subnet $SUBNET, pool $POOL, fresh pair and empty lease files per run; Kea lease log $KEA_LEASE_LOG
leases/s = ACKs received / ${DURATION}s; drops = DO + RA sent - received; CPU = utime+stime of
BOTH servers of the pair; ratio = ours / Kea
--------------------------------------------------------------------------------
$TABLE1

highest offered rate with zero drops in every repetition:
  Kea  $(label "$BEST_KEA") ($(fmt "$BEST_KEA_EXPS" %.0f) leases/s)$(bound "$BEST_KEA")
  ours $(label "$BEST_OURS") ($(fmt "$BEST_OURS_EXPS" %.0f) leases/s)$(bound "$BEST_OURS")
  ratio ours / Kea: $(ratio "$BEST_OURS_EXPS" "$BEST_KEA_EXPS")

CPU s/1000 leases per server, and REQUEST-ACK latency (ms; median from perfdhcp's timestamps):
$TABLE2

lease files (live rows after the drain; "not on standby": the primary's leases missing from the
standby's file, i.e. never ACKed), Kea primary's pkt4-ack-sent/pkt4-receive-drop, and HA lease
updates of ours (failed: no ACK sent):
$TABLE3
$LEASE_CHECK

disturbed runs (other load > $NOISE_MAX cores): $REDONE redone, $DISTURBED kept as they were
--------------------------------------------------------------------------------
every run (threads: tasks of server1/server2 at the end of the load):
$PER_RUN
--------------------------------------------------------------------------------
problems:
${PROBLEMS:-  none (no crash; perfdhcp saw no malformed packet, orphan, rejected lease or duplicate address)}
command: $COMMAND
raw results: $RESULTS
runtime: $(((SECONDS - START) / 60))m$(((SECONDS - START) % 60))s
EOF
