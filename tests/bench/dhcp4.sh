#!/usr/bin/env bash
# dhcp4 vs Kea (Debian's kea-dhcp4 2.2, memfile) under identical perfdhcp
# workloads, in one run.
#
# Two network namespaces joined by a veth pair: the server's (10.77.0.1/16)
# and perfdhcp's (10.77.0.2/16; perfdhcp always acts as a relay, giaddr =
# its own address). One /16 subnet with a 65,279-address pool, so the pool
# never runs out; a fresh lease file per run. For each offered rate, each
# server is started fresh and perfdhcp runs full DORA exchanges with many
# distinct clients for DURATION seconds. Printed per rate: exchanges/s
# completed, drops, average latency, and the server's CPU seconds
# (utime+stime of its process) per 1000 leases, with ratios ours/Kea; the
# lease-file lines and fsyncs of ours (every ACK durable before it is sent;
# Kea does not fsync). REPEAT=N repeats the whole comparison; the summary
# gives medians.
#
#   tests/bench/dhcp4.sh                      # build release, 3 repeats
#   BUILD=0 REPEAT=1 RATES="2000 8000" tests/bench/dhcp4.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

REPEAT=${REPEAT:-3}
RATES=${RATES:-"2000 4000 8000 10000 12000"}
DURATION=${DURATION:-5}
if [ "${BUILD:-1}" = 1 ]; then cargo build --release -q -p dhcp4; fi
OURS=$PWD/target/release/dhcp4
KEA=/usr/sbin/kea-dhcp4
for tool in "$OURS" "$KEA" /usr/sbin/perfdhcp; do
  [ -x "$tool" ] || { echo "missing $tool (apt-get install kea-dhcp4-server kea-admin)" >&2; exit 1; }
done

SRV=bench-d4-srv-$$
CLI=bench-d4-cli-$$
WORK=$(mktemp -d /tmp/bench-dhcp4.XXXXXX)
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  ip netns del "$SRV" 2>/dev/null || true
  ip netns del "$CLI" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$SRV"
ip netns add "$CLI"
ip link add eth0 netns "$SRV" type veth peer name eth0 netns "$CLI"
ip -n "$SRV" addr add 10.77.0.1/16 dev eth0
ip -n "$CLI" addr add 10.77.0.2/16 dev eth0
for ns in "$SRV" "$CLI"; do ip -n "$ns" link set lo up; ip -n "$ns" link set eth0 up; done

config() { # lease-file
  cat <<EOF
{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "eth0" ] },
  "lease-database": { "type": "memfile", "persist": true, "name": "$1", "lfc-interval": 0 },
  "valid-lifetime": 3600,
  "subnet4": [ { "id": 1, "subnet": "10.77.0.0/16",
    "pools": [ { "pool": "10.77.1.0 - 10.77.255.254" } ],
    "option-data": [ { "name": "routers", "data": "10.77.0.1" } ] } ]
} }
EOF
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start_server() { # which dir
  local which=$1 dir=$2
  config "$dir/leases.csv" > "$dir/kea-dhcp4.conf"
  if [ "$which" = ours ]; then
    ip netns exec "$SRV" "$OURS" -c "$dir/kea-dhcp4.conf" --metrics-addr 127.0.0.1:9547 >"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
      ip netns exec "$SRV" busybox wget -q -O /dev/null http://127.0.0.1:9547/readyz 2>/dev/null && return 0
      sleep 0.05
    done
    echo "ours never became ready: $(cat "$dir/server.log")" >&2; exit 1
  else
    KEA_PIDFILE_DIR=$dir KEA_LOCKFILE_DIR=$dir ip netns exec "$SRV" "$KEA" -c "$dir/kea-dhcp4.conf" >"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
      grep -q DHCP4_STARTED "$dir/server.log" 2>/dev/null && return 0
      sleep 0.05
    done
    echo "Kea never started: $(cat "$dir/server.log")" >&2; exit 1
  fi
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

# run_one which rate → "rate_done drops avg_ms cpu_per_1000 acks lines fsyncs"
run_one() {
  local which=$1 rate=$2 dir
  dir=$(mktemp -d "$WORK/$which-$rate.XXXX")
  start_server "$which" "$dir"
  local before after out
  before=$(cpu_ticks "$SERVER_PID")
  out=$(ip netns exec "$CLI" perfdhcp -4 -l 10.77.0.2 -r "$rate" -R 1000000 -p "$DURATION" 10.77.0.1 2>&1 || true)
  after=$(cpu_ticks "$SERVER_PID")
  echo "$out" > "$dir/perfdhcp.out"
  local fsyncs=-
  if [ "$which" = ours ]; then
    fsyncs=$(ip netns exec "$SRV" busybox wget -q -O - http://127.0.0.1:9547/metrics | awk '/^dhcp4_lease_file_fsyncs /{print $2}')
  fi
  stop_server
  local lines
  lines=$(($(wc -l < "$dir/leases.csv") - 1))
  echo "$out" | awk -v cpu=$((after - before)) -v lines="$lines" -v fsyncs="$fsyncs" -v dur="$DURATION" '
    /Statistics for: DISCOVER-OFFER/ {sec="do"} /Statistics for: REQUEST-ACK/ {sec="ra"}
    /^Rate:/ {rate=$2}
    /^sent packets:/ {sent[sec]=$3} /^received packets:/ {recv[sec]=$3}
    /^avg delay:/ && sec=="ra" {avg=$3}
    END {
      acks=recv["ra"]+0; drops=(sent["do"]-recv["do"])+(sent["ra"]-recv["ra"]);
      cpu1k = acks>0 ? (cpu/100.0)/(acks/1000.0) : 0;
      printf "%.0f %d %s %.4f %d %s %s\n", rate, drops, avg, cpu1k, acks, lines, fsyncs }'
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

RESULTS=$WORK/results
: > "$RESULTS"
for r in $(seq "$REPEAT"); do
  for rate in $RATES; do
    for which in kea ours; do
      line=$(run_one "$which" "$rate")
      echo "$r $rate $which $line" >> "$RESULTS"
      echo "repeat $r rate $rate $which: leases/s, drops, avg ms, CPU s/1000 leases, ACKs, file lines, fsyncs = $line"
    done
  done
done

echo
echo "medians over $REPEAT runs (commit $(git rev-parse --short HEAD), ${DURATION}s per run)"
printf "%-8s | %9s %9s %6s | %7s %7s %6s | %8s %8s %6s | %7s %7s\n" \
  offered kea/s ours/s ratio kea-drop our-drop "" kea-ms our-ms "" kea-cpu our-cpu
for rate in $RATES; do
  get() { awk -v rate="$rate" -v w="$1" -v f="$2" '$2==rate && $3==w {print $f}' "$RESULTS" | median; }
  kr=$(get kea 4); orr=$(get ours 4); kd=$(get kea 5); od=$(get ours 5)
  km=$(get kea 6); om=$(get ours 6); kc=$(get kea 7); oc=$(get ours 7)
  printf "%-8s | %9.0f %9.0f %6.2f | %7.0f %7.0f %6s | %8.3f %8.3f %6s | %7.4f %7.4f  CPU ratio ours/kea %.2f\n" \
    "$rate" "$kr" "$orr" "$(awk -v a="$orr" -v b="$kr" 'BEGIN{print (b>0 ? a/b : 0)}')" "$kd" "$od" "" "$km" "$om" "" "$kc" "$oc" \
    "$(awk -v a="$oc" -v b="$kc" 'BEGIN{print (b>0 ? a/b : 0)}')"
done
echo
for which in kea ours; do
  best=$(awk -v w="$which" '$3==w && $5==0 {print $2}' "$RESULTS" | sort -g | tail -1)
  echo "$which: highest offered rate with zero drops in some run: ${best:-none}"
done
echo "ours: lease file lines vs ACKs, fsyncs (last run per rate):"
awk '$3=="ours" {print "  rate " $2 ": ACKs " $8 ", lines " $9 ", fsyncs " $10}' "$RESULTS" | tail -n "$(echo $RATES | wc -w)"
echo "raw results: $RESULTS"
