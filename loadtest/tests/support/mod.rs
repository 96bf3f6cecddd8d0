//! Helpers shared by the harness's integration tests: a kefud running in the test
//! process on a temporary data directory, `kefu-load run` against it, and failure
//! messages that show what the tool printed. Each test file uses the part it needs.
#![allow(dead_code)]

use kefu_daemon::config::Config;
use kefu_daemon::server::{self, ServerHandle};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A daemon on a temporary data directory; shut down on drop.
pub struct Daemon {
    pub handle: Option<ServerHandle>,
    pub dir: tempfile::TempDir,
}

impl Daemon {
    pub fn start() -> Result<Daemon, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let handle = server::start(Config::for_tests(dir.path()))?;
        Ok(Daemon {
            handle: Some(handle),
            dir,
        })
    }

    /// The client address and the admin socket.
    pub fn target(&self) -> Result<(String, PathBuf), Box<dyn std::error::Error>> {
        let handle = self.handle.as_ref().ok_or("daemon stopped")?;
        let addr = handle.tcp_addr().ok_or("no TCP listener")?.to_string();
        let admin = handle.admin_socket().ok_or("no admin socket")?;
        Ok((addr, admin))
    }

    /// `kefu-load run` of `scenario` (written to a file) against this daemon, plus `extra`.
    pub fn run(
        &self,
        scenario: &str,
        extra: &[&str],
    ) -> Result<Output, Box<dyn std::error::Error>> {
        let (addr, admin) = self.target()?;
        let file = self.dir.path().join("scenario.toml");
        std::fs::write(&file, scenario)?;
        let pid = std::process::id().to_string();
        let output = Command::new(env!("CARGO_BIN_EXE_kefu-load"))
            .arg("run")
            .arg(&file)
            .args(["--server", &addr, "--admin-socket"])
            .arg(&admin)
            .args(["--daemon-pid", &pid])
            .args(extra)
            .output()?;
        Ok(output)
    }

    /// A path in the data directory, for reports.
    pub fn out(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown();
        }
    }
}

pub fn path_str(p: &Path) -> Result<&str, Box<dyn std::error::Error>> {
    p.to_str().ok_or_else(|| "non-UTF-8 temporary path".into())
}

/// The exit status and everything the tool printed, for an assertion's message.
pub fn explain(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn read_json(path: &Path) -> Result<Value, Box<dyn std::error::Error>> {
    Ok(serde_json::from_slice(&std::fs::read(path)?)?)
}

/// The `kefud` binary of the same target directory as the running test (built by
/// `cargo test --workspace --release`, or `cargo build --release -p kefu-daemon --bin
/// kefud`), or `$KEFU_KEFUD`: for the commands that run kefud themselves.
pub fn kefud_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("KEFU_KEFUD") {
        return p.into();
    }
    let exe = std::env::current_exe().expect("test executable");
    // target/<profile>/deps/<test>-<hash> → target/<profile>/kefud
    let candidate = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("kefud"))
        .expect("a target directory above the test executable");
    assert!(
        candidate.is_file(),
        "{} is missing: build it (cargo build --release -p kefu-daemon --bin kefud, \
         or run cargo test --workspace --release), or set KEFU_KEFUD",
        candidate.display()
    );
    candidate
}
