//! The little CSV Footfall reads and writes (RFC 4180: comma-separated,
//! fields quoted with `"` when they hold a comma, a quote or a line break,
//! quotes doubled inside; a quoted field may span lines). Pure.

use std::io::BufRead;

/// Appends `value` to `line` as one CSV field.
pub fn push_field(line: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        line.push('"');
        line.push_str(&value.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(value);
    }
}

/// Reads records from `input`, counting lines so errors can name them.
pub struct Reader<R> {
    input: R,
    /// Lines read so far.
    line: u64,
}

/// A record: its fields and the line it starts on.
pub struct Row {
    pub line: u64,
    pub fields: Vec<String>,
}

impl<R: BufRead> Reader<R> {
    pub fn new(input: R) -> Self {
        Self { input, line: 0 }
    }

    /// The next record, skipping blank lines; `None` at the end.
    ///
    /// # Errors
    /// A message naming the line: the input cannot be read, is not UTF-8,
    /// or ends inside a quoted field.
    pub fn next_row(&mut self) -> Result<Option<Row>, (u64, String)> {
        loop {
            let Some(text) = self.read_line()? else { return Ok(None) };
            if text.trim().is_empty() {
                continue;
            }
            let start = self.line;
            let mut fields = Vec::new();
            let mut field = String::new();
            let mut chars: Vec<char> = text.chars().collect();
            let mut i = 0;
            let mut quoted = false;
            loop {
                let Some(&c) = chars.get(i) else {
                    if quoted {
                        // A quoted field goes on on the next line.
                        let more = self
                            .read_line()?
                            .ok_or((start, "the file ends inside a quoted field".to_owned()))?;
                        field.push('\n');
                        chars = more.chars().collect();
                        i = 0;
                        continue;
                    }
                    fields.push(std::mem::take(&mut field));
                    return Ok(Some(Row { line: start, fields }));
                };
                i += 1;
                match (c, quoted) {
                    ('"', true) if chars.get(i) == Some(&'"') => {
                        field.push('"');
                        i += 1;
                    }
                    ('"', true) => quoted = false,
                    ('"', false) if field.is_empty() => quoted = true,
                    (',', false) => fields.push(std::mem::take(&mut field)),
                    (c, _) => field.push(c),
                }
            }
        }
    }

    /// One line without its line ending.
    fn read_line(&mut self) -> Result<Option<String>, (u64, String)> {
        let mut bytes = Vec::new();
        let read = self
            .input
            .read_until(b'\n', &mut bytes)
            .map_err(|e| (self.line + 1, format!("cannot be read: {e}")))?;
        if read == 0 {
            return Ok(None);
        }
        self.line += 1;
        let mut text = String::from_utf8(bytes).map_err(|_| (self.line, "is not UTF-8 text".to_owned()))?;
        while text.ends_with(['\n', '\r']) {
            text.pop();
        }
        Ok(Some(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<(u64, Vec<String>)> {
        let mut reader = Reader::new(text.as_bytes());
        let mut out = Vec::new();
        while let Some(row) = reader.next_row().unwrap() {
            out.push((row.line, row.fields));
        }
        out
    }

    #[test]
    fn fields_are_quoted_only_when_needed_and_read_back_the_same() {
        let mut line = String::new();
        for (i, value) in ["/a", "/b,c", "say \"hi\"", ""].iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            push_field(&mut line, value);
        }
        assert_eq!(line, r#"/a,"/b,c","say ""hi""","#);
        assert_eq!(
            rows(&format!("{line}\r\n")),
            vec![(1, vec!["/a".into(), "/b,c".into(), "say \"hi\"".into(), String::new()])]
        );
    }

    #[test]
    fn quoted_fields_span_lines_and_blank_lines_are_skipped() {
        let text = "a,\"two\nlines\",c\n\nd,e\n";
        assert_eq!(
            rows(text),
            vec![
                (1, vec!["a".into(), "two\nlines".into(), "c".into()]),
                (4, vec!["d".into(), "e".into()]),
            ]
        );
        let mut open = Reader::new("a,\"never closed\n".as_bytes());
        assert_eq!(
            open.next_row().err(),
            Some((1, "the file ends inside a quoted field".into()))
        );
        let mut binary = Reader::new(&b"ok\n\xff\n"[..]);
        assert!(binary.next_row().unwrap().is_some());
        assert_eq!(binary.next_row().err(), Some((2, "is not UTF-8 text".into())));
    }
}
