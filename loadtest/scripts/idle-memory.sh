#!/bin/sh
# idle-memory.sh OUT KEFUD... — what an idle logged-in connection costs each kefud,
# one after the other, each on a fresh data directory (2 shards, wal): the
# idle-connections scenario (SCENARIO, default idle-connections-5k) with the daemon's
# RSS and exact heap (kefu_heap_in_use_bytes) per connection. The daemons hash
# passwords at 1,000 PBKDF2 iterations so that thousands of agents provision and log
# in quickly; the hash cost changes nothing an idle connection holds. Reports in
# OUT/N-SCENARIO.txt, N the kefud's position on the command line. LOAD: the
# kefu-load to run (default: the one beside the first kefud).
set -eu
OUT=$(realpath -m "$1")
shift
SCENARIO=${SCENARIO:-idle-connections-5k}
LOAD=$(realpath "${LOAD:-$(dirname "$1")/kefu-load}")
cd "$(dirname "$0")/../.."
. loadtest/scripts/kefud-start.sh
mkdir -p "$OUT"
n=0
for K in "$@"; do
    K=$(realpath "$K")
    n=$((n + 1))
    DATA=$(mktemp -d)
    trap 'kill $KEFUD 2>/dev/null; rm -rf "$DATA"' EXIT
    printf '[security]\npbkdf2_iterations = 1000\nallow_weak_password_hashing = true\n' \
        >"$DATA/kefud.toml"
    BIN=$(dirname "$K")
    start_kefud "$OUT/$n-$SCENARIO.kefud.log" -c "$DATA/kefud.toml"
    "$LOAD" run "loadtest/scenarios/$SCENARIO.toml" --server "$SERVER" \
        --admin-socket "$DATA/admin.sock" --daemon-pid "$KEFUD" \
        >"$OUT/$n-$SCENARIO.txt" 2>"$OUT/$n-$SCENARIO.err" || true
    kill $KEFUD
    wait $KEFUD 2>/dev/null || true
    rm -rf "$DATA"
    trap - EXIT
    echo "== $SCENARIO ($K)"
    grep -E "^(kefu-load|password|resume|hold|memory|  |note|result)" "$OUT/$n-$SCENARIO.txt" |
        grep -vE "latency|service|tool start" || true
done
