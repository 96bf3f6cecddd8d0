//! Capacity search: raise the rate step by step until the service-level
//! objective breaks; the answer is the highest rate that kept it.
//!
//! A step *passes* when the chosen percentile of the end-to-end latency
//! (from the due time, so a backlog counts) is within the objective and no
//! message was lost, duplicated, refused, left unanswered or left unsent,
//! and the step did not time out. The search stops at the first failing
//! step (a saturated daemon only gets slower) or at the maximum rate.

use crate::report::LatencySummary;
use serde::Serialize;
use std::str::FromStr;

/// A latency objective such as `p99=10ms`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Slo {
    /// The percentile, e.g. 99.0 or 99.9.
    pub percentile: f64,
    /// The bound, microseconds.
    pub max_us: u64,
}

impl FromStr for Slo {
    type Err = String;

    fn from_str(text: &str) -> Result<Slo, String> {
        let bad = || {
            format!("{text:?} is not an objective like p99=10ms (p50, p90, p99, p99.9, p99.99; us, ms or s)")
        };
        let (p, bound) = text.split_once('=').ok_or_else(bad)?;
        let percentile: f64 = p
            .trim()
            .strip_prefix('p')
            .ok_or_else(bad)?
            .parse()
            .map_err(|_| bad())?;
        if !(percentile > 0.0 && percentile < 100.0) {
            return Err(bad());
        }
        let bound = bound.trim();
        let (number, scale) = if let Some(n) = bound.strip_suffix("us") {
            (n, 1.0)
        } else if let Some(n) = bound.strip_suffix("ms") {
            (n, 1e3)
        } else if let Some(n) = bound.strip_suffix('s') {
            (n, 1e6)
        } else {
            return Err(bad());
        };
        let v: f64 = number.trim().parse().map_err(|_| bad())?;
        if !(v > 0.0 && v.is_finite()) {
            return Err(bad());
        }
        Ok(Slo {
            percentile,
            max_us: (v * scale).round() as u64,
        })
    }
}

impl std::fmt::Display for Slo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p{}≤{:.3}ms",
            self.percentile,
            self.max_us as f64 / 1000.0
        )
    }
}

impl Slo {
    /// The objective's percentile of `l`, from the summary's fixed points
    /// (the nearest one at or above the percentile asked for).
    pub fn value(&self, l: &LatencySummary) -> u64 {
        match self.percentile {
            p if p <= 50.0 => l.p50,
            p if p <= 90.0 => l.p90,
            p if p <= 99.0 => l.p99,
            p if p <= 99.9 => l.p999,
            p if p <= 99.99 => l.p9999,
            _ => l.max,
        }
    }
}

/// The rates to try.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Steps {
    /// First rate.
    pub start: f64,
    /// Added at each step.
    pub step: f64,
    /// Highest rate tried.
    pub max: f64,
    /// Measured seconds per step.
    pub step_secs: f64,
}

impl Steps {
    /// Checks the numbers.
    pub fn check(&self) -> Result<(), String> {
        if !(self.start > 0.0 && self.step > 0.0 && self.max >= self.start) {
            return Err(
                "capacity search needs 0 < --rate-start ≤ --rate-max and --rate-step > 0".into(),
            );
        }
        if (self.max - self.start) / self.step > 1000.0 {
            return Err("more than 1000 capacity steps: raise --rate-step".into());
        }
        if self.step_secs <= 0.0 {
            return Err("--step-secs must be above 0".into());
        }
        Ok(())
    }

    /// The rate after `done` steps, if any is left.
    pub fn rate(&self, done: usize) -> Option<f64> {
        let r = self.start + self.step * done as f64;
        (r <= self.max * (1.0 + 1e-9)).then_some(r)
    }
}

/// One step's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    /// Target rate.
    pub rate: f64,
    /// Deliveries per second in the window.
    pub delivered_per_sec: f64,
    /// The objective's percentile, microseconds.
    pub latency_us: u64,
    /// Lost, duplicated, failed, unanswered or unsent messages.
    pub problems: u64,
    /// Whether the step kept the objective with nothing lost.
    pub passed: bool,
}

/// The search's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityReport {
    /// The objective.
    pub slo: Slo,
    /// The rates tried.
    pub steps_plan: Steps,
    /// Every step, in order.
    pub steps: Vec<StepResult>,
    /// The highest passing rate (none passed: `None`).
    pub max_rate: Option<f64>,
}

impl CapacityReport {
    /// The report of `steps`.
    pub fn new(slo: Slo, steps_plan: Steps, steps: Vec<StepResult>) -> CapacityReport {
        let max_rate = steps
            .iter()
            .filter(|s| s.passed)
            .map(|s| s.rate)
            .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))));
        CapacityReport {
            slo,
            steps_plan,
            steps,
            max_rate,
        }
    }
}

impl std::fmt::Display for CapacityReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for s in &self.steps {
            writeln!(
                f,
                "{:<10}{:>9.0}/s target: delivered {:>9.0}/s, p{} {:>9.3} ms, {} problems → {}",
                "step",
                s.rate,
                s.delivered_per_sec,
                self.slo.percentile,
                s.latency_us as f64 / 1000.0,
                s.problems,
                if s.passed { "pass" } else { "FAIL" }
            )?;
        }
        match self.max_rate {
            Some(r) => writeln!(
                f,
                "{:<10}highest rate within {}: {r:.0}/s",
                "capacity", self.slo
            ),
            None => writeln!(f, "{:<10}no rate tried kept {}", "capacity", self.slo),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_parse() {
        let s: Slo = "p99=10ms".parse().unwrap();
        assert_eq!((s.percentile, s.max_us), (99.0, 10_000));
        let s: Slo = "p99.9=2.5ms".parse().unwrap();
        assert_eq!((s.percentile, s.max_us), (99.9, 2_500));
        assert_eq!("p50=300us".parse::<Slo>().unwrap().max_us, 300);
        assert_eq!("p99=1s".parse::<Slo>().unwrap().max_us, 1_000_000);
        for bad in ["99=10ms", "p99", "p99=10", "p100=1ms", "p99=-1ms", "px=1ms"] {
            assert!(bad.parse::<Slo>().is_err(), "{bad}");
        }
        let l = LatencySummary {
            p50: 1,
            p90: 2,
            p99: 3,
            p999: 4,
            p9999: 5,
            max: 6,
            ..LatencySummary::default()
        };
        let at = |p: &str| p.parse::<Slo>().unwrap().value(&l);
        assert_eq!(
            [
                at("p50=1ms"),
                at("p99=1ms"),
                at("p99.9=1ms"),
                at("p99.99=1ms")
            ],
            [1, 3, 4, 5]
        );
    }

    #[test]
    fn steps_and_the_answer() {
        let steps = Steps {
            start: 100.0,
            step: 100.0,
            max: 300.0,
            step_secs: 1.0,
        };
        assert!(steps.check().is_ok());
        assert_eq!(
            (0..5).map(|k| steps.rate(k)).collect::<Vec<_>>(),
            [Some(100.0), Some(200.0), Some(300.0), None, None]
        );
        let r = |rate, passed| StepResult {
            rate,
            delivered_per_sec: rate,
            latency_us: 1,
            problems: 0,
            passed,
        };
        let c = CapacityReport::new(
            "p99=1ms".parse().unwrap(),
            steps,
            vec![r(100.0, true), r(200.0, true), r(300.0, false)],
        );
        assert_eq!(c.max_rate, Some(200.0));
        assert!(c
            .to_string()
            .contains("highest rate within p99≤1.000ms: 200/s"));
        let none = CapacityReport::new("p99=1ms".parse().unwrap(), steps, vec![r(100.0, false)]);
        assert_eq!(none.max_rate, None);
        let bad = Steps { step: 0.0, ..steps };
        assert!(bad.check().is_err());
    }
}
