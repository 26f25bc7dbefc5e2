//! Ranked lists of (label, count) as an HTML fragment: the dimension panels
//! of the chart page and the dashboard. Pure. The markup is the dashboard's
//! ranked panel (`<section class="card panel">` with an `<ol class="ranked">`
//! whose rows carry their bar as `--share`), so the dashboard can show a
//! site's panels beside its own; the fragment carries the few rules it needs
//! beyond the shared stylesheet's `.card`, so any page can drop it in. Every
//! label is escaped; counts are exact, with thousands grouped.

use std::fmt::Write as _;

use crate::markup::escape_xml;
use crate::read::format::group_thousands;

/// One panel: a heading and its rows, largest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panel {
    pub title: String,
    pub rows: Vec<(String, u64)>,
}

/// The ranked lists' rules, as the dashboard's stylesheet has them; colours
/// come from the page's own variables, so they follow dark mode.
const STYLE: &str = ".panels{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:0 1rem}\
.panel h2{font-size:1.05rem;margin:0 0 .6rem}\
ol.ranked{list-style:none;margin:0;padding:0}ol.ranked li{display:flex;gap:.5rem;justify-content:space-between;padding:.2rem .4rem;margin:.15rem 0;\
background:linear-gradient(90deg,color-mix(in srgb,var(--accent) 16%,transparent) var(--share),transparent 0);border-radius:.3rem}\
ol.ranked a{overflow-wrap:anywhere;min-width:0}ol.ranked span{font-variant-numeric:tabular-nums}";

/// `panels` as one `<div class="panels">` with its rules; a panel without
/// rows says so. Bars are the share of the panel's largest row.
pub fn render_panels(panels: &[Panel]) -> String {
    let mut html = format!("<div class=\"panels\"><style>{STYLE}</style>");
    for panel in panels {
        html.push_str(&ranked_panel(panel));
    }
    html.push_str("</div>");
    html
}

/// One panel, as the dashboard's `ranked_panel` draws it.
fn ranked_panel(panel: &Panel) -> String {
    let mut out = format!("<section class=\"card panel\"><h2>{}</h2>", escape_xml(&panel.title));
    if panel.rows.is_empty() {
        out.push_str("<p>Nothing in this period.</p></section>");
        return out;
    }
    let most = panel.rows.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    out.push_str("<ol class=\"ranked\">");
    for (label, count) in &panel.rows {
        let width = (*count as f64 / most as f64 * 100.0).round();
        let _ = write!(
            out,
            "<li style=\"--share:{width}%\">{}<span>{}</span></li>",
            escape_xml(label),
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
}
