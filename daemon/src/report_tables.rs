//! The tables of the reports (`kefu_report::Table`): what an export file holds, in the
//! order the report shows it (`wire/PROTOCOL.md` section 36). Pure functions of what
//! the report request answers, so a test (or a client) can build the same table from the
//! same rows and compare the file byte for byte.

use crate::store::report_records::{AnswerRecord, SurveyRecord};
use kefu_report::{Cell, Table};
use kefu_wire::chat::CustomerId;
use kefu_wire::reports::WorkReportRow;
use kefu_wire::survey::SurveyResult;
use kefu_wire::web::{SiteAnalytics, VisitDay};

/// The daily work report as a table: one row per agent and day.
pub fn work_table(rows: &[WorkReportRow]) -> Table {
    Table {
        title: "工作日报".into(),
        columns: ["日期", "工号", "会话量", "独立客户数"]
            .map(String::from)
            .to_vec(),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Cell::Date(r.date.year, r.date.month, r.date.day),
                    Cell::Int(i64::from(r.agent)),
                    Cell::Int(i64::try_from(r.conversations).unwrap_or(i64::MAX)),
                    Cell::Int(i64::try_from(r.customers).unwrap_or(i64::MAX)),
                ]
            })
            .collect(),
    }
}

/// A survey's results as a table: one row per option, its count and its ratio (0..=1).
pub fn survey_results_table(r: &SurveyResult) -> Table {
    let mut rows = Vec::new();
    for (n, q) in r.survey.draft.questions.iter().enumerate() {
        for (o, option) in q.options.iter().enumerate() {
            let count = r.counts.get(n).and_then(|c| c.get(o)).copied().unwrap_or(0);
            let ratio = r.ratios.get(n).and_then(|c| c.get(o)).copied().unwrap_or(0);
            rows.push(vec![
                Cell::Int(i64::try_from(n + 1).unwrap_or(0)),
                Cell::Text(q.text.clone()),
                Cell::Text(option.clone()),
                Cell::Int(i64::try_from(count).unwrap_or(i64::MAX)),
                Cell::Number(f64::from(ratio) / 10_000.0),
            ]);
        }
    }
    Table {
        title: format!("调查结果 {}", r.survey.id),
        columns: ["题号", "问题", "选项", "选择数", "比例"]
            .map(String::from)
            .to_vec(),
        rows,
    }
}

fn customer_text(c: &CustomerId) -> String {
    match c {
        CustomerId::Identified(id) => id.clone(),
        CustomerId::Visitor(v) => v.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// "YYYY-MM-DD HH:MM:SS" (UTC) of turn milliseconds.
fn time_text(ms: i64) -> String {
    let (y, mo, d, h, mi, s) = crate::log::civil(u64::try_from(ms / 1000).unwrap_or(0));
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// A survey's answers as a table: one row per contact, the chosen options' labels per
/// question (joined with "；").
pub fn survey_answers_table(survey: &SurveyRecord, answers: &[AnswerRecord]) -> Table {
    let mut columns: Vec<String> = ["联系人编号", "客户", "时间 (UTC)"]
        .map(String::from)
        .to_vec();
    columns.extend(survey.draft.questions.iter().map(|q| q.text.clone()));
    let rows = answers
        .iter()
        .map(|a| {
            let mut row = vec![
                Cell::Int(i64::try_from(a.contact).unwrap_or(i64::MAX)),
                Cell::Text(customer_text(&a.customer)),
                Cell::Text(time_text(a.at)),
            ];
            for (q, chosen) in survey.draft.questions.iter().zip(&a.choices) {
                let labels: Vec<&str> = chosen
                    .iter()
                    .filter_map(|&o| q.options.get(usize::from(o)).map(String::as_str))
                    .collect();
                row.push(Cell::Text(labels.join("；")));
            }
            row
        })
        .collect();
    Table {
        title: format!("调查详单 {}", survey.id),
        columns,
        rows,
    }
}

/// The visit trend (S4, §7.20) as a report table: one row per day.
pub fn visit_trend_table(days: &[VisitDay]) -> Table {
    let rows = days
        .iter()
        .map(|d| {
            let (y, m, dd) = day_date(d.day);
            vec![
                Cell::Date(y, m, dd),
                Cell::Int(i64::try_from(d.visits).unwrap_or(i64::MAX)),
                Cell::Int(i64::try_from(d.unique_visitors).unwrap_or(i64::MAX)),
            ]
        })
        .collect();
    Table {
        title: "访问量趋势".into(),
        columns: vec!["日期".into(), "访问人次".into(), "独立访客".into()],
        rows,
    }
}

/// Site analytics (S5, §4.8) as a report table: one row per day, then the referring
/// domains and regions over the range.
pub fn site_analytics_table(a: &SiteAnalytics) -> Table {
    let n = |v: u64| Cell::Int(i64::try_from(v).unwrap_or(i64::MAX));
    let mut rows: Vec<Vec<Cell>> = a
        .days
        .iter()
        .map(|d| {
            let (y, m, dd) = day_date(d.day);
            vec![
                Cell::Date(y, m, dd),
                n(d.consultations),
                n(d.visits),
                n(d.unique_visitors),
                n(d.page_views),
                Cell::Empty,
            ]
        })
        .collect();
    for (kind, list) in [("来源网站", &a.referrers), ("访客地区", &a.regions)] {
        for c in list {
            rows.push(vec![
                Cell::Text(kind.into()),
                Cell::Empty,
                n(c.count),
                Cell::Empty,
                Cell::Empty,
                Cell::Text(c.name.clone()),
            ]);
        }
    }
    Table {
        title: "数据分析".into(),
        columns: vec![
            "日期".into(),
            "咨询量".into(),
            "访问人次".into(),
            "独立访客".into(),
            "浏览页面".into(),
            "来源".into(),
        ],
        rows,
    }
}

/// The calendar date of a day number since 1970-01-01 UTC, as a cell's date.
fn day_date(day: u32) -> (u16, u8, u8) {
    let (y, m, d) = kefu_wire::csat::civil(i32::try_from(day).unwrap_or(i32::MAX));
    (u16::try_from(y).unwrap_or(0), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_are_calendar_dates() {
        assert_eq!(day_date(0), (1970, 1, 1));
        assert_eq!(day_date(20_454), (2026, 1, 1));
        assert_eq!(day_date(11_016), (2000, 2, 29));
    }
}
