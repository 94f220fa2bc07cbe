#!/usr/bin/env bash
# Checks the dependency rules of DESIGN.md against the real dependency tree:
#  - an mdns-only build links no TLS or crypto crate;
#  - no build links tokio, serde, clap, hyper, openssl or aws-lc.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
names() { cargo tree -p koi -e normal --prefix none --format '{p}' "$@" | awk '{print $1}' | sort -u; }

mdns_only=$(names --no-default-features --features mdns)
for crate in rustls ring rcgen aes-gcm argon2 hmac sha1; do
  if grep -qx "$crate" <<<"$mdns_only"; then
    echo "FAIL: mdns-only build depends on $crate"; fail=1
  fi
done

full=$(names --all-features)
for crate in tokio serde clap hyper openssl openssl-sys aws-lc-rs aws-lc-sys; do
  if grep -qx "$crate" <<<"$full"; then
    echo "FAIL: the full build depends on $crate"; fail=1
  fi
done
if [ "$fail" = 0 ]; then
  echo "dependency rules: 2 passed, 0 failed"
else
  echo "dependency rules: failed"
  exit 1
fi
