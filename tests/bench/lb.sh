#!/usr/bin/env bash
# Benchmark: our `lb` against dnsdist (Debian) in front of the same two backends,
# on identical dnsperf workloads, in one run. See tests/bench/README.md.
#
#   tests/bench/lb.sh              # full run (~5 min on 2 cores)
#   QUICK=1 tests/bench/lb.sh      # smoke run (~1 min)
#
# Knobs (environment):
#   DURATION=10      seconds of each max-rate dnsperf run (QPS, CPU per query)
#   LAT_DURATION=5   seconds of each fixed-rate run (mean / p99 latency)
#   REPEATS=3        repetitions of every measurement; medians are reported
#   RATE=20000       offered QPS of the fixed-rate runs
#   THREADS=2        UDP receive threads of both balancers (dnsdist: that many
#                    reuseport listeners)
#   NAMES=1000       distinct names in the query file
#   CLIENT="-c 10 -T 1 -q 100"   dnsperf client options, identical for all
#   NET=211          balancers on 127.NET.1.1 (ours) and .1.2 (dnsdist), backends
#                    on 127.NET.2.1 and .2.2
#   HITRATIO=1       also measure the backends' cache hit ratio behind our lb with
#                    roundRobin, leastOutstanding and chashed: two of our resolvers over the
#                    fake hierarchy (127.NET.0.x), HR_NAMES names asked HR_REPEATS
#                    times each in random order at HR_RATE QPS; 0 to skip
#   HR_NAMES=3000 HR_REPEATS=4 HR_RATE=5000
#   CACHE=1          also measure both balancers with their packet caches on
#                    (ours: [cache]; dnsdist: newPacketCache), in front of two
#                    echo backends that answer with an A record (TTL 3600), so
#                    after one warming pass every query is a cache hit; 0 to skip
#   BUILD=1          0: skip `cargo build --release -p lb -p resolver -p e2e`
#   WORKDIR=         where configs, logs and raw results go (default: mktemp)
#
# Backends: two zero-work UDP servers (udp_echo_floor.c, one thread each) that
# echo each query back as an answer, so the backends cost as little CPU as a
# server can on these 2 shared cores and the figures are the balancers'. "direct"
# is dnsperf against backend 1 with no balancer: the latency a balancer adds.
# "floor" (udp_forward_floor.c, on 127.NET.1.3, THREADS threads) is a forwarder
# that does nothing but move datagrams, batched: the kernel's cost of a balanced
# query, below which no balancer can go. It is measured like the two others.
#
# Needs root (binds 127.x.y.z:53, installs dnsdist/dnsperf/dnsutils when missing).
# Sends traffic only to 127.0.0.0/8 (dnsdist's security polling is switched off
# with setSecurityPollSuffix('')); stops only the processes it started (by PID).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"

KNOBS=(QUICK DURATION LAT_DURATION REPEATS RATE THREADS NAMES CLIENT NET HITRATIO CACHE HR_NAMES HR_REPEATS HR_RATE BUILD WORKDIR)
COMMAND=""
for k in "${KNOBS[@]}"; do
    [[ -n "${!k+x}" ]] && COMMAND+="$k=$(printf '%q' "${!k}") "
done
COMMAND+="$0"

QUICK=${QUICK:-0}
if [[ "$QUICK" == 1 ]]; then
    DURATION=${DURATION:-3}
    LAT_DURATION=${LAT_DURATION:-2}
    REPEATS=${REPEATS:-1}
fi
DURATION=${DURATION:-10}
LAT_DURATION=${LAT_DURATION:-5}
REPEATS=${REPEATS:-3}
RATE=${RATE:-20000}
THREADS=${THREADS:-2}
NAMES=${NAMES:-1000}
CLIENT=${CLIENT:-"-c 10 -T 1 -q 100"}
NET=${NET:-211}
BUILD=${BUILD:-1}
HITRATIO=${HITRATIO:-1}
CACHE=${CACHE:-1}
HR_NAMES=${HR_NAMES:-3000}
HR_REPEATS=${HR_REPEATS:-4}
HR_RATE=${HR_RATE:-5000}
WORKDIR=${WORKDIR:-$(mktemp -d /tmp/bench-lb.XXXXXX)}
# shellcheck disable=SC2206
CLIENT_ARGS=($CLIENT)

OURS_ADDR=127.$NET.1.1
DNSDIST_ADDR=127.$NET.1.2
BACKEND1=127.$NET.2.1
BACKEND2=127.$NET.2.2
BACKEND3=127.$NET.2.3
BACKEND4=127.$NET.2.4
METRICS=127.$NET.1.1:8083
LB_BIN=$ROOT/target/release/lb
ECHO_BIN=$WORKDIR/udp_echo_floor
FLOOR_ADDR=127.$NET.1.3
FLOOR_BIN=$WORKDIR/udp_forward_floor
RESULTS=$WORKDIR/results.tsv # server rep metric value

bench_init "$WORKDIR"
START=$SECONDS
log "work directory: $WORKDIR"
log "command: $COMMAND"

[[ $(id -u) -eq 0 ]] || die "run as root (the servers bind 127.x.y.z:53)"
apt_ensure dnsdist dnsdist
apt_ensure dnsperf dnsperf
apt_ensure dig dnsutils
apt_ensure gcc gcc
if [[ "$BUILD" == 1 ]]; then
    log "building release binaries"
    (cd "$ROOT" && cargo build --release -p lb -p resolver -p e2e) >"$WORKDIR/build.log" 2>&1 ||
        { tail -20 "$WORKDIR/build.log" >&2; die "cargo build failed"; }
fi
[[ -x "$LB_BIN" ]] || die "missing $LB_BIN (BUILD=1)"
gcc -O2 -Wall -pthread -o "$ECHO_BIN" "$HERE/udp_echo_floor.c" || die "cannot build udp_echo_floor.c"
gcc -O2 -Wall -pthread -o "$FLOOR_BIN" "$HERE/udp_forward_floor.c" || die "cannot build udp_forward_floor.c"
SOURCE=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
for a in "$OURS_ADDR" "$DNSDIST_ADDR" "$FLOOR_ADDR" "$BACKEND1" "$BACKEND2" "$BACKEND3" "$BACKEND4"; do
    if ss -Hlnu "src $a" | grep -q .; then die "something already listens on $a"; fi
done

QUERIES=$WORKDIR/queries.txt
awk -v n="$NAMES" 'BEGIN { for (i = 1; i <= n; i++) printf "n%04d.lb.test A\n", i }' >"$QUERIES"

answers() { dig +time=1 +tries=1 @"$1" ready.lb.test A | grep -q 'status: NOERROR'; }

declare -A PID
bench_spawn backend1 "$ECHO_BIN" "$BACKEND1" 53 1
PID[backend1]=$SPAWNED_PID
bench_spawn backend2 "$ECHO_BIN" "$BACKEND2" 53 1
PID[backend2]=$SPAWNED_PID
bench_wait_for 10 answers "$BACKEND1" || die "backend 1 does not answer"
bench_wait_for 10 answers "$BACKEND2" || die "backend 2 does not answer"

# The same setup for both: leastOutstanding over the two backends, health checks
# every second, loopback ACL, THREADS UDP receivers.
cat >"$WORKDIR/lb.toml" <<EOF
policy = "leastOutstanding"
[listen]
udp = ["$OURS_ADDR:53"]
tcp = ["$OURS_ADDR:53"]
threads = $THREADS
[backends]
servers = [{ addr = "$BACKEND1:53" }, { addr = "$BACKEND2:53" }]
[health]
query = "a.root-servers.net."
interval = "1s"
[acl]
allow = ["127.0.0.0/8"]
[metrics]
addr = "$METRICS"
EOF
{
    echo "setSecurityPollSuffix('')"
    echo "setLocal('$DNSDIST_ADDR:53', { reusePort=true })"
    for ((i = 1; i < THREADS; i++)); do echo "addLocal('$DNSDIST_ADDR:53', { reusePort=true })"; done
    echo "newServer({ address='$BACKEND1:53', checkName='a.root-servers.net.', checkInterval=1 })"
    echo "newServer({ address='$BACKEND2:53', checkName='a.root-servers.net.', checkInterval=1 })"
    echo "setServerPolicy(leastOutstanding)"
    echo "setACL({'127.0.0.0/8'})"
} >"$WORKDIR/dnsdist.conf"
"$LB_BIN" -c "$WORKDIR/lb.toml" --check-config >"$WORKDIR/lb-check.log" 2>&1 ||
    { cat "$WORKDIR/lb-check.log" >&2; die "our lb rejects its config"; }
dnsdist --check-config -C "$WORKDIR/dnsdist.conf" >"$WORKDIR/dnsdist-check.log" 2>&1 ||
    { cat "$WORKDIR/dnsdist-check.log" >&2; die "dnsdist rejects its config"; }

bench_spawn ours "$LB_BIN" -c "$WORKDIR/lb.toml"
PID[ours]=$SPAWNED_PID
bench_spawn dnsdist dnsdist --supervised --disable-syslog -C "$WORKDIR/dnsdist.conf"
PID[dnsdist]=$SPAWNED_PID
bench_wait_for 30 answers "$OURS_ADDR" || { tail -20 "$WORKDIR/ours.log" >&2; die "our lb does not answer"; }
bench_wait_for 30 answers "$DNSDIST_ADDR" || { tail -20 "$WORKDIR/dnsdist.log" >&2; die "dnsdist does not answer"; }
bench_spawn floor "$FLOOR_BIN" "$FLOOR_ADDR" 53 "$THREADS" "$BACKEND1:53" "$BACKEND2:53"
PID[floor]=$SPAWNED_PID
bench_wait_for 10 answers "$FLOOR_ADDR" || die "udp_forward_floor does not answer"
log "ours pid ${PID[ours]} on $OURS_ADDR, dnsdist pid ${PID[dnsdist]} on $DNSDIST_ADDR ($(dnsdist --version 2>/dev/null | head -1))"

addr_of() {
    case $1 in
    ours) echo "$OURS_ADDR" ;;
    dnsdist) echo "$DNSDIST_ADDR" ;;
    floor) echo "$FLOOR_ADDR" ;;
    ours-cache) echo "$OURS_ADDR" ;;
    dnsdist-cache) echo "$DNSDIST_ADDR" ;;
    direct) echo "$BACKEND1" ;;
    esac
}
record() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }

measure() { # SERVER MODE(max|rate) REP
    local s=$1 mode=$2 rep=$3 out pid n0 n1 sent comp lost qps avg noerr runtime cpu_us
    out=$WORKDIR/run-$s-$mode-r$rep.out
    pid=${PID[$s]:-${PID[backend1]}}
    local args=(-s "$(addr_of "$s")" -d "$QUERIES" "${CLIENT_ARGS[@]}")
    if [[ $mode == max ]]; then args+=(-l "$DURATION"); else args+=(-l "$LAT_DURATION" -Q "$RATE" -v -t 2); fi
    n0=$(cpu_ns "$pid")
    dnsperf_run "$out" "${args[@]}"
    n1=$(cpu_ns "$pid")
    read -r sent comp lost qps avg noerr runtime < <(dnsperf_stats "$out")
    ((comp > 0)) || die "$s answered nothing ($out)"
    cpu_us=$(awk -v d=$((n1 - n0)) -v n="$comp" 'BEGIN { printf "%.3f", d / 1e3 / n }')
    if [[ $mode == max ]]; then
        record "$s" "$rep" qps "$qps"
        record "$s" "$rep" cpu_us_max "$cpu_us"
        record "$s" "$rep" lost_max "$lost"
        log "$s max  rep $rep: ${qps%.*} QPS, $cpu_us µs CPU/query, lost $lost of $sent"
    else
        local n nlost mean p50 p99
        read -r n nlost mean p50 p99 < <(dnsperf_latency "$out")
        record "$s" "$rep" cpu_us_rate "$cpu_us"
        record "$s" "$rep" mean_us "$mean"
        record "$s" "$rep" p99_us "$p99"
        record "$s" "$rep" lost_rate "$lost"
        log "$s rate rep $rep: mean $mean µs, p50 $p50 µs, p99 $p99 µs, $cpu_us µs CPU/query, lost $lost"
        grep -v '^> ' "$out" >"$out.summary" || true
        rm -f "$out"
    fi
}

: >"$RESULTS"
for ((rep = 1; rep <= REPEATS; rep++)); do
    if ((rep % 2)); then order=(ours dnsdist); else order=(dnsdist ours); fi
    for mode in max rate; do
        for s in "${order[@]}" floor; do measure "$s" "$mode" "$rep"; done
    done
    measure direct rate "$rep"
done

med() { # SERVER METRIC
    median $(awk -F'\t' -v s="$1" -v m="$2" '$1 == s && $3 == m { print $4 }' "$RESULTS")
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "nan" || b == "nan") print "n/a"; else printf "%.2f", a / b }'; }
row() { # METRIC LABEL BETTER
    local o d
    o=$(med ours "$1")
    d=$(med dnsdist "$1")
    printf '%-34s %-6s %12s %12s %7s\n' "$2" "$3" "$o" "$d" "$(ratio "$o" "$d")"
}
direct_mean=$(med direct mean_us)
added() { awk -v a="$(med "$1" mean_us)" -v b="$direct_mean" 'BEGIN { printf "%.1f", a - b }'; }
q=$(ratio "$(med ours qps)" "$(med dnsdist qps)")
c=$(ratio "$(med ours cpu_us_max)" "$(med dnsdist cpu_us_max)")
p=$(ratio "$(med ours p99_us)" "$(med dnsdist p99_us)")
ok=$(awk -v q="$q" -v c="$c" -v p="$p" 'BEGIN { print ((q >= 1.5 || c <= 0.67) && p < 1.0) ? "PASS" : "FAIL" }')
floor_cpu=$(ratio "$(med floor cpu_us_max)" "$(med dnsdist cpu_us_max)")
floor_qps=$(ratio "$(med floor qps)" "$(med dnsdist qps)")

# ---------------------------------------------------------------- packet cache
# Both balancers again, caches on, in front of two backends that answer with an
# A record: after one pass over the names every query is a cache hit, so this
# measures the balancers' cache paths (two datagrams a query, not four).
CACHE_REPORT=""
if [[ "$CACHE" == 1 ]]; then
    bench_stop "${PID[ours]}"
    bench_stop "${PID[dnsdist]}"
    PID[ours]=""
    PID[dnsdist]=""
    bench_spawn backend3 "$ECHO_BIN" "$BACKEND3" 53 1 answer
    PID[backend3]=$SPAWNED_PID
    bench_spawn backend4 "$ECHO_BIN" "$BACKEND4" 53 1 answer
    PID[backend4]=$SPAWNED_PID
    bench_wait_for 10 answers "$BACKEND3" || die "backend 3 does not answer"
    bench_wait_for 10 answers "$BACKEND4" || die "backend 4 does not answer"
    sed -e "s/$BACKEND1:53/$BACKEND3:53/; s/$BACKEND2:53/$BACKEND4:53/" "$WORKDIR/lb.toml" >"$WORKDIR/lb-cache.toml"
    printf '[cache]\nsize = 100000\n' >>"$WORKDIR/lb-cache.toml"
    {
        sed -e "s/$BACKEND1:53/$BACKEND3:53/; s/$BACKEND2:53/$BACKEND4:53/" "$WORKDIR/dnsdist.conf"
        echo "pc = newPacketCache(100000, { maxTTL=86400 })"
        echo "getPool(''):setCache(pc)"
    } >"$WORKDIR/dnsdist-cache.conf"
    bench_spawn ours-cache "$LB_BIN" -c "$WORKDIR/lb-cache.toml"
    PID[ours-cache]=$SPAWNED_PID
    bench_spawn dnsdist-cache dnsdist --supervised --disable-syslog -C "$WORKDIR/dnsdist-cache.conf"
    PID[dnsdist-cache]=$SPAWNED_PID
    bench_wait_for 30 answers "$OURS_ADDR" || { tail -20 "$WORKDIR/ours-cache.log" >&2; die "our lb (cache) does not answer"; }
    bench_wait_for 30 answers "$DNSDIST_ADDR" || { tail -20 "$WORKDIR/dnsdist-cache.log" >&2; die "dnsdist (cache) does not answer"; }
    for s in ours-cache dnsdist-cache; do
        dnsperf_run "$WORKDIR/warm-$s.out" -s "$(addr_of "$s")" -d "$QUERIES" -n 1 "${CLIENT_ARGS[@]}"
    done
    for ((rep = 1; rep <= REPEATS; rep++)); do
        if ((rep % 2)); then order=(ours-cache dnsdist-cache); else order=(dnsdist-cache ours-cache); fi
        for mode in max rate; do
            for s in "${order[@]}"; do measure "$s" "$mode" "$rep"; done
        done
    done
    cache_hits=$(curl -fsS "http://$METRICS/metrics" | awk '/^dnsdist_cache_hits / { h = $2 } /^dnsdist_queries / { q = $2 } END { printf "%d of %d queries (%.4f)", h, q, h / q }')
    crow() { # METRIC LABEL BETTER
        local o d
        o=$(med ours-cache "$1")
        d=$(med dnsdist-cache "$1")
        printf '%-34s %-6s %12s %12s %7s\n' "$2" "$3" "$o" "$d" "$(ratio "$o" "$d")"
    }
    CACHE_REPORT=$(
        printf '%-34s %-6s %12s %12s %7s\n' metric better ours dnsdist ratio
        crow qps "QPS (max rate)" higher
        crow cpu_us_max "CPU us/query (max rate)" lower
        crow cpu_us_rate "CPU us/query (@$RATE QPS)" lower
        crow mean_us "mean latency us (@$RATE QPS)" lower
        crow p99_us "p99 latency us (@$RATE QPS)" lower
        echo "our packet cache answered $cache_hits"
    )
    bench_stop "${PID[ours-cache]}"
    bench_stop "${PID[dnsdist-cache]}"
    PID[ours-cache]=""
    PID[dnsdist-cache]=""
fi

# ---------------------------------------------------------------- backend hit ratio
# Two of our resolvers behind our lb; the same shuffled workload once per policy,
# each time with fresh caches; hit ratio = resolvers' cache hits / their queries.
HR_REPORT=""
if [[ "$HITRATIO" == 1 ]]; then
    stop_all_balancers() { bench_stop "${PID[ours]}"; bench_stop "${PID[dnsdist]}"; bench_stop "${PID[floor]}"; }
    stop_all_balancers
    FAKE_BIN=$ROOT/target/release/fake-dns
    RESOLVER_BIN=$ROOT/target/release/resolver
    [[ -x "$FAKE_BIN" && -x "$RESOLVER_BIN" ]] || die "missing $FAKE_BIN or $RESOLVER_BIN (BUILD=1)"
    bench_spawn fake-dns "$FAKE_BIN" --net "$NET" --root-hints-out "$WORKDIR/root.hints"
    bench_wait_for 30 grep -q '^ready:' "$WORKDIR/fake-dns.log" || die "fake-dns did not become ready"
    HR_FILE=$WORKDIR/hitratio.txt
    awk -v n="$HR_NAMES" -v r="$HR_REPEATS" 'BEGIN { srand(7); for (k = 0; k < r; k++) for (i = 1; i <= n; i++) printf "%.9f hr%05d.wild.net A\n", rand(), i }' |
        sort -k1,1 | cut -d' ' -f2- >"$HR_FILE"
    for policy in roundRobin leastOutstanding chashed; do
        for k in 1 2; do
            cat >"$WORKDIR/resolver-$k.conf" <<EOF2
server:
    interface: 127.$NET.3.$k
    port: 53
    num-threads: 1
    do-ip6: no
    do-not-query-localhost: no
    root-hints: "$WORKDIR/root.hints"
    module-config: "iterator"
    verbosity: 0
EOF2
            bench_spawn "resolver-$k-$policy" "$RESOLVER_BIN" -c "$WORKDIR/resolver-$k.conf" --metrics-addr "127.$NET.3.$k:9167"
            PID[resolver$k]=$SPAWNED_PID
            bench_wait_for 30 curl -fsS -o /dev/null --max-time 1 "http://127.$NET.3.$k:9167/readyz" || die "resolver $k not ready"
        done
        cat >"$WORKDIR/lb-hr.toml" <<EOF2
policy = "$policy"
[listen]
udp = ["127.$NET.1.3:53"]
threads = $THREADS
[backends]
servers = [{ addr = "127.$NET.3.1:53" }, { addr = "127.$NET.3.2:53" }]
[health]
enabled = false
[metrics]
addr = "127.$NET.1.3:8083"
EOF2
        bench_spawn "lb-hr-$policy" "$LB_BIN" -c "$WORKDIR/lb-hr.toml"
        PID[lbhr]=$SPAWNED_PID
        bench_wait_for 30 curl -fsS -o /dev/null --max-time 1 "http://127.$NET.1.3:8083/readyz" || die "lb for the hit-ratio run not ready"
        out=$WORKDIR/hitratio-$policy.out
        dnsperf_run "$out" -s "127.$NET.1.3" -d "$HR_FILE" -n 1 -Q "$HR_RATE" -t 5 "${CLIENT_ARGS[@]}"
        read -r _ comp lost _ _ noerr _ < <(dnsperf_stats "$out")
        hits=0 queries=0
        for k in 1 2; do
            read -r hr_h hr_q < <(curl -fsS --max-time 2 "http://127.$NET.3.$k:9167/metrics" |
                awk '/^unbound_cache_hits_total[{ ]/{h += $NF} /^unbound_queries_total[{ ]/{q += $NF} END {printf "%d %d\n", h, q}')
            hits=$((hits + hr_h)) queries=$((queries + hr_q))
        done
        ratio_hr=$(awk -v h="$hits" -v q="$queries" 'BEGIN { printf "%.3f", (q > 0 ? h / q : 0) }')
        log "hit ratio with $policy: $hits of $queries backend queries were cache hits ($ratio_hr); $noerr NOERROR, lost $lost"
        HR_REPORT+=$(printf '%-18s %8s hits / %8s queries = %s   (answered NOERROR %s, lost %s)' "$policy" "$hits" "$queries" "$ratio_hr" "$noerr" "$lost")$'\n'
        bench_stop "${PID[lbhr]}"
        bench_stop "${PID[resolver1]}"
        bench_stop "${PID[resolver2]}"
    done
fi

cat <<EOF

================================================================================
lb benchmark: ours ($OURS_ADDR) vs $(dnsdist --version 2>/dev/null | head -1) ($DNSDIST_ADDR)
source: $SOURCE; $THREADS UDP threads each; backends: 2 zero-work echo servers
date: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r)
client: dnsperf $CLIENT over $NAMES names; max-rate runs ${DURATION}s, fixed-rate (${RATE} QPS) runs ${LAT_DURATION}s; medians of $REPEATS
CPU us/query = balancer on-CPU time (schedstat, all threads) / answered queries; ratio = ours / dnsdist
--------------------------------------------------------------------------------
$(printf '%-34s %-6s %12s %12s %7s\n' metric better ours dnsdist ratio)
$(row qps "QPS (max rate)" higher)
$(row cpu_us_max "CPU us/query (max rate)" lower)
$(row cpu_us_rate "CPU us/query (@$RATE QPS)" lower)
$(row mean_us "mean latency us (@$RATE QPS)" lower)
$(row p99_us "p99 latency us (@$RATE QPS)" lower)
$(row lost_max "lost (max rate)" lower)
$(row lost_rate "lost (@$RATE QPS)" lower)
direct to a backend: mean $direct_mean us, p99 $(med direct p99_us) us
latency added over direct (mean): ours $(added ours) us, dnsdist $(added dnsdist) us
kernel floor (udp_forward_floor.c): QPS $(med floor qps) (${floor_qps}x dnsdist), CPU us/query $(med floor cpu_us_max) (${floor_cpu}x dnsdist) at max rate, $(med floor cpu_us_rate) @$RATE QPS; p99 $(med floor p99_us) us
--------------------------------------------------------------------------------
goal: QPS >= 1.5x ($q) or CPU/query <= 0.67x ($c), with lower p99 ($p)   $ok
(a balancer that only moves datagrams reaches ${floor_qps}x dnsdist's QPS and ${floor_cpu}x its CPU/query)
--------------------------------------------------------------------------------
with packet caches on (every query a hit after one warming pass):
${CACHE_REPORT:-  (CACHE=0: not measured)}
(the failover goal is tested in tests/tests/it/lb.rs: failover_when_a_backend_is_killed_under_load)
--------------------------------------------------------------------------------
backend cache hit ratio behind our lb (2 resolvers, $HR_NAMES names x $HR_REPEATS in random order at $HR_RATE QPS):
${HR_REPORT:-  (HITRATIO=0: not measured)}
command: $COMMAND
raw results: $RESULTS
runtime: $(((SECONDS - START) / 60))m$(((SECONDS - START) % 60))s
EOF
