//! Blocking framed I/O for the replication stream: the wire crate's 12-byte frames over
//! a TLS stream whose socket has a read timeout, so that the threads notice a stop.

use bytes::BytesMut;
use kefu_wire::replica::MAX_REPLICA_FRAME;
use kefu_wire::{Body, Frame, FrameDecoder};
use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often a blocked read looks at the stop flag.
pub(super) const READ_TICK: Duration = Duration::from_millis(200);

/// Why the stream ended.
#[derive(Debug, thiserror::Error)]
pub(super) enum StreamError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("protocol: {0}")]
    Wire(#[from] kefu_wire::WireError),
    #[error("the peer closed the stream")]
    Closed,
    #[error("no frame within {0:?}")]
    Timeout(Duration),
    #[error("stopping")]
    Stopping,
    #[error("unexpected frame kind {0}")]
    Unexpected(u16),
}

/// A framed stream.
pub(super) struct Framed<S> {
    pub(super) io: S,
    buf: BytesMut,
    decoder: FrameDecoder,
}

impl<S: Read + Write> Framed<S> {
    pub(super) fn new(io: S) -> Framed<S> {
        Framed {
            io,
            buf: BytesMut::with_capacity(64 << 10),
            decoder: FrameDecoder::new(MAX_REPLICA_FRAME),
        }
    }

    /// Sends one body as a frame and flushes.
    pub(super) fn send<B: Body>(&mut self, body: &B) -> Result<(), StreamError> {
        let mut out = BytesMut::new();
        body.write_frame(0, &mut out);
        self.io.write_all(&out)?;
        self.io.flush()?;
        Ok(())
    }

    /// The next frame, waiting at most `within` (and no longer than a stop).
    pub(super) fn next(
        &mut self,
        within: Duration,
        stop: &AtomicBool,
    ) -> Result<Frame, StreamError> {
        let deadline = Instant::now() + within;
        let mut chunk = [0u8; 64 << 10];
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.buf)? {
                return Ok(frame);
            }
            if stop.load(Ordering::Relaxed) {
                return Err(StreamError::Stopping);
            }
            if Instant::now() >= deadline {
                return Err(StreamError::Timeout(within));
            }
            match self.io.read(&mut chunk) {
                Ok(0) => return Err(StreamError::Closed),
                Ok(n) => self
                    .buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A frame already received whole, if any, without reading the socket: what the
    /// peer sent while the last one was being handled.
    pub(super) fn buffered(&mut self) -> Result<Option<Frame>, StreamError> {
        Ok(self.decoder.decode(&mut self.buf)?)
    }

    /// The stream and the bytes received but not yet decoded.
    pub(super) fn into_parts(self) -> (S, BytesMut) {
        (self.io, self.buf)
    }

    /// The next frame, decoded as `B`.
    pub(super) fn expect<B: Body>(
        &mut self,
        within: Duration,
        stop: &AtomicBool,
    ) -> Result<B, StreamError> {
        let frame = self.next(within, stop)?;
        if frame.kind != B::KIND {
            return Err(StreamError::Unexpected(frame.kind as u16));
        }
        Ok(B::decode(&frame.body)?)
    }
}
