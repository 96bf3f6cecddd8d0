//! The HTML report: one self-contained file (inline SVG, no scripts, no
//! external resources) with a percentile plot, throughput and latency over
//! time, the daemon's CPU and memory over time, and the tables of the text
//! report.
//!
//! The percentile plot follows HdrHistogram's plotter: latency against
//! percentile on a logarithmic `1/(1-p)` axis, so that 90%, 99%, 99.9%,
//! 99.99% are evenly spaced and the tail is as visible as the median.

use super::chat::SecondReport;
use super::LatencySummary;
use crate::sampler::ProcSample;
use hdrhistogram::Histogram;
use std::fmt::Write;

/// Colours of the series, in order.
const COLOURS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];
const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;

/// What the page shows.
#[derive(Debug, Default)]
pub struct Page<'a> {
    /// The heading.
    pub title: String,
    /// Lines under the heading (settings, machine, command).
    pub intro: Vec<String>,
    /// Latency tables: (operation, percentiles in µs).
    pub latencies: Vec<(String, LatencySummary)>,
    /// Percentile plot series: (name, histogram in µs).
    pub percentiles: Vec<(String, &'a Histogram<u64>)>,
    /// A second percentile plot, of the agents' operations (history, contact
    /// search, broadcast), due → answer.
    pub op_percentiles: Vec<(String, &'a Histogram<u64>)>,
    /// Per-second rows of the traffic.
    pub timeline: &'a [SecondReport],
    /// Target rate, for the throughput plot.
    pub target_rate: Option<f64>,
    /// The daemon's CPU and memory over time.
    pub samples: &'a [ProcSample],
    /// More tables: (caption, header, rows).
    pub tables: Vec<(String, Vec<String>, Vec<Vec<String>>)>,
    /// The text report, shown at the end.
    pub text: String,
}

/// A line series.
struct Series {
    name: String,
    points: Vec<(f64, f64)>,
    dashed: bool,
}

/// An axis: its range and its labelled ticks.
struct Axis {
    min: f64,
    max: f64,
    ticks: Vec<(f64, String)>,
    label: String,
}

impl Axis {
    /// A linear axis from 0 to a round number above `max`.
    fn linear(max: f64, label: &str, unit: &str) -> Axis {
        let max = if max > 0.0 { max } else { 1.0 };
        let raw = max / 5.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * mag);
        let top = (max / step).ceil() * step;
        let ticks = (0..=((top / step).round() as usize))
            .map(|k| {
                let v = k as f64 * step;
                (v, format!("{}{unit}", trim(v)))
            })
            .collect();
        Axis {
            min: 0.0,
            max: top,
            ticks,
            label: label.to_string(),
        }
    }
}

/// A number without needless decimals.
fn trim(v: f64) -> String {
    if v == v.round() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One chart as an SVG element; with `widen`, earlier series are drawn
/// wider, so that equal series stay visible underneath later ones (sent =
/// delivered in a run that keeps up).
fn chart(title: &str, x: &Axis, y: &Axis, series: &[Series], widen: bool) -> String {
    let pw = WIDTH - LEFT - RIGHT;
    let ph = HEIGHT - TOP - BOTTOM;
    let sx = |v: f64| LEFT + (v - x.min) / (x.max - x.min).max(f64::MIN_POSITIVE) * pw;
    let sy = |v: f64| TOP + ph - (v - y.min) / (y.max - y.min).max(f64::MIN_POSITIVE) * ph;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        s,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/><text x="{}" y="22" font-size="15" font-weight="bold" text-anchor="middle">{}</text>"##,
        WIDTH / 2.0,
        esc(title)
    );
    for (v, label) in &y.ticks {
        let py = sy(*v);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + pw,
            LEFT - 6.0,
            py + 4.0,
            esc(label)
        );
    }
    for (v, label) in &x.ticks {
        let px = sx(*v);
        let _ = write!(
            s,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{:.1}" stroke="#eee"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + ph,
            TOP + ph + 18.0,
            esc(label)
        );
    }
    let _ = write!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text transform="translate(18,{:.1}) rotate(-90)" text-anchor="middle">{}</text>"##,
        LEFT + pw / 2.0,
        HEIGHT - 14.0,
        esc(&x.label),
        TOP + ph / 2.0,
        esc(&y.label)
    );
    for (k, ser) in series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let mut d = String::new();
        for (i, (px, py)) in ser.points.iter().enumerate() {
            let cx = sx(px.clamp(x.min, x.max));
            let cy = sy(py.clamp(y.min, y.max));
            let _ = write!(d, "{}{cx:.1},{cy:.1} ", if i == 0 { "M" } else { "L" });
        }
        let dash = if ser.dashed {
            r#" stroke-dasharray="6,4""#
        } else {
            ""
        };
        let width = if widen {
            2.0 + 1.5 * (series.len() - 1 - k) as f64
        } else {
            2.0
        };
        let _ = write!(
            s,
            r#"<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}"{dash}/>"#
        );
        // Legend, top left inside the plot.
        let ly = TOP + 16.0 + 16.0 * k as f64;
        let _ = write!(
            s,
            r##"<line x1="{:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="3"{dash}/><text x="{:.1}" y="{:.1}">{}</text>"##,
            LEFT + 10.0,
            LEFT + 34.0,
            LEFT + 40.0,
            ly + 4.0,
            esc(&ser.name)
        );
    }
    s.push_str("</svg>");
    s
}

/// Points of a percentile curve: (log10(1/(1-p)), milliseconds). The 100%
/// point is put at `x_max`.
fn percentile_points(h: &Histogram<u64>, x_max: f64) -> Vec<(f64, f64)> {
    let mut points = Vec::new();
    if h.is_empty() {
        return points;
    }
    for v in h.iter_quantiles(5) {
        let q = v.quantile_iterated_to();
        let x = if q < 1.0 {
            (1.0 / (1.0 - q)).log10().min(x_max)
        } else {
            x_max
        };
        points.push((x, v.value_iterated_to() as f64 / 1000.0));
    }
    points
}

/// The percentile plot.
pub fn percentile_chart(series: &[(String, &Histogram<u64>)]) -> String {
    titled_percentile_chart("Latency by percentile", series)
}

/// A percentile plot with its own title.
pub fn titled_percentile_chart(title: &str, series: &[(String, &Histogram<u64>)]) -> String {
    // Up to the nines the largest histogram resolves, at least 99.99%.
    let most = series
        .iter()
        .map(|(_, h)| h.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let nines = ((most as f64).log10().ceil()).clamp(4.0, 6.0);
    let lines: Vec<Series> = series
        .iter()
        .map(|(name, h)| Series {
            name: name.clone(),
            points: percentile_points(h, nines),
            dashed: name.contains("uncorrected"),
        })
        .collect();
    let top = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"];
    let x = Axis {
        min: 0.0,
        max: nines,
        ticks: (0..=nines as usize)
            .map(|k| (k as f64, labels[k].to_string()))
            .collect(),
        label: "percentile (log scale of 1/(1-p))".into(),
    };
    let y = Axis::linear(top, "latency, ms", "");
    chart(title, &x, &y, &lines, false)
}

/// Throughput per second.
fn throughput_chart(t: &[SecondReport], target: Option<f64>) -> String {
    let pts = |f: fn(&SecondReport) -> u64| -> Vec<(f64, f64)> {
        t.iter()
            .map(|r| (r.second as f64 + 0.5, f(r) as f64))
            .collect()
    };
    let mut lines = vec![
        Series {
            name: "sent/s".into(),
            points: pts(|r| r.sent),
            dashed: false,
        },
        Series {
            name: "delivered/s".into(),
            points: pts(|r| r.delivered),
            dashed: false,
        },
        Series {
            name: "acked/s".into(),
            points: pts(|r| r.acked),
            dashed: true,
        },
    ];
    let end = t.len().max(1) as f64;
    if let Some(rate) = target {
        lines.push(Series {
            name: format!("target {}/s", trim(rate)),
            points: vec![(0.0, rate), (end, rate)],
            dashed: true,
        });
    }
    let top = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold(0.0, f64::max)
        * 1.15;
    chart(
        "Throughput over time (per-second buckets)",
        &seconds_axis(end),
        &Axis::linear(top, "messages per second", ""),
        &lines,
        true,
    )
}

/// End-to-end latency per second.
fn latency_chart(t: &[SecondReport]) -> String {
    let pts = |f: fn(&SecondReport) -> u64| -> Vec<(f64, f64)> {
        t.iter()
            .filter(|r| r.delivered > 0)
            .map(|r| (r.second as f64 + 0.5, f(r) as f64 / 1000.0))
            .collect()
    };
    let lines = vec![
        Series {
            name: "max".into(),
            points: pts(|r| r.end_to_end_max_us),
            dashed: false,
        },
        Series {
            name: "p99".into(),
            points: pts(|r| r.end_to_end_p99_us),
            dashed: false,
        },
        Series {
            name: "p50".into(),
            points: pts(|r| r.end_to_end_p50_us),
            dashed: false,
        },
    ];
    let top = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold(0.0, f64::max)
        * 1.1;
    chart(
        "End-to-end latency over time (due → agent, deliveries in each second)",
        &seconds_axis(t.len().max(1) as f64),
        &Axis::linear(top, "latency, ms", ""),
        &lines,
        false,
    )
}

/// The daemon's CPU (cores) and RSS (MiB) over time, one chart each.
fn process_charts(samples: &[ProcSample]) -> String {
    if samples.is_empty() {
        return String::new();
    }
    let end = samples.last().map_or(1.0, |s| s.at_secs.max(1.0));
    let start = samples.first().map_or(0.0, |s| s.at_secs.min(0.0));
    let mut x = seconds_axis(end);
    x.min = start;
    let cpu = Series {
        name: "CPU, cores".into(),
        points: samples
            .iter()
            .skip(1)
            .map(|s| (s.at_secs, s.cpu_cores))
            .collect(),
        dashed: false,
    };
    let top = cpu.points.iter().map(|p| p.1).fold(0.0, f64::max) * 1.15;
    let rss = Series {
        name: "RSS, MiB".into(),
        points: samples
            .iter()
            .filter_map(|s| Some((s.at_secs, s.rss_bytes? as f64 / (1024.0 * 1024.0))))
            .collect(),
        dashed: false,
    };
    let rss_top = rss.points.iter().map(|p| p.1).fold(0.0, f64::max) * 1.15;
    chart(
        "Daemon CPU (from /proc/PID/stat)",
        &x,
        &Axis::linear(top, "cores busy", ""),
        &[cpu],
        false,
    ) + &chart(
        "Daemon resident memory (VmRSS from /proc/PID/status)",
        &x,
        &Axis::linear(rss_top, "MiB", ""),
        &[rss],
        false,
    )
}

fn seconds_axis(end: f64) -> Axis {
    let mut a = Axis::linear(end, "seconds since the first due message", "");
    a.label = "seconds since the first due message".into();
    a
}

fn table(out: &mut String, caption: &str, header: &[String], rows: &[Vec<String>]) {
    let _ = write!(out, "<table><caption>{}</caption><tr>", esc(caption));
    for h in header {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr>");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            let _ = write!(out, "<td>{}</td>", esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

/// The whole page.
pub fn render(p: &Page<'_>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title><style>\
         body{{font-family:sans-serif;margin:20px;max-width:1040px}}\
         table{{border-collapse:collapse;margin:12px 0}}caption{{text-align:left;font-weight:bold;padding:4px 0}}\
         td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}th{{background:#f3f3f3}}\
         td:first-child{{text-align:left}}svg{{display:block;margin:10px 0}}\
         pre{{background:#f7f7f7;padding:8px;font-size:11px;overflow-x:auto}}</style></head><body>",
        esc(&p.title)
    );
    let _ = write!(out, "<h1>{}</h1>", esc(&p.title));
    for line in &p.intro {
        let _ = write!(out, "<div>{}</div>", esc(line));
    }
    if !p.latencies.is_empty() {
        let header: Vec<String> = [
            "operation",
            "count",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "p99.99",
            "max",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let ms = |us: u64| format!("{:.3} ms", us as f64 / 1000.0);
        let rows: Vec<Vec<String>> = p
            .latencies
            .iter()
            .map(|(name, l)| {
                vec![
                    name.clone(),
                    l.count.to_string(),
                    ms(l.p50),
                    ms(l.p90),
                    ms(l.p99),
                    ms(l.p999),
                    ms(l.p9999),
                    ms(l.max),
                ]
            })
            .collect();
        table(&mut out, "Latency percentiles", &header, &rows);
    }
    for (caption, header, rows) in &p.tables {
        table(&mut out, caption, header, rows);
    }
    if !p.percentiles.is_empty() {
        out.push_str(&percentile_chart(&p.percentiles));
    }
    if !p.op_percentiles.is_empty() {
        out.push_str(&titled_percentile_chart(
            "Agent operations: latency by percentile (due → answer)",
            &p.op_percentiles,
        ));
    }
    if !p.timeline.is_empty() {
        out.push_str(&throughput_chart(p.timeline, p.target_rate));
        out.push_str(&latency_chart(p.timeline));
    }
    out.push_str(&process_charts(p.samples));
    if !p.text.is_empty() {
        let _ = write!(out, "<pre>{}</pre>", esc(&p.text));
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::new_histogram;

    #[test]
    fn axes_are_round_and_pages_are_self_contained() {
        let a = Axis::linear(1234.0, "x", "");
        assert_eq!(a.max, 1250.0);
        assert_eq!(a.ticks.first().map(|t| t.1.as_str()), Some("0"));
        assert_eq!(a.ticks.last().map(|t| t.1.as_str()), Some("1250"));
        assert_eq!(a.ticks.len(), 6);
        let mut h = new_histogram();
        for v in 1..=1000u64 {
            h.record(v).unwrap();
        }
        let rows = [SecondReport {
            second: 0,
            sent: 10,
            acked: 10,
            delivered: 10,
            end_to_end_p50_us: 500,
            end_to_end_p99_us: 990,
            end_to_end_max_us: 1000,
        }];
        let page = Page {
            title: "t <1>".into(),
            percentiles: vec![("due → agent".into(), &h)],
            timeline: &rows,
            target_rate: Some(10.0),
            ..Page::default()
        };
        let html = render(&page);
        assert!(html.contains("t &lt;1&gt;"));
        assert_eq!(html.matches("<svg").count(), 3);
        assert!(html.contains("99.99%"));
        assert!(
            !html.contains("http://") || !html.contains("src="),
            "no external resources"
        );
        let pts = percentile_points(&h, 4.0);
        assert_eq!(pts.first().map(|p| p.0), Some(0.0));
        assert!(pts.iter().all(|p| p.0 <= 4.0));
        assert!(pts.last().unwrap().1 >= 1.0);
    }
}
