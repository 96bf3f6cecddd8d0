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

/// p50, p99 and the largest of timed calls.
#[derive(Debug, Clone, Copy)]
pub struct Percentiles {
    /// Median.
    pub p50: std::time::Duration,
    /// 99th percentile.
    pub p99: std::time::Duration,
    /// The slowest call.
    pub max: std::time::Duration,
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let us = |d: std::time::Duration| d.as_secs_f64() * 1e6;
        write!(
            f,
            "p50 {:>8.1} µs  p99 {:>8.1} µs  max {:>8.1} µs",
            us(self.p50),
            us(self.p99),
            us(self.max)
        )
    }
}

/// Times `n` calls of `call(i)` one by one: criterion reports means and medians, while
/// the issues ask for tail latency too.
pub fn percentiles(n: usize, mut call: impl FnMut(usize)) -> Percentiles {
    let mut times: Vec<std::time::Duration> = (0..n.max(1))
        .map(|i| {
            let t = std::time::Instant::now();
            call(i);
            t.elapsed()
        })
        .collect();
    times.sort_unstable();
    let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    Percentiles {
        p50: at(0.50),
        p99: at(0.99),
        max: times[times.len() - 1],
    }
}
