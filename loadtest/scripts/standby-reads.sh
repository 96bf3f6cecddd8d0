#!/bin/sh
# What a standby's reads cost it (daemon/CLUSTER.md §2, "the standby's reads"): its CPU
# while a `replicated` primary takes steady-chat at RATE msg/s for SECS s, with its
# read-only shards and the freshness thread that follows its log every 50 ms
# (STANDBY_LISTEN=1: the standby has a `listen`) or without them (STANDBY_LISTEN=0).
# No read-only session reads meanwhile: this is the cost of following the log.
#
# Usage: STANDBY_LISTEN=1 loadtest/scripts/standby-reads.sh [OUT_DIR]   (from the
# repository root; binaries from $CARGO_TARGET_DIR or $HOME/.cache/kefu-target, release)
#
# Last result (2026-12-07 15:38 UTC, 2 cores shared with four other sessions, load
# average 9-10; RATE=20000 SECS=5; CPU over the load tool's whole run, provisioning
# included): the standby without read-only shards 0.037 / 0.039 cores, with them
# 0.099 / 0.116 cores — the freshness thread costs about 0.06-0.08 cores at 20,000 msg/s.
set -eu
OUT=${1:-/tmp/kefu-standby-reads}-$STANDBY_LISTEN
mkdir -p "$OUT"
RATE=${RATE:-20000}
SECS=${SECS:-5}
BIN=${CARGO_TARGET_DIR:-$HOME/.cache/kefu-target}/release
WORK=$(mktemp -d /tmp/kefu-standby-reads.XXXXXX)
ulimit -n 65536 2>/dev/null || ulimit -n 20000
. "$(dirname "$0")/kefud-start.sh"
STANDBY=""; KEFUD=""
trap 'kill $KEFUD $STANDBY 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
PKI=$WORK/pki; mkdir -p "$PKI"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=pair-ca -keyout "$PKI/ca.key" -out "$PKI/ca.pem" 2>/dev/null
for node in primary standby; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$node" \
        -keyout "$PKI/$node.key" -out "$PKI/$node.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$PKI/ext"
    openssl x509 -req -in "$PKI/$node.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
        -CAcreateserial -days 2 -extfile "$PKI/ext" -out "$PKI/$node.pem" 2>/dev/null
done
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cluster() {
    [ "$1" = standby ] && [ "$STANDBY_LISTEN" = 1 ] && printf 'listen = "127.0.0.1:0"\nshards = 2\n'
    printf '[cluster]\nrole = "%s"\n%s\ncertificate = "%s"\nkey = "%s"\nca = "%s"\n' \
        "$2" "$3" "$PKI/$1.pem" "$PKI/$1.key" "$PKI/ca.pem"
}
cluster primary primary "replication_listen = \"127.0.0.1:$PORT\"" >"$WORK/primary.toml"
cluster standby standby "peer = \"127.0.0.1:$PORT\"" >"$WORK/standby.toml"
mkdir -p "$WORK/standby"
"$BIN/kefud" --config "$WORK/standby.toml" --data-dir "$WORK/standby/data" 2>"$OUT/standby.log" &
STANDBY=$!
DATA=$WORK/replicated; mkdir -p "$DATA"
start_kefud "$OUT/primary.log" --config "$WORK/primary.toml" --durability replicated
until grep -q "kefud: ready" "$OUT/primary.log"; do sleep 0.1; done
SERVER=$(sed -n 's/.*kefud: ready tcp=\([^ ]*\).*/\1/p' "$OUT/primary.log")
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
S0=$(ticks $STANDBY); P0=$(ticks $KEFUD); T0=$(date +%s.%N)
"$BIN/kefu-load" run loadtest/scenarios/steady-chat.toml --server "$SERVER" \
    --admin-socket "$DATA/admin.sock" --daemon-pid "$KEFUD" --rate "$RATE" \
    --duration "$SECS" >"$OUT/chat.txt" 2>"$OUT/chat.err" || true
S1=$(ticks $STANDBY); P1=$(ticks $KEFUD); T1=$(date +%s.%N)
HZ=$(getconf CLK_TCK)
echo "standby_listen=$STANDBY_LISTEN rate=$RATE secs=$SECS load=$(cut -d' ' -f1-3 /proc/loadavg)"
echo "standby cores: $(echo "($S1-$S0)/$HZ/($T1-$T0)" | bc -l | cut -c1-5)  primary cores: $(echo "($P1-$P0)/$HZ/($T1-$T0)" | bc -l | cut -c1-5)"
grep -iE "acked|sent|lost" "$OUT/chat.txt" | head -4
grep -c "read-only sessions on" "$OUT/standby.log" || true
