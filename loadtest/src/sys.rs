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

/// A `timerfd` on `CLOCK_MONOTONIC` (the clock of `std::time::Instant`), to
/// wake an event loop at a precise instant: `epoll_wait` only takes whole
/// milliseconds, and an open-loop schedule needs its sends on time to the
/// tens of microseconds without spinning a core the daemon needs.
///
/// Register its descriptor for reading (`mio::unix::SourceFd`); it becomes
/// readable when it expires. Registered edge-triggered (as mio does), every
/// expiry is a new edge whether or not the count was read, and re-arming resets
/// the count: a loop that re-arms after each expiry need not read it (one
/// `read` less per wake-up).
#[derive(Debug)]
pub struct Timer {
    fd: std::os::fd::OwnedFd,
}

impl Timer {
    /// A disarmed, nonblocking timer.
    pub fn new() -> io::Result<Timer> {
        // SAFETY: no pointers are passed; the result is checked below.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by `timerfd_create`, is open, and is
        // owned by nobody else.
        let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        Ok(Timer { fd })
    }

    /// Arms the timer to expire once, `after` from now (at least 1 µs, since
    /// zero would disarm it). Re-arming replaces the previous expiry.
    pub fn arm(&self, after: Duration) -> io::Result<()> {
        let after = after.max(Duration::from_micros(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: libc::time_t::try_from(after.as_secs()).unwrap_or(libc::time_t::MAX),
                tv_nsec: after.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: the descriptor is open (owned by `self`); `spec` is a valid
        // `itimerspec` that outlives the call; the old value is not asked for.
        let rc =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Consumes the expiry count (the tests look at the count's reset).
    #[cfg(test)]
    pub fn clear(&self) {
        let mut count = [0u8; 8];
        // SAFETY: the descriptor is open; `count` is a writable buffer of the
        // length passed. A nonblocking timer with no expiry returns EAGAIN,
        // which is fine to ignore.
        let _ = unsafe { libc::read(self.fd.as_raw_fd(), count.as_mut_ptr().cast(), count.len()) };
    }
}

impl AsRawFd for Timer {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

/// An epoll descriptor's ready events, waited for with a nanosecond timeout
/// (`epoll_pwait2`): a driver sleeps until its next due message without a
/// timer descriptor to re-arm before every sleep (`timerfd_settime` was the
/// largest single cost of the generator's loop on a VM, where reprogramming
/// the timer leaves the guest).
///
/// On a kernel without `epoll_pwait2` (before 5.11: ENOSYS) it falls back,
/// for good, to `epoll_wait` with the timeout rounded up to whole
/// milliseconds; [`EpollWait::precise`] then says so, and a driver that needs
/// its sends on time arms a [`Timer`] as well.
pub struct EpollWait {
    events: Vec<libc::epoll_event>,
    ready: usize,
    /// `epoll_pwait2` is there (false once it answered ENOSYS).
    precise: bool,
}

impl EpollWait {
    /// Room for `capacity` events per wait.
    pub fn new(capacity: usize) -> EpollWait {
        EpollWait {
            events: vec![libc::epoll_event { events: 0, u64: 0 }; capacity.max(1)],
            ready: 0,
            precise: true,
        }
    }

    /// The same, as on a kernel without `epoll_pwait2` (the fallback's tests).
    #[cfg(test)]
    pub fn millisecond_waits(capacity: usize) -> EpollWait {
        EpollWait {
            precise: false,
            ..EpollWait::new(capacity)
        }
    }

    /// Whether waits end on their timeout to the nanosecond (`epoll_pwait2`),
    /// not rounded up to the millisecond (`epoll_wait`).
    pub fn precise(&self) -> bool {
        self.precise
    }

    /// Waits on `epoll` (a `mio::Poll`'s descriptor: its tokens are the events'
    /// data) until something is ready or `timeout` passed.
    pub fn wait(&mut self, epoll: &impl AsRawFd, timeout: Duration) -> io::Result<()> {
        let capacity = libc::c_int::try_from(self.events.len()).unwrap_or(libc::c_int::MAX);
        self.ready = 0;
        let n = if self.precise {
            let ts = libc::timespec {
                tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
                tv_nsec: timeout.subsec_nanos() as libc::c_long,
            };
            // SAFETY: `events` is a writable buffer of at least `capacity` epoll_event
            // entries that outlives the call; `ts` is a valid timespec; a null
            // sigmask leaves the signal mask as it is.
            let n = unsafe {
                libc::epoll_pwait2(
                    epoll.as_raw_fd(),
                    self.events.as_mut_ptr(),
                    capacity,
                    &ts,
                    std::ptr::null(),
                )
            };
            if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
                self.precise = false;
                return self.wait(epoll, timeout);
            }
            n
        } else {
            // Rounded up: a wait never ends before its timeout.
            let ms = libc::c_int::try_from(timeout.as_nanos().div_ceil(1_000_000))
                .unwrap_or(libc::c_int::MAX);
            // SAFETY: as above; `epoll_wait` takes the timeout by value.
            unsafe { libc::epoll_wait(epoll.as_raw_fd(), self.events.as_mut_ptr(), capacity, ms) }
        };
        match usize::try_from(n) {
            Ok(n) => {
                self.ready = n;
                Ok(())
            }
            Err(_) => Err(io::Error::last_os_error()),
        }
    }

    /// The last wait's events: (token, the peer closed or the socket failed).
    pub fn ready(&self) -> impl Iterator<Item = (usize, bool)> + '_ {
        self.events[..self.ready].iter().map(|e| {
            // Copied out: the struct is packed on x86_64.
            let (flags, token) = (e.events, e.u64);
            let closed = flags & (libc::EPOLLHUP | libc::EPOLLRDHUP | libc::EPOLLERR) as u32 != 0;
            (token as usize, closed)
        })
    }
}

/// Makes this thread's timed sleeps end on time: the kernel's default timer
/// slack (50 µs) would let a wait with a timeout end up to that much late.
pub fn precise_sleeps() -> io::Result<()> {
    // SAFETY: PR_SET_TIMERSLACK takes an integer argument and touches no memory of ours.
    if unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// CPUs an affinity mask can name here (`CPU_SETSIZE`).
pub const MAX_CPUS: usize = libc::CPU_SETSIZE as usize;

/// The affinity mask of `cpus` (each below [`MAX_CPUS`]).
fn cpu_set(cpus: &[usize]) -> io::Result<libc::cpu_set_t> {
    // SAFETY: `cpu_set_t` is a plain bit array; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        if cpu >= MAX_CPUS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("CPU {cpu} is beyond the {MAX_CPUS} an affinity mask can name"),
            ));
        }
        // SAFETY: `cpu` is below CPU_SETSIZE, the number of bits in `set`.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    Ok(set)
}

/// The CPUs the calling thread may run on, in increasing order.
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    // SAFETY: as in `cpu_set`.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a writable mask of the size passed, alive for the call.
    if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) } != 0
    {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: every index is below CPU_SETSIZE, the number of bits in `set`.
    Ok((0..MAX_CPUS)
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect())
}

/// Keeps the calling thread on `cpus`; the threads it starts from now on inherit that.
pub fn pin_this_thread(cpus: &[usize]) -> io::Result<()> {
    let set = cpu_set(cpus)?;
    // SAFETY: `set` is a valid mask of the size passed, alive for the call.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes the process `command` starts run on `cpus` only: the mask is set in
/// the child before `exec`, so every thread the program ever starts inherits
/// it. Spawning fails if the kernel refuses the mask.
pub fn pin_command(command: &mut std::process::Command, cpus: &[usize]) -> io::Result<()> {
    use std::os::unix::process::CommandExt;
    let set = cpu_set(cpus)?;
    // SAFETY: the closure runs in the forked child before exec. It makes one
    // system call (async-signal-safe) on its own copy of `set`, reads errno,
    // and allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(move || {
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(())
}

/// The CPUs online on the machine, whatever this thread's affinity (a pinned sweep
/// runs on some of them only, but the box's saturation is judged over all).
pub fn online_cpus() -> usize {
    // SAFETY: `sysconf` takes no pointers and only reads a constant.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(0).max(1)
}

/// Clock ticks per second, the unit of CPU times in `/proc/PID/stat` (100 where unknown).
pub fn clock_ticks_per_sec() -> u64 {
    // SAFETY: `sysconf` takes no pointers and only reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100)
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

/// Sends signal `sig` to process `pid` (`kefu-load pair`: SIGKILL to a primary).
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    if pid <= 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{pid} is not a process id"),
        ));
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; a positive
    // pid names one process (never a group).
    if unsafe { libc::kill(pid, sig) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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

    /// A timer registered with a new poll under token 7.
    fn registered_timer() -> (Timer, mio::Poll) {
        let timer = Timer::new().unwrap();
        let poll = mio::Poll::new().unwrap();
        let fd = timer.as_raw_fd();
        poll.registry()
            .register(
                &mut mio::unix::SourceFd(&fd),
                mio::Token(7),
                mio::Interest::READABLE,
            )
            .unwrap();
        (timer, poll)
    }

    #[test]
    fn an_epoll_wait_reports_tokens_or_times_out_empty() {
        precise_sleeps().unwrap();
        // epoll_pwait2, and the fallback of kernels without it.
        for mut wait in [EpollWait::new(4), EpollWait::millisecond_waits(4)] {
            let (timer, poll) = registered_timer();
            let began = std::time::Instant::now();
            wait.wait(&poll, Duration::from_micros(100)).unwrap();
            assert_eq!(wait.ready().count(), 0, "nothing was ready");
            // Rounded up, never down: a wait ends no earlier than asked.
            assert!(began.elapsed() >= Duration::from_micros(100));
            timer.arm(Duration::from_micros(300)).unwrap();
            // Wait for the expiry itself: the wait returns on it.
            loop {
                wait.wait(&poll, Duration::from_secs(10)).unwrap();
                if wait.ready().any(|(token, closed)| token == 7 && !closed) {
                    break;
                }
            }
        }
    }

    #[test]
    fn timer_expires_and_clears() {
        let (timer, mut poll) = registered_timer();
        let mut events = mio::Events::with_capacity(4);
        for _ in 0..2 {
            let armed = std::time::Instant::now();
            timer.arm(Duration::from_micros(300)).unwrap();
            // Wait for the expiry itself, not a sleep: the poll returns on it.
            loop {
                poll.poll(&mut events, Some(Duration::from_secs(10)))
                    .unwrap();
                if events.iter().any(|e| e.token() == mio::Token(7)) {
                    break;
                }
            }
            assert!(armed.elapsed() >= Duration::from_micros(300));
            timer.clear();
        }
    }

    #[test]
    fn a_rearmed_timer_wakes_again_without_being_read() {
        // The traffic loops rely on this: each expiry is a new edge for mio.
        let (timer, mut poll) = registered_timer();
        let mut events = mio::Events::with_capacity(4);
        for _ in 0..3 {
            let armed = std::time::Instant::now();
            timer.arm(Duration::from_micros(200)).unwrap();
            loop {
                poll.poll(&mut events, Some(Duration::from_secs(10)))
                    .unwrap();
                if events.iter().any(|e| e.token() == mio::Token(7)) {
                    break;
                }
                assert!(armed.elapsed() < Duration::from_secs(10), "no wake-up");
            }
            assert!(armed.elapsed() >= Duration::from_micros(200));
        }
    }

    #[test]
    fn bind_no_port_applies_to_a_tcp_socket() {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        set_bind_address_no_port(&s).unwrap();
    }
}
