#!/usr/bin/env bash
# koi's whole test suite: installs what the tests need, checks the dependency rules, then runs
# every Rust test in the workspace (unit, integration, codec regression and property tests).
#   ./tests/run.sh            (as root on a fresh Debian machine; network-namespace tests need root)
set -euo pipefail
cd "$(dirname "$0")/.."
./tests/install-deps.sh
./tests/deps.sh
cargo test --workspace --all-features --no-fail-fast
