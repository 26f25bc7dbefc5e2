//! Page paths: the rules that turn the tail of a request URL into a
//! [`PagePath`], and the one way a path is written back into a URL.
//!
//! A `PagePath` is the only form in which a path gets past the HTTP boundary,
//! so everything deeper (probing, storage, rendering) can trust it. This
//! module is pure: no I/O, no allocation beyond the path itself.

use std::fmt;

/// The longest stored path, in bytes of its decoded UTF-8 form.
pub const MAX_PATH_BYTES: usize = 1024;

/// A normalized, validated page path: starts with exactly one `/`, has no
/// trailing slash (except the root `/`), no empty, `.` or `..` segments, and
/// only characters that are allowed in XML text (so it can be embedded in
/// HTML and SVG after escaping).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PagePath(Box<str>);

/// Why a request path is not a valid page path. Each variant becomes a 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path is longer than {MAX_PATH_BYTES} bytes")]
    TooLong,
    #[error("the path has a malformed percent-encoding")]
    BadPercentEncoding,
    #[error("the path is not valid UTF-8 after percent-decoding")]
    InvalidUtf8,
    #[error("the path contains a control or otherwise disallowed character")]
    DisallowedCharacter,
    #[error("the path contains a backslash")]
    Backslash,
    #[error("the path contains an empty segment (//)")]
    EmptySegment,
    #[error("the path contains a . or .. segment")]
    DotSegment,
}

impl PagePath {
    /// Parses the still percent-encoded tail of a request path, e.g. `""`,
    /// `"/"` or `"/blog/post-1/"` for `/call`, `/call/` and `/call/blog/post-1/`.
    /// The query string must already be cut off.
    ///
    /// # Errors
    /// Any [`PathError`]; nothing about the input is trusted.
    pub fn parse(raw: &str) -> Result<Self, PathError> {
        // Each decoded byte takes at most three encoded ones; refusing early
        // keeps a hostile multi-kilobyte URL from costing a decode.
        if raw.len() > 3 * MAX_PATH_BYTES + 3 {
            return Err(PathError::TooLong);
        }
        let decoded = percent_decode(raw.as_bytes())?;
        let decoded = String::from_utf8(decoded).map_err(|_| PathError::InvalidUtf8)?;
        if let Some(c) = decoded.chars().find(|&c| !is_allowed_char(c)) {
            return Err(if c == '\\' {
                PathError::Backslash
            } else {
                PathError::DisallowedCharacter
            });
        }
        let trimmed = decoded.trim_end_matches('/');
        let mut normalized = String::with_capacity(trimmed.len() + 1);
        let segments = trimmed.strip_prefix('/').unwrap_or(trimmed);
        for segment in segments.split('/').filter(|_| !trimmed.is_empty()) {
            match segment {
                "" => return Err(PathError::EmptySegment),
                "." | ".." => return Err(PathError::DotSegment),
                _ => {
                    normalized.push('/');
                    normalized.push_str(segment);
                }
            }
        }
        if normalized.is_empty() {
            normalized.push('/');
        }
        if normalized.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong);
        }
        Ok(Self(normalized.into_boxed_str()))
    }

    /// Wraps a path read back from our own store, where it was written only
    /// after passing [`PagePath::parse`]. Re-validates anyway: a store edited
    /// by hand must not smuggle markup or traversal into pages and probes.
    ///
    /// # Errors
    /// As [`PagePath::parse`].
    pub fn from_stored(stored: &str) -> Result<Self, PathError> {
        let parsed = Self::parse(&percent_encode_path(stored))?;
        if parsed.as_str() == stored {
            Ok(parsed)
        } else {
            Err(PathError::DisallowedCharacter)
        }
    }

    /// Parses a path that is already percent-decoded (as another counter
    /// stored it): the same rules as [`PagePath::parse`], with `%` taken as
    /// a character, not as the start of an escape.
    ///
    /// # Errors
    /// As [`PagePath::parse`].
    pub fn from_decoded(decoded: &str) -> Result<Self, PathError> {
        Self::parse(&percent_encode_path(decoded))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path percent-encoded for use in a URL: every byte outside RFC
    /// 3986's unreserved set is encoded, segment by segment, so the result
    /// can never carry a query, fragment, authority or scheme.
    pub fn to_url_path(&self) -> String {
        percent_encode_path(&self.0)
    }
}

impl fmt::Display for PagePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// XML 1.0 `Char` minus controls and the backslash: what may appear in a path.
fn is_allowed_char(c: char) -> bool {
    !c.is_control()
        && c != '\\'
        && matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

pub(crate) fn percent_decode(input: &[u8]) -> Result<Vec<u8>, PathError> {
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.iter();
    while let Some(&b) = bytes.next() {
        if b == b'%' {
            let hi = bytes.next().and_then(|&h| hex_value(h));
            let lo = bytes.next().and_then(|&l| hex_value(l));
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                _ => return Err(PathError::BadPercentEncoding),
            }
        } else {
            out.push(b);
        }
    }
    Ok(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn percent_encode_path(path: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        PagePath::parse(raw)
            .unwrap_or_else(|e| panic!("{raw:?} should parse: {e}"))
            .as_str()
            .to_owned()
    }

    fn err(raw: &str) -> PathError {
        match PagePath::parse(raw) {
            Ok(p) => panic!("{raw:?} should be rejected, got {p}"),
            Err(e) => e,
        }
    }

    #[test]
    fn root_spellings_are_the_root() {
        assert_eq!(ok(""), "/");
        assert_eq!(ok("/"), "/");
        assert_eq!(ok("///"), "/");
    }

    #[test]
    fn trailing_slashes_are_stripped() {
        assert_eq!(ok("/blog/"), "/blog");
        assert_eq!(ok("/blog/post-1//"), "/blog/post-1");
    }

    #[test]
    fn percent_encoding_spellings_are_one_path() {
        assert_eq!(ok("/caf%C3%A9"), "/café");
        assert_eq!(ok("/caf%c3%a9"), "/café");
        assert_eq!(ok("/café"), "/café");
        assert_eq!(ok("/%7Euser"), ok("/~user"));
        assert_eq!(ok("/a%20b"), "/a b");
        assert_eq!(ok("/a%2Fb"), ok("/a/b"));
    }

    #[test]
    fn bad_percent_encoding_is_rejected() {
        assert_eq!(err("/a%zz"), PathError::BadPercentEncoding);
        assert_eq!(err("/a%4"), PathError::BadPercentEncoding);
        assert_eq!(err("/a%"), PathError::BadPercentEncoding);
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        assert_eq!(err("/%FF"), PathError::InvalidUtf8);
        assert_eq!(err("/%C3"), PathError::InvalidUtf8);
    }

    #[test]
    fn control_and_non_xml_characters_are_rejected() {
        for raw in [
            "/a%00b",
            "/a%0Ab",
            "/a%09",
            "/a%7F",
            "/a%C2%85",
            "/%EF%BF%BE",
            "/%EF%BF%BF",
        ] {
            assert_eq!(err(raw), PathError::DisallowedCharacter, "{raw}");
        }
    }

    #[test]
    fn backslashes_are_rejected() {
        assert_eq!(err("/a%5Cb"), PathError::Backslash);
        assert_eq!(err("/a\\b"), PathError::Backslash);
    }

    #[test]
    fn dot_segments_are_rejected_also_when_encoded() {
        for raw in ["/.", "/..", "/a/../b", "/a/./b", "/%2E%2E/x", "/%2e", "/a/%2e%2E"] {
            assert_eq!(err(raw), PathError::DotSegment, "{raw}");
        }
        assert_eq!(ok("/.well-known/x"), "/.well-known/x");
        assert_eq!(ok("/a..b"), "/a..b");
    }

    #[test]
    fn empty_segments_are_rejected() {
        assert_eq!(err("//a"), PathError::EmptySegment);
        assert_eq!(err("/a//b"), PathError::EmptySegment);
        assert_eq!(err("/a/%2F/b"), PathError::EmptySegment);
    }

    #[test]
    fn length_limit_is_on_the_decoded_path() {
        let max = format!("/{}", "a".repeat(MAX_PATH_BYTES - 1));
        assert_eq!(ok(&max), max);
        assert_eq!(err(&format!("{max}b")), PathError::TooLong);
        assert_eq!(err(&"%41".repeat(MAX_PATH_BYTES + 1)), PathError::TooLong);
    }

    #[test]
    fn url_form_encodes_everything_that_could_change_the_url() {
        let path = PagePath::parse("/a%3Fb%23c%40d%3Ae/%C3%A9%20x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(path.as_str(), "/a?b#c@d:e/é x");
        assert_eq!(path.to_url_path(), "/a%3Fb%23c%40d%3Ae/%C3%A9%20x");
        assert_eq!(PagePath::parse(&path.to_url_path()), Ok(path));
    }

    #[test]
    fn stored_paths_round_trip_and_junk_is_refused() {
        let stored = PagePath::from_stored("/blog/é?x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stored.as_str(), "/blog/é?x");
        assert!(PagePath::from_stored("blog").is_err());
        assert!(PagePath::from_stored("/a/").is_err());
        assert!(PagePath::from_stored("/a/../b").is_err());
        assert!(PagePath::from_stored("/a\u{1}").is_err());
    }

    #[test]
    fn decoded_paths_take_percent_signs_as_characters() {
        let decoded = |raw: &str| PagePath::from_decoded(raw).map(|p| p.as_str().to_owned());
        assert_eq!(decoded("/100% sure").as_deref(), Ok("/100% sure"));
        assert_eq!(decoded("/blog/post/").as_deref(), Ok("/blog/post"));
        assert_eq!(decoded("/x/../y"), Err(PathError::DotSegment));
    }
}
