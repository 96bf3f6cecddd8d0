//! The shard's connection storage: slots with a free list and a generation per
//! slot, so an answer or push for a connection that has since closed (and whose
//! slot was reused) is dropped instead of reaching a stranger.
//!
//! Connections live inline in fixed chunks of [`CHUNK`] slots. One array that
//! doubles would hold up to twice the slots in use: for an idle connection, whose
//! slot is most of what it costs (issue 13's ≤ 700 B), that is up to 350 B more per
//! connection. Chunks bound the slack to one chunk per shard, and still keep the
//! connections in a few large blocks rather than one small allocation each among
//! short-lived buffers, which would pin pages.

use crate::conn::Connection;

/// Slots per chunk: 64 × 344 B, about 22 KiB, so the slack is at most that per shard.
const CHUNK: usize = 64;

/// Connection storage: chunks of slots with a free list, and a generation per slot
/// so a reply to a connection that has since closed is dropped.
#[derive(Default)]
pub(super) struct Slab {
    chunks: Vec<Box<[Slot]>>,
    /// Slots handed out so far (used or free); the next new one is this index.
    created: usize,
    free: Vec<usize>,
    len: usize,
}

/// A slot is free (with the generation of its last connection) or holds a
/// connection, which carries its own generation: the free variant fits in the
/// connection's spare bytes, so a slot is no larger than a connection.
// The size difference is the point: connections inline, not boxed (module docs).
#[allow(clippy::large_enum_variant)]
enum Slot {
    Free { generation: u32 },
    Used(Connection),
}

impl Slot {
    fn generation(&self) -> u32 {
        match self {
            Slot::Free { generation } => *generation,
            Slot::Used(conn) => conn.generation,
        }
    }

    fn conn_mut(&mut self) -> Option<&mut Connection> {
        match self {
            Slot::Free { .. } => None,
            Slot::Used(conn) => Some(conn),
        }
    }
}

impl Slab {
    pub(super) fn insert(&mut self, mut conn: Connection) -> (usize, u32) {
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                if self.created == self.chunks.len() * CHUNK {
                    self.chunks.push(new_chunk());
                }
                self.created += 1;
                self.created - 1
            }
        };
        // A free slot's index, or the one just made: it exists.
        let slot = &mut self.chunks[idx / CHUNK][idx % CHUNK];
        let generation = slot.generation().wrapping_add(1);
        conn.generation = generation;
        *slot = Slot::Used(conn);
        self.len += 1;
        (idx, generation)
    }

    pub(super) fn remove(&mut self, idx: usize) -> Option<Connection> {
        let slot = self.slot_mut(idx)?;
        let generation = slot.generation();
        let Slot::Used(conn) = std::mem::replace(slot, Slot::Free { generation }) else {
            return None;
        };
        self.free.push(idx);
        self.len -= 1;
        Some(conn)
    }

    pub(super) fn get_mut(&mut self, idx: usize, generation: u32) -> Option<&mut Connection> {
        self.slot_mut(idx)?
            .conn_mut()
            .filter(|c| c.generation == generation)
    }

    pub(super) fn get_any(&mut self, idx: usize) -> Option<&mut Connection> {
        self.slot_mut(idx)?.conn_mut()
    }

    pub(super) fn live(&self) -> Vec<(usize, u32)> {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .enumerate()
            .filter_map(|(i, s)| match s {
                Slot::Used(conn) => Some((i, conn.generation)),
                Slot::Free { .. } => None,
            })
            .collect()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn slot_mut(&mut self, idx: usize) -> Option<&mut Slot> {
        self.chunks.get_mut(idx / CHUNK)?.get_mut(idx % CHUNK)
    }
}

fn new_chunk() -> Box<[Slot]> {
    (0..CHUNK).map(|_| Slot::Free { generation: 0 }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::Transport;
    use std::time::Instant;

    fn conn() -> Connection {
        let (socket, _peer) = mio::net::UnixStream::pair().unwrap();
        let protocol =
            kefu_wire::ServerConnection::new(kefu_wire::ServerConfig::default(), Instant::now());
        Connection::new(Transport::Unix(socket), protocol, false, Instant::now())
    }

    #[test]
    fn slots_are_reused_with_a_new_generation_across_chunks() {
        let mut slab = Slab::default();
        let n = 3 * CHUNK + 5;
        let ids: Vec<(usize, u32)> = (0..n).map(|_| slab.insert(conn())).collect();
        assert_eq!(slab.chunks.len(), 4, "one chunk at a time");
        assert_eq!(slab.live(), ids);
        for &(i, g) in &ids {
            assert_eq!(slab.get_mut(i, g).map(|c| c.generation), Some(g));
        }
        // A slot in the third chunk goes and comes back: the old generation is stale.
        let (i, g) = ids[2 * CHUNK + 1];
        assert!(slab.remove(i).is_some());
        assert!(slab.remove(i).is_none(), "removed once");
        assert!(slab.get_any(i).is_none());
        let (again, g2) = slab.insert(conn());
        assert_eq!((again, g2), (i, g + 1));
        assert!(
            slab.get_mut(i, g).is_none(),
            "a reply to the old one is dropped"
        );
        assert!(slab.get_mut(i, g2).is_some());
        assert!(slab.get_any(n + CHUNK).is_none(), "past the chunks");
        for (i, _) in slab.live() {
            assert!(slab.remove(i).is_some());
        }
        assert!(slab.is_empty());
        assert_eq!(
            slab.chunks.len(),
            4,
            "no chunk was needed for the reused slot"
        );
    }

    #[test]
    fn an_idle_connection_costs_its_slot() {
        // The slot (the connection inline) is most of an idle connection's heap;
        // `conn.rs` bounds the struct. A free slot's generation takes no room of its own.
        let slot = std::mem::size_of::<Slot>();
        let conn = std::mem::size_of::<Connection>();
        assert_eq!(slot, conn);
    }
}
