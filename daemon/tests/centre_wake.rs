//! When the centre next needs a turn (`Centre::next_deadline`, `Centre::sleep_for`,
//! `centre/wake.rs`): the shard's loop sleeps until then, so a time rule fires at its
//! deadline on an idle shard instead of at the loop's next once-a-second turn. In
//! memory, over the `ManualClock`: exact milliseconds, no sleep.

mod centre_support;

use centre_support::*;
use kefu_daemon::clock::Clock;
use kefu_wire::chat::{Alert, ConversationState, Entry};
use kefu_wire::{Event, Presence, Request, Response};
use std::time::Duration;

const ACCOUNT: u64 = 871_001;
/// The walks look again this long after a turn that did something (`deadline_walk.rs`).
const REWALK_MS: i64 = 10;

fn alerts(events: &[Event]) -> Vec<Alert> {
    (events.iter())
        .filter_map(|e| match e {
            Event::ConversationAlert { alert, .. } => Some(alert.clone()),
            _ => None,
        })
        .collect()
}

/// A turn in which nothing arrives, `ms` after the last.
fn idle_turn_after(h: &mut Harness, ms: i64) {
    h.clock.advance(ms);
    h.turn(|_| ());
}

#[test]
fn the_centre_wakes_the_loop_at_a_transfer_deadline_and_not_before() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let sender = h.agent_with_cap(ACCOUNT, 1001, 0);
    let busy = h.agent_with_cap(ACCOUNT, 1002, 3);
    h.ok(
        busy,
        Request::SetPresence {
            presence: Presence::Busy,
        },
    );
    let liam = h.customer(ACCOUNT, "liam");
    let conv = match h.ok(liam, Request::OpenConversation { entry: Entry::Auto }) {
        Response::Conversation(c) => c.conversation,
        other => panic!("{other:?}"),
    };
    h.ok(sender, Request::AcceptConversation { conversation: conv });
    // Settled: an idle turn after the requests walks, and nothing is armed.
    idle_turn_after(&mut h, REWALK_MS);
    assert_eq!(h.centre.next_deadline(), None, "nothing armed");
    assert_eq!(h.centre.sleep_for(h.clock.now_ms()), None);

    // The transfer arms the 120 s time-out (R10). The turn that armed it did
    // something: the walks look again `REWALK_MS` later.
    let armed_at = h.clock.now_ms();
    let moved = h.ok(
        sender,
        Request::TransferConversation {
            conversation: conv,
            to_agent: 1002,
        },
    );
    assert!(
        matches!(moved, Response::Conversation(ref c) if c.state == ConversationState::Queued { target: Some(1002) }),
        "{moved:?}"
    );
    let deadline = armed_at + 120_000;
    let waiting = alerts(&h.take_pushes(sender));
    assert!(
        waiting.contains(&Alert::TransferWaiting { to: 1002, deadline }),
        "{waiting:?}"
    );
    assert_eq!(h.centre.next_deadline(), Some(armed_at + REWALK_MS));
    idle_turn_after(&mut h, REWALK_MS);
    assert_eq!(h.centre.next_deadline(), Some(deadline), "the walk saw it");
    assert_eq!(
        h.centre.sleep_for(armed_at + 20_000),
        Some(Duration::from_millis(100_000))
    );

    // Idle turns before the deadline (the loop's once-a-second turn) change nothing:
    // no walk, no earlier wake.
    for _ in 0..3 {
        idle_turn_after(&mut h, 1_000);
        assert_eq!(h.centre.next_deadline(), Some(deadline));
    }
    assert!(alerts(&h.take_pushes(sender)).is_empty());

    // A clock set back since the turn: the loop turns again at once.
    assert_eq!(
        h.centre.sleep_for(h.clock.now_ms() - 60_000),
        Some(Duration::ZERO)
    );

    // The turn at the deadline fires it; once the walks have looked again after that
    // turn, nothing is left to wake for.
    h.clock.set(deadline);
    h.turn(|_| ());
    assert_eq!(
        alerts(&h.take_pushes(sender)),
        vec![Alert::TransferFailedBack { to: 1002 }]
    );
    idle_turn_after(&mut h, REWALK_MS);
    assert_eq!(h.centre.next_deadline(), None);
}

#[test]
fn a_logout_makes_the_walks_look_again() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let boss = h.agent_with_cap(ACCOUNT, 1001, 3);
    idle_turn_after(&mut h, REWALK_MS);
    assert_eq!(h.centre.next_deadline(), None);
    let left_at = h.clock.now_ms();
    h.disconnect(boss);
    assert_eq!(
        h.centre.next_deadline(),
        Some(left_at + REWALK_MS),
        "a logout may arm a routing timer the walks did not see"
    );
    // The turn after it commits what the logout changed (presence, records): it did
    // something too. Once a turn has done nothing, no wake every `REWALK_MS` (what is
    // left, if anything, is the end of a resumable session's window).
    idle_turn_after(&mut h, REWALK_MS);
    assert_eq!(h.centre.next_deadline(), Some(h.clock.now_ms() + REWALK_MS));
    idle_turn_after(&mut h, REWALK_MS);
    let now = h.clock.now_ms();
    let next = h.centre.next_deadline();
    assert!(
        next.is_none_or(|at| at > now + REWALK_MS),
        "{next:?} at {now}"
    );
}
