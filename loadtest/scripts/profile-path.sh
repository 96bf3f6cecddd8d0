#!/bin/bash
# Per-message counts and a profile of the message path (issue 13, points 1-2), the same
# way every time: one `kefu-load sweep` step of steady-chat at RATE msg/s through KEFUD
# (durability MODE, 1 shard, a fresh data directory, 127.0.0.1:0), and, once the rate
# runs, on kefud's process:
#   - `perf stat` for 4 s: task-clock, context switches, every syscall entered
#     (raw_syscalls:sys_enter) and, if the uprobe exists, every libc malloc
#     (probe_libc:malloc; create it once with
#     `perf probe -x /lib/x86_64-linux-gnu/libc.so.6 malloc`); divided by RATE x 4 they
#     are CPU µs, switches, syscalls and mallocs per message;
#   - `perf record -F 999 -e cpu-clock` for 4 s (self time by symbol: `perf report -i
#     OUT/perf.data --no-children --sort dso,sym -g none`; no hardware counters needed).
# Counting is exact but the uprobe costs time: read CPU figures from the sweep's own
# report (OUT/report.txt), not from the perf stat window. Note `uptime` beside every
# figure (OUT/info): on a shared box the shares are what to read.
#
# Usage: loadtest/scripts/profile-path.sh KEFUD RATE [MODE] [OUT]  (from the repository
# root; kefu-load from $CARGO_TARGET_DIR or $HOME/.cache/kefu-target, release).
set -eu
KEFUD=$1
RATE=$2
MODE=${3:-wal}
OUT=${4:-/tmp/kefu-profile}
BIN=${CARGO_TARGET_DIR:-$HOME/.cache/kefu-target}/release
mkdir -p "$OUT"
"$BIN/kefu-load" sweep loadtest/scenarios/steady-chat.toml --kefud "$KEFUD" --rates "$RATE" \
    --durability "$MODE" --no-baselines --shards 1 --step-secs 16 --out-dir "$OUT" \
    >"$OUT/sweep.log" 2>&1 &
LOAD=$!
PID=""
for _ in $(seq 1 300); do
    PID=$(pgrep -P "$LOAD" kefud | head -1 || true)
    [ -n "$PID" ] && break
    sleep 0.2
done
[ -n "$PID" ] || { echo "kefud did not start; see $OUT/sweep.log" >&2; exit 1; }
# Provisioning, ramp-up and warm-up first.
sleep 7
uptime >"$OUT/info"
EVENTS=task-clock,context-switches,raw_syscalls:sys_enter
if perf list 2>/dev/null | grep -q probe_libc:malloc; then
    EVENTS=$EVENTS,probe_libc:malloc
fi
perf stat -e "$EVENTS" -p "$PID" -- sleep 4 2>"$OUT/stat.txt"
perf record -F 999 -e cpu-clock -o "$OUT/perf.data" -p "$PID" -- sleep 4 2>"$OUT/record.log"
uptime >>"$OUT/info"
wait "$LOAD"
awk -v rate="$RATE" '
    /task-clock/ { gsub(",", "", $1); printf "cpu ms/4 s %s (%.1f µs a message)\n", $1, $1 * 1000 / (rate * 4) }
    /context-switches|sys_enter|malloc/ { gsub(",", "", $1); printf "%s %s (%.2f a message)\n", $2, $1, $1 / (rate * 4) }
' "$OUT/stat.txt" | tee "$OUT/per-message.txt"
