//! The loop's side of sessions: the one table from a session to the connection it
//! is on (`Shard::attached`), pushes addressed to a session, and a resumed session
//! taking its new connection (PROTOCOL.md section 6.1). The centre decides who a
//! session is and whether it waits detached; this file only moves pushes.

use super::Shard;
use crate::centre::ReplyTo;
use crate::conn::{Connection, Phase};
use crate::session::{Departed, SessionId};
use kefu_wire::ErrorCode;

impl Shard {
    /// Pushes `event` to the connection `session` is on; a session on none (detached,
    /// or its connection just told to go as a slow consumer) may keep it for the
    /// connection that resumes it.
    pub(super) fn push_to(&mut self, session: SessionId, event: kefu_wire::Event) {
        let conn = self.attached.get(&session).copied();
        let Some((idx, c)) = conn.and_then(|(i, g)| Some((i, self.conns.get_mut(i, g)?))) else {
            self.centre.keep_push(session, event);
            return;
        };
        // Not sent before the handshake or while closing; past the ack window the
        // connection says goodbye instead, and a resumable session keeps the push.
        let copy = c.protocol.keeps_unacked().then(|| event.clone());
        let sent = c.protocol.push(event).is_some();
        self.after_output(idx);
        if let (false, Some(copy)) = (sent, copy) {
            self.centre.keep_push(session, copy);
        }
    }

    /// A resumed session takes the connection that asked for it: an old connection
    /// still open is told to go (its unacknowledged pushes move over), the answer
    /// `Resumed` goes out, then the kept pushes, renumbered on this connection.
    pub(super) fn attach(&mut self, session: SessionId, reply: ReplyTo) {
        let (idx, generation) = (reply.conn, reply.generation);
        let here = self
            .conns
            .get_mut(idx, generation)
            .is_some_and(|c| c.session == Some(session) && c.phase() != Phase::Closing);
        if !here {
            // The connection went before this; the centre heard (`connection_gone`).
            return;
        }
        let old = self.attached.remove(&session).and_then(|(i, g)| {
            let c = self.conns.get_mut(i, g)?;
            let left = departed(c, true);
            c.protocol.go_away(
                ErrorCode::SESSION_REPLACED,
                "the session resumed on another connection",
            );
            Some((i, left))
        });
        let old = old.map(|(i, left)| {
            // Its session is taken: closing it ends nothing.
            self.start_closing(i);
            left
        });
        let Some(replay) = self.centre.take_replay(session, old.flatten()) else {
            // The session ended in the same turn (a newer login of its person): the
            // connection is not logged in after all.
            if let Some(c) = self.conns.get_mut(idx, generation) {
                c.session = None;
                c.set_phase(Phase::Ready, self.now);
                let refused = kefu_wire::ErrorBody {
                    code: ErrorCode::RESUME_REJECTED,
                    message: "the session ended meanwhile".into(),
                };
                c.protocol.respond(reply.correlation, Err(refused));
            }
            self.after_output(idx);
            return;
        };
        let replayed = replay.len() as u64;
        if let Some(c) = self.conns.get_mut(idx, generation) {
            let answer = Ok(kefu_wire::Response::Resumed { replayed });
            c.protocol.respond(reply.correlation, answer);
        }
        self.attached.insert(session, (idx, generation));
        // Outside the ack window: the replay may hold more than it.
        let mut left = Vec::new();
        for event in replay {
            let c = self.conns.get_mut(idx, generation);
            match c {
                Some(c) if left.is_empty() && c.protocol.is_open() => {
                    c.protocol.replay(event);
                }
                _ => left.push(event),
            }
        }
        self.after_output(idx);
        // Its output bound was passed mid-replay (it is detached again): kept.
        for event in left {
            self.centre.keep_push(session, event);
        }
    }
}

/// What a going connection's session leaves behind: its unacknowledged pushes (kept
/// only for a resumable session) and the last push number.
pub(super) fn departed(conn: &mut Connection, attached: bool) -> Option<Departed> {
    let session = conn.session.take()?;
    Some(Departed {
        session,
        unacked: conn.protocol.take_unacked(),
        last_seq: conn.protocol.last_push_seq(),
        attached,
    })
}

/// The session on `conn`, or a number no session has.
pub(super) fn session_of(conn: &Connection) -> SessionId {
    conn.session.unwrap_or(SessionId(u64::MAX))
}
