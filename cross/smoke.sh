#!/usr/bin/env bash
# CI smoke test of the static aarch64 build: build with the fast `ci-release` profile
# (thin LTO) via cross/build.sh, then run `koi version --json` under qemu-aarch64-static.
#
#   cross/smoke.sh [--profile P] [-- CARGO_ARGS...]
#
# Exits non-zero if the build fails, the binary is not static, or the output lacks "version".
set -euo pipefail
DIR="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=cross/lib.sh
. "$DIR/lib.sh"

PROFILE=ci-release
if [ "${1:-}" = "--profile" ]; then
    [ $# -ge 2 ] || die "usage: $(basename "$0") [--profile P] [-- CARGO_ARGS...]"
    PROFILE="$2"
    shift 2
fi

BIN="$("$DIR/build.sh" aarch64-unknown-linux-musl --profile "$PROFILE" "$@" | tail -n 1)"
[ -n "$BIN" ] && [ -x "$BIN" ] || die "cross/build.sh did not report a binary"

desc="$(file -L "$BIN")"
echo "$desc"
grep -qE 'statically linked|static-pie linked' <<<"$desc" || die "not statically linked: $desc"
grep -q 'ARM aarch64' <<<"$desc" || die "not an aarch64 binary: $desc"

command -v qemu-aarch64-static >/dev/null || die "qemu-aarch64-static not found"
out="$(qemu-aarch64-static "$BIN" version --json)" || die "qemu-aarch64-static $BIN version --json exited $?"
echo "$out"
grep -q '"version"' <<<"$out" || die "output of 'koi version --json' has no \"version\" field"
echo "smoke: OK (aarch64 static, $(stat -c %s "$BIN") bytes)"
