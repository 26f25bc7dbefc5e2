//! The count badge: a shields.io-style SVG showing a label and a value, in
//! the `flat`, `flat-square` or `for-the-badge` style, in any colors.
//!
//! Owns the badge's look; its options are parsed in `badge_options`.
//!
//! Must not do I/O or depend on fonts at run time: text widths come from a
//! fixed table of Verdana 11px advance widths (shields.io's approach), and the
//! browser draws the text. The output must be safe to inline in an HTML page:
//! every piece of user text goes through [`escape_xml`], and the SVG defines no
//! `id`s, so any number of badges can share one page without clashing.

use std::fmt::Write as _;

use super::badge_options::{Look, Style};
use crate::markup::escape_xml;

/// The value side of an error badge: grey, so it reads as "no number".
const ERROR_COLOR: &str = "#9f9f9f";
/// Verdana first, like shields.io; DejaVu Sans has near-identical metrics on
/// machines without Verdana, and `textLength` absorbs what difference remains.
const FONT_FAMILY: &str = "Verdana,Geneva,DejaVu Sans,sans-serif";

/// Advance widths in px of printable ASCII (`' '..='~'`) in Verdana at 11px,
/// derived from the font's advance widths (units per em 2048).
const ASCII_WIDTHS: [f64; 95] = [
    3.87, 4.33, 5.05, 9.22, 7.0, 11.81, 8.47, 2.94, 4.88, 4.88, 7.0, 9.22, 3.9, 4.88, 3.9, 4.88, // ' '..'/'
    7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, // '0'..'9'
    4.88, 4.88, 9.22, 9.22, 9.22, 5.96, 11.0, // ':'..'@'
    7.52, 7.55, 7.7, 8.47, 6.95, 6.33, 8.52, 8.27, 4.63, 4.88, 7.65, 6.31, 9.36, // 'A'..'M'
    8.22, 8.66, 6.89, 8.66, 7.66, 7.5, 6.68, 8.05, 7.52, 10.89, 7.51, 6.68, 7.5, // 'N'..'Z'
    4.88, 4.88, 4.88, 9.22, 7.0, 7.0, // '['..'`'
    6.62, 6.82, 5.87, 6.82, 6.51, 3.88, 6.82, 6.94, 3.02, 3.73, 6.43, 3.02, 10.66, // 'a'..'m'
    6.94, 6.57, 6.82, 6.82, 4.69, 5.71, 4.33, 6.94, 6.33, 8.94, 6.33, 6.33, 5.65, // 'n'..'z'
    6.98, 4.88, 6.98, 9.22, // '{'..'~'
];
/// Width guessed for characters outside the table: a little wider than an
/// average lowercase letter, so Latin-1 and Cyrillic text is not clipped.
const DEFAULT_WIDTH: f64 = 7.0;
/// Width guessed for East Asian wide characters and emoji: about one em.
const WIDE_WIDTH: f64 = 11.0;

/// The sizes of one style, as in shields.io.
struct Geometry {
    height: f64,
    radius: f64,
    font_size: f64,
    /// Space left and right of each text.
    padding: f64,
    /// Where the text's baseline sits.
    baseline: f64,
    /// Added after each character (`for-the-badge` spaces its capitals out).
    letter_spacing: f64,
    /// The one-pixel dark shadow under the text of the flat style.
    shadow: bool,
    uppercase: bool,
}

fn geometry(style: Style) -> Geometry {
    let flat = Geometry {
        height: 20.0,
        radius: 3.0,
        font_size: 11.0,
        padding: 5.0,
        baseline: 14.0,
        letter_spacing: 0.0,
        shadow: true,
        uppercase: false,
    };
    match style {
        Style::Flat => flat,
        Style::FlatSquare => Geometry {
            radius: 0.0,
            shadow: false,
            ..flat
        },
        Style::ForTheBadge => Geometry {
            height: 28.0,
            radius: 0.0,
            font_size: 10.0,
            padding: 9.0,
            baseline: 17.5,
            letter_spacing: 1.25,
            shadow: false,
            uppercase: true,
        },
    }
}

/// What a private site's badge shows in place of its count.
pub const HIDDEN_COUNT: &str = "–";

/// Renders a badge reading `label | value` as a standalone SVG document.
///
/// `label` and `value` are escaped here; colors come validated from
/// [`Look`]. An empty label gives a badge with just the value.
pub fn render_badge_svg(label: &str, value: &str, look: &Look) -> String {
    let g = geometry(look.style);
    let (label, value) = if g.uppercase {
        (label.to_uppercase(), value.to_uppercase())
    } else {
        (label.to_owned(), value.to_owned())
    };
    let width_of = |text: &str| text_width(text) * g.font_size / 11.0 + g.letter_spacing * text.chars().count() as f64;
    let label_width = if label.is_empty() {
        0.0
    } else {
        (width_of(&label) + 2.0 * g.padding).round()
    };
    let value_width = (width_of(&value) + 2.0 * g.padding).round();
    let (width, height, r) = (label_width + value_width, g.height, g.radius);

    let label_xml = escape_xml(&label);
    let value_xml = escape_xml(&value);
    let accessible = if label.is_empty() {
        value_xml.clone()
    } else {
        format!("{label_xml}: {value_xml}")
    };
    let (label_color, value_color) = (&look.label_color, &look.color);

    let mut svg = String::with_capacity(1024);
    // `write!` to a String cannot fail, so the results are ignored throughout.
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{accessible}"><title>{accessible}</title>"#
    );
    // Two paths with rounded outer corners instead of shields.io's clipPath: a
    // clipPath needs an id, and ids clash when several badges are inlined.
    if label_width > 0.0 && r > 0.0 {
        let _ = write!(
            svg,
            r#"<path fill="{label_color}" d="{}"/><path fill="{value_color}" d="{}"/>"#,
            half_rect_path(0.0, label_width, &g, Side::Left),
            half_rect_path(label_width, value_width, &g, Side::Right)
        );
    } else {
        if label_width > 0.0 {
            let _ = write!(
                svg,
                r#"<rect fill="{label_color}" width="{label_width}" height="{height}"/>"#
            );
        }
        let _ = write!(
            svg,
            r#"<rect fill="{value_color}" x="{label_width}" width="{value_width}" height="{height}" rx="{r}"/>"#
        );
    }
    let _ = write!(
        svg,
        r##"<g fill="#fff" text-anchor="middle" font-family="{FONT_FAMILY}" font-size="{}" text-rendering="geometricPrecision">"##,
        g.font_size
    );
    if label_width > 0.0 {
        push_text(&mut svg, &label_xml, label_width / 2.0, width_of(&label), &g, false);
    }
    let bold = g.uppercase; // for-the-badge sets its value in bold
    push_text(
        &mut svg,
        &value_xml,
        label_width + value_width / 2.0,
        width_of(&value),
        &g,
        bold,
    );
    svg.push_str("</g></svg>");
    svg
}

/// An error badge: `label | text` with a grey value, in the default look.
pub fn render_error_badge(text: &str) -> String {
    let look = Look {
        color: ERROR_COLOR.to_owned(),
        ..Look::default()
    };
    render_badge_svg("views", text, &look)
}

/// Approximate rendered width of `text` in Verdana 11px.
fn text_width(text: &str) -> f64 {
    text.chars().map(char_width).sum()
}

fn char_width(c: char) -> f64 {
    match c {
        ' '..='~' => ASCII_WIDTHS[usize::from(c as u8 - b' ')],
        c if is_wide(c) => WIDE_WIDTH,
        _ => DEFAULT_WIDTH,
    }
}

/// Rough East Asian Wide / emoji test: good enough to size a badge, far
/// smaller than a full Unicode width table.
fn is_wide(c: char) -> bool {
    matches!(
        u32::from(c),
        0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1FAFF
            | 0x20000..=0x3FFFD
    )
}

enum Side {
    Left,
    Right,
}

/// A `width`-wide rectangle starting at `x`, rounded on the outer `side` only.
fn half_rect_path(x: f64, width: f64, g: &Geometry, side: Side) -> String {
    let (r, h) = (g.radius, g.height);
    let straight = width - r;
    match side {
        Side::Left => format!(
            "M{x0} 0h{straight}v{h}h-{straight}a{r} {r} 0 0 1-{r}-{r}V{r}a{r} {r} 0 0 1 {r}-{r}z",
            x0 = x + r
        ),
        Side::Right => format!(
            "M{x} 0h{straight}a{r} {r} 0 0 1 {r} {r}v{inner}a{r} {r} 0 0 1-{r} {r}h-{straight}z",
            inner = h - 2.0 * r
        ),
    }
}

/// Appends `text` (already escaped) centred on `center_x`, with the flat
/// style's one-pixel dark shadow beneath it. `textLength` makes the browser
/// fit the text to the width we reserved even when it falls back to another
/// font.
fn push_text(svg: &mut String, escaped: &str, center_x: f64, width: f64, g: &Geometry, bold: bool) {
    let y = g.baseline;
    let weight = if bold { r#" font-weight="bold""# } else { "" };
    if g.shadow {
        let _ = write!(
            svg,
            r##"<text aria-hidden="true" x="{center_x}" y="{}" fill="#010101" fill-opacity=".3" textLength="{width:.1}">{escaped}</text>"##,
            y + 1.0
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{center_x}" y="{y}" textLength="{width:.1}"{weight}>{escaped}</text>"#
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn badge(label: &str, count: u64) -> String {
        render_badge_svg(label, &crate::read::format::format_count(count), &Look::default())
    }

    /// The `width` attribute of the root element.
    fn badge_width(svg: &str) -> f64 {
        let start = svg.find("width=\"").expect("root has a width") + "width=\"".len();
        let end = start + svg[start..].find('"').expect("width attribute is closed");
        svg[start..end].parse().expect("width is a number")
    }

    #[test]
    fn badge_escapes_the_label_everywhere() {
        let svg = badge(r#""/><script>alert('x')</script>&"#, 5);
        assert!(!svg.contains("<script"));
        assert!(!svg.contains("'x'"));
        assert!(svg.contains("&quot;/&gt;&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;&amp;"));
    }

    #[test]
    fn badge_is_accessible() {
        let svg = badge("hits", 1_234);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-label=\"hits: 1,234\""));
        assert!(svg.contains("<title>hits: 1,234</title>"));
        assert!(svg.contains("height=\"20\""));
        assert!(svg.contains("viewBox=\"0 0 "));
        assert!(!svg.contains(" id="), "ids would clash when inlined twice");
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn badge_width_grows_with_the_label() {
        let short = badge_width(&badge("a", 1));
        let longer = badge_width(&badge("a longer label", 1));
        let wide = badge_width(&badge("WWWWWWWWWWWWWW", 1));
        assert!(short < longer, "{short} < {longer}");
        assert!(longer < wide, "{longer} < {wide}");
    }

    #[test]
    fn badge_width_grows_with_the_count() {
        assert!(badge_width(&badge("hits", 7)) < badge_width(&badge("hits", 7_777)));
    }

    #[test]
    fn label_width_matches_shields_io_for_a_known_word() {
        // shields.io renders "passing" 41px wide (textLength="410" at scale .1).
        assert!((text_width("passing") - 41.0).abs() < 1.0);
    }

    #[test]
    fn non_ascii_labels_still_get_room() {
        assert!(text_width("訪問") > text_width("ab"));
        assert!(text_width("café") > text_width("caf"));
    }

    #[test]
    fn empty_label_gives_a_value_only_badge() {
        let svg = badge("", 42);
        assert!(svg.contains("aria-label=\"42\""));
        assert!(!svg.contains(super::super::badge_options::DEFAULT_LABEL_COLOR));
    }

    #[test]
    fn each_style_has_its_shape_and_colors_are_used() {
        let look = |style| Look {
            style,
            color: "#97ca00".into(),
            label_color: "#abc".into(),
        };
        let flat = render_badge_svg("views", "12", &look(Style::Flat));
        assert!(flat.contains("height=\"20\"") && flat.contains("a3 3") && flat.contains("fill-opacity"));
        assert!(flat.contains("fill=\"#97ca00\"") && flat.contains("fill=\"#abc\""));
        let square = render_badge_svg("views", "12", &look(Style::FlatSquare));
        assert!(square.contains("height=\"20\"") && !square.contains("a3 3") && !square.contains("fill-opacity"));
        let big = render_badge_svg("views", "12", &look(Style::ForTheBadge));
        assert!(big.contains("height=\"28\"") && big.contains(">VIEWS<") && big.contains("font-weight=\"bold\""));
        assert!(badge_width(&big) > badge_width(&square), "capitals, spaced out");
        for svg in [flat, square, big] {
            assert!(!svg.contains(" id="), "{svg}");
        }
    }

    #[test]
    fn an_error_badge_is_an_svg_saying_so() {
        let svg = render_error_badge("not found");
        assert!(svg.starts_with("<svg") && svg.contains("views: not found"), "{svg}");
    }
}
