//! Ranked lists of (label, count) as an HTML fragment: the dimension panels
//! of the chart page and the dashboard. Pure and self-contained: the
//! fragment carries its own small stylesheet (light and dark, following the
//! page's colours), so any page can drop it in. Every label is escaped.

use std::fmt::Write as _;

use crate::markup::escape_xml;
use crate::read::format::format_count;

/// One panel: a heading and its rows, largest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panel {
    pub title: String,
    pub rows: Vec<(String, u64)>,
}

/// The panels' own styles, scoped to `.panels`; colours come from the
/// surrounding text (`currentColor`), so they follow a dark page.
const STYLE: &str =
    ".panels{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:1rem;margin:1rem 0}\
.panels section{min-width:0}\
.panels h2{font-size:1rem;margin:0 0 .4rem}\
.panels ol{list-style:none;margin:0;padding:0}\
.panels li{position:relative;display:flex;justify-content:space-between;gap:.5rem;padding:.15rem .4rem;font-size:.9rem}\
.panels li span:first-child{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;min-width:0}\
.panels li span:last-child{font-variant-numeric:tabular-nums}\
.panels li i{position:absolute;inset:0 auto 0 0;background:currentColor;opacity:.1;border-radius:3px}\
.panels p{margin:0;opacity:.7;font-size:.9rem}";

/// `panels` as one `<div class="panels">` with its stylesheet; a panel
/// without rows says so. Bars are the share of the panel's largest row.
pub fn render_panels(panels: &[Panel]) -> String {
    let mut html = format!("<div class=\"panels\"><style>{STYLE}</style>");
    for panel in panels {
        let _ = write!(html, "<section><h2>{}</h2>", escape_xml(&panel.title));
        let largest = panel.rows.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
        if panel.rows.is_empty() {
            html.push_str("<p>None in this range</p>");
        } else {
            html.push_str("<ol>");
            for (label, count) in &panel.rows {
                let share = count.saturating_mul(100) / largest;
                let _ = write!(
                    html,
                    "<li><i style=\"width:{share}%\"></i><span title=\"{label}\">{label}</span><span>{}</span></li>",
                    format_count(*count),
                    label = escape_xml(label),
                );
            }
            html.push_str("</ol>");
        }
        html.push_str("</section>");
    }
    html.push_str("</div>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_are_shares_of_the_largest() {
        let html = render_panels(&[
            Panel {
                title: "Referrers <top>".into(),
                rows: vec![("a.example".into(), 10), ("<script>\"x\"".into(), 5)],
            },
            Panel {
                title: "Countries".into(),
                rows: vec![],
            },
        ]);
        assert!(html.contains("<h2>Referrers &lt;top&gt;</h2>"), "{html}");
        assert!(html.contains("&lt;script&gt;&quot;x&quot;"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("width:100%") && html.contains("width:50%"), "{html}");
        assert!(html.contains("None in this range"), "{html}");
        assert_eq!(html.matches("<section>").count(), 2);
    }
}
