#!/usr/bin/env bash
# Benchmark: the shared Redis cache (cachedb), ours and Unbound's, in one run.
# See tests/bench/README.md.
#
#   tests/bench/cachedb.sh
#
# What it measures (one redis-server, the fake hierarchy, dnsperf):
#   1. warm join: two replicas resolve NAMES names (half each) into Redis; a third,
#      new replica then takes JOIN_QUERIES queries drawn from those names. Its hit
#      ratio (answered from memory or Redis, no recursion) and the queries it sent
#      upstream, with cachedb and without. For ours and for Unbound with cachedb.
#   2. mixed fleet: Redis warmed by Unbound replicas, a new replica of ours joins
#      (and the reverse): the hit ratio across implementations.
#   3. signed zone: the same joins on names of the DNSSEC-signed fixture zone, with
#      Unbound validating (trust anchor from fake-dns) and the join's queries
#      sent with DO: answers Unbound found secure / bogus, upstream queries.
#   4. the QPS cost of the Redis lookup on memory misses: unique names at max rate,
#      ours without cachedb, with cachedb and Redis empty (lookup + recursion),
#      and with Redis holding every name (answered from Redis). REPEATS runs each.
#
# Knobs: NAMES=5000 JOIN_QUERIES=10000 UNIQUE=20000 DURATION=8 REPEATS=3 NET=211
#        BUILD=1 (cargo build --release first) WORKDIR= (default: mktemp)
#        UNBOUND_CACHEDB= path of an Unbound built with cachedb (default: built by
#        tests/bench/build_unbound_cachedb.sh); when none can be had, the Unbound
#        parts are skipped with a loud message.
# Needs root (binds 127.x.y.z:53). Traffic only to 127.0.0.0/8; stops only the
# processes it started, by PID.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"

NAMES=${NAMES:-5000}
JOIN_QUERIES=${JOIN_QUERIES:-10000}
UNIQUE=${UNIQUE:-20000}
DURATION=${DURATION:-8}
REPEATS=${REPEATS:-3}
NET=${NET:-211}
BUILD=${BUILD:-1}
WORKDIR=${WORKDIR:-$(mktemp -d /tmp/bench-cachedb.XXXXXX)}
RESOLVER_BIN=$ROOT/target/release/resolver
FAKE_BIN=$ROOT/target/release/fake-dns
REDIS_PORT=${REDIS_PORT:-$((16000 + NET))}

bench_init "$WORKDIR"
log "work directory: $WORKDIR"
[[ $(id -u) -eq 0 ]] || die "run as root (the servers bind 127.x.y.z:53)"
apt_ensure dnsperf dnsperf
apt_ensure dig dnsutils
apt_ensure curl curl
apt_ensure redis-server redis-server
if [[ "$BUILD" == 1 ]]; then
    log "building release binaries"
    (cd "$ROOT" && cargo build --release -p resolver -p e2e) >"$WORKDIR/build.log" 2>&1 ||
        { tail -20 "$WORKDIR/build.log" >&2; die "cargo build failed"; }
fi
SOURCE=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
UNBOUND=${UNBOUND_CACHEDB:-}
if [[ -z "$UNBOUND" ]]; then
    UNBOUND=$("$HERE/build_unbound_cachedb.sh" 2>"$WORKDIR/unbound-build.log" | tail -1) || UNBOUND=""
fi
if [[ -z "$UNBOUND" || ! -x "$UNBOUND" ]]; then
    log "!!!!! NO UNBOUND WITH CACHEDB: the Unbound parts are SKIPPED (see $WORKDIR/unbound-build.log) !!!!!"
    UNBOUND=""
fi

# ---------------------------------------------------------------- servers
bench_spawn fake-dns "$FAKE_BIN" --net "$NET" --root-hints-out "$WORKDIR/root.hints"
bench_wait_for 30 grep -q '^ready:' "$WORKDIR/fake-dns.log" || die "fake-dns did not become ready"
bench_spawn redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORKDIR"
bench_wait_for 10 redis-cli -p "$REDIS_PORT" ping || die "redis-server did not start"
flush() { redis-cli -p "$REDIS_PORT" flushall >/dev/null; }
keys() { redis-cli -p "$REDIS_PORT" dbsize; }

# The DS of the signed fixture zone, as fake-dns prints it.
SIGNED_ANCHOR=$(sed -n 's/^trust-anchor: //p' "$WORKDIR/fake-dns.log" | head -1)
[[ -n "$SIGNED_ANCHOR" ]] || die "fake-dns printed no trust anchor"
# VALIDATE=yes: module-config gains the validator (ours accepts and skips it)
# and the signed zone's trust anchor. Aggressive NSEC off: Unbound would
# otherwise synthesize wildcard answers from one validated answer, with or
# without cachedb, and the join would measure that instead.
VALIDATE=no

# conf FILE ADDR CACHEDB(yes|no) [CONTROL_PORT]: one template for both implementations.
conf() {
    local modules='"iterator"' clause="" control=no validation=""
    [[ -n "${4:-}" ]] && control=yes
    if [[ $VALIDATE == yes ]]; then
        modules='"validator iterator"'
        validation="    trust-anchor: \"$SIGNED_ANCHOR\"
    aggressive-nsec: no"
    fi
    if [[ $3 == yes ]]; then
        modules=${modules/iterator/cachedb iterator}
        clause="cachedb:
    backend: \"redis\"
    redis-server-host: 127.0.0.1
    redis-server-port: $REDIS_PORT
    redis-timeout: 100
    redis-expire-records: no"
    fi
    cat >"$1" <<EOF
server:
    interface: $2
    port: 53
    num-threads: 1
    do-ip6: no
    do-not-query-localhost: no
    root-hints: "$WORKDIR/root.hints"
    module-config: $modules
    prefetch: no
    extended-statistics: yes
$(unbound_foreground "$WORKDIR")
$validation
remote-control:
    control-enable: $control
    control-interface: 127.0.0.1
    control-port: ${4:-8953}
    control-use-cert: no
$clause
EOF
}

declare -A PIDS ADDRS MPORTS
# start KIND(ours|unbound) NAME HOST CACHEDB
start() {
    local kind=$1 name=$2 addr=127.$NET.1.$3 cachedb=$4 port
    ADDRS[$name]=$addr
    if [[ $kind == ours ]]; then
        port=$((9300 + $3))
        MPORTS[$name]=$port
        conf "$WORKDIR/$name.conf" "$addr" "$cachedb"
        bench_spawn "$name" "$RESOLVER_BIN" -c "$WORKDIR/$name.conf" --metrics-addr "$addr:$port"
        PIDS[$name]=$SPAWNED_PID
        bench_wait_for 30 curl -fsS -o /dev/null "http://$addr:$port/readyz" || die "$name not ready"
    else
        port=$((9400 + $3))
        MPORTS[$name]=$port
        conf "$WORKDIR/$name.conf" "$addr" "$cachedb" "$port"
        bench_spawn "$name" "$UNBOUND" -d -c "$WORKDIR/$name.conf"
        PIDS[$name]=$SPAWNED_PID
        bench_wait_for 30 dig +time=1 +tries=1 @"$addr" version.server CH TXT || die "$name not ready"
    fi
}
stop() { bench_stop "${PIDS[$1]}"; }

# stats NAME -> "queries memory_hits redis_hits upstream_queries secure bogus"
# (-1 where the implementation has no such counter)
stats() {
    local name=$1 addr=${ADDRS[$1]} port=${MPORTS[$1]}
    if [[ $name == ours* ]]; then
        curl -fsS "http://$addr:$port/metrics" | awk '
            /^unbound_queries_total/ { q += $2 }
            /^unbound_cache_hits_total/ { h += $2 }
            /^unbound_cachedb_hits_total/ { r += $2 }
            /^unbound_query_udpout_total/ { u += $2 }
            END { printf "%d %d %d %d -1 -1\n", q, h, r, u }'
    else
        # Unbound counts an answer from cachedb as a cache miss; the upstream
        # query count tells whether recursion was needed.
        "$(dirname "$UNBOUND")/unbound-control" -c "$WORKDIR/$name.conf" stats_noreset | awk -F= '
            $1 == "total.num.queries" { q = $2 }
            $1 == "total.num.cachehits" { h = $2 }
            $1 == "num.query.udpout" || $1 == "total.num.udpout" { u = $2 }
            $1 == "num.answer.secure" { s = $2 }
            $1 == "num.answer.bogus" { b = $2 }
            END { printf "%d %d %d %d %d %d\n", q, h, -1, u, s, b }'
    fi
}

# ---------------------------------------------------------------- query files
# Name sets: plain (`j*.wild.net`) and signed (`s*.wild.signed.com`, a signed
# wildcard): all names, the two warm halves, and the join's random draw.
for set in plain signed; do
    suffix=wild.net prefix=j
    [[ $set == signed ]] && suffix=wild.signed.com prefix=s
    awk -v n="$NAMES" -v p="$prefix" -v s="$suffix" 'BEGIN { for (i = 1; i <= n; i++) printf "%s%05d.%s A\n", p, i, s }' >"$WORKDIR/$set-names.txt"
    head -n $((NAMES / 2)) "$WORKDIR/$set-names.txt" >"$WORKDIR/$set-half1.txt"
    tail -n +$((NAMES / 2 + 1)) "$WORKDIR/$set-names.txt" >"$WORKDIR/$set-half2.txt"
    awk -v n="$NAMES" -v q="$JOIN_QUERIES" -v p="$prefix" -v s="$suffix" 'BEGIN { srand(42); for (i = 0; i < q; i++) printf "%s%05d.%s A\n", p, 1 + int(rand() * n), s }' >"$WORKDIR/$set-join.txt"
done
NONCE=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')

once() { # ADDR FILE RATE [dnsperf args] -> runs the file once through dnsperf
    dnsperf_run "$WORKDIR/once.out" -s "$1" -d "$2" -n 1 -Q "$3" -t 5 -c 10 -q 100 "${@:4}"
}

# warm_join KIND_WARM KIND_JOIN CACHEDB_JOIN TAG [SET] -> prints a result line.
# SET=signed: signed names, and the join's queries carry DO (dnsperf -D).
warm_join() {
    local warm=$1 join=$2 db=$3 tag=$4 set=${5:-plain} q h r u s b ratio do_flag=()
    [[ $set == signed ]] && do_flag=(-D)
    flush
    start "$warm" "${warm}-w1" 11 yes
    start "$warm" "${warm}-w2" 12 yes
    once "${ADDRS[${warm}-w1]}" "$WORKDIR/$set-half1.txt" 5000
    once "${ADDRS[${warm}-w2]}" "$WORKDIR/$set-half2.txt" 5000
    sleep 1
    local stored
    stored=$(keys)
    stop "${warm}-w1"
    stop "${warm}-w2"
    start "$join" "${join}-new" 13 "$db"
    once "${ADDRS[${join}-new]}" "$WORKDIR/$set-join.txt" 5000 "${do_flag[@]}"
    read -r q h r u s b < <(stats "${join}-new")
    stop "${join}-new"
    if [[ $join == ours ]]; then
        ratio=$(awk -v q="$q" -v h="$h" -v r="$r" 'BEGIN { printf "%.3f", (h + r) / q }')
    else
        ratio=$(awk -v q="$q" -v h="$h" 'BEGIN { printf "%.3f (memory only)", h / q }')
    fi
    local validated=""
    [[ $VALIDATE == yes && $join == unbound ]] && validated=" secure=$s bogus=$b"
    printf '%-52s keys=%-6s queries=%-6s hit_ratio=%-20s upstream_queries=%s%s\n' \
        "$tag" "$stored" "$q" "$ratio" "$u" "$validated" | tee -a "$WORKDIR/results.txt"
}

log "1/4 warm join (three replicas sharing Redis)"
warm_join ours ours yes "ours warm, new ours with cachedb"
warm_join ours ours no "ours warm, new ours without cachedb"
if [[ -n "$UNBOUND" ]]; then
    warm_join unbound unbound yes "unbound warm, new unbound with cachedb"
    warm_join unbound unbound no "unbound warm, new unbound without cachedb"
    log "2/4 mixed fleet"
    warm_join unbound ours yes "unbound warm, new ours with cachedb"
    warm_join ours unbound yes "ours warm, new unbound with cachedb"
    log "3/4 signed zone, Unbound validating, join queries with DO"
    VALIDATE=yes
    warm_join ours unbound yes "signed: ours warm, new validating unbound w/ cachedb" signed
    warm_join ours unbound no "signed: ours warm, new validating unbound w/o cachedb" signed
    warm_join unbound ours yes "signed: validating unbound warm, new ours w/ cachedb" signed
    warm_join ours ours yes "signed: ours warm, new ours w/ cachedb" signed
    VALIDATE=no
fi

log "4/4 QPS on memory misses (unique names, max rate, $REPEATS x ${DURATION}s)"
qps_run() { # KIND CACHEDB(yes|no) PREFILL(yes|no) REP -> QPS
    local kind=$1 db=$2 prefill=$3 rep=$4 file=$WORKDIR/unique.txt q
    awk -v n="$UNIQUE" -v p="u$rep$NONCE$kind$db$prefill" 'BEGIN { for (i = 0; i < n; i++) printf "%s-%07d.wild.net A\n", p, i }' >"$file"
    flush
    if [[ $prefill == yes ]]; then
        start "$kind" "$kind-fill" 14 yes
        once "${ADDRS[$kind-fill]}" "$file" 20000
        sleep 1
        stop "$kind-fill"
    fi
    start "$kind" "$kind-qps" 15 "$db"
    dnsperf_run "$WORKDIR/qps.out" -s "${ADDRS[$kind-qps]}" -d "$file" -n 1 -l "$DURATION" -t 5 -c 10 -q 200
    q=$(dnsperf_stats "$WORKDIR/qps.out" | awk '{print $4}')
    stop "$kind-qps"
    echo "$q"
}
KINDS=(ours)
[[ -n "$UNBOUND" ]] && KINDS+=(unbound)
declare -A QPS
for ((rep = 1; rep <= REPEATS; rep++)); do
    for kind in "${KINDS[@]}"; do
        for mode in "no no" "yes no" "yes yes"; do
            read -r db prefill <<<"$mode"
            QPS[$kind-$db-$prefill]+=" $(qps_run "$kind" "$db" "$prefill" "$rep")"
        done
        log "rep $rep $kind: no cachedb ${QPS[$kind-no-no]##* }, cachedb+empty Redis ${QPS[$kind-yes-no]##* }, cachedb+warm Redis ${QPS[$kind-yes-yes]##* }"
    done
done
{
    echo
    echo "source: $SOURCE; unbound: ${UNBOUND:-none}"
    for kind in "${KINDS[@]}"; do
        # shellcheck disable=SC2086
        no=$(median ${QPS[$kind-no-no]})
        # shellcheck disable=SC2086
        empty=$(median ${QPS[$kind-yes-no]})
        # shellcheck disable=SC2086
        full=$(median ${QPS[$kind-yes-yes]})
        printf '%-8s memory-miss QPS (median of %s): no cachedb %s | cachedb, Redis empty %s (x%s) | cachedb, every name in Redis %s (x%s)\n' \
            "$kind" "$REPEATS" "$no" "$empty" "$(awk -v a="$empty" -v b="$no" 'BEGIN { printf "%.2f", a / b }')" \
            "$full" "$(awk -v a="$full" -v b="$no" 'BEGIN { printf "%.2f", a / b }')"
    done
} | tee -a "$WORKDIR/results.txt"
log "done; results in $WORKDIR/results.txt"
