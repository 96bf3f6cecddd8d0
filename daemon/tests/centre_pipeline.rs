//! Group commit off the loop (`centre/pipeline.rs`), in memory: the
//! harness turns the centre's committer on, so each batch is written on the
//! committer thread and its report comes back through the mailbox, which the harness
//! hands to the centre only when the test says (`Harness::deliver_one`): until then
//! the batch is in flight, whatever the thread has done.
//!
//! Rules checked: nothing is answered or pushed before its batch is durable; the
//! turns behind a batch in flight accumulate into the next one, up to a bound past
//! which the centre is backlogged until the batch is reported; a retry of a client
//! message id whose first copy is in flight is a duplicate, not a second message; a
//! failed batch refuses itself and every turn that stood on it, releases none of
//! their pushes, and leaves the centre answering as a fresh one over the same store.
//! Those run with every batch off the loop (`fsync` mode's committer); the harness's
//! store is a `wal` one, so they hold for `wal` mode's committer as well. `wal` mode's
//! own rule (`commit_large_batches_off_loop`): a small batch with nothing in flight is
//! written on the loop, a large one, and anything behind a batch in flight, off it;
//! a batch of `wal_commit_off_loop_behind_ops` goes off it only while the loop is
//! behind (input left unread, or the turn before as large), and the loop writes again
//! once the committer is idle and a batch is small. The tests drive the loop's word
//! (`Centre::set_input_left`) and the batch sizes, and see where each batch went by
//! whether its answers are out at the end of its turn.

mod centre_support;

use centre_support::*;
use kefu_daemon::centre::Centre;
use kefu_daemon::config::Config;
use kefu_wire::chat::{ConversationInfo, Entry, MessageBody};
use kefu_wire::{ErrorCode, Event, Request, Response};

const ACCOUNT: u64 = 870_301;

fn open(h: &mut Harness, customer: usize) -> ConversationInfo {
    match h.ok(customer, Request::OpenConversation { entry: Entry::Auto }) {
        Response::Conversation(c) => c,
        other => panic!("{other:?}"),
    }
}

fn send(conversation: u64, id: u64, text: &str) -> Request {
    Request::SendMessage {
        conversation,
        client_msg_id: id,
        body: MessageBody::Text(text.into()),
    }
}

fn sent(answer: Option<kefu_daemon::centre::Answer>) -> (u64, bool) {
    match answer {
        Some(Ok(Response::Sent { message, duplicate })) => (message, duplicate),
        other => panic!("{other:?}"),
    }
}

fn pushed_ids(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.id),
            _ => None,
        })
        .collect()
}

fn stored_ids(h: &mut Harness, conn: usize, conversation: u64) -> Vec<u64> {
    match h.ok(
        conn,
        Request::ConversationMessages {
            conversation,
            after: 0,
            limit: 50,
        },
    ) {
        Response::Messages(list) => list.iter().map(|m| m.id).collect(),
        other => panic!("{other:?}"),
    }
}

/// An account with agent 1001 (auto-accept) and customer alice in a conversation
/// with it, the committer on (every batch off the loop, as in `fsync` mode).
fn pipelined() -> (Harness, usize, usize, u64) {
    with_committer(Centre::commit_off_loop)
}

/// An account as [`pipelined`]'s, then the committer started by `start`.
fn with_committer(
    start: impl FnOnce(&mut Centre) -> std::io::Result<()>,
) -> (Harness, usize, usize, u64) {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let (agent, _) = h.agent(ACCOUNT, 1001);
    h.ok(agent, Request::SetAutoAccept { cap: 5 });
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    h.take_pushes(agent);
    start(&mut h.centre).expect("a committer thread");
    (h, agent, alice, conv)
}

#[test]
fn answers_wait_for_durability_and_later_turns_ride_the_next_batch() {
    let (mut h, agent, alice, conv) = pipelined();
    let writes = h.store.writes();
    let first = h.turn(|h| h.send(alice, send(conv, 1, "one"))).0;
    assert!(!h.answered(first), "answered before its batch was durable");
    assert!(h.take_pushes(agent).is_empty(), "pushed before durable");
    // The next turn runs while the first batch is in flight: a new message and a
    // retry of the first one's client id.
    let (second, retry) = h
        .turn(|h| {
            (
                h.send(alice, send(conv, 2, "two")),
                h.send(alice, send(conv, 1, "one")),
            )
        })
        .0;
    assert!(!h.answered(second) && !h.answered(retry));
    // The first batch's report: its answer and push go out; the second turn's records
    // are written as the next batch, and wait for it.
    h.turn(Harness::deliver_one);
    let (one, dup) = sent(h.take_answer(first));
    assert!(!dup);
    assert_eq!(pushed_ids(&h.take_pushes(agent)), vec![one]);
    assert!(!h.answered(second) && !h.answered(retry));
    h.turn(Harness::deliver_one);
    assert_eq!(h.store.writes(), writes + 2, "three turns, two batches");
    let (two, dup) = sent(h.take_answer(second));
    assert!(!dup && two > one);
    assert_eq!(
        sent(h.take_answer(retry)),
        (one, true),
        "a retry in flight is a duplicate"
    );
    assert_eq!(pushed_ids(&h.take_pushes(agent)), vec![two]);
    assert_eq!(stored_ids(&mut h, agent, conv), vec![one, two]);
}

#[test]
fn a_failed_batch_refuses_every_turn_that_stood_on_it() {
    let (mut h, agent, alice, conv) = pipelined();
    let (one, _) = match h.ok(alice, send(conv, 1, "kept")) {
        Response::Sent { message, duplicate } => (message, duplicate),
        other => panic!("{other:?}"),
    };
    h.take_pushes(agent);
    h.store.fail_next_write();
    let lost = h.turn(|h| h.send(alice, send(conv, 2, "lost"))).0;
    let behind = h.turn(|h| h.send(alice, send(conv, 3, "behind"))).0;
    h.turn(Harness::deliver_one);
    for c in [lost, behind] {
        match h.take_answer(c) {
            Some(Err(e)) => assert_eq!(e.code, ErrorCode::STORAGE_FAILURE),
            other => panic!("{other:?}"),
        }
    }
    assert!(
        pushed_ids(&h.take_pushes(agent)).is_empty(),
        "nothing of a refused batch is pushed"
    );
    // Memory equals the disk: the same answers as a fresh centre over the same store.
    let stored = stored_ids(&mut h, agent, conv);
    assert_eq!(stored, vec![one]);
    let mut fresh = h.reopened();
    let (fresh_agent, _) = fresh.agent(ACCOUNT, 1001);
    assert_eq!(stored_ids(&mut fresh, fresh_agent, conv), stored);
    // And the service goes on: the same client ids are new messages now.
    let retried = h.ok(alice, send(conv, 2, "lost"));
    assert!(
        matches!(retried, Response::Sent { duplicate: false, message } if message > one),
        "{retried:?}"
    );
}

/// The accumulation behind a batch in flight is bounded (`MAX_ACCUMULATED_OPS`): the
/// centre says `backlogged` once the turns behind it hold that many operations (the
/// loop then reads nothing until the report), and not before; when the batch in
/// flight is reported the accumulation goes out as the next batch, the centre takes
/// requests again, and every message of the backlog is answered and stored once.
#[test]
fn the_accumulation_behind_a_batch_in_flight_is_bounded() {
    const PER_TURN: u64 = 1_000;
    let (mut h, agent, alice, conv) = pipelined();
    let first = h.turn(|h| h.send(alice, send(conv, 1, "in flight"))).0;
    assert!(
        !h.centre.backlogged(),
        "one batch in flight, nothing behind it"
    );
    let mut pending = Vec::new();
    let mut next_id = 2;
    while !h.centre.backlogged() {
        assert!(
            next_id < 100_000,
            "100,000 messages behind a batch in flight and still not backlogged"
        );
        let ids: Vec<u32> = h
            .turn(|h| {
                (0..PER_TURN)
                    .map(|i| h.send(alice, send(conv, next_id + i, "behind")))
                    .collect()
            })
            .0;
        next_id += PER_TURN;
        pending.extend(ids);
    }
    let behind = next_id - 2;
    // Two records a message at least (the message and its client id): the bound is
    // 65,536 operations, so it holds between 16,384 and 32,768 + a turn's messages.
    assert!(
        (16_000..=33_000 + PER_TURN).contains(&behind),
        "{behind} messages behind the batch in flight"
    );
    assert!(pending.iter().all(|c| !h.answered(*c)));
    h.turn(Harness::deliver_one);
    assert!(
        !h.centre.backlogged(),
        "the accumulation went out as the next batch"
    );
    h.turn(Harness::deliver_one);
    assert!(!sent(h.take_answer(first)).1);
    let mut ids: Vec<u64> = pending
        .iter()
        .map(|c| sent(h.take_answer(*c)))
        .map(|(id, dup)| {
            assert!(!dup);
            id
        })
        .collect();
    ids.dedup();
    assert_eq!(ids.len() as u64, behind, "one message each, none lost");
    assert_eq!(pushed_ids(&h.take_pushes(agent)).len() as u64, behind + 1);
}

/// `wal` mode, the size rule alone (`wal_commit_off_loop_behind_ops = 0`, session 13's
/// behaviour): with nothing in flight a batch under `[storage] wal_commit_off_loop_ops`
/// is written on the loop (answered in its own turn); one at the threshold goes to the
/// committer (answered when reported), and a small turn behind it waits for it and
/// then rides the next batch, written on the loop once nothing is in flight. Pushes
/// reach the agent in the order of the sends.
#[test]
fn wal_mode_writes_small_batches_on_the_loop_and_large_ones_off_it() {
    let from_ops = 16;
    let (mut h, agent, alice, conv) = wal_committer(from_ops, 0);
    let writes = h.store.writes();

    let small = h.turn(|h| h.send(alice, send(conv, 1, "small"))).0;
    assert!(
        h.answered(small),
        "a small batch is written in its own turn"
    );
    assert_eq!(h.store.writes(), writes + 1);
    let (first, _) = sent(h.take_answer(small));

    // Two records a message at least: this many messages reach the threshold.
    let large: Vec<u32> = h
        .turn(|h| {
            (0..from_ops as u64)
                .map(|i| h.send(alice, send(conv, 100 + i, "large")))
                .collect()
        })
        .0;
    assert!(
        large.iter().all(|c| !h.answered(*c)),
        "a large batch is answered only once the committer has written it"
    );
    let behind = h.turn(|h| h.send(alice, send(conv, 2, "behind"))).0;
    assert!(
        !h.answered(behind),
        "a small turn waits behind a batch in flight"
    );

    // The report releases the large batch; the turn behind it is written at the end of
    // the same turn, on the loop (nothing in flight any more, a small batch).
    h.turn(Harness::deliver_one);
    assert!(large.iter().all(|c| h.answered(*c)));
    assert!(
        h.answered(behind),
        "the small turn's batch was written on the loop"
    );
    assert_eq!(h.store.writes(), writes + 3);
    let mut ids = vec![first];
    ids.extend(large.iter().map(|c| {
        let (id, dup) = sent(h.take_answer(*c));
        assert!(!dup);
        id
    }));
    ids.push(sent(h.take_answer(behind)).0);
    assert_sent_in_order(&mut h, agent, conv, ids);
}

/// Thresholds of the "behind" tests: a batch of `BEHIND_OPS` operations is large, and
/// none of theirs reaches `ALWAYS_OPS`.
const BEHIND_OPS: usize = 32;
const ALWAYS_OPS: usize = 1_000;
/// Messages that make a large turn (two records a message at least).
const LARGE_TURN: u64 = BEHIND_OPS as u64 / 2;

/// Where a turn's batch went.
#[derive(Debug, PartialEq, Eq)]
enum Written {
    /// Written in its own turn: its answers are out when the turn ends.
    OnTheLoop,
    /// Not answered at the end of its turn: it waits for the committer's report.
    OffTheLoop,
}

/// A turn sending `n` messages from client id `first` on; the loop then says whether
/// it left input unread. Returns the answers' correlations, the batch's operations and
/// where it went.
fn turn_of(
    h: &mut Harness,
    alice: usize,
    conv: u64,
    (first, n): (u64, u64),
    input_left: bool,
) -> (Vec<u32>, usize, Written) {
    let calls: Vec<u32> = h
        .turn(|h| {
            let calls = (first..first + n)
                .map(|id| h.send(alice, send(conv, id, "m")))
                .collect();
            h.centre.set_input_left(input_left);
            calls
        })
        .0;
    let ops = h.centre.turn_size().1;
    let answered = calls.iter().filter(|c| h.answered(**c)).count();
    let written = match answered {
        0 => Written::OffTheLoop,
        a if a == calls.len() => Written::OnTheLoop,
        _ => panic!("{answered} of the turn's {} answered", calls.len()),
    };
    (calls, ops, written)
}

/// `wal` mode: a batch of `wal_commit_off_loop_behind_ops` or more goes to the committer
/// only while the loop is behind — it left input unread at the end of the turn, or the
/// turn before wrote a large batch too. One large batch after a small turn (what a
/// preemption leaves at low load) and a small batch while input is left are written on
/// the loop. Every answer is released, the pushes and the stored messages in order.
#[test]
fn wal_mode_sends_a_batch_off_the_loop_only_while_the_loop_is_behind() {
    let (mut h, agent, alice, conv) = wal_committer(ALWAYS_OPS, BEHIND_OPS);
    let mut calls = Vec::new();
    let mut turn = |h: &mut Harness, first: u64, n: u64, input_left: bool| {
        let (c, ops, written) = turn_of(h, alice, conv, (first, n), input_left);
        calls.extend(c);
        (ops, written)
    };

    let (ops, written) = turn(&mut h, 1, 1, false);
    assert!(
        ops > 0 && ops < BEHIND_OPS / 4,
        "one message is a small batch: {ops}"
    );
    assert_eq!(written, Written::OnTheLoop);
    let (ops, written) = turn(&mut h, 100, LARGE_TURN, false);
    assert!(
        (BEHIND_OPS..ALWAYS_OPS).contains(&ops),
        "a large batch: {ops}"
    );
    assert_eq!(
        written,
        Written::OnTheLoop,
        "a large batch after a small one"
    );
    let (_, written) = turn(&mut h, 200, 1, true);
    assert_eq!(written, Written::OnTheLoop, "a small batch, input left");
    let (_, written) = turn(&mut h, 300, LARGE_TURN, true);
    assert_eq!(written, Written::OffTheLoop, "a large batch, input left");
    h.turn(Harness::deliver_one);

    // The report's turn wrote nothing: the loop keeps up again.
    let (_, written) = turn(&mut h, 400, LARGE_TURN, false);
    assert_eq!(
        written,
        Written::OnTheLoop,
        "a large batch after an empty turn"
    );
    let (_, written) = turn(&mut h, 500, LARGE_TURN, false);
    assert_eq!(
        written,
        Written::OffTheLoop,
        "a second large batch in a row"
    );
    h.turn(Harness::deliver_one);

    let ids = calls
        .iter()
        .map(|c| {
            let (id, dup) = sent(h.take_answer(*c));
            assert!(!dup);
            id
        })
        .collect();
    assert_sent_in_order(&mut h, agent, conv, ids);
}

/// `wal` mode's hysteresis: once off the loop by the "behind" rule, the accumulation
/// behind the batch in flight is judged when it is reported, the batch reported counting
/// as the turn before: one of `wal_commit_off_loop_behind_ops` goes to the committer
/// again (however many turns made it), a smaller one is written on the loop in the
/// report's turn (the committer is idle and the loop keeps up).
#[test]
fn wal_mode_stays_off_the_loop_while_the_accumulation_is_large() {
    let (mut h, agent, alice, conv) = wal_committer(ALWAYS_OPS, BEHIND_OPS);
    let writes = h.store.writes();
    let (on_loop, _, written) = turn_of(&mut h, alice, conv, (1, LARGE_TURN), false);
    assert_eq!(written, Written::OnTheLoop);
    let (first_off, _, written) = turn_of(&mut h, alice, conv, (100, LARGE_TURN), false);
    assert_eq!(written, Written::OffTheLoop, "two large batches in a row");
    // Small turns, one message each, accumulate a large batch behind the one in flight.
    let mut trickle = Vec::new();
    for id in 200..200 + LARGE_TURN {
        let (calls, ops, _) = turn_of(&mut h, alice, conv, (id, 1), false);
        trickle.extend(calls);
        assert!(
            !h.answered(trickle[trickle.len() - 1]),
            "behind a batch in flight"
        );
        if id == 200 + LARGE_TURN - 1 {
            assert!(ops >= BEHIND_OPS, "the accumulation is large: {ops}");
        }
    }

    h.turn(Harness::deliver_one);
    assert!(first_off.iter().all(|c| h.answered(*c)));
    assert!(
        trickle.iter().all(|c| !h.answered(*c)),
        "a large accumulation behind a large batch goes to the committer"
    );
    let (small, _, _) = turn_of(&mut h, alice, conv, (300, 1), false);
    assert!(!h.answered(small[0]), "behind a batch in flight");

    h.turn(Harness::deliver_one);
    assert!(trickle.iter().all(|c| h.answered(*c)));
    assert!(
        h.answered(small[0]),
        "a small accumulation is written on the loop in the report's turn"
    );
    assert_eq!(h.store.writes(), writes + 4, "every batch written once");

    let ids = [on_loop, first_off, trickle, small]
        .concat()
        .iter()
        .map(|c| sent(h.take_answer(*c)).0)
        .collect();
    assert_sent_in_order(&mut h, agent, conv, ids);
}

/// `ids` (the answers' message ids in the order of the sends) are distinct and rising,
/// and the agent got them pushed, and the store holds them, in that order.
fn assert_sent_in_order(h: &mut Harness, agent: usize, conv: u64, ids: Vec<u64>) {
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, ids, "ids in the order of the sends, each once");
    assert_eq!(pushed_ids(&h.take_pushes(agent)), ids);
    let stored = all_stored_ids(h, agent, conv);
    assert_eq!(stored[stored.len() - ids.len()..], ids[..]);
}

/// Every message id of the conversation, page by page.
fn all_stored_ids(h: &mut Harness, conn: usize, conversation: u64) -> Vec<u64> {
    let mut ids: Vec<u64> = Vec::new();
    loop {
        let after = ids.last().copied().unwrap_or(0);
        let page = match h.ok(
            conn,
            Request::ConversationMessages {
                conversation,
                after,
                limit: 50,
            },
        ) {
            Response::Messages(list) => list,
            other => panic!("{other:?}"),
        };
        if page.is_empty() {
            return ids;
        }
        ids.extend(page.iter().map(|m| m.id));
    }
}

/// As [`pipelined`], with `wal` mode's committer and `[storage]
/// wal_commit_off_loop_ops = always`, `wal_commit_off_loop_behind_ops = behind`.
fn wal_committer(always: usize, behind: usize) -> (Harness, usize, usize, u64) {
    with_committer(move |centre| {
        let mut settings = Config::for_tests(std::path::Path::new("/nonexistent")).runtime();
        settings.wal_commit_off_loop_ops = always;
        settings.wal_commit_off_loop_behind_ops = behind;
        centre.reload(std::sync::Arc::new(settings));
        centre.commit_large_batches_off_loop()
    })
}

/// A rating changed in the turn after the first, while the first is still in flight,
/// replaces it in the counts (the read goes through the batch in flight): the report
/// has one rating, the second.
#[test]
fn a_rating_changed_while_the_first_is_in_flight_counts_once() {
    use kefu_wire::csat::{CsatQuery, CsatSettings, CsatStyle};
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let (boss, _) = h.agent(ACCOUNT, 1001);
    h.ok(boss, Request::SetAutoAccept { cap: 5 });
    let on = CsatSettings {
        enabled: true,
        style: CsatStyle::Faces,
        reasons_enabled: false,
        reasons: vec![],
        subscribers: vec![],
    };
    assert_eq!(h.ok(boss, Request::SetCsatSettings(on)), Response::Ok);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    // A survey needs more than ten messages from both sides.
    for i in 0..11 {
        h.ok(alice, send(conv, 100 + i, "question"));
        h.ok(boss, send(conv, 200 + i, "answer"));
    }
    h.ok(boss, Request::CloseConversation { conversation: conv });
    h.centre.commit_off_loop().expect("a committer thread");
    let rate = |rating| Request::RateConversation {
        conversation: conv,
        rating,
        reasons: vec![],
        text: String::new(),
    };
    let first = h.turn(|h| h.send(alice, rate(5))).0;
    assert!(!h.answered(first), "answered before its batch was durable");
    let second = h.turn(|h| h.send(alice, rate(2))).0;
    // The two batches' reports (and whatever else the mailbox carries meanwhile).
    for _ in 0..8 {
        if h.answered(second) {
            break;
        }
        h.turn(Harness::deliver_one);
    }
    assert!(matches!(h.take_answer(first), Some(Ok(Response::Ok))));
    let answer = h.take_answer(second);
    assert!(matches!(answer, Some(Ok(Response::Ok))), "{answer:?}");
    let query = CsatQuery {
        from: None,
        to: None,
        detail: false,
        after: None,
    };
    let Response::CsatReport(page) = h.ok(boss, Request::CsatReport(query)) else {
        panic!("a CSAT report");
    };
    let counts: Vec<[u64; 5]> = page.lines.iter().map(|l| l.counts).collect();
    assert_eq!(counts, vec![[0, 1, 0, 0, 0]], "the second rating only");
}
