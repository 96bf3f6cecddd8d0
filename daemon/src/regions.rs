//! The address-to-region table of site analytics (S5, manual §4.8; `wire/PROTOCOL.md`
//! section 33.4): `[web] regions_file`, read once at start.
//!
//! The file is text, one `CIDR region-name` a line (`10.0.0.0/8 Beijing`,
//! `2001:db8::/32 上海`; a bare address is a /32 or /128), `#` starts a comment, blank
//! lines are skipped. The name is the rest of the line, trimmed. Limits:
//! [`MAX_LINES`] lines, [`MAX_REGIONS`] distinct names, [`MAX_REGION_CHARS`]
//! characters a name; a prefix given twice is refused. Any fault refuses the whole
//! file with its line number, so kefud does not start on a half-read table.
//!
//! Lookup is longest-prefix-first: one hash map per prefix length present, tried from
//! the longest (at most 33 probes for IPv4, 129 for IPv6). An IPv4-mapped IPv6 address
//! (`::ffff:a.b.c.d`) is looked up as IPv4. An address in no prefix is
//! [`UNKNOWN_REGION`]; with no file every address is.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Most lines a regions file may have (comments and blank lines included).
pub const MAX_LINES: usize = 200_000;
/// Most distinct region names (each is a counter of every day's figures).
pub const MAX_REGIONS: usize = 500;
/// Longest region name, characters.
pub const MAX_REGION_CHARS: usize = 64;
/// The region of an address no line covers (and of every address without a file).
pub const UNKNOWN_REGION: &str = "未知";

/// A regions file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RegionsError {
    /// The file could not be read.
    #[error("regions_file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line is wrong (or the file is too long).
    #[error("regions_file {path} line {line}: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// One address family's prefixes: by prefix length, the masked network to a region.
#[derive(Debug, Default)]
struct Family {
    by_len: BTreeMap<u8, HashMap<u128, u16>>,
}

impl Family {
    fn lookup(&self, bits: u128, width: u8) -> Option<u16> {
        self.by_len
            .iter()
            .rev()
            .find_map(|(len, map)| map.get(&mask(bits, *len, width)).copied())
    }
}

/// Keeps the top `len` of the `width` low bits of `bits`.
fn mask(bits: u128, len: u8, width: u8) -> u128 {
    if len == 0 {
        return 0;
    }
    let all: u128 = if width >= 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    };
    let host = u32::from(width - len.min(width));
    let net = if host >= 128 { 0 } else { all >> host << host };
    bits & net
}

/// The table: address to region name.
#[derive(Debug, Default)]
pub struct RegionTable {
    names: Vec<String>,
    v4: Family,
    v6: Family,
}

impl RegionTable {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<RegionTable, RegionsError> {
        let text = std::fs::read_to_string(path).map_err(|source| RegionsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        RegionTable::parse(&text).map_err(|(line, message)| RegionsError::Line {
            path: path.to_path_buf(),
            line,
            message,
        })
    }

    /// Parses a file's text; a fault is its 1-based line number and what is wrong.
    pub fn parse(text: &str) -> Result<RegionTable, (usize, String)> {
        let mut table = RegionTable::default();
        let mut ids: HashMap<String, u16> = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            if line > MAX_LINES {
                return Err((line, format!("more than {MAX_LINES} lines")));
            }
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let (cidr, name) = content
                .split_once(char::is_whitespace)
                .map(|(c, n)| (c, n.trim()))
                .ok_or((line, "expected `CIDR region-name`".to_string()))?;
            let count = name.chars().count();
            if count == 0 || count > MAX_REGION_CHARS || name.chars().any(char::is_control) {
                return Err((
                    line,
                    format!("region name: 1..={MAX_REGION_CHARS} characters, no control"),
                ));
            }
            let (addr, len) = parse_cidr(cidr).map_err(|m| (line, m))?;
            let next = table.names.len();
            let id = match ids.get(name) {
                Some(id) => *id,
                None if next >= MAX_REGIONS => {
                    return Err((line, format!("more than {MAX_REGIONS} region names")));
                }
                None => {
                    let id = u16::try_from(next).map_err(|_| (line, "too many".to_string()))?;
                    ids.insert(name.to_string(), id);
                    table.names.push(name.to_string());
                    id
                }
            };
            let (family, bits, width) = match addr {
                IpAddr::V4(a) => (&mut table.v4, u128::from(u32::from(a)), 32),
                IpAddr::V6(a) => (&mut table.v6, u128::from(a), 128),
            };
            let map = family.by_len.entry(len).or_default();
            if map.insert(mask(bits, len, width), id).is_some() {
                return Err((line, format!("{cidr}: this prefix is listed twice")));
            }
        }
        Ok(table)
    }

    /// The region of `addr` ([`UNKNOWN_REGION`] if no prefix covers it).
    pub fn region_of(&self, addr: Option<IpAddr>) -> &str {
        let found = match addr.map(canonical) {
            Some(IpAddr::V4(a)) => self.v4.lookup(u128::from(u32::from(a)), 32),
            Some(IpAddr::V6(a)) => self.v6.lookup(u128::from(a), 128),
            None => None,
        };
        found
            .and_then(|id| self.names.get(usize::from(id)))
            .map_or(UNKNOWN_REGION, String::as_str)
    }

    /// How many distinct region names the table has.
    pub fn region_count(&self) -> usize {
        self.names.len()
    }
}

/// An IPv4-mapped IPv6 address as IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// `a.b.c.d/n`, `x::/n` or a bare address.
fn parse_cidr(cidr: &str) -> Result<(IpAddr, u8), String> {
    let (addr, len) = match cidr.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (cidr, None),
    };
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("{cidr}: not an IPv4 or IPv6 address"))?;
    let width: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => width,
        Some(l) => l
            .parse::<u8>()
            .ok()
            .filter(|l| *l <= width)
            .ok_or_else(|| format!("{cidr}: prefix length 0..={width}"))?,
    };
    Ok((addr, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn longest_prefix_wins_for_both_families() {
        let t = RegionTable::parse(
            "# comment\n\n10.0.0.0/8 North\n10.1.0.0/16 South # near\n10.1.2.3 One\n\
             2001:db8::/32 东\n2001:db8:1::/48 西\n0.0.0.0/0 Anywhere4\n",
        )
        .expect("parses");
        assert_eq!(t.region_of(ip("10.9.9.9")), "North");
        assert_eq!(t.region_of(ip("10.1.9.9")), "South");
        assert_eq!(t.region_of(ip("10.1.2.3")), "One");
        assert_eq!(t.region_of(ip("192.168.1.1")), "Anywhere4");
        assert_eq!(t.region_of(ip("::ffff:10.1.2.3")), "One");
        assert_eq!(t.region_of(ip("2001:db8:5::1")), "东");
        assert_eq!(t.region_of(ip("2001:db8:1::1")), "西");
        assert_eq!(t.region_of(ip("2002::1")), UNKNOWN_REGION);
        assert_eq!(t.region_of(None), UNKNOWN_REGION);
        assert_eq!(t.region_count(), 6);
    }

    #[test]
    fn faults_name_their_line() {
        let cases = [
            ("10.0.0.0/8 A\nbogus B\n", 2),
            ("10.0.0.0/33 A\n", 1),
            ("\n\n10.0.0.0/8\n", 3),
            ("10.0.0.0/8 A\n10.0.0.1/8 B\n", 2),
            (
                &format!("1.2.3.4 {}\n", "x".repeat(MAX_REGION_CHARS + 1)),
                1,
            ),
        ];
        for (text, line) in cases {
            let e = RegionTable::parse(text).expect_err(text);
            assert_eq!(e.0, line, "{text}: {}", e.1);
        }
        let many: String = (0..=MAX_REGIONS)
            .map(|i| format!("10.0.{}.{} R{i}\n", i / 256, i % 256))
            .collect();
        assert_eq!(
            RegionTable::parse(&many).expect_err("too many").0,
            MAX_REGIONS + 1
        );
    }
}
