#!/usr/bin/env bash
# Before/after check of our resolver's cache-hit path: the resolver built at
# BASE (a git revision) against the working tree's release build, on one
# workload in one run. For changes to the hot path ("measure before and after").
#
#   tests/bench/resolver_ab.sh BASE
#
# Both serve 1000 warmed names (h0001..h1000.wild.net) from the fake hierarchy;
# dnsperf -c 10 -T 1 -q 100 runs DURATION s against each, ROUNDS times,
# alternating which goes first. Prints every round, both medians and the ratio.
# Knobs: DURATION=8 ROUNDS=5 NET=212 DO=0 (1: queries with DO set).
# Needs root (binds 127.x.y.z:53). Traffic only to 127.0.0.0/8; stops only the
# processes it started, by PID.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"

BASE=${1:?usage: resolver_ab.sh BASE-REVISION}
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-5}
NET=${NET:-212}
DO=${DO:-0}
WORKDIR=${WORKDIR:-$(mktemp -d /tmp/bench-ab.XXXXXX)}

bench_init "$WORKDIR"
[[ $(id -u) -eq 0 ]] || die "run as root (the servers bind 127.x.y.z:53)"
apt_ensure dnsperf dnsperf
log "building $BASE and the working tree (release)"
git -C "$ROOT" worktree add -f --detach "$WORKDIR/base-tree" "$BASE" >/dev/null 2>&1 ||
    die "cannot check out $BASE"
(cd "$WORKDIR/base-tree" && CARGO_TARGET_DIR="$WORKDIR/base-target" cargo build --release -p resolver) \
    >"$WORKDIR/build-base.log" 2>&1 || die "building $BASE failed (see $WORKDIR/build-base.log)"
git -C "$ROOT" worktree remove --force "$WORKDIR/base-tree"
(cd "$ROOT" && cargo build --release -p resolver -p e2e) >"$WORKDIR/build-head.log" 2>&1 ||
    die "building the working tree failed (see $WORKDIR/build-head.log)"

declare -A BIN=([base]="$WORKDIR/base-target/release/resolver" [head]="$ROOT/target/release/resolver")
declare -A HOST=([base]=1 [head]=2)
bench_spawn fake-dns "$ROOT/target/release/fake-dns" --net "$NET" --root-hints-out "$WORKDIR/root.hints"
bench_wait_for 30 grep -q '^ready:' "$WORKDIR/fake-dns.log" || die "fake-dns did not become ready"
for v in base head; do
    addr=127.$NET.1.${HOST[$v]}
    cat >"$WORKDIR/$v.conf" <<EOF
server:
    interface: $addr
    port: 53
    num-threads: 1
    do-not-query-localhost: no
    root-hints: "$WORKDIR/root.hints"
    msg-cache-size: 128m
    prefetch: no
EOF
    bench_spawn "$v" "${BIN[$v]}" -c "$WORKDIR/$v.conf" --metrics-addr "$addr:$((9500 + HOST[$v]))"
    bench_wait_for 30 dig +time=1 +tries=1 @"$addr" h0001.wild.net A || die "$v not answering"
done
awk 'BEGIN { for (i = 1; i <= 1000; i++) printf "h%04d.wild.net A\n", i }' >"$WORKDIR/hits.txt"
do_flag=()
[[ $DO == 1 ]] && do_flag=(-D)
for v in base head; do
    dnsperf_run "$WORKDIR/warm.out" -s "127.$NET.1.${HOST[$v]}" -d "$WORKDIR/hits.txt" -n 1 -c 10 -q 100
done
declare -A QPS
for ((round = 1; round <= ROUNDS; round++)); do
    order=(base head)
    ((round % 2 == 0)) && order=(head base)
    for v in "${order[@]}"; do
        dnsperf_run "$WORKDIR/run.out" -s "127.$NET.1.${HOST[$v]}" -d "$WORKDIR/hits.txt" \
            -l "$DURATION" -c 10 -T 1 -q 100 "${do_flag[@]}"
        q=$(dnsperf_stats "$WORKDIR/run.out" | awk '{print $4}')
        QPS[$v]+=" $q"
        log "round $round $v: $q QPS"
    done
done
# shellcheck disable=SC2086
base=$(median ${QPS[base]})
# shellcheck disable=SC2086
head=$(median ${QPS[head]})
printf 'cache-hit QPS, median of %s x %ss: %s %s | working tree %s | ratio x%s\n' \
    "$ROUNDS" "$DURATION" "$BASE" "$base" "$head" "$(awk -v a="$head" -v b="$base" 'BEGIN { printf "%.3f", a / b }')"
