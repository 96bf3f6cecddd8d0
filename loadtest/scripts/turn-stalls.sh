#!/bin/bash
# What the long turns of a shard are made of (issue 13, point 3), for one or more kefud
# builds side by side: each is started fresh (loopback, 127.0.0.1:0, 1 shard, PBKDF2 at
# 1,000 iterations as in the sweep), runs steady-chat at RATE msg/s for SECS seconds,
# then the login storm of `login-storm.toml` (its agents log in with their passwords,
# then reconnect at once with their tokens) with the chat still running, then the
# chat alone again; after each phase the shard's turn-duration histogram (its top
# buckets), the same for the shard thread's CPU time per turn and the rest of each turn
# (off the CPU: preempted or blocked), the longest turn with what it did and its CPU
# time, the turn that waited longest, the shard thread's CPU time, wait for a core and
# context switches (builds that have them), and RocksDB's
# flush/stall figures are printed from `kefuctl stats --prometheus`, and, for the quiet
# chat, each kefud thread's CPU time and the time it waited for a core (schedstat). Counts, not a
# benchmark: note `uptime` beside them.
#
# With SWITCHES=1, the quiet chat's middle 4 s also record every time the shard thread
# leaves its core (`perf record -e sched:sched_switch -g`) and print them by state and
# kernel path: `S … epoll_wait` is the loop waiting for work; anything else `S`/`D` is
# the thread blocked inside a turn (a WAL write, a page fault, a lock); `R` is the
# thread preempted (at a syscall's return: a thread it woke took the core; at a timer
# interrupt: its time was up).
#
# Usage: [SWITCHES=1] loadtest/scripts/turn-stalls.sh RATE SECS KEFUD...   (from the
# repository root; kefu-load and kefuctl from $CARGO_TARGET_DIR or
# $HOME/.cache/kefu-target, release; SWITCHES needs perf and the sched tracepoints).
set -eu
RATE=$1
SECS=$2
shift 2
BIN=${CARGO_TARGET_DIR:-$HOME/.cache/kefu-target}/release
ROOT=$(pwd)
scrape() {
    "$BIN/kefuctl" --admin-socket "$DATA/admin.sock" stats --prometheus |
        grep -E '^kefu_turn_((duration|cpu|off_cpu)_seconds_bucket\{shard="0",le="(0.001|0.0025|0.005|0.01|0.025|0.05|0.1|0.25|\+Inf)"|(duration|cpu|off_cpu)_seconds_(count|sum)|longest|waited|max)|^kefu_shard_thread_|^kefu_rocksdb_(stall|write_stopped|immutable|memtable_flushes|running_flushes|running_compactions|delayed)|^kefu_commit_duration_seconds_(count|sum|bucket\{shard="0",le="(0.01|0.025|0.1|0.25|1|\+Inf)")' || true
}
# Per thread of kefud: "name cpu_ns runqueue_wait_ns timeslices" (/proc/PID/task/*/schedstat):
# the time a thread was ready to run but waited for a core is latency no turn shows.
sched() {
    for t in /proc/$KEFUD/task/*; do
        echo "$(cat "$t/comm" | tr ' ' _) $(cat "$t/schedstat")"
    done | sort
}
sched_delta() {
    join <(echo "$1") <(echo "$2") | awk '{ cpu = $5 - $2; wait = $6 - $3; n = $7 - $4;
        if (cpu > 1e6) printf "    thread %s: cpu %.0f ms, waited for a core %.0f ms, %d timeslices\n", $1, cpu / 1e6, wait / 1e6, n }'
}
# Tallies `perf script` switch-outs: "count state frame <- frame ..." (scheduler frames left out).
switches() {
    python3 -c '
import re, sys, collections
tally, state, frames = collections.Counter(), None, []
def done():
    if state:
        keep = [f for f in frames if not f.startswith(("__schedule", "schedule", "entry_SYSCALL", "do_syscall"))]
        tally[state + " " + " <- ".join(keep[:4])] += 1
for line in sys.stdin:
    if "prev_state=" in line:
        done()
        state, frames = re.search(r"prev_state=(\S+)", line).group(1), []
    elif line.strip():
        parts = line.split(None, 1)
        frames.append(parts[-1].strip())
done()
for key, n in tally.most_common(12):
    print("   ", n, key)
'
}
for KEFUD_BIN in "$@"; do
    DATA=$(mktemp -d /tmp/kefu-turns.XXXX)
    printf '[security]\npbkdf2_iterations = 1000\nallow_weak_password_hashing = true\n' >"$DATA/kefud.toml"
    echo "=== $KEFUD_BIN ($(uptime))"
    "$KEFUD_BIN" --config "$DATA/kefud.toml" --data-dir "$DATA/data" --listen 127.0.0.1:0 \
        --admin-socket "$DATA/admin.sock" --shards 1 --pid-file "$DATA/kefud.pid" 2>"$DATA/kefud.log" &
    KEFUD=$!
    trap 'kill $KEFUD 2>/dev/null || true' EXIT
    until [ -S "$DATA/admin.sock" ] && [ -s "$DATA/kefud.pid" ]; do sleep 0.1; done
    PORT=""
    until [ -n "$PORT" ]; do
        PORT=$(ss -ltnpH 2>/dev/null | grep "pid=$KEFUD," | awk '{print $4}' | head -1 | sed 's/.*://')
        sleep 0.1
    done
    SERVER=127.0.0.1:$PORT
    chat() {
        "$BIN/kefu-load" run "$ROOT/loadtest/scenarios/steady-chat.toml" --server "$SERVER" \
            --admin-socket "$DATA/admin.sock" --daemon-pid "$KEFUD" --rate "$RATE" \
            --duration "$SECS" >"$DATA/chat-$1.txt" 2>&1
        echo "--- chat $1: $(grep -E 'due → agent' "$DATA/chat-$1.txt" | head -1)"
    }
    S0=$(sched)
    chat quiet &
    QUIET=$!
    if [ -n "${SWITCHES:-}" ]; then
        sleep $((SECS / 2 + 2))
        SHARD_TID=$(grep -l '^kefu-shard-0$' /proc/$KEFUD/task/*/comm | head -1 | xargs dirname | xargs basename)
        perf record -q -e sched:sched_switch -g -t "$SHARD_TID" -o "$DATA/switch.data" -- sleep 4 \
            2>"$DATA/perf.log" || true
    fi
    wait $QUIET
    sched_delta "$S0" "$(sched)"
    if [ -s "$DATA/switch.data" ]; then
        echo "--- the shard thread left its core (4 s of the quiet chat), by state and kernel path:"
        perf script -i "$DATA/switch.data" -F trace,ip,sym 2>/dev/null | switches
    fi
    scrape
    chat storm &
    CHAT=$!
    sleep 3
    "$BIN/kefu-load" run "$ROOT/loadtest/scenarios/login-storm.toml" --server "$SERVER" \
        --admin-socket "$DATA/admin.sock" --daemon-pid "$KEFUD" >"$DATA/storm.txt" 2>&1 || true
    wait $CHAT
    echo "--- login storm: $(grep -iE 'logins|storm' "$DATA/storm.txt" | head -3 | tr '\n' ' ')"
    scrape
    grep -E 'turn took' "$DATA/kefud.log" | tail -3 || true
    kill $KEFUD
    wait $KEFUD 2>/dev/null || true
    echo "files in $DATA"
done
