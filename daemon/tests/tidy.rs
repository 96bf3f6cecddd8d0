//! Repository checks, run as an ordinary test (rust-analyzer's `tidy.rs`): every Rust
//! file opens with a `//!` module doc, integration tests do not sleep, the wall clock is
//! read only where it must be, no test is `#[ignore]`d or `#[should_panic]`, and the
//! daemon's account logic (`daemon/src/centre/`) reaches neither the loop, connections,
//! mio nor RocksDB (it lives in the daemon crate, so Cargo cannot say it; this does).
//! The daemon's top-level modules form layers: no cycle of `crate::` paths between
//! them, RocksDB named only by the store's engine file, mio only by the loop's files.
//! No function of the daemon's code (unit tests aside) is longer than
//! [`MAX_FN_LINES`] lines.
//!
//! Each exception is listed below with its reason. The lists only shrink: a new offender
//! fails, and so does an entry that no longer offends (remove it, or lower its count).

use std::fs;
use std::path::{Path, PathBuf};

/// The folders checked, relative to the repository root.
const CHECKED: [&str; 5] = ["wire", "daemon", "tools", "loadtest", "benches"];

/// Integration tests that sleep today, with how many lines of each do. Sleeping as
/// synchronisation makes tests slow and flaky; wait for an observable event instead.
const SLEEP_ALLOWED: &[(&str, usize)] = &[
    // Gives the daemon time to notice a dropped connection before a signal to the gone
    // peer; should wait for something the test can observe instead.
    ("daemon/tests/signals.rs", 1),
    // Stops the daemon 1.5 s into kefu-load's schedule for PAUSE: the timed pause is the
    // experiment itself, not synchronisation.
    ("loadtest/tests/pause.rs", 2),
    // Paces the agent's messages (10 ms apart) so that they straddle the account's move:
    // the spread over time is the experiment; each message still waits for its answer.
    ("daemon/tests/cluster_move.rs", 1),
    // The interval of `poll`, which waits for a state of etcd or of another process
    // (a leader key, a metric) that pushes no event to wait on; bounded by a deadline.
    ("daemon/tests/support/pair.rs", 1),
];

/// What code under `daemon/src/centre/` may not name: the loop and its connections,
/// mio, and the storage engine. The centre sees connections as `session::Caller` and
/// storage as the `KvStore` trait, which is what keeps it testable in memory.
const CENTRE_MAY_NOT_NAME: &[&str] = &[
    "crate::shard",
    "crate::conn",
    "mio::",
    "rocksdb",
    "RocksStore",
];

/// Files that may read the wall clock (`SystemTime::now`); everything else gets time
/// from the injected clock (`daemon/src/clock.rs`) so tests can move it. Clippy checks
/// the same rule (`clippy.toml`), each of these carrying a narrow `#[allow]`.
const WALL_CLOCK_ALLOWED: &[&str] = &[
    // `SystemClock`, the real clock itself.
    "daemon/src/clock.rs",
    // kefuctl has no daemon clock: it dates what it prints by the operator's clock.
    "tools/src/date.rs",
    // kefu-load provisions and signs for a daemon running on the real clock.
    "loadtest/src/provision.rs",
    "loadtest/src/scenarios/crash_loop.rs",
    "loadtest/src/scenarios/chat.rs",
    // Test helpers for daemons running on the real clock (account expiry, TOTP steps).
    "daemon/tests/support/mod.rs",
    "tools/tests/cli.rs",
];

/// This file: it names what it forbids, so only its module doc is checked.
const ME: &str = "daemon/tests/tidy.rs";

const WALL_CLOCK: &str = "SystemTime::now";
const IGNORE: &str = "#[ignore";
const SHOULD_PANIC: &str = "#[should_panic";

#[test]
fn tidy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in CHECKED {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(
        files.len() > 100,
        "found only {} Rust files under {}: wrong root?",
        files.len(),
        root.display()
    );

    let mut problems = Vec::new();
    let mut sleeps: Vec<(String, Vec<usize>)> = Vec::new();
    let mut clock_readers = Vec::new();
    for path in &files {
        let name = relative(&root, path);
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                problems.push(format!("{name}: unreadable: {e}"));
                continue;
            }
        };
        if !text.starts_with("//!") {
            problems.push(format!(
                "{name}: does not open with a `//!` module doc saying what the file is for"
            ));
        }
        if name == ME {
            continue;
        }
        let in_tests = name.split('/').any(|part| part == "tests");
        let in_centre = name.starts_with("daemon/src/centre/");
        let mut sleep_lines = Vec::new();
        let mut reads_clock = false;
        for (i, line) in code_lines(&text) {
            if in_tests && sleeps_in(line) {
                sleep_lines.push(i);
            }
            reads_clock |= line.contains(WALL_CLOCK);
            for banned in CENTRE_MAY_NOT_NAME.iter().filter(|_| in_centre) {
                if line.contains(banned) {
                    problems.push(format!(
                        "{name}:{i}: names `{banned}`: the centre knows no loop, connection, \
                         mio or storage engine (see daemon/src/session.rs, store::KvStore)"
                    ));
                }
            }
            for attr in [IGNORE, SHOULD_PANIC] {
                if line.contains(attr) {
                    problems.push(format!(
                        "{name}:{i}: {attr}]: a test either runs and asserts, or goes \
                         (for a panic, assert on the error instead)"
                    ));
                }
            }
        }
        if !sleep_lines.is_empty() {
            sleeps.push((name.clone(), sleep_lines));
        }
        if reads_clock {
            clock_readers.push(name);
        }
    }

    for (name, lines) in &sleeps {
        let allowed = SLEEP_ALLOWED
            .iter()
            .find(|(file, _)| file == name)
            .map_or(0, |&(_, n)| n);
        if lines.len() > allowed {
            problems.push(format!(
                "{name}: sleeps on lines {lines:?}: synchronise on an event, not a delay"
            ));
        }
    }
    for &(file, allowed) in SLEEP_ALLOWED {
        let found = sleeps
            .iter()
            .find(|(name, _)| name == file)
            .map_or(0, |(_, lines)| lines.len());
        if found < allowed {
            problems.push(format!(
                "{file}: sleeps on {found} lines, SLEEP_ALLOWED says {allowed}: lower it"
            ));
        }
    }
    for name in &clock_readers {
        if !WALL_CLOCK_ALLOWED.contains(&name.as_str()) {
            problems.push(format!(
                "{name}: calls {WALL_CLOCK}: read time through the injected clock \
                 (daemon/src/clock.rs)"
            ));
        }
    }
    for file in WALL_CLOCK_ALLOWED {
        if !clock_readers.iter().any(|name| name == file) {
            problems.push(format!(
                "{file}: no longer calls {WALL_CLOCK}: remove it from WALL_CLOCK_ALLOWED"
            ));
        }
    }

    assert!(problems.is_empty(), "tidy:\n{}", problems.join("\n"));
}

/// The only daemon files that may name RocksDB: the store's engine. Everything else
/// sees storage as `store::KvStore`.
const ROCKSDB_FILES: &[&str] = &[
    "daemon/src/store/rocks.rs",
    "daemon/src/store/rocks_backup.rs",
    "daemon/src/store/rocks_wal.rs",
];

/// The only daemon files that may name mio: the loop, its connections, the listener.
const MIO_FILES: &[&str] = &[
    "daemon/src/shard/",
    "daemon/src/conn.rs",
    "daemon/src/server.rs",
];

/// The daemon's modules form layers: the `crate::` paths between its top-level
/// modules (unit tests aside) have no cycle, so each can be read, tested and moved
/// without the ones above it; and the storage engine and the event loop are each
/// named in one place.
#[test]
fn daemon_modules_form_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let src = root.join("daemon/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut uses: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    let mut problems = Vec::new();
    for path in &files {
        let name = relative(&root, path);
        let module = relative(&src, path);
        let module = module
            .split('/')
            .next()
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_owned();
        let text = fs::read_to_string(path).unwrap();
        // Unit tests may reach anything; the layering is about the code they test.
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
        for (i, line) in code_lines(code) {
            for (at, _) in line.match_indices("crate::") {
                let rest = &line[at + "crate::".len()..];
                let used: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !used.is_empty() && used != module {
                    uses.entry(module.clone()).or_default().insert(used);
                }
            }
            let allowed = |list: &[&str]| list.iter().any(|f| name.starts_with(f));
            if line.contains("rocksdb") && !allowed(ROCKSDB_FILES) {
                problems.push(format!(
                    "{name}:{i}: names rocksdb outside {ROCKSDB_FILES:?}"
                ));
            }
            if line.contains("mio::") && !allowed(MIO_FILES) {
                problems.push(format!("{name}:{i}: names mio outside {MIO_FILES:?}"));
            }
        }
    }
    // A cycle shows as a module reaching itself through the paths it names.
    for start in uses.keys() {
        let mut stack: Vec<Vec<String>> = vec![vec![start.clone()]];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(path) = stack.pop() {
            let last = path.last().cloned().unwrap_or_default();
            for next in uses.get(&last).into_iter().flatten() {
                if next == start {
                    problems.push(format!("module cycle: {} -> {start}", path.join(" -> ")));
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push(longer);
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "layers:\n{}", problems.join("\n"));
}

/// The longest a function of the daemon's code may be, in lines: one screen and a bit.
/// A longer one is split by what it decides, or, if it is a table, made one (see
/// `classify_table!` in `daemon/src/centre/dispatch.rs`).
const MAX_FN_LINES: usize = 120;

/// Functions of `daemon/src` and the daemon's crates (`daemon/*/src`) over
/// [`MAX_FN_LINES`], unit tests aside: a function starts at a line opening with `fn`
/// (after `pub`, `const`…) and ends at the first line with its indentation that
/// closes a brace.
#[test]
fn daemon_functions_are_short() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&root.join("daemon"), &mut files);
    let mut long = Vec::new();
    for path in &files {
        let name = relative(&root, path);
        if !name.contains("/src/") {
            continue;
        }
        let text = fs::read_to_string(path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let lines: Vec<&str> = code.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(indent) = fn_start(line) else {
                continue;
            };
            let closing = " ".repeat(indent) + "}";
            let end = lines
                .iter()
                .enumerate()
                .skip(i + 1)
                .find(|(_, l)| l.starts_with(&closing) && !l[indent..].starts_with("},"))
                .map(|(j, _)| j);
            if let Some(end) = end {
                let length = end - i + 1;
                if length > MAX_FN_LINES {
                    long.push(format!("{name}:{}: {length} lines", i + 1));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines (split them by what they decide):\n{}",
        long.join("\n")
    );
}

/// The indentation of a line that starts a function body (`fn`, after visibility and
/// qualifiers), if it is one.
fn fn_start(line: &str) -> Option<usize> {
    let indent = line.len() - line.trim_start().len();
    let mut rest = line.trim_start();
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    (rest.starts_with("fn ") && !line.trim_end().ends_with(';')).then_some(indent)
}

#[test]
fn function_starts() {
    assert_eq!(fn_start("    pub(super) fn route<T>("), Some(4));
    assert_eq!(fn_start("fn main() {"), Some(0));
    assert_eq!(
        fn_start("    fn owner(&self, c: &CustomerId) -> Option<u32>;"),
        None
    );
    assert_eq!(fn_start("    let f = fn_start(line);"), None);
}

/// Every `.rs` file under `dir`, build output excluded.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            // `target` also covers wire/fuzz/target; dot-folders are tools' state.
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// `path` relative to `root`, with `/` separators.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<_> = rel.iter().map(|p| p.to_string_lossy()).collect();
    parts.join("/")
}

/// The lines that are not comments, numbered from 1 (comments may name what they forbid).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
}

/// Whether `line` calls a sleep: `thread::sleep`, or `sleep(` imported bare.
fn sleeps_in(line: &str) -> bool {
    line.match_indices("sleep(").any(|(at, _)| {
        let before = line[..at].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[test]
fn sleep_detection() {
    let cases = [
        ("    std::thread::sleep(Duration::from_millis(5));", true),
        ("    sleep(PAUSE);", true),
        ("    thread::sleep(d)", true),
        ("    wait_or_sleep(d)", false),
        ("    let asleep = true;", false),
        ("    sleep_until(deadline)", false),
    ];
    for (line, want) in cases {
        assert_eq!(sleeps_in(line), want, "{line}");
    }
}

#[test]
fn comments_are_not_code() {
    let text = "//! doc\n// says sleep(1)\nfn f() {}\n    /// also sleep(1)\n";
    let lines: Vec<_> = code_lines(text).collect();
    assert_eq!(lines, [(3, "fn f() {}")]);
}
