//! The floor under `durability = "fsync"` (issue 13, point 4): how long this disk takes
//! to make a small append durable, measured without Kefu and without RocksDB, beside
//! RocksDB's synced write of the same size through the store.
//!
//! ```sh
//! cargo run --release --offline -p kefu-benches --example fsync_floor -- [SECS] [DIR]
//! ```
//!
//! Each case runs for SECS seconds (default 3) in a fresh directory under DIR (default
//! the system's temporary directory: the disk the data directories of the tests and
//! the load scripts live on) and prints syncs/s and p50 / p99 / p99.9 / max:
//!
//! - `append N B + fdatasync`: what a log that grows pays — the new size and blocks are
//!   metadata, so every sync also commits the filesystem's journal.
//! - `overwrite N B + fdatasync`: the same writes into a file already written to its
//!   full length (what a recycled or preallocated log pays: the data only).
//! - `rocksdb synced put N B`: `KvStore::write(…, Durability::Fsync)` of one record,
//!   with the store's own options (`store/rocks.rs`).
//! - the same with two threads writing at once (two shards): whether their syncs share.
//!
//! The larger sizes show the disk's synced bandwidth, which bounds a grown batch.

use kefu_daemon::store::{open_rocks, Batch, Cf, Durability, KvStore, RocksOptions};
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Timings of one case, sorted.
struct Spread(Vec<Duration>);

impl Spread {
    fn at(&self, q: f64) -> f64 {
        let i = ((self.0.len() as f64 * q).ceil() as usize).clamp(1, self.0.len()) - 1;
        self.0.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    }

    fn report(mut self, name: &str, secs: f64) {
        self.0.sort_unstable();
        if self.0.is_empty() {
            println!("{name:<44} no samples");
            return;
        }
        println!(
            "{name:<44} {:>7.0}/s  p50 {:>6.3}  p99 {:>6.3}  p99.9 {:>7.3}  max {:>7.3} ms",
            self.0.len() as f64 / secs,
            self.at(0.5),
            self.at(0.99),
            self.at(0.999),
            self.at(1.0),
        );
    }
}

/// Times `op` back to back for `secs`.
fn timed(secs: f64, mut op: impl FnMut()) -> Spread {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut times = Vec::new();
    while Instant::now() < end {
        let began = Instant::now();
        op();
        times.push(began.elapsed());
    }
    Spread(times)
}

fn append_case(dir: &Path, size: usize, secs: f64) -> Spread {
    let mut f = File::create(dir.join(format!("append-{size}"))).expect("create");
    let record = vec![0x5a_u8; size];
    timed(secs, || {
        f.write_all(&record).expect("write");
        f.sync_data().expect("fdatasync");
    })
}

fn overwrite_case(dir: &Path, size: usize, secs: f64) -> Spread {
    const LENGTH: u64 = 256 << 20;
    let path = dir.join(format!("overwrite-{size}"));
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .expect("create");
    // Written (not merely sized: a sparse file's blocks are allocated on first write),
    // then synced, so that the timed writes change no metadata but the times.
    let chunk = vec![0_u8; 1 << 20];
    for _ in 0..(LENGTH >> 20) {
        f.write_all(&chunk).expect("fill");
    }
    f.sync_all().expect("sync");
    f.seek(SeekFrom::Start(0)).expect("seek");
    let record = vec![0x5a_u8; size];
    let mut at = 0_u64;
    timed(secs, || {
        if at + size as u64 > LENGTH {
            f.seek(SeekFrom::Start(0)).expect("seek");
            at = 0;
        }
        f.write_all(&record).expect("write");
        f.sync_data().expect("fdatasync");
        at += size as u64;
    })
}

fn rocks_case(dir: &Path, size: usize, secs: f64, writers: usize) -> Spread {
    let store = Arc::new(open_rocks(dir, &RocksOptions::default()).expect("open"));
    let threads: Vec<_> = (0..writers)
        .map(|w| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut n = 0_u64;
                timed(secs, || {
                    n += 1;
                    let mut batch = Batch::new();
                    let key = [w.to_be_bytes().as_slice(), &n.to_be_bytes()].concat();
                    batch.put(Cf::Messages, &key, vec![0x5a; size]);
                    store.write(&batch, Durability::Fsync).expect("write");
                })
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in threads {
        all.extend(t.join().expect("writer").0);
    }
    Spread(all)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let base = args.next().map_or_else(std::env::temp_dir, Into::into);
    println!("fsync floor: {secs} s per case, under {}", base.display());
    // 200 B and 2 KB: a message's batch at low load; 64 KiB and 512 KiB: a grown batch
    // (what the disk syncs per second once batches carry hundreds of messages).
    for size in [200, 2_000, 64 << 10, 512 << 10] {
        let dir = tempfile::tempdir_in(&base).expect("tempdir");
        append_case(dir.path(), size, secs).report(&format!("append {size} B + fdatasync"), secs);
        overwrite_case(dir.path(), size, secs)
            .report(&format!("overwrite {size} B + fdatasync"), secs);
        let db = tempfile::tempdir_in(&base).expect("tempdir");
        rocks_case(db.path(), size, secs, 1).report(&format!("rocksdb synced put {size} B"), secs);
        let db = tempfile::tempdir_in(&base).expect("tempdir");
        rocks_case(db.path(), size, secs, 2)
            .report(&format!("rocksdb synced put {size} B, 2 writers"), secs);
    }
}
