//! Loopback source addresses: parsing `--sources`, round-robin assignment, port budget.
//!
//! One source address gives a client only the kernel's ephemeral port range
//! (about 28,000 ports by default) towards one server address and port, so
//! a run of tens of thousands of connections binds each socket to one of
//! several `127.0.0.x` addresses before connecting. All of `127.0.0.0/8`
//! routes to the loopback interface on Linux, without configuration.
//!
//! **Invariant**: every address this module hands out is a loopback address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The most addresses one `--sources` value may name: more than any run needs.
pub const MAX_SOURCES: usize = 4096;

/// The default when `--sources` is not given, for an IPv4 server.
pub const DEFAULT_V4: &str = "127.0.0.1-127.0.0.20";

/// Parses a comma-separated list of loopback addresses and inclusive IPv4
/// ranges, e.g. `127.0.0.1-127.0.0.20,127.0.1.1` or `::1`.
///
/// Duplicates are refused (they would silently halve a port budget), as is
/// anything outside `127.0.0.0/8` and `::1`.
pub fn parse_sources(text: &str) -> Result<Vec<IpAddr>, String> {
    let mut out: Vec<IpAddr> = Vec::new();
    for part in text.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(format!("empty item in source list {text:?}"));
        }
        match part.split_once('-') {
            None => out.push(parse_one(part)?),
            Some((first, last)) => {
                let (first, last) = (parse_v4(first.trim())?, parse_v4(last.trim())?);
                let (lo, hi) = (u32::from(first), u32::from(last));
                if lo > hi {
                    return Err(format!("source range {part:?} runs backwards"));
                }
                let count = usize::try_from(hi - lo)
                    .ok()
                    .and_then(|n| n.checked_add(1))
                    .filter(|n| out.len().saturating_add(*n) <= MAX_SOURCES)
                    .ok_or_else(|| format!("more than {MAX_SOURCES} source addresses"))?;
                out.extend((lo..=hi).take(count).map(|a| IpAddr::V4(Ipv4Addr::from(a))));
            }
        }
        if out.len() > MAX_SOURCES {
            return Err(format!("more than {MAX_SOURCES} source addresses"));
        }
    }
    let mut sorted = out.clone();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("source address {} is listed twice", w[0]));
    }
    Ok(out)
}

fn parse_one(text: &str) -> Result<IpAddr, String> {
    let ip: IpAddr = text
        .parse()
        .map_err(|_| format!("{text:?} is not an IP address"))?;
    match ip {
        IpAddr::V4(v4) => check_v4(v4).map(IpAddr::V4),
        IpAddr::V6(v6) if v6 == Ipv6Addr::LOCALHOST => Ok(ip),
        IpAddr::V6(_) => Err(format!(
            "source {text} is not loopback: the only IPv6 loopback address is ::1"
        )),
    }
}

fn parse_v4(text: &str) -> Result<Ipv4Addr, String> {
    let ip: Ipv4Addr = text
        .parse()
        .map_err(|_| format!("{text:?} is not an IPv4 address (ranges are IPv4 only)"))?;
    check_v4(ip)
}

fn check_v4(ip: Ipv4Addr) -> Result<Ipv4Addr, String> {
    if ip.is_loopback() {
        Ok(ip)
    } else {
        Err(format!("source {ip} is not in 127.0.0.0/8"))
    }
}

/// The source address of connection number `index`: round-robin over `sources`.
///
/// `sources` must not be empty (the parser never returns an empty list).
pub fn source_for(sources: &[IpAddr], index: usize) -> IpAddr {
    match sources.len() {
        0 => IpAddr::V4(Ipv4Addr::LOCALHOST),
        n => sources[index % n],
    }
}

/// How many ephemeral ports one source address offers, from
/// `/proc/sys/net/ipv4/ip_local_port_range` (the kernel default where absent).
pub fn ephemeral_ports_per_source() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| parse_port_range(&text))
        .unwrap_or(60999 - 32768 + 1)
}

fn parse_port_range(text: &str) -> Option<u32> {
    let mut it = text.split_whitespace().map(str::parse::<u32>);
    let (lo, hi) = (it.next()?.ok()?, it.next()?.ok()?);
    hi.checked_sub(lo)?.checked_add(1)
}

/// Whether the kernel reuses `TIME_WAIT` ports for new loopback connections
/// (`net.ipv4.tcp_tw_reuse` 1, or 2 — the default — which means loopback only).
pub fn time_wait_reuse() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_tw_reuse")
        .map(|t| matches!(t.trim(), "1" | "2"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().unwrap())
    }

    #[test]
    fn source_lists_parse() {
        let cases: &[(&str, &[&str])] = &[
            ("127.0.0.1", &["127.0.0.1"]),
            (
                "127.0.0.1-127.0.0.3",
                &["127.0.0.1", "127.0.0.2", "127.0.0.3"],
            ),
            ("127.0.0.7-127.0.0.7", &["127.0.0.7"]),
            (
                "127.0.0.255-127.0.1.1",
                &["127.0.0.255", "127.0.1.0", "127.0.1.1"],
            ),
            (
                " 127.0.0.1 , 127.0.5.5-127.0.5.6",
                &["127.0.0.1", "127.0.5.5", "127.0.5.6"],
            ),
        ];
        for (text, want) in cases {
            let want: Vec<IpAddr> = want.iter().map(|s| v4(s)).collect();
            assert_eq!(parse_sources(text).unwrap(), want, "{text}");
        }
        assert_eq!(
            parse_sources("::1").unwrap(),
            vec![IpAddr::V6(Ipv6Addr::LOCALHOST)]
        );
        assert_eq!(parse_sources(DEFAULT_V4).unwrap().len(), 20);
    }

    #[test]
    fn bad_source_lists_are_refused() {
        let cases = [
            ("", "empty item"),
            ("127.0.0.1,", "empty item"),
            ("10.0.0.1", "not in 127.0.0.0/8"),
            ("127.0.0.1-10.0.0.1", "not in 127.0.0.0/8"),
            ("0.0.0.0", "not in 127.0.0.0/8"),
            ("127.0.0.9-127.0.0.2", "backwards"),
            ("::2", "not loopback"),
            ("::1-::2", "IPv4 only"),
            ("localhost", "not an IP address"),
            ("127.0.0.1-127.255.255.255", "more than"),
            ("127.0.0.1,127.0.0.1", "listed twice"),
            ("127.0.0.1-127.0.0.4,127.0.0.3", "listed twice"),
        ];
        for (text, why) in cases {
            let err = parse_sources(text).unwrap_err();
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }

    #[test]
    fn round_robin_and_port_range() {
        let s = parse_sources("127.0.0.1-127.0.0.3").unwrap();
        let got: Vec<IpAddr> = (0..5).map(|i| source_for(&s, i)).collect();
        assert_eq!(
            got,
            [
                "127.0.0.1",
                "127.0.0.2",
                "127.0.0.3",
                "127.0.0.1",
                "127.0.0.2"
            ]
            .map(v4)
        );
        assert_eq!(parse_port_range("32768\t60999\n"), Some(28232));
        assert_eq!(parse_port_range("9 3"), None);
        assert_eq!(parse_port_range("junk"), None);
    }
}
