#!/bin/sh
# The cost of durability = "replicated" against "wal" (issue 18 point 1; daemon/CLUSTER.md
# §3, wire/PROTOCOL.md section 40): steady-chat at RATE msg/s for SECS seconds against
#   1. a lone kefud in durability "wal";
#   2. a primary in durability "replicated" with its standby (both on 127.0.0.1, the
#      pair's CA and certificates made here with openssl), every acknowledgement
#      waiting for the standby's.
# Each report goes to $OUT/<step>.txt, the daemons' logs beside them.
#
# Usage: loadtest/scripts/replicated.sh [OUT_DIR]   (run from the repository root;
# binaries from $CARGO_TARGET_DIR or $HOME/.cache/kefu-target, release)
#
# Last result (2026-12-07 05:33 UTC, 2 cores shared with four other sessions' builds,
# load average 8-11; RATE=4000 SECS=8; primary and standby on the same 2 cores; the
# standby of that build synced every applied batch, since changed to once per group):
#   wal:        40,000 acked, 0 lost; acked 4001/s; due->Sent p50 1.3 ms, p99 9.3 ms;
#               the daemon 0.31 cores
#   replicated: 40,000 acked, 0 lost; acked 3988/s; due->Sent p50 42 ms, p99 138 ms;
#               the primary 0.65 cores (the standby's CPU not counted)
# Again at 05:55 with the standby syncing once per group, while this session's own test
# build ran beside it (noisier still; load average 9-10):
#   wal:        40,000 acked, 0 lost; acked 4000/s; due->Sent p50 0.25 ms, p99 55 ms; 0.39 cores
#   replicated: 40,000 acked, 0 lost; acked 3853/s in the window (all acked by the drain);
#               due->Sent p50 56 ms, p99 381 ms; the primary 0.50 cores
# At 09:06 with RATE=20000 SECS=5 (same shared machine; the client port now read from
# the primary's readiness line — the socket table had listed its replication port first,
# and the previous replicated runs at 20,000 had sent the load there):
#   wal:        140,000 acked, 0 lost; acked 20369/s; due->Sent p50 10.8 ms, p99 40 ms; 0.63 cores
#   replicated: 140,000 acked, 0 lost; acked 18909/s in the window (all acked by the drain);
#               due->Sent p50 280 ms, p99 626 ms; the primary 0.95 cores
# 12:00 and 12:20 with RATE=20000 SECS=5 SAT_RATE=60000 CAPACITY=1 (load average 10-11,
# then 6-8; daemon/CLUSTER.md §7 has both): replicated all 140,000 acked; the primary's
# lag p99 37,118 / 54,226 sequences, 0.158 / 0.160 s; capacity (p99 <= 1 s) wal
# 25,000 / 20,000 msg/s, replicated 15,000 / 10,000; offered 60,000: wal acked
# 58,736 / 50,931 per s, replicated 13,104 / 18,288 (the rest OVERLOADED, none lost).
# 14:59-15:40 (session 12), the commit feed and the window (CLUSTER.md §2), interleaved
# after/before/before/after, load average 7-11; benches/results/replicated-2026-12-07-commit.txt:
#   replicated at 20,000: acked 19,833 and 19,969/s, due->Sent p50 54 / 12 ms, lag p99
#   0.071 / 0.022 s, capacity 20,000 / 25,000 (before: 11,204 and 19,114/s, p50 2,327 /
#   342 ms, lag p99 1.26 / 0.14 s, capacity 10,000 / under 10,000).
# Both keep up at 4,000 msg/s; the cost of replicated is latency (one TLS round trip
# plus the standby's sync per group of turns) and the primary's CPU (TLS; the log is
# read back only to catch a standby up).
set -eu
OUT=${1:-/tmp/kefu-replicated}
RATE=${RATE:-4000}
SECS=${SECS:-8}
# The saturation step offers far more than either mode takes: what is acknowledged per
# second in the window is what the mode keeps doing under overload (the excess refused
# OVERLOADED). SAT_RATE=0 skips it. CAPACITY=1 adds each mode's capacity search.
SAT_RATE=${SAT_RATE:-0}
BIN=${CARGO_TARGET_DIR:-$HOME/.cache/kefu-target}/release
WORK=$(mktemp -d /tmp/kefu-replicated.XXXXXX)
mkdir -p "$OUT"
ulimit -n 65536 2>/dev/null || ulimit -n 20000
. "$(dirname "$0")/kefud-start.sh"
STANDBY=""
KEFUD=""
SAMPLER=""
trap 'kill $KEFUD $STANDBY $SAMPLER 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

chat() { # name rate
    "$BIN/kefu-load" run loadtest/scenarios/steady-chat.toml --server "$SERVER" \
        --admin-socket "$DATA/admin.sock" --daemon-pid "$KEFUD" --rate "$2" \
        --duration "$SECS" >"$OUT/$1.txt" 2>"$OUT/$1.err" || true
    echo "== $1 (rate $2, $SECS s; load average $(cut -d' ' -f1-3 /proc/loadavg))"
    cat "$OUT/$1.txt"; tail -3 "$OUT/$1.err"
}

# The replication lag every 100 ms from a metrics listener: "sequences seconds
# primary-sequence" lines.
sample_lag() { # metrics-address file
    while :; do
        curl -s --max-time 1 "http://$1/metrics" | awk '
            /^kefu_replication_lag_sequences / { q = $2 }
            /^kefu_replication_lag_seconds / { s = $2 }
            /^kefu_replication_primary_sequence / { p = $2 }
            END { if (q != "") print q, s, p }'
        sleep 0.1
    done >"$2"
}

# p50, p99 and max of column $2 of file $1, over the samples taken while the primary
# committed (its sequence moved since the previous sample): setup and drain left out.
spread() {
    awk 'prev != "" && $3 != prev { print } { prev = $3 }' "$1" |
        sort -g -k"$2","$2" | awk -v c="$2" '{ v[NR] = $c }
        END { if (NR == 0) { print "no samples"; exit }
              i50 = int(NR * 0.50 + 0.999); i99 = int(NR * 0.99 + 0.999)
              printf "p50 %s, p99 %s, max %s (%d samples)\n", v[i50], v[i99], v[NR], NR }'
}

# The saturation throughput: the capacity search of the same harness, from 10,000 msg/s
# in steps of 5,000, each step passing while nothing is refused, lost or unanswered and
# due -> agent p99 stays within 1 s; the last passing rate is the mode's capacity.
capacity() { # name
    "$BIN/kefu-load" run loadtest/scenarios/steady-chat.toml --server "$SERVER" \
        --admin-socket "$DATA/admin.sock" --daemon-pid "$KEFUD" --slo p99=1s \
        --rate-start 10000 --rate-step 5000 --rate-max 60000 --step-secs 3 \
        >"$OUT/$1.txt" 2>"$OUT/$1.err" || true
    echo "== $1 (capacity search; load average $(cut -d' ' -f1-3 /proc/loadavg))"
    grep -iE "capacity|step|rate" "$OUT/$1.txt" | tail -15; tail -3 "$OUT/$1.err"
}

lagged() { # name command… — runs the command with the primary's lag sampled
    name=$1
    shift
    sample_lag "$METRICS" "$OUT/$name-lag.txt" &
    SAMPLER=$!
    "$@"
    kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=""
    echo "   replication lag on the primary, sequences: $(spread "$OUT/$name-lag.txt" 1)"
    echo "   replication lag on the primary, seconds:   $(spread "$OUT/$name-lag.txt" 2)"
}

lagged_chat() { # name rate — a chat run with the primary's lag sampled
    lagged "$1" chat "$1" "$2"
}

# 1. wal, alone.
DATA=$WORK/wal
mkdir -p "$DATA"
start_kefud "$OUT/wal-kefud.log" --durability wal
chat wal "$RATE"
[ "$SAT_RATE" = 0 ] || chat wal-saturation "$SAT_RATE"
[ "${CAPACITY:-0}" = 0 ] || capacity wal-capacity
kill "$KEFUD"; wait "$KEFUD" 2>/dev/null || true

# 2. replicated, with a standby.
PKI=$WORK/pki
mkdir -p "$PKI"
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
cluster() { # node role address-line
    printf 'metrics_listen = "127.0.0.1:0"\n'
    printf '[cluster]\nrole = "%s"\n%s\ncertificate = "%s"\nkey = "%s"\nca = "%s"\n' \
        "$2" "$3" "$PKI/$1.pem" "$PKI/$1.key" "$PKI/ca.pem"
}
cluster primary primary "replication_listen = \"127.0.0.1:$PORT\"" >"$WORK/primary.toml"
cluster standby standby "peer = \"127.0.0.1:$PORT\"" >"$WORK/standby.toml"
mkdir -p "$WORK/standby"
"$BIN/kefud" --config "$WORK/standby.toml" --data-dir "$WORK/standby/data" \
    2>"$OUT/standby.log" &
STANDBY=$!
DATA=$WORK/replicated
mkdir -p "$DATA"
start_kefud "$OUT/primary.log" --config "$WORK/primary.toml" --durability replicated
# The primary listens twice (clients, replication): the client port is the one its
# readiness line names, not whichever the socket table lists first.
until grep -q "kefud: ready" "$OUT/primary.log"; do sleep 0.1; done
SERVER=$(sed -n 's/.*kefud: ready tcp=\([^ ]*\).*/\1/p' "$OUT/primary.log")
METRICS=$(sed -n 's/.*kefud: ready .* metrics=\([^ ]*\).*/\1/p' "$OUT/primary.log")
lagged_chat replicated "$RATE"
[ "$SAT_RATE" = 0 ] || lagged_chat replicated-saturation "$SAT_RATE"
[ "${CAPACITY:-0}" = 0 ] || lagged replicated-capacity capacity replicated-capacity
# The standby's own view once the load is over (its metrics listener).
until grep -q "kefud: ready" "$OUT/standby.log"; do sleep 0.1; done
SMETRICS=$(sed -n 's/.*kefud: ready .* metrics=\([^ ]*\).*/\1/p' "$OUT/standby.log")
echo "== the standby after the runs: $(curl -s "http://$SMETRICS/metrics" | grep '^kefu_replication_lag_' | tr '\n' ' ')"
grep -c "replication" "$OUT/primary.log" "$OUT/standby.log" || true
