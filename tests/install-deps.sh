#!/usr/bin/env bash
# Installs what koi's tests need on a fresh Debian machine (run as root, or it uses sudo).
# Idempotent: skips what is already there. Peers for later capabilities are added here as
# their tests arrive.
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

apt_packages=(curl ca-certificates iproute2 python3)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  for attempt in $(seq 1 30); do
    if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/koi-apt.log 2>&1; then
      break
    fi
    if grep -q "Could not get lock" /tmp/koi-apt.log; then sleep 5; continue; fi
    if [ "$attempt" = 1 ]; then $SUDO apt-get update -qq >/dev/null 2>&1 || true; continue; fi
    cat /tmp/koi-apt.log >&2
    echo "could not install ${missing[*]} from Debian's archive" >&2
    exit 1
  done
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
