//! HdrHistogram's percentile-distribution text (`.hgrm`), as Java's
//! `Histogram.outputPercentileDistribution` prints it, so that the standard
//! plotters (HdrHistogram's `plotFiles.html`, HistogramLogAnalyzer) read it.
//!
//! Values are written in milliseconds (the histograms hold microseconds),
//! five ticks per half distance, as the Java default.

use hdrhistogram::Histogram;
use std::fmt::Write;

/// Microseconds per output unit (milliseconds).
const SCALE: f64 = 1000.0;
/// Percentile ticks per half distance to 100%.
const TICKS: u32 = 5;

/// The percentile distribution of `h` (microseconds) in milliseconds.
pub fn distribution(h: &Histogram<u64>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total = 0u64;
    if !h.is_empty() {
        for v in h.iter_quantiles(TICKS) {
            total += v.count_since_last_iteration();
            let value = v.value_iterated_to() as f64 / SCALE;
            let q = v.quantile_iterated_to();
            if q < 1.0 {
                let _ = writeln!(
                    out,
                    "{value:12.3} {q:2.12} {total:10} {:14.2}",
                    1.0 / (1.0 - q)
                );
            } else {
                let _ = writeln!(out, "{value:12.3} {q:2.12} {total:10}");
            }
        }
    }
    let (mean, stdev, max) = if h.is_empty() {
        (0.0, 0.0, 0.0)
    } else {
        (h.mean() / SCALE, h.stdev() / SCALE, h.max() as f64 / SCALE)
    };
    // The sub-bucket count hdrhistogram derives from the significant digits.
    let sub_buckets = 2u64.pow((2.0 * 10f64.powi(i32::from(h.sigfig()))).log2().ceil() as u32);
    let _ = writeln!(
        out,
        "#[Mean    = {mean:12.3}, StdDeviation   = {stdev:12.3}]"
    );
    let _ = writeln!(
        out,
        "#[Max     = {max:12.3}, Total count    = {:12}]",
        h.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {sub_buckets:12}]",
        h.buckets()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::new_histogram;

    #[test]
    fn the_distribution_has_the_java_shape() {
        let mut h = new_histogram();
        for v in 1..=10_000u64 {
            h.record(v * 10).unwrap(); // 10 µs .. 100 ms
        }
        let text = distribution(&h);
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("       Value     Percentile TotalCount 1/(1-Percentile)")
        );
        assert_eq!(lines.next(), Some(""));
        let first: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(first, ["0.010", "0.000000000000", "1", "1.00"]);
        let rows: Vec<Vec<f64>> = text
            .lines()
            .skip(2)
            .take_while(|l| !l.starts_with('#'))
            .map(|l| l.split_whitespace().map(|w| w.parse().unwrap()).collect())
            .collect();
        // Values, percentiles and counts only grow; the last row is 100%, all counted.
        for w in rows.windows(2) {
            assert!(w[1][0] >= w[0][0] && w[1][1] >= w[0][1] && w[1][2] >= w[0][2]);
        }
        let last = rows.last().unwrap();
        assert_eq!(last.len(), 3);
        assert_eq!((last[1], last[2]), (1.0, 10_000.0));
        assert!((last[0] - 100.0).abs() < 0.1, "{last:?}");
        // The median row is near 50 ms.
        let median = rows.iter().find(|r| r[1] >= 0.5).unwrap();
        assert!((median[0] - 50.0).abs() < 0.1, "{median:?}");
        assert!(text.contains("#[Max     =      100.0"), "{text}");
        assert!(text.contains("Total count    =        10000]"), "{text}");
        assert!(text.contains("SubBuckets     =         2048]"), "{text}");
    }
}
