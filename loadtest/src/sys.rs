//! The few operating-system calls the tool makes through `libc`, each behind a safe function.
//!
//! **Invariant**: this is the only module with `unsafe` code; every block
//! says why it is sound.

use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the new soft limit.
///
/// An unlimited hard limit is capped at `/proc/sys/fs/nr_open`, the most the
/// kernel accepts for this resource.
pub fn raise_nofile_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable `rlimit` that outlives the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut target = lim.rlim_max;
    if target == libc::RLIM_INFINITY {
        target = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(1 << 20);
    }
    if target > lim.rlim_cur {
        let new = libc::rlimit {
            rlim_cur: target,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `new` is a valid `rlimit` that outlives the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } != 0 {
            return Err(io::Error::last_os_error());
        }
        lim.rlim_cur = target;
    }
    #[allow(clippy::unnecessary_cast)] // `rlim_t` is not `u64` on every target.
    Ok(lim.rlim_cur as u64)
}

/// Sets `IP_BIND_ADDRESS_NO_PORT` on an IPv4 socket about to be bound to a
/// source address, so the kernel picks the source port at `connect` time from
/// the full 4-tuple (and may reuse loopback `TIME_WAIT` ports) instead of
/// reserving a port for the address alone at `bind` time.
#[cfg(target_os = "linux")]
pub fn set_bind_address_no_port(socket: &impl AsRawFd) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: the descriptor is open for the duration of the call (borrowed),
    // and the option value points at a live `c_int` whose size is passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Elsewhere the option does not exist; binding reserves the port as usual.
#[cfg(not(target_os = "linux"))]
pub fn set_bind_address_no_port(_socket: &impl AsRawFd) -> io::Result<()> {
    Ok(())
}

/// CPU time (user + system) this process has used so far.
pub fn cpu_time() -> Duration {
    // SAFETY: `rusage` is plain old data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage` that outlives the call.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_raised_and_cpu_time_moves_forward() {
        let limit = raise_nofile_limit().unwrap();
        assert!(limit >= 64);
        let a = cpu_time();
        let mut x = 0u64;
        for i in 0..1_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(cpu_time() >= a);
    }

    #[test]
    fn bind_no_port_applies_to_a_tcp_socket() {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        set_bind_address_no_port(&s).unwrap();
    }
}
