#!/usr/bin/env bash
# Health under load: 500 service checks at a 1 s interval against loopback servers, each
# figure checked against the project's goals.
#
#   tests/bench/health.sh [--checks N] [--secs SECS] [--out FILE] [--strict]
#
#   --checks   checks in all, half HTTP and half TCP (default 500)
#   --secs     seconds of measurement after a 5 s warm-up (default 30)
#   --out FILE also write the report to FILE, headed by the exact command and the date
#   --strict   exit 1 if any goal FAILs (default: exit 0 once the report is printed)
#   KOI_BIN=/path/to/koi   measure that binary instead of building with cargo build --release
#
# The targets (tests/bench/health_targets.py, python asyncio) answer HTTP 200 on one port, each
# check on its own path, and accept-and-close on one TCP port per TCP check; they log every
# arrival with its monotonic time, so the schedule is measured from the outside too. The agent
# runs with --no-mdns on loopback. Goals: agent CPU <= 10 % of a core, VmRSS <= 5 MiB over the
# idle agent, no check more than 1 s off its schedule (both as the agent reports it and as
# the targets saw it). There is no packaged peer that schedules 500 probes in one process to
# compare with; the figures stand against the goals.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/bench/lib.sh
. "$HERE/lib.sh"

CMDLINE="${KOI_BIN:+KOI_BIN=$KOI_BIN }tests/bench/health.sh${*:+ $*}"
CHECKS=500
SECS=30
OUT=""
STRICT=0
usage() {
    sed -n '5,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
        --checks) [ $# -ge 2 ] || usage; CHECKS="$2"; shift 2 ;;
        --secs) [ $# -ge 2 ] || usage; SECS="$2"; shift 2 ;;
        --out) [ $# -ge 2 ] || usage; OUT="$2"; shift 2 ;;
        --strict) STRICT=1; shift ;;
        -h | --help) usage ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
done
[[ "$CHECKS" =~ ^[1-9][0-9]*$ ]] || { echo "--checks must be a positive integer" >&2; exit 2; }
[[ "$SECS" =~ ^[1-9][0-9]*$ ]] || { echo "--secs must be a positive number of seconds" >&2; exit 2; }
command -v python3 >/dev/null || die "python3 not found (tests/install-deps.sh installs it)"

START=$SECONDS
bench_start

bench_koi

N_TCP=$((CHECKS / 2))
N_HTTP=$((CHECKS - N_TCP))
ARRIVALS="$WORK/arrivals.log"

# The targets.
python3 "$HERE/health_targets.py" "$ARRIVALS" "$N_TCP" >"$WORK/targets.out" &
TARGETS=$!
BENCH_PIDS+=("$TARGETS")
for _ in $(seq 1 200); do grep -q '^ready' "$WORK/targets.out" 2>/dev/null && break; sleep 0.05; done
read -r _ HTTP_PORT TCP_PORTS <"$WORK/targets.out" || die "targets did not start"
IFS=',' read -r -a TCP_PORT_LIST <<<"${TCP_PORTS:-}"

# The agent, idle.
STATE="$WORK/state"
"$KOI" agent --no-mdns --control 127.0.0.1:0 --state-dir "$STATE" --log-level warn 2>"$WORK/agent.log" &
AGENT=$!
BENCH_PIDS+=("$AGENT")
for _ in $(seq 1 200); do [ -f "$STATE/agent.json" ] && break; sleep 0.05; done
[ -f "$STATE/agent.json" ] || die "agent did not start: $(cat "$WORK/agent.log")"
sleep 2
IDLE_RSS=$(vmrss_kib "$AGENT")

log "adding $N_HTTP HTTP and $N_TCP TCP checks at 1s"
for i in $(seq 1 "$N_HTTP"); do
    "$KOI" health add "h$i" --http "http://127.0.0.1:$HTTP_PORT/c$i" --interval 1s --timeout 2s --state-dir "$STATE" >/dev/null
done
for i in $(seq 1 "$N_TCP"); do
    "$KOI" health add "t$i" --tcp "127.0.0.1:${TCP_PORT_LIST[$((i - 1))]}" --interval 1s --timeout 2s --state-dir "$STATE" >/dev/null
done

log "warming up 5 s, then measuring $SECS s"
sleep 5
HZ=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
T0=$(ticks "$AGENT")
W0=$(date +%s.%N)
M0=$(python3 -c 'import time; print(time.monotonic())')
sleep "$SECS"
T1=$(ticks "$AGENT")
W1=$(date +%s.%N)
M1=$(python3 -c 'import time; print(time.monotonic())')
LOAD_RSS=$(vmrss_kib "$AGENT")
CPU_PCT=$(awk -v t="$((T1 - T0))" -v hz="$HZ" -v a="$W0" -v b="$W1" 'BEGIN { printf "%.2f", 100 * t / hz / (b - a) }')
RSS_GROWTH=$((LOAD_RSS - IDLE_RSS))

"$KOI" health status --json --state-dir "$STATE" >"$WORK/status.json"
read -r AGENT_DRIFT RUNS_MIN RUNS_MAX UP DOWN < <(python3 - "$WORK/status.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["services"]
print(max(x["max_drift_ms"] for x in s), min(x["runs"] for x in s), max(x["runs"] for x in s),
      sum(x["state"] == "up" for x in s), sum(x["state"] == "down" for x in s))
PY
)

kill -TERM "$TARGETS" 2>/dev/null || true
wait "$TARGETS" 2>/dev/null || true
# Outside view: for each check, its arrivals within the window against its own phase
# (arrival k should be at phase + k s); the drift is the worst lateness over all checks.
read -r SEEN_KEYS OUT_DRIFT OUT_P99 ARRIVED < <(python3 - "$ARRIVALS" "$M0" "$M1" <<'PY'
import sys
from collections import defaultdict
m0, m1 = float(sys.argv[2]), float(sys.argv[3])
by = defaultdict(list)
for line in open(sys.argv[1]):
    k, t = line.split()
    t = float(t)
    if m0 <= t <= m1:
        by[k].append(t)
worst, lates, n = 0.0, [], 0
for k, ts in by.items():
    ts.sort()
    n += len(ts)
    offs = [t - i for i, t in enumerate(ts)]
    phase = min(offs)
    late = [o - phase for o in offs]
    lates.extend(late)
    worst = max(worst, max(late))
lates.sort()
p99 = lates[int(0.99 * (len(lates) - 1))] if lates else 0
print(len(by), int(worst * 1000), int(p99 * 1000), n)
PY
)
EXPECTED=$((CHECKS * SECS))

say "koi health bench  ($(date -u '+%Y-%m-%d %H:%M:%S UTC'))"
say "commit $(git -C "$KOI_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(git -C "$KOI_ROOT" diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)'); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
say "$CHECKS checks at 1 s ($N_HTTP HTTP GET on one python asyncio port, $N_TCP TCP connects on $N_TCP ports), timeout 2 s, 5 s warm-up, $SECS s measured"
say ""
sayf '%-48s %10s\n' "agent CPU (% of one core)" "$CPU_PCT"
sayf '%-48s %10s\n' "agent VmRSS idle, no checks (KiB)" "$IDLE_RSS"
sayf '%-48s %10s\n' "agent VmRSS with $CHECKS checks running (KiB)" "$LOAD_RSS"
sayf '%-48s %10s\n' "growth (KiB)" "$RSS_GROWTH"
sayf '%-48s %10s\n' "checks up / down at the end" "$UP / $DOWN"
sayf '%-48s %10s\n' "runs per check since added (min..max)" "$RUNS_MIN..$RUNS_MAX"
sayf '%-48s %10s\n' "worst lateness, agent's view (ms)" "$AGENT_DRIFT"
sayf '%-48s %10s\n' "worst lateness, targets' view (ms)" "$OUT_DRIFT"
sayf '%-48s %10s\n' "p99 lateness, targets' view (ms)" "$OUT_P99"
sayf '%-48s %10s\n' "arrivals in the window (expected ~$EXPECTED)" "$ARRIVED"
sayf '%-48s %10s\n' "checks seen by the targets" "$SEEN_KEYS"
say ""
say "goals"
FAILS=0
goal() { # VALUE LIMIT TEXT
    local verdict=PASS
    if [ "$1" = NA ] || ! le "$1" "$2"; then verdict=FAIL; FAILS=$((FAILS + 1)); fi
    sayf '%s  %-56s %s\n' "$verdict" "$3" "$1 (limit $2)"
}
goal "$CPU_PCT" 10 "agent CPU, $CHECKS checks at 1 s (% of a core)"
goal "$RSS_GROWTH" 5120 "VmRSS over idle (KiB)"
goal "$AGENT_DRIFT" 1000 "worst check lateness, agent's view (ms)"
goal "$OUT_DRIFT" 1000 "worst check lateness, targets' view (ms)"
goal "$DOWN" 0 "checks down against healthy targets"
goal "$((CHECKS - SEEN_KEYS))" 0 "checks never seen by the targets"
say ""
say "$([ $FAILS -eq 0 ] && echo 'all goals PASS' || echo "$FAILS goal(s) FAIL"); whole run $((SECONDS - START)) s"

bench_finish "$OUT" "$CMDLINE" "$REPORT" "$STRICT" "$FAILS"
