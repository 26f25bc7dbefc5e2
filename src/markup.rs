//! Escaping of user-derived text (paths are user input) for HTML and SVG.
//! Every page, chart and badge writes such text through [`escape_xml`].

/// Escapes text for XML element content and attribute values (`& < > " '`).
///
/// Control characters other than tab, line feed and carriage return are not
/// allowed anywhere in XML 1.0, so they become U+FFFD instead of making the
/// document ill-formed.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_xml_replaces_all_five_special_characters() {
        assert_eq!(
            escape_xml(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;"
        );
        assert_eq!(escape_xml("plain /path"), "plain /path");
    }

    #[test]
    fn escape_xml_replaces_characters_xml_forbids() {
        assert_eq!(escape_xml("a\u{0}b\u{1b}c\td"), "a\u{FFFD}b\u{FFFD}c\td");
    }

    #[test]
    fn markup_characters_and_controls_are_neutralized() {
        assert_eq!(
            escape_xml("/\"><script>alert('x')</script>&"),
            "/&quot;&gt;&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;&amp;"
        );
        assert_eq!(escape_xml("a\u{1}b"), "a\u{FFFD}b");
        assert_eq!(escape_xml("café"), "café");
    }
}
