#!/usr/bin/env bash
# mDNS figures of koi, each checked against the project's goals, measured on a bed of network
# namespaces joined by a bridge (nothing leaves this machine):
#
#   tests/bench/mdns.sh [--runs N] [--idle SECS] [--out FILE] [--strict]
#
#   --runs     announce-latency runs per announcer (default 10)
#   --idle     seconds of idle CPU measurement (default 60)
#   --out FILE also write the report to FILE, headed by the exact command and the date
#   --strict   exit 1 if any goal FAILs (default: exit 0 once the report is printed)
#   KOI_BIN=/path/to/koi   measure that binary instead of building with cargo build --release
#
# 1. `koi mdns announce` (agent already running on h1) until python-zeroconf on h2 sees the
#    service (median and max, distinct names); the same for avahi-publish (its own
#    avahi-daemon and dbus-daemon on h3) and for python-zeroconf's own register (h3).
# 2. Agent CPU (utime+stime, /proc/PID/stat) while idle with 100 announced services.
# 3. Agent VmRSS growth per 1,000 services cached: python-zeroconf publishes 1,000 services on
#    h2, then 1,000 more on h3 (over ten types: the cache keeps at most 512 PTRs of one type), and the agent's registry (/v1/mdns/status `discovered`) must
#    list them before VmRSS is read.
# The report goes to stdout, progress to stderr. Every process, namespace and temp dir this
# script creates is removed on exit (trap).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/bench/lib.sh
. "$HERE/lib.sh"

CMDLINE="${KOI_BIN:+KOI_BIN=$KOI_BIN }${CARGO_TARGET_DIR:+CARGO_TARGET_DIR=$CARGO_TARGET_DIR }tests/bench/mdns.sh${*:+ $*}"
RUNS=10
IDLE=60
OUT=""
STRICT=0
usage() {
    sed -n '5,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) [ $# -ge 2 ] || usage; RUNS="$2"; shift 2 ;;
        --idle) [ $# -ge 2 ] || usage; IDLE="$2"; shift 2 ;;
        --out) [ $# -ge 2 ] || usage; OUT="$2"; shift 2 ;;
        --strict) STRICT=1; shift ;;
        -h | --help) usage ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "--runs must be a positive integer" >&2; exit 2; }
[[ "$IDLE" =~ ^[1-9][0-9]*$ ]] || { echo "--idle must be a positive number of seconds" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
for tool in ip python3 avahi-daemon avahi-publish dbus-daemon; do
    command -v "$tool" >/dev/null || die "$tool not found (tests/install-deps.sh installs it)"
done
python3 -c 'import zeroconf' 2>/dev/null || die "python3 zeroconf not installed"

START=$SECONDS
bench_start

# The koi binary.
bench_koi

# The bed: $NS-sw holds the bridge; $NS-h1..h3 each have eth0 at 10.253.0.N/24.
NS="koi-mdnsb-$$"
SUBNET=10.253.0
host_ns() { echo "$NS-h$1"; }
# in_host HOST CMD...: run CMD inside host HOST. Background jobs use `ip netns exec` directly
# instead, so that $! is the process itself (ip execs it) and not a subshell.
in_host() {
    local h="$1"
    shift
    ip netns exec "$(host_ns "$h")" "$@"
}
make_bed() { # HOSTS
    local i ns
    ip netns add "$NS-sw" || die "cannot create network namespaces (needs root)"
    BENCH_NETNS+=("$NS-sw")
    ip -n "$NS-sw" link set lo up
    ip -n "$NS-sw" link add br0 type bridge mcast_snooping 0 stp_state 0 forward_delay 0
    ip -n "$NS-sw" link set br0 up
    for i in $(seq 1 "$1"); do
        ns="$(host_ns "$i")"
        ip netns add "$ns"
        BENCH_NETNS+=("$ns")
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
        ip -n "$NS-sw" link add "h$i" type veth peer name eth0 netns "$ns"
        ip -n "$NS-sw" link set "h$i" master br0 up
        ip -n "$ns" link set lo up
        ip -n "$ns" link set eth0 multicast on up
        ip -n "$ns" addr add "$SUBNET.$i/24" dev eth0
        ip -n "$ns" route add 224.0.0.0/4 dev eth0
    done
}
make_bed 3

# wait_for SECS CMD...: polls CMD every 0.1 s until it succeeds; fails after SECS.
wait_for() {
    local secs="$1" i
    shift
    for i in $(seq 1 $((secs * 10))); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

# start_agent HOST: a koi agent on HOST's eth0; sets AGENT_PID and AGENT_DIR.
start_agent() {
    local h="$1"
    bench_tmpdir
    AGENT_DIR="$REPLY"
    ip netns exec "$(host_ns "$h")" "$KOI" agent --control 127.0.0.1:0 --state-dir "$AGENT_DIR" \
        --interfaces eth0 --hostname "bench-h$h" >"$AGENT_DIR.log" 2>&1 &
    AGENT_PID=$!
    BENCH_PIDS+=("$AGENT_PID")
    BENCH_TMPDIRS+=("$AGENT_DIR.log")
    wait_for 10 grep -qs "\"pid\":$AGENT_PID," "$AGENT_DIR/agent.json" ||
        { cat "$AGENT_DIR.log" >&2; die "koi agent did not start"; }
}
agent_status() { in_host 1 "$KOI" mdns status --json --state-dir "$AGENT_DIR"; }
# all_announced MIN: at least MIN services announced and none still probing or announcing.
all_announced() {
    agent_status | python3 -c '
import json, sys
s = json.load(sys.stdin)["announced"]
sys.exit(0 if len(s) >= int(sys.argv[1]) and all(a["state"] == "announced" for a in s) else 1)' "$1"
}
discovered() { agent_status | sed -n 's/.*"discovered":\([0-9]*\).*/\1/p'; }
stale() { agent_status | sed -n 's/.*"stale":\([0-9]*\).*/\1/p'; }
# live_at_least N: the registry holds at least N live (not stale) services.
live_at_least() {
    agent_status | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if s["discovered"] - s["stale"] >= int(sys.argv[1]) else 1)' "$1"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# A private avahi-daemon (and dbus-daemon) on host 3, through the same script the interop tests
# use (tests/net/avahi.sh: its own bus, and private mounts over /run/avahi-daemon and
# /etc/avahi/services inside the mount namespace `ip netns exec` creates).
start_avahi() {
    local d avahi="$KOI_ROOT/tests/net/avahi.sh"
    bench_tmpdir
    d="$REPLY"
    AVAHI_DIR="$d"
    ip netns exec "$(host_ns 3)" sh "$avahi" bus "$d" >"$d/dbus.log" 2>&1 &
    BENCH_PIDS+=($!)
    wait_for 5 test -S "$d/bus" || die "dbus-daemon did not start"
    ip netns exec "$(host_ns 3)" sh "$avahi" daemon "$d" avahi-h3 yes no >"$d/avahi.log" 2>&1 &
    AVAHI_PID=$!
    BENCH_PIDS+=("$AVAHI_PID")
    wait_for 10 grep -q "Server startup complete" "$d/avahi.log" ||
        { cat "$d/avahi.log" >&2; die "avahi-daemon did not start"; }
}

# ---------------------------------------------------------------------------------------------
# 1. Announce latency.
log "koi: $KOI"
start_agent 1
wait_for 15 all_announced 1 || die "the agent's own _koi._tcp never got announced"
start_avahi
sleep 2

declare -A SEEN RESOLVED
# one_run KIND N: announce a fresh instance with KIND; appends the latency in ms (seen,
# resolved) to $WORK/KIND.seen and $WORK/KIND.resolved.
one_run() {
    local kind="$1" n="$2" inst="lat-$1-$2" out="$WORK/zc-$1-$2.out" zpid apid t0 seen resolved
    ip netns exec "$(host_ns 2)" python3 "$HERE/zc_wait.py" _http._tcp.local. "$inst" 10 >"$out" 2>"$out.err" &
    zpid=$!
    BENCH_PIDS+=("$zpid")
    wait_for 10 grep -qs "^READY" "$out" || { cat "$out.err" >&2; die "zc_wait.py did not start"; }
    apid=""
    case "$kind" in
        koi)
            t0=$(date +%s.%N)
            ip netns exec "$(host_ns 1)" "$KOI" mdns announce "$inst" _http._tcp 8080 --state-dir "$AGENT_DIR" >/dev/null &
            apid=$!
            ;;
        avahi)
            t0=$(date +%s.%N)
            ip netns exec "$(host_ns 3)" env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$AVAHI_DIR/bus" \
                avahi-publish -s "$inst" _http._tcp 8080 >/dev/null 2>&1 &
            apid=$!
            ;;
        zeroconf)
            ip netns exec "$(host_ns 3)" python3 "$HERE/zc_publish.py" _http._tcp.local. "lat-$kind" "$n" 1 "$SUBNET.3" \
                >"$out.pub" 2>&1 &
            apid=$!
            inst="lat-$kind-$n"
            wait_for 10 grep -qs "^T0" "$out.pub" || die "zc_publish.py did not start"
            t0=$(sed -n 's/^T0 //p' "$out.pub")
            ;;
    esac
    BENCH_PIDS+=("$apid")
    wait "$zpid" || log "$kind run $n: not resolved within 10 s"
    seen=$(sed -n 's/^SEEN //p' "$out")
    resolved=$(sed -n 's/^RESOLVED //p' "$out")
    [ -n "$seen" ] && awk -v a="$seen" -v b="$t0" 'BEGIN { printf "%.1f\n", (a - b) * 1000 }' >>"$WORK/$kind.seen"
    [ -n "$resolved" ] && awk -v a="$resolved" -v b="$t0" 'BEGIN { printf "%.1f\n", (a - b) * 1000 }' >>"$WORK/$kind.resolved"
    case "$kind" in
        koi) wait "$apid" || log "koi mdns announce failed (run $n)" ;;
        *) kill -TERM "$apid" 2>/dev/null || true; wait "$apid" 2>/dev/null || true ;;
    esac
    sleep 0.5
}
KINDS=(koi avahi zeroconf)
for kind in "${KINDS[@]}"; do : >"$WORK/$kind.seen"; : >"$WORK/$kind.resolved"; done
for n in $(seq 1 "$RUNS"); do
    for kind in "${KINDS[@]}"; do
        log "announce latency: $kind, run $n of $RUNS"
        one_run "$kind" "$n"
    done
done
stat_of() { # FILE median|max|n
    case "$2" in
        median) [ -s "$1" ] && median <"$1" || echo NA ;;
        max) [ -s "$1" ] && sort -g "$1" | tail -n 1 || echo NA ;;
        n) wc -l <"$1" ;;
    esac
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f", a / b }'; }

# ---------------------------------------------------------------------------------------------
# 2. Idle CPU with 100 announced services (a fresh agent; avahi stopped, nobody else talks).
log "idle CPU: a fresh agent announcing 100 services"
stop_pid "$AVAHI_PID" || true
stop_pid "$AGENT_PID" || true
start_agent 1
wait_for 15 all_announced 1 || die "the agent's own _koi._tcp never got announced"
for batch in 0 25 50 75; do
    pids=()
    for i in $(seq "$batch" $((batch + 24))); do
        ip netns exec "$(host_ns 1)" "$KOI" mdns announce "idle-$i" "_idle$((i % 10))._tcp" $((9000 + i)) \
            --state-dir "$AGENT_DIR" >/dev/null &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || die "koi mdns announce failed"; done
done
wait_for 30 all_announced 101 || die "100 services never all announced"
SETTLE=10
log "settling ${SETTLE} s, then measuring for ${IDLE} s"
sleep "$SETTLE"
HZ=$(getconf CLK_TCK)
T1=$(cpu_ticks "$AGENT_PID")
sleep "$IDLE"
T2=$(cpu_ticks "$AGENT_PID")
IDLE_TICKS=$((T2 - T1))
IDLE_PCT=$(awk -v t="$IDLE_TICKS" -v hz="$HZ" -v s="$IDLE" 'BEGIN { printf "%.3f", t / hz / s * 100 }')
IDLE_RSS=$(vmrss_kib "$AGENT_PID")

# ---------------------------------------------------------------------------------------------
# 3. RSS growth per 1,000 cached services (the same agent, browsing every type).
D0=$(discovered)
S0=$(stale)
RSS0=$(vmrss_kib "$AGENT_PID")
publish() { # HOST FIRST COUNT: python-zeroconf publishing COUNT services from HOST
    local h="$1" first="$2" count="$3" out="$WORK/pub-$2.out" pid
    ip netns exec "$(host_ns "$h")" python3 "$HERE/zc_publish.py" "_bench{k}._tcp.local." bench "$first" "$count" "$SUBNET.$h" \
        >"$out" 2>&1 &
    pid=$!
    BENCH_PIDS+=("$pid")
    wait_for 600 grep -qs "^DONE" "$out" || { cat "$out" >&2; die "zc_publish.py did not finish"; }
}
declare -A RSS DISC STALE TOOK
for step in 1 2; do
    first=$(((step - 1) * 1000))
    want=$((D0 - S0 + step * 1000))
    log "RSS: publishing services $first..$((first + 999)) from h$((step + 1)); waiting for the registry to hold $want"
    t0=$SECONDS
    publish $((step + 1)) "$first" 1000
    wait_for 180 live_at_least "$want" || log "registry holds only $(discovered) ($(stale) stale) of $want"
    TOOK[$step]=$((SECONDS - t0))
    sleep 5
    DISC[$step]=$(discovered)
    STALE[$step]=$(stale)
    RSS[$step]=$(vmrss_kib "$AGENT_PID")
done
PER1=$((RSS[1] - RSS0))
PER2=$((RSS[2] - RSS[1]))
PER_AVG=$(((RSS[2] - RSS0) / 2))
TOTAL_SECS=$((SECONDS - START))

# ---------------------------------------------------------------------------------------------
# Report.
ZC_VERSION=$(python3 -c 'import zeroconf; print(zeroconf.__version__)')
AVAHI_VERSION=$(avahi-daemon --version 2>/dev/null | awk '{ print $2 }')
say "koi mDNS bench  ($(date -u '+%Y-%m-%d %H:%M:%S UTC'))"
say "commit $(git -C "$KOI_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(git -C "$KOI_ROOT" diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)'); koi $("$KOI" version 2>/dev/null | head -n 1) ($KOI)"
say "peers: python-zeroconf $ZC_VERSION, avahi-daemon $AVAHI_VERSION; $(nproc) cores"
say "bed: 3 network namespaces on one bridge, $SUBNET.0/24; h1 koi agent, h2 zeroconf browser, h3 avahi / zeroconf publisher"
say ""
say "1. announce -> python-zeroconf on another host sees it (ms, $RUNS runs, distinct names)"
sayf '%-44s %8s %8s %10s %10s %6s\n' "announcer" "seen med" "seen max" "resolv med" "resolv max" "runs"
for kind in "${KINDS[@]}"; do
    case "$kind" in
        koi) label="koi agent + koi mdns announce" ;;
        avahi) label="avahi-daemon + avahi-publish" ;;
        zeroconf) label="python-zeroconf register_service" ;;
    esac
    sayf '%-44s %8s %8s %10s %10s %6s\n' "$label" \
        "$(stat_of "$WORK/$kind.seen" median)" "$(stat_of "$WORK/$kind.seen" max)" \
        "$(stat_of "$WORK/$kind.resolved" median)" "$(stat_of "$WORK/$kind.resolved" max)" \
        "$(stat_of "$WORK/$kind.seen" n)"
done
KOI_MED=$(stat_of "$WORK/koi.seen" median)
KOI_MAX=$(stat_of "$WORK/koi.seen" max)
for peer in avahi zeroconf; do
    sayf '%-44s %8s %8s %10s %10s\n' "ratio koi / $peer" \
        "$(ratio "$KOI_MED" "$(stat_of "$WORK/$peer.seen" median)")" \
        "$(ratio "$KOI_MAX" "$(stat_of "$WORK/$peer.seen" max)")" \
        "$(ratio "$(stat_of "$WORK/koi.resolved" median)" "$(stat_of "$WORK/$peer.resolved" median)")" \
        "$(ratio "$(stat_of "$WORK/koi.resolved" max)" "$(stat_of "$WORK/$peer.resolved" max)")"
done
say "   (koi and avahi: from starting the command; zeroconf: from register_service, after python's start-up)"
say ""
say "2. agent CPU while idle, 100 services announced (+ its own _koi._tcp), ${SETTLE} s settled, ${IDLE} s measured"
sayf '%-44s %10s\n' "utime+stime (ticks of 1/$HZ s)" "$IDLE_TICKS"
sayf '%-44s %10s\n' "% of one core" "$IDLE_PCT"
sayf '%-44s %10s\n' "VmRSS (KiB)" "$IDLE_RSS"
say ""
say "3. agent VmRSS with services cached (python-zeroconf publishing, agent browsing every type)"
sayf '%-44s %10s %6s %10s %8s\n' "" "discovered" "stale" "VmRSS KiB" "took s"
sayf '%-44s %10s %6s %10s %8s\n' "before" "$D0" "$S0" "$RSS0" ""
sayf '%-44s %10s %6s %10s %8s\n' "+1000 services (h2)" "${DISC[1]}" "${STALE[1]}" "${RSS[1]}" "${TOOK[1]}"
sayf '%-44s %10s %6s %10s %8s\n' "+2000 services (h2, h3)" "${DISC[2]}" "${STALE[2]}" "${RSS[2]}" "${TOOK[2]}"
sayf '%-44s %10s\n' "KiB per 1000: first 1000" "$PER1"
sayf '%-44s %10s\n' "KiB per 1000: second 1000" "$PER2"
sayf '%-44s %10s\n' "KiB per 1000: average" "$PER_AVG"
say ""
say "goals"
FAILS=0
goal() { # VALUE LIMIT TEXT
    local verdict=PASS
    if [ "$1" = NA ] || ! le "$1" "$2"; then verdict=FAIL; FAILS=$((FAILS + 1)); fi
    sayf '%s  %-56s %s\n' "$verdict" "$3" "$1 (limit $2)"
}
goal "$KOI_MED" 1200 "announce -> zeroconf sees it, median (ms)"
goal "$KOI_MAX" 1200 "announce -> zeroconf sees it, max (ms)"
goal "$IDLE_PCT" 1 "idle agent, 100 services, CPU (% of a core)"
goal "$PER_AVG" 1024 "VmRSS growth per 1000 cached services (KiB)"
registry_ok=PASS
LIVE2=$((DISC[2] - STALE[2]))
[ "$LIVE2" -ge $((D0 + 2000)) ] || { registry_ok=FAIL; FAILS=$((FAILS + 1)); }
sayf '%s  %-56s %s\n' "$registry_ok" "registry lists all 2000 published services live" "$LIVE2 (want >= $((D0 + 2000)))"
say ""
say "$([ $FAILS -eq 0 ] && echo 'all goals PASS' || echo "$FAILS goal(s) FAIL"); whole run ${TOTAL_SECS} s"

bench_finish "$OUT" "$CMDLINE" "$REPORT" "$STRICT" "$FAILS"
