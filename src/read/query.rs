//! Query parameters of the read endpoints (`from`, `to`, `days`, `limit`,
//! `after`, `bucket`, and the pages' `total`, `sort`, `q`, `page`), parsed
//! into typed values once. (The badge's options
//! are lenient and parsed in `badge_options`.)
//!
//! Pure: "today" is passed in. Every error names the parameter, and unknown
//! parameters are errors too, so a typo never silently widens a query.

use jiff::civil::Date;
use jiff::Timestamp;

use crate::count::path::percent_decode;

/// The longest range a query may ask for: 100 years of days.
pub const MAX_RANGE_DAYS: i64 = 36_600;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parameter `{name}`: {message}")]
pub struct QueryError {
    pub name: String,
    pub message: String,
}

fn error(name: &str, message: impl Into<String>) -> QueryError {
    QueryError {
        name: name.to_owned(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Hour,
    Day,
    Week,
    Month,
}

/// The longest dashboard search, in characters: a path fragment, not a document.
pub const MAX_SEARCH_CHARS: usize = 200;
/// The highest page number of the dashboard's page list (50 rows a page).
pub const MAX_PAGE: usize = 10_000;

/// The order of the dashboard's page list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Calls in the chosen period, most first.
    #[default]
    Period,
    /// Calls in all, most first.
    Total,
    /// By path, A to Z.
    Name,
    /// By the last call, newest first.
    Last,
}

impl Sort {
    pub const ALL: [Sort; 4] = [Sort::Period, Sort::Total, Sort::Name, Sort::Last];

    /// The value of `sort=` that names this order.
    pub fn name(self) -> &'static str {
        match self {
            Sort::Period => "period",
            Sort::Total => "total",
            Sort::Name => "name",
            Sort::Last => "last",
        }
    }
}

/// An inclusive range of calendar days; an open end is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayRange {
    pub from: Option<Date>,
    pub to: Option<Date>,
}

impl DayRange {
    pub fn is_bounded(&self) -> bool {
        self.from.is_some() || self.to.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadParams {
    pub range: DayRange,
    pub limit: Option<usize>,
    pub after: Option<Timestamp>,
    pub bucket: Option<Bucket>,
    /// `total=1`: draw the running total on charts.
    pub total: bool,
    pub sort: Option<Sort>,
    /// A search in paths, at most [`MAX_SEARCH_CHARS`]; never empty.
    pub q: Option<String>,
    /// 1 to [`MAX_PAGE`].
    pub page: Option<usize>,
    /// `period=all`: the dashboard's whole history rather than its default period.
    pub all_time: bool,
}

/// Which parameters an endpoint takes, and its largest `limit`.
#[derive(Debug, Clone, Copy)]
pub struct Accepts {
    pub names: &'static [&'static str],
    pub max_limit: usize,
}

/// Parses `query` (the raw text after `?`) for an endpoint.
///
/// # Errors
/// A [`QueryError`] naming the first bad parameter.
pub fn parse(query: Option<&str>, accepts: Accepts, today: Date) -> Result<ReadParams, QueryError> {
    let mut params = ReadParams::default();
    let mut days = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(raw_name).map_err(|m| error(raw_name, m))?;
        let value = decode(raw_value).map_err(|m| error(&name, m))?;
        if !accepts.names.contains(&name.as_str()) {
            return Err(error(
                &name,
                format!("unknown; this endpoint takes {}", accepts.names.join(", ")),
            ));
        }
        match name.as_str() {
            "from" => params.range.from = Some(date(&name, &value)?),
            "to" => params.range.to = Some(date(&name, &value)?),
            "days" => days = Some(number(&name, &value, 1, MAX_RANGE_DAYS as usize)?),
            "limit" => params.limit = Some(number(&name, &value, 1, accepts.max_limit)?),
            "after" => {
                params.after = Some(value.parse().map_err(|_| {
                    error(
                        &name,
                        format!("{value:?} is not an RFC 3339 timestamp like 2026-01-31T12:00:00Z"),
                    )
                })?);
            }
            "bucket" => {
                params.bucket = Some(match value.as_str() {
                    "hour" => Bucket::Hour,
                    "day" => Bucket::Day,
                    "week" => Bucket::Week,
                    "month" => Bucket::Month,
                    _ => return Err(error(&name, format!("{value:?} is not one of hour, day, week, month"))),
                });
            }
            "total" => {
                params.total = match value.as_str() {
                    "1" => true,
                    "0" => false,
                    _ => return Err(error(&name, format!("{value:?} is not 0 or 1"))),
                };
            }
            "sort" => {
                let sort = Sort::ALL.into_iter().find(|s| s.name() == value);
                params.sort = Some(
                    sort.ok_or_else(|| error(&name, format!("{value:?} is not one of period, total, name, last")))?,
                );
            }
            "q" => {
                if value.chars().count() > MAX_SEARCH_CHARS {
                    return Err(error(&name, format!("longer than {MAX_SEARCH_CHARS} characters")));
                }
                let value = value.trim();
                params.q = (!value.is_empty()).then(|| value.to_owned());
            }
            "page" => params.page = Some(number(&name, &value, 1, MAX_PAGE)?),
            "period" if value == "all" => params.all_time = true,
            "period" => return Err(error(&name, format!("{value:?} is not `all`"))),
            _ => return Err(error(&name, "unknown")),
        }
    }
    if params.all_time && (days.is_some() || params.range.is_bounded()) {
        return Err(error("period", "use either `period=all` or a range, not both"));
    }
    if let Some(days) = days {
        if params.range.is_bounded() {
            return Err(error("days", "use either `days` or `from`/`to`, not both"));
        }
        let span = jiff::Span::new().days(days as i64 - 1);
        params.range = DayRange {
            from: Some(today.checked_sub(span).unwrap_or(Date::MIN)),
            to: Some(today),
        };
    }
    if let (Some(from), Some(to)) = (params.range.from, params.range.to) {
        if from > to {
            return Err(error("from", format!("{from} is after `to` ({to})")));
        }
        if to.duration_since(from).as_hours() / 24 >= MAX_RANGE_DAYS {
            return Err(error("to", format!("the range is longer than {MAX_RANGE_DAYS} days")));
        }
    }
    Ok(params)
}

fn decode(raw: &str) -> Result<String, String> {
    // Form encoding writes spaces as `+`.
    let bytes = percent_decode(raw.replace('+', " ").as_bytes()).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_owned())
}

fn date(name: &str, value: &str) -> Result<Date, QueryError> {
    if value.len() != 10 {
        return Err(error(name, format!("{value:?} is not a date like 2026-01-31")));
    }
    value
        .parse()
        .map_err(|_| error(name, format!("{value:?} is not a date like 2026-01-31")))
}

fn number(name: &str, value: &str, min: usize, max: usize) -> Result<usize, QueryError> {
    match value.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(error(
            name,
            format!("{value:?} is not a whole number from {min} to {max}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Accepts = Accepts {
        names: &["from", "to", "days", "limit", "after", "bucket"],
        max_limit: 100,
    };

    fn today() -> Date {
        "2026-03-10".parse().unwrap()
    }

    fn ok(q: &str) -> ReadParams {
        parse(Some(q), ALL, today()).unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    fn err(q: &str) -> QueryError {
        parse(Some(q), ALL, today()).expect_err(q)
    }

    #[test]
    fn nothing_means_no_range() {
        assert_eq!(parse(None, ALL, today()).unwrap(), ReadParams::default());
        assert_eq!(ok(""), ReadParams::default());
    }

    #[test]
    fn ranges_are_inclusive_days() {
        let p = ok("from=2026-01-01&to=2026-01-31");
        assert_eq!(p.range.from, Some("2026-01-01".parse().unwrap()));
        assert_eq!(p.range.to, Some("2026-01-31".parse().unwrap()));
        let p = ok("days=7");
        assert_eq!(p.range.from, Some("2026-03-04".parse().unwrap()));
        assert_eq!(p.range.to, Some(today()));
        assert_eq!(ok("days=1").range.from, Some(today()));
    }

    #[test]
    fn every_value_is_typed() {
        let p = ok("limit=5&after=2026-01-01T10:00:00%2B01:00&bucket=week");
        assert_eq!(p.limit, Some(5));
        assert_eq!(p.after, Some("2026-01-01T09:00:00Z".parse().unwrap()));
        assert_eq!(p.bucket, Some(Bucket::Week));
    }

    #[test]
    fn bad_parameters_are_named() {
        for (q, name) in [
            ("from=2026-13-01", "from"),
            ("from=yesterday", "from"),
            ("to=2026-1-1", "to"),
            ("from=2026-02-01&to=2026-01-01", "from"),
            ("days=0", "days"),
            ("days=36601", "days"),
            ("days=7&from=2026-01-01", "days"),
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=-1", "limit"),
            ("bucket=year", "bucket"),
            ("after=noon", "after"),
            ("limt=5", "limt"),
            ("from=0001-01-01&to=9999-01-01", "to"),
        ] {
            assert_eq!(err(q).name, name, "{q}");
        }
    }

    #[test]
    fn the_pages_options_are_typed_and_bounded() {
        let pages = Accepts {
            names: &["total", "sort", "q", "page", "period", "days"],
            max_limit: 1,
        };
        let p = parse(Some("total=1&sort=last&q=+%2Fblog+&page=3"), pages, today()).unwrap();
        assert!(p.total);
        assert_eq!(
            (p.sort, p.q.as_deref(), p.page),
            (Some(Sort::Last), Some("/blog"), Some(3))
        );
        assert_eq!(parse(Some("q=++"), pages, today()).unwrap().q, None);
        let long = format!("q={}", "a".repeat(MAX_SEARCH_CHARS + 1));
        assert!(parse(Some("period=all"), pages, today()).unwrap().all_time);
        for q in [
            "total=yes",
            "sort=size",
            "page=0",
            "page=10001",
            "period=week",
            "period=all&days=7",
            long.as_str(),
        ] {
            assert!(parse(Some(q), pages, today()).is_err(), "{q}");
        }
    }

    #[test]
    fn endpoints_accept_only_their_parameters() {
        let counts = Accepts {
            names: &["from", "to", "days", "limit"],
            max_limit: 10,
        };
        assert_eq!(parse(Some("bucket=day"), counts, today()).unwrap_err().name, "bucket");
    }
}
