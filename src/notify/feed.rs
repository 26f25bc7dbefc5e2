//! The Atom feed of a site's events (`/feed.atom`), written by hand: five
//! fixed elements per entry, every text escaped with `markup::escape_xml`
//! (which also drops characters XML cannot hold), so no XML library is
//! needed for it. Pure.

use std::fmt::Write as _;

use jiff::Timestamp;
use serde_json::Value;

use crate::markup::escape_xml;
use crate::store::StoredEvent;

/// The feed of `events` (newest first) of the site `slug`; `self_url` is the feed's own URL.
pub fn render_feed(slug: &str, self_url: &str, events: &[StoredEvent]) -> String {
    let updated = events.first().map_or(Timestamp::UNIX_EPOCH, |e| e.at);
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\
         <id>tag:footfall,2026:{slug}/feed</id><title>Footfall · {slug}</title><updated>{updated}</updated>\
         <link rel=\"self\" href=\"{self_url}\"/><author><name>Footfall</name></author>",
        slug = escape_xml(slug),
        self_url = escape_xml(self_url),
    );
    for event in events {
        let _ = write!(
            xml,
            "<entry><id>tag:footfall,2026:{slug}/event/{id}</id><title>{title}</title><updated>{at}</updated>\
             <content type=\"text\">{content}</content></entry>",
            slug = escape_xml(slug),
            id = event.id,
            title = escape_xml(&title_of(event)),
            at = event.at,
            content = escape_xml(&super::event::payload(&event.kind, event.at, slug, &event.data)),
        );
    }
    xml.push_str("</feed>\n");
    xml
}

/// A line a person reads in a feed reader.
fn title_of(event: &StoredEvent) -> String {
    let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
    let text = |key: &str| data[key].as_str().unwrap_or("").to_owned();
    let number = |key: &str| data[key].as_u64().unwrap_or(0);
    match event.kind.as_str() {
        "page_registered" => format!("New page {}", text("path")),
        "milestone" => format!("{} passed {} views", text("path"), number("milestone")),
        "link_clicked" => {
            let name = data["name"].as_str().map_or_else(|| text("host"), str::to_owned);
            format!("{} clicks on {name}", number("clicks"))
        }
        "daily_summary" => format!("{}: {} visitors", text("day"), number("visitors")),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, kind: &str, data: &str) -> StoredEvent {
        StoredEvent {
            id,
            site: 1,
            kind: kind.into(),
            at: "2026-12-01T10:00:00Z".parse().unwrap(),
            data: data.into(),
        }
    }

    #[test]
    fn entries_are_escaped_and_titled() {
        let events = [
            event(2, "milestone", r#"{"path":"/a<b>&c","milestone":100,"total":101}"#),
            event(1, "page_registered", r#"{"path":"/x\"y"}"#),
        ];
        let xml = render_feed("blog", "https://c.example/s/blog/feed.atom?a=1&b=2", &events);
        assert!(
            xml.contains("<title>/a&lt;b&gt;&amp;c passed 100 views</title>"),
            "{xml}"
        );
        assert!(xml.contains("<title>New page /x&quot;y</title>"), "{xml}");
        assert!(
            xml.contains("href=\"https://c.example/s/blog/feed.atom?a=1&amp;b=2\""),
            "{xml}"
        );
        assert!(xml.contains("<updated>2026-12-01T10:00:00Z</updated>"));
        assert!(!xml.contains("<b>"));
        assert_eq!(xml.matches("<entry>").count(), 2);
    }
}
