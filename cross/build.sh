#!/usr/bin/env bash
# Static (musl) build of the `koi` binary.
#
#   cross/build.sh TARGET [--profile P] [--std size|stock] [-- CARGO_ARGS...]
#
# --std size (the default; what we ship) rebuilds the standard library without its
# `backtrace` feature, which drops ~170 KiB of DWARF symbolizer (gimli, addr2line,
# miniz_oxide) that stable std links into every binary for RUST_BACKTRACE, even with
# panic = "abort", and leaves out unwind tables (-C force-unwind-tables=no, ~340 KiB on
# x86_64), which an aborting panic never reads. Panic messages still print. It needs the rust-src component and
# -Zbuild-std, which stable rustc accepts under RUSTC_BOOTSTRAP=1. --std stock uses the
# prebuilt std (what plain `cargo build --release` gives).
#
# TARGET: aarch64-unknown-linux-musl (Raspberry Pi 3/4/5 64-bit, arm64 routers/NAS)
#      or x86_64-unknown-linux-musl.
# P defaults to `release` (the footprint profile); CI uses `ci-release` (thin LTO) because
# fat LTO is slow on 2 cores. CARGO_ARGS go to `cargo build`, e.g.
#   cross/build.sh aarch64-unknown-linux-musl -- --no-default-features --features mdns
# Honours CARGO_TARGET_DIR (default: the workspace's target/) and any CARGO_PROFILE_* env.
# Installs what it needs (Debian cross gcc + qemu-user-static, rustup target).
# Progress goes to stderr; the LAST line of stdout is the binary's path.
set -euo pipefail
# shellcheck source=cross/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat >&2 <<EOF
usage: $(basename "$0") TARGET [--profile P] [--std size|stock] [-- CARGO_ARGS...]
  TARGET: aarch64-unknown-linux-musl | x86_64-unknown-linux-musl
  P:      cargo profile (default: release; CI: ci-release)
EOF
    exit 2
}

[ $# -ge 1 ] || usage
TARGET="$1"
shift
PROFILE=release
STD=size
CARGO_ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --profile)
            [ $# -ge 2 ] || usage
            PROFILE="$2"
            shift 2
            ;;
        --profile=*)
            PROFILE="${1#--profile=}"
            shift
            ;;
        --std)
            [ $# -ge 2 ] || usage
            STD="$2"
            shift 2
            ;;
        --std=*)
            STD="${1#--std=}"
            shift
            ;;
        --)
            shift
            CARGO_ARGS=("$@")
            break
            ;;
        -h | --help) usage ;;
        *)
            echo "unknown argument: $1" >&2
            usage
            ;;
    esac
done

case "$TARGET" in
    aarch64-unknown-linux-musl)
        # ring's build.rs compiles C + pregenerated asm: it needs a C compiler for the
        # target. qemu-user-static runs the result on this x86_64 host.
        apt_ensure gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static file
        export CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc
        export AR_aarch64_unknown_linux_musl=aarch64-linux-gnu-ar
        # Link with the cross gcc; rustc supplies musl's crt*.o + libc.a (self-contained),
        # so the result is fully static with no musl toolchain installed.
        export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc
        ;;
    x86_64-unknown-linux-musl)
        apt_ensure gcc libc6-dev file
        # No musl-gcc needed: the host gcc compiles ring's C (freestanding headers only)
        # and links with rustc's self-contained musl crt + libc.a.
        if ! command -v musl-gcc >/dev/null; then
            export CC_x86_64_unknown_linux_musl="${CC_x86_64_unknown_linux_musl:-gcc}"
            export AR_x86_64_unknown_linux_musl="${AR_x86_64_unknown_linux_musl:-ar}"
        fi
        ;;
    *)
        echo "unsupported target: $TARGET" >&2
        usage
        ;;
esac

rustup_target_ensure "$TARGET"

STD_ARGS=()
case "$STD" in
    size)
        rustup_component_ensure rust-src
        export RUSTC_BOOTSTRAP=1
        STD_ARGS=(-Zbuild-std=std,panic_abort -Zbuild-std-features=)
        # panic = "abort" never unwinds, so unwind tables (.eh_frame: ~340 KiB of a 2.6 MiB
        # x86_64 binary) would serve only debuggers and backtraces, which this std (built
        # without its symbolizer) does not print. Panic messages still print.
        RUSTFLAGS_VAR="CARGO_TARGET_$(printf '%s' "$TARGET" | tr 'a-z-' 'A-Z_')_RUSTFLAGS"
        export "$RUSTFLAGS_VAR"="${!RUSTFLAGS_VAR:-} -C force-unwind-tables=no"
        if [ "$TARGET" = aarch64-unknown-linux-musl ]; then
            # compiler_builtins built from source lacks the 128-bit float helpers
            # (__extenddftf2, __multf3, ...) that musl's printf needs on aarch64, where
            # long double is 128 bits; the cross gcc's libgcc.a has them.
            export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS:-} -C link-arg=-lgcc"
        fi
        ;;
    stock) ;;
    *)
        echo "--std must be size or stock, not $STD" >&2
        usage
        ;;
esac

cd "$KOI_ROOT"
log "cargo build -p koi --bin koi --profile $PROFILE --target $TARGET (std: $STD) ${CARGO_ARGS[*]:-}"
cargo build -p koi --bin koi --profile "$PROFILE" --target "$TARGET" ${STD_ARGS[@]+"${STD_ARGS[@]}"} \
    ${CARGO_ARGS[@]+"${CARGO_ARGS[@]}"} >&2 ||
    die "cargo build failed for $TARGET (profile $PROFILE, std $STD)"

BIN="$KOI_TARGET_DIR/$TARGET/$(profile_dir "$PROFILE")/koi"
[ -x "$BIN" ] || die "build succeeded but $BIN is missing"
file -L "$BIN" >&2
is_static "$BIN" || die "$BIN is not statically linked"
ls -l "$BIN" >&2
echo "$BIN"
