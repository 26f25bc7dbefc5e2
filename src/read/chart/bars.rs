//! What each bar says about itself, and the chart's own light and dark
//! palette.
//!
//! plotters draws every shape but cannot attach an SVG `<title>` to one, so
//! bars are drawn in marker colours that nothing else uses, and
//! [`annotate`] then rewrites each marked `<rect>` in drawing order: the
//! real colour, a class (`bar`, `bar partial`, `bar clipped`) and a
//! `<title>` with the bar's exact date range and count, which browsers show
//! on hover and screen readers read. Pure string work; must not choose
//! positions (that is `layout`).

use jiff::civil::Date;
use plotters::style::RGBColor;

use crate::markup::escape_xml;
use crate::read::format::group_thousands;

/// The bars' colour as the reader sees it.
pub(super) const BAR: RGBColor = RGBColor(0x5b, 0x8f, 0xf9);

/// How a bar is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BarKind {
    /// A finished period.
    Whole,
    /// The period that contains today: still filling up, so it is drawn
    /// hollow and labelled "so far" rather than read as a drop.
    Partial,
    /// Taller than the capped axis: drawn to the top, value written beside.
    Clipped,
}

impl BarKind {
    /// The marker colour plotters draws this kind with; nothing else in
    /// the chart uses it.
    pub(super) fn marker(self) -> RGBColor {
        match self {
            BarKind::Whole => RGBColor(0x5b, 0x8f, 0xf8),
            BarKind::Partial => RGBColor(0x5b, 0x8f, 0xf7),
            BarKind::Clipped => RGBColor(0x5b, 0x8f, 0xf6),
        }
    }

    /// What replaces `fill="<marker>" stroke="none"/>`.
    fn attributes(self) -> &'static str {
        match self {
            BarKind::Whole => r##"fill="#5B8FF9" stroke="none" class="bar">"##,
            BarKind::Partial => {
                r##"fill="#5B8FF9" fill-opacity="0.35" stroke="#5B8FF9" stroke-width="1.5" stroke-dasharray="4 2" class="bar partial">"##
            }
            BarKind::Clipped => r##"fill="#5B8FF9" stroke="none" class="bar clipped">"##,
        }
    }
}

fn hex(color: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", color.0, color.1, color.2)
}

/// One drawn bar's tooltip: `2024-03-04 – 2024-03-10: 52 calls`, with
/// "so far" for the bar of today.
pub(super) fn title(first: Date, last: Date, count: u64, kind: BarKind) -> String {
    let days = if first == last {
        first.to_string()
    } else {
        format!("{first} – {last}")
    };
    let calls = if count == 1 { "call" } else { "calls" };
    let so_far = if kind == BarKind::Partial { " so far" } else { "" };
    format!("{days}: {} {calls}{so_far}", group_thousands(count))
}

/// Rewrites the marked bars of plotters' `svg`, in drawing order, with
/// their kind's look and the matching `titles`. A marked bar without a
/// title (a bug) keeps the look and gets no title.
pub(super) fn annotate(svg: &str, titles: &[(BarKind, String)]) -> String {
    let mut out = String::with_capacity(svg.len() + titles.iter().map(|(_, t)| t.len() + 48).sum::<usize>());
    let markers: Vec<(BarKind, String)> = [BarKind::Whole, BarKind::Partial, BarKind::Clipped]
        .into_iter()
        .map(|kind| (kind, format!(r#"fill="{}" stroke="none"/>"#, hex(kind.marker()))))
        .collect();
    let mut titles = titles.iter();
    let mut rest = svg;
    loop {
        let next = markers
            .iter()
            .filter_map(|(kind, marker)| rest.find(marker.as_str()).map(|at| (at, *kind, marker.len())))
            .min_by_key(|(at, _, _)| *at);
        let Some((at, kind, len)) = next else { break };
        out.push_str(&rest[..at]);
        out.push_str(kind.attributes());
        if let Some((_, title)) = titles.next() {
            out.push_str("<title>");
            out.push_str(&escape_xml(title));
            out.push_str("</title>");
        }
        out.push_str("</rect>");
        rest = &rest[at + len..];
    }
    out.push_str(rest);
    out
}

/// The chart's palette for dark mode, as CSS inside the SVG: plotters
/// writes colours as presentation attributes, which CSS overrides, so each
/// light colour maps to its dark one. Scoped to the chart's class, so an
/// inline chart does not restyle the page around it; an `<img>` chart
/// follows the reader's setting as well.
pub(super) const STYLE: &str = "<style>@media (prefers-color-scheme:dark){\
.footfall-chart [fill=\"#FFFFFF\"]{fill:#1F2937}\
.footfall-chart [fill=\"#1F2937\"]{fill:#F3F4F6}\
.footfall-chart [fill=\"#6B7280\"]{fill:#D1D5DB}\
.footfall-chart [stroke=\"#E5E7EB\"]{stroke:#374151}\
.footfall-chart [stroke=\"#9CA3AF\"]{stroke:#6B7280}\
.footfall-chart [fill=\"#5B8FF9\"]{fill:#7AA5FF}\
.footfall-chart [stroke=\"#5B8FF9\"]{stroke:#7AA5FF}}</style>";

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn titles_give_the_exact_range_and_count() {
        let day = date(2024, 3, 5);
        assert_eq!(title(day, day, 1, BarKind::Whole), "2024-03-05: 1 call");
        assert_eq!(
            title(date(2024, 3, 4), date(2024, 3, 10), 12_345, BarKind::Clipped),
            "2024-03-04 – 2024-03-10: 12,345 calls"
        );
        assert_eq!(title(day, day, 7, BarKind::Partial), "2024-03-05: 7 calls so far");
    }

    #[test]
    fn marked_bars_get_their_look_and_title_in_order() {
        let svg = format!(
            r##"<rect x="1" fill="{}" stroke="none"/><rect x="0" fill="#FFFFFF" stroke="none"/><rect x="2" fill="{}" stroke="none"/>"##,
            hex(BarKind::Whole.marker()),
            hex(BarKind::Partial.marker())
        );
        let titles = [(BarKind::Whole, "a <b>".to_owned()), (BarKind::Partial, "c".to_owned())];
        let out = annotate(&svg, &titles);
        assert_eq!(
            out,
            r##"<rect x="1" fill="#5B8FF9" stroke="none" class="bar"><title>a &lt;b&gt;</title></rect><rect x="0" fill="#FFFFFF" stroke="none"/><rect x="2" fill="#5B8FF9" fill-opacity="0.35" stroke="#5B8FF9" stroke-width="1.5" stroke-dasharray="4 2" class="bar partial"><title>c</title></rect>"##
        );
    }
}
