//! The history chart: a page's daily call counts in, one self-contained SVG out.
//!
//! Owns the chart's public entry and its contract: grouping long ranges into
//! weeks, months or years so output size and render time stay bounded,
//! calendar-aligned date ticks that never overlap, the two y axes (calls per
//! bar, running total as a line), and the accessible, scalable `<svg>`
//! wrapper. `layout` makes those decisions as plain arithmetic; `draw` turns
//! them into plotters shapes.
//!
//! Must not do I/O, read the clock or know about storage: the caller hands in
//! a finished, gap-free series. Must not need fonts: plotters is built without
//! its `ttf`/`ab_glyph` features, so it only *estimates* text widths and emits
//! `<text>` elements that the browser lays out. All layout decisions
//! therefore leave generous room around text.

mod bars;
mod draw;
mod layout;
mod ticks;

use jiff::civil::Date;

use crate::read::format::group_thousands;
use layout::{group_bars, shorten, BarPeriod, Canvas};

/// Calls to one page on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    pub day: Date,
    pub count: u64,
}

/// What a chart shows beyond its bars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChartOptions {
    /// The running total as a line on a second axis. Off by default: an
    /// always-rising line reads as growth.
    pub running_total: bool,
    /// The series ends today, so its last bar is still filling up: it is
    /// drawn hollow and labelled "so far" rather than read as a drop.
    pub ends_today: bool,
    /// The narrow canvas (420×300 rather than 800×320), for phones: its
    /// text stays readable when it is scaled to 390 px.
    pub narrow: bool,
}

/// Why a chart could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The caller broke the contract that `days` is sorted and gap-free.
    #[error("chart days must be contiguous: {next} follows {previous}")]
    NotContiguous { previous: Date, next: Date },
    /// plotters failed; with an in-memory SVG backend this indicates a bug.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
}

/// Renders the call history of the page `title` (its path) as an SVG string.
///
/// `days` must be sorted by day, contiguous (the caller fills in zero days)
/// and is normally non-empty; an empty slice renders a "No calls yet" card
/// rather than failing, so a page that was never called still gets a chart.
/// `total_before` is the number of calls before the first day, so the running
/// total (drawn only with `options.running_total`) continues from it.
///
/// Every drawn bar is a `<rect class="bar">` with a `<title>` giving its
/// exact days and count. When one spike would flatten the rest, the bar
/// axis is capped (see `layout::axis_cap`) and taller bars are drawn to the
/// top with their value written beside them.
///
/// Bars show calls per day for up to 120 days, per week (Monday to Sunday) up
/// to 630 days, per month up to 25 years and per year beyond that; edge
/// bars may be partial and are drawn narrower. The output therefore holds
/// at most a few hundred shapes whatever the range.
///
/// The root `<svg>` has a viewBox, `width="100%"`, no height, `role="img"`, an
/// `aria-label` and a `<title>`. All text is XML-escaped. Long titles are
/// shortened with "…".
///
/// # Errors
///
/// [`ChartError::NotContiguous`] if `days` is unsorted or has gaps, and
/// [`ChartError::Draw`] if plotters fails (not expected for an in-memory SVG).
pub fn render_history_svg(
    title: &str,
    days: &[DayCount],
    total_before: u64,
    options: ChartOptions,
) -> Result<String, ChartError> {
    check_contiguous(days)?;
    let canvas = Canvas::new(options.narrow, options.running_total);
    let title = replace_control_chars(title);
    // A page shows the narrow chart under its own heading: the drawn title
    // would only take the legend's room.
    let shown_title = if options.narrow {
        String::new()
    } else {
        shorten(&title, canvas)
    };
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        let body = draw::draw_empty(&shown_title, canvas)?;
        return draw::wrap_svg(body, canvas, &title, "No calls yet");
    };

    let period = BarPeriod::for_days(days.len());
    let bars = group_bars(days, period);
    let calls_in_range = bars.iter().fold(0u64, |sum, b| sum.saturating_add(b.count));
    let total = total_before.saturating_add(calls_in_range);

    let range = if first.day == last.day {
        first.day.to_string()
    } else {
        format!("{} – {}", first.day, last.day)
    };
    let mut summary = format!(
        "{range} · {} {}",
        group_thousands(calls_in_range),
        if calls_in_range == 1 { "call" } else { "calls" },
    );
    if options.running_total {
        summary.push_str(&format!(" · {} in total", group_thousands(total)));
    }
    let body = draw::draw_chart(&shown_title, &summary, days, total_before, period, &bars, options)?;
    draw::wrap_svg(body, canvas, &title, &summary)
}

fn check_contiguous(days: &[DayCount]) -> Result<(), ChartError> {
    for pair in days.windows(2) {
        let (previous, next) = (pair[0].day, pair[1].day);
        // `tomorrow` only fails on the last representable date, which can
        // have no successor in the slice either.
        if previous.tomorrow().ok() != Some(next) {
            return Err(ChartError::NotContiguous { previous, next });
        }
    }
    Ok(())
}

/// Control characters are forbidden in XML and would break the one-line
/// title, so they become U+FFFD.
fn replace_control_chars(title: &str) -> String {
    title
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use jiff::ToSpan;

    /// `len` days from `start`, with counts from `count(i)`.
    pub(super) fn series(start: Date, len: usize, count: impl Fn(usize) -> u64) -> Vec<DayCount> {
        let mut day = start;
        let mut days = Vec::with_capacity(len);
        for i in 0..len {
            days.push(DayCount { day, count: count(i) });
            day = day.tomorrow().expect("test dates are far from the end");
        }
        days
    }

    fn render(days: &[DayCount], total_before: u64) -> String {
        let options = ChartOptions {
            running_total: true,
            ..ChartOptions::default()
        };
        render_history_svg("/blog/post", days, total_before, options).expect("chart renders")
    }

    /// The texts of all `<text>` elements, in document order.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|rest| {
                let start = rest.find('>')? + 1;
                let end = rest.find("</text>")?;
                Some(rest[start..end].trim().to_owned())
            })
            .collect()
    }

    #[test]
    fn a_single_day_renders_its_date_bar_and_counts() {
        let days = series(date(2024, 3, 5), 1, |_| 7);
        let svg = render(&days, 0);
        let texts = texts(&svg);
        assert!(texts.contains(&"Mar 5".to_owned()), "{texts:?}");
        assert!(
            texts.contains(&"2024-03-05 · 7 calls · 7 in total".to_owned()),
            "{texts:?}"
        );
        assert!(texts.contains(&"/blog/post".to_owned()));
        assert!(texts.contains(&"calls per day".to_owned()));
        assert!(texts.contains(&"total".to_owned()));
        assert!(svg.contains("fill=\"#5B8FF9\""), "the bar is drawn");
    }

    #[test]
    fn text_needs_no_font_on_the_server() {
        // plotters is built without `ttf`/`ab_glyph` (no font-kit, fontconfig
        // or freetype): it estimates widths and writes plain <text> for the
        // browser to lay out, so this renders on a machine with no fonts.
        let svg = render(&series(date(2024, 3, 1), 3, |_| 1), 0);
        assert!(svg.contains("<text "));
        assert!(svg.contains("font-family=\"sans-serif\""));
        assert!(texts(&svg).contains(&"Mar 1".to_owned()));
    }

    #[test]
    fn a_single_call_gets_whole_number_axes() {
        let days = series(date(2024, 3, 5), 1, |_| 1);
        let texts = texts(&render(&days, 0));
        assert!(texts.contains(&"0".to_owned()));
        assert!(texts.contains(&"1".to_owned()));
        assert!(texts.iter().all(|t| !t.contains('.')), "no fractional ticks: {texts:?}");
    }

    #[test]
    fn y_axes_show_counts() {
        let days = series(date(2024, 3, 1), 30, |i| (i as u64 % 7) * 10);
        let texts = texts(&render(&days, 1_000));
        // Bars go up to 60 and the total from 1,000 to 1,900.
        assert!(texts.contains(&"60".to_owned()), "{texts:?}");
        assert!(texts.iter().any(|t| t == "2,000" || t == "1,900"), "{texts:?}");
    }

    #[test]
    fn thirty_days_get_weekly_date_labels() {
        let days = series(date(2024, 3, 1), 30, |i| i as u64);
        let texts = texts(&render(&days, 0));
        for monday in ["Mar 4", "Mar 11", "Mar 18", "Mar 25"] {
            assert!(texts.contains(&monday.to_owned()), "{monday} in {texts:?}");
        }
        assert!(texts.iter().any(|t| t.starts_with("2024-03-01 – 2024-03-30 · ")));
    }

    #[test]
    fn an_empty_series_renders_a_no_calls_card() {
        let svg = render_history_svg("/new", &[], 0, ChartOptions::default()).expect("empty renders");
        assert!(texts(&svg).contains(&"No calls yet".to_owned()));
        assert!(svg.contains("<desc>No calls yet</desc>"));
    }

    #[test]
    fn a_series_of_zero_days_says_no_calls_yet() {
        let days = series(date(2024, 3, 1), 10, |_| 0);
        let texts = texts(&render(&days, 0));
        assert!(texts.contains(&"No calls yet".to_owned()));
        assert!(texts.contains(&"Mar 1".to_owned()));
    }

    #[test]
    fn gaps_are_rejected() {
        let mut days = series(date(2024, 3, 1), 3, |_| 1);
        days[2].day = date(2024, 3, 9);
        assert!(matches!(
            render_history_svg("/", &days, 0, ChartOptions::default()),
            Err(ChartError::NotContiguous { .. })
        ));
        days.swap(0, 1);
        assert!(render_history_svg("/", &days, 0, ChartOptions::default()).is_err());
    }

    #[test]
    fn the_title_is_text_never_markup() {
        let title = r#"/"><script>alert(1)</script>"#;
        let days = series(date(2024, 3, 1), 3, |_| 1);
        for svg in [
            render_history_svg(title, &days, 0, ChartOptions::default()).expect("renders"),
            render_history_svg(title, &[], 0, ChartOptions::default()).expect("renders"),
        ] {
            assert!(!svg.contains("<script"), "{svg}");
            assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
            assert!(svg.contains("aria-label=\"Calls to /&quot;&gt;&lt;script&gt;"));
        }
    }

    #[test]
    fn control_characters_and_long_titles_are_tamed() {
        let title = format!("/a\u{0}b{}", "x".repeat(500));
        let svg = render_history_svg(&title, &[], 0, ChartOptions::default()).expect("renders");
        assert!(!svg.contains('\u{0}'));
        assert!(svg.contains('…'));
        // The drawn title is cut, the accessible name is not.
        assert!(svg.contains(&format!("{}</title>", "x".repeat(500))));
    }

    #[test]
    fn the_root_scales_and_is_accessible() {
        let days = series(date(2024, 3, 1), 3, |_| 2);
        let svg = render(&days, 0);
        assert!(svg.starts_with(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 800 320\" width=\"100%\" role=\"img\""
        ));
        let root = &svg[..svg.find('>').expect("a root tag")];
        assert!(!root.contains("height="), "{root}");
        assert!(svg.contains("<title>Calls to /blog/post</title>"));
        assert!(svg.contains("<desc>2024-03-01 – 2024-03-03 · 6 calls · 6 in total</desc>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn the_total_is_off_by_default_and_every_bar_has_a_title() {
        let days = series(date(2024, 3, 1), 3, |i| i as u64 + 1);
        let svg = render_history_svg("/", &days, 100, ChartOptions::default()).expect("renders");
        assert!(!texts(&svg).contains(&"total".to_owned()), "{svg}");
        assert!(!svg.contains("#E8684A"), "no line drawn");
        assert_eq!(svg.matches("class=\"bar\"").count(), 3);
        assert!(svg.contains("<title>2024-03-03: 3 calls</title></rect>"), "{svg}");
        assert!(svg.contains("prefers-color-scheme:dark"));
    }

    #[test]
    fn today_is_drawn_as_so_far() {
        let days = series(date(2024, 3, 1), 10, |_| 4);
        let options = ChartOptions {
            ends_today: true,
            ..ChartOptions::default()
        };
        let svg = render_history_svg("/", &days, 0, options).expect("renders");
        assert_eq!(svg.matches("class=\"bar partial\"").count(), 1);
        assert!(svg.contains("<title>2024-03-10: 4 calls so far</title>"), "{svg}");
        assert!(texts(&svg).contains(&"so far".to_owned()));
    }

    #[test]
    fn a_spike_is_clipped_and_labelled_with_its_value() {
        let days = series(
            date(2024, 3, 1),
            30,
            |i| if i == 20 { 50_000 } else { 10 + i as u64 % 3 },
        );
        let svg = render_history_svg("/", &days, 0, ChartOptions::default()).expect("renders");
        assert_eq!(svg.matches("class=\"bar clipped\"").count(), 1);
        assert!(svg.contains("<title>2024-03-21: 50,000 calls</title>"));
        let texts = texts(&svg);
        assert!(texts.contains(&"50.0k".to_owned()), "{texts:?}");
        // The axis stops far below the spike, so the other days stay readable.
        assert!(!texts.iter().any(|t| t == "50k" || t == "60k"), "{texts:?}");
    }

    #[test]
    fn the_narrow_chart_is_its_own_canvas_without_the_drawn_title() {
        let days = series(date(2024, 3, 1), 120, |i| i as u64);
        let options = ChartOptions {
            narrow: true,
            ..ChartOptions::default()
        };
        let svg = render_history_svg("/blog/post", &days, 0, options).expect("renders");
        assert!(svg.contains("viewBox=\"0 0 420 300\""), "{}", &svg[..300]);
        assert!(svg.contains("class=\"footfall-chart narrow\""));
        assert!(!texts(&svg).contains(&"/blog/post".to_owned()));
        assert_eq!(svg.matches("class=\"bar\"").count(), 119, "day 0 has no bar");
    }

    #[test]
    fn three_and_ten_years_stay_small() {
        for (years, start) in [(3, date(2022, 1, 1)), (10, date(2015, 1, 1))] {
            let end = start.saturating_add(years.years());
            let len = usize::try_from(start.until(end).expect("span").get_days()).expect("positive");
            let days = series(start, len, |i| (i as u64 * 7919) % 500);
            let svg = render(&days, 12_345);
            assert!(svg.len() < 100_000, "{years} years: {} bytes", svg.len());
            let texts = texts(&svg);
            assert!(texts.contains(&(2022).to_string()), "{years}y {texts:?}");
            assert!(texts.contains(&"calls per month".to_owned()));
        }
    }

    #[test]
    fn output_size_does_not_grow_with_the_number_of_calls() {
        let days = series(date(2020, 1, 1), 365, |_| 1);
        let few = render(&days, 0).len();
        let days = series(date(2020, 1, 1), 365, |_| u64::MAX / 1_000);
        let many = render(&days, u64::MAX / 2).len();
        assert!(many < few + 2_000, "{few} vs {many}");
    }
}
