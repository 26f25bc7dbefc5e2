//! Imports: Footfall's own exports (JSON Lines or CSV, told apart by their
//! first line), plain `path,day,count` CSV and GoatCounter's CSV export
//! (`foreign`), parsed line by line into the store's items and added in one
//! transaction.
//!
//! A file is checked as it is read — its header, each line's fields, that
//! a site comes before its pages and a page before its counts and calls —
//! and the first problem refuses the whole import naming the line: nothing
//! is changed. Memory stays flat: items flow through a bounded channel.
//! Knows nothing of HTTP or where the bytes come from.

use std::collections::HashSet;
use std::io::BufRead;
use std::sync::Arc;

use jiff::civil::Date;
use jiff::Timestamp;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::csv;
use super::export::{CSV_HEADER, JSON_HEADER};
use super::foreign;
use crate::config::check_slug;
use crate::count::path::PagePath;
use crate::store::{ImportError, Imported, Item, Store, StoreError, DAY_SERIES};
use crate::zone::{day_number, DayNumber, Zone};

/// Items in flight between the parser and the store.
const ITEMS_IN_FLIGHT: usize = 1024;

/// What kind of file to expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A Footfall export (JSON Lines or CSV) or a plain `path,day,count` CSV.
    Footfall,
    /// GoatCounter's CSV export.
    GoatCounter,
}

/// The site an import is about: where plain and GoatCounter files go, and —
/// when `only` — the one site a Footfall export may name.
#[derive(Debug, Clone)]
pub struct Target {
    pub slug: String,
    pub zone: Zone,
    pub only: bool,
}

/// An import's result and the rows of a foreign file it skipped (events,
/// bots, repeat views, paths that are not Footfall pages).
#[derive(Debug)]
pub struct Outcome {
    pub imported: Imported,
    pub skipped: u64,
}

/// Where a parser puts its items; a closed channel means the store gave up.
pub type Sink = mpsc::Sender<Result<Item, ImportError>>;

/// Reads `input` and adds what it holds to `store`, all or nothing.
///
/// # Errors
/// The store's error (nothing is changed then either); a malformed input is
/// not an error but [`Imported::Refused`].
pub async fn import(
    store: Arc<dyn Store>,
    input: impl BufRead + Send + 'static,
    source: Source,
    target: Target,
) -> Result<Outcome, StoreError> {
    let (sink, items) = mpsc::channel(ITEMS_IN_FLIGHT);
    let parsing = tokio::task::spawn_blocking(move || parse(input, source, &target, &sink));
    let imported = store.import(items).await?;
    let skipped = parsing.await.map_err(|e| StoreError::Task(e.to_string()))?;
    Ok(Outcome { imported, skipped })
}

/// Sends each item of `input` (or its first error) to `sink`; returns the
/// rows skipped.
fn parse(mut input: impl BufRead, source: Source, target: &Target, sink: &Sink) -> u64 {
    let result = match source {
        Source::GoatCounter => foreign::goatcounter(csv::Reader::new(input), target, sink),
        Source::Footfall => match first_line(&mut input) {
            Ok(first) if first.trim_start().starts_with('{') => json_lines(input, &first, target, sink).map(|()| 0),
            Ok(first) if first.trim() == CSV_HEADER => footfall_csv(input, target, sink).map(|()| 0),
            Ok(first) if foreign::is_plain_header(&first) => foreign::plain(csv::Reader::new(input), target, sink),
            Ok(first) if foreign::is_goatcounter_header(&first) => Err(refusal(
                1,
                "this is a GoatCounter export: import it with `--from goatcounter` (`?from=goatcounter`)",
            )),
            Ok(_) => Err(refusal(
                1,
                format!(
                    "not a Footfall export (its first line is {JSON_HEADER} or {CSV_HEADER}) nor a path,day,count CSV"
                ),
            )),
            Err(error) => Err(error),
        },
    };
    match result {
        Ok(skipped) => skipped,
        Err(error) => {
            let _ = sink.blocking_send(Err(error));
            0
        }
    }
}

pub(super) fn refusal(line: u64, message: impl Into<String>) -> ImportError {
    ImportError {
        line,
        message: message.into(),
    }
}

fn first_line(input: &mut impl BufRead) -> Result<String, ImportError> {
    let mut line = String::new();
    match input.read_line(&mut line) {
        Ok(0) => Err(refusal(1, "the file is empty")),
        // Spreadsheets often start a CSV file with a byte order mark.
        Ok(_) => Ok(line
            .trim_start_matches('\u{feff}')
            .trim_end_matches(['\n', '\r'])
            .to_owned()),
        Err(e) => Err(refusal(1, format!("cannot be read as UTF-8 text: {e}"))),
    }
}

/// Sends `item`; `false` when the store no longer listens.
pub(super) fn send(sink: &Sink, item: Item) -> bool {
    sink.blocking_send(Ok(item)).is_ok()
}

/// One line of a Footfall export, as JSON or as a CSV row.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum Line {
    Site {
        site: String,
    },
    Page {
        site: String,
        path: String,
        offset: u64,
        first: Option<String>,
        last: Option<String>,
    },
    Day {
        site: String,
        path: String,
        series: String,
        day: String,
        count: u64,
    },
    Call {
        site: String,
        path: String,
        at: String,
    },
}

fn json_lines(input: impl BufRead, header: &str, target: &Target, sink: &Sink) -> Result<(), ImportError> {
    let version = serde_json::from_str::<serde_json::Value>(header)
        .ok()
        .filter(|h| h["type"] == "footfall-export")
        .and_then(|h| h["version"].as_u64());
    if version != Some(1) {
        return Err(refusal(1, format!("the first line must be {JSON_HEADER}")));
    }
    let mut checks = Checks::new(target);
    for (i, text) in input.lines().enumerate() {
        let number = i as u64 + 2;
        let text = text.map_err(|e| refusal(number, format!("cannot be read as UTF-8 text: {e}")))?;
        if text.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(&text).map_err(|e| refusal(number, format!("not a valid line: {e}")))?;
        if !send(sink, checks.item(line, number)?) {
            return Ok(());
        }
    }
    Ok(())
}

fn footfall_csv(input: impl BufRead, target: &Target, sink: &Sink) -> Result<(), ImportError> {
    let mut rows = csv::Reader::new(input);
    let mut checks = Checks::new(target);
    // The header was line 1.
    while let Some(row) = rows.next_row().map_err(|(line, m)| refusal(line + 1, m))? {
        let number = row.line + 1;
        let [kind, site, path, offset, first, last, series, day, count, at]: [String; 10] = row
            .fields
            .try_into()
            .map_err(|f: Vec<String>| refusal(number, format!("has {} fields, not 10 ({CSV_HEADER})", f.len())))?;
        let whole = |name: &str, text: &str| {
            text.parse::<u64>()
                .map_err(|_| refusal(number, format!("`{name}` is not a whole number: {text:?}")))
        };
        let optional = |text: String| (!text.is_empty()).then_some(text);
        let line = match kind.as_str() {
            "site" => Line::Site { site },
            "page" => Line::Page {
                site,
                path,
                offset: whole("offset", &offset)?,
                first: optional(first),
                last: optional(last),
            },
            "day" => Line::Day {
                site,
                path,
                series,
                day,
                count: whole("count", &count)?,
            },
            "call" => Line::Call { site, path, at },
            other => {
                return Err(refusal(
                    number,
                    format!("unknown type {other:?}: site, page, day or call"),
                ))
            }
        };
        if !send(sink, checks.item(line, number)?) {
            return Ok(());
        }
    }
    Ok(())
}

/// What a Footfall export must hold together: each site once and before its
/// pages, each page once and before its counts and calls, the target site
/// only when the import is scoped to it.
struct Checks<'a> {
    target: &'a Target,
    sites: HashSet<String>,
    pages: HashSet<(String, String)>,
}

impl<'a> Checks<'a> {
    fn new(target: &'a Target) -> Self {
        Self {
            target,
            sites: HashSet::new(),
            pages: HashSet::new(),
        }
    }

    fn item(&mut self, line: Line, number: u64) -> Result<Item, ImportError> {
        let fail = |message: String| refusal(number, message);
        match line {
            Line::Site { site } => {
                check_slug(&site).map_err(fail)?;
                if self.target.only && site != self.target.slug {
                    return Err(fail(format!(
                        "site {site} is not {}, the site this import is for",
                        self.target.slug
                    )));
                }
                if !self.sites.insert(site.clone()) {
                    return Err(fail(format!("site {site} appears twice")));
                }
                Ok(Item::Site { slug: site })
            }
            Line::Page {
                site,
                path,
                offset,
                first,
                last,
            } => {
                if !self.sites.contains(&site) {
                    return Err(fail(format!("page {path} of site {site} comes before the site's line")));
                }
                let page = stored_path(&path, number)?;
                if !self.pages.insert((site.clone(), path.clone())) {
                    return Err(fail(format!("page {path} of site {site} appears twice")));
                }
                let time = |text: Option<String>, name| text.map(|t| timestamp(&t, name, number)).transpose();
                Ok(Item::Page {
                    site,
                    path: page,
                    offset,
                    first: time(first, "first")?,
                    last: time(last, "last")?,
                })
            }
            Line::Day {
                site,
                path,
                series,
                day,
                count,
            } => {
                self.known(&site, &path, number)?;
                let series = DAY_SERIES.iter().position(|s| s.name == series).ok_or_else(|| {
                    let names: Vec<&str> = DAY_SERIES.iter().map(|s| s.name).collect();
                    fail(format!("unknown series {series:?}: {}", names.join(", ")))
                })?;
                Ok(Item::Day {
                    path: stored_path(&path, number)?,
                    site,
                    series,
                    day: day_of(&day, number)?,
                    count,
                })
            }
            Line::Call { site, path, at } => {
                self.known(&site, &path, number)?;
                Ok(Item::Call {
                    path: stored_path(&path, number)?,
                    site,
                    at: timestamp(&at, "at", number)?,
                })
            }
        }
    }

    fn known(&self, site: &str, path: &str, number: u64) -> Result<(), ImportError> {
        if self.pages.contains(&(site.to_owned(), path.to_owned())) {
            Ok(())
        } else {
            Err(refusal(
                number,
                format!("page {path} of site {site} has no page line before it"),
            ))
        }
    }
}

fn stored_path(path: &str, number: u64) -> Result<PagePath, ImportError> {
    PagePath::from_stored(path).map_err(|e| refusal(number, format!("{path:?} is not a page path: {e}")))
}

pub(super) fn timestamp(text: &str, name: &str, number: u64) -> Result<Timestamp, ImportError> {
    text.parse().map_err(|_| {
        refusal(
            number,
            format!("`{name}` is not an RFC 3339 time like 2026-03-01T10:00:00Z: {text:?}"),
        )
    })
}

pub(super) fn day_of(text: &str, number: u64) -> Result<DayNumber, ImportError> {
    text.parse::<Date>()
        .map(day_number)
        .map_err(|_| refusal(number, format!("`day` is not a date like 2026-03-01: {text:?}")))
}

#[cfg(test)]
pub(crate) mod tests;
