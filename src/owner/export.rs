//! Exports: every site, page, start count, per-day count (visitors, proxied
//! views and filtered hits by reason: the series of `DAY_SERIES`) and (on
//! request) raw call time, written as JSON Lines or CSV and streamed in
//! chunks, so memory stays flat for any number of calls.
//!
//! The files are deterministic — the store's stable order, times in UTC
//! with microseconds, no creation time or other volatile data — so the same
//! data always gives the same bytes and backups can be diffed. Knows
//! nothing of HTTP or files: chunks go into a channel.
//!
//! ```text
//! {"type":"footfall-export","version":1}
//! {"type":"site","site":"default"}
//! {"type":"page","site":"default","path":"/a","offset":0,"first":"2026-03-01T10:00:00.000000Z","last":"…"}
//! {"type":"day","site":"default","path":"/a","series":"visitors","day":"2026-03-01","count":2}
//! {"type":"day","site":"default","path":"/a","series":"proxied","day":"2026-03-01","count":5}
//! {"type":"day","site":"default","path":"/a","series":"bot","day":"2026-03-02","count":1}
//! {"type":"call","site":"default","path":"/a","at":"2026-03-01T10:00:00.000000Z"}
//! ```

use bytes::Bytes;
use jiff::Timestamp;
use serde::Serialize;
use tokio::sync::mpsc;

use super::csv::push_field;
use crate::store::{ExportFilter, Record, Store, StoreError};
use crate::zone::{date_of_day, DayNumber};

/// The first line of a JSON Lines export; its version changes with any
/// incompatible change of the format.
pub const JSON_HEADER: &str = r#"{"type":"footfall-export","version":1}"#;
/// The first line of a CSV export: every record type in one set of columns.
pub const CSV_HEADER: &str = "type,site,path,offset,first,last,series,day,count,at";
/// Chunks of about this size go out at once.
const CHUNK_BYTES: usize = 64 * 1024;
/// Records in flight between the store and the writer.
const RECORDS_IN_FLIGHT: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON Lines: one JSON object per line.
    Json,
    Csv,
}

impl Format {
    /// `json` or `csv`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "json" => Some(Self::Json),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/x-ndjson",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            Self::Json => "footfall-export.jsonl",
            Self::Csv => "footfall-export.csv",
        }
    }
}

/// A time as exports write it: UTC, always six fractional digits.
pub fn time_text(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// A day as exports write it: `YYYY-MM-DD`.
pub fn day_text(day: DayNumber) -> String {
    date_of_day(day).to_string()
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Line<'a> {
    Site {
        site: &'a str,
    },
    Page {
        site: &'a str,
        path: &'a str,
        offset: u64,
        first: Option<String>,
        last: Option<String>,
    },
    Day {
        site: &'a str,
        path: &'a str,
        series: &'a str,
        day: String,
        count: u64,
    },
    Call {
        site: &'a str,
        path: &'a str,
        at: String,
    },
}

/// Appends `record` as one line of `format`.
pub fn push_line(format: Format, record: &Record, out: &mut String) {
    match format {
        Format::Json => {
            let line = match record {
                Record::Site { slug } => Line::Site { site: slug },
                Record::Page {
                    site,
                    path,
                    offset,
                    first,
                    last,
                } => Line::Page {
                    site,
                    path,
                    offset: *offset,
                    first: first.map(time_text),
                    last: last.map(time_text),
                },
                Record::Day {
                    site,
                    path,
                    series,
                    day,
                    count,
                } => Line::Day {
                    site,
                    path,
                    series,
                    day: day_text(*day),
                    count: *count,
                },
                Record::Call { site, path, at } => Line::Call {
                    site,
                    path,
                    at: time_text(*at),
                },
            };
            // Plain strings and numbers always serialize.
            out.push_str(&serde_json::to_string(&line).unwrap_or_default());
        }
        Format::Csv => {
            let (e, time) = (String::new, |t: &Option<Timestamp>| {
                t.map(time_text).unwrap_or_default()
            });
            let fields: [String; 10] = match record {
                Record::Site { slug } => ["site".into(), slug.clone(), e(), e(), e(), e(), e(), e(), e(), e()],
                Record::Page {
                    site,
                    path,
                    offset,
                    first,
                    last,
                } => [
                    "page".into(),
                    site.clone(),
                    path.clone(),
                    offset.to_string(),
                    time(first),
                    time(last),
                    e(),
                    e(),
                    e(),
                    e(),
                ],
                Record::Day {
                    site,
                    path,
                    series,
                    day,
                    count,
                } => [
                    "day".into(),
                    site.clone(),
                    path.clone(),
                    e(),
                    e(),
                    e(),
                    (*series).to_owned(),
                    day_text(*day),
                    count.to_string(),
                    e(),
                ],
                Record::Call { site, path, at } => [
                    "call".into(),
                    site.clone(),
                    path.clone(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    time_text(*at),
                ],
            };
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_field(out, field);
            }
        }
    }
    out.push('\n');
}

/// Writes the export `filter` covers to `out`, in chunks; stops early when
/// `out` is closed.
///
/// # Errors
/// The store's error; what was written before it is then incomplete, and
/// the caller must say so (never pass it off as a whole export).
pub async fn export(
    store: &dyn Store,
    filter: ExportFilter,
    format: Format,
    out: mpsc::Sender<Bytes>,
) -> Result<(), StoreError> {
    let (records, mut received) = mpsc::channel(RECORDS_IN_FLIGHT);
    let writing = async move {
        let mut chunk = String::with_capacity(CHUNK_BYTES + 1024);
        chunk.push_str(match format {
            Format::Json => JSON_HEADER,
            Format::Csv => CSV_HEADER,
        });
        chunk.push('\n');
        while let Some(record) = received.recv().await {
            push_line(format, &record, &mut chunk);
            if chunk.len() >= CHUNK_BYTES && out.send(Bytes::from(std::mem::take(&mut chunk))).await.is_err() {
                // Nobody reads any more: dropping `received` stops the store.
                return;
            }
        }
        let _ = out.send(Bytes::from(chunk)).await;
    };
    let (exported, ()) = tokio::join!(store.export(filter, records), writing);
    exported
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn lines(format: Format) -> String {
        let records = [
            Record::Site { slug: "blog".into() },
            Record::Page {
                site: "blog".into(),
                path: "/a,\"b\"".into(),
                offset: 12,
                first: Some(t("2026-03-01T10:00:00Z")),
                last: None,
            },
            Record::Day {
                site: "blog".into(),
                path: "/a".into(),
                series: "visitors",
                day: 20_513,
                count: 3,
            },
            Record::Call {
                site: "blog".into(),
                path: "/a".into(),
                at: t("1969-12-31T23:59:59.5Z"),
            },
        ];
        let mut out = String::new();
        for record in &records {
            push_line(format, record, &mut out);
        }
        out
    }

    #[test]
    fn json_lines_have_a_fixed_field_order_and_fixed_precision() {
        assert_eq!(
            lines(Format::Json),
            "{\"type\":\"site\",\"site\":\"blog\"}\n\
             {\"type\":\"page\",\"site\":\"blog\",\"path\":\"/a,\\\"b\\\"\",\"offset\":12,\"first\":\"2026-03-01T10:00:00.000000Z\",\"last\":null}\n\
             {\"type\":\"day\",\"site\":\"blog\",\"path\":\"/a\",\"series\":\"visitors\",\"day\":\"2026-03-01\",\"count\":3}\n\
             {\"type\":\"call\",\"site\":\"blog\",\"path\":\"/a\",\"at\":\"1969-12-31T23:59:59.500000Z\"}\n"
        );
    }

    #[test]
    fn csv_rows_share_one_set_of_columns_and_quote_what_needs_it() {
        assert_eq!(
            lines(Format::Csv),
            "site,blog,,,,,,,,\n\
             page,blog,\"/a,\"\"b\"\"\",12,2026-03-01T10:00:00.000000Z,,,,,\n\
             day,blog,/a,,,,visitors,2026-03-01,3,\n\
             call,blog,/a,,,,,,,1969-12-31T23:59:59.500000Z\n"
        );
        assert_eq!(CSV_HEADER.split(',').count(), 10);
    }
}
