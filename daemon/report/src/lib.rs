//! Report tables and the files they export to.
//!
//! Every report of the appliance (CSAT, the daily work report, visit trend, site analytics,
//! survey results, …) is computed by the daemon into a [`Table`]: a title, column headings
//! and rows of typed [`Cell`]s. This crate turns a table into the bytes of an export file:
//!
//! - [`to_csv`]: RFC 4180, CRLF line ends, UTF-8 with a byte-order mark so that spreadsheet
//!   software reads Chinese text correctly; a text cell that starts with `=`, `+`, `-` or
//!   `@` is prefixed with `'` so that it is never run as a formula (CSV injection).
//! - [`to_xlsx`]: one worksheet named after the title, a bold header row, numbers as
//!   numbers, dates as dates.
//!
//! The same table is what the protocol streams and what `kefuctl` writes, so a file and the
//! report on screen can never disagree.

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

/// One value of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Free text (names, reasons, referrers). Escaped for CSV; never a formula.
    Text(String),
    /// A count.
    Int(i64),
    /// A ratio or an average, written with up to 4 decimals in CSV.
    Number(f64),
    /// A calendar day, `(year, month, day)`; written `YYYY-MM-DD` in CSV and as a date in Excel.
    Date(u16, u8, u8),
    /// Nothing (a day without data, an unanswered question).
    Empty,
}

/// A report ready to export: what a user sees on screen, in the same order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// The report's name; the worksheet's name (cut to Excel's 31 characters).
    pub title: String,
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows; each has `columns.len()` cells (shorter rows are padded with empty cells).
    pub rows: Vec<Vec<Cell>>,
}

/// Why a table could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The Excel writer refused (a row beyond Excel's 1,048,576, a date out of range, …).
    #[error("excel export failed: {0}")]
    Xlsx(String),
}

impl From<XlsxError> for ExportError {
    fn from(error: XlsxError) -> Self {
        ExportError::Xlsx(error.to_string())
    }
}

/// The export file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Comma-separated values.
    Csv,
    /// Office Open XML workbook.
    Xlsx,
}

/// The table as a file of the given format.
pub fn export(table: &Table, format: FileFormat) -> Result<Vec<u8>, ExportError> {
    match format {
        FileFormat::Csv => Ok(to_csv(table)),
        FileFormat::Xlsx => to_xlsx(table),
    }
}

/// The table as a CSV file (UTF-8 with BOM, CRLF, RFC 4180 quoting).
pub fn to_csv(table: &Table) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + table.rows.len() * 32);
    out.extend_from_slice("\u{feff}".as_bytes());
    let header: Vec<Cell> = table
        .columns
        .iter()
        .map(|c| Cell::Text(c.clone()))
        .collect();
    write_csv_row(&mut out, &header, table.columns.len());
    for row in &table.rows {
        write_csv_row(&mut out, row, table.columns.len());
    }
    out
}

fn write_csv_row(out: &mut Vec<u8>, row: &[Cell], width: usize) {
    let width = width.max(row.len());
    for index in 0..width {
        if index > 0 {
            out.push(b',');
        }
        match row.get(index).unwrap_or(&Cell::Empty) {
            Cell::Text(text) => write_csv_text(out, text),
            Cell::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Cell::Number(x) => out.extend_from_slice(format_number(*x).as_bytes()),
            Cell::Date(y, m, d) => {
                out.extend_from_slice(format!("{y:04}-{m:02}-{d:02}").as_bytes())
            }
            Cell::Empty => {}
        }
    }
    out.extend_from_slice(b"\r\n");
}

fn write_csv_text(out: &mut Vec<u8>, text: &str) {
    // A leading formula character would be evaluated by spreadsheet software.
    let guard = matches!(
        text.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    );
    let needs_quotes = guard || text.contains([',', '"', '\n', '\r']);
    if needs_quotes {
        out.push(b'"');
    }
    if guard {
        out.push(b'\'');
    }
    for byte in text.bytes() {
        if byte == b'"' {
            out.push(b'"');
        }
        out.push(byte);
    }
    if needs_quotes {
        out.push(b'"');
    }
}

/// Up to 4 decimals, trailing zeros dropped: 0.25, 1, 0.3333.
fn format_number(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    let text = format!("{x:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// Excel's limit on a worksheet's name, and the characters it refuses in one.
const SHEET_NAME_MAX: usize = 31;
const SHEET_NAME_FORBIDDEN: [char; 7] = ['[', ']', ':', '*', '?', '/', '\\'];

/// The table as an .xlsx workbook of one worksheet.
pub fn to_xlsx(table: &Table) -> Result<Vec<u8>, ExportError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let name: String = table
        .title
        .chars()
        .map(|c| {
            if SHEET_NAME_FORBIDDEN.contains(&c) {
                '_'
            } else {
                c
            }
        })
        .take(SHEET_NAME_MAX)
        .collect();
    let name = name.trim_matches('\'');
    if !name.is_empty() {
        sheet.set_name(name)?;
    }
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (column, heading) in table.columns.iter().enumerate() {
        sheet.write_string_with_format(0, col(column)?, heading, &bold)?;
    }
    for (index, row) in table.rows.iter().enumerate() {
        let r = u32::try_from(index + 1).map_err(|_| ExportError::Xlsx("too many rows".into()))?;
        for (column, cell) in row.iter().enumerate() {
            let c = col(column)?;
            match cell {
                Cell::Text(text) => {
                    sheet.write_string(r, c, text)?;
                }
                Cell::Int(n) => {
                    sheet.write_number(r, c, *n as f64)?;
                }
                Cell::Number(x) if x.is_finite() => {
                    sheet.write_number(r, c, *x)?;
                }
                Cell::Number(_) | Cell::Empty => {}
                Cell::Date(y, m, d) => {
                    let day = ExcelDateTime::from_ymd(*y, *m, *d)?;
                    sheet.write_datetime_with_format(r, c, &day, &date)?;
                }
            }
        }
    }
    Ok(workbook.save_to_buffer()?)
}

fn col(index: usize) -> Result<u16, ExportError> {
    u16::try_from(index).map_err(|_| ExportError::Xlsx("too many columns".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader, Xlsx};
    use std::io::Cursor;

    fn sample() -> Table {
        Table {
            title: "每日工作报表 [test]".into(),
            columns: vec!["日期".into(), "客服".into(), "会话".into(), "满意率".into()],
            rows: vec![
                vec![
                    Cell::Date(2026, 12, 7),
                    Cell::Text("张三".into()),
                    Cell::Int(12),
                    Cell::Number(0.75),
                ],
                vec![
                    Cell::Date(2026, 12, 8),
                    Cell::Text("=1+1, \"x\"".into()),
                    Cell::Int(0),
                    Cell::Empty,
                ],
            ],
        }
    }

    #[test]
    fn csv_is_utf8_with_bom_quoted_and_formula_safe() {
        let text = String::from_utf8(to_csv(&sample())).unwrap();
        assert_eq!(
            text,
            "\u{feff}日期,客服,会话,满意率\r\n2026-12-07,张三,12,0.75\r\n2026-12-08,\"'=1+1, \"\"x\"\"\",0,\r\n"
        );
    }

    #[test]
    fn numbers_keep_at_most_four_decimals() {
        assert_eq!(format_number(1.0), "1");
        assert_eq!(format_number(1.0 / 3.0), "0.3333");
        assert_eq!(format_number(-0.00001), "0");
        assert_eq!(format_number(f64::NAN), "");
    }

    #[test]
    fn xlsx_reads_back_with_the_same_rows() {
        let bytes = to_xlsx(&sample()).unwrap();
        let mut book = Xlsx::new(Cursor::new(bytes)).unwrap();
        let names = book.sheet_names().to_vec();
        assert_eq!(names, vec!["每日工作报表 _test_".to_string()]);
        let range = book.worksheet_range(&names[0]).unwrap();
        let rows: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
        assert_eq!(rows[0][1], Data::String("客服".into()));
        assert_eq!(rows[1][1], Data::String("张三".into()));
        assert_eq!(rows[1][2], Data::Float(12.0));
        assert_eq!(rows[1][3], Data::Float(0.75));
        assert!(matches!(rows[1][0], Data::DateTime(_)), "{:?}", rows[1][0]);
        assert_eq!(rows[2][1], Data::String("=1+1, \"x\"".into()));
        assert_eq!(rows.len(), 3);
    }
}
