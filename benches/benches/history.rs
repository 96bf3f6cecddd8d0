//! History costs (H1–H3) over RocksDB holding 1,000,000 messages of one account:
//! 10,000 customers with 98 messages each and one long-history customer with 20,000,
//! in conversations of 20 messages served by one of 50 agents, spread over 60 days.
//!
//! Measured through `kefu_daemon::history::page`, the function the shard runs (store
//! scan, decoding, filters, visibility with conversation lookups):
//! - a page of 30 of a regular customer (default 15-day window), as an agent with
//!   permission 4 and as one without (every conversation looked up);
//! - the newest page of 30 of the long-history customer;
//! - keyword searches over the long-history customer's whole history (`all_time`), a
//!   page of 30: `上海` and `invoice` (each in about 1 % of texts), and a keyword found
//!   nowhere, which examines the request's cap (`history::MAX_EXAMINED`, 5,000 messages);
//! - for reference, the store's bare reverse scan of the 20,000 messages, with and
//!   without decoding.
//!
//! Besides criterion's estimates, `main` prints p50/p99/max of 1,000 timed calls of each.
//! Run: `cargo bench -p kefu-benches --bench history -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use kefu_daemon::history::{self, Viewer};
use kefu_daemon::store::chat_records::{ConversationRecord, MessageRecord};
use kefu_daemon::store::{
    keys, open_rocks, Batch, Cf, Durability, KvStore, RocksOptions, RocksStore, StoredRecord,
};
use kefu_wire::chat::{Channel, CustomerId, MessageBody, Party};
use kefu_wire::crm::{HistoryKind, HistoryPage, HistoryQuery};

const ACCOUNT: u64 = 800_001;
const CUSTOMERS: u64 = 10_000;
const PER_CUSTOMER: u64 = 98;
const LONG: u64 = 20_000;
const PER_CONVERSATION: u64 = 20;
const AGENTS: u32 = 50;
const DAY_MS: i64 = 86_400_000;
const SPAN_DAYS: i64 = 60;
/// "Now": the newest message is a minute old.
const NOW: i64 = 1_800_000_000_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const PHRASES: [&str; 16] = [
    "你好，请问这个还有货吗？",
    "我想咨询一下价格",
    "什么时候可以发货",
    "好的，谢谢您",
    "请帮我查一下订单",
    "Hello, is anyone there?",
    "Can you send me the price list?",
    "我明天再联系你",
    "收到，马上处理",
    "这个颜色有没有大一点的尺寸",
    "Thanks, that helps a lot",
    "请问支持货到付款吗",
    "The delivery was late again",
    "麻烦给我开个发票",
    "OK, I will wait for your call",
    "您好，欢迎光临本店",
];

fn body(rng: &mut Rng) -> MessageBody {
    match rng.below(100) {
        0..=4 => MessageBody::Image {
            reference: format!("img/{}", rng.next()),
        },
        5..=6 => MessageBody::File {
            reference: format!("file/{}", rng.next()),
            name: format!("报价单-{}.xlsx", rng.below(1000)),
            size: rng.below(1 << 20),
        },
        7 => MessageBody::Text(format!(
            "我在上海等你，订单 {} 已经付款",
            rng.below(100_000)
        )),
        8 => MessageBody::Text(format!(
            "Please send the Invoice for order {}",
            rng.below(100_000)
        )),
        _ => {
            let a = PHRASES[rng.below(16) as usize];
            let b = PHRASES[rng.below(16) as usize];
            MessageBody::Text(format!("{a} {b}"))
        }
    }
}

fn customer(n: u64) -> CustomerId {
    CustomerId::Identified(format!("customer-{n:05}"))
}

fn long_customer() -> CustomerId {
    CustomerId::Identified("long-history".into())
}

/// Writes the fixture; returns the store.
fn fixture(dir: &std::path::Path) -> RocksStore {
    let store = open_rocks(dir, &RocksOptions::default()).expect("open rocksdb");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Every customer's messages, spread evenly over the span; ids follow time.
    let mut plan: Vec<(i64, u64)> = Vec::new();
    for c in 0..=CUSTOMERS {
        let count = if c == CUSTOMERS { LONG } else { PER_CUSTOMER };
        for _ in 0..count {
            let age = rng.below((SPAN_DAYS * DAY_MS) as u64) as i64 + 60_000;
            plan.push((NOW - age, c));
        }
    }
    plan.sort_unstable();
    let mut next_conversation = 1u64;
    // Per customer: (current conversation, messages in it, its agent).
    let mut open: Vec<(u64, u64, u32)> = vec![(0, PER_CONVERSATION, 0); CUSTOMERS as usize + 1];
    let mut batch = Batch::new();
    for (i, &(at, c)) in plan.iter().enumerate() {
        let id = i as u64 + 1;
        let who = if c == CUSTOMERS {
            long_customer()
        } else {
            customer(c)
        };
        let slot = &mut open[c as usize];
        if slot.1 == PER_CONVERSATION {
            let agent = 1001 + rng.below(u64::from(AGENTS)) as u32;
            *slot = (next_conversation, 0, agent);
            next_conversation += 1;
            let record = ConversationRecord {
                account: ACCOUNT,
                conversation: slot.0,
                customer: who.clone(),
                channel: Channel::Web,
                opened_at: at,
                agent: Some(agent),
                closed_at: Some(at + 600_000),
            };
            batch.put(
                Cf::Conversations,
                &keys::conversation(ACCOUNT, slot.0),
                record.encode(),
            );
        }
        slot.1 += 1;
        let from = if rng.below(2) == 0 {
            Party::Customer
        } else {
            Party::Agent(slot.2)
        };
        let record = MessageRecord {
            account: ACCOUNT,
            customer: who.clone(),
            conversation: slot.0,
            id,
            at,
            from,
            body: body(&mut rng),
            served_by: Some(slot.2),
        };
        batch.put(
            Cf::Messages,
            &keys::message(ACCOUNT, &who, id),
            record.encode(),
        );
        if batch.len() >= 20_000 {
            store.write(&batch, Durability::Wal).expect("write");
            batch.clear();
        }
    }
    store.write(&batch, Durability::Wal).expect("write");
    drop(store);
    // Reopened, as a long-running appliance's data would be: memtables flushed to files.
    open_rocks(dir, &RocksOptions::default()).expect("reopen rocksdb")
}

struct Case {
    name: &'static str,
    query: HistoryQuery,
    viewer: Viewer,
    /// Rotate over the regular customers, one per call (else the query's own customer).
    rotate: bool,
}

fn query(customer: CustomerId, all_time: bool, keyword: &str) -> HistoryQuery {
    HistoryQuery {
        customer,
        all_time,
        agent: None,
        kind: HistoryKind::All,
        keyword: keyword.into(),
        before: None,
        limit: 30,
    }
}

fn run(store: &RocksStore, query: &HistoryQuery, viewer: Viewer) -> HistoryPage {
    history::page(store, ACCOUNT, query, NOW, viewer, |conversation| {
        history::stored_conversation_agent(store, ACCOUNT, conversation)
    })
    .expect("history page")
}

fn percentiles(name: &str, store: &RocksStore, case: &Case) {
    const N: usize = 1_000;
    let mut times = Vec::with_capacity(N);
    let mut returned = 0usize;
    let mut q = case.query.clone();
    for i in 0..N {
        if case.rotate {
            q.customer = customer((i as u64 * 7_919) % CUSTOMERS);
        }
        let t = Instant::now();
        let page = run(store, black_box(&q), case.viewer);
        times.push(t.elapsed());
        returned += page.messages.len();
    }
    times.sort_unstable();
    let at = |p: f64| times[((N as f64 * p) as usize).min(N - 1)];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "history {name:<55} p50 {:>8.1} µs  p99 {:>8.1} µs  max {:>8.1} µs  ({:.1} messages/page)",
        us(at(0.50)),
        us(at(0.99)),
        us(times[N - 1]),
        returned as f64 / N as f64
    );
}

/// Where the time of a long scan goes: the store's reverse scan alone, then with decoding.
fn reference_scans(store: &RocksStore) {
    let range = keys::customer_messages(ACCOUNT, &long_customer());
    for decode in [false, true] {
        let mut times = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            let mut upper = range.end.clone();
            let mut n = 0;
            while n < LONG as usize {
                let rows = store
                    .scan_reverse(Cf::Messages, &range.start, &upper, history::MAX_CHUNK)
                    .expect("scan");
                let Some((last, _)) = rows.last() else { break };
                upper.clone_from(last);
                n += rows.len();
                if decode {
                    for (_, v) in &rows {
                        black_box(MessageRecord::decode(v).expect("decode"));
                    }
                }
            }
            times.push(t.elapsed());
        }
        times.sort_unstable();
        println!(
            "reference: reverse scan of {LONG} rows{}: p50 {:.1} ms",
            if decode { " + decode" } else { "" },
            times[times.len() / 2].as_secs_f64() * 1e3
        );
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    let store = fixture(dir.path());
    println!(
        "history fixture: {} messages ({} customers × {PER_CUSTOMER} + 1 × {LONG}) written in {:.1} s",
        CUSTOMERS * PER_CUSTOMER + LONG,
        CUSTOMERS,
        t.elapsed().as_secs_f64()
    );
    let see_all = Viewer {
        agent: 1001,
        see_all: true,
        owns_customer: false,
        shared: false,
    };
    let plain = Viewer {
        see_all: false,
        ..see_all
    };
    let cases = [
        Case {
            name: "page of 30, regular customer, permission 4",
            query: query(customer(0), false, ""),
            viewer: see_all,
            rotate: true,
        },
        Case {
            name: "page of 30, regular customer, own chats only",
            query: query(customer(0), false, ""),
            viewer: plain,
            rotate: true,
        },
        Case {
            name: "page of 30, long-history customer",
            query: query(long_customer(), false, ""),
            viewer: see_all,
            rotate: false,
        },
        Case {
            name: "keyword '上海', long-history customer, all time",
            query: query(long_customer(), true, "上海"),
            viewer: see_all,
            rotate: false,
        },
        Case {
            name: "keyword 'invoice', long-history customer, all time",
            query: query(long_customer(), true, "invoice"),
            viewer: see_all,
            rotate: false,
        },
        Case {
            name: "keyword found nowhere, long-history (5,000 cap)",
            query: query(long_customer(), true, "北京烤鸭"),
            viewer: see_all,
            rotate: false,
        },
    ];
    for case in &cases {
        percentiles(case.name, &store, case);
    }
    reference_scans(&store);

    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("history");
        for case in &cases {
            let mut i = 0u64;
            let mut q = case.query.clone();
            g.bench_function(case.name, |b| {
                b.iter(|| {
                    if case.rotate {
                        i = i.wrapping_add(7_919);
                        q.customer = customer(i % CUSTOMERS);
                    }
                    run(&store, black_box(&q), case.viewer)
                })
            });
        }
        g.finish();
    }
    c.final_summary();
}
