# Sourced by the load scripts: starts a kefud of their own and waits until it serves;
# `chat` (at the end) runs the steady chat window they measure beside their load.
#
# start_kefud LOG [kefud arguments…] — runs "$BIN/kefud" with a data directory under
# "$DATA", an admin socket "$DATA/admin.sock", 2 shards and a client port from
# 127.0.0.1:0, plus the given arguments; sets KEFUD (its pid) and SERVER (127.0.0.1:PORT,
# read from the kernel's socket table, since the port is the kernel's choice). The
# caller sets its own EXIT trap (what it must stop besides kefud differs per script).
start_kefud() {
    local log=$1
    shift
    "$BIN/kefud" --data-dir "$DATA/data" --listen 127.0.0.1:0 --admin-socket "$DATA/admin.sock" \
        --shards 2 --pid-file "$DATA/kefud.pid" "$@" 2>"$log" &
    KEFUD=$!
    local i=0
    until [ -S "$DATA/admin.sock" ] && [ -s "$DATA/kefud.pid" ]; do
        i=$((i + 1))
        [ $i -lt 600 ] || { echo "kefud did not start; see $log" >&2; exit 1; }
        sleep 0.1
    done
    local port=""
    until [ -n "$port" ]; do
        port=$(ss -ltnpH 2>/dev/null | grep "pid=$KEFUD," | awk '{print $4}' | head -1 | sed 's/.*://')
        sleep 0.1
    done
    SERVER=127.0.0.1:$port
}

# chat NAME SECONDS — the steady chat scenario at "$RATE" msg/s against the kefud started
# above, its report in "$OUT/NAME.txt" (stderr in NAME.err), printed with a heading.
chat() {
    "$BIN/kefu-load" run loadtest/scenarios/steady-chat.toml --server "$SERVER" \
        --admin-socket "$DATA/admin.sock" --daemon-pid "$KEFUD" --rate "$RATE" \
        --duration "$2" >"$OUT/$1.txt" 2>"$OUT/$1.err" || true
    echo "== $1 (rate $RATE)"; cat "$OUT/$1.txt"; tail -3 "$OUT/$1.err"
}
