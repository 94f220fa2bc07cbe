#!/usr/bin/env bash
# Certmesh figures of koi, each checked against the project's goals, on loopback only:
#
#   tests/bench/certmesh.sh [--runs N] [--certs N] [--out FILE] [--strict]
#
#   --runs     join runs (default 10)
#   --certs    certificates issued for the issuance figure (default 2000)
#   --out FILE also write the report to FILE, headed by the exact command and the date
#   --strict   exit 1 if any goal FAILs (default: exit 0 once the report is printed)
#   KOI_BIN=/path/to/koi   measure that binary instead of building with cargo build --release
#
# 1. Join end to end (code entered -> cert files written) against a personal-profile CA agent
#    on 127.0.0.1, no approval: `koi certmesh join` wall time, median and max. Before each run
#    the TOTP secret is rotated so every run has a fresh one-time code (computed by Python's
#    standard library, outside the timed part). Goal: <= 300 ms.
#    Side by side: the same CSR signed by `openssl x509 -req` (one process, no network).
# 2. Issuance: N leaves from N member CSRs in one process (examples/certmesh_issue.rs: CSR
#    signature check, scope checks, signing). Goal: >= 200 certs/s. Side by side: openssl
#    signing N CSRs, one `openssl x509 -req` per cert (what a shell script would do).
# 3. Unlock with the default Argon2id settings through the running agent: the time of
#    `koi certmesh unlock`, the agent's peak RSS (VmHWM) and its VmRSS before and after.
#    Goals: peak <= 80 MiB; RSS after within 1 MiB of before.
# The report goes to stdout, progress to stderr. Everything this script starts is stopped and
# its temp dir removed on exit.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/bench/lib.sh
. "$HERE/lib.sh"

CMDLINE="${KOI_BIN:+KOI_BIN=$KOI_BIN }tests/bench/certmesh.sh${*:+ $*}"
RUNS=10
CERTS=2000
OUT=""
STRICT=0
usage() {
    sed -n '4,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) [ $# -ge 2 ] || usage; RUNS="$2"; shift 2 ;;
        --certs) [ $# -ge 2 ] || usage; CERTS="$2"; shift 2 ;;
        --out) [ $# -ge 2 ] || usage; OUT="$2"; shift 2 ;;
        --strict) STRICT=1; shift ;;
        -h | --help) usage ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
[[ "$CERTS" =~ ^[1-9][0-9]*$ ]] || die "--certs must be a positive integer"
for tool in openssl python3 curl; do
    command -v "$tool" >/dev/null || die "$tool not found (tests/install-deps.sh installs it)"
done

bench_start
FAILS=0
goal() { # goal NAME OK(0/1) TEXT
    if [ "$2" = 1 ]; then say "  $1: $3  [goal met]"; else say "  $1: $3  [goal FAILED]"; FAILS=$((FAILS + 1)); fi
}

bench_koi
log "building the issuance example (cargo build --release --example certmesh_issue)"
(cd "$KOI_ROOT" && cargo build -p koi --release --example certmesh_issue >&2) || die "cargo build failed"
ISSUE="$KOI_TARGET_DIR/release/examples/certmesh_issue"

# Wall-clock timing with bash's own clock (no process start inside the timed part).
now_f() { echo "$EPOCHREALTIME"; }
ms_since() { local t="$EPOCHREALTIME"; awk -v a="$1" -v b="$t" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'; }
totp() {
    python3 - "$1" <<'EOF'
import base64, hmac, hashlib, struct, sys, time
s = sys.argv[1]; key = base64.b32decode(s + "=" * (-len(s) % 8))
mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
o = mac[-1] & 0xF
print("%06d" % ((struct.unpack(">I", mac[o:o+4])[0] & 0x7FFFFFFF) % 1000000))
EOF
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

# ---- the CA ----
CA="$WORK/ca"
printf 'bench passphrase\n' >"$WORK/pass"
log "creating a personal-profile CA (default Argon2id settings)"
J=$("$KOI" certmesh create --profile personal --passphrase-file "$WORK/pass" --entropy os \
    --hostname benchca --no-trust-store --json --state-dir "$CA")
FP=$(field "$J" ca_fingerprint)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$KOI" agent --control 127.0.0.1:0 --no-mdns --certmesh-listen "127.0.0.1:$PORT" --state-dir "$CA" \
    2>"$WORK/agent.log" &
AGENT=$!
BENCH_PIDS+=("$AGENT")
for _ in $(seq 1 100); do
    curl -sk --max-time 1 "https://127.0.0.1:$PORT/v1/certmesh/health" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -sk --max-time 1 "https://127.0.0.1:$PORT/v1/certmesh/health" >/dev/null || die "the CA agent did not start"

say "certmesh bench ($(uname -m), $(nproc) CPUs shared with other work, load $(cut -d' ' -f1 /proc/loadavg))"
say ""
say "1. join end to end on loopback (code entered -> files written), $RUNS runs"
: >"$WORK/join.ms"
for i in $(seq 1 "$RUNS"); do
    U=$("$KOI" certmesh rotate-secret --json --state-dir "$CA")
    SECRET=$(field "$U" totp_uri | sed 's/.*secret=\([A-Z0-9]*\).*/\1/')
    CODE=$(totp "$SECRET")
    T0=$(now_f)
    "$KOI" certmesh join --ca "127.0.0.1:$PORT" --code "$CODE" --ca-fingerprint "$FP" \
        --hostname "m$i" --no-trust-store --json --state-dir "$WORK/m$i" >/dev/null
    ms_since "$T0" >>"$WORK/join.ms"
    [ -s "$WORK/m$i/certs/m$i/cert.pem" ] || die "run $i wrote no cert"
done
JMED=$(median <"$WORK/join.ms")
JMAX=$(sort -g "$WORK/join.ms" | tail -1)
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/ossl-ca.key" 2>/dev/null
openssl req -x509 -new -key "$WORK/ossl-ca.key" -subj "/CN=bench" -days 3650 -out "$WORK/ossl-ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/m.key" \
    -subj "/CN=m" -out "$WORK/m.csr" 2>/dev/null
: >"$WORK/ossl.ms"
for i in $(seq 1 "$RUNS"); do
    T0=$(now_f)
    openssl x509 -req -in "$WORK/m.csr" -CA "$WORK/ossl-ca.pem" -CAkey "$WORK/ossl-ca.key" \
        -days 30 -out "$WORK/m.pem" 2>/dev/null
    ms_since "$T0" >>"$WORK/ossl.ms"
done
OMED=$(median <"$WORK/ossl.ms")
goal "koi join" "$(le "$JMED" 300 && echo 1 || echo 0)" "median ${JMED} ms, max ${JMAX} ms (goal <= 300 ms)"
say "  openssl x509 -req (local signing only, no TLS, no TOTP): median ${OMED} ms; ratio koi/openssl $(awk -v a="$JMED" -v b="$OMED" 'BEGIN{printf "%.1f", a/b}')"
say ""

say "2. issuance, $CERTS certs"
ILINE=$("$ISSUE" "$CERTS")
RATE=$(echo "$ILINE" | sed 's/.*: \([0-9.]*\) certs\/s/\1/')
goal "koi" "$(le 200 "$RATE" && echo 1 || echo 0)" "$ILINE (goal >= 200 certs/s)"
N2=$(( CERTS < 200 ? CERTS : 200 ))
T0=$(now_f)
for i in $(seq 1 "$N2"); do
    openssl x509 -req -in "$WORK/m.csr" -CA "$WORK/ossl-ca.pem" -CAkey "$WORK/ossl-ca.key" \
        -days 30 -out /dev/null 2>/dev/null
done
OMS=$(ms_since "$T0")
ORATE=$(awk -v n="$N2" -v ms="$OMS" 'BEGIN{printf "%.0f", n / (ms / 1000)}')
say "  openssl x509 -req, one process per cert: $N2 in ${OMS} ms: $ORATE certs/s; ratio koi/openssl $(awk -v a="$RATE" -v b="$ORATE" 'BEGIN{printf "%.1f", a/b}')"
say ""

KDF=$(python3 -c "import json,sys; k=[s for s in json.load(open(sys.argv[1]))['slots'] if s['type']=='passphrase'][0]['kdf']; print('Argon2id m=%d KiB, t=%d, p=%d' % (k['m_cost_kib'], k['t_cost'], k['p_cost']))" "$CA/certmesh/ca/unlock-slots.json")
say "3. unlock with the default settings ($KDF)"
log "restarting the agent without its auto-unlock key"
stop_pid "$AGENT" || true
mv "$CA/certmesh/ca/ca-master.key" "$WORK/ca-master.key.aside"
"$KOI" agent --control 127.0.0.1:0 --no-mdns --certmesh-listen "127.0.0.1:$PORT" --state-dir "$CA" \
    2>"$WORK/agent2.log" &
AGENT=$!
BENCH_PIDS+=("$AGENT")
for _ in $(seq 1 100); do
    "$KOI" certmesh status --json --state-dir "$CA" 2>/dev/null | grep -q '"locked":true' && break
    sleep 0.1
done
sleep 0.5
BEFORE=$(vmrss_kib "$AGENT")
HWM0=$(awk '/^VmHWM:/ { print $2 }' "/proc/$AGENT/status")
T0=$(now_f)
"$KOI" certmesh unlock --passphrase-file "$WORK/pass" --state-dir "$CA" >/dev/null
UMS=$(ms_since "$T0")
sleep 0.5
AFTER=$(vmrss_kib "$AGENT")
HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$AGENT/status")
mv "$WORK/ca-master.key.aside" "$CA/certmesh/ca/ca-master.key"
say "  unlock time: ${UMS} ms"
goal "agent peak RSS (VmHWM)" "$(le "$HWM" $((80 * 1024)) && echo 1 || echo 0)" "$(kib $((HWM * 1024))) KiB (before unlock: $HWM0 KiB; goal <= 81920 KiB)"
DIFF=$((AFTER - BEFORE))
goal "agent RSS after vs before" "$(le "${DIFF#-}" 1024 && echo 1 || echo 0)" "before $BEFORE KiB, after $AFTER KiB, difference $DIFF KiB (goal within 1024 KiB)"

bench_finish "$OUT" "$CMDLINE" "$REPORT" "$STRICT" "$FAILS"
