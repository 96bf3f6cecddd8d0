//! CRM costs on an account of 100,000 contacts: keyword search (Latin, Chinese, phone
//! digits), filtered search by tag and group, a page of 30 sorted by last contact, a page
//! of the recently-contacted group, and one contact update in the index.
//!
//! Contacts are generated deterministically: Chinese names from a table of common
//! surnames and given-name characters, their pinyin as nickname and e-mail, mobile
//! numbers, a region remark on a third of them, 1–2 of 50 groups, 0–3 of 16 tags, one of
//! 50 owners, a last contact in the past 90 days.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use kefu_daemon::crm::{
    Contact, ContactState, CustomerKey, Filters, GroupId, PageRequest, Query, RecentContacts,
    SearchIndex, Sort, TagId,
};

const CONTACTS: u64 = 100_000;
const NOW: i64 = 1_750_000_000;

const SURNAMES: [(&str, &str); 20] = [
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("高", "gao"),
    ("林", "lin"),
    ("罗", "luo"),
];

const GIVEN: [(&str, &str); 32] = [
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀", "xiu"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("桂", "gui"),
    ("英", "ying"),
    ("华", "hua"),
    ("文", "wen"),
    ("玲", "ling"),
    ("建", "jian"),
    ("国", "guo"),
    ("红", "hong"),
    ("海", "hai"),
    ("燕", "yan"),
    ("斌", "bin"),
];

const REGIONS: [&str; 8] = [
    "上海浦东",
    "上海闵行",
    "北京朝阳",
    "北京海淀",
    "广州天河",
    "深圳南山",
    "杭州西湖",
    "成都武侯",
];

const DOMAINS: [&str; 4] = ["example.com", "qq.com", "163.com", "corp.cn"];

/// xorshift64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn contact(rng: &mut Rng, no: u64) -> Contact {
    let (surname, sur_py) = SURNAMES[rng.below(SURNAMES.len())];
    let mut name = surname.to_owned();
    let mut pinyin = sur_py.to_owned();
    for _ in 0..1 + rng.below(2) {
        let (given, py) = GIVEN[rng.below(GIVEN.len())];
        name.push_str(given);
        pinyin.push_str(py);
    }
    let mut c = Contact::new(
        CustomerKey::Identified(format!("u{no}")),
        if rng.below(20) == 0 {
            ContactState::Stranger
        } else {
            ContactState::Friend
        },
        Some(1001 + rng.below(50) as u32),
        NOW - 400 * 86_400,
    );
    c.real_name = name;
    c.nickname = pinyin.clone();
    c.phone = format!(
        "1{}{:08}",
        [38, 39, 50, 58, 86, 35][rng.below(6)],
        rng.next() % 100_000_000
    );
    c.email = format!(
        "{pinyin}{}@{}",
        rng.below(1000),
        DOMAINS[rng.below(DOMAINS.len())]
    );
    if rng.below(3) == 0 {
        c.remark = REGIONS[rng.below(REGIONS.len())].to_owned();
    }
    for _ in 0..1 + rng.below(2) {
        c.groups.insert(GroupId(1 + rng.below(50) as u32));
    }
    for _ in 0..rng.below(4) {
        c.tags.insert(TagId(1 + rng.below(16) as u32));
    }
    c.last_contact_at = Some(NOW - rng.below(90 * 86_400) as i64);
    c
}

fn build() -> (SearchIndex, RecentContacts) {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let started = Instant::now();
    let mut index = SearchIndex::new();
    let mut recent = RecentContacts::new();
    for no in 1..=CONTACTS {
        let c = contact(&mut rng, no);
        index.add(no, &c);
        if let (Some(owner), Some(at)) = (c.owner, c.last_contact_at) {
            recent.touch(owner, no, at * 1000);
        }
    }
    let stats = index.stats();
    eprintln!(
        "crm bench: indexed {} contacts in {:.2?}: {} terms, {} postings ({:.1} per contact)",
        stats.contacts,
        started.elapsed(),
        stats.terms,
        stats.postings,
        stats.postings as f64 / stats.contacts as f64
    );
    (index, recent)
}

fn page(offset: u32, limit: u16) -> PageRequest {
    PageRequest::new(offset, limit).expect("a valid page size")
}

fn search(c: &mut Criterion) {
    let (mut index, recent) = build();
    let all = Filters::default();
    let mut g = c.benchmark_group("crm 100k contacts");
    let keyword = |name: &str, text: &str| {
        let query = Query::parse(text).expect("a valid query");
        (name.to_owned(), query)
    };
    for (name, query) in [
        keyword("keyword latin 'zhang', page of 30", "zhang"),
        keyword("keyword latin 'zhangwei', page of 30", "zhangwei"),
        keyword("keyword chinese '张伟', page of 30", "张伟"),
        keyword("keyword chinese '浦东', page of 30", "浦东"),
        keyword("keyword phone digits '8000', page of 30", "8000"),
    ] {
        let total = index
            .search(&query, &all, Sort::LastContactDesc, page(0, 30))
            .map(|p| p.total)
            .unwrap_or(0);
        eprintln!("crm bench: {name}: {total} matches");
        let p = kefu_benches::percentiles(1_000, |_| {
            black_box(
                index
                    .search(&query, &all, Sort::LastContactDesc, page(0, 30))
                    .ok(),
            );
        });
        println!("crm {name:<55} {p}");
        g.bench_function(&name, |b| {
            b.iter(|| index.search(black_box(&query), &all, Sort::LastContactDesc, page(0, 30)))
        });
    }

    let tag_and_group = Filters {
        groups: vec![GroupId(7)],
        tags: vec![TagId(3)],
        ..Filters::default()
    };
    let empty = Query::parse("").expect("a valid query");
    let zhang_q = Query::parse("张").expect("a valid query");
    let timed: [(&str, &Query, &Filters, Sort, u32); 4] = [
        (
            "filter tag 3 + group 7, page of 30",
            &empty,
            &tag_and_group,
            Sort::LastContactDesc,
            0,
        ),
        (
            "all contacts by last contact, page 11 of 30",
            &empty,
            &all,
            Sort::LastContactDesc,
            300,
        ),
        (
            "all contacts by name, page 1 of 30",
            &empty,
            &all,
            Sort::Name,
            0,
        ),
        (
            "keyword '张' + tag 3 + group 7, page of 30",
            &zhang_q,
            &tag_and_group,
            Sort::LastContactDesc,
            0,
        ),
    ];
    for (name, query, filters, sort, offset) in timed {
        let p = kefu_benches::percentiles(1_000, |_| {
            black_box(index.search(query, filters, sort, page(offset, 30)).ok());
        });
        println!("crm {name:<55} {p}");
    }
    let p = kefu_benches::percentiles(1_000, |i| {
        black_box(recent.page(1001 + (i % 50) as u32, 30, 30));
    });
    println!(
        "crm {:<55} {p}",
        "recently contacted, page 2 of 30 (50 agents)"
    );
    g.bench_function("filter tag 3 + group 7, page of 30", |b| {
        b.iter(|| {
            index.search(
                &empty,
                black_box(&tag_and_group),
                Sort::LastContactDesc,
                page(0, 30),
            )
        })
    });
    let zhang = Query::parse("张").expect("a valid query");
    g.bench_function("keyword '张' + tag 3 + group 7, page of 30", |b| {
        b.iter(|| {
            index.search(
                black_box(&zhang),
                &tag_and_group,
                Sort::LastContactDesc,
                page(0, 30),
            )
        })
    });
    g.bench_function("all contacts by last contact, page 11 of 30", |b| {
        b.iter(|| index.search(&empty, &all, Sort::LastContactDesc, page(300, 30)))
    });
    g.bench_function("all contacts by name, page 1 of 30", |b| {
        b.iter(|| index.search(&empty, &all, Sort::Name, page(0, 30)))
    });
    g.bench_function("recently contacted of agent 1001, page 2 of 30", |b| {
        b.iter(|| recent.page(black_box(1001), 30, 30))
    });

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let updates: Vec<(u64, Contact)> = (0..1000)
        .map(|i| {
            let no = 1 + (i * 97) % CONTACTS;
            (no, contact(&mut rng, no))
        })
        .collect();
    let mut i = 0;
    g.bench_function("update one contact in the index", |b| {
        b.iter(|| {
            let (no, c) = &updates[i % updates.len()];
            i += 1;
            index.update(*no, c);
        })
    });
    g.finish();
}

criterion_group!(benches, search);
criterion_main!(benches);
