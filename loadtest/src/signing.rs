//! Customer signatures, made as an enterprise's backend makes them (`wire/PROTOCOL.md`).
//!
//! A `CustomerLogin` carries HMAC-SHA256, under the account's customer key
//! (from `AdminRotateCustomerKey`), of
//! `account (u64 BE) ‖ expires_at (i64 BE) ‖ customer (UTF-8)`. The daemon
//! has the same function (`kefu_daemon::shard::sign_customer`); this crate
//! does not depend on the daemon, so it computes the MAC itself with `ring`,
//! and a unit test checks both agree.

use ring::hmac;

/// The signature a backend gives `customer` of `account`, valid until `expires_at` (unix seconds).
pub fn sign_customer(key: &[u8; 32], account: u64, customer: &str, expires_at: i64) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(&account.to_be_bytes());
    ctx.update(&expires_at.to_be_bytes());
    ctx.update(customer.as_bytes());
    let tag = ctx.sign();
    let mut out = [0u8; 32];
    // HMAC-SHA256 tags are 32 bytes; `zip` copies them without indexing.
    for (o, t) in out.iter_mut().zip(tag.as_ref()) {
        *o = *t;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_daemon() {
        let cases: &[([u8; 32], u64, &str, i64)] = &[
            ([0; 32], 0, "a", 0),
            ([7; 32], 900_000_000, "kefu-load-17", 1_900_000_000),
            ([0xa5; 32], u64::MAX, "客服", -1),
            (
                *b"0123456789abcdef0123456789abcdef",
                830_001,
                &"x".repeat(64),
                i64::MAX,
            ),
        ];
        for (key, account, customer, expires_at) in cases {
            assert_eq!(
                sign_customer(key, *account, customer, *expires_at),
                kefu_daemon::shard::sign_customer(key, *account, customer, *expires_at),
                "{account} {customer} {expires_at}"
            );
        }
        // The inputs are not interchangeable.
        let k = [1; 32];
        assert_ne!(sign_customer(&k, 1, "a", 2), sign_customer(&k, 2, "a", 1));
    }
}
