# shellcheck shell=bash
# perfdhcp and noise helpers of the DHCP benchmarks, dhcp4.sh and dhcp4_ha.sh
# (source it after lib.sh).
#
#   perfdhcp_stats OUT        "do_sent do_recv ra_sent ra_recv do_avg ra_avg
#                             malformed orphans rejected nonunique rate"
#   perfdhcp_median OUT KIND  median delay (ms) of DISCOVER-OFFER or REQUEST-ACK
#                             from a `perfdhcp -x t` run
#   udp_rcvbuf_errors NS      UDP datagrams NS dropped on a full receive buffer
#   metric NAME               value of a Prometheus sample on stdin ("nan" if absent)
#   machine_cores SECS        cores busy on the whole machine over SECS s (steal included)
#   wait_quiet                wait up to QUIET_WAIT s until at most NOISE_MAX cores are busy
#   record SERVER RATE REP METRIC VALUE   one result row to RECORD_TO
#   run_one SERVER RATE REP   the bench's run_once, redone when other load disturbed it

# "do_sent do_recv ra_sent ra_recv do_avg ra_avg malformed orphans rejected nonunique rate"
# from perfdhcp's statistics (delays in ms).
perfdhcp_stats() {
    awk '
        /Statistics for: DISCOVER-OFFER/ { s = "do" }
        /Statistics for: REQUEST-ACK/    { s = "ra" }
        /Timestamps for packets/         { s = "" }
        /^Rate:/                         { rate = $2 }
        /^Malformed packets:/            { mal = $3 }
        s != "" && /^sent packets:/      { sent[s] = $3 }
        s != "" && /^received packets:/  { recv[s] = $3 }
        s != "" && /^orphans:/           { orph += $2 }
        s != "" && /^rejected leases:/   { rej += $3 }
        s != "" && /^non unique addresses:/ { nu += $4 }
        s != "" && /^avg delay:/         { avg[s] = $3 }
        END {
            printf "%d %d %d %d %s %s %d %d %d %d %s\n", sent["do"], recv["do"], sent["ra"], recv["ra"],
                (avg["do"] == "" ? "nan" : avg["do"]), (avg["ra"] == "" ? "nan" : avg["ra"]),
                mal, orph, rej, nu, (rate == "" ? "nan" : rate)
        }' "$1"
}

# Median delay (ms) of one exchange type from perfdhcp -x t's timestamps
# ("sent / received: HHMMSS.micro / HHMMSS.micro"); perfdhcp 2.2 prints no
# median itself.
perfdhcp_median() { # OUT DISCOVER-OFFER|REQUEST-ACK
    awk -v want="$2" '
        function secs(t) { return substr(t, 1, 2) * 3600 + substr(t, 3, 2) * 60 + substr(t, 5) }
        /^\*\*\*Timestamps for packets:/ { s = ($4 == want "***") }
        s && /^sent \/ received:/ { printf "%.6f\n", (secs($6) - secs($4)) * 1000 }
    ' "$1" | sort -g | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "nan"; exit }
            if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]
            else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
        }'
}

# UDP datagrams namespace NS dropped because a socket's receive buffer was
# full, since the namespace was made (RcvbufErrors in its /proc/net/snmp).
# shellcheck disable=SC2016 # the awk program is single-quoted on purpose
udp_rcvbuf_errors() { # NS
    ip netns exec "$1" awk '/^Udp:/ { if (!col) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") col = i } else { print $col; exit } }' /proc/net/snmp
}

metric() { awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print "nan" }'; }

# Cores busy on the whole machine over SECS seconds (user+nice+system+irq+softirq
# and steal).
machine_cores() { # SECS
    local b0 b1 s0 s1
    b0=$(sys_busy_ticks) s0=$(sys_steal_ticks)
    sleep "$1"
    b1=$(sys_busy_ticks) s1=$(sys_steal_ticks)
    awk -v b=$((b1 - b0 + s1 - s0)) -v hz="$CLK_TCK" -v t="$1" 'BEGIN { printf "%.2f\n", b / hz / t }'
}

# Before each run: wait (up to QUIET_WAIT s) until the machine is idle, i.e. at
# most NOISE_MAX cores busy over one second, so no run starts in the middle of
# someone else's build.
wait_quiet() {
    local deadline=$((SECONDS + QUIET_WAIT)) c said=0
    while :; do
        c=$(machine_cores 1)
        awk -v c="$c" -v m="$NOISE_MAX" 'BEGIN { exit !(c <= m) }' && return 0
        ((said)) || { log "machine busy ($c cores used by others); waiting up to ${QUIET_WAIT}s for it to calm down"; said=1; }
        ((SECONDS < deadline)) || { log "still busy ($c cores); running anyway"; return 0; }
    done
}

# One result row (SERVER RATE REP METRIC VALUE) to RECORD_TO.
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RECORD_TO"; }

# A run during which other processes (everything but the server(s) and
# perfdhcp, plus steal) used more than NOISE_MAX cores is redone, up to RETRIES times, at most
# RETRY_BUDGET times in the whole bench; the last attempt is kept either way.
run_one() { # SERVER RATE REP (calls the bench's run_once SERVER RATE REP ATTEMPT)
    local attempt
    RECORD_TO=$WORKDIR/.pending
    for ((attempt = 1; attempt <= RETRIES + 1; attempt++)); do
        : >"$RECORD_TO"
        wait_quiet
        run_once "$@" "$attempt"
        ((NOISY)) || break
        if ((attempt > RETRIES || REDONE >= RETRY_BUDGET)); then
            DISTURBED=$((DISTURBED + 1))
            record "$1" "$2" "$3" disturbed 1
            log "keeping that disturbed run (redos used: $REDONE of $RETRY_BUDGET)"
            break
        fi
        REDONE=$((REDONE + 1))
        log "redoing that run (attempt $((attempt + 1)) of $((RETRIES + 1)))"
    done
    cat "$RECORD_TO" >>"$RESULTS"
    RECORD_TO=$RESULTS
}
