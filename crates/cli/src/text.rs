//! Text helpers for terminal output. Strings from a camera or a file are untrusted: they are
//! printed with control characters escaped so they cannot move the cursor or rewrite the screen.

pub use sonyctl_open::sanitize;

/// Writes `message` and a newline to standard error, ignoring a failure: what `stderr_line!`
/// expands to. A message nobody can read is not worth a panic or an error of its own.
pub fn write_stderr_line(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

/// One line to standard output, flushed at once (a script may wait for it, as for the port
/// `simulate` prints); dropped if standard output is closed.
pub fn write_stdout_line(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{message}").and_then(|()| out.flush());
}

/// A simple left-aligned table: every column as wide as its widest cell.
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with a header row.
    pub fn new(header: &[&str]) -> Table {
        Table {
            rows: vec![header.iter().map(|h| h.to_string()).collect()],
        }
    }

    /// Adds a row; cells are sanitised.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.iter().map(|c| sanitize(c)).collect());
    }

    /// Renders with two spaces between columns and no trailing spaces.
    pub fn render(&self) -> String {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..cols)
            .map(|i| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                line.push_str(cell);
                let pad = widths.get(i).copied().unwrap_or(0) - cell.chars().count();
                line.extend(std::iter::repeat_n(' ', pad + 2));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// The current time as RFC 3339 UTC with milliseconds, e.g. `2026-11-24T05:04:36.123Z`.
pub fn rfc3339_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs(), now.subsec_millis())
}

/// Seconds since 1970 (UTC) as RFC 3339 (one home: the PTP crate's calendar).
pub use sonyctl_ptp::date::rfc3339;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(sanitize("DSC\u{1b}[2J01.JPG"), "DSC\\u{1b}[2J01.JPG");
        assert_eq!(sanitize("a\nb"), "a\\nb");
        assert_eq!(sanitize("ILCE-7SM3 ✓"), "ILCE-7SM3 ✓");
    }

    #[test]
    fn table_aligns() {
        let mut t = Table::new(&["A", "BB"]);
        t.row(vec!["xxx".into(), "y".into()]);
        assert_eq!(t.render(), "A    BB\nxxx  y\n");
    }
}
