//! kefud out of file descriptors (issue 12): after `accept` fails with EMFILE the
//! connections waiting in the listen backlog are accepted as soon as descriptors
//! are free again, without another client having to connect (the listeners are
//! edge-triggered, so nothing else would wake them). Runs a `kefud` process whose
//! descriptor limit the test lowers with `prlimit(2)`; every wait is bounded and
//! waits for an event (a log line, a socket becoming readable), never a sleep.

mod support;

use bytes::BytesMut;
use kefu_wire::{Body, FrameDecoder, FrameKind, Hello, Welcome};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::Duration;
use support::*;

/// The longest any single wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("list the daemon's descriptors")
        .count()
}

fn set_descriptor_limit(pid: u32, limit: u64) {
    let rlimit = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: prlimit on our own child; both pointers are valid for the call.
    let rc = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_NOFILE,
            &rlimit,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

/// Waits until at least `want` of `sockets` (those not in `ready` yet) are
/// readable, adding them to `ready`. Fails after [`PATIENCE`] without progress.
fn wait_readable(sockets: &[TcpStream], ready: &mut [bool], want: usize) {
    while ready.iter().filter(|r| **r).count() < want {
        let mut fds: Vec<libc::pollfd> = sockets
            .iter()
            .zip(ready.iter())
            .filter(|(_, r)| !**r)
            .map(|(s, _)| libc::pollfd {
                fd: s.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structures.
        let n = unsafe {
            libc::poll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                PATIENCE.as_millis() as i32,
            )
        };
        assert!(
            n > 0,
            "no connection was answered within {PATIENCE:?} ({} of {want} so far)",
            ready.iter().filter(|r| **r).count()
        );
        for fd in fds.iter().filter(|f| f.revents != 0) {
            let i = sockets.iter().position(|s| s.as_raw_fd() == fd.fd).unwrap();
            ready[i] = true;
        }
    }
}

/// Reads the `Welcome` the server sent to `socket`.
fn welcome(socket: &mut TcpStream) -> Welcome {
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    let decoder = FrameDecoder::new(kefu_wire::MAX_FRAME_CEILING);
    let mut input = BytesMut::new();
    loop {
        if let Some(frame) = decoder.decode(&mut input).expect("framing") {
            assert_eq!(frame.kind, FrameKind::Welcome, "{frame:?}");
            return Welcome::decode(&frame.body).unwrap();
        }
        let mut buf = [0u8; 4096];
        let n = socket.read(&mut buf).expect("read the Welcome");
        assert!(n > 0, "closed before its Welcome");
        input.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn connections_waiting_after_emfile_are_accepted_once_descriptors_are_free() {
    // Headroom: descriptors the daemon may still open; more clients than that connect.
    const HEADROOM: usize = 12;
    const CLIENTS: usize = 18;
    let dir = tempfile::tempdir().unwrap();
    let daemon = DaemonProcess::start(&write_config(dir.path(), ""));
    let pid = daemon.child.id();
    // An operator connection made before, to see the daemon still serves afterwards.
    let mut admin = daemon.admin();
    admin.ping().unwrap();
    set_descriptor_limit(pid, (open_descriptors(pid) + HEADROOM) as u64);

    let mut hello = BytesMut::new();
    Hello {
        magic: kefu_wire::MAGIC,
        min_version: 1,
        max_version: 1,
        client: "descriptors-test".into(),
    }
    .write_frame(0, &mut hello);
    // The kernel completes every connection into the listen backlog; kefud accepts
    // until it runs out of descriptors.
    let mut sockets: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| {
            let mut s = TcpStream::connect(daemon.tcp).expect("connect");
            s.write_all(&hello).unwrap();
            s
        })
        .collect();
    loop {
        let line = daemon
            .stderr_tail
            .recv_timeout(PATIENCE)
            .expect("kefud logged the failed accept");
        if line.contains("accept failed") {
            assert!(line.contains("Too many open files"), "{line}");
            break;
        }
    }
    // Some were accepted and answered; the rest wait in the backlog. Close enough of
    // the answered ones that every other client fits in the descriptors freed.
    let mut ready = vec![false; CLIENTS];
    wait_readable(&sockets, &mut ready, CLIENTS - HEADROOM);
    let answered: Vec<usize> = (0..CLIENTS).filter(|i| ready[*i]).collect();
    assert!(
        answered.len() < CLIENTS,
        "every client was accepted: the limit did not bite"
    );
    for &i in answered.iter().rev() {
        let mut s = sockets.remove(i);
        welcome(&mut s);
        drop(s);
    }
    // No new connection arrives, yet every waiting client is accepted and welcomed.
    let mut ready = vec![false; sockets.len()];
    wait_readable(&sockets, &mut ready, sockets.len());
    for s in &mut sockets {
        assert!(welcome(s).max_frame > 0);
    }
    // And the daemon says it is accepting again; the operator is still served.
    loop {
        let line = daemon
            .stderr_tail
            .recv_timeout(PATIENCE)
            .expect("kefud logged that it accepts again");
        if line.contains("accepting connections again") {
            break;
        }
    }
    admin.ping().expect("the operator is still served");
}
