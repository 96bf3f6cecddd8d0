//! What `kefuctl` prints: aligned text tables and hand-written JSON.
//!
//! Strings from the server are peer input: tables show control characters
//! escaped (no terminal escape sequences get through), JSON escapes them per
//! RFC 8259. JSON is written by hand because a few flat objects do not
//! justify a serialisation dependency.

use std::fmt::Write as _;
use std::io::{self, Write};

/// A text table: a header row, then rows, columns padded to the widest cell.
#[derive(Debug)]
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    /// Columns aligned to the right (numbers).
    right: Vec<bool>,
}

impl Table {
    /// A table with these column headers; a header starting with `>` is right-aligned.
    pub fn new(header: &[&'static str]) -> Table {
        Table {
            right: header.iter().map(|h| h.starts_with('>')).collect(),
            header: header.iter().map(|h| h.trim_start_matches('>')).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; cells are sanitised for the terminal.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.iter().map(|c| printable(c)).collect());
    }

    /// Writes the table, one line per row, two spaces between columns.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let cols = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let header: Vec<String> = self.header.iter().map(|h| h.to_string()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(cols) {
                let pad = " ".repeat(widths[i].saturating_sub(width(cell)));
                if i > 0 {
                    line.push_str("  ");
                }
                if self.right[i] {
                    line.push_str(&pad);
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if i + 1 < cols {
                        line.push_str(&pad);
                    }
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Writes `key: value` lines, values aligned, sanitised for the terminal.
pub fn write_fields(fields: &[(&str, String)], out: &mut dyn Write) -> io::Result<()> {
    let w = fields.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    for (k, v) in fields {
        let pad = " ".repeat(w - width(k));
        writeln!(out, "{k}:{pad} {}", printable(v))?;
    }
    Ok(())
}

/// A string made safe to print on a terminal: control characters escaped.
pub fn printable(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Columns a string takes on a terminal: East Asian wide characters take two.
fn width(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD)
}

/// A JSON string literal (quoted, escaped).
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // U+2028/2029 are valid JSON but break JavaScript consumers.
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON object under construction; members keep their insertion order.
#[derive(Debug, Default)]
pub struct Obj {
    body: String,
}

impl Obj {
    /// An empty object.
    pub fn new() -> Obj {
        Obj::default()
    }

    /// Adds a member whose value is already JSON text.
    pub fn raw(mut self, key: &str, json: &str) -> Obj {
        if !self.body.is_empty() {
            self.body.push(',');
        }
        self.body.push_str(&json_str(key));
        self.body.push(':');
        self.body.push_str(json);
        self
    }

    /// Adds a string member.
    pub fn str(self, key: &str, value: &str) -> Obj {
        self.raw(key, &json_str(value))
    }

    /// Adds a number member.
    pub fn num(self, key: &str, value: impl Into<i128>) -> Obj {
        self.raw(key, &value.into().to_string())
    }

    /// Adds a boolean member.
    pub fn bool(self, key: &str, value: bool) -> Obj {
        self.raw(key, if value { "true" } else { "false" })
    }

    /// The JSON text.
    pub fn finish(self) -> String {
        format!("{{{}}}", self.body)
    }
}

/// A JSON array of already-encoded values.
pub fn json_array(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    format!("[{}]", items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        let cases = [
            ("plain", r#""plain""#),
            ("a\"b\\c", r#""a\"b\\c""#),
            ("line\nnext\ttab\r", r#""line\nnext\ttab\r""#),
            ("\u{1}\u{1f}\u{7f}", r#""\u0001\u001f\u007f""#),
            ("客服\u{2028}", r#""客服\u2028""#),
        ];
        for (input, want) in cases {
            assert_eq!(json_str(input), want, "{input:?}");
        }
    }

    #[test]
    fn objects_and_arrays() {
        let o = Obj::new()
            .num("id", 7u64)
            .str("name", "x\"y")
            .bool("ok", true)
            .raw("list", &json_array(["1".to_string(), "2".to_string()]))
            .finish();
        assert_eq!(o, r#"{"id":7,"name":"x\"y","ok":true,"list":[1,2]}"#);
        assert_eq!(Obj::new().finish(), "{}");
        assert_eq!(json_array(Vec::new()), "[]");
    }

    #[test]
    fn tables_align_and_sanitise() {
        let mut t = Table::new(&[">id", "name", "plan"]);
        t.row(vec!["7".into(), "客服中心".into(), "gold".into()]);
        t.row(vec![
            "1234".into(),
            "evil\u{1b}[31m".into(),
            "silver".into(),
        ]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "  id  name            plan\n\
             \x20  7  客服中心        gold\n\
             1234  evil\\u{1b}[31m  silver\n"
        );
    }
}
