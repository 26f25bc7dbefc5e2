//! Ranked lists of (label, count) as HTML fragments: the dimension panels
//! of the chart page and the dashboard, and the dashboard's top pages. Pure.
//! A panel is a `<section class="card panel">` with an `<ol class="ranked">`
//! whose rows carry their bar as `--share` (the shared stylesheet draws it);
//! callers put panels in a `<div class="panels">` row. Every label and link
//! is escaped; counts are exact, with thousands grouped.

use std::fmt::Write as _;

use crate::markup::escape_xml;
use crate::read::format::group_thousands;

/// One panel: a heading and its rows, largest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panel {
    pub title: String,
    pub rows: Vec<(String, u64)>,
}

/// Each of `panels`, one after another.
pub fn render_panels(panels: &[Panel]) -> String {
    let mut html = String::new();
    for panel in panels {
        let items: Vec<(String, Option<String>, u64)> =
            panel.rows.iter().map(|(label, n)| (label.clone(), None, *n)).collect();
        html.push_str(&ranked_panel(&panel.title, &items));
    }
    html
}

/// A panel of ranked (label, link, count) items, with a bar for each count
/// relative to the largest; a panel without items says so.
pub fn ranked_panel(title: &str, items: &[(String, Option<String>, u64)]) -> String {
    let mut out = format!("<section class=\"card panel\"><h2>{}</h2>", escape_xml(title));
    if items.is_empty() {
        out.push_str("<p>Nothing in this period.</p></section>");
        return out;
    }
    let most = items.iter().map(|(_, _, n)| *n).max().unwrap_or(1).max(1);
    out.push_str("<ol class=\"ranked\">");
    for (label, href, count) in items {
        let label = escape_xml(label);
        let label = match href {
            Some(href) => format!("<a href=\"{}\">{label}</a>", escape_xml(href)),
            None => label,
        };
        let width = (*count as f64 / most as f64 * 100.0).round();
        let _ = write!(
            out,
            "<li style=\"--share:{width}%\">{label}<span>{}</span></li>",
            group_thousands(*count)
        );
    }
    out.push_str("</ol></section>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_are_shares_of_the_largest() {
        let html = render_panels(&[
            Panel {
                title: "Referrers <top>".into(),
                rows: vec![("a.example".into(), 10_000), ("<script>\"x\"".into(), 5_000)],
            },
            Panel {
                title: "Countries".into(),
                rows: vec![],
            },
        ]);
        assert!(html.contains("<h2>Referrers &lt;top&gt;</h2>"), "{html}");
        assert!(
            html.contains("<li style=\"--share:100%\">a.example<span>10,000</span></li>"),
            "{html}"
        );
        assert!(
            html.contains("<li style=\"--share:50%\">&lt;script&gt;&quot;x&quot;<span>5,000</span></li>"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("<section class=\"card panel\"><h2>Countries</h2><p>Nothing in this period.</p></section>")
        );
        assert_eq!(html.matches("<ol class=\"ranked\">").count(), 1);
    }

    #[test]
    fn linked_items_escape_their_links() {
        let items = vec![
            ("/a<b>".to_owned(), Some("/plot/a%3Cb%3E\"".to_owned()), 10),
            ("(direct)".to_owned(), None, 5),
        ];
        let panel = ranked_panel("Top pages", &items);
        assert!(
            panel.contains(
                "<li style=\"--share:100%\"><a href=\"/plot/a%3Cb%3E&quot;\">/a&lt;b&gt;</a><span>10</span></li>"
            ),
            "{panel}"
        );
        assert!(panel.contains("<li style=\"--share:50%\">(direct)<span>5</span></li>"));
    }
}
