#!/bin/sh
# The daemon-wide output budget under 10,000 stalled readers (issue 12, point 4;
# wire/PROTOCOL.md section 6.3).
#
# Starts a kefud of its own (fresh data directory, 2 shards, 127.0.0.1 port from :0,
# limits.max_total_pending_output_bytes = BUDGET, default the shipped 512 MiB) and:
#   1. steady-chat at RATE (default 8000 msg/s) for SECS (default 20) s: the baseline;
#   2. STALLED (default 10000) stalled readers (`kefu-load stall --broadcast-chars`:
#      customers of an account of their own, contacts of it, who log in and never
#      read again; its agent broadcasts CHARS-character messages (default 4000) to all
#      of them BCASTS times a second (default 2), so each broadcast is 10,000 pushes of
#      some 4 KiB, stored first), held for HOLD (default 70) s. Since the old immediate
#      `Broadcast` was retired each round is a `SubmitBroadcast` the tool approves at
#      once on the admin socket, fanned out 1,000 recipients a turn; the last result
#      below was measured with the immediate send, before that change;
#   3. once they are in, steady-chat at RATE again beside them for HOLD - 10 s: the
#      other clients' latency while the buffers fill and the daemon sheds.
# Every second it samples the daemon's RSS, the unsent output it holds (the sum of
# kefu_pending_output_bytes), the kernel's TCP memory (/proc/net/sockstat, pages,
# machine-wide), and the budget's and all slow-consumer drops: $OUT/samples.txt.
# Reports in $OUT/<step>.txt, the daemon's log in $OUT/kefud.log. The data directory
# (some GB of broadcast messages) is removed at the end.
#
# Usage: loadtest/scripts/output-budget.sh [OUT_DIR]   (from the repository root;
# binaries from $CARGO_TARGET_DIR or $HOME/.cache/kefu-target, release)
# Last result (2026-12-06 19:17-19:20 UTC, 2 cores shared with two other sessions and a
# crash-loop run, so latencies are inflated; STALLED=10000 CHARS=4000 BCASTS=1 HOLD=100
# RATE=4000, the shipped 512 MiB budget, all readers on one shard so its share is 256 MiB):
#   baseline chat 4000/s:  0 failed, 0 lost, due->agent p99 8.5 ms; rss 19 -> 51 MiB
#   10,000 readers in 3.8 s; 97 broadcasts (970,000 messages stored and pushed to them)
#   filling the kernels (pending 0):      rss 230-370 MiB; kernel TCP memory to ~940 MiB
#   budget reached (60 s, 19:18:17-19:19:20): unsent output 191-248 MiB (share 256 MiB,
#     low-water 192 MiB) in the samples, up to 290 MB logged by a round (a turn adds a
#     whole broadcast, 40 MB, before the check); rss 550-790 MiB, flat; 9,205 readers
#     dropped by the budget in 8 rounds, each found GoAway SLOW_CONSUMER when it read at
#     the end (795 idle-timed out)
#   chat beside it, 4000/s for 90 s: 3,288 OVERLOADED (0.9%), 0 lost, p50 4 ms, p99 1.5 s
#     (the same shard stores and pushes a 10,000-recipient 4 KB broadcast every second)
#   after: unsent 0, rss back to 143 MiB
set -eu
OUT=${1:-/tmp/kefu-output-budget}
RATE=${RATE:-8000}
SECS=${SECS:-20}
STALLED=${STALLED:-10000}
CHARS=${CHARS:-4000}
BCASTS=${BCASTS:-2}
HOLD=${HOLD:-70}
BUDGET=${BUDGET:-536870912}
BIN=${CARGO_TARGET_DIR:-$HOME/.cache/kefu-target}/release
DATA=$(mktemp -d /tmp/kefu-output-budget-data.XXXXXX)
mkdir -p "$OUT"
ulimit -n 65536 2>/dev/null || ulimit -n 20000
printf '[limits]\nmax_total_pending_output_bytes = %s\n' "$BUDGET" >"$DATA/kefud.toml"

. "$(dirname "$0")/kefud-start.sh"
SAMPLER=""
trap 'kill $SAMPLER 2>/dev/null; kill $KEFUD 2>/dev/null; wait $KEFUD 2>/dev/null; rm -rf "$DATA"' EXIT
start_kefud "$OUT/kefud.log" --config "$DATA/kefud.toml"
echo "kefud pid $KEFUD on $SERVER, data $DATA, budget $BUDGET bytes"

sample() {
    echo "time rss_kib pending_bytes tcp_mem_pages budget_drops slow_consumers connections"
    while kill -0 "$KEFUD" 2>/dev/null; do
        "$BIN/kefuctl" --admin-socket "$DATA/admin.sock" stats --prometheus 2>/dev/null | awk \
            -v t="$(date +%T)" -v rss="$(awk '/VmRSS/{print $2}' /proc/$KEFUD/status 2>/dev/null)" \
            -v tcp="$(awk '/^TCP:/{print $NF}' /proc/net/sockstat)" '
            /^kefu_pending_output_bytes\{/ {p += $2}
            /^kefu_output_budget_drops_total\{/ {d += $2}
            /^kefu_slow_consumers_total\{/ {s += $2}
            /^kefu_connections\{/ {c += $2}
            END {print t, rss, p + 0, tcp, d + 0, s + 0, c + 0}'
        sleep 1
    done
}
sample >"$OUT/samples.txt" &
SAMPLER=$!

chat baseline "$SECS"
"$BIN/kefu-load" stall --server "$SERVER" --account 930000000 --readers "$STALLED" \
    --admin-socket "$DATA/admin.sock" --broadcast-chars "$CHARS" --broadcasts-per-sec "$BCASTS" \
    --hold-secs "$HOLD" >"$OUT/stall.txt" 2>"$OUT/stall.err" &
STALL=$!
until grep -q "holding" "$OUT/stall.err" 2>/dev/null || ! kill -0 $STALL 2>/dev/null; do sleep 0.5; done
chat with-stalled $((HOLD - 10))
wait $STALL || true
echo "== stalled readers"; cat "$OUT/stall.err" "$OUT/stall.txt"
sleep 3
echo "== samples (every second)"; cat "$OUT/samples.txt"
echo "== daemon log (output budget)"
grep -c "output budget" "$OUT/kefud.log" | sed 's/^/shedding rounds logged: /'
grep "output budget" "$OUT/kefud.log" | cut -c1-260 | head -5
echo "peak RSS $(awk 'NR > 1 && $2 > m {m = $2} END {print m}' "$OUT/samples.txt") KiB;" \
    "peak unsent $(awk 'NR > 1 && $3 > m {m = $3} END {print m}' "$OUT/samples.txt") bytes"
