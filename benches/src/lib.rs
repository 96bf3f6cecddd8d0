//! Micro-benchmarks of Kefu's hot paths live in `benches/benches/`; this
//! library only holds what several benchmarks share.

/// A realistic login request, as agents send it.
pub fn login_request() -> kefu_wire::Request {
    kefu_wire::Request::Login {
        account: 800_001,
        agent: 1001,
        password: "a realistic password".into(),
        otp: None,
    }
}
