//! The import parsers on Footfall's own formats: what parses, and each
//! malformed line named.

use super::*;

fn target(only: bool) -> Target {
    Target {
        slug: "default".into(),
        zone: Zone::utc(),
        only,
    }
}

/// Every item of `text`, or the error that refused it.
pub(crate) fn parsed(text: &str, source: Source, target: &Target) -> Result<(Vec<Item>, u64), ImportError> {
    let (sink, mut items) = mpsc::channel(10_000);
    let skipped = parse(text.as_bytes(), source, target, &sink);
    drop(sink);
    let mut out = Vec::new();
    while let Ok(item) = items.try_recv() {
        out.push(item?);
    }
    Ok((out, skipped))
}

const EXPORT: &str = "{\"type\":\"footfall-export\",\"version\":1}\n\
    {\"type\":\"site\",\"site\":\"default\"}\n\
    {\"type\":\"page\",\"site\":\"default\",\"path\":\"/a\",\"offset\":2,\"first\":null,\"last\":null}\n\
    {\"type\":\"day\",\"site\":\"default\",\"path\":\"/a\",\"series\":\"visitors\",\"day\":\"2026-03-01\",\"count\":3}\n\
    {\"type\":\"call\",\"site\":\"default\",\"path\":\"/a\",\"at\":\"2026-03-01T10:00:00.000000Z\"}\n";

#[test]
fn an_export_parses_into_its_items() {
    let (items, skipped) = parsed(EXPORT, Source::Footfall, &target(true)).unwrap();
    assert_eq!((items.len(), skipped), (4, 0));
    assert!(matches!(&items[2], Item::Day { day, count: 3, .. } if *day == day_number(jiff::civil::date(2026, 3, 1))));
}

#[test]
fn each_malformed_line_is_named() {
    let lines: Vec<&str> = EXPORT.lines().collect();
    let with = |i: usize, replacement: &str| {
        let mut copy = lines.clone();
        copy[i] = replacement;
        copy.join("\n")
    };
    for (text, line, says) in [
        (String::new(), 1, "empty"),
        (with(0, "{\"type\":\"footfall-export\",\"version\":2}"), 1, "first line"),
        (with(1, "{\"type\":\"site\",\"site\":\"Bad Slug\"}"), 2, "slug"),
        (with(1, "{\"type\":\"site\",\"site\":\"other\"}"), 2, "not default"),
        (with(2, "{\"type\":\"page\",\"site\":\"default\",\"path\":\"/a/../b\",\"offset\":0,\"first\":null,\"last\":null}"), 3, "page path"),
        (with(3, "{\"type\":\"day\",\"site\":\"default\",\"path\":\"/b\",\"series\":\"visitors\",\"day\":\"2026-03-01\",\"count\":3}"), 4, "no page line"),
        (with(3, "{\"type\":\"day\",\"site\":\"default\",\"path\":\"/a\",\"series\":\"bots\",\"day\":\"2026-03-01\",\"count\":3}"), 4, "unknown series"),
        (with(3, "{\"type\":\"day\",\"site\":\"default\",\"path\":\"/a\",\"series\":\"visitors\",\"day\":\"2026-13-01\",\"count\":3}"), 4, "date"),
        (with(3, "{\"type\":\"day\",\"site\":\"default\",\"path\":\"/a\",\"series\":\"visitors\",\"day\":\"2026-03-01\",\"count\":-1}"), 4, "not a valid line"),
        (with(4, "{\"type\":\"call\",\"site\":\"default\",\"path\":\"/a\",\"at\":\"yesterday\"}"), 5, "RFC 3339"),
        (with(4, "{\"type\":\"call\",\"site\":\"default\",\"path\":\"/a\",\"at\":\"2026-03-01T10:00:00Z\",\"ip\":\"x\"}"), 5, "unknown field"),
        (with(4, "not json"), 5, "not a valid line"),
        (with(2, lines[2]).replace("\"offset\":2", "\"offset\":2,\"offset\":2"), 3, "duplicate"),
    ] {
        let error = parsed(&text, Source::Footfall, &target(true)).unwrap_err();
        assert_eq!(error.line, line, "{says}: {error}");
        assert!(error.to_string().contains(says), "{says}: {error}");
    }
    let twice = format!("{EXPORT}{}\n", lines[2]);
    assert!(parsed(&twice, Source::Footfall, &target(true))
        .unwrap_err()
        .message
        .contains("twice"));
    assert!(parsed("hello\n", Source::Footfall, &target(true))
        .unwrap_err()
        .message
        .contains("not a Footfall export"));
}

#[test]
fn a_csv_export_parses_like_the_json_one() {
    let csv = format!(
        "{CSV_HEADER}\nsite,default,,,,,,,,\npage,default,/a,2,,,,,,\nday,default,/a,,,,visitors,2026-03-01,3,\n\
         call,default,/a,,,,,,,2026-03-01T10:00:00.000000Z\n"
    );
    let json = parsed(EXPORT, Source::Footfall, &target(false)).unwrap();
    assert_eq!(parsed(&csv, Source::Footfall, &target(false)).unwrap(), json);
    let short = format!("{CSV_HEADER}\nsite,default\n");
    let error = parsed(&short, Source::Footfall, &target(false)).unwrap_err();
    assert_eq!((error.line, error.message.contains("2 fields")), (2, true), "{error}");
}
