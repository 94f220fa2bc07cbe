# Shared helpers for tests/bench/*.sh. Source it; do not run it.
# Pulls in cross/lib.sh (log, die, apt_ensure, KOI_ROOT, KOI_TARGET_DIR, ...).
# shellcheck source=cross/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/cross/lib.sh"

# bench_tmpdir: a temp dir that bench_cleanup removes. Sets $REPLY (no subshell, so the
# registration survives).
BENCH_TMPDIRS=()
BENCH_PIDS=()
bench_tmpdir() {
    REPLY="$(mktemp -d "${TMPDIR:-/tmp}/koi-bench.XXXXXX")"
    BENCH_TMPDIRS+=("$REPLY")
}

# bench_netns: an isolated network namespace with loopback and a veth pair whose both ends
# stay inside it (d0 10.254.0.1/24, multicast), so an agent runs mDNS for real while nothing it
# sends can leave this machine. Sets $REPLY to the namespace name; bench_cleanup deletes it.
BENCH_NETNS=()
bench_netns() {
    local ns="koi-bench-$$-${#BENCH_NETNS[@]}"
    ip netns add "$ns" || die "cannot create network namespace $ns (needs root)"
    BENCH_NETNS+=("$ns")
    ip -n "$ns" link set lo up
    ip -n "$ns" link add d0 type veth peer name d1
    ip -n "$ns" link set d1 up
    ip -n "$ns" link set d0 multicast on up
    ip -n "$ns" addr add 10.254.0.1/24 dev d0
    ip -n "$ns" route add 224.0.0.0/4 dev d0
    REPLY="$ns"
}

# bench_cleanup: SIGTERM (then SIGKILL) every registered pid, remove every temp dir.
# Install with: trap bench_cleanup EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
bench_cleanup() {
    local pid d i
    for pid in ${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}; do
        kill -0 "$pid" 2>/dev/null || continue
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    BENCH_PIDS=()
    for d in ${BENCH_TMPDIRS[@]+"${BENCH_TMPDIRS[@]}"}; do rm -rf -- "$d"; done
    BENCH_TMPDIRS=()
    for d in ${BENCH_NETNS[@]+"${BENCH_NETNS[@]}"}; do
        for pid in $(ip netns pids "$d" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$d" 2>/dev/null || true
    done
    BENCH_NETNS=()
}

# stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL; reaps it. Returns its exit status.
stop_pid() {
    local pid="$1" i rc=0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid ignored SIGTERM for 5 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || rc=$?
    return $rc
}

# vmrss_kib PID: the VmRSS of PID in KiB.
vmrss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# kib BYTES: bytes as KiB with one decimal.
kib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }

# median: the median of the numbers on stdin, one a line.
median() {
    sort -g | awk '{ a[NR] = $1 } END {
        if (NR == 0) exit 1
        if (NR % 2) print a[(NR + 1) / 2]; else printf "%.9g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# le A B: true if A <= B (decimal numbers).
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# bench_finish OUT CMDLINE REPORT STRICT FAILS: writes REPORT to OUT (when set) headed by the
# command and the date, then exits 1 if STRICT and any goal failed, else 0.
bench_finish() {
    local out="$1" cmdline="$2" report="$3" strict="$4" fails="$5"
    if [ -n "$out" ]; then
        mkdir -p "$(dirname "$out")"
        {
            echo "\$ $cmdline"
            echo "# $(date '+%Y-%m-%d %H:%M:%S %Z')"
            echo
            cat "$report"
        } >"$out"
        log "report written to $out"
    fi
    [ "$strict" -eq 1 ] && [ "$fails" -gt 0 ] && exit 1
    exit 0
}

# bench_start: the opening every bench shares, once its arguments are parsed: traps that stop
# whatever it starts, and a temp dir $WORK holding the report $REPORT, which say and sayf
# print to and record.
bench_start() {
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    bench_tmpdir
    WORK="$REPLY"
    REPORT="$WORK/report.txt"
}
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }
# shellcheck disable=SC2059 # the format is the caller's
sayf() { printf "$@" | tee -a "$REPORT"; }

# bench_koi: sets $KOI to $KOI_BIN (which must be executable), or builds koi for release.
bench_koi() {
    if [ -n "${KOI_BIN:-}" ]; then
        [ -x "$KOI_BIN" ] || die "KOI_BIN=$KOI_BIN is not executable"
        KOI="$KOI_BIN"
    else
        log "building koi (cargo build --release)"
        (cd "$KOI_ROOT" && cargo build -p koi --bin koi --release >&2) || die "cargo build failed"
        KOI="$KOI_TARGET_DIR/release/koi"
    fi
}
