#!/bin/sh
# The message-path benchmark (issue 13, point 1), the same way every time.
#
# One `kefu-load sweep` over steady-chat's pattern (100 customer -> agent pairs,
# 200-byte messages, open loop, latency from the due time) at each of RATES, through
# kefud with durability wal and fsync (each on a fresh data directory, SHARDS shards,
# started by the tool on 127.0.0.1:0), the built-in relay and nats-server, at each rate
# every target in turn (all started at the beginning and kept running). Per rate:
# achieved rate, due -> receiver p50/p99/p99.9/max, lost/duplicated, the server's CPU
# microseconds per delivered message (/proc/PID/stat over the measured window) and the
# generator's own CPU (flagged when near saturation); per target the capacities at
# p99 < 1 ms and < 10 ms. Each target stops at the first rate over p99 10 ms.
# REPEAT=N runs every rate N times, in rounds interleaved over the targets (all started
# once and kept running): the report gives the rounds' medians, the range of p99, and
# per row the box's load average, steal time and other work during the step. THREADS=N
# sets the generator's driver threads for every target (default: the scenario's, 2).
# PIN=1 runs the generator on some CPUs and every server on the others (`--pin`: on 2
# cores the generator on CPU 0, kefud, the relay and nats-server on CPU 1), so that the
# generator thread a server's send() wakes does not take the server's core.
# Reports: $OUT/report.txt and report.json; `uptime` before and after is in report.txt.
#
# Usage: loadtest/scripts/sweep.sh [OUT_DIR] [KEFUD] [KEFUD_BEFORE]   (run from the
# repository root; binaries from $CARGO_TARGET_DIR or $HOME/.cache/kefu-target, release).
# KEFUD defaults to the kefud beside kefu-load; KEFUD_BEFORE, if given, is swept first in
# the same run (before/after side by side, each target named by its binary's path).
set -eu
OUT=${1:-/tmp/kefu-sweep}
BIN=${CARGO_TARGET_DIR:-$HOME/.cache/kefu-target}/release
KEFUD=${2:-$BIN/kefud}
BEFORE=${3:-}
RATES=${RATES:-5000,10000,20000,50000,100000,200000,300000,400000}
SHARDS=${SHARDS:-1}
SECS=${SECS:-3}
STOP_P99_MS=${STOP_P99_MS:-10}
REPEAT=${REPEAT:-1}
THREADS=${THREADS:-}
PIN=${PIN:-0}
case "$PIN" in
    0 | '') PIN_FLAG= ;;
    1) PIN_FLAG=--pin ;;
    *) echo "sweep.sh: PIN is 0 or 1, not $PIN" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
exec "$BIN/kefu-load" sweep loadtest/scenarios/steady-chat.toml \
    ${BEFORE:+--kefud "$BEFORE"} --kefud "$KEFUD" \
    --rates "$RATES" --shards "$SHARDS" --step-secs "$SECS" --repeat "$REPEAT" ${THREADS:+--threads "$THREADS"} \
    --stop-p99-ms "$STOP_P99_MS" ${PIN_FLAG:+"$PIN_FLAG"} \
    --out-dir "$OUT"
