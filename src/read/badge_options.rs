//! The options of `/badge`: `label`, `count=visitors|proxied|all`,
//! `show=total|today|both`, `style=flat|flat-square|for-the-badge`,
//! `color`, `label_color`.
//!
//! Parsing never fails: the badge is an image embedded where nobody reads an
//! error, so a bad value means its default, an over-long label is shortened,
//! and an unknown parameter (`?v=2` to bust a cache) is ignored — the hit
//! counts and the badge renders either way. Pure.

use super::format::format_count;
use crate::count::path::percent_decode;
use crate::store::BadgeFigures;

/// The most characters of a label; a longer one is cut and ends in `…`.
pub const MAX_LABEL_CHARS: usize = 40;
const DEFAULT_LABEL: &str = "views";
/// shields.io's colors: grey label, blue value.
pub const DEFAULT_LABEL_COLOR: &str = "#555";
pub const DEFAULT_COLOR: &str = "#007ec6";

const COUNTED: &[(&str, Counted)] = &[
    ("visitors", Counted::Visitors),
    ("proxied", Counted::Proxied),
    ("all", Counted::All),
];
const SHOW: &[(&str, Show)] = &[("total", Show::Total), ("today", Show::Today), ("both", Show::Both)];
const STYLES: &[(&str, Style)] = &[
    ("flat", Style::Flat),
    ("flat-square", Style::FlatSquare),
    ("for-the-badge", Style::ForTheBadge),
];

/// Which counts the badge adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Counted {
    Visitors,
    Proxied,
    /// Visitors and proxied views: a README badge counts README views.
    #[default]
    All,
}

/// Which period the badge shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Show {
    #[default]
    Total,
    /// Today in the site's zone.
    Today,
    /// `today / total`.
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    #[default]
    Flat,
    FlatSquare,
    ForTheBadge,
}

/// How the badge looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Look {
    pub style: Style,
    /// The value's background, `#rgb` or `#rrggbb`.
    pub color: String,
    pub label_color: String,
}

impl Default for Look {
    fn default() -> Self {
        Self {
            style: Style::Flat,
            color: DEFAULT_COLOR.to_owned(),
            label_color: DEFAULT_LABEL_COLOR.to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadgeOptions {
    pub label: String,
    pub counted: Counted,
    pub show: Show,
    pub look: Look,
}

impl Default for BadgeOptions {
    fn default() -> Self {
        Self {
            label: DEFAULT_LABEL.to_owned(),
            counted: Counted::default(),
            show: Show::default(),
            look: Look::default(),
        }
    }
}

impl BadgeOptions {
    /// The options in `query` (the raw text after `?`); anything unknown or
    /// invalid is its default.
    pub fn parse(query: Option<&str>) -> Self {
        let mut options = Self::default();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let Some(value) = decode(value) else { continue };
            let look = &mut options.look;
            match decode(name).as_deref() {
                Some("label") => options.label = shortened(&value),
                Some("count") => options.counted = choice(&value, COUNTED).unwrap_or_default(),
                Some("show") => options.show = choice(&value, SHOW).unwrap_or_default(),
                Some("style") => look.style = choice(&value, STYLES).unwrap_or_default(),
                Some("color") => look.color = color(&value).unwrap_or_else(|| DEFAULT_COLOR.to_owned()),
                Some("label_color") => {
                    look.label_color = color(&value).unwrap_or_else(|| DEFAULT_LABEL_COLOR.to_owned());
                }
                _ => {}
            }
        }
        options
    }

    /// The value side of the badge for `figures`.
    pub fn value(&self, figures: &BadgeFigures) -> String {
        let (total, today) = match self.counted {
            Counted::Visitors => (figures.visitors_total, figures.visitors_today),
            Counted::Proxied => (figures.proxied_total, figures.proxied_today),
            Counted::All => (
                figures.visitors_total.saturating_add(figures.proxied_total),
                figures.visitors_today.saturating_add(figures.proxied_today),
            ),
        };
        match self.show {
            Show::Total => format_count(total),
            Show::Today => format_count(today),
            Show::Both => format!("{} / {}", format_count(today), format_count(total)),
        }
    }
}

/// A query value decoded (`+` is a space); `None` if it is not valid
/// percent-encoded UTF-8.
fn decode(raw: &str) -> Option<String> {
    let bytes = percent_decode(raw.replace('+', " ").as_bytes()).ok()?;
    String::from_utf8(bytes).ok()
}

fn shortened(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_owned();
    }
    let mut short: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
    short.push('…');
    short
}

fn choice<T: Copy>(value: &str, choices: &[(&str, T)]) -> Option<T> {
    choices.iter().find(|(name, _)| *name == value).map(|&(_, v)| v)
}

/// A color as shields.io names it, or 3 or 6 hex digits with or without
/// `#`, as `#` and lowercase hex digits.
fn color(value: &str) -> Option<String> {
    let named = match value.to_ascii_lowercase().as_str() {
        "brightgreen" | "success" => "#4c1",
        "green" => "#97ca00",
        "yellowgreen" => "#a4a61d",
        "yellow" => "#dfb317",
        "orange" | "important" => "#fe7d37",
        "red" | "critical" => "#e05d44",
        "blue" | "informational" => "#007ec6",
        "lightgrey" | "lightgray" | "inactive" => "#9f9f9f",
        "grey" | "gray" => "#555",
        _ => {
            let digits = value.strip_prefix('#').unwrap_or(value);
            let hex = matches!(digits.len(), 3 | 6) && digits.bytes().all(|b| b.is_ascii_hexdigit());
            return hex.then(|| format!("#{}", digits.to_ascii_lowercase()));
        }
    };
    Some(named.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> BadgeOptions {
        BadgeOptions::parse(Some(query))
    }

    const FIGURES: BadgeFigures = BadgeFigures {
        visitors_total: 1_200,
        visitors_today: 7,
        proxied_total: 34,
        proxied_today: 2,
    };

    #[test]
    fn no_options_is_views_of_visitors_and_proxied_in_all_flat_blue() {
        let options = BadgeOptions::parse(None);
        assert_eq!(options, BadgeOptions::default());
        assert_eq!(options.label, "views");
        assert_eq!(options.value(&FIGURES), "1,234");
    }

    #[test]
    fn each_option_is_read() {
        let options =
            parse("label=README+views&count=visitors&show=both&style=for-the-badge&color=green&label_color=%23ABC");
        assert_eq!(options.label, "README views");
        assert_eq!(options.value(&FIGURES), "7 / 1,200");
        assert_eq!(options.look.style, Style::ForTheBadge);
        assert_eq!(
            (options.look.color.as_str(), options.look.label_color.as_str()),
            ("#97ca00", "#abc")
        );
        assert_eq!(parse("count=proxied&show=today").value(&FIGURES), "2");
        assert_eq!(parse("count=proxied").value(&FIGURES), "34");
        assert_eq!(parse("show=today").value(&FIGURES), "9");
        assert_eq!(parse("style=flat-square").look.style, Style::FlatSquare);
        assert_eq!(parse("color=ff8800").look.color, "#ff8800");
        assert_eq!(parse("color=RED").look.color, "#e05d44");
    }

    #[test]
    fn bad_values_and_unknown_parameters_mean_the_defaults() {
        let defaults = BadgeOptions::default();
        for query in [
            "v=2",
            "count=everything",
            "show=yesterday",
            "style=plastic",
            "color=%23ggg",
            "color=javascript:alert(1)",
            "label_color=12345",
            "label=%FF",
            "label=a%zz",
            "&&=&",
        ] {
            assert_eq!(parse(query), defaults, "{query}");
        }
    }

    #[test]
    fn an_over_long_label_is_shortened_not_refused() {
        let long = "x".repeat(200);
        let options = parse(&format!("label={long}"));
        assert_eq!(options.label.chars().count(), MAX_LABEL_CHARS);
        assert!(options.label.ends_with('…'));
        assert_eq!(parse(&format!("label={}", "é".repeat(40))).label, "é".repeat(40));
        assert_eq!(parse("label=").label, "", "an empty label gives a value-only badge");
    }
}
