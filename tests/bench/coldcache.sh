#!/usr/bin/env bash
# Benchmark: cold-cache resolution across a fake internet at real distances, for
# four resolvers: ours, Unbound, Knot Resolver and PowerDNS Recursor (issue 17,
# "Proof"). See tests/bench/README.md.
#
#   tests/bench/coldcache.sh             # full run, 3 repeats (~33 min)
#   QUICK=1 tests/bench/coldcache.sh     # smoke run, 1 repeat (~2 min)
#
# Two network namespaces: cold-srv holds `fake-dns` serving a hierarchy made by
# `cold-internet` (root, 6 TLDs, providers, CDNs, ZONES customer zones; dead and
# lame NS, glueless delegations, CNAME chains across zones) on 10.77.0.0/24;
# cold-res holds one resolver at a time (10.78.1.x) and dnsperf. `delay-relay`
# joins them through a TUN device in each and holds every packet for its
# server's delay (5..150 ms round trip, 10 % jitter, 1 % loss; dead servers 100 %).
#
# Each resolver starts cold, must answer `probe. A` (served by the root itself),
# then resolves the query list at RATE QPS (pass 1). Then its message and record
# caches are flushed with its infrastructure (RTT) cache kept, and the same list
# is resolved again (pass 2). How each is flushed:
#   ours      SIGHUP (a reload: the answer caches start empty, the infra cache is kept)
#   unbound   unbound-control flush_zone . ; flush_negative ; flush_requestlist
#   kresd     cache.clear('.') (records under the root; server RTTs are kept)
#   pdns      rec_control wipe-cache '.$' (record, packet and negative caches)
#
# Knobs (environment):
#   QUICK=0          1: ZONES=120 QUERIES=600 RATE=40 REPEAT=1
#   REPEAT=3         runs of every resolver (cold start, both passes), taken in
#                    turn; each figure printed is the median over the runs
#   ZONES=300        customer zones in the generated hierarchy
#   QUERIES=5000     length of the query list (Zipf-popular names, A/AAAA/NXDOMAIN)
#   RATE=60          offered QPS (dnsperf -Q), the same for every resolver
#   SEED=17          seed of the hierarchy, the delays and the list
#   TIMEOUT=10       dnsperf's per-query timeout (s); later answers count as timeouts
#   THREADS=1        worker threads of every resolver
#   RESOLVERS="ours unbound kresd pdns"   which to run (ratios need unbound)
#   BUILD=1          0: skip `cargo build --release -p resolver -p e2e`
#   WORKDIR=         configs, logs, per-query results (default: mktemp)
#
# Needs root (namespaces, TUN devices, port 53). Touches only the namespaces
# cold-res and cold-srv, which it creates and deletes; stops only its own PIDs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"

KNOBS=(QUICK ZONES QUERIES RATE REPEAT SEED TIMEOUT THREADS RESOLVERS BUILD WORKDIR)
COMMAND=""
for k in "${KNOBS[@]}"; do
    [[ -n "${!k+x}" ]] && COMMAND+="$k=$(printf '%q' "${!k}") "
done
COMMAND+="$0"

QUICK=${QUICK:-0}
if [[ "$QUICK" == 1 ]]; then
    ZONES=${ZONES:-120} QUERIES=${QUERIES:-600} RATE=${RATE:-40} REPEAT=${REPEAT:-1}
fi
REPEAT=${REPEAT:-3}
ZONES=${ZONES:-300}
QUERIES=${QUERIES:-5000}
RATE=${RATE:-60}
SEED=${SEED:-17}
TIMEOUT=${TIMEOUT:-10}
THREADS=${THREADS:-1}
RESOLVERS=${RESOLVERS:-"ours unbound kresd pdns"}
BUILD=${BUILD:-1}
WORKDIR=${WORKDIR:-$(mktemp -d /tmp/coldcache.XXXXXX)}

RES_NS=cold-res
SRV_NS=cold-srv
SRV_PREFIX=10.77.0
declare -A ADDR=([ours]=10.78.1.1 [unbound]=10.78.1.2 [kresd]=10.78.1.3 [pdns]=10.78.1.4)
BIN=$ROOT/target/release
START=$SECONDS

[[ $(id -u) -eq 0 ]] || die "run as root (namespaces, TUN devices, port 53)"
for cmd in dnsperf dig unbound unbound-control kresd pdns_recursor rec_control; do
    command -v "$cmd" >/dev/null || die "$cmd is missing (apt-get install dnsperf dnsutils unbound knot-resolver pdns-recursor)"
done
for ns in "$RES_NS" "$SRV_NS"; do
    [[ -e /run/netns/$ns ]] && die "namespace $ns exists (a previous run?); delete it: ip netns del $ns"
done

bench_init "$WORKDIR"
NS_MADE=()
cold_cleanup() {
    bench_cleanup
    local ns
    for ns in "${NS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    NS_MADE=()
}
trap 'cold_cleanup' EXIT
trap 'log "interrupted"; cold_cleanup; exit 130' INT
trap 'log "terminated"; cold_cleanup; exit 143' TERM

if [[ "$BUILD" == 1 ]]; then
    log "building (cargo build --release -p resolver -p e2e)"
    (cd "$ROOT" && cargo build --release -q -p resolver -p e2e)
fi
for b in resolver fake-dns delay-relay cold-internet; do
    [[ -x "$BIN/$b" ]] || die "$BIN/$b is missing; build with BUILD=1"
done

# --- the fake internet -------------------------------------------------------
NET_DIR=$WORKDIR/internet
"$BIN/cold-internet" --out "$NET_DIR" --seed "$SEED" --zones "$ZONES" --queries "$QUERIES" --prefix "$SRV_PREFIX"
log "hierarchy: $(grep -c 'zone' "$NET_DIR/manifest") servers, $ZONES customer zones, $QUERIES queries ($(sort -u "$NET_DIR/queries.txt" | wc -l) distinct)"

for ns in "$RES_NS" "$SRV_NS"; do
    ip netns add "$ns"
    NS_MADE+=("$ns")
    ip netns exec "$ns" ip link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
bench_spawn relay "$BIN/delay-relay" --client-ns "$RES_NS" --server-ns "$SRV_NS" \
    --table "$NET_DIR/links.txt" --seed "$SEED" --stats "$WORKDIR/relay.stats"
bench_wait_for 10 grep -q '^ready:' "$WORKDIR/relay.log" || die "delay-relay did not start: $(cat "$WORKDIR/relay.log")"
ip -n "$RES_NS" link set cold0 up
ip -n "$RES_NS" addr add 10.78.0.1/32 dev cold0
ip -n "$RES_NS" route add 10.77.0.0/16 dev cold0 src 10.78.0.1
ip -n "$RES_NS" route add local 10.78.1.0/24 dev lo
ip -n "$SRV_NS" link set cold0 up
ip -n "$SRV_NS" addr add 10.77.255.1/32 dev cold0
ip -n "$SRV_NS" route add 10.78.0.0/16 dev cold0
ip -n "$SRV_NS" route add local "$SRV_PREFIX.0/24" dev lo

bench_spawn fake-dns ip netns exec "$SRV_NS" "$BIN/fake-dns" --prefix "$SRV_PREFIX" \
    --zones "$NET_DIR" --root-hints-out "$WORKDIR/root.hints" --threads 1
bench_wait_for 30 grep -q '^ready:' "$WORKDIR/fake-dns.log" || die "fake-dns did not start: $(tail -3 "$WORKDIR/fake-dns.log")"
log "$(grep '^ready:' "$WORKDIR/fake-dns.log")"

in_res() { ip netns exec "$RES_NS" "$@"; }

# --- resolver configs ---------------------------------------------------------
unbound_conf() { # NAME ADDR CONTROL(0/1)
    local dir=$WORKDIR/$1
    mkdir -p "$dir"
    cat >"$dir/unbound.conf" <<EOF
server:
    interface: $2
    port: 53
    num-threads: $THREADS
    do-ip6: no
    module-config: "iterator"
    root-hints: "$WORKDIR/root.hints"
    qname-minimisation: yes
    prefetch: no
    do-not-query-localhost: no
    access-control: 10.78.0.0/16 allow
$(unbound_foreground "$dir" 1)
EOF
    if [[ "$3" == 1 ]]; then
        cat >>"$dir/unbound.conf" <<EOF
remote-control:
    control-enable: yes
    control-interface: "$dir/control.sock"
    control-use-cert: no
EOF
    fi
}

start_resolver() { # NAME ; sets RPID
    local name=$1 addr=${ADDR[$1]} dir=$WORKDIR/$1
    rm -rf "$dir"
    mkdir -p "$dir"
    case $name in
        ours)
            unbound_conf ours "$addr" 0
            bench_spawn ours ip netns exec "$RES_NS" "$BIN/resolver" -c "$dir/unbound.conf" ;;
        unbound)
            unbound_conf unbound "$addr" 1
            bench_spawn unbound ip netns exec "$RES_NS" unbound -d -c "$dir/unbound.conf" ;;
        kresd)
            cat >"$dir/kresd.conf" <<EOF
net.ipv6 = false
net.listen('$addr', 53, { kind = 'dns' })
trust_anchors.remove('.')
modules.load('hints > iterate')
hints.root({ ['a.root-servers.net.'] = '$SRV_PREFIX.1', ['b.root-servers.net.'] = '$SRV_PREFIX.2' })
cache.open(100 * MB, 'lmdb://$dir/cache')
-- pass 2: the bench touches $dir/flush; records go, server RTTs stay
event.recurrent(100, function()
    local f = io.open('$dir/flush')
    if f then f:close(); cache.clear('.'); os.remove('$dir/flush') end
end)
EOF
            bench_spawn kresd ip netns exec "$RES_NS" kresd -n -c "$dir/kresd.conf" "$dir" ;;
        pdns)
            : >"$dir/recursor.conf"
            bench_spawn pdns ip netns exec "$RES_NS" pdns_recursor --daemon=no --config-dir="$dir" \
                --socket-dir="$dir" --local-address="$addr" --local-port=53 \
                --hint-file="$WORKDIR/root.hints" --dnssec=off --dont-query= \
                --allow-from=10.78.0.0/16 --threads="$THREADS" --disable-syslog \
                --query-local-address=0.0.0.0 --loglevel=4 ;;
        *) die "unknown resolver $name" ;;
    esac
    RPID=$SPAWNED_PID
    # `ip netns exec` execs the command, so the PID is the resolver's.
    if ! bench_wait_for 30 in_res dig +time=3 +tries=1 +short @"$addr" probe. A; then
        die "$name does not answer probe. A (log: $WORKDIR/$name.log)"
    fi
    [[ $(in_res dig +time=3 +tries=1 +short @"$addr" probe. A) == 192.0.2.254 ]] ||
        die "$name answers probe. A wrongly"
}

flush_resolver() { # NAME ; prints how
    local name=$1 dir=$WORKDIR/$1
    case $name in
        ours)
            kill -HUP "$RPID"
            bench_wait_for 10 grep -q 'SIGHUP: config reloaded' "$WORKDIR/ours.log" ||
                die "ours did not reload"
            echo "SIGHUP (infra kept)" ;;
        unbound)
            local c
            for c in "flush_zone ." flush_negative flush_requestlist; do
                # shellcheck disable=SC2086 # the command's words
                unbound-control -c "$dir/unbound.conf" $c >/dev/null || die "unbound-control $c failed"
            done
            echo "flush_zone . + flush_negative" ;;
        kresd)
            touch "$dir/flush"
            bench_wait_for 10 test ! -e "$dir/flush" || die "kresd did not flush"
            echo "cache.clear('.')" ;;
        pdns)
            rec_control --socket-dir="$dir" wipe-cache '.$' >/dev/null || die "rec_control wipe-cache failed"
            echo "wipe-cache .\$" ;;
    esac
}

# to_servers DNS UDP datagrams + TCP SYNs so far.
relay_queries() { awk '{ print $3 + $4 }' "$WORKDIR/relay.stats" 2>/dev/null || echo 0; }

# "sent answered timeouts servfail nxdomain p50_ms p95_ms p99_ms" from a dnsperf -v
# run; percentiles over all sent queries, timed-out and lost ones counted as infinite.
pass_stats() {
    local lost
    lost=$(awk '/Queries lost:/{print $3}' "$1")
    awk '/^> / && $2 != "T" { print "v", $NF * 1000, $2 }' "$1" | sort -k2,2g | awk -v lost="${lost:-0}" '
        { n++; v[n] = $2; if ($3 == "SERVFAIL") sf++; if ($3 == "NXDOMAIN") nx++ }
        function pct(p,   k) { k = int(p * total + 0.999999); if (k < 1) k = 1; return (k <= n) ? sprintf("%.1f", v[k]) : "inf" }
        END {
            total = n + lost
            if (total == 0) { print "0 0 0 0 0 nan nan nan"; exit }
            printf "%d %d %d %d %d %s %s %s\n", total, n, lost, sf + 0, nx + 0, pct(0.50), pct(0.95), pct(0.99)
        }'
}

# "new_p50_ms new_p95_ms" over the first answer to each distinct listed query
# (name and type), i.e. the resolutions the cache could not answer; a distinct
# query never answered counts as infinite.
new_stats() {
    local distinct
    distinct=$(sort -u "$NET_DIR/queries.txt" | wc -l)
    awk '/^> / && $2 != "T" { k = $3 " " $4; if (!(k in seen)) { seen[k] = 1; print $NF * 1000 } }' "$1" | sort -g |
        awk -v total="$distinct" '
            { n++; v[n] = $1 }
            function pct(p,   k) { k = int(p * total + 0.999999); if (k < 1) k = 1; return (k <= n) ? sprintf("%.1f", v[k]) : "inf" }
            END { printf "%s %s\n", pct(0.50), pct(0.95) }'
}

# dnsperf over the query list in the resolvers' namespace; appends to
# results.tsv "<name> <pass> <run> <pass_stats> <new_stats> <upstream queries
# per query> <cpu s>".
run_pass() { # NAME PASS RUN
    local name=$1 pass=$2 run=$3 out=$WORKDIR/$1.pass$2.run$3.dnsperf q0 q1 c0 c1 pid rc=0
    sleep 0.5
    q0=$(relay_queries)
    c0=$(cpu_ns "$RPID")
    local limit=$(((QUERIES + RATE - 1) / RATE + TIMEOUT + 60))
    timeout -k 5 "$limit" ip netns exec "$RES_NS" dnsperf -s "${ADDR[$name]}" \
        -d "$NET_DIR/queries.txt" -n 1 -Q "$RATE" -t "$TIMEOUT" -c 4 -q 2000 -v >"$out" 2>&1 &
    pid=$!
    BENCH_PIDS+=("$pid")
    wait "$pid" || rc=$?
    bench_forget "$pid"
    ((rc == 0)) || { tail -5 "$out" >&2; die "dnsperf exited $rc ($out)"; }
    sleep 0.3
    q1=$(relay_queries)
    c1=$(cpu_ns "$RPID")
    local line
    line="$(pass_stats "$out") $(new_stats "$out") $(awk -v a="$q0" -v b="$q1" -v n="$QUERIES" 'BEGIN { printf "%.3f", (b - a) / n }') $(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')"
    printf '%s\t%s\t%s\t%s\n' "$name" "$pass" "$run" "$line" >>"$WORKDIR/results.tsv"
}

# The median over the runs of every figure of NAME's PASS, in results.tsv's
# column order after the run number ("inf" sorts last).
median_line() { # NAME PASS
    awk -v n="$1" -v p="$2" '$1 == n && $2 == p {
            runs++; for (i = 4; i <= NF; i++) v[i, runs] = ($i == "inf") ? 1e18 : $i; cols = NF
        }
        END {
            for (i = 4; i <= cols; i++) {
                for (a = 1; a <= runs; a++) x[a] = v[i, a]
                for (a = 2; a <= runs; a++) for (b = a; b > 1 && x[b - 1] > x[b]; b--) { t = x[b]; x[b] = x[b - 1]; x[b - 1] = t }
                m = (runs % 2) ? x[(runs + 1) / 2] : (x[runs / 2] + x[runs / 2 + 1]) / 2
                fmt = (i <= 8) ? "%g" : (i == cols - 1) ? "%.3f" : (i == cols) ? "%.2f" : "%.1f"
                out = out (i > 4 ? " " : "") (m >= 1e18 ? "inf" : sprintf(fmt, m))
            }
            print out
        }' "$WORKDIR/results.tsv"
}

# --- the runs -----------------------------------------------------------------
: >"$WORKDIR/results.tsv"
declare -A FLUSHED
for run in $(seq "$REPEAT"); do
    for name in $RESOLVERS; do
        log "$name: run $run of $REPEAT: starting cold"
        start_resolver "$name"
        log "$name: pass 1 (cold)"
        run_pass "$name" 1 "$run"
        FLUSHED[$name]=$(flush_resolver "$name")
        log "$name: pass 2 (after ${FLUSHED[$name]})"
        run_pass "$name" 2 "$run"
        bench_stop "$RPID"
    done
done

# --- report -------------------------------------------------------------------
# Failures per customer zone for ours (which scenarios fail): SERVFAIL or timed out.
report_failures() { # NAME PASS
    awk '/^> (SERVFAIL|T) / { n = split($3, l, "."); z = l[n - 2] "." l[n - 1] "."; c[$2 " " z]++ }
        END { for (k in c) print c[k], k }' "$WORKDIR/$1.pass$2".run*.dnsperf | sort -rn | head -15 |
        while read -r count rcode zone; do
            printf '    %-4s %-9s %-16s %s\n' "$count" "$rcode" "$zone" "$(awk -v z="$zone" '$1 == z { print $2 }' "$NET_DIR/zones.txt")"
        done
}

echo
echo "Cold-cache benchmark: $QUERIES queries ($(sort -u "$NET_DIR/queries.txt" | wc -l) distinct) at $RATE QPS, $ZONES customer zones, seed $SEED, timeout ${TIMEOUT}s, $THREADS thread(s)"
echo "Each figure: the median over $REPEAT run(s) of every resolver, taken in turn."
echo "Times in ms over all sent queries (timeouts count as infinite); new-med/new-p95: over the first answer to each distinct query (what the cache could not answer)."
echo "upstream/q: queries the relay saw sent to servers (UDP datagrams + TCP connections) per listed query. cpu_s: the resolver's on-CPU seconds in the pass."
for pass in 1 2; do
    echo
    if [[ $pass == 1 ]]; then echo "Pass 1: cold start"; else echo "Pass 2: same list, message/record caches flushed, infra cache kept (see flush column)"; fi
    printf '%-8s %7s %7s %7s %7s %7s %6s %8s %10s %6s   %-28s %s\n' resolver median p95 p99 new-med new-p95 SERVFL timeouts upstream/q cpu_s "ratio med/p95/p99/new-med/up/cpu" flush
    u50="" u95="" u99="" un50="" uup="" ucpu=""
    [[ " $RESOLVERS " == *" unbound "* ]] && read -r _ _ _ _ _ u50 u95 u99 un50 _ uup ucpu < <(median_line unbound "$pass")
    for name in $RESOLVERS; do
        read -r _ _ lost sf _ p50 p95 p99 n50 n95 up cpu < <(median_line "$name" "$pass")
        ratio=$(awk -v a="$p50 $p95 $p99 $n50 $up $cpu" -v b="${u50:-} ${u95:-} ${u99:-} ${un50:-} ${uup:-} ${ucpu:-}" 'BEGIN {
            split(a, x, " "); split(b, y, " "); s = ""
            for (i = 1; i <= 6; i++) s = s (i > 1 ? "/" : "") ((y[i] + 0 > 0 && x[i] != "inf") ? sprintf("%.2f", x[i] / y[i]) : "-")
            print s }')
        flush=${FLUSHED[$name]}
        [[ $pass == 1 ]] && flush=""
        printf '%-8s %7s %7s %7s %7s %7s %6s %8s %10s %6s   %-28s %s\n' "$name" "$p50" "$p95" "$p99" "$n50" "$n95" "$sf" "$lost" "$up" "$cpu" "$ratio" "$flush"
    done
done
for name in $RESOLVERS; do
    for pass in 1 2; do
        if grep -qE '^> (SERVFAIL|T) ' "$WORKDIR/$name.pass$pass".run*.dnsperf; then
            echo
            echo "$name pass $pass: SERVFAIL/timeouts by zone over all runs (count, rcode, zone, delegation kind):"
            report_failures "$name" "$pass"
        fi
    done
done
echo
echo "relay: $(cat "$WORKDIR/relay.stats")"
echo "command: $COMMAND   ($((SECONDS - START)) s)"
echo "workdir: $WORKDIR (results.tsv, <resolver>.pass<N>.run<R>.dnsperf, internet/)"
