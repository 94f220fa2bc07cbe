#!/usr/bin/env bash
# Footprint of koi: release binary sizes, idle agent RSS, `koi version` start-up time,
# each checked against the project's goals.
#
#   tests/bench/footprint.sh [--opt-level z|s] [--runs N] [--idle SECS] [--out FILE] [--strict]
#
#   --opt-level  overrides [profile.release] opt-level via CARGO_PROFILE_RELEASE_OPT_LEVEL
#                (default: whatever Cargo.toml says)
#   --runs       `koi version` runs for the start-up median (default 200)
#   --idle       seconds the agent idles before its RSS is read (default 10)
#   --out FILE   also write the report to FILE, headed by the exact command and the date
#   --strict     exit 1 if any goal FAILs (default: exit 0 once the report is printed)
#
# Builds (one cargo at a time, release profile, all in CARGO_TARGET_DIR or target/):
# the full x86_64-gnu build, one `--no-default-features --features X` build per
# capability, and the full static x86_64 and aarch64 musl builds via cross/build.sh.
# The report goes to stdout; build progress goes to stderr. Every process and temp dir
# this script creates is removed on exit (trap).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/bench/lib.sh
. "$HERE/lib.sh"

CMDLINE="${CARGO_TARGET_DIR:+CARGO_TARGET_DIR=$CARGO_TARGET_DIR }tests/bench/footprint.sh${*:+ $*}"
OPT=""
RUNS=200
IDLE=10
OUT=""
STRICT=0
usage() {
    sed -n '5,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
        --opt-level) [ $# -ge 2 ] || usage; OPT="$2"; shift 2 ;;
        --opt-level=*) OPT="${1#*=}"; shift ;;
        --runs) [ $# -ge 2 ] || usage; RUNS="$2"; shift 2 ;;
        --idle) [ $# -ge 2 ] || usage; IDLE="$2"; shift 2 ;;
        --out) [ $# -ge 2 ] || usage; OUT="$2"; shift 2 ;;
        --strict) STRICT=1; shift ;;
        -h | --help) usage ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
done
case "$OPT" in
    "") OPT_DESC="$(sed -n '/^\[profile.release\]/,/^\[/s/^opt-level *= *"\{0,1\}\([^"]*\)"\{0,1\}.*/\1/p' "$KOI_ROOT/Cargo.toml") (Cargo.toml)" ;;
    z | s | 0 | 1 | 2 | 3) export CARGO_PROFILE_RELEASE_OPT_LEVEL="$OPT"; OPT_DESC="$OPT (CARGO_PROFILE_RELEASE_OPT_LEVEL)" ;;
    *) echo "--opt-level must be z or s (or 0-3)" >&2; exit 2 ;;
esac
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "--runs must be a positive integer" >&2; exit 2; }
[[ "$IDLE" =~ ^[0-9]+$ ]] || { echo "--idle must be a whole number of seconds" >&2; exit 2; }

START=$SECONDS
# Everything the report says goes through `say` (stdout + the --out copy).
bench_start

HOST="$(rustc -vV | sed -n 's/^host: //p')"
FEATURES=(mdns certmesh dns health proxy)
declare -A SIZE

size_of() { stat -c %s "$1"; }

# Native (glibc) release builds, as shipped: std rebuilt without its backtrace symbolizer
# (see cross/build.sh --std size). HOST_TRIPLE builds land in target/<triple>/release.
HOST_TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
rustup_component_ensure rust-src
build_native() { # LABEL CARGO_ARGS...
    local label="$1"
    shift
    log "building $label (release, opt-level $OPT_DESC, std rebuilt for size)"
    # As cross/build.sh --std size: no unwind tables (panic = "abort" never reads them).
    local flags_var
    flags_var="CARGO_TARGET_$(printf '%s' "$HOST_TRIPLE" | tr 'a-z-' 'A-Z_')_RUSTFLAGS"
    (cd "$KOI_ROOT" && export "$flags_var"="-C force-unwind-tables=no" &&
        RUSTC_BOOTSTRAP=1 cargo build -p koi --bin koi --release --target "$HOST_TRIPLE" \
        -Zbuild-std=std,panic_abort -Zbuild-std-features= "$@" >&2) || die "cargo build failed: $label"
    local bin="$KOI_TARGET_DIR/$HOST_TRIPLE/release/koi"
    SIZE[$label]=$(size_of "$bin")
    cp "$bin" "$WORK/koi-$label"
}
build_native full
for f in "${FEATURES[@]}"; do
    build_native "$f" --no-default-features --features "$f"
done

# The same with the stock, prebuilt std: what a plain `cargo build --release` gives.
build_stock() { # LABEL CARGO_ARGS...
    local label="$1"
    shift
    log "building $label (plain cargo build --release)"
    (cd "$KOI_ROOT" && cargo build -p koi --bin koi --release "$@" >&2) || die "cargo build failed: $label"
    SIZE[$label]=$(size_of "$KOI_TARGET_DIR/release/koi")
}
build_stock stock-full
build_stock stock-mdns --no-default-features --features mdns

# Static musl builds through cross/build.sh (its last stdout line is the path).
build_cross() { # LABEL TARGET
    local label="$1" target="$2" bin
    log "building $label via cross/build.sh"
    bin="$("$KOI_ROOT/cross/build.sh" "$target" --profile release | tail -n 1)" || die "cross/build.sh $target failed"
    SIZE[$label]=$(size_of "$bin")
    cp "$bin" "$WORK/koi-$label"
}
build_cross musl-x86_64 x86_64-unknown-linux-musl
build_cross musl-aarch64 aarch64-unknown-linux-musl
BUILD_SECS=$((SECONDS - START))

# Idle agent RSS.
declare -A RSS
measure_rss() { # LABEL
    local label="$1" bin="$WORK/koi-$1" sd pid rss ns
    bench_tmpdir
    sd="$REPLY"
    bench_netns
    ns="$REPLY"
    log "agent RSS: $label (idle ${IDLE} s, mDNS on a dummy interface in netns $ns)"
    # `ip netns exec` execs the agent, so $! is the agent's own pid.
    ip netns exec "$ns" "$bin" agent --control 127.0.0.1:0 --state-dir "$sd" >"$sd.log" 2>&1 &
    pid=$!
    BENCH_PIDS+=("$pid")
    BENCH_TMPDIRS+=("$sd.log")
    sleep "$IDLE"
    if ! kill -0 "$pid" 2>/dev/null; then
        cat "$sd.log" >&2
        die "koi agent ($label) exited before its RSS could be read"
    fi
    rss=$(vmrss_kib "$pid")
    stop_pid "$pid" || log "koi agent ($label) exited with status $? after SIGTERM"
    BENCH_PIDS=()
    RSS[$label]=$rss
}
measure_rss musl-x86_64
measure_rss full

# `koi version` start-up time (median, ms).
declare -A START_MS
TIMER=loop
if { command -v hyperfine >/dev/null || (apt_ensure hyperfine); } && { command -v jq >/dev/null || (apt_ensure jq); }; then
    TIMER=hyperfine
else
    log "hyperfine unavailable; timing with a date +%s%N loop (includes date's own fork)"
fi
measure_startup() { # LABEL
    local label="$1" bin="$WORK/koi-$1" ms
    "$bin" version >/dev/null || die "$bin version failed"
    if [ "$TIMER" = hyperfine ]; then
        local json="$WORK/hyperfine-$label.json"
        hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$json" "$bin version" >&2 ||
            die "hyperfine failed for $label"
        ms=$(jq -r '.results[0].median * 1000' "$json")
    else
        local i t0 t1
        : >"$WORK/times-$label"
        for i in $(seq 1 20); do "$bin" version >/dev/null; done
        for i in $(seq 1 "$RUNS"); do
            t0=$(date +%s%N)
            "$bin" version >/dev/null
            t1=$(date +%s%N)
            echo $((t1 - t0)) >>"$WORK/times-$label"
        done
        ms=$(median <"$WORK/times-$label" | awk '{ print $1 / 1e6 }')
    fi
    START_MS[$label]=$(awk -v m="$ms" 'BEGIN { printf "%.3f", m }')
}
log "timing 'koi version' ($RUNS runs each, $TIMER)"
measure_startup full
measure_startup musl-x86_64
TOTAL_SECS=$((SECONDS - START))

# Report.
say "koi footprint  ($(date -u '+%Y-%m-%d %H:%M:%S UTC'))"
say "commit $(git -C "$KOI_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(git -C "$KOI_ROOT" diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)'); $(rustc -V); host $HOST"
say "profile release: opt-level $OPT_DESC, lto fat, codegen-units 1, panic abort, strip"
say ""
sayf '%-46s %10s %9s\n' "release binary" "bytes" "KiB"
row() { sayf '%-46s %10s %9s\n' "$1" "${SIZE[$2]}" "$(kib "${SIZE[$2]}")"; }
say "as shipped (std rebuilt without its backtrace symbolizer; cross/build.sh --std size):"
row "x86_64-gnu   full (default features)" full
for f in "${FEATURES[@]}"; do row "x86_64-gnu   --no-default-features -F $f" "$f"; done
row "x86_64-musl  full, static" musl-x86_64
row "aarch64-musl full, static" musl-aarch64
say "with the stock std (plain cargo build --release), for comparison:"
row "x86_64-gnu   full (default features)" stock-full
row "x86_64-gnu   --no-default-features -F mdns" stock-mdns
say ""
sayf '%-46s %10s\n' "koi agent idle VmRSS after ${IDLE} s" "KiB"
sayf '%-46s %10s\n' "x86_64-musl  full, static" "${RSS[musl-x86_64]}"
sayf '%-46s %10s\n' "x86_64-gnu   full" "${RSS[full]}"
say ""
sayf '%-46s %10s\n' "koi version start-up, median of $RUNS ($TIMER)" "ms"
sayf '%-46s %10s\n' "x86_64-gnu   full" "${START_MS[full]}"
sayf '%-46s %10s\n' "x86_64-musl  full, static" "${START_MS[musl-x86_64]}"
say ""
say "goals"
FAILS=0
goal() { # VALUE LIMIT TEXT
    local verdict=PASS
    le "$1" "$2" || { verdict=FAIL; FAILS=$((FAILS + 1)); }
    sayf '%s  %-52s %s\n' "$verdict" "$3" "$1 (limit $2)"
}
goal "${SIZE[full]}" 2621440 "full x86_64-gnu binary <= 2.5 MiB (bytes)"
goal "${SIZE[musl-x86_64]}" 2621440 "full x86_64-musl static binary <= 2.5 MiB (bytes)"
goal "${SIZE[mdns]}" 819200 "mdns-only binary <= 800 KiB (bytes)"
goal "${RSS[musl-x86_64]}" 4096 "idle agent RSS, static musl <= 4 MiB (KiB)"
goal "${START_MS[full]}" 5 "koi version median, x86_64-gnu <= 5 ms (ms)"
goal "${START_MS[musl-x86_64]}" 5 "koi version median, static musl <= 5 ms (ms)"
say ""
say "$([ $FAILS -eq 0 ] && echo 'all goals PASS' || echo "$FAILS goal(s) FAIL"); builds ${BUILD_SECS} s, whole run ${TOTAL_SECS} s"

bench_finish "$OUT" "$CMDLINE" "$REPORT" "$STRICT" "$FAILS"
