# Shared helpers for cross/*.sh and tests/bench/*.sh. Source it; do not run it.
# Everything it prints goes to stderr, so callers keep stdout for results.

# Workspace root (the directory holding this file's parent).
KOI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Honour an existing CARGO_TARGET_DIR; default to the workspace's target/.
KOI_TARGET_DIR="${CARGO_TARGET_DIR:-$KOI_ROOT/target}"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Profile name -> the directory cargo puts its output in.
profile_dir() {
    case "$1" in
        dev | test) echo debug ;;
        bench) echo release ;;
        *) echo "$1" ;;
    esac
}

# pkg_installed PKG: true if dpkg has PKG fully installed.
pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

# apt_ensure PKG...: installs the packages that are not installed yet. Waits (up to
# ~10 min) while another apt/dpkg holds the lock; runs `apt-get update` once if a
# package is unknown; fails naming the packages that could not be fetched.
apt_ensure() {
    local missing=() p
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "need Debian packages ${missing[*]} but apt-get is not available"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    log "apt-get install ${missing[*]}"
    local out try updated=0
    for try in $(seq 1 60); do
        if out=$($sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=10 \
            install -y --no-install-recommends "${missing[@]}" 2>&1); then
            return 0
        fi
        if grep -qiE 'could not get lock|unable to acquire the dpkg frontend lock|is another process using it|dpkg was interrupted' <<<"$out"; then
            grep -qi 'dpkg was interrupted' <<<"$out" && die "dpkg is in a broken state (run 'dpkg --configure -a'); could not install ${missing[*]}"
            log "dpkg lock held by another process; retrying in 10 s ($try/60)"
            sleep 10
            continue
        fi
        if [ $updated -eq 0 ] && grep -qiE 'unable to locate package|has no installation candidate|404 +not found|failed to fetch' <<<"$out"; then
            log "package lists look stale; running apt-get update"
            updated=1
            $sudo apt-get -o DPkg::Lock::Timeout=600 update >&2 || true
            continue
        fi
        printf '%s\n' "$out" | tail -n 15 >&2
        die "could not download/install Debian package(s): ${missing[*]} (apt-get failed; see above)"
    done
    die "gave up waiting for the dpkg lock; could not install ${missing[*]}"
}

# rustup_component_ensure NAME: `rustup component add`, failing with a clear message.
rustup_component_ensure() {
    command -v rustup >/dev/null || die "rustup not found: cannot add the Rust component $1"
    rustup component list --installed 2>/dev/null | grep -q "^$1" && return 0
    local out
    if ! out=$(rustup component add "$1" 2>&1); then
        printf '%s\n' "$out" >&2
        die "could not download the Rust component $1 (rustup component add $1 failed)"
    fi
}

# rustup_target_ensure TRIPLE: `rustup target add`, failing with a clear message.
rustup_target_ensure() {
    command -v rustup >/dev/null || die "rustup not found: cannot add the Rust target $1"
    local out
    if ! out=$(rustup target add "$1" 2>&1); then
        printf '%s\n' "$out" >&2
        die "could not download the Rust standard library for target $1 (rustup target add $1 failed)"
    fi
}

# is_static BIN: true if `file` reports a statically linked (or static-pie) executable.
is_static() {
    apt_ensure file
    file -L "$1" | grep -qE 'statically linked|static-pie linked'
}
