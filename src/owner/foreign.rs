//! Files from elsewhere: a plain `path,day,count` CSV (per-day counts of
//! one site) and GoatCounter's CSV export (one row per pageview).
//!
//! From GoatCounter, a row counts as one of Footfall's calls when it is a
//! visitor's first view of the path in a session (`FirstVisit`), not an
//! event and not a bot — GoatCounter's own "visitors" — so the counts mean
//! what Footfall's mean: about one per visitor per page per day. Other rows,
//! and rows whose path is not a Footfall page, are skipped and counted.
//! Nothing else of a row (browser, location, referrer) is read.

use std::io::BufRead;

use super::csv::Reader;
use super::import::{day_of, refusal, send, timestamp, Sink, Target};
use crate::count::path::PagePath;
use crate::store::{ImportError, Item, DAY_SERIES};

const PLAIN_HEADER: [&str; 3] = ["path", "day", "count"];

pub fn is_plain_header(line: &str) -> bool {
    let fields: Vec<String> = line.split(',').map(|f| f.trim().to_ascii_lowercase()).collect();
    fields == PLAIN_HEADER
}

/// GoatCounter's header starts with its export version and `Path` in one
/// quoted field: `"2,Path",Title,…`.
pub fn is_goatcounter_header(line: &str) -> bool {
    goatcounter_version(line.split(",Title").next().unwrap_or("").trim_matches('"')).is_some()
}

fn goatcounter_version(first_field: &str) -> Option<u32> {
    let (version, name) = first_field.split_once(',')?;
    (name == "Path").then(|| version.parse().ok()).flatten()
}

/// A page path as people write it: with or without the leading `/`.
fn page_path(text: &str) -> Option<PagePath> {
    if text.starts_with('/') {
        PagePath::parse(text).ok()
    } else {
        PagePath::parse(&format!("/{text}")).ok()
    }
}

/// Rows of `path,day,count` (the header already read): per-day counts of
/// the target site, in its series of counted calls.
pub fn plain(mut rows: Reader<impl BufRead>, target: &Target, sink: &Sink) -> Result<u64, ImportError> {
    let series = DAY_SERIES.iter().position(|s| s.in_total).unwrap_or(0);
    while let Some(row) = rows.next_row().map_err(|(line, m)| refusal(line + 1, m))? {
        let number = row.line + 1;
        let [path, day, count]: [String; 3] = row
            .fields
            .try_into()
            .map_err(|f: Vec<String>| refusal(number, format!("has {} fields, not 3 (path,day,count)", f.len())))?;
        let page = page_path(path.trim()).ok_or_else(|| refusal(number, format!("{path:?} is not a page path")))?;
        let count = count
            .trim()
            .parse::<u64>()
            .map_err(|_| refusal(number, format!("`count` is not a whole number: {count:?}")))?;
        let item = Item::Day {
            site: target.slug.clone(),
            path: page,
            series,
            day: day_of(day.trim(), number)?,
            count,
        };
        if !send(sink, item) {
            break;
        }
    }
    Ok(0)
}

/// GoatCounter's CSV export, header included: one call per first visit.
pub fn goatcounter(mut rows: Reader<impl BufRead>, target: &Target, sink: &Sink) -> Result<u64, ImportError> {
    let header = rows
        .next_row()
        .map_err(|(line, m)| refusal(line, m))?
        .ok_or_else(|| refusal(1, "the file is empty"))?;
    let version = header
        .fields
        .first()
        .and_then(|f| goatcounter_version(f.trim_start_matches('\u{feff}')));
    if !matches!(version, Some(1 | 2)) {
        return Err(refusal(
            header.line,
            "not a GoatCounter export of version 1 or 2 (its header starts with \"2,Path\")",
        ));
    }
    let column = |name: &str| {
        header
            .fields
            .iter()
            .position(|f| f == name)
            .ok_or_else(|| refusal(header.line, format!("the header has no {name} column")))
    };
    let (event, bot, first_visit, date) = (column("Event")?, column("Bot")?, column("FirstVisit")?, column("Date")?);
    let mut skipped = 0;
    while let Some(row) = rows.next_row().map_err(|(line, m)| refusal(line, m))? {
        if row.fields.len() != header.fields.len() {
            return Err(refusal(
                row.line,
                format!(
                    "has {} fields; the header has {}",
                    row.fields.len(),
                    header.fields.len()
                ),
            ));
        }
        let field = |i: usize| row.fields[i].as_str();
        let counted = field(event) != "true"
            && matches!(field(bot), "" | "0" | "false")
            && matches!(field(first_visit), "true" | "1");
        let page = page_path(field(0));
        let (true, Some(page)) = (counted, page) else {
            skipped += 1;
            continue;
        };
        let at = timestamp(field(date), "Date", row.line)?;
        let item = Item::Hit {
            site: target.slug.clone(),
            path: page,
            at,
            day: target.zone.day_of(at),
        };
        if !send(sink, item) {
            break;
        }
    }
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::owner::import::tests::parsed;
    use crate::owner::import::Source;
    use crate::zone::Zone;

    fn target() -> Target {
        Target {
            slug: "blog".into(),
            zone: Zone::named("Europe/Berlin").unwrap(),
            only: false,
        }
    }

    #[test]
    fn plain_rows_are_per_day_counts_of_the_target_site() {
        let (items, _) = parsed(
            "path,day,count\n/a,2026-03-01,4\nb/c,2026-03-02,0\n",
            Source::Footfall,
            &target(),
        )
        .unwrap();
        assert_eq!(items.len(), 2);
        assert!(
            matches!(&items[1], Item::Day { site, path, count: 0, .. } if site == "blog" && path.as_str() == "/b/c")
        );
        for (text, line) in [
            ("path,day,count\n/a,2026-03-01\n", 2),
            ("path,day,count\n/a,2026-03-01,4\n/a,March,4\n", 3),
            ("path,day,count\n/a/../b,2026-03-01,4\n", 2),
            ("path,day,count\n/a,2026-03-01,-4\n", 2),
        ] {
            assert_eq!(
                parsed(text, Source::Footfall, &target()).unwrap_err().line,
                line,
                "{text}"
            );
        }
    }

    const GOATCOUNTER: &str = "\"2,Path\",Title,Event,User-Agent,Browser,System,Session,Bot,Referrer,Referrer scheme,Screen size,Location,FirstVisit,Date\n\
        /a,\"A, the page\",false,,Firefox 120,Linux,s1,0,,,\"1920,1080,1\",DE,true,2026-03-01T23:30:00Z\n\
        /a,A,false,,Firefox 120,Linux,s1,0,,,,DE,false,2026-03-01T23:31:00Z\n\
        signup,,true,,,,s1,0,,,,,true,2026-03-01T23:32:00Z\n\
        /a,A,false,,,,s2,4,,,,,true,2026-03-01T23:33:00Z\n\
        /b/../c,A,false,,,,s3,0,,,,,true,2026-03-01T23:34:00Z\n";

    #[test]
    fn goatcounter_first_visits_become_calls_in_the_sites_zone_and_the_rest_is_skipped() {
        let (items, skipped) = parsed(GOATCOUNTER, Source::GoatCounter, &target()).unwrap();
        assert_eq!(skipped, 4, "a repeat view, an event, a bot and a path that is no page");
        let [Item::Hit { site, path, at, day }] = &items[..] else {
            panic!("one hit: {items:?}")
        };
        assert_eq!((site.as_str(), path.as_str()), ("blog", "/a"));
        assert_eq!(*at, "2026-03-01T23:30:00Z".parse::<jiff::Timestamp>().unwrap());
        assert_eq!(
            *day,
            crate::zone::day_number(jiff::civil::date(2026, 3, 2)),
            "00:30 in Berlin"
        );
        assert!(parsed(GOATCOUNTER, Source::Footfall, &target())
            .unwrap_err()
            .message
            .contains("--from goatcounter"));
        let bad_date = GOATCOUNTER.replace("2026-03-01T23:30:00Z", "soon");
        assert_eq!(parsed(&bad_date, Source::GoatCounter, &target()).unwrap_err().line, 2);
        let v3 = GOATCOUNTER.replace("\"2,Path\"", "\"3,Path\"");
        assert_eq!(parsed(&v3, Source::GoatCounter, &target()).unwrap_err().line, 1);
    }
}
