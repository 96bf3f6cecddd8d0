//! RocksDB's cost per chat message (issue 13): what one turn of a shard writes for the
//! customers' messages of steady chat, through `RocksStore::write` with `wal`
//! durability, into a memtable that already holds [`PREFILL`] messages.
//!
//! A message is what `Centre::store_message` puts: its record in `messages` (a 200-byte
//! text), its client id in `client_msgs`, the conversation's unread count in
//! `routing_settings`; and once per turn the account's counters. 100 customers of one
//! account, each message from a customer drawn at random (open loop: consecutive
//! messages land far apart in the key order).
//!
//! Customers are named as the load harness names them (`kefu-load-N`, loadtest's
//! `population.rs`): the memtable insert hints key on the first 22 bytes of a
//! message's key (`store/rocks.rs`, `insert_hint_prefix`), which for these ids is the
//! whole customer key.
//!
//! Three sets of options side by side: RocksDB's 64 MiB memtable for `routing_settings`
//! (as before [`RocksOptions::overwritten_memtable_bytes`]), this build's without the
//! memtable insert hints ([`RocksOptions::memtable_insert_hints`]), and this build's.
//! The sustained runs of the last two alternate twice; then both again with customer
//! ids for which the hint prefix is a bad choice (4-byte ids: a new prefix every
//! message; ids alike in their first 12 bytes: one prefix for all).
//!
//! Printed besides criterion's wall-clock estimates (time per message = time per
//! element): a sustained run of [`SUSTAINED`] messages in turns of 20, with the CPU
//! time of the writing thread and of the whole process (RocksDB's flushes and
//! compactions included, waited for at the end) per message, and the reads a chat
//! makes of the same data (a client id looked up, a customer's newest page).
//!
//! Run: `cargo bench -p kefu-benches --bench memtable -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use kefu_daemon::store::chat_records::{ClientMsgRecord, CountersRecord, MessageRecord};
use kefu_daemon::store::read_state_records::UnreadRecord;
use kefu_daemon::store::{
    keys, open_rocks, Batch, Cf, Durability, KvStore, RocksOptions, RocksStore, StoredRecord,
};
use kefu_wire::chat::{CustomerId, MessageBody, Party};

const ACCOUNT: u64 = 910_000_000;
const CUSTOMERS: u64 = 100;
/// Messages in the memtable before anything is measured.
const PREFILL: u64 = 200_000;
/// Messages of the sustained run (several memtables' worth: its flushes count).
const SUSTAINED: u64 = 400_000;
const NOW: i64 = 1_800_000_000_000;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn customer(n: u64) -> CustomerId {
    CustomerId::Identified(format!("kefu-load-{n}"))
}

/// 4-byte ids: the worst case of the 22-byte hint prefix, which then reaches into the
/// last byte of the message id (a new place to remember for every message).
fn four_byte_customer(n: u64) -> CustomerId {
    CustomerId::Identified(format!("c{n:03}"))
}

/// Ids whose first 12 bytes are the same: the 22-byte hint prefix lumps every customer
/// together (one place for all, near the new key rather than next to it).
fn lumped_customer(n: u64) -> CustomerId {
    CustomerId::Identified(format!("load-customer-{n:04}"))
}

/// Which records a message writes besides its own: what the store holds today
/// ([`Shape::TODAY`]), or less, to price each record (a change of the records a message
/// writes is a change of stored shapes: measured here, not built).
#[derive(Clone, Copy)]
struct Shape {
    name: &'static str,
    client_id: bool,
    unread: bool,
}

impl Shape {
    const TODAY: Shape = Shape {
        name: "message + client id + unread count (today)",
        client_id: true,
        unread: true,
    };
    const ALL: [Shape; 4] = [
        Shape::TODAY,
        Shape {
            name: "message + client id, no unread record",
            client_id: true,
            unread: false,
        },
        Shape {
            name: "message + unread count, no client id record",
            client_id: false,
            unread: true,
        },
        Shape {
            name: "message record only",
            client_id: false,
            unread: false,
        },
    ];
}

/// The chat as the centre keeps it: message ids, each customer's client ids and unread
/// count.
struct Chat {
    next_message: u64,
    client_ids: Vec<u64>,
    unread: Vec<u32>,
    customers: Vec<CustomerId>,
    rng: Rng,
    text: String,
}

impl Chat {
    fn new(names: fn(u64) -> CustomerId) -> Chat {
        Chat {
            next_message: 1,
            client_ids: vec![0; CUSTOMERS as usize],
            unread: vec![0; CUSTOMERS as usize],
            customers: (0..CUSTOMERS).map(names).collect(),
            rng: Rng(0x9e37_79b9_7f4a_7c15),
            text: "x".repeat(200),
        }
    }

    /// What a turn of `n` customer messages adds to the shard's batch.
    fn turn(&mut self, n: u64) -> Batch {
        self.turn_of(n, Shape::TODAY)
    }

    fn turn_of(&mut self, n: u64, shape: Shape) -> Batch {
        let mut batch = Batch::new();
        for _ in 0..n {
            let c = self.rng.below(CUSTOMERS) as usize;
            let conversation = c as u64 + 1;
            let id = self.next_message;
            self.next_message += 1;
            self.client_ids[c] += 1;
            self.unread[c] += 1;
            let who = &self.customers[c];
            batch.put_message(&MessageRecord {
                account: ACCOUNT,
                customer: who.clone(),
                conversation,
                id,
                at: NOW + id as i64,
                from: Party::Customer,
                body: MessageBody::Text(self.text.clone()),
                served_by: Some(1001 + (c as u32 % 10)),
            });
            if shape.client_id {
                batch.put(
                    Cf::ClientMsgs,
                    &keys::client_msg(ACCOUNT, None, who, self.client_ids[c]),
                    ClientMsgRecord { message: id }.encode(),
                );
            }
            if shape.unread {
                batch.put(
                    Cf::RoutingSettings,
                    &keys::unread(ACCOUNT, conversation),
                    UnreadRecord {
                        account: ACCOUNT,
                        conversation,
                        unread: self.unread[c],
                    }
                    .encode(),
                );
            }
        }
        batch.put(
            Cf::Counters,
            &keys::account(ACCOUNT),
            CountersRecord {
                next_conversation: CUSTOMERS + 1,
                next_message: self.next_message,
            }
            .encode(),
        );
        batch
    }
}

/// CPU time, from the scheduler's accounting: `/proc/<…>/schedstat`'s first field.
fn schedstat_ns(path: &std::path::Path) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn thread_cpu() -> Duration {
    Duration::from_nanos(schedstat_ns("/proc/thread-self/schedstat".as_ref()))
}

/// The CPU time of every live thread of the process (RocksDB's pool threads live as
/// long as the database).
fn process_cpu() -> Duration {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
    Duration::from_nanos(
        tasks
            .filter_map(Result::ok)
            .map(|t| schedstat_ns(&t.path().join("schedstat")))
            .sum(),
    )
}

fn stat(store: &RocksStore, name: &str) -> u64 {
    store
        .engine_stats()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map_or(0, |(_, v)| v)
}

/// Table files in the database directory (L0 and below).
fn table_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "sst"))
            .count()
    })
}

/// Waits (at most a minute) until RocksDB has no flush or compaction running or due.
fn settle(store: &RocksStore) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let busy = [
            "rocksdb_running_flushes",
            "rocksdb_running_compactions",
            "rocksdb_memtable_flushes_pending",
            "rocksdb_compactions_pending",
        ]
        .iter()
        .any(|n| stat(store, n) > 0);
        if !busy {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A store holding [`PREFILL`] messages, and the chat that wrote them.
fn fixture(
    dir: &std::path::Path,
    opts: &RocksOptions,
    shape: Shape,
    names: fn(u64) -> CustomerId,
) -> (RocksStore, Chat) {
    let store = open_rocks(dir, opts).expect("open rocksdb");
    let mut chat = Chat::new(names);
    for _ in 0..PREFILL / 20 {
        store
            .write(&chat.turn_of(20, shape), Durability::Wal)
            .expect("prefill");
    }
    (store, chat)
}

fn sustained(name: &str, opts: &RocksOptions, shape: Shape) {
    sustained_named(name, opts, shape, customer);
}

fn sustained_named(name: &str, opts: &RocksOptions, shape: Shape, names: fn(u64) -> CustomerId) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, mut chat) = fixture(dir.path(), opts, shape, names);
    settle(&store);
    let batches: Vec<Batch> = (0..SUSTAINED / 20)
        .map(|_| chat.turn_of(20, shape))
        .collect();
    let (wall, thread, process) = (Instant::now(), thread_cpu(), process_cpu());
    for batch in &batches {
        store.write(batch, Durability::Wal).expect("write");
    }
    let (wall, thread) = (wall.elapsed(), thread_cpu() - thread);
    let memtables = stat(&store, "rocksdb_memtable_bytes");
    let files = table_files(dir.path());
    settle(&store);
    let process = process_cpu() - process;
    let per = |d: Duration| d.as_secs_f64() * 1e6 / SUSTAINED as f64;
    println!(
        "{name}: {SUSTAINED} messages in turns of 20: writer {:.2} µs CPU a message \
         (wall {:.2} µs), whole process incl. flushes and compactions {:.2} µs; \
         after: memtables {:.1} MiB, {files} table files",
        per(thread),
        per(wall),
        per(process),
        memtables as f64 / f64::from(1 << 20),
    );
    // The reads of the same data, from the memtables and the tables just written.
    let mut rng = Rng(7);
    let lookups = kefu_benches::percentiles(20_000, |_| {
        let c = rng.below(CUSTOMERS) as usize;
        let id = rng.below(chat.client_ids[c]) + 1;
        let key = keys::client_msg(ACCOUNT, None, &chat.customers[c], id);
        black_box(store.get(Cf::ClientMsgs, &key).expect("get"));
    });
    let pages = kefu_benches::percentiles(5_000, |i| {
        let range = keys::customer_messages(ACCOUNT, &chat.customers[i % CUSTOMERS as usize]);
        let page = store
            .scan_reverse(Cf::Messages, &range.start, &range.end, 30)
            .expect("scan");
        assert_eq!(page.len(), 30);
    });
    if shape.client_id {
        println!("{name}:   client id lookup {lookups}");
    }
    println!("{name}:   newest page of 30 {pages}");
}

fn turns(c: &mut Criterion, name: &str, opts: &RocksOptions) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, mut chat) = fixture(dir.path(), opts, Shape::TODAY, customer);
    settle(&store);
    let mut g = c.benchmark_group(format!("chat turn, wal, {PREFILL} messages before, {name}"));
    for n in [5u64, 50] {
        g.throughput(Throughput::Elements(n));
        g.bench_function(format!("{n} messages"), |b| {
            b.iter_batched(
                || chat.turn(n),
                |batch| store.write(&batch, Durability::Wal).expect("write"),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    // Side by side in one run: the options before issue 13's memtable change (every
    // column family with RocksDB's 64 MiB memtable), this build's without the memtable
    // insert hints, and this build's.
    let before = RocksOptions {
        overwritten_memtable_bytes: 64 << 20,
        memtable_insert_hints: false,
        ..RocksOptions::default()
    };
    let no_hints = RocksOptions {
        memtable_insert_hints: false,
        ..RocksOptions::default()
    };
    let variants = [
        (
            "64 MiB routing_settings memtable, no hints (before)",
            &before,
        ),
        ("no memtable insert hints", &no_hints),
        ("options of this build (hints)", &RocksOptions::default()),
    ];
    // Only the sustained runs: `KEFU_BENCH_SUSTAINED_ONLY=1`.
    if std::env::var_os("KEFU_BENCH_SUSTAINED_ONLY").is_none() {
        for (name, opts) in &variants {
            turns(&mut c, name, opts);
        }
    }
    for (name, opts) in &variants {
        sustained(
            &format!("{name}, {}", Shape::TODAY.name),
            opts,
            Shape::TODAY,
        );
    }
    // The hints against none once more, in the other order.
    for (name, opts) in variants[1..].iter().rev() {
        sustained(
            &format!("{name}, {}", Shape::TODAY.name),
            opts,
            Shape::TODAY,
        );
    }
    // What a worse prefix costs: ids for which the 22-byte prefix is the worst case
    // (4 bytes) or lumps every customer together, hints off and on.
    for (names, label) in [
        (four_byte_customer as fn(u64) -> CustomerId, "4-byte ids"),
        (lumped_customer, "ids alike in their first 12 bytes"),
    ] {
        for (name, opts) in &variants[1..] {
            sustained_named(&format!("{label}, {name}"), opts, Shape::TODAY, names);
        }
    }
    // The price of each record a message writes, with this build's options.
    for shape in &Shape::ALL[1..] {
        sustained(shape.name, &RocksOptions::default(), *shape);
    }
    c.final_summary();
}
