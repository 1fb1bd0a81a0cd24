//! CSV for spreadsheets: every CSV the API serves is written here, so every cell — whoever typed it,
//! a resident or a committee naming a category or a building — goes through [`cell`]: a cell that
//! starts like a formula is neutralised, and quoting follows RFC 4180. Files start with a BOM so that
//! Excel opens them as UTF-8, and lines end with CRLF.

/// One cell, safe for spreadsheets: a cell that starts like a formula (`=`, `+`, `-`, `@`, a tab or
/// a carriage return) is prefixed with `'` so that Excel shows it instead of evaluating it; then it
/// is quoted when it holds a comma, a quote or a line break, quotes doubled.
pub fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

/// A CSV document being written.
pub struct Document {
    out: String,
}

impl Document {
    /// A document with its BOM and header line.
    pub fn new(headers: &[&str]) -> Document {
        let mut document = Document { out: String::from("\u{FEFF}") };
        document.line(headers.iter().copied());
        document
    }

    /// One line; every cell goes through [`cell`].
    pub fn line<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) {
        let cells: Vec<String> = cells.into_iter().map(cell).collect();
        self.out.push_str(&cells.join(","));
        self.out.push_str("\r\n");
    }

    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_follows_rfc_4180_and_formulae_are_neutralised() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        let mut document = Document::new(&["编号", "名称"]);
        document.line(["1", "+1 楼"]);
        assert_eq!(document.finish(), "\u{FEFF}编号,名称\r\n1,'+1 楼\r\n");
    }
}
