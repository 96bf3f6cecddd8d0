#!/usr/bin/env python3
"""Decomposes kefud's fsync cycle from `perf script` of syscall tracepoints (kefud-traced):
per sync of the committer: the sync (fdatasync), the report's wake-up of the loop (committer's
eventfd write -> loop's epoll_wait return), the loop's hand-over of the next batch (wake ->
futex wake), the committer's wake-up (-> its futex return) and its write before the next sync
(-> fdatasync enter). Cycles whose next batch was handed over in the turn that took the
report ("back to back") are separated from those where the committer went idle."""
import re, subprocess, sys

def pct(xs, q):
    if not xs: return float('nan')
    xs = sorted(xs); i = min(len(xs) - 1, max(0, int(round(q * len(xs) + 0.5)) - 1))
    return xs[i]

def show(name, xs):
    xs = [x * 1e3 for x in xs]
    if not xs:
        print(f"  {name:<34} n=0"); return
    print(f"  {name:<34} n={len(xs):5d} mean {sum(xs)/len(xs):6.3f}  p50 {pct(xs,.5):6.3f}  p90 {pct(xs,.9):6.3f}  p99 {pct(xs,.99):7.3f}  max {max(xs):7.3f} ms")

data = sys.argv[1]
out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,tid,time,event,trace"],
                     capture_output=True, text=True).stdout
ev = []
for line in out.splitlines():
    m = re.match(r"\s*(\S+)\s+(\d+)\s+([\d.]+):\s+syscalls:(\w+):\s*(.*)", line)
    if not m: continue
    comm, tid, t, name, rest = m.groups()
    ev.append((float(t), comm, name, rest))
ev.sort()
C, L = "kefu-commit-0", "kefu-shard-0"
sync, wake, hand, cwake, pre, total, idle_total = [], [], [], [], [], [], []
i, n = 0, len(ev)
syncs = [(k, e) for k, e in enumerate(ev) if e[1] == C and e[2] in ("sys_exit_fdatasync", "sys_exit_fsync")]
enters = {}
for k, e in enumerate(ev):
    if e[1] == C and e[2] in ("sys_enter_fdatasync", "sys_enter_fsync"):
        enters[k] = e[0]
enter_times = sorted(enters.values())
import bisect
for k, e in syncs:
    t0 = e[0]
    j = bisect.bisect_left(enter_times, t0)
    prev = enter_times[j - 1] if j > 0 else None
    if prev is not None: sync.append(t0 - prev)
    if j >= len(enter_times): break
    t_next = enter_times[j]
    # the report: committer's 8-byte write (eventfd) after the sync
    t_ev = t_wake = t_hand = t_cw = None
    turn_ended = False
    for m in range(k + 1, n):
        t, comm, name, rest = ev[m]
        if t > t_next: break
        if t_ev is None:
            if comm == C and name == "sys_enter_write" and "count: 0x00000008" in rest: t_ev = t
            continue
        if t_wake is None:
            if comm == L and name in ("sys_exit_epoll_wait", "sys_exit_epoll_pwait"): t_wake = t
            continue
        if t_hand is None:
            if comm == L and name in ("sys_enter_epoll_wait", "sys_enter_epoll_pwait"): turn_ended = True
            if comm == L and name == "sys_enter_futex" and "op: 0x00000081" in rest: t_hand = t
            continue
        if t_cw is None and comm == C and name == "sys_exit_futex": t_cw = t
    if None in (t_ev, t_wake, t_hand, t_cw): continue
    if turn_ended:
        idle_total.append(t_next - t0); continue
    wake.append(t_wake - t_ev); hand.append(t_hand - t_wake); cwake.append(t_cw - t_hand)
    pre.append(t_next - t_cw); total.append(t_next - t0)
print(data)
show("sync (fdatasync)", sync)
print(" back to back (next batch handed over in the turn that took the report):")
show("report -> loop awake", wake)
show("loop awake -> hand-over", hand)
show("hand-over -> committer awake", cwake)
show("committer awake -> next sync", pre)
show("sync end -> next sync start", total)
print(" committer idle in between (nothing accumulated when the report came):")
show("sync end -> next sync start", idle_total)
