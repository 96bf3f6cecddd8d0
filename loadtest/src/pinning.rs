//! `kefu-load sweep --pin`: the generator's threads on some CPUs and every
//! server (kefud, the relay, nats-server) on the others.
//!
//! Unpinned, generator and server share every core: a server's `send()` to a
//! loopback client wakes a generator thread, which the scheduler then often
//! runs on the server's own core, preempting it about once a message (issue
//! 13, session 13's `perf sched` figures). Pinned, what remains of the tail is
//! the server's own.
//!
//! The split is by affinity masks set with `sched_setaffinity` (`sys`): the
//! sweep's own thread before it starts any other (every generator thread
//! inherits it), and each server in its child before `exec` (every thread of
//! the server inherits it). What the kernel then reports for every thread of
//! each process, [`observed`], goes into the report beside the plan.

use crate::sys;
use serde::Serialize;
use std::fmt;

/// A set of CPUs, written as Linux writes it (`0-2,5`): sorted, each once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct CpuList(Vec<usize>);

impl CpuList {
    /// Parses `0`, `1-3`, `0,2-3` (the `--pin-*` flags' values).
    pub fn parse(text: &str) -> Result<CpuList, String> {
        let mut cpus = Vec::new();
        for part in text.split(',').map(str::trim) {
            let cpu = |s: &str| -> Result<usize, String> {
                s.trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|&c| c < sys::MAX_CPUS)
                    .ok_or_else(|| {
                        format!(
                            "{s:?} in {text:?} is not a CPU number (0 to {})",
                            sys::MAX_CPUS - 1
                        )
                    })
            };
            let (first, last) = match part.split_once('-') {
                Some((a, b)) => (cpu(a)?, cpu(b)?),
                None => (cpu(part)?, cpu(part)?),
            };
            if first > last {
                return Err(format!(
                    "{part:?} in {text:?} is a range that runs backwards"
                ));
            }
            cpus.extend(first..=last);
        }
        cpus.sort_unstable();
        cpus.dedup();
        Ok(CpuList(cpus))
    }

    /// The CPUs, in increasing order.
    pub fn cpus(&self) -> &[usize] {
        &self.0
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for CpuList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut cpus = self.0.iter().copied().peekable();
        let mut first = true;
        while let Some(start) = cpus.next() {
            let mut end = start;
            while cpus.peek() == Some(&(end + 1)) {
                end += 1;
                cpus.next();
            }
            let sep = if std::mem::take(&mut first) { "" } else { "," };
            if start == end {
                write!(f, "{sep}{start}")?;
            } else {
                write!(f, "{sep}{start}-{end}")?;
            }
        }
        Ok(())
    }
}

impl From<CpuList> for String {
    fn from(list: CpuList) -> String {
        list.to_string()
    }
}

/// Which CPUs the generator and the servers run on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pinning {
    /// The sweep's own threads: the generator's drivers, and its bookkeeping.
    pub generator: CpuList,
    /// Every thread of every server.
    pub servers: CpuList,
}

impl Pinning {
    /// The split asked for, over the CPUs this process may use; a CPU that is
    /// not one of them, a CPU in both sets, an empty set, or a box with a
    /// single CPU is refused.
    pub fn choose(
        generator: Option<&CpuList>,
        servers: Option<&CpuList>,
    ) -> anyhow::Result<Pinning> {
        let allowed = CpuList(sys::allowed_cpus()?);
        Pinning::split(&allowed, generator, servers).map_err(anyhow::Error::msg)
    }

    /// [`Pinning::choose`] over `allowed`. With neither set given the
    /// generator takes the lower half of the CPUs (at least one) and the
    /// servers the rest: CPU 0 and CPU 1 on two cores. With one given, the
    /// other is every allowed CPU it leaves.
    fn split(
        allowed: &CpuList,
        generator: Option<&CpuList>,
        servers: Option<&CpuList>,
    ) -> Result<Pinning, String> {
        if allowed.len() < 2 {
            return Err(format!(
                "--pin needs at least 2 CPUs, and this process may run only on CPU {allowed}"
            ));
        }
        for (flag, list) in [("--pin-generator", generator), ("--pin-servers", servers)] {
            let Some(list) = list else { continue };
            if list.len() == 0 {
                return Err(format!("{flag} names no CPU"));
            }
            if let Some(cpu) = list.0.iter().find(|c| !allowed.0.contains(c)) {
                return Err(format!(
                    "{flag}: CPU {cpu} is not one this process may run on ({allowed})"
                ));
            }
        }
        let rest = |taken: &CpuList, flag: &str| -> Result<CpuList, String> {
            let left: Vec<usize> = allowed
                .0
                .iter()
                .copied()
                .filter(|c| !taken.0.contains(c))
                .collect();
            if left.is_empty() {
                return Err(format!("{flag} {taken} leaves no other CPU of {allowed}"));
            }
            Ok(CpuList(left))
        };
        let (generator, servers) = match (generator, servers) {
            (Some(g), Some(s)) => (g.clone(), s.clone()),
            (Some(g), None) => (g.clone(), rest(g, "--pin-generator")?),
            (None, Some(s)) => (rest(s, "--pin-servers")?, s.clone()),
            (None, None) => {
                let half = allowed.len() / 2;
                (
                    CpuList(allowed.0[..half].to_vec()),
                    CpuList(allowed.0[half..].to_vec()),
                )
            }
        };
        if let Some(cpu) = generator.0.iter().find(|c| servers.0.contains(c)) {
            return Err(format!(
                "--pin-generator {generator} and --pin-servers {servers} share CPU {cpu}"
            ));
        }
        Ok(Pinning { generator, servers })
    }

    /// Keeps the calling thread, and every thread it starts from now on, on the generator's CPUs.
    pub fn pin_generator(&self) -> anyhow::Result<()> {
        sys::pin_this_thread(self.generator.cpus())
            .map_err(|e| anyhow::anyhow!("pinning the generator to CPU {}: {e}", self.generator))
    }

    /// Makes a server's process start on the servers' CPUs.
    pub fn pin_server(&self, command: &mut std::process::Command) -> anyhow::Result<()> {
        sys::pin_command(command, self.servers.cpus())
            .map_err(|e| anyhow::anyhow!("pinning a server to CPU {}: {e}", self.servers))
    }
}

/// The CPUs the kernel lets process `pid`'s threads run on, from
/// `/proc/PID/task/*/status`: one list if every thread has the same, else each
/// distinct one joined by ` | `; `None` if the process is gone.
pub fn observed(pid: u32) -> Option<String> {
    let mut lists: Vec<String> = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue; // the thread ended meanwhile
        };
        let list = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .map(|l| l.trim().to_string());
        if let Some(list) = list.filter(|l| !lists.contains(l)) {
            lists.push(list);
        }
    }
    lists.sort();
    (!lists.is_empty()).then(|| lists.join(" | "))
}

/// Involuntary context switches so far, summed over process `pid`'s live
/// threads (`nonvoluntary_ctxt_switches` in `/proc/PID/task/*/status`): how
/// often the scheduler took a core from the server while it could still run,
/// which pinning is meant to make rare. `None` if the process is gone.
pub fn preemptions(pid: u32) -> Option<u64> {
    let mut sum = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue; // the thread ended meanwhile
        };
        sum += status
            .lines()
            .find_map(|l| l.strip_prefix("nonvoluntary_ctxt_switches:"))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or(0);
    }
    Some(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> CpuList {
        CpuList::parse(text).unwrap()
    }

    #[test]
    fn cpu_lists_parse_and_print_as_linux_writes_them() {
        assert_eq!(list("3,0-1,1").cpus(), [0, 1, 3]);
        assert_eq!(list("0-2,5,7-8").to_string(), "0-2,5,7-8");
        assert_eq!(list("4").to_string(), "4");
        for bad in ["", "x", "1-", "3-1", "0,,1", "-1", "99999"] {
            assert!(CpuList::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn two_cpus_split_generator_first() {
        let p = Pinning::split(&list("0-1"), None, None).unwrap();
        assert_eq!((p.generator, p.servers), (list("0"), list("1")));
        let p = Pinning::split(&list("0-3"), None, None).unwrap();
        assert_eq!((p.generator, p.servers), (list("0-1"), list("2-3")));
        // Three CPUs: the servers get the larger share.
        let p = Pinning::split(&list("0-2"), None, None).unwrap();
        assert_eq!((p.generator, p.servers), (list("0"), list("1-2")));
    }

    #[test]
    fn one_set_given_leaves_the_other_the_rest() {
        let all = list("0-3");
        let p = Pinning::split(&all, None, Some(&list("3"))).unwrap();
        assert_eq!((p.generator, p.servers), (list("0-2"), list("3")));
        let p = Pinning::split(&all, Some(&list("1")), None).unwrap();
        assert_eq!((p.generator, p.servers), (list("1"), list("0,2-3")));
        let p = Pinning::split(&all, Some(&list("0")), Some(&list("2"))).unwrap();
        assert_eq!((p.generator, p.servers), (list("0"), list("2")));
    }

    #[test]
    fn impossible_splits_are_refused_with_the_reason() {
        let refused = |allowed: &str, g: Option<&str>, s: Option<&str>| {
            let (g, s) = (g.map(list), s.map(list));
            Pinning::split(&list(allowed), g.as_ref(), s.as_ref()).unwrap_err()
        };
        assert!(refused("0", None, None).contains("at least 2 CPUs"));
        assert!(refused("0-1", None, Some("2")).contains("CPU 2 is not one"));
        assert!(refused("0-1", Some("0-1"), None).contains("leaves no other CPU"));
        assert!(refused("0-1", None, Some("0-1")).contains("leaves no other CPU"));
        assert!(refused("0-3", Some("0-1"), Some("1-2")).contains("share CPU 1"));
    }

    #[test]
    fn this_process_threads_are_observed() {
        let mine = observed(std::process::id()).unwrap();
        let allowed = CpuList(sys::allowed_cpus().unwrap()).to_string();
        assert!(
            mine.split(" | ").any(|l| l == allowed),
            "{mine} vs {allowed}"
        );
        assert_eq!(observed(u32::MAX), None);
        assert!(preemptions(std::process::id()).is_some());
        assert_eq!(preemptions(u32::MAX), None);
    }

    #[test]
    fn a_pinned_child_runs_on_its_cpus_only() {
        let allowed = sys::allowed_cpus().unwrap();
        let last = CpuList(vec![*allowed.last().unwrap()]);
        let mut command = std::process::Command::new("sleep");
        command.arg("30");
        sys::pin_command(&mut command, last.cpus()).unwrap();
        let mut child = command.spawn().unwrap();
        let seen = observed(child.id());
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(seen, Some(last.to_string()));
    }
}
