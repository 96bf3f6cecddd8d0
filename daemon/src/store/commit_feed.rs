//! The batches a primary commits, handed to its replication sender as they are written
//! (issue 18, point 1): the sender ships them without reading back from the log what
//! was just written. The log (`rocks_wal::batches_after`) stays the truth and the
//! catch-up path: the feed is a bounded cache of its newest tail.
//!
//! The store pushes every batch it writes, in sequence order (`RocksStore::write`
//! holds its write-order lock across the write and the push), so the queue is always
//! one contiguous run of sequences. Whatever breaks that — a batch written around the
//! feed, the queue outgrowing its bound while no standby takes from it — empties the
//! queue, and the sender reads the log until it has caught up with the feed again.

use super::LoggedBatch;
use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

/// The newest committed batches, contiguous, at most `max_bytes` of them.
#[derive(Debug)]
pub struct CommitFeed {
    queue: Mutex<Queue>,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct Queue {
    batches: VecDeque<LoggedBatch>,
    bytes: usize,
    /// The sequence the next pushed batch must start at to extend the run.
    next: u64,
}

impl CommitFeed {
    /// A feed keeping at most `max_bytes` of batch data.
    pub fn new(max_bytes: usize) -> CommitFeed {
        CommitFeed {
            queue: Mutex::new(Queue::default()),
            max_bytes,
        }
    }

    /// A batch was committed: `count` sequences from `batch.sequence`.
    pub(super) fn push(&self, batch: LoggedBatch, count: u64) {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let size = batch.data.len();
        if batch.sequence != q.next || q.bytes + size > self.max_bytes {
            // Not contiguous with what is queued, or nobody takes: start again here.
            q.batches.clear();
            q.bytes = 0;
        }
        q.next = batch.sequence + count;
        q.bytes += size;
        q.batches.push_back(batch);
    }

    /// Up to `max` batches starting exactly at `after + 1`, oldest first, taken out of
    /// the feed (older ones are dropped); `None` if the feed does not hold `after + 1`
    /// (the caller reads the log). Empty if nothing was committed after `after`.
    pub fn take_after(&self, after: u64, max: usize) -> Option<Vec<LoggedBatch>> {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        while q.batches.front().is_some_and(|b| b.sequence <= after) {
            if let Some(old) = q.batches.pop_front() {
                q.bytes -= old.data.len();
            }
        }
        match q.batches.front() {
            Some(first) if first.sequence == after + 1 => {}
            Some(_) => return None,
            None if q.next == after + 1 => return Some(Vec::new()),
            None => return None,
        }
        let n = q.batches.len().min(max);
        let taken: Vec<LoggedBatch> = q.batches.drain(..n).collect();
        q.bytes -= taken.iter().map(|b| b.data.len()).sum::<usize>();
        Some(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(sequence: u64, len: usize) -> LoggedBatch {
        LoggedBatch {
            sequence,
            data: vec![0; len],
        }
    }

    #[test]
    fn gives_a_contiguous_run_and_refuses_what_it_does_not_hold() {
        let feed = CommitFeed::new(1 << 20);
        feed.push(batch(11, 10), 3); // 11..=13
        feed.push(batch(14, 10), 1); // 14
        feed.push(batch(15, 10), 2); // 15..=16
        assert_eq!(feed.take_after(5, 10), None, "a hole before the feed");
        let got = feed.take_after(13, 1).unwrap();
        assert_eq!(got.iter().map(|b| b.sequence).collect::<Vec<_>>(), [14]);
        let got = feed.take_after(14, 10).unwrap();
        assert_eq!(got.iter().map(|b| b.sequence).collect::<Vec<_>>(), [15]);
        assert_eq!(feed.take_after(16, 10), Some(Vec::new()), "caught up");
        assert_eq!(feed.take_after(17, 10), None, "beyond what was committed");
    }

    #[test]
    fn a_break_in_the_run_or_the_bound_empties_it() {
        let feed = CommitFeed::new(25);
        feed.push(batch(1, 10), 1);
        feed.push(batch(5, 10), 1); // 2..=4 went around the feed
        assert_eq!(feed.take_after(0, 10), None);
        assert_eq!(feed.take_after(4, 10).unwrap().len(), 1);
        feed.push(batch(6, 10), 1);
        feed.push(batch(7, 10), 1);
        feed.push(batch(8, 10), 1); // 30 bytes > 25: only 8 is kept
        assert_eq!(feed.take_after(5, 10), None);
        assert_eq!(feed.take_after(7, 10).unwrap().len(), 1);
    }
}
