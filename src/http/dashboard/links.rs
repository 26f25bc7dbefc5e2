//! The dashboard's links section: each link of the site with its clicks.
//! Every count exact with separators, like the page list (one format a column).
//! Reads through `Reads` only; escapes every name and host it writes.

use std::fmt::Write as _;

use crate::http::error::HttpError;
use crate::http::SiteRoute;
use crate::markup::escape_xml;
use crate::read::format::group_thousands;
use crate::state::AppState;

/// The dashboard's links section: each link with its clicks, or nothing
/// when the site has none. A self-contained fragment (escaped here).
///
/// # Errors
/// [`HttpError`] when the store does not answer.
pub async fn dashboard_section(state: &AppState, at: &SiteRoute<'_>) -> Result<String, HttpError> {
    let rows = state.reads.links(at.site.registry.site_id()?).await?;
    if rows.is_empty() {
        return Ok(String::new());
    }
    let zone = &at.site.config.zone;
    let mut html = String::from(
        "<h2>Links</h2><div class=\"card\"><table><thead><tr><th>Link</th><th>Clicks</th><th>Last click</th>\
         </tr></thead><tbody>",
    );
    for row in rows {
        let label = match &row.name {
            Some(name) => format!("{name} ({})", row.host),
            None => row.host.clone(),
        };
        let last = row.last_click.map_or_else(|| "–".to_owned(), |t| zone.rfc3339(t));
        let _ = write!(
            html,
            "<tr><td><a href=\"{base}/api/links/{id}/plot\">{label}</a></td><td>{total}</td><td>{last}</td></tr>",
            base = escape_xml(&at.base),
            id = escape_xml(&row.link),
            label = escape_xml(&label),
            total = group_thousands(row.total),
            last = escape_xml(&last),
        );
    }
    html.push_str("</tbody></table></div>");
    Ok(html)
}
