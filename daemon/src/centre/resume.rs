//! Resumable sessions (PROTOCOL.md section 6.1): a session that outlives its
//! connection and resumes from the client's last ack, after the model of XMPP stream
//! management (XEP-0198) and MQTT's persistent sessions.
//!
//! `EnableResume` gives the session a token (its number and a 32-byte secret; only the
//! secret's SHA-256 is kept, compared in constant time) and asks the loop to keep the
//! connection's unacknowledged pushes. When that connection goes other than by `Logout`
//! or a newer login (those end the session in the centre first), the session is
//! **detached**: its person stays logged in, the pushes the connection had not
//! acknowledged are kept, and pushes addressed to it meanwhile are appended, up to
//! `limits.max_unacked_pushes`. The window (`timeouts.resume_window_secs`) is measured
//! on the turn's clock, so the test clock moves it. Overflow or the window's end ends
//! the session exactly as a closed connection used to (agent offline, customer gone).
//!
//! `ResumeSession { token, last_ack }` on a new connection (handed to the session's
//! shard first) attaches it. When the loop releases the turn's `Outgoing::Attach` it
//! takes the kept pushes after `last_ack` ([`Centre::take_replay`]), answers
//! `Resumed { replayed }` and sends them, renumbered from 1, before anything newer. A
//! session still attached to an open connection is taken over all the same (the newer
//! connection wins: the server may not have noticed yet that the old one is dead); the
//! old connection is told `GoAway` `SESSION_REPLACED` and what it had not acknowledged
//! is replayed on the new one. Sessions live in memory only, so after a restart every
//! token is refused (`RESUME_REJECTED`).

use super::sessions::Who;
use super::{err, Answer, Centre, Outgoing, ReplyTo};
use crate::session::{Caller, ConnUpdate, Departed, Phase, SessionId};
use kefu_wire::{ErrorBody, ErrorCode, Event, Response, ResumeToken};
use ring::digest;
use std::collections::VecDeque;

/// A session's resumption state.
#[derive(Debug)]
pub(crate) struct Resumable {
    /// SHA-256 of the token's secret.
    secret_hash: [u8; 32],
    /// Where the session is.
    link: Link,
    /// Pushes kept for the next connection: `seq` in the old connection's numbering
    /// (continued for pushes kept while detached), oldest first.
    kept: VecDeque<(u64, Event)>,
    /// The `seq` of the last push the old connection was sent.
    sent_last: u64,
    /// The `seq` of the last kept push.
    last_seq: u64,
    /// Pushes kept while detached (bounded by `limits.max_unacked_pushes`).
    appended: u64,
}

/// Where a resumable session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// On a connection.
    Attached,
    /// Between connections, until this turn time (unix ms).
    Detached { until_ms: i64 },
    /// Taken over by a new connection in this turn (answered when its
    /// `Outgoing::Attach` is released); `takeover`: its old connection is still open.
    Attaching { last_ack: u64, takeover: bool },
}

fn secret_hash(secret: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, secret).as_ref());
    out
}

fn rejected(message: &str) -> ErrorBody {
    err(ErrorCode::RESUME_REJECTED, message)
}

impl Resumable {
    /// Keeps what a connection of the session left unacknowledged.
    fn keep_departed(&mut self, departed: Departed) {
        self.kept.extend(departed.unacked);
        self.sent_last = departed.last_seq;
        self.last_seq = self.last_seq.max(departed.last_seq);
    }
}

impl Centre {
    /// `EnableResume`: a token for the caller's session; the connection keeps its
    /// unacknowledged pushes from now on.
    pub(super) fn enable_resume(&mut self, caller: &Caller) -> Answer {
        let window = self.settings.resume_window_secs;
        if window == 0 {
            return Err(rejected("resuming sessions is disabled on this server"));
        }
        let session = caller
            .session
            .ok_or_else(|| err(ErrorCode::NOT_LOGGED_IN, "no session"))?;
        let mut secret = [0u8; 32];
        ring::rand::SecureRandom::fill(&self.rng, &mut secret)
            .map_err(|_| err(ErrorCode::INTERNAL, "no randomness"))?;
        let record = self
            .sessions
            .get_mut(&session)
            .ok_or_else(|| err(ErrorCode::NOT_LOGGED_IN, "no session"))?;
        match record.resume.as_mut() {
            // A new token replaces the old.
            Some(r) => r.secret_hash = secret_hash(&secret),
            None => {
                record.resume = Some(Box::new(Resumable {
                    secret_hash: secret_hash(&secret),
                    link: Link::Attached,
                    kept: VecDeque::new(),
                    sent_last: 0,
                    last_seq: 0,
                    appended: 0,
                }))
            }
        }
        self.update_conn(caller.conn, caller.generation, ConnUpdate::KeepPushes);
        Ok(Response::ResumeEnabled {
            token: ResumeToken {
                session: session.0,
                secret,
            },
            window_secs: window,
        })
    }

    /// A session's connection went (not by `Logout` or a newer login): a resumable
    /// session is detached with what the connection had not acknowledged, any other
    /// ends.
    pub(super) fn session_departed(&mut self, departed: Departed) {
        let window_ms = i64::from(self.settings.resume_window_secs) * 1000;
        let until_ms = self.now_ms.saturating_add(window_ms);
        let id = departed.session;
        let resume = self.sessions.get_mut(&id).and_then(|r| r.resume.as_mut());
        let Some(r) = resume.filter(|_| window_ms > 0) else {
            self.end_session(id);
            return;
        };
        match (r.link, departed.attached) {
            (Link::Attaching { last_ack, .. }, true) => {
                // The old connection of a takeover went first: the new one gets its pushes.
                r.keep_departed(departed);
                r.link = Link::Attaching {
                    last_ack,
                    takeover: false,
                };
            }
            (Link::Attaching { takeover: true, .. }, false) => {
                // The new connection went before it was answered: the old one stays.
                r.link = Link::Attached;
            }
            (
                Link::Attaching {
                    takeover: false, ..
                },
                false,
            ) => {
                // The new connection went before it was answered: detached again.
                r.link = Link::Detached { until_ms };
                self.detached.insert((until_ms, id));
            }
            (Link::Attached | Link::Detached { .. }, _) => {
                r.kept.clear();
                r.last_seq = 0;
                r.appended = 0;
                r.keep_departed(departed);
                r.link = Link::Detached { until_ms };
                self.detached.insert((until_ms, id));
            }
        }
    }

    /// A push for a session that is on no connection now: kept if it is detached (or
    /// being attached), dropped otherwise. Past the bound the session ends at the
    /// next commit.
    pub fn keep_push(&mut self, session: SessionId, event: Event) {
        let max = self.settings.max_unacked_pushes;
        let resume = self
            .sessions
            .get_mut(&session)
            .and_then(|r| r.resume.as_mut());
        let Some(r) = resume.filter(|r| r.link != Link::Attached) else {
            return;
        };
        if r.appended >= max {
            if !self.overflowed.contains(&session) {
                self.overflowed.push(session);
            }
            return;
        }
        r.appended += 1;
        r.last_seq = r.last_seq.saturating_add(1);
        r.kept.push_back((r.last_seq, event));
    }

    /// `ResumeSession` on connection `caller` (on the session's shard): the session
    /// is taken over by it; the answer and the replay go out with `Outgoing::Attach`.
    pub(super) fn resume_session(
        &mut self,
        caller: &Caller,
        reply: ReplyTo,
        token: ResumeToken,
        last_ack: u64,
    ) -> Result<(), ErrorBody> {
        let id = SessionId(token.session);
        let now = self.now_ms;
        let unknown = || rejected("unknown or ended session");
        let record = self.sessions.get(&id).ok_or_else(unknown)?;
        let (account, who) = (record.account, record.who.clone());
        let r = record.resume.as_ref().ok_or_else(unknown)?;
        let presented = secret_hash(&token.secret);
        let diff = presented
            .iter()
            .zip(&r.secret_hash)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return Err(unknown());
        }
        // A centre session idle for 15 minutes ends here too (its cookie with it).
        self.centre_idle_gate(id, true)?;
        let r = self
            .sessions
            .get_mut(&id)
            .and_then(|record| record.resume.as_mut())
            .ok_or_else(unknown)?;
        let takeover = match r.link {
            Link::Attached => true,
            Link::Detached { until_ms } if until_ms > now => {
                self.detached.remove(&(until_ms, id));
                false
            }
            Link::Detached { until_ms } => {
                // Its window is over: it ends now, as the sweep would have ended it.
                self.detached.remove(&(until_ms, id));
                self.end_session(id);
                return Err(rejected("the session's resume window is over"));
            }
            Link::Attaching { .. } => {
                return Err(rejected(
                    "the session is being resumed on another connection",
                ))
            }
        };
        r.link = Link::Attaching { last_ack, takeover };
        let phase = match who {
            Who::Agent(agent) => Phase::Agent { account, agent },
            Who::Customer(_) => Phase::Customer { account },
        };
        let (conn, generation) = (caller.conn, caller.generation);
        self.update_conn(conn, generation, ConnUpdate::Phase(phase));
        self.update_conn(conn, generation, ConnUpdate::Resuming(id));
        self.outbox.push(Outgoing::Attach { session: id, reply });
        Ok(())
    }

    /// The loop attaches a resumed session to its new connection, with what its old
    /// connection (still open, now told to go) left unacknowledged: the pushes to
    /// replay there, in order. `None` if the session is not being resumed any more.
    pub fn take_replay(&mut self, session: SessionId, old: Option<Departed>) -> Option<Vec<Event>> {
        let r = self
            .sessions
            .get_mut(&session)
            .and_then(|r| r.resume.as_mut())?;
        let Link::Attaching { last_ack, .. } = r.link else {
            return None;
        };
        if let Some(old) = old {
            r.keep_departed(old);
        }
        r.link = Link::Attached;
        // Pushes kept while detached come after `sent_last`: never skipped.
        let cut = last_ack.min(r.sent_last);
        let kept = std::mem::take(&mut r.kept);
        r.sent_last = 0;
        r.last_seq = 0;
        r.appended = 0;
        Some(
            kept.into_iter()
                .filter(|(seq, _)| *seq > cut)
                .map(|(_, event)| event)
                .collect(),
        )
    }

    /// Ends the detached sessions whose window is over at this turn's time, and those
    /// that overflowed their bound (before the turn's routing effects are applied).
    pub(super) fn expire_detached(&mut self) {
        let now = self.now_ms;
        while let Some(&(until_ms, id)) = self.detached.first() {
            if until_ms > now {
                break;
            }
            self.detached.remove(&(until_ms, id));
            self.end_session(id);
        }
        for id in std::mem::take(&mut self.overflowed) {
            let link = self
                .sessions
                .get(&id)
                .and_then(|s| s.resume.as_ref())
                .map(|r| r.link);
            match link {
                Some(Link::Detached { until_ms }) => {
                    self.detached.remove(&(until_ms, id));
                    self.end_session(id);
                }
                // Overflowed while its new connection was taking it over: what did not
                // fit is lost, so the session ends and its connection is told.
                Some(Link::Attached | Link::Attaching { .. }) => {
                    let max = self.settings.max_unacked_pushes;
                    self.close_session(
                        id,
                        ErrorCode::SLOW_CONSUMER,
                        format!("more than {max} pushes kept for the session"),
                    );
                }
                None => {}
            }
        }
    }
}
