//! Files over a blocking [`Client`] (C13; `wire/PROTOCOL.md` section 28): the loops a
//! sender and a receiver of an online transfer run, and an offline upload and fetch,
//! chunk by chunk. Hashes are the caller's business (this crate has no SHA-256): the
//! receiver checks the bytes against the offer's `sha256`.
//!
//! Pushes that are not about the transfer are handed to the caller's `other` function
//! rather than dropped.

use crate::client::{Client, ClientError};
use crate::files::{FileEnd, FileMeta, FilePeer, OfflineFileInfo, MAX_FILE_CHUNK};
use crate::{Event, Push, Request, Response};
use std::time::Duration;

/// Why a file operation stopped.
#[derive(Debug)]
pub enum FileError {
    /// The connection or the server refused (the error code says why).
    Client(ClientError),
    /// The other side ended the transfer.
    Ended(FileEnd),
    /// No push came in time.
    Timeout,
    /// The server answered something unexpected.
    Unexpected(Box<Response>),
}

impl From<ClientError> for FileError {
    fn from(e: ClientError) -> Self {
        FileError::Client(e)
    }
}

fn unexpected(r: Response) -> FileError {
    FileError::Unexpected(Box::new(r))
}

/// The next push, or `Timeout`.
fn push(c: &mut Client, wait: Duration) -> Result<Push, FileError> {
    c.next_push(wait)?.ok_or(FileError::Timeout)
}

/// Offers `meta` to `to`; returns the transfer number.
pub fn offer(c: &mut Client, to: FilePeer, meta: FileMeta) -> Result<u64, FileError> {
    match c.request(&Request::FileOffer { to, meta })? {
        Response::FileTransfer { transfer } => Ok(transfer),
        other => Err(unexpected(other)),
    }
}

/// Waits for a `FileOffered` push; returns (transfer, meta).
pub fn next_offer(
    c: &mut Client,
    wait: Duration,
    mut other: impl FnMut(Push),
) -> Result<(u64, FileMeta), FileError> {
    loop {
        let p = push(c, wait)?;
        match p.event {
            Event::FileOffered { transfer, meta, .. } => return Ok((transfer, meta)),
            _ => other(p),
        }
    }
}

/// The sender's loop: reads `size` bytes from `read` (called with the offset and the
/// chunk to fill) and sends them in chunks of at most 64 KiB within the credit, waiting
/// for `FileCredit` pushes when the credit is used up. Chunks within the credit are
/// pipelined (sent before their answers are read).
pub fn send(
    c: &mut Client,
    transfer: u64,
    size: u64,
    wait: Duration,
    mut read: impl FnMut(u64, &mut [u8]),
    mut other: impl FnMut(Push),
) -> Result<(), FileError> {
    let (mut sent, mut window_end) = (0u64, 0u64);
    let mut buf = vec![0u8; MAX_FILE_CHUNK];
    let mut in_flight = Vec::new();
    loop {
        while sent < window_end.min(size) {
            let n = (window_end.min(size) - sent).min(MAX_FILE_CHUNK as u64) as usize;
            let chunk = &mut buf[..n];
            read(sent, chunk);
            in_flight.push(c.send(&Request::FileChunk {
                transfer,
                offset: sent,
                data: chunk.to_vec(),
            })?);
            sent += n as u64;
        }
        for corr in in_flight.drain(..) {
            c.wait(corr)?;
        }
        if sent >= size {
            return Ok(());
        }
        // Wait for more credit.
        loop {
            let p = push(c, wait)?;
            match p.event {
                Event::FileCredit {
                    transfer: t,
                    window_end: end,
                } if t == transfer => {
                    window_end = window_end.max(end);
                    if window_end > sent {
                        break;
                    }
                }
                Event::FileEnded {
                    transfer: t,
                    reason,
                } if t == transfer => return Err(FileError::Ended(reason)),
                _ => other(p),
            }
        }
    }
}

/// The receiver's loop: accepts the transfer with a `window` of credit (at most 1 MiB
/// is granted at a time), hands each chunk to `write` (offset, bytes) and grants more
/// credit whenever half the window was consumed, until `size` bytes came.
pub fn receive(
    c: &mut Client,
    transfer: u64,
    size: u64,
    window: u32,
    wait: Duration,
    mut write: impl FnMut(u64, &[u8]),
    mut other: impl FnMut(Push),
) -> Result<(), FileError> {
    c.request(&Request::FileAnswer {
        transfer,
        accept: true,
        credit: window,
    })?;
    let (mut received, mut granted) = (0u64, u64::from(window));
    while received < size {
        let p = push(c, wait)?;
        match p.event {
            Event::FileChunk {
                transfer: t,
                offset,
                data,
            } if t == transfer => {
                write(offset, &data);
                received = offset + data.len() as u64;
                if granted.saturating_sub(received) <= u64::from(window) / 2 && granted < size {
                    let bytes = received + u64::from(window) - granted;
                    c.request(&Request::FileCredit {
                        transfer,
                        bytes: u32::try_from(bytes).unwrap_or(u32::MAX),
                    })?;
                    granted += bytes;
                }
            }
            Event::FileEnded {
                transfer: t,
                reason,
            } if t == transfer => return Err(FileError::Ended(reason)),
            _ => other(p),
        }
    }
    Ok(())
}

/// Uploads `data` as an offline file to `to`, resuming from whatever the server already
/// holds of the same upload; returns the stored file's id.
pub fn upload(c: &mut Client, to: FilePeer, meta: FileMeta, data: &[u8]) -> Result<u64, FileError> {
    let (upload, mut offset) = begin_upload(c, to, meta)?;
    while (offset as usize) < data.len() {
        let end = (offset as usize + MAX_FILE_CHUNK).min(data.len());
        offset = upload_chunk(c, upload, offset, &data[offset as usize..end])?;
    }
    finish_upload(c, upload)
}

/// `UploadFile`: (upload, offset to send from).
pub fn begin_upload(c: &mut Client, to: FilePeer, meta: FileMeta) -> Result<(u64, u64), FileError> {
    match c.request(&Request::UploadFile { to, meta })? {
        Response::Upload { upload, offset } => Ok((upload, offset)),
        other => Err(unexpected(other)),
    }
}

/// `UploadChunk`: the new offset.
pub fn upload_chunk(
    c: &mut Client,
    upload: u64,
    offset: u64,
    data: &[u8],
) -> Result<u64, FileError> {
    match c.request(&Request::UploadChunk {
        upload,
        offset,
        data: data.to_vec(),
    })? {
        Response::Upload { offset, .. } => Ok(offset),
        other => Err(unexpected(other)),
    }
}

/// `FinishUpload`: the stored file's id.
pub fn finish_upload(c: &mut Client, upload: u64) -> Result<u64, FileError> {
    match c.request(&Request::FinishUpload { upload })? {
        Response::OfflineFileStored { file } => Ok(file),
        other => Err(unexpected(other)),
    }
}

/// `ListOfflineFiles`.
pub fn list(c: &mut Client) -> Result<Vec<OfflineFileInfo>, FileError> {
    match c.request(&Request::ListOfflineFiles)? {
        Response::OfflineFiles(files) => Ok(files),
        other => Err(unexpected(other)),
    }
}

/// Fetches an offline file with its one-time token: what the server says it is, and
/// its bytes (read in 64 KiB chunks).
pub fn fetch(
    c: &mut Client,
    token: [u8; 32],
    mut write: impl FnMut(u64, &[u8]),
) -> Result<OfflineFileInfo, FileError> {
    let (fetch, file) = match c.request(&Request::FetchFile { token })? {
        Response::Fetch { fetch, file } => (fetch, file),
        other => return Err(unexpected(other)),
    };
    let mut offset = 0u64;
    while offset < file.meta.size {
        match c.request(&Request::FetchChunk {
            fetch,
            offset,
            max: MAX_FILE_CHUNK as u32,
        })? {
            Response::FileData { data, .. } if !data.is_empty() => {
                write(offset, &data);
                offset += data.len() as u64;
            }
            other => return Err(unexpected(other)),
        }
    }
    Ok(file)
}
