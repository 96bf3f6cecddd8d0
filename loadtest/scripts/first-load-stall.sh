#!/usr/bin/env bash
# Does loading a 100,000-contact account stall the other accounts of its shard?
#
# Starts kefud (--demo, in a temporary directory, 127.0.0.1:7070), provisions the
# steady-chat account, creates account 920000002 (same shard as the chat account with
# two shards) and imports 100,000 contacts into it, restarts kefud, then runs the chat
# at 10,000 msg/s twice: once quiet, once with `kefuctl contacts count` (the big
# account's first request, which loads it) six seconds in. Prints the chat's latency
# for both runs and how long the first request took. Loopback only; about a minute.
#
# usage: loadtest/scripts/first-load-stall.sh [BIN_DIR]   (default: the release build)
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/kefu-target}/release}"
SCEN="$here/loadtest/scenarios/steady-chat.toml"
B=920000002
dir="$(mktemp -d /tmp/kefu-stall.XXXX)"
cd "$dir"
pid=""
start() {
    "$BIN/kefud" --demo >>kefud.log 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do [ -S kefu-data/admin.sock ] && return; sleep 0.1; done
    echo "kefud did not start; see $dir/kefud.log" >&2
    exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; }
trap 'kill "$pid" 2>/dev/null || true' EXIT
start
"$BIN/kefu-load" run "$SCEN" --server 127.0.0.1:7070 --admin-socket kefu-data/admin.sock \
    --rate 1000 --duration 1 >provision.txt 2>&1
KEFU_PASSWORD="pw-$B-demo" KEFU_SUPER_PASSWORD="super-$B-demo" "$BIN/kefuctl" \
    --admin-socket kefu-data/admin.sock account create --id $B --name big --plan gold --days 365 >/dev/null
awk 'BEGIN { print "id,name"; for (i = 0; i < 100000; i++) printf "cust%06d,contact %d\n", i, i }' >contacts.csv
"$BIN/kefuctl" --admin-socket kefu-data/admin.sock contacts import --account $B contacts.csv >import.txt
stop
start
for mode in quiet load; do
    "$BIN/kefu-load" run "$SCEN" --server 127.0.0.1:7070 --admin-socket kefu-data/admin.sock \
        --daemon-pid "$pid" --rate 10000 --duration 10 >"chat-$mode.txt" 2>&1 &
    chat=$!
    if [ "$mode" = load ]; then
        sleep 6
        t0=$(date +%s%N)
        "$BIN/kefuctl" --admin-socket kefu-data/admin.sock contacts count --account $B >/dev/null
        echo "first request to the 100,000-contact account: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
    fi
    wait "$chat"
    echo "chat at 10,000 msg/s, $mode:"
    grep -E "^messages|due → agent" "chat-$mode.txt"
done
grep -E "turn took|loaded off the loop" kefud.log | tail -5 || true
stop
echo "files in $dir"
