#!/bin/sh
# Files (C13, issue 14 point 5; wire/PROTOCOL.md section 28) beside chat: what a 1 GiB
# online relay and a 100 MiB offline upload + fetch cost the daemon (RSS) and the other
# clients (chat latency).
#
# Starts a kefud of its own (fresh data directory, 2 shards, 127.0.0.1 port from :0,
# [files] max_file_bytes = 2 GiB) and:
#   1. steady-chat at RATE (default 2000 msg/s) for SECS (default 15) s: the baseline;
#   2. `kefu-load files --online 1 --online-mib ONLINE_MIB` (default 1024: agent to agent,
#      relayed in 64 KiB chunks under a 1 MiB window, SHA-256 checked at the receiver)
#      with LOOKUPS quick-reply lookups a second (default 50), beside steady-chat at RATE;
#   3. `kefu-load files --offline 1 --offline-mib OFFLINE_MIB` (default 100: uploaded,
#      hash-checked and synced, fetched once, checked) beside steady-chat at RATE.
# Every second it samples the daemon's RSS and the file metrics: $OUT/samples.txt. The
# chat runs last SECS + the transfer's expected time; a transfer that ends sooner leaves
# some chat after it (the samples show when). The data directory is removed at the end.
#
# Usage: loadtest/scripts/files.sh [OUT_DIR]   (from the repository root; binaries from
# $CARGO_TARGET_DIR or $HOME/.cache/kefu-target, release)
# Last result (2026-12-06 22:23-22:25 UTC, 2 cores shared with three other sessions'
# builds, so rates and latencies are inflated; defaults: RATE=2000, 1 GiB, 100 MiB):
#   baseline chat 2000/s:            0 lost, due->agent p99 8.8 ms; rss 19.5 -> 32.6 MiB
#     (the chat's own messages: memtable and caches grow ~0.9 MiB/s with or without files)
#   1 GiB online relay beside it:    72 MiB/s, hash checked at the receiver; rss 33.0 ->
#     49.1 MiB over the 17 s (the chat's slope); chat p99 24 ms (the relay's CPU: the
#     sender, the receiver hashing and kefud's relay share 2 cores with the chat tool);
#     quick-reply lookups p50 1.6 ms, p99 25 ms
#   100 MiB offline beside it:       uploaded 80 MiB/s (hash-checked, synced), fetched
#     131 MiB/s; rss 51.8..54.3 MiB; chat p99 9.2 ms (the upload is 3 s of the 20 s window)
# Again on a quiet box (2026-12-06 23:49 UTC, load average 1.6; benches/results/files-2026-12-06.txt):
#   baseline chat p99 4.55 ms; 1 GiB relay at 124 MiB/s beside it: chat p99 5.30 ms, rss
#   35.8..44.2 MiB (the chat's own growth), lookups p99 5.0 ms; 100 MiB offline (upload 95,
#   fetch 109 MiB/s): chat p99 1.41 ms, rss 54.3..57.0 MiB.
# Without chat (kefu-load files alone against a fresh kefud): 1 GiB relay rss 18.6..20.2
# MiB; 100 MiB offline 19.2..19.5 MiB; 4 x 256 MiB online + 2 x 100 MiB offline at once
# 18.5..22.1 MiB, back to 19.4 MiB after.
set -eu
OUT=${1:-/tmp/kefu-files}
RATE=${RATE:-2000}
SECS=${SECS:-15}
ONLINE_MIB=${ONLINE_MIB:-1024}
OFFLINE_MIB=${OFFLINE_MIB:-100}
LOOKUPS=${LOOKUPS:-50}
CHAT_WITH=${CHAT_WITH:-20}
BIN=${CARGO_TARGET_DIR:-$HOME/.cache/kefu-target}/release
DATA=$(mktemp -d /tmp/kefu-files-data.XXXXXX)
mkdir -p "$OUT"
ulimit -n 65536 2>/dev/null || ulimit -n 20000
printf '[files]\nmax_file_bytes = %s\n' $((2 << 30)) >"$DATA/kefud.toml"

. "$(dirname "$0")/kefud-start.sh"
SAMPLER=""
trap 'kill $SAMPLER 2>/dev/null; kill $KEFUD 2>/dev/null; wait $KEFUD 2>/dev/null; rm -rf "$DATA"' EXIT
start_kefud "$OUT/kefud.log" --config "$DATA/kefud.toml"
echo "kefud pid $KEFUD on $SERVER, data $DATA"

sample() {
    echo "time rss_kib relayed_bytes stored_bytes refused_chunks pending_bytes"
    while kill -0 "$KEFUD" 2>/dev/null; do
        "$BIN/kefuctl" --admin-socket "$DATA/admin.sock" stats --prometheus 2>/dev/null | awk \
            -v t="$(date +%T)" -v rss="$(awk '/VmRSS/{print $2}' /proc/$KEFUD/status 2>/dev/null)" '
            /^kefu_file_relayed_bytes_total\{/ {r += $2}
            /^kefu_file_stored_bytes_total\{/ {w += $2}
            /^kefu_file_refused_chunks_total\{/ {x += $2}
            /^kefu_pending_output_bytes\{/ {p += $2}
            END {print t, rss, r + 0, w + 0, x + 0, p + 0}'
        sleep 1
    done
}
sample >"$OUT/samples.txt" &
SAMPLER=$!

chat baseline "$SECS"
chat with-online "$CHAT_WITH" &
CHAT=$!
sleep 2
"$BIN/kefu-load" files --server "$SERVER" --admin-socket "$DATA/admin.sock" --account 990001 \
    --online 1 --online-mib "$ONLINE_MIB" --lookups-per-sec "$LOOKUPS" --daemon-pid "$KEFUD" \
    >"$OUT/online.txt" 2>"$OUT/online.err" || true
echo "== online $ONLINE_MIB MiB $(date +%T)"; cat "$OUT/online.txt" "$OUT/online.err"
wait $CHAT || true
chat with-offline "$CHAT_WITH" &
CHAT=$!
sleep 2
"$BIN/kefu-load" files --server "$SERVER" --admin-socket "$DATA/admin.sock" --account 990002 \
    --online 0 --offline 1 --offline-mib "$OFFLINE_MIB" --lookups-per-sec "$LOOKUPS" \
    --daemon-pid "$KEFUD" >"$OUT/offline.txt" 2>"$OUT/offline.err" || true
echo "== offline $OFFLINE_MIB MiB $(date +%T)"; cat "$OUT/offline.txt" "$OUT/offline.err"
wait $CHAT || true
sleep 2
echo "== samples (every second)"; cat "$OUT/samples.txt"
