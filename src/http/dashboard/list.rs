//! The dashboard's page list: the table with its sort links, the search
//! form and the pager. Every path and the search are escaped here; links
//! come from [`View::link`].

use std::fmt::Write as _;

use super::View;
use crate::markup::escape_xml;
use crate::read::format::group_thousands;
use crate::read::overview::{PageList, PAGE_ROWS};
use crate::read::query::{Sort, MAX_SEARCH_CHARS};
use crate::zone::Zone;

impl View<'_> {
    pub(super) fn page_table(&self, list: &PageList, zone: &Zone) -> String {
        let mut out = String::from("<section class=\"card\"><h2>Pages</h2>");
        out.push_str(&self.search_form());
        if list.rows.is_empty() {
            out.push_str(if self.params.q.is_some() {
                "<p>No page matches.</p>"
            } else {
                "<p>No calls yet. Embed <code>/call/your/page</code> as an image on your pages.</p>"
            });
            out.push_str("</section>");
            return out;
        }
        out.push_str("<table><thead><tr>");
        let sort = self.params.sort.unwrap_or_default();
        for (column, label) in [
            (Sort::Name, "Page"),
            (Sort::Period, "In period"),
            (Sort::Total, "Total"),
            (Sort::Last, "Last call"),
        ] {
            let order = if column == Sort::Name {
                "ascending"
            } else {
                "descending"
            };
            let mark = if column == sort {
                format!(" aria-sort=\"{order}\"")
            } else {
                String::new()
            };
            let _ = write!(
                out,
                "<th{mark}><a href=\"{}\">{label}</a></th>",
                self.link(Some(column), None)
            );
        }
        out.push_str("</tr></thead><tbody>");
        for row in &list.rows {
            let last = row.last.map_or_else(
                || "–".to_owned(),
                |t| {
                    let local = t.to_zoned(zone.time_zone().clone()).datetime();
                    format!(
                        "{}<small>{:02}:{:02}</small>",
                        local.date(),
                        local.hour(),
                        local.minute()
                    )
                },
            );
            let _ = write!(
                out,
                "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{last}</td></tr>",
                escape_xml(&self.plot_href(&row.path)),
                escape_xml(&row.path),
                group_thousands(row.period),
                group_thousands(row.total),
            );
        }
        out.push_str("</tbody></table>");
        let first = (list.page - 1) * PAGE_ROWS + 1;
        let _ = write!(
            out,
            "<nav class=\"pager\" aria-label=\"Pages\"><span>{}–{} of {} pages</span>",
            group_thousands(first as u64),
            group_thousands((first + list.rows.len() - 1) as u64),
            group_thousands(list.matching as u64)
        );
        if list.page > 1 {
            let _ = write!(
                out,
                "<a href=\"{}\" rel=\"prev\">Previous</a>",
                self.link(None, Some(list.page - 1))
            );
        }
        if list.page < list.pages {
            let _ = write!(
                out,
                "<a href=\"{}\" rel=\"next\">Next</a>",
                self.link(None, Some(list.page + 1))
            );
        }
        out.push_str("</nav></section>");
        out
    }

    /// A GET form that keeps the period and sort and searches paths.
    fn search_form(&self) -> String {
        let mut hidden = form_urlencoded::Serializer::new(String::new());
        self.period_pairs(&mut hidden);
        let mut form = format!(
            "<form method=\"get\" action=\"{}/\" role=\"search\">",
            escape_xml(&self.at.base)
        );
        for (name, value) in form_urlencoded::parse(hidden.finish().as_bytes()) {
            let _ = write!(
                form,
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape_xml(&name),
                escape_xml(&value)
            );
        }
        if let Some(sort) = self.params.sort {
            let _ = write!(form, "<input type=\"hidden\" name=\"sort\" value=\"{}\">", sort.name());
        }
        let _ = write!(
            form,
            "<input type=\"search\" name=\"q\" maxlength=\"{}\" placeholder=\"Search pages\" aria-label=\"Search pages\" value=\"{}\"><button>Search</button></form>",
            MAX_SEARCH_CHARS,
            escape_xml(self.params.q.as_deref().unwrap_or(""))
        );
        form
    }
}
