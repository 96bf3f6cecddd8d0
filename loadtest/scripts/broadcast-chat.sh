#!/bin/sh
# Chat latency while a 100,000-contact broadcast fans out (issue 15 point 1; wire/PROTOCOL.md
# section 30.4: at most 1,000 recipients a shard a turn).
#
# Starts a kefud of its own (fresh data directory, 2 shards, 127.0.0.1 port from :0) and:
#   1. steady-chat at RATE (default 2000 msg/s) for SECS (default 15) s: the baseline;
#   2. steady-chat at RATE for CHAT_WITH (default 40) s, and 2 s into it
#      `kefu-load stall --readers READERS --contacts CONTACTS --broadcast-chars CHARS`:
#      a fresh account with CONTACTS contacts (default 100,000; READERS of them, default
#      10, log in and never read), one broadcast of CHARS characters (default 100) to all
#      of them submitted, approved at once on the admin socket, and watched until Done:
#      the fan-out time (approval to Done) is in $OUT/broadcast.txt.
# Every second it samples the daemon's RSS: $OUT/samples.txt. Reports in $OUT/<step>.txt.
# The data directory is removed at the end.
#
# Usage: loadtest/scripts/broadcast-chat.sh [OUT_DIR]   (from the repository root;
# binaries from $CARGO_TARGET_DIR or $HOME/.cache/kefu-target, release)
# Last result (2026-12-07 08:00 UTC, SECS=10 CHAT_WITH=40, 2 cores while four other sessions
# started builds, load average 3.6-5.0; benches/results/broadcast-chat-2026-12-07b.txt):
#   baseline chat 2000/s:       0 lost, due->agent p99 5.98 ms, p99.9 8.41 ms
#   beside the 100,000-contact import and fan-out (one approved broadcast of 100,000):
#     0 lost, due->agent p99 56.73 ms, p99.9 100.99 ms, max 124.67 ms
#   fan-out (approval to Done): 2.22 s for 100,000 recipients
set -eu
OUT=${1:-/tmp/kefu-broadcast-chat}
RATE=${RATE:-2000}
SECS=${SECS:-15}
CHAT_WITH=${CHAT_WITH:-40}
CONTACTS=${CONTACTS:-100000}
READERS=${READERS:-10}
CHARS=${CHARS:-100}
BIN=${CARGO_TARGET_DIR:-$HOME/.cache/kefu-target}/release
DATA=$(mktemp -d /tmp/kefu-broadcast-chat-data.XXXXXX)
mkdir -p "$OUT"
ulimit -n 65536 2>/dev/null || ulimit -n 20000

. "$(dirname "$0")/kefud-start.sh"
SAMPLER=""
trap 'kill $SAMPLER 2>/dev/null; kill $KEFUD 2>/dev/null; wait $KEFUD 2>/dev/null; rm -rf "$DATA"' EXIT
start_kefud "$OUT/kefud.log"
echo "kefud pid $KEFUD on $SERVER, data $DATA"

sample() {
    echo "time rss_kib"
    while kill -0 "$KEFUD" 2>/dev/null; do
        echo "$(date +%T) $(awk '/VmRSS/{print $2}' /proc/$KEFUD/status 2>/dev/null)"
        sleep 1
    done
}
sample >"$OUT/samples.txt" &
SAMPLER=$!

chat() { # name seconds
    "$BIN/kefu-load" run loadtest/scenarios/steady-chat.toml --server "$SERVER" \
        --admin-socket "$DATA/admin.sock" --daemon-pid "$KEFUD" --rate "$RATE" \
        --duration "$2" >"$OUT/$1.txt" 2>"$OUT/$1.err" || true
    echo "== $1 (rate $RATE)"; cat "$OUT/$1.txt"; tail -3 "$OUT/$1.err"
}

chat baseline "$SECS"
chat with-broadcast "$CHAT_WITH" &
CHAT=$!
sleep 2
echo "== broadcast to $CONTACTS contacts, approved $(date +%T)"
"$BIN/kefu-load" stall --server "$SERVER" --admin-socket "$DATA/admin.sock" --account 990101 \
    --readers "$READERS" --contacts "$CONTACTS" --broadcast-chars "$CHARS" \
    --broadcasts-per-sec 1 --hold-secs 1.5 >"$OUT/broadcast.txt" 2>"$OUT/broadcast.err" || true
echo "== broadcast done $(date +%T)"; cat "$OUT/broadcast.txt" "$OUT/broadcast.err"
wait $CHAT || true
echo "== samples (every second)"; cat "$OUT/samples.txt"
