#!/usr/bin/env python3
"""Descriptor exhaustion (issue 12): kefud --demo under a 200-descriptor limit, 600
connections thrown at it; prints kefud's CPU while it is out of descriptors and whether
the admin socket answers once connections close. Run it in an empty directory:
    python3 loadtest/scripts/emfile.py [BIN_DIR]   (default $HOME/.cache/kefu-target/release)
It uses 127.0.0.1:7070, the demo's port, and stops kefud at the end."""
import socket, subprocess, time, os, sys
B=sys.argv[1] if len(sys.argv)>1 else os.path.expanduser('~/.cache/kefu-target/release')
p=subprocess.Popen(['prlimit','--nofile=200:200',B+'/kefud','--demo'],stderr=open('kefud.log','w'),stdout=subprocess.DEVNULL)
for _ in range(200):
    if 'ready' in open('kefud.log').read(): break
    time.sleep(0.1)
pid=p.pid
def cpu():
    f=open(f'/proc/{pid}/stat').read().split(')')[1].split(); return (int(f[11])+int(f[12]))/os.sysconf('SC_CLK_TCK')
socks=[]
for i in range(600):
    s=socket.socket(); s.setblocking(False)
    try: s.connect(('127.0.0.1',7070))
    except BlockingIOError: pass
    socks.append(s)
time.sleep(2)
fds=len(os.listdir(f'/proc/{pid}/fd'))
c0=cpu(); t0=time.time(); time.sleep(5); c1=cpu(); t1=time.time()
print(f"connections opened {len(socks)}, kefud descriptors {fds} (limit 200), CPU while out of descriptors: {100*(c1-c0)/(t1-t0):.1f}% of a core over {t1-t0:.1f}s")
for s in socks[:400]: s.close()
t2=time.time()
r=subprocess.run([B+'/kefuctl','--admin-socket','kefu-data/admin.sock','stats'],capture_output=True,text=True,timeout=30)
print(f"after closing 400: kefuctl stats rc={r.returncode} in {time.time()-t2:.2f}s")
log=open('kefud.log').read()
print("log lines mentioning descriptors:",[l for l in log.splitlines() if 'accept' in l.lower()][:3])
p.terminate(); p.wait()
