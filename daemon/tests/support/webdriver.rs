//! A small WebDriver client for the browser tests: `chromedriver` (Debian's
//! `chromium` and `chromium-driver`, installed by `.ci/deps`; without them a browser
//! test fails, it does not skip) on a free loopback port driving headless Chromium,
//! a few functions over `std::net::TcpStream` and `serde_json` (one request per
//! connection), no async runtime. Screenshots go to `$KEFU_SCREENSHOTS` (default:
//! `<tmp>/kefu-screenshots`).

use base64::Engine;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// chromedriver on a free loopback port, ended when dropped.
pub struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
    session: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.call("DELETE", "", Value::Null);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub fn http(port: u16, method: &str, path: &str, body: &Value) -> Value {
    let mut t = TcpStream::connect(("127.0.0.1", port)).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    write!(
        t,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // The head, then as many bytes as it says (chromedriver may keep the socket open).
    let mut reader = BufReader::new(t);
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&body)))
}

impl Driver {
    pub fn start() -> Driver {
        for tool in ["chromium", "chromedriver"] {
            let found = Command::new(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                found,
                "{tool} is missing: the browser tests need Debian's `chromium` and \
                 `chromium-driver` (apt-get install -y chromium chromium-driver; .ci/deps)"
            );
        }
        let port = free_port();
        let mut child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        // It says when it listens.
        let out = child.stdout.take().unwrap();
        let mut lines = BufReader::new(out).lines();
        loop {
            let line = lines.next().expect("chromedriver output").unwrap();
            if line.contains("started successfully") {
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let r = http(port, "POST", "/session", &caps);
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_owned();
        let d = Driver {
            child,
            port,
            _profile: profile,
            session,
        };
        d.call(
            "POST",
            "/timeouts",
            json!({"implicit": 20_000, "script": 30_000, "pageLoad": 30_000}),
        );
        d
    }

    pub fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let r = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            &body,
        );
        assert!(
            r["value"].get("error").is_none(),
            "{method} {path}: {}",
            r["value"]
        );
        r["value"].clone()
    }

    pub fn go(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    pub fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("an element")
            .to_owned()
    }

    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/click"), json!({}));
    }

    pub fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            json!({ "text": text }),
        );
    }

    pub fn script(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
    }

    pub fn window(&self, width: u32, height: u32) {
        self.call(
            "POST",
            "/window/rect",
            json!({"width": width, "height": height}),
        );
    }

    pub fn screenshot(&self, name: &str) -> PathBuf {
        let v = self.call("GET", "/screenshot", Value::Null);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        let dir = std::env::var_os("KEFU_SCREENSHOTS").map_or_else(
            || std::env::temp_dir().join("kefu-screenshots"),
            PathBuf::from,
        );
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
        path
    }
}
