#!/usr/bin/env python3
"""A crowd in the listen backlog (issue 13, point 3): how long kefud's turns get.

Starts KEFUD on a fresh data directory (2 shards, loopback, metrics listener), stops it
(SIGSTOP), opens N plain TCP connections from 127.0.0.1..20 (the kernel completes them
into the listen backlog), lets it run again (SIGCONT), waits until every connection is
accepted and prints the time that took, the shards' turn-duration histogram
(`kefu_turn_duration_seconds`, if the build has it) and kefud's own "turn took" lines
(turns over 100 ms). Bounded: N connections, 60 s at most; talks to 127.0.0.x only.

Usage: loadtest/scripts/accept-storm.py KEFUD [N=10000]
"""
import re, signal, socket, subprocess, sys, tempfile, time

kefud = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
work = tempfile.mkdtemp(prefix="kefu-storm-")
with open(f"{work}/kefud.toml", "w") as f:
    f.write(f'data_dir = "{work}/data"\nlisten = "127.0.0.1:0"\n'
            f'admin_socket = "{work}/admin.sock"\nshards = 2\n'
            'metrics_listen = "127.0.0.1:0"\n[security]\npbkdf2_iterations = 1000\n'
            'allow_weak_password_hashing = true\n')
err = open(f"{work}/stderr", "w+")
daemon = subprocess.Popen([kefud, "--config", f"{work}/kefud.toml"],
                          stdout=subprocess.DEVNULL, stderr=err)
deadline = time.time() + 60
log = ""
while "kefud: ready" not in log:
    if time.time() > deadline or daemon.poll() is not None:
        sys.exit(f"kefud did not get ready:\n{log}")
    time.sleep(0.05)
    log = open(f"{work}/stderr").read()
tcp = int(re.search(r"tcp=127\.0\.0\.1:(\d+)", log).group(1))
metrics_port = int(re.search(r"metrics=127\.0\.0\.1:(\d+)", log).group(1))


def metrics():
    s = socket.create_connection(("127.0.0.1", metrics_port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
    out = b""
    while chunk := s.recv(65536):
        out += chunk
    return out.decode()


def total(text, name):
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{"))


try:
    daemon.send_signal(signal.SIGSTOP)
    peers = []
    for i in range(n):
        s = socket.socket()
        s.bind((f"127.0.0.{1 + i % 20}", 0))
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", tcp))
        except BlockingIOError:
            pass
        peers.append(s)
    daemon.send_signal(signal.SIGCONT)
    start = time.time()
    while total(text := metrics(), "kefu_connections_accepted_total") < n:
        if time.time() > deadline:
            sys.exit("not every connection was accepted within the time limit")
        time.sleep(0.02)
    print(f"{n} connections accepted in {time.time() - start:.3f} s (polled every 20 ms)")
    for line in text.splitlines():
        if line.startswith("kefu_turn_duration_seconds_bucket"):
            print(line)
    print("turns over 100 ms:",
          [l for l in open(f"{work}/stderr").read().splitlines() if "turn took" in l])
finally:
    daemon.kill()
