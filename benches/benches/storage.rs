//! Storage and credential costs: one group-commit batch, one password hash.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kefu_daemon::store::records::SessionRecord;
use kefu_daemon::store::{open_rocks, Batch, Durability, KvStore, RocksOptions};

fn session(account: u64, agent: u32) -> SessionRecord {
    SessionRecord {
        account,
        agent,
        token_hash: [7; 32],
        credential_gen: 1,
        created_at: 1_800_000_000,
        expires_at: 1_802_592_000,
    }
}

fn group_commit(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_rocks(dir.path(), &RocksOptions::default()).unwrap();
    let mut g = c.benchmark_group("group commit");
    for (records, durability, name) in [
        (1, Durability::Wal, "1 record, wal"),
        (256, Durability::Wal, "256 records, wal"),
        (256, Durability::Fsync, "256 records, fsync"),
    ] {
        g.throughput(Throughput::Elements(records));
        let mut n = 0u32;
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let mut batch = Batch::new();
                    for _ in 0..records {
                        n = n.wrapping_add(1);
                        batch.put_session(&session(800_000 + u64::from(n % 1000), 1001 + n / 1000));
                    }
                    batch
                },
                |batch| store.write(&batch, durability).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn password_hash(c: &mut Criterion) {
    let rng = ring::rand::SystemRandom::new();
    let mut g = c.benchmark_group("password");
    g.sample_size(10);
    g.bench_function("PBKDF2-HMAC-SHA256 600k iterations (one login)", |b| {
        b.iter(|| {
            kefu_daemon::password::hash_password(b"a realistic password", 600_000, &rng).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, group_commit, password_hash);
criterion_main!(benches);
