//! A small blocking client of etcd's v3 HTTP/JSON gateway (etcd 3.4: `/v3/lease/grant`,
//! `/v3/lease/keepalive`, `/v3/lease/revoke`, `/v3/kv/txn`, `/v3/kv/range`; keys and
//! values in base64, 64-bit integers as JSON strings), for the leadership of a pair
//! (`daemon/CLUSTER.md` §4). Plain HTTP/1.1 over `std::net::TcpStream`, one request per
//! connection, on the calling thread: no gRPC, no async runtime (the daemon is mio and
//! threads). Each call tries the endpoints in order until one answers, so a pair keeps
//! its lease while a minority of the etcd members is down.
//!
//! Used by the daemon's leadership loop (`daemon/src/cluster/leader.rs`, which
//! re-exports this crate as `kefu_daemon::cluster::etcd`) and by `kefuctl cluster`; tested against a
//! 3-member etcd cluster (`daemon/tests/etcd_lease.rs`, `daemon/tests/failover.rs`).

pub mod pair;

use base64::Engine as _;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The largest answer read from etcd.
const MAX_ANSWER: u64 = 4 << 20;

/// Why an etcd call failed.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// No endpoint answered.
    #[error("no etcd endpoint answered: {0}")]
    Unreachable(String),
    /// An endpoint answered with an error (HTTP status or gRPC error in the body).
    #[error("etcd refused: {0}")]
    Refused(String),
    /// The lease is gone (expired or revoked): its holder must stop acting on it.
    #[error("lease {0} has expired")]
    LeaseExpired(i64),
}

/// A granted lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// etcd's lease id.
    pub id: i64,
    /// Seconds etcd granted.
    pub ttl: i64,
}

/// A key and its value (`Etcd::get_prefix`).
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// A key's value and revision (`Etcd::get_entry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value.
    pub value: Vec<u8>,
    /// The revision of its last change.
    pub mod_revision: i64,
    /// The lease it is attached to; 0: none.
    pub lease: i64,
}

/// The client: a list of member endpoints (their client URLs' addresses).
#[derive(Debug, Clone)]
pub struct Etcd {
    endpoints: Vec<SocketAddr>,
    timeout: Duration,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An integer etcd may write as a string or a number.
fn int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

impl Etcd {
    /// A client of `endpoints`, each request bounded by `timeout`.
    pub fn new(endpoints: Vec<SocketAddr>, timeout: Duration) -> Etcd {
        Etcd { endpoints, timeout }
    }

    /// Grants a lease of `ttl` seconds.
    pub fn grant(&self, ttl: i64) -> Result<Lease, EtcdError> {
        let v = self.call("/v3/lease/grant", &json!({ "TTL": ttl }))?;
        match (v.get("ID").and_then(int), v.get("TTL").and_then(int)) {
            (Some(id), Some(ttl)) => Ok(Lease { id, ttl }),
            _ => Err(EtcdError::Refused(format!("grant answered {v}"))),
        }
    }

    /// Renews a lease once; its remaining seconds, or [`EtcdError::LeaseExpired`].
    pub fn keep_alive(&self, id: i64) -> Result<i64, EtcdError> {
        let v = self.call("/v3/lease/keepalive", &json!({ "ID": id.to_string() }))?;
        let result = v.get("result").unwrap_or(&v);
        match result.get("TTL").and_then(int) {
            Some(ttl) if ttl > 0 => Ok(ttl),
            _ => Err(EtcdError::LeaseExpired(id)),
        }
    }

    /// Revokes a lease (its keys go with it).
    pub fn revoke(&self, id: i64) -> Result<(), EtcdError> {
        self.call("/v3/lease/revoke", &json!({ "ID": id.to_string() }))
            .map(|_| ())
    }

    /// Puts `key = value` attached to `lease` only if the key does not exist (its
    /// `create_revision` is 0), in one transaction; whether it was put.
    pub fn create_if_absent(
        &self,
        key: &[u8],
        value: &[u8],
        lease: i64,
    ) -> Result<bool, EtcdError> {
        let body = json!({
            "compare": [{
                "key": b64(key), "result": "EQUAL", "target": "CREATE", "create_revision": "0"
            }],
            "success": [{
                "request_put": { "key": b64(key), "value": b64(value), "lease": lease.to_string() }
            }],
        });
        let v = self.call("/v3/kv/txn", &body)?;
        Ok(v.get("succeeded").and_then(Value::as_bool).unwrap_or(false))
    }

    /// The value of `key`, if it exists.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, EtcdError> {
        let v = self.call("/v3/kv/range", &json!({ "key": b64(key) }))?;
        let Some(kv) = v
            .get("kvs")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        else {
            return Ok(None);
        };
        let value = kv.get("value").and_then(Value::as_str).unwrap_or("");
        base64::engine::general_purpose::STANDARD
            .decode(value)
            .map(Some)
            .map_err(|e| EtcdError::Refused(format!("value of {}: {e}", b64(key))))
    }

    /// The value of `key` with its modification revision and the lease it is attached
    /// to (0: none), if it exists.
    pub fn get_entry(&self, key: &[u8]) -> Result<Option<Entry>, EtcdError> {
        let v = self.call("/v3/kv/range", &json!({ "key": b64(key) }))?;
        let Some(kv) = v
            .get("kvs")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        else {
            return Ok(None);
        };
        let value = kv.get("value").and_then(Value::as_str).unwrap_or("");
        let value = base64::engine::general_purpose::STANDARD
            .decode(value)
            .map_err(|e| EtcdError::Refused(format!("value of {}: {e}", b64(key))))?;
        Ok(Some(Entry {
            value,
            mod_revision: kv.get("mod_revision").and_then(int).unwrap_or(0),
            lease: kv.get("lease").and_then(int).unwrap_or(0),
        }))
    }

    /// Every key starting with `prefix`, with its value, in key order (at most 1,000).
    pub fn get_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, EtcdError> {
        let mut end = prefix.to_vec();
        match end.last_mut() {
            Some(b) if *b < 0xff => *b += 1,
            _ => return Err(EtcdError::Refused("a prefix must end below 0xff".into())),
        }
        self.range(prefix, &end, 1000)
    }

    /// Every key in `[start, end)` with its value, in key order, at most `limit`.
    pub fn range(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<KeyValue>, EtcdError> {
        let v = self.call(
            "/v3/kv/range",
            &json!({ "key": b64(start), "range_end": b64(end), "limit": limit.to_string() }),
        )?;
        let decode = |v: Option<&Value>| {
            base64::engine::general_purpose::STANDARD
                .decode(v.and_then(Value::as_str).unwrap_or(""))
                .unwrap_or_default()
        };
        Ok(v.get("kvs")
            .and_then(Value::as_array)
            .map(|kvs| {
                kvs.iter()
                    .map(|kv| (decode(kv.get("key")), decode(kv.get("value"))))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Every key starting with `prefix`, however many, read in pages of `page` keys.
    pub fn get_prefix_all(&self, prefix: &[u8], page: usize) -> Result<Vec<KeyValue>, EtcdError> {
        let mut end = prefix.to_vec();
        match end.last_mut() {
            Some(b) if *b < 0xff => *b += 1,
            _ => return Err(EtcdError::Refused("a prefix must end below 0xff".into())),
        }
        let page = page.max(1);
        let mut all = Vec::new();
        let mut start = prefix.to_vec();
        loop {
            let got = self.range(&start, &end, page)?;
            let full = got.len() >= page;
            if let Some((last, _)) = got.last() {
                start = last.clone();
                start.push(0);
            }
            all.extend(got);
            if !full {
                return Ok(all);
            }
        }
    }

    /// Puts `key = value` (no lease) only if the key's last modification is still
    /// `mod_revision` (0: only if the key does not exist), in one transaction; whether
    /// it was put.
    pub fn put_if_unchanged(
        &self,
        key: &[u8],
        value: &[u8],
        mod_revision: i64,
    ) -> Result<bool, EtcdError> {
        let body = json!({
            "compare": [{
                "key": b64(key), "result": "EQUAL", "target": "MOD",
                "mod_revision": mod_revision.to_string()
            }],
            "success": [{ "request_put": { "key": b64(key), "value": b64(value) } }],
        });
        let v = self.call("/v3/kv/txn", &body)?;
        Ok(v.get("succeeded").and_then(Value::as_bool).unwrap_or(false))
    }

    /// Puts `key = value`, attached to `lease` unless it is 0.
    pub fn put(&self, key: &[u8], value: &[u8], lease: i64) -> Result<(), EtcdError> {
        let mut body = json!({ "key": b64(key), "value": b64(value) });
        if lease != 0 {
            body["lease"] = json!(lease.to_string());
        }
        self.call("/v3/kv/put", &body).map(|_| ())
    }

    /// Deletes `key` (absent is not an error).
    pub fn delete(&self, key: &[u8]) -> Result<(), EtcdError> {
        self.call("/v3/kv/deleterange", &json!({ "key": b64(key) }))
            .map(|_| ())
    }

    /// The seconds left to `lease` (`None`: expired or unknown).
    pub fn time_to_live(&self, lease: i64) -> Result<Option<i64>, EtcdError> {
        let v = self.call("/v3/lease/timetolive", &json!({ "ID": lease.to_string() }))?;
        Ok(v.get("TTL").and_then(int).filter(|t| *t >= 0))
    }

    /// Takes the leader key of a pair: in one transaction, only if `leader` is absent and
    /// `epoch_key` is unchanged since read, puts `leader = value(epoch)` on `lease` and
    /// `epoch_key = epoch` (the epoch read plus one). The new epoch, or `None` if the key
    /// is held (or the epoch moved meanwhile).
    pub fn take_leader(
        &self,
        leader: &[u8],
        epoch_key: &[u8],
        lease: i64,
        value: impl Fn(u64) -> Vec<u8>,
    ) -> Result<Option<u64>, EtcdError> {
        let current = self.get_entry(epoch_key)?;
        let (epoch, revision) = match &current {
            Some(e) => (
                std::str::from_utf8(&e.value)
                    .ok()
                    .and_then(|t| t.trim().parse::<u64>().ok())
                    .unwrap_or(0),
                e.mod_revision,
            ),
            None => (0, 0),
        };
        let next = epoch + 1;
        let body = json!({
            "compare": [
                { "key": b64(leader), "result": "EQUAL", "target": "CREATE", "create_revision": "0" },
                { "key": b64(epoch_key), "result": "EQUAL", "target": "MOD", "mod_revision": revision.to_string() },
            ],
            "success": [
                { "request_put": { "key": b64(leader), "value": b64(&value(next)), "lease": lease.to_string() } },
                { "request_put": { "key": b64(epoch_key), "value": b64(next.to_string().as_bytes()) } },
            ],
        });
        let v = self.call("/v3/kv/txn", &body)?;
        Ok(v.get("succeeded")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .then_some(next))
    }

    /// POSTs `body` to `path` on the first endpoint that answers.
    fn call(&self, path: &str, body: &Value) -> Result<Value, EtcdError> {
        let mut failures = Vec::new();
        for addr in &self.endpoints {
            match self.post(*addr, path, body) {
                Ok(v) => return Ok(v),
                Err(EtcdError::Unreachable(e)) => failures.push(format!("{addr}: {e}")),
                Err(e) => return Err(e),
            }
        }
        Err(EtcdError::Unreachable(failures.join("; ")))
    }

    fn post(&self, addr: SocketAddr, path: &str, body: &Value) -> Result<Value, EtcdError> {
        let unreachable = |e: std::io::Error| EtcdError::Unreachable(e.to_string());
        let mut socket = TcpStream::connect_timeout(&addr, self.timeout).map_err(unreachable)?;
        socket
            .set_read_timeout(Some(self.timeout))
            .map_err(unreachable)?;
        socket
            .set_write_timeout(Some(self.timeout))
            .map_err(unreachable)?;
        let body = body.to_string();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(request.as_bytes()).map_err(unreachable)?;
        let mut answer = Vec::new();
        socket
            .take(MAX_ANSWER)
            .read_to_end(&mut answer)
            .map_err(unreachable)?;
        let (status, payload) = parse_response(&answer)
            .ok_or_else(|| EtcdError::Unreachable(format!("{path}: not an HTTP answer")))?;
        let value: Value = serde_json::Deserializer::from_slice(&payload)
            .into_iter::<Value>()
            .next()
            .and_then(Result::ok)
            .ok_or_else(|| EtcdError::Refused(format!("{path}: status {status}, no JSON")))?;
        if status != 200 || value.get("error").is_some() {
            return Err(EtcdError::Refused(format!(
                "{path}: status {status}: {value}"
            )));
        }
        Ok(value)
    }
}

/// The status and the (de-chunked) body of an HTTP/1.1 answer read to its end.
fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(raw.get(..split)?).ok()?;
    let body = raw.get(split + 4..)?;
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if !chunked {
        return Some((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(rest.get(..line_end)?).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = rest.get(line_end + 2..)?;
        if size == 0 {
            return Some((status, out));
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..).unwrap_or_default();
        if rest.is_empty() {
            // The stream was cut after a whole chunk: what came is what there is.
            return Some((status, out));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_and_plain_answers_are_read() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(parse_response(plain), Some((200, b"{}".to_vec())));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked), Some((200, b"{\"a\":1}".to_vec())));
        assert_eq!(parse_response(b"garbage"), None);
    }
}
