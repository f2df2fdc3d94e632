#!/usr/bin/env bash
# Issue 20's proof: the lb in node-local mode beside the node-local choices
# other clusters make, Unbound as a forwarding cache and dnsmasq (Debian's
# packages), on the same workloads, in network namespaces:
#
#   pod 10.98.0.2 (dnsperf, dns-load) ── node 10.98.0.1:
#       ours     169.254.20.10:53 (node-local mode: ifb interface, iptables rules)
#       Unbound  10.98.0.1:53     (forward-zone "." to the upstream)
#       dnsmasq  10.98.0.3:53     (server= the upstream)
#       upstream 10.98.0.1:5353   (udp_echo_floor.c answering every name: A, TTL 3600)
#
# Workloads (each server fresh for each, medians of REPEATS):
#   hits      dnsperf at full speed on 1,000 cached names for HIT_SECS: QPS and
#             the server's CPU per query (its utime+stime over the run)
#   mix90     the same with 10 % of the queries for names never seen
#   rss       VmRSS after 10,000 and after 100,000 distinct names were cached
#   restart   dns-load at 300 q/s for 10 s; after 3 s the server gets SIGTERM and
#             is started again: queries lost (ours hands over to the fallback)
#
# Goal: the best CPU per query and the smallest RSS of the three, and zero
# queries lost across a restart.
#
# Knobs: REPEATS=3 HIT_SECS=10 BUILD=1 WORKDIR= (default mktemp),
# PHASES="hits rss restart" (a subset measures only those; the table shows
# the others empty).
# Needs root (namespaces, iptables). Sends traffic only inside the namespaces
# it creates; stops only the processes it started (by PID).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"

REPEATS=${REPEATS:-3}
PHASES=${PHASES:-hits rss restart}
HIT_SECS=${HIT_SECS:-10}
BUILD=${BUILD:-1}
WORKDIR=${WORKDIR:-$(mktemp -d /tmp/bench-nodelocal.XXXXXX)}
COMMAND="REPEATS=$REPEATS HIT_SECS=$HIT_SECS PHASES=\"$PHASES\" $0"
NODE=nlb-node-$$
POD=nlb-pod-$$
UPSTREAM=10.98.0.1
OURS=169.254.20.10
UNBOUND=10.98.0.1
DNSMASQ=10.98.0.3
declare -A ADDR=([ours]=$OURS [unbound]=$UNBOUND [dnsmasq]=$DNSMASQ)
SERVERS=(ours unbound dnsmasq)

[[ $(id -u) -eq 0 ]] || die "run as root (network namespaces, iptables)"
apt_ensure dnsperf dnsperf
apt_ensure unbound unbound
apt_ensure dnsmasq dnsmasq-base
bench_init "$WORKDIR"
netns_cleanup() {
    ip netns del "$POD" 2>/dev/null || true
    ip netns del "$NODE" 2>/dev/null || true
}
trap 'bench_cleanup; netns_cleanup' EXIT
log "work directory: $WORKDIR"

if [[ "$BUILD" == 1 ]]; then
    (cd "$ROOT" && cargo build --release -q -p lb -p e2e) || die "cargo build failed"
fi
LB=$ROOT/target/release/lb
LOAD=$ROOT/target/release/dns-load
[[ -x "$LB" && -x "$LOAD" ]] || die "build lb and e2e in release first (BUILD=1)"
gcc -O2 -Wall -pthread -o "$WORKDIR/udp_echo_floor" "$HERE/udp_echo_floor.c" || die "cannot build udp_echo_floor.c"

# ---------------------------------------------------------------- namespaces
ip netns add "$NODE"
ip netns add "$POD"
in_node() { ip netns exec "$NODE" "$@"; }
in_pod() { ip netns exec "$POD" "$@"; }
ip -n "$NODE" link set lo up
ip -n "$POD" link set lo up
ip link add nlb-n netns "$NODE" type veth peer name eth0 netns "$POD"
ip -n "$NODE" addr add 10.98.0.1/24 dev nlb-n
ip -n "$NODE" addr add "$DNSMASQ/24" dev nlb-n
ip -n "$NODE" link set nlb-n up
ip -n "$POD" addr add 10.98.0.2/24 dev eth0
ip -n "$POD" link set eth0 up
ip -n "$POD" route add default via 10.98.0.1
bench_spawn upstream ip netns exec "$NODE" "$WORKDIR/udp_echo_floor" "$UPSTREAM" 5353 1 answer

# ---------------------------------------------------------------- servers
cat >"$WORKDIR/ours.toml" <<EOF
[node-local]
interface = "nlbench"
link-type = "ifb"
firewall = "iptables"
fallback = "$UPSTREAM:5353"
cluster-dns = "$UPSTREAM:5353"
[backends]
servers = [{ addr = "$UPSTREAM:5353" }]
[health]
enabled = false
[listen]
udp = ["$OURS:53"]
tcp = ["$OURS:53"]
threads = 2
[cache]
size = 200000
denial-size = 20000
[metrics]
addr = "127.0.0.1:9253"
EOF
cat >"$WORKDIR/unbound.conf" <<EOF
server:
    interface: $UNBOUND
    port: 53
    num-threads: 2
    so-reuseport: yes
    msg-cache-size: 64m
    rrset-cache-size: 128m
    access-control: 0.0.0.0/0 allow
    do-not-query-localhost: no
    do-ip6: no
    module-config: "iterator"
$(unbound_foreground "$WORKDIR")
remote-control:
    control-enable: no
forward-zone:
    name: "."
    forward-addr: $UPSTREAM@5353
EOF

start_server() { # SERVER -> SERVER_PID
    local s=$1
    case $s in
    ours) bench_spawn "ours-$RANDOM" ip netns exec "$NODE" "$LB" -c "$WORKDIR/ours.toml" --lameduck 1 ;;
    unbound) bench_spawn "unbound-$RANDOM" ip netns exec "$NODE" unbound -d -c "$WORKDIR/unbound.conf" ;;
    dnsmasq) bench_spawn "dnsmasq-$RANDOM" ip netns exec "$NODE" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
        --no-poll --user=root --pid-file= --listen-address="$DNSMASQ" --bind-interfaces --port=53 \
        --server="$UPSTREAM#5353" --cache-size=150000 --dns-forward-max=1000 ;;
    esac
    SERVER_PID=$SPAWNED_PID
    bench_wait_for 20 in_pod dig +time=1 +tries=1 @"${ADDR[$s]}" ready.bench.nodelocal.net A +short \
        || die "$s did not answer; log: $(cat "$WORKDIR"/"$s"-*.log | tail -5)"
}
stop_server() { bench_stop "$1"; bench_forget "$1"; }

names() { # FILE COUNT PREFIX
    awk -v n="$2" -v p="$3" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d.bench.nodelocal.net A\n", p, i }' >"$1"
}

# ---------------------------------------------------------------- workloads
# run_hits SERVER KIND -> "qps cpu_us_per_query"
run_hits() {
    local s=$1 kind=$2 file out t0 t1
    file=$WORKDIR/hot.txt
    names "$file" 1000 h
    start_server "$s"
    in_pod timeout -k 5 60 dnsperf -s "${ADDR[$s]}" -d "$file" -n 1 -Q 5000 >"$WORKDIR/warm-$s.out" 2>&1 || true
    if [[ $kind == mix90 ]]; then
        file=$WORKDIR/mix-$s-$RANDOM.txt
        awk -v r="$RANDOM" 'BEGIN { for (i = 0; i < 200000; i++)
            if (i % 10 == 9) printf "m%s-%d.bench.nodelocal.net A\n", r, i;
            else printf "h%d.bench.nodelocal.net A\n", i % 1000 }' >"$file"
    fi
    out=$WORKDIR/$kind-$s-$RANDOM.out
    t0=$(cpu_ticks "$SERVER_PID")
    in_pod timeout -k 5 $((HIT_SECS + 30)) dnsperf -s "${ADDR[$s]}" -d "$file" -l "$HIT_SECS" -c 20 -q 500 -t 2 >"$out" 2>&1 || true
    t1=$(cpu_ticks "$SERVER_PID")
    local completed qps
    read -r _ completed _ qps _ < <(dnsperf_stats "$out")
    stop_server "$SERVER_PID"
    awk -v q="$qps" -v c="$completed" -v t=$((t1 - t0)) -v hz="$CLK_TCK" \
        'BEGIN { printf "%.0f %.2f\n", q, (c ? t / hz * 1e6 / c : 0) }'
}

# run_rss SERVER -> "rss_10k rss_100k" (KiB)
run_rss() {
    local s=$1 a b
    start_server "$s"
    names "$WORKDIR/rss-a.txt" 10000 r
    names "$WORKDIR/rss-b.txt" 90000 s
    in_pod timeout -k 5 60 dnsperf -s "${ADDR[$s]}" -d "$WORKDIR/rss-a.txt" -n 1 -Q 10000 >"$WORKDIR/rss-a-$s.out" 2>&1 || true
    a=$(rss_kb "$SERVER_PID")
    in_pod timeout -k 5 60 dnsperf -s "${ADDR[$s]}" -d "$WORKDIR/rss-b.txt" -n 1 -Q 10000 >"$WORKDIR/rss-b-$s.out" 2>&1 || true
    b=$(rss_kb "$SERVER_PID")
    log "$s at 100k: $(grep -E '^Rss(Anon|File)' "/proc/$SERVER_PID/status" | tr -s ' \t\n' ' ')"
    if [[ $s == ours ]]; then
        log "ours at 100k: $(in_node curl -s 127.0.0.1:9253/metrics | grep -E '^lb_cache_(entries|memory)' | tr '\n' ' ')"
    fi
    stop_server "$SERVER_PID"
    echo "$a $b"
}

# run_restart SERVER -> queries lost across a restart
run_restart() {
    local s=$1 load out=$WORKDIR/restart-$s.out
    start_server "$s"
    in_pod timeout -k 5 40 "$LOAD" --server "${ADDR[$s]}:53" --count 3000 --rate 300 --concurrency 32 \
        --timeout-ms 2000 --max-ms 15000 --names 'x{i}.bench.nodelocal.net' >"$out" 2>&1 &
    load=$!
    sleep 3
    stop_server "$SERVER_PID"
    start_server "$s"
    wait "$load" || true
    stop_server "$SERVER_PID"
    sed -n 's/.*lost=\([0-9]*\).*/\1/p' "$out" | tail -1
}

phase() { [[ " $PHASES " == *" $1 "* ]]; }
declare -A R
for rep in $(seq 1 "$REPEATS"); do
    phase hits || break
    for s in "${SERVERS[@]}"; do
        read -r "R[hits_qps_${s}_$rep]" "R[hits_cpu_${s}_$rep]" < <(run_hits "$s" hits)
        read -r "R[mix_qps_${s}_$rep]" "R[mix_cpu_${s}_$rep]" < <(run_hits "$s" mix90)
        log "$s #$rep: hits ${R[hits_qps_${s}_$rep]} q/s ${R[hits_cpu_${s}_$rep]} us/q; mix90 ${R[mix_qps_${s}_$rep]} q/s ${R[mix_cpu_${s}_$rep]} us/q"
    done
done
for s in "${SERVERS[@]}"; do
    if phase rss; then read -r "R[rss10_$s]" "R[rss100_$s]" < <(run_rss "$s"); fi
    if phase restart; then R[lost_$s]=$(run_restart "$s"); fi
    log "$s: rss ${R[rss10_$s]:-} / ${R[rss100_$s]:-} KiB; lost across a restart ${R[lost_$s]:-}"
done

med() { # KEY SERVER
    local vals=() rep
    for rep in $(seq 1 "$REPEATS"); do vals+=("${R[${1}_${2}_$rep]:-}"); done
    median "${vals[@]}"
}
echo
echo "nodelocal.sh: source $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u +%FT%TZ), $(nproc) cores, medians of $REPEATS"
echo "command: $COMMAND"
printf '%-36s %12s %12s %12s\n' "" ours unbound dnsmasq
row() { # LABEL KEY
    printf '%-36s %12s %12s %12s\n' "$1" "$(med "$2" ours)" "$(med "$2" unbound)" "$(med "$2" dnsmasq)"
}
row "cache hits: q/s" hits_qps
row "cache hits: CPU us per query" hits_cpu
row "90 % hits: q/s" mix_qps
row "90 % hits: CPU us per query" mix_cpu
printf '%-36s %12s %12s %12s\n' "RSS (KiB), 10k names" "${R[rss10_ours]:-}" "${R[rss10_unbound]:-}" "${R[rss10_dnsmasq]:-}"
printf '%-36s %12s %12s %12s\n' "RSS (KiB), 100k names" "${R[rss100_ours]:-}" "${R[rss100_unbound]:-}" "${R[rss100_dnsmasq]:-}"
printf '%-36s %12s %12s %12s\n' "queries lost across a restart" "${R[lost_ours]:-}" "${R[lost_unbound]:-}" "${R[lost_dnsmasq]:-}"
best() { # KEY: PASS when ours is the lowest median
    local o u d
    o=$(med "$1" ours) u=$(med "$1" unbound) d=$(med "$1" dnsmasq)
    awk -v o="$o" -v u="$u" -v d="$d" 'BEGIN { print (o <= u && o <= d) ? "PASS" : "FAIL" }'
}
echo "goals (ours):"
echo "  lowest CPU per query, cache hits          $(best hits_cpu)"
echo "  lowest CPU per query, 90 % hits           $(best mix_cpu)"
for n in 10 100; do
    o=${R[rss${n}_ours]:-} u=${R[rss${n}_unbound]:-} d=${R[rss${n}_dnsmasq]:-}
    echo "  smallest RSS, ${n}k names                   $(awk -v o="$o" -v u="$u" -v d="$d" 'BEGIN { print (o <= u && o <= d) ? "PASS" : "FAIL" }')"
done
echo "  no query lost across a restart            $([[ ${R[lost_ours]:-} == 0 ]] && echo PASS || echo FAIL)"
log "done; raw results in $WORKDIR"
