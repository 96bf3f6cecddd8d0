//! Operating the appliance (wire/PROTOCOL.md section 20): the metrics scraped over the
//! admin socket and the HTTP listener and parsed as strict Prometheus text; deleting an
//! account (E6) over real sockets, then every column family scanned for its keys; the
//! space of a deleted account reclaimed by compaction; the storage check and the time.

mod support;

use kefu_daemon::clock::ManualClock;
use kefu_daemon::config::Config;
use kefu_daemon::server;
use kefu_daemon::store::keys::AFTER_ALL_KEYS;
use kefu_daemon::store::{
    keys, open_rocks, Batch, Cf, Durability, KvStore, RocksOptions, StoredRecord, TokenRecord,
};
use kefu_wire::chat::{CustomerId, Entry, MessageBody};
use kefu_wire::crm::{ContactEdit, ContactState};
use kefu_wire::{
    AccountCentreModule, Client, ErrorCode, QuickReply, Request, Response, StorageCheck,
};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;
use support::*;

const A: u64 = 800_001;
const B: u64 = 800_002;

// ---- a strict parser of the Prometheus text format (0.0.4) ----------------------

#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses an exposition strictly: metric and label names by the grammar, label values
/// with their escapes, a float value; `# TYPE` at most once per family and before its
/// samples; a family's samples contiguous; no series twice; histograms cumulative with
/// `+Inf` equal to `_count`. Returns the samples and each family's type.
fn parse_prometheus(text: &str) -> Result<(Vec<Sample>, BTreeMap<String, String>), String> {
    if !text.ends_with('\n') {
        return Err("the exposition does not end with a newline".into());
    }
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps: BTreeSet<String> = BTreeSet::new();
    let mut samples = Vec::new();
    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut series: BTreeSet<String> = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if line.is_empty() {
            return Err(at("empty line".into()));
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name, arg) = (parts.next(), parts.next(), parts.next());
            let name = name.ok_or_else(|| at("comment without a name".into()))?;
            check_metric_name(name).map_err(at)?;
            match kw {
                Some("HELP") if !helps.insert(name.to_string()) => {
                    return Err(at("second HELP".into()));
                }
                Some("TYPE") => {
                    let kind = arg.ok_or_else(|| at("TYPE without a type".into()))?;
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(at(format!("unknown type {kind}")));
                    }
                    if types.insert(name.to_string(), kind.to_string()).is_some() {
                        return Err(at("second TYPE".into()));
                    }
                    if finished.contains(name) {
                        return Err(at("TYPE after the family's samples".into()));
                    }
                }
                _ => {}
            }
            continue;
        }
        let sample = parse_sample(line).map_err(at)?;
        let family = family_of(&sample.name, &types);
        let Some(family) = family else {
            return Err(at("a sample of a family without TYPE".into()));
        };
        if current.as_deref() != Some(family.as_str()) {
            if let Some(prev) = current.take() {
                finished.insert(prev);
            }
            if finished.contains(&family) {
                return Err(at(format!("family {family} is not contiguous")));
            }
            current = Some(family.clone());
        }
        if !series.insert(format!("{}{:?}", sample.name, sample.labels)) {
            return Err(at("the same series twice".into()));
        }
        samples.push(sample);
    }
    check_histograms(&samples, &types)?;
    Ok((samples, types))
}

fn check_metric_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        Ok(())
    } else {
        Err(format!("bad metric name {name:?}"))
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(['{', ' '])
        .ok_or_else(|| "no value".to_string())?;
    let name = &line[..name_end];
    check_metric_name(name)?;
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut s = inner;
        loop {
            if let Some(after) = s.strip_prefix('}') {
                s = after;
                break;
            }
            let eq = s.find('=').ok_or("label without =")?;
            let label = &s[..eq];
            let ok = label
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(format!("bad label name {label:?}"));
            }
            s = s[eq + 1..]
                .strip_prefix('"')
                .ok_or("label value not quoted")?;
            let mut value = String::new();
            let mut chars = s.char_indices();
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        other => return Err(format!("bad escape {other:?}")),
                    },
                    Some((i, '"')) => break i,
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated label value".into()),
                }
            };
            if labels.insert(label.to_string(), value).is_some() {
                return Err(format!("label {label} twice"));
            }
            s = &s[end + 1..];
            if let Some(after) = s.strip_prefix(',') {
                s = after;
            } else if !s.starts_with('}') {
                return Err("labels not separated by commas".into());
            }
        }
        rest = s;
    }
    let rest = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let mut parts = rest.split(' ');
    let value = parts.next().ok_or("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse::<f64>().map_err(|e| format!("value {v:?}: {e}"))?,
    };
    if let Some(ts) = parts.next() {
        ts.parse::<i64>()
            .map_err(|e| format!("timestamp {ts:?}: {e}"))?;
    }
    if parts.next().is_some() {
        return Err("trailing text".into());
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// The family a sample belongs to (a histogram's `_bucket`, `_sum`, `_count`).
fn family_of(name: &str, types: &BTreeMap<String, String>) -> Option<String> {
    if types.contains_key(name) {
        return Some(name.to_string());
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = name.strip_suffix(suffix)?;
        matches!(
            types.get(base).map(String::as_str),
            Some("histogram" | "summary")
        )
        .then(|| base.to_string())
    })
}

fn check_histograms(samples: &[Sample], types: &BTreeMap<String, String>) -> Result<(), String> {
    for (family, _) in types.iter().filter(|(_, t)| *t == "histogram") {
        let bucket = format!("{family}_bucket");
        let mut by_series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for s in samples.iter().filter(|s| s.name == bucket) {
            let mut labels = s.labels.clone();
            let le = labels.remove("le").ok_or("a bucket without le")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse::<f64>().map_err(|e| format!("le {le:?}: {e}"))?
            };
            by_series.entry(labels).or_default().push((le, s.value));
        }
        for (labels, buckets) in by_series {
            for w in buckets.windows(2) {
                if !(w[0].0 < w[1].0 && w[0].1 <= w[1].1) {
                    return Err(format!("{family}{labels:?}: buckets not cumulative: {w:?}"));
                }
            }
            let last = buckets.last().ok_or("no bucket")?;
            if last.0 != f64::INFINITY {
                return Err(format!("{family}{labels:?}: no +Inf bucket"));
            }
            let count = samples
                .iter()
                .find(|s| s.name == format!("{family}_count") && s.labels == labels)
                .ok_or(format!("{family}{labels:?}: no _count"))?;
            if count.value != last.1 {
                return Err(format!(
                    "{family}{labels:?}: +Inf {} != count {}",
                    last.1, count.value
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn the_parser_refuses_what_prometheus_refuses() {
    let ok = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n";
    assert!(parse_prometheus(ok).is_ok());
    for bad in [
        "# TYPE a counter\na 1",        // no final newline
        "a 1\n",                        // no TYPE
        "# TYPE a counter\na{x=1} 1\n", // unquoted label
        "# TYPE a counter\na 1\n# TYPE b gauge\nb 1\na{y=\"\"} 2\n", // not contiguous
        "# TYPE a counter\na 1\na 2\n", // series twice
        "# TYPE 1a counter\n1a 1\n",    // bad name
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
    ] {
        assert!(parse_prometheus(bad).is_err(), "accepted {bad:?}");
    }
}

// ---- metrics over the admin socket and HTTP --------------------------------------

fn sum(samples: &[Sample], name: &str) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .map(|s| s.value)
        .sum()
}

fn one(samples: &[Sample], name: &str, label: (&str, &str)) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.name == name && s.labels.get(label.0).map(String::as_str) == Some(label.1))
        .map(|s| s.value)
}

fn admin_metrics(admin: &mut Client) -> String {
    match admin.request(&Request::AdminMetrics).unwrap() {
        Response::Metrics { text } => text,
        other => panic!("{other:?}"),
    }
}

fn http_get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut all = String::new();
    s.read_to_string(&mut all).unwrap();
    let (head, body) = all.split_once("\r\n\r\n").expect("an HTTP answer");
    (head.to_string(), body.to_string())
}

fn customer(s: &TestServer, key: &[u8; 32], account: u64, id: &str) -> Client {
    login_customer(s.client(), key, account, id, now() + 30 * 86_400)
}

fn open_and_send(c: &mut Client, text: &str) -> u64 {
    let conversation = match c
        .request(&Request::OpenConversation { entry: Entry::Auto })
        .unwrap()
    {
        Response::Conversation(info) => info.conversation,
        other => panic!("{other:?}"),
    };
    let r = c
        .request(&Request::SendMessage {
            conversation,
            client_msg_id: 1,
            body: MessageBody::Text(text.into()),
        })
        .unwrap();
    assert!(matches!(r, Response::Sent { .. }), "{r:?}");
    conversation
}

#[test]
fn metrics_are_served_on_the_admin_socket_and_http_and_parse_as_prometheus_text() {
    let clock = Arc::new(ManualClock::new(now() * 1000));
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path());
    config.metrics_listen = Some(([127, 0, 0, 1], 0).into());
    let handle = server::start_with_clock(config, clock.clone()).expect("daemon starts");
    let http = handle.metrics_addr().expect("metrics listener");
    let s = TestServer {
        handle: Some(handle),
        dir,
    };
    let mut admin = s.admin();
    create_account(&mut admin, A);
    let key = customer_key(&mut admin, A);
    let mut agent = s.client();
    agent.login(A, 1001, PASSWORD).unwrap();
    let mut c = customer(&s, &key, A, "zhangsan");
    open_and_send(&mut c, "你好");
    // The per-account table is published at most once a second: move the clock and
    // have the account's shard run a turn (the answer is released after it).
    clock.advance(2_000);
    agent.request(&Request::ListConversations).unwrap();

    let text = admin_metrics(&mut admin);
    let (samples, types) = parse_prometheus(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    for (family, kind) in [
        ("kefu_connections", "gauge"),
        ("kefu_sessions", "gauge"),
        ("kefu_frames_received_total", "counter"),
        ("kefu_frames_sent_total", "counter"),
        ("kefu_messages_stored_total", "counter"),
        ("kefu_commit_duration_seconds", "histogram"),
        ("kefu_commit_batch_operations", "histogram"),
        ("kefu_turn_duration_seconds", "histogram"),
        ("kefu_queued_conversations", "gauge"),
        ("kefu_account_open_conversations", "gauge"),
        ("kefu_process_resident_memory_bytes", "gauge"),
        ("kefu_heap_in_use_bytes", "gauge"),
        ("kefu_rocksdb_sst_files_bytes", "gauge"),
        ("kefu_rocksdb_memtable_bytes", "gauge"),
    ] {
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(kind),
            "{family}\n{text}"
        );
    }
    // The agent and the customer at least (and the admin socket's).
    assert!(sum(&samples, "kefu_connections") >= 2.0, "{text}");
    assert!(sum(&samples, "kefu_messages_stored_total") >= 1.0, "{text}");
    assert!(
        sum(&samples, "kefu_commit_duration_seconds_count") >= 1.0,
        "{text}"
    );
    assert!(
        sum(&samples, "kefu_turn_duration_seconds_count") >= 1.0,
        "{text}"
    );
    assert_eq!(
        one(
            &samples,
            "kefu_account_open_conversations",
            ("account", "800001")
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        sum(&samples, "kefu_process_resident_memory_bytes") > 1e6,
        "{text}"
    );
    assert!(sum(&samples, "kefu_rocksdb_memtable_bytes") > 0.0, "{text}");
    // The daemon's own heap: the store's memtables and caches alone are more than 1 MB.
    assert!(sum(&samples, "kefu_heap_in_use_bytes") > 1e6, "{text}");

    // The same numbers as `AdminStats` (what `kefuctl stats` prints).
    let Response::Stats { shards, .. } = admin.request(&Request::AdminStats).unwrap() else {
        panic!("stats");
    };
    for sh in &shards {
        let shard = sh.shard.to_string();
        let label = ("shard", shard.as_str());
        assert_eq!(
            one(&samples, "kefu_connections", label),
            Some(sh.connections as f64)
        );
        assert_eq!(
            one(&samples, "kefu_sessions", label),
            Some(sh.sessions as f64)
        );
        assert_eq!(
            one(&samples, "kefu_accounts_loaded", label),
            Some(sh.accounts as f64)
        );
    }

    // HTTP: the same families; anything but GET /metrics is refused.
    let (head, body) = http_get(http, "/metrics");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    let (_, http_types) = parse_prometheus(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
    assert_eq!(http_types, types);
    let (head, _) = http_get(http, "/");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
}

#[test]
fn metrics_listen_must_be_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path());
    config.metrics_listen = Some(([0, 0, 0, 0], 9477).into());
    let e = config.validate().expect_err("refused");
    assert!(e.to_string().contains("metrics_listen"), "{e}");
}

// ---- the time and the storage check ------------------------------------------------

#[test]
fn the_time_is_any_agents_and_the_storage_check_the_operators() {
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let s = TestServer::start_clocked(clock.clone());
    let mut admin = s.admin();
    create_account(&mut admin, A);
    let mut agent = s.client();
    agent.login(A, 1001, PASSWORD).unwrap();
    clock.advance(1_234);
    let r = agent.request(&Request::GetServerTime).unwrap();
    assert_eq!(
        r,
        Response::Clock {
            unix_ms: 1_800_000_001_234,
            test_mode: false
        }
    );
    let refused = agent.request(&Request::AdminCheckStorage).unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::ADMIN_ONLY));
    let refused = s.client().request(&Request::GetServerTime).unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::NOT_LOGGED_IN));

    let Response::StorageCheck(check) = admin.request(&Request::AdminCheckStorage).unwrap() else {
        panic!("storage check");
    };
    let StorageCheck {
        data_dir,
        writable,
        error,
        free_bytes,
        total_bytes,
        disk_full,
        ..
    } = check;
    assert!(writable, "{error}");
    assert!(error.is_empty());
    assert!(
        data_dir.starts_with(&*s.dir.path().to_string_lossy()),
        "{data_dir}"
    );
    assert!(free_bytes > 0 && free_bytes <= total_bytes);
    assert!(!disk_full);
}

// ---- deleting an account ---------------------------------------------------------------

/// Gives `account` a record in as many column families as the protocol reaches:
/// agents, roles, sessions, conversations, messages, client ids, counters, customer
/// key, contacts, CRM record, quick replies, ticket key, open conversations.
fn populate(s: &TestServer, admin: &mut Client, account: u64) -> (Client, Client) {
    create_account(admin, account);
    add_agent(admin, account, 1002, Some("second agent"));
    let key = customer_key(admin, account);
    let mut agent = s.client();
    agent.login(account, 1001, PASSWORD).unwrap();
    agent.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    let r = agent.request(&Request::CreateContact {
        customer: CustomerId::Identified("lisi".into()),
        state: ContactState::Friend,
        edit: ContactEdit::default(),
    });
    assert!(r.is_ok(), "{r:?}");
    agent
        .request(&Request::SetQuickReplies {
            shared: true,
            replies: vec![QuickReply {
                shortcut: "hi".into(),
                text: "您好".into(),
            }],
        })
        .unwrap();
    agent
        .request(&Request::AccountCentreTicket {
            module: AccountCentreModule::AccountInfo,
        })
        .unwrap();
    let mut c = customer(s, &key, account, "zhangsan");
    open_and_send(&mut c, "有人吗");
    (agent, c)
}

/// Keys per column family of `account`, and every key of a store-wide family that
/// names it (a token bound to one of its agents).
fn keys_of(store: &dyn KvStore, account: u64) -> BTreeMap<&'static str, usize> {
    let mut found = BTreeMap::new();
    for cf in Cf::ALL {
        let all = store.scan(cf, &[], &AFTER_ALL_KEYS, usize::MAX).unwrap();
        let n = all
            .iter()
            .filter(|(k, v)| match cf {
                Cf::Tokens => TokenRecord::decode(v)
                    .ok()
                    .and_then(|t| t.bound)
                    .is_some_and(|(a, _)| a == account),
                _ => cf.account_of(k) == Some(account),
            })
            .count();
        if n > 0 {
            found.insert(cf.name(), n);
        }
    }
    found
}

#[test]
fn deleting_an_account_removes_every_key_and_ends_its_sessions() {
    let mut s = TestServer::start();
    let mut admin = s.admin();
    let (mut agent_a, mut customer_a) = populate(&s, &mut admin, A);
    let (mut agent_b, _customer_b) = populate(&s, &mut admin, B);

    let refused = admin
        .request(&Request::AdminDeleteAccount { account: 799_999 })
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::UNKNOWN_ACCOUNT));
    let refused = agent_b
        .request(&Request::AdminDeleteAccount { account: A })
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::ADMIN_ONLY));

    let r = admin
        .request(&Request::AdminDeleteAccount { account: A })
        .unwrap();
    assert_eq!(
        r,
        Response::AccountDeleted {
            sessions_closed: 2,
            tokens_removed: 0
        }
    );
    // Its agent and its customer are told, and disconnected.
    for c in [&mut agent_a, &mut customer_a] {
        let gone = until_closed(c);
        assert_eq!(gone.code(), Some(ErrorCode::UNKNOWN_ACCOUNT), "{gone:?}");
    }
    let e = s.client().login(A, 1001, PASSWORD).unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UNKNOWN_ACCOUNT), "{e:?}");
    let e = admin
        .request(&Request::AdminShowAccount { account: A })
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UNKNOWN_ACCOUNT));
    // The other account is untouched.
    assert!(agent_b.request(&Request::ListConversations).is_ok());

    drop((agent_a, customer_a, agent_b, admin));
    s.handle.take().expect("running").shutdown();
    let store = open_rocks(&s.dir.path().join("db"), &RocksOptions::default()).unwrap();
    assert_eq!(
        keys_of(&store, A),
        BTreeMap::new(),
        "keys of the deleted account"
    );
    let b = keys_of(&store, B);
    for cf in [
        "accounts",
        "agents",
        "sessions",
        "conversations",
        "messages",
        "client_msgs",
        "counters",
        "customer_keys",
        "contacts",
        "crm_accounts",
        "quick_replies",
        "ticket_keys",
        "open_conversations",
    ] {
        assert!(b.contains_key(cf), "account B kept nothing in {cf}: {b:?}");
    }
    drop(store);

    // After a restart the number is free: created again, the account is empty.
    s.restart();
    let mut admin = s.admin();
    create_account(&mut admin, A);
    let mut agent = s.client();
    agent.login(A, 1001, PASSWORD).unwrap();
    match agent.request(&Request::ListAgents).unwrap() {
        Response::Agents(agents) => assert_eq!(agents.len(), 1, "{agents:?}"),
        other => panic!("{other:?}"),
    }
}

/// Reads pushes until the server closes the connection; its reason.
fn until_closed(c: &mut Client) -> kefu_wire::ClientError {
    loop {
        match c.next_push(Duration::from_secs(20)) {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the connection stayed open"),
            Err(e) => return e,
        }
    }
}

/// A little pseudo-random noise, so compression cannot hide the space.
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn sst_bytes(store: &dyn KvStore) -> u64 {
    store
        .engine_stats()
        .into_iter()
        .find(|(n, _)| *n == "rocksdb_sst_files_bytes")
        .map(|(_, v)| v)
        .expect("sst size")
}

#[test]
fn compaction_reclaims_the_space_of_a_deleted_account() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_rocks(dir.path(), &RocksOptions::default()).unwrap();
    // 4 MiB of messages and contacts for each of two accounts.
    for account in [A, B] {
        for chunk in 0..8u64 {
            let mut batch = Batch::new();
            for i in 0..64u64 {
                let id = chunk * 64 + i;
                let mut key = account.to_be_bytes().to_vec();
                key.extend_from_slice(&[1, 4, b'c', b'u', b's', b't']);
                key.extend_from_slice(&id.to_be_bytes());
                batch.put(Cf::Messages, &key, noise(account ^ id, 4096));
                batch.put(Cf::Contacts, &keys::contact(account, id), noise(id, 4096));
            }
            store.write(&batch, Durability::Wal).unwrap();
        }
    }
    // Flushes every account-scoped column family (nothing of account 1 to compact).
    store.compact_account(1).unwrap();
    let before = sst_bytes(&store);
    assert!(before > 7 << 20, "{before}");

    let mut batch = Batch::new();
    for cf in Cf::ALL.into_iter().filter(|cf| cf.is_account_scoped()) {
        batch.delete_range(cf, &keys::account_prefix(A));
    }
    store.write(&batch, Durability::Fsync).unwrap();
    assert!(keys_of(&store, A).is_empty());
    store.compact_account(A).unwrap();
    let after = sst_bytes(&store);
    assert!(
        after < before / 2 + (512 << 10),
        "compaction kept {after} of {before} bytes"
    );
    // Account B's keys are all there.
    assert_eq!(keys_of(&store, B).get("messages"), Some(&512));
    assert_eq!(keys_of(&store, B).get("contacts"), Some(&512));
}

#[test]
fn a_range_delete_in_memory_removes_exactly_the_range() {
    let store = kefu_daemon::store::MemoryStore::new();
    let mut batch = Batch::new();
    for account in [A - 1, A, B] {
        batch.put(Cf::Agents, &keys::agent(account, 1001), vec![1]);
        batch.put(Cf::Accounts, &keys::account(account), vec![1]);
    }
    batch.delete_range(Cf::Agents, &keys::account_prefix(A));
    // A put after the range delete in the same batch stays (later operations win).
    batch.put(Cf::Agents, &keys::agent(A, 1002), vec![2]);
    store.write(&batch, Durability::Wal).unwrap();
    let agents = store
        .scan(Cf::Agents, &[], &AFTER_ALL_KEYS, usize::MAX)
        .unwrap();
    let ids: Vec<(u64, u32)> = agents
        .iter()
        .map(|(k, _)| keys::parse_agent(k).unwrap())
        .collect();
    assert_eq!(ids, [(A - 1, 1001), (A, 1002), (B, 1001)]);
    assert_eq!(
        store
            .scan(Cf::Accounts, &[], &AFTER_ALL_KEYS, usize::MAX)
            .unwrap()
            .len(),
        3
    );
}

// ---- systemd readiness ------------------------------------------------------------

#[test]
fn kefud_tells_systemd_it_is_ready_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let notify_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kefud"))
        .arg("--config")
        .arg(&config)
        .env("NOTIFY_SOCKET", &notify_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 512];
    let n = notify.recv(&mut buf).expect("READY=1 from kefud");
    let ready = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready:?}");
    // Ready means serving: the admin socket answers.
    let mut admin = Client::connect_unix(dir.path().join("admin.sock"), opts()).unwrap();
    assert!(admin.request(&Request::AdminStats).is_ok());
    // SIGTERM: STOPPING=1, then a clean exit.
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let n = notify.recv(&mut buf).expect("STOPPING=1 from kefud");
    assert_eq!(&buf[..n], b"STOPPING=1");
    assert!(child.wait().unwrap().success());
}
