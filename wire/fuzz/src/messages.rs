//! Target `messages`: one frame body of a chosen type, decoded and round-tripped.
//!
//! Input layout: `[selector] [body ...]`. The selector modulo 14 picks the body type in
//! frame-kind order (0 `Hello` … 9 `GoAway` … 12 `ReplicaApplied`, 13 `GoAwayTo`, i.e. kind number − 1, see [`BODY_TYPES`]); the
//! body goes to `<T as Body>::decode`. Checked:
//! - nothing panics, and an error is a body error with a known code naming `T`'s kind;
//! - a decoded value re-encodes to at most as many bytes as it came from (encoding is
//!   canonical: shortest varints), decodes back to an equal value, and re-encodes to the
//!   same bytes again (round-trip stability);
//! - framed with `write_frame`, it comes back whole through the frame decoder.

use crate::check_error;
use bytes::BytesMut;
use kefu_wire::replica::{ReplicaApplied, ReplicaBatches, ReplicaHello};
use kefu_wire::{
    Body, ErrorBody, FrameDecoder, GoAway, GoAwayTo, Hello, Ping, Pong, Push, PushAck, Request, Response,
    Welcome, WireError, MAX_FRAME_CEILING,
};
use std::fmt::Debug;

/// The body types by selector, in frame-kind order.
pub const BODY_TYPES: [&str; 14] = [
    "Hello",
    "Welcome",
    "Request",
    "Response",
    "ErrorBody",
    "Push",
    "PushAck",
    "Ping",
    "Pong",
    "GoAway",
    "ReplicaHello",
    "ReplicaBatches",
    "ReplicaApplied",
    "GoAwayTo",
];

/// Runs every check on one input. Panics on a violated property.
pub fn check(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    match selector % 14 {
        0 => round_trip::<Hello>(body),
        1 => round_trip::<Welcome>(body),
        2 => round_trip::<Request>(body),
        3 => round_trip::<Response>(body),
        4 => round_trip::<ErrorBody>(body),
        5 => round_trip::<Push>(body),
        6 => round_trip::<PushAck>(body),
        7 => round_trip::<Ping>(body),
        8 => round_trip::<Pong>(body),
        9 => round_trip::<GoAway>(body),
        10 => round_trip::<ReplicaHello>(body),
        11 => round_trip::<ReplicaBatches>(body),
        12 => round_trip::<ReplicaApplied>(body),
        _ => round_trip::<GoAwayTo>(body),
    }
}

/// Builds an input for [`check`] from a value (used by the seeds).
pub fn input<T: Body>(value: &T) -> Vec<u8> {
    input_raw::<T>(&value.encode())
}

/// Builds an input for [`check`] from raw body bytes meant for `T`.
pub fn input_raw<T: Body>(body: &[u8]) -> Vec<u8> {
    // Kinds are 1..=14 and selectors 0..=13.
    let selector = u8::try_from((T::KIND as u16).saturating_sub(1)).unwrap_or(u8::MAX);
    let mut out = Vec::with_capacity(1 + body.len());
    out.push(selector);
    out.extend_from_slice(body);
    out
}

/// Whether `body` decodes as `T` (used by the seeds' tests).
pub fn decodes<T: Body>(body: &[u8]) -> bool {
    T::decode(body).is_ok()
}

fn round_trip<T: Body + PartialEq + Debug>(body: &[u8]) {
    let kind = T::KIND as u16;
    let value = match T::decode(body) {
        Ok(value) => value,
        Err(e) => {
            check_error(&e);
            let named = match &e {
                WireError::EmptyBody(k)
                | WireError::UnknownBodyVersion { kind: k, .. }
                | WireError::BadBody { kind: k, .. }
                | WireError::TrailingBytes { kind: k, .. } => *k,
                other => panic!("a body decoder returned a framing error: {other:?}"),
            };
            assert_eq!(named, kind, "{e:?} names the wrong frame kind");
            return;
        }
    };

    let encoded = value.encode();
    assert!(
        encoded.len() <= body.len(),
        "{value:?} re-encodes to {} bytes, more than the {} it was decoded from",
        encoded.len(),
        body.len()
    );
    let again = match T::decode(&encoded) {
        Ok(again) => again,
        Err(e) => panic!("{value:?} does not decode after re-encoding ({encoded:02x?}): {e:?}"),
    };
    assert_eq!(again, value, "round trip changed the value");
    assert_eq!(again.encode(), encoded, "re-encoding is not stable");

    let mut framed = BytesMut::new();
    value.write_frame(7, &mut framed);
    match FrameDecoder::new(MAX_FRAME_CEILING).decode(&mut framed) {
        Ok(Some(frame)) => {
            assert_eq!(frame.kind, T::KIND, "framed body came back as another kind");
            assert_eq!(frame.correlation, 7, "framed body lost its correlation");
            assert_eq!(&frame.body[..], &encoded[..], "framed body changed");
            assert!(framed.is_empty(), "write_frame wrote more than one frame");
        }
        other => panic!("write_frame output does not decode as one frame: {other:?}"),
    }
}
