# shellcheck shell=bash
# Shared helpers for the benchmarks in tests/bench/ (source it; needs bash 4+).
#
#   bench_init DIR            work directory, cleanup traps, CLK_TCK
#   bench_spawn NAME CMD...   start CMD in the background (logs in DIR/NAME.log),
#                             remember its PID so the traps stop it; sets SPAWNED_PID
#   bench_stop PID            SIGTERM, wait up to 10 s, then SIGKILL (only our PIDs)
#   bench_wait_for SECS CMD.. retry CMD every 0.1 s until it succeeds or SECS pass
#   cpu_ticks PID / rss_kb PID  utime+stime (clock ticks) / VmRSS (KiB) of a process
#   cpu_ns PID                on-CPU time of a process's threads (ns, schedstat)
#   median V...               median of numbers (mean of the middle two for even n)
#   dnsperf_run OUT ARGS...   run dnsperf bounded by timeout(1), output to OUT
#   dnsperf_stats OUT         "sent completed lost qps avg_s noerror runtime_s" from OUT
#   dnsperf_latency OUT       "n lost mean_us p50_us p99_us" from a -v run (see below)
#   apt_ensure CMD PKG...     install PKG with apt-get when CMD is missing (root only)
#   sys_busy_ticks / sys_steal_ticks   machine-wide CPU ticks from /proc/stat
#   children_cpu_s FILE       CPU seconds of reaped children, from `times >FILE`
#
# Only processes started through bench_spawn / dnsperf_run are ever signalled, and
# only by PID.

BENCH_PIDS=()
BENCH_DIR=""
# shellcheck disable=SC2034 # used by the scripts that source this file
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

bench_cleanup() {
    local pid
    for pid in "${BENCH_PIDS[@]}"; do
        if [[ -n "$pid" ]]; then bench_stop "$pid" 2>/dev/null || true; fi
    done
    BENCH_PIDS=()
}

bench_init() {
    BENCH_DIR=$1
    mkdir -p "$BENCH_DIR"
    trap 'bench_cleanup' EXIT
    trap 'log "interrupted"; bench_cleanup; exit 130' INT
    trap 'log "terminated"; bench_cleanup; exit 143' TERM
}

bench_forget() {
    local pid=$1 i
    for i in "${!BENCH_PIDS[@]}"; do
        [[ "${BENCH_PIDS[$i]}" == "$pid" ]] && unset 'BENCH_PIDS[i]'
    done
    BENCH_PIDS=("${BENCH_PIDS[@]}")
}

# bench_spawn NAME CMD... ; stdout+stderr to $BENCH_DIR/NAME.log; PID in SPAWNED_PID.
bench_spawn() {
    local name=$1; shift
    "$@" >"$BENCH_DIR/$name.log" 2>&1 &
    SPAWNED_PID=$!
    BENCH_PIDS+=("$SPAWNED_PID")
}

bench_stop() {
    local pid=$1 i
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    wait "$pid" 2>/dev/null || true
    bench_forget "$pid"
}

bench_wait_for() {
    local secs=$1; shift
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# On-CPU nanoseconds of all live threads of a process (scheduler accounting, exact;
# tick-sampled utime+stime misjudge processes that run in short bursts).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%.0f\n", t }'; }
# unbound_foreground DIR [VERBOSITY]: the server: lines that keep an Unbound
# of a bench in the foreground, unprivileged, logging to stderr, its files in DIR.
unbound_foreground() {
    printf '    %s\n' 'chroot: ""' 'username: ""' "directory: \"$1\"" 'pidfile: ""' \
        'use-syslog: no' 'logfile: ""' "verbosity: ${2:-0}"
}
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }

median() {
    printf '%s\n' "$@" | { grep -v '^$' || true; } | sort -g | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "nan"; exit }
            if (NR % 2) print v[(NR + 1) / 2]
            else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
        }'
}

# dnsperf_run OUT ARGS... : dnsperf in the background (so the traps can stop it at
# once), bounded by timeout(1) at its own -l plus 30 s.
dnsperf_run() {
    local out=$1; shift
    local limit=60 a prev=""
    for a in "$@"; do
        [[ "$prev" == "-l" ]] && limit=$((${a%.*} + 30))
        prev=$a
    done
    timeout -k 5 "$limit" dnsperf "$@" >"$out" 2>&1 &
    local pid=$!
    BENCH_PIDS+=("$pid")
    local rc=0
    wait "$pid" || rc=$?
    bench_forget "$pid"
    ((rc == 0)) || { tail -5 "$out" >&2; die "dnsperf exited $rc ($out)"; }
}

# "sent completed lost qps avg_latency_s noerror runtime_s" from dnsperf's statistics.
dnsperf_stats() {
    awk '
        /Queries sent:/      { s = $3 }
        /Queries completed:/ { c = $3 }
        /Queries lost:/      { l = $3 }
        /Queries per second:/{ q = $4 }
        /Average Latency/    { a = $4 }
        /Response codes:/    { for (i = 3; i <= NF; i++) if ($i == "NOERROR") ne = $(i + 1) }
        /Run time \(s\):/    { r = $4 }
        END { printf "%s %s %s %s %s %s %s\n", s + 0, c + 0, l + 0, q + 0, a + 0, ne + 0, r + 0 }
    ' "$1"
}

# Latency distribution from a `dnsperf -v` run: every answered query prints
# "> RCODE qname qtype latency_s" (1 µs resolution). Timed-out ("> T") and lost
# queries count as infinitely slow, so p99 is honest when more than 1 % is lost.
# Prints "n lost mean_us p50_us p99_us" (percentile = smallest value v with at least
# that fraction of all sent queries answered within v; "inf" if never reached).
dnsperf_latency() {
    local lost
    lost=$(awk '/Queries lost:/{print $3}' "$1")
    awk -v lost="${lost:-0}" '
        /^> / {
            if ($2 == "T") next
            us = int($NF * 1e6 + 0.5); h[us]++; n++; sum += us
            if (us > max) max = us
        }
        END {
            total = n + lost
            if (total == 0) { print "0 0 nan nan nan"; exit }
            t50 = 0.50 * total; t99 = 0.99 * total
            p50 = "inf"; p99 = "inf"; cum = 0
            for (us = 0; us <= max; us++) {
                if (!(us in h)) continue
                cum += h[us]
                if (p50 == "inf" && cum >= t50) p50 = us
                if (p99 == "inf" && cum >= t99) { p99 = us; break }
            }
            printf "%d %d %.1f %s %s\n", n, lost, (n ? sum / n : 0), p50, p99
        }' "$1"
}

apt_ensure() {
    local cmd=$1; shift
    command -v "$cmd" >/dev/null 2>&1 && return 0
    if [[ $(id -u) -ne 0 ]]; then
        die "$cmd is missing; install: apt-get install -y $*"
    fi
    log "installing $* (for $cmd)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null; } ||
        die "apt-get install $* failed"
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd still missing after installing $*"
}

# CPU ticks of everything: user+nice+system+irq+softirq, and steal, from /proc/stat.
sys_busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8; exit}' /proc/stat; }
sys_steal_ticks() { awk '/^cpu /{print $9; exit}' /proc/stat; }

# CPU seconds (user+sys) of all reaped children (and their reaped children) of the
# shell: call `times >FILE` in the main shell (not in $(...), a fresh fork has no
# children yet), then children_cpu_s FILE.
children_cpu_s() {
    awk 'NR == 2 {
        t = 0
        for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
        printf "%.3f\n", t
    }' "$1"
}
