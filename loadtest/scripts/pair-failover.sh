#!/bin/sh
# Failover time of a pair under chat load (issue 18; daemon/CLUSTER.md §5 and §9):
# three etcd members on 127.0.0.2-4, a primary kefud on 127.0.0.5 in durability
# "replicated" and its standby on 127.0.0.6 (the pair's CA and certificates made here
# with openssl; leases of LEASE seconds), then `kefu-load pair` chatting at both with
# CUSTOMERS customers at RATE msg/s, SIGKILLing the primary after KILL_AFTER seconds.
# The report (text and JSON) goes to $OUT, the daemons' logs beside it.
#
# Usage: loadtest/scripts/pair-failover.sh [OUT_DIR]   (run from the repository root;
# binaries from $CARGO_TARGET_DIR or $HOME/.cache/kefu-target, release; etcd from
# Debian's etcd-server)
#
# Last result (2026-12-07 12:18 and 12:20 UTC; 2 shared cores, load average 4-6):
#   LEASE=2: failover 2.11 s overall, per customer p50 2.13 s, max 2.13 s; 30,240 acked,
#            0 lost, 0 doubled; lag before the kill p99 59 sequences, 5 ms (primary)
#   LEASE=2 again at 12:28 with --etcd: failover 2.72 s overall, per customer p50 2.72 s;
#            31,424 acked, 0 lost, 0 doubled; the lag in etcd p99 54 sequences (a), 4 ms
#   LEASE=5: failover 5.12 s overall, per customer p50 5.12 s, max 5.13 s; 36,272 acked,
#            0 lost, 0 doubled
set -eu
OUT=${1:-/tmp/kefu-pair-failover}
RATE=${RATE:-2000}
CUSTOMERS=${CUSTOMERS:-16}
KILL_AFTER=${KILL_AFTER:-10}
LEASE=${LEASE:-2}
BIN=${CARGO_TARGET_DIR:-$HOME/.cache/kefu-target}/release
WORK=$(mktemp -d /tmp/kefu-pair.XXXXXX)
mkdir -p "$OUT"
PIDS=""
trap 'kill $PIDS 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

port() { # ip — a port free on it a moment ago
    python3 -c "import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])" "$1"
}

# 1. etcd.
INITIAL=""
for i in 2 3 4; do
    eval "C$i=127.0.0.$i:$(port 127.0.0.$i)"
    eval "P$i=127.0.0.$i:$(port 127.0.0.$i)"
    eval "INITIAL=\"\${INITIAL:+\$INITIAL,}m$i=http://\$P$i\""
done
for i in 2 3 4; do
    eval "c=\$C$i; p=\$P$i"
    etcd --name "m$i" --data-dir "$WORK/etcd$i" --listen-client-urls "http://$c" \
        --advertise-client-urls "http://$c" --listen-peer-urls "http://$p" \
        --initial-advertise-peer-urls "http://$p" --initial-cluster "$INITIAL" \
        --initial-cluster-state new --initial-cluster-token kefu-pair 2>"$OUT/etcd$i.log" &
    PIDS="$PIDS $!"
done
ENDPOINTS="\"$C2\", \"$C3\", \"$C4\""
for c in "$C2" "$C3" "$C4"; do
    until curl -s -X POST "http://$c/v3/kv/range" -d '{"key":"a2VmdQ=="}' | grep -q header; do
        sleep 0.2
    done
done

# 2. The pair's PKI: a CA, a certificate per member naming its address.
PKI=$WORK/pki
mkdir -p "$PKI"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=pair-ca -keyout "$PKI/ca.key" -out "$PKI/ca.pem" 2>/dev/null
for node in a:5 b:6; do
    n=${node%:*}
    ip=127.0.0.${node#*:}
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$n" \
        -keyout "$PKI/$n.key" -out "$PKI/$n.csr" 2>/dev/null
    printf 'subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\n' "$ip" >"$PKI/ext"
    openssl x509 -req -in "$PKI/$n.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
        -CAcreateserial -days 2 -extfile "$PKI/ext" -out "$PKI/$n.pem" 2>/dev/null
done

# 3. The two members.
REPLICATION=127.0.0.5:$(port 127.0.0.5)
member() { # node ip durability role-lines
    mkdir -p "$WORK/$1"
    cat >"$WORK/$1/kefud.toml" <<EOF
data_dir = "$WORK/$1/data"
listen = "$2:$(port "$2")"
admin_socket = "$WORK/$1/admin.sock"
metrics_listen = "$2:0"
shards = 2
pid_file = "$WORK/$1/kefud.pid"
[storage]
durability = "$3"
[security]
token_key_file = "$WORK/token.key"
[cluster]
$4
certificate = "$PKI/$1.pem"
key = "$PKI/$1.key"
ca = "$PKI/ca.pem"
[cluster.etcd]
endpoints = [$ENDPOINTS]
pair = "p1"
node = "$1"
lease_seconds = $LEASE
EOF
    "$BIN/kefud" --config "$WORK/$1/kefud.toml" 2>"$OUT/$1.log" &
    PID=$!
    PIDS="$PIDS $PID"
    until grep -q "kefud: ready" "$OUT/$1.log"; do
        kill -0 "$PID" 2>/dev/null || { cat "$OUT/$1.log" >&2; exit 1; }
        sleep 0.1
    done
}
field() { # log name — a field of the readiness line
    sed -n "s/.*kefud: ready .*$2=\([^ ]*\).*/\1/p" "$1"
}
member a 127.0.0.5 replicated "role = \"primary\"
replication_listen = \"$REPLICATION\""
i=0
until grep -q "leadership: primary" "$OUT/a.log"; do
    i=$((i + 1)); [ $i -lt 600 ] || { echo "a never led; see $OUT/a.log" >&2; exit 1; }
    sleep 0.1
done
# (A standby's durability applies once it is promoted and runs alone, §4.)
member b 127.0.0.6 wal "role = \"standby\"
peer = \"$REPLICATION\""
# The standby's client address is its configured one (it binds it once promoted).
B_CLIENT=$(sed -n 's/^listen = "\(.*\)"/\1/p' "$WORK/b/kefud.toml")

# 4. The load and the kill.
echo "== pair failover: $CUSTOMERS customers, $RATE msg/s, SIGKILL after $KILL_AFTER s," \
    "lease $LEASE s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
"$BIN/kefu-load" pair --servers "$(field "$OUT/a.log" tcp),$B_CLIENT" \
    --admin-socket "$WORK/a/admin.sock" --primary-pid "$(field "$OUT/a.log" pid)" \
    --metrics "$(field "$OUT/a.log" metrics),$(field "$OUT/b.log" metrics)" \
    --etcd "$C2,$C3,$C4" --pair p1 \
    --customers "$CUSTOMERS" --rate "$RATE" --kill-after "$KILL_AFTER" --after-kill 3 \
    --json "$OUT/pair.json" | tee "$OUT/pair.txt"
