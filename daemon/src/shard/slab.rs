//! The shard's connection storage: slots with a free list and a generation per
//! slot, so an answer or push for a connection that has since closed (and whose
//! slot was reused) is dropped instead of reaching a stranger.

use crate::conn::Connection;

/// Connection storage: a vector of slots with a free list, and a generation
/// per slot so a reply to a connection that has since closed is dropped.
#[derive(Default)]
pub(super) struct Slab {
    slots: Vec<Slot>,
    free: Vec<usize>,
    len: usize,
}

struct Slot {
    generation: u32,
    /// Inline, not boxed: one large slot array instead of a small allocation per
    /// connection scattered among short-lived buffers, which would pin pages.
    conn: Option<Connection>,
}

impl Slab {
    pub(super) fn insert(&mut self, mut conn: Connection) -> (usize, u32) {
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    conn: None,
                });
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[idx];
        slot.generation = slot.generation.wrapping_add(1);
        conn.generation = slot.generation;
        slot.conn = Some(conn);
        self.len += 1;
        (idx, slot.generation)
    }

    pub(super) fn remove(&mut self, idx: usize) -> Option<Connection> {
        let conn = self.slots.get_mut(idx)?.conn.take()?;
        self.free.push(idx);
        self.len -= 1;
        Some(conn)
    }

    pub(super) fn get_mut(&mut self, idx: usize, generation: u32) -> Option<&mut Connection> {
        self.slots
            .get_mut(idx)
            .filter(|s| s.generation == generation)
            .and_then(|s| s.conn.as_mut())
    }

    pub(super) fn get_any(&mut self, idx: usize) -> Option<&mut Connection> {
        self.slots.get_mut(idx).and_then(|s| s.conn.as_mut())
    }

    pub(super) fn live(&self) -> Vec<(usize, u32)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.conn.is_some())
            .map(|(i, s)| (i, s.generation))
            .collect()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }
}
