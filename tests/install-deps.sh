#!/usr/bin/env bash
# Installs what koi's tests need on a fresh Debian machine (run as root, or it uses sudo).
# Idempotent: skips what is already there.
#
# Peers: tmux and openssl (health: watch under tmux, test certificates); avahi-daemon/avahi-utils/dbus (run by the tests inside their own network namespaces,
# never in the root namespace: daemons are kept from starting at install time), python-zeroconf.
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# DNS peers: dig (dnsutils), kdig (knot-dnsutils), dnsperf, dnsmasq-base (the binary without the
# system service) and unbound (its service is kept from starting by policy-rc.d and disabled below);
# setcap (libcap2-bin) and setpriv (util-linux) for port 53 without root.
apt_packages=(curl ca-certificates iproute2 python3 python3-pip avahi-daemon avahi-utils dbus tmux openssl libnss3-tools chromium
  dnsutils knot-dnsutils dnsperf dnsmasq-base unbound libcap2-bin util-linux)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  # Keep package scripts from starting daemons (avahi) on this machine's real network.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  ok=0
  for attempt in $(seq 1 30); do
    if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/koi-apt.log 2>&1; then
      ok=1; break
    fi
    if grep -q "Could not get lock" /tmp/koi-apt.log; then sleep 5; continue; fi
    if [ "$attempt" = 1 ]; then $SUDO apt-get update -qq >/dev/null 2>&1 || true; continue; fi
    break
  done
  [ "$made_policy" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
  # Never leave a resolver listening on this machine's port 53.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now unbound unbound-resolvconf >/dev/null 2>&1 || true
  fi
  if [ "$ok" != 1 ]; then
    cat /tmp/koi-apt.log >&2
    echo "could not install ${missing[*]} from Debian's archive" >&2
    exit 1
  fi
fi

if ! python3 -c 'import zeroconf' 2>/dev/null; then
  echo "installing python zeroconf" >&2
  python3 -m pip install -q zeroconf 2>/dev/null || python3 -m pip install -q --break-system-packages zeroconf || {
    echo "could not install the python package zeroconf from PyPI" >&2; exit 1; }
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
