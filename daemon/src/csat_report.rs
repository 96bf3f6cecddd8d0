//! The CSAT report as export tables (S2, manual §10.1.2; `wire/PROTOCOL.md` section 37):
//! the summary (one line per agent: ratings per option, total, satisfaction ratio) and
//! the detail (one line per rating: day, time, customer, agent, option, reasons, own
//! words), as [`kefu_report::Table`]s that `kefu_report::export` writes as CSV or
//! Excel. Pure: the daemon's weekly mail, the report requests and `kefuctl` share them.

use kefu_report::{Cell, Table};
use kefu_wire::chat::CustomerId;
use kefu_wire::csat::{civil, CsatAgentLine, CsatRating, CsatStyle};

fn date(day: i32) -> Cell {
    let (y, m, d) = civil(day);
    Cell::Date(u16::try_from(y).unwrap_or(0), m, d)
}

fn int(n: u64) -> Cell {
    Cell::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// How a customer is shown in a report: its own id, or `visitor:` and the visitor id
/// in hex.
pub fn customer_text(c: &CustomerId) -> String {
    match c {
        CustomerId::Identified(id) => id.clone(),
        CustomerId::Visitor(v) => {
            let hex: String = v.iter().map(|b| format!("{b:02x}")).collect();
            format!("visitor:{hex}")
        }
    }
}

/// The summary of days `from..=to`: per agent, ratings of options 1..=5 (labelled as
/// the Words style names them), total and the satisfied share (options 4 and 5).
pub fn csat_summary_table(from: i32, to: i32, lines: &[CsatAgentLine]) -> Table {
    let (y1, m1, d1) = civil(from);
    let (y2, m2, d2) = civil(to);
    let mut columns = vec!["agent".to_owned()];
    for (i, label) in CsatStyle::Words.labels().iter().enumerate() {
        columns.push(format!("{} {label}", i + 1));
    }
    columns.push("total".to_owned());
    columns.push("satisfaction".to_owned());
    let rows = lines
        .iter()
        .map(|l| {
            let mut row = vec![Cell::Int(i64::from(l.agent))];
            row.extend(l.counts.iter().map(|n| int(*n)));
            row.push(int(l.total()));
            row.push(l.satisfaction().map_or(Cell::Empty, Cell::Number));
            row
        })
        .collect();
    Table {
        title: format!("CSAT {y1:04}-{m1:02}-{d1:02} to {y2:04}-{m2:02}-{d2:02}"),
        columns,
        rows,
    }
}

/// The detail: one line per rating, in the order given (by day, agent, customer).
pub fn csat_detail_table(ratings: &[CsatRating]) -> Table {
    let columns = [
        "day",
        "rated at (unix ms)",
        "customer",
        "agent",
        "conversation",
        "option",
        "reasons",
        "text",
    ];
    let rows = ratings
        .iter()
        .map(|r| {
            vec![
                date(r.day),
                Cell::Int(r.at),
                Cell::Text(customer_text(&r.customer)),
                Cell::Int(i64::from(r.agent)),
                int(r.conversation),
                Cell::Int(i64::from(r.rating)),
                Cell::Text(r.reasons.join("; ")),
                Cell::Text(r.text.clone()),
            ]
        })
        .collect();
    Table {
        title: "CSAT detail".to_owned(),
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_has_one_line_per_agent() {
        let t = csat_summary_table(
            20_000,
            20_006,
            &[CsatAgentLine {
                agent: 1002,
                counts: [0, 0, 1, 0, 1],
            }],
        );
        assert_eq!(t.columns.len(), 8);
        assert_eq!(t.rows[0][6], Cell::Int(2));
        assert_eq!(t.rows[0][7], Cell::Number(0.5));
    }
}
