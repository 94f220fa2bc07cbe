#!/usr/bin/env bash
# Capture real avahi-daemon mDNS packets on a private two-host netns test bed (self-cleaning).
#   h1: mdns_sniff.py records every datagram on 224.0.0.251:5353
#   h2: avahi-daemon starts (host-name probe + announce), avahi-publish registers a UTF-8
#       instance (probe, announce), avahi-browse queries, then the publisher exits (goodbye)
# Needs root, iproute2, avahi-daemon, avahi-utils, dbus, pip zeroconf, and shared/recipes/mdns.
# usage: avahi_capture.sh OUTDIR      (then pick packets from OUTDIR/*.bin by the summary)
set -euo pipefail
H=$(cd "$(dirname "$0")" && pwd)
R=${KOI_MDNS_RECIPES:-$(cd "$H/../../../../shared/recipes/mdns" && pwd)}
OUT=$(mkdir -p "${1:?OUTDIR}" && cd "$1" && pwd)
export KOI_NETNS_PREFIX=koicap$$
export KOI_AVAHI_RUN=$(mktemp -d /tmp/koi-avahi-cap.XXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$R/avahi-ns.sh" stop h2 || true
  sleep 0.3; "$R/testbed.sh" down >/dev/null || true
  rm -rf "$KOI_AVAHI_RUN"
}
trap cleanup EXIT
"$R/testbed.sh" up 2
ip netns exec "$KOI_NETNS_PREFIX-h1" python3 "$H/mdns_sniff.py" "$OUT" 14 10.231.0.1 \
  > "$OUT/summary.txt" 2>&1 & sniff=$!
sleep 0.5
"$R/avahi-ns.sh" start h2
"$R/avahi-ns.sh" run h2 avahi-publish -s "Büro Drucker ☕ (2)" _ipp._tcp 631 \
  "rp=printers/x" "note=Kaffee ☕" > "$KOI_AVAHI_RUN/pub.out" 2>&1 & pub=$!; pids+=($pub)
sleep 4
"$R/avahi-ns.sh" run h2 timeout 3 avahi-browse -t -r _http._tcp >/dev/null 2>&1 || true
"$R/avahi-ns.sh" run h2 timeout 3 avahi-resolve -4 -n nobody-here.local >/dev/null 2>&1 || true
kill "$pub"; wait "$pub" 2>/dev/null || true
wait "$sniff" || true
cat "$OUT/summary.txt"
