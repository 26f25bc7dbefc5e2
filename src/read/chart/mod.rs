//! The history chart: a page's daily call counts in, one self-contained SVG out.
//!
//! Owns the chart's layout: grouping long ranges into weeks, months or years
//! so output size and render time stay bounded, calendar-aligned date ticks
//! that never overlap, the two y axes (calls per bucket as bars, running total
//! as a line), and the accessible, scalable `<svg>` wrapper.
//!
//! Must not do I/O, read the clock or know about storage: the caller hands in
//! a finished, gap-free series. Must not need fonts: plotters is built without
//! its `ttf`/`ab_glyph` features, so it only *estimates* text widths and emits
//! `<text>` elements that the browser lays out. All layout decisions below
//! therefore leave generous room around text.

use std::fmt::Write as _;
use std::ops::Range;

use jiff::civil::{Date, Weekday};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::markup::escape_xml;
use crate::read::format::{format_count, group_thousands};

/// Calls to one page on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    pub day: Date,
    pub count: u64,
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

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        ChartError::Draw(e.to_string())
    }
}

// The drawing is laid out in a fixed 800×320 user space; the root element has
// a viewBox and `width="100%"` and no height, so it scales with its container.
const WIDTH: u32 = 800;
const HEIGHT: u32 = 320;
const HEADER_HEIGHT: u32 = 54;
const MARGIN: u32 = 12;
const Y_LABEL_AREA: u32 = 58;
const X_LABEL_AREA: u32 = 26;

const FONT_FAMILY: &str = "sans-serif";
// Whole sizes that survive plotters' ×1.24 ÷1.24 round trip exactly, so the
// SVG says font-size="16", not "15.000000000000002".
const TITLE_PX: f64 = 16.0;
const TEXT_PX: f64 = 12.0;
/// Generous average advance of a sans-serif character, in em. Used to keep
/// axis labels apart, so it errs wide (DejaVu Sans digits are 0.64 em).
const CHAR_EM: f64 = 0.64;
/// Typical advance of lowercase text, in em, for placing the legend.
const LOWERCASE_EM: f64 = 0.56;
/// Minimum free space between two x-axis labels, in px.
const LABEL_GAP: f64 = 14.0;
/// Minimum distance between two x-axis ticks, in px, so short labels
/// ("Feb") do not pack into a dense row.
const MIN_TICK_DISTANCE: f64 = 44.0;
/// Bars never get wider than this, so a one-day chart does not show a slab.
const MAX_BAR_PX: f64 = 44.0;
/// Up to this many buckets the line gets a dot per point.
const MAX_MARKED_POINTS: usize = 40;

const BACKGROUND: RGBColor = RGBColor(0xff, 0xff, 0xff);
const TEXT: RGBColor = RGBColor(0x1f, 0x29, 0x37);
const MUTED_TEXT: RGBColor = RGBColor(0x6b, 0x72, 0x80);
const GRID: RGBColor = RGBColor(0xe5, 0xe7, 0xeb);
const AXIS: RGBColor = RGBColor(0x9c, 0xa3, 0xaf);
const BAR: RGBColor = RGBColor(0x5b, 0x8f, 0xf9);
const LINE: RGBColor = RGBColor(0xe8, 0x68, 0x4a);

const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Renders the call history of the page `title` (its path) as an SVG string.
///
/// `days` must be sorted by day, contiguous (the caller fills in zero days)
/// and is normally non-empty; an empty slice renders a "No calls yet" card
/// rather than failing, so a page that was never called still gets a chart.
/// `total_before` is the number of calls before the first day, so the running
/// total continues from it.
///
/// Bars show calls per day for up to 120 days, per week (Monday to Sunday) up
/// to 630 days, per month up to 25 years and per year beyond that; edge
/// buckets may be partial and are drawn narrower. The output therefore holds
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
pub fn render_history_svg(title: &str, days: &[DayCount], total_before: u64) -> Result<String, ChartError> {
    check_contiguous(days)?;
    let title = replace_control_chars(title);
    let shown_title = shorten(&title);
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        let body = draw_empty(&shown_title)?;
        return wrap_svg(body, &title, "No calls yet");
    };

    let size = BucketSize::for_days(days.len());
    let buckets = bucket(days, size);
    let calls_in_range = buckets.iter().fold(0u64, |sum, b| sum.saturating_add(b.count));
    let total = total_before.saturating_add(calls_in_range);

    let range = if first.day == last.day {
        first.day.to_string()
    } else {
        format!("{} – {}", first.day, last.day)
    };
    let summary = format!(
        "{range} · {} {} · {} in total",
        group_thousands(calls_in_range),
        if calls_in_range == 1 { "call" } else { "calls" },
        group_thousands(total),
    );
    let body = draw_chart(&shown_title, &summary, days, total_before, size, &buckets)?;
    wrap_svg(body, &title, &summary)
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

/// Shortens the drawn title with "…" so it cannot run into the legend; the
/// accessible name keeps the whole path.
fn shorten(title: &str) -> String {
    let max_chars = ((f64::from(WIDTH) * 0.55) / (TITLE_PX * CHAR_EM)) as usize;
    if title.chars().count() <= max_chars {
        return title.to_owned();
    }
    let mut short: String = title.chars().take(max_chars.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// How many days one bar covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BucketSize {
    Day,
    Week,
    Month,
    Year,
}

impl BucketSize {
    /// Keeps the number of bars between a few and about 300, so that bars
    /// stay at least ~2 px wide and the SVG stays small.
    fn for_days(days: usize) -> Self {
        match days {
            0..=120 => BucketSize::Day,
            121..=630 => BucketSize::Week,
            631..=9131 => BucketSize::Month,
            _ => BucketSize::Year,
        }
    }

    /// Whether `day` opens a new bucket.
    fn starts_at(self, day: Date) -> bool {
        match self {
            BucketSize::Day => true,
            BucketSize::Week => day.weekday() == Weekday::Monday,
            BucketSize::Month => day.day() == 1,
            BucketSize::Year => day.day_of_year() == 1,
        }
    }

    fn axis_description(self) -> &'static str {
        match self {
            BucketSize::Day => "calls per day",
            BucketSize::Week => "calls per week",
            BucketSize::Month => "calls per month",
            BucketSize::Year => "calls per year",
        }
    }
}

/// One bar: days `start..end` (indices into the series) and their calls.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Bucket {
    start: usize,
    end: usize,
    count: u64,
}

fn bucket(days: &[DayCount], size: BucketSize) -> Vec<Bucket> {
    let mut buckets: Vec<Bucket> = Vec::new();
    for (i, day) in days.iter().enumerate() {
        match buckets.last_mut() {
            Some(open) if !size.starts_at(day.day) => {
                open.end = i + 1;
                open.count = open.count.saturating_add(day.count);
            }
            _ => buckets.push(Bucket {
                start: i,
                end: i + 1,
                count: day.count,
            }),
        }
    }
    buckets
}

/// Which days get an x-axis label, from densest to sparsest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TickRule {
    /// Every n-th day of the series.
    Days(usize),
    /// Every n-th Monday.
    Weeks(usize),
    /// The first of every n-th month (January, then every n months).
    Months(i8),
    /// January 1st of years divisible by n.
    Years(i16),
}

const TICK_RULES: [TickRule; 20] = [
    TickRule::Days(1),
    TickRule::Days(2),
    TickRule::Weeks(1),
    TickRule::Weeks(2),
    TickRule::Months(1),
    TickRule::Months(2),
    TickRule::Months(3),
    TickRule::Months(6),
    TickRule::Years(1),
    TickRule::Years(2),
    TickRule::Years(5),
    TickRule::Years(10),
    TickRule::Years(20),
    TickRule::Years(50),
    TickRule::Years(100),
    TickRule::Years(200),
    TickRule::Years(500),
    TickRule::Years(1000),
    TickRule::Years(2000),
    TickRule::Years(5000),
];

/// An x-axis label: its position in day units and its text.
#[derive(Debug, Clone, PartialEq)]
struct Tick {
    x: f64,
    label: String,
}

/// Labels by day ("Mar 5") or by month ("Mar") read without a year; the
/// summary line under the title gives the full date range, and month labels
/// say the year on January instead of "Jan" (as d3's multi-scale time format
/// does).
fn tick_label(rule: TickRule, day: Date) -> String {
    let month = MONTH_NAMES[usize::try_from(day.month() - 1).unwrap_or(0)];
    match rule {
        TickRule::Days(_) | TickRule::Weeks(_) => format!("{month} {}", day.day()),
        TickRule::Months(_) if day.month() == 1 => day.year().to_string(),
        TickRule::Months(_) => month.to_owned(),
        TickRule::Years(_) => day.year().to_string(),
    }
}

fn ticks_for(rule: TickRule, days: &[DayCount], centered: bool) -> Vec<Tick> {
    let offset = if centered { 0.5 } else { 0.0 };
    let mut mondays = 0;
    let mut ticks = Vec::new();
    for (i, d) in days.iter().enumerate() {
        let day = d.day;
        let hit = match rule {
            TickRule::Days(n) => i % n == 0,
            TickRule::Weeks(n) => {
                let hit = day.weekday() == Weekday::Monday && mondays % n == 0;
                if day.weekday() == Weekday::Monday {
                    mondays += 1;
                }
                hit
            }
            TickRule::Months(n) => day.day() == 1 && (day.month() - 1) % n == 0,
            TickRule::Years(n) => day.day_of_year() == 1 && day.year() % n == 0,
        };
        if hit {
            ticks.push(Tick {
                x: i as f64 + offset,
                label: tick_label(rule, day),
            });
        }
    }
    ticks
}

/// Estimated width of a label in px; errs wide, see [`CHAR_EM`].
fn label_px(label: &str) -> f64 {
    label.chars().count() as f64 * TEXT_PX * CHAR_EM
}

/// Whether the labels fit side by side at `px_per_day` with room between.
fn ticks_fit(ticks: &[Tick], px_per_day: f64) -> bool {
    ticks.windows(2).all(|pair| {
        let distance = (pair[1].x - pair[0].x) * px_per_day;
        let needed = (label_px(&pair[0].label) + label_px(&pair[1].label)) / 2.0 + LABEL_GAP;
        distance >= needed.max(MIN_TICK_DISTANCE)
    })
}

/// The densest calendar-aligned ticks whose labels do not overlap. A rule
/// with fewer than two ticks is only taken if no rule gives two that fit.
fn choose_ticks(days: &[DayCount], px_per_day: f64, centered: bool) -> Vec<Tick> {
    let mut fallback: Option<Vec<Tick>> = None;
    for rule in TICK_RULES {
        let ticks = ticks_for(rule, days, centered);
        if !ticks_fit(&ticks, px_per_day) {
            continue;
        }
        if ticks.len() >= 2 {
            return ticks;
        }
        if fallback.is_none() && !ticks.is_empty() {
            fallback = Some(ticks);
        }
    }
    fallback.unwrap_or_default()
}

/// A y axis from 0 to `step * intervals`, with a grid line at every step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct YScale {
    step: u64,
    intervals: u64,
}

impl YScale {
    fn top(self) -> f64 {
        (self.step as f64) * (self.intervals as f64)
    }

    fn ticks(self) -> Vec<f64> {
        (0..=self.intervals).map(|i| (i as f64) * (self.step as f64)).collect()
    }
}

/// The smallest "nice" integer step (1, 2, 5, then 10, 20, 25, 50 × 10ⁿ)
/// with `step * intervals >= max`; saturates at `u64::MAX`.
fn nice_step(max: u64, intervals: u64) -> u64 {
    let max = u128::from(max.max(1));
    let intervals = u128::from(intervals.max(1));
    let mut magnitude: u128 = 1;
    loop {
        // In tenths of `magnitude`; 2.5 only from 25 up, since steps are whole.
        for tenths in [10, 20, 25, 50] {
            if magnitude == 1 && tenths == 25 {
                continue;
            }
            let step = tenths * magnitude / 10;
            if step * intervals >= max {
                return u64::try_from(step).unwrap_or(u64::MAX);
            }
        }
        magnitude *= 10;
    }
}

/// Scales for both y axes with the same number of intervals, so that the
/// right axis' ticks sit on the left axis' grid lines and one grid serves
/// both. Picks the interval count that leaves the least empty space on top.
fn y_scales(bar_max: u64, total_max: u64) -> (YScale, YScale) {
    // Integers only: a count axis of 0, 0.5, 1 would read as half calls.
    let most = bar_max.clamp(1, 6);
    let fewest = most.min(3);
    let mut best: Option<(f64, YScale, YScale)> = None;
    for intervals in fewest..=most {
        let bars = YScale {
            step: nice_step(bar_max, intervals),
            intervals,
        };
        let totals = YScale {
            step: nice_step(total_max, intervals),
            intervals,
        };
        let fill = (bar_max.max(1) as f64 / bars.top()) * (total_max.max(1) as f64 / totals.top());
        if best.is_none_or(|(best_fill, _, _)| fill > best_fill + 1e-9) {
            best = Some((fill, bars, totals));
        }
    }
    match best {
        Some((_, bars, totals)) => (bars, totals),
        None => (YScale { step: 1, intervals: 1 }, YScale { step: 1, intervals: 1 }),
    }
}

/// Axis number for an axis whose top tick is `axis_top`: "950", "2,500",
/// "20k", "1.5M". Once the top reads "10k" or more, the thousands below it
/// say "5k" too rather than "5,000", so one axis uses one style.
fn axis_label(value: f64, axis_top: f64) -> String {
    let value = value.round().max(0.0) as u64;
    if axis_top >= 10_000.0 && (1_000..10_000).contains(&value) {
        let tenths = (value + 50) / 100;
        return if tenths % 10 == 0 {
            format!("{}k", tenths / 10)
        } else {
            format!("{}.{}k", tenths / 10, tenths % 10)
        };
    }
    let text = format_count(value);
    // format_count always keeps one decimal above 10,000; an axis at round
    // numbers reads better without the ".0".
    match text.find(".0") {
        Some(dot) if text[dot + 2..].chars().all(char::is_alphabetic) => {
            format!("{}{}", &text[..dot], &text[dot + 2..])
        }
        _ => text,
    }
}

/// plotters divides font sizes by 1.24 when writing SVG; this undoes that so
/// the constants above are the sizes that end up in the output.
fn font(px: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT_FAMILY), px * 1.24, FontStyle::Normal)
}

/// Draws the title and the `summary` line under it on the left and, if
/// `legend` (the bars' name) is given, a legend for bars and line on the right.
fn draw_header<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    summary: Option<&str>,
    legend: Option<&str>,
) -> Result<(), ChartError> {
    let plot_left = (MARGIN + Y_LABEL_AREA) as i32;
    let plot_right = (WIDTH - MARGIN - Y_LABEL_AREA) as i32;
    let title_y = 22;
    let title_style = FontDesc::new(FontFamily::Name(FONT_FAMILY), TITLE_PX * 1.24, FontStyle::Bold)
        .color(&TEXT)
        .pos(Pos::new(HPos::Left, VPos::Center));
    area.draw_text(title, &title_style, (plot_left, title_y))?;
    let small = font(TEXT_PX).color(&MUTED_TEXT).pos(Pos::new(HPos::Left, VPos::Center));
    if let Some(summary) = summary {
        area.draw_text(summary, &small, (plot_left, title_y + 20))?;
    }

    let Some(bars_label) = legend else {
        return Ok(());
    };
    // Laid out left to right from an estimated start, so each swatch sits
    // right next to its text whatever font the browser picks; only the right
    // end of the legend depends on the estimate.
    let text_width = |text: &str| (text.chars().count() as f64 * TEXT_PX * LOWERCASE_EM) as i32;
    let total_label = "total";
    let width = 16 + text_width(bars_label) + 20 + 22 + text_width(total_label);
    let mut x = plot_right - width;
    area.draw(&Rectangle::new([(x, title_y - 5), (x + 10, title_y + 5)], BAR.filled()))?;
    x += 16;
    area.draw_text(bars_label, &small, (x, title_y))?;
    x += text_width(bars_label) + 20;
    area.draw(&PathElement::new(
        vec![(x, title_y), (x + 16, title_y)],
        LINE.stroke_width(2),
    ))?;
    x += 22;
    area.draw_text(total_label, &small, (x, title_y))?;
    Ok(())
}

fn draw_empty(title: &str) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&BACKGROUND)?;
        let (header, body) = root.split_vertically(HEADER_HEIGHT);
        draw_header(&header, title, None, None)?;
        draw_no_calls(&body)?;
        root.present()?;
    }
    Ok(svg)
}

fn draw_no_calls<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>) -> Result<(), ChartError> {
    let (w, h) = area.dim_in_pixel();
    let style = font(16.0).color(&MUTED_TEXT).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text("No calls yet", &style, ((w / 2) as i32, (h / 2) as i32 - 10))?;
    Ok(())
}

/// A linear axis whose ticks are chosen here rather than by plotters, whose
/// own choice (round numbers of days) would ignore the calendar.
#[derive(Debug, Clone)]
struct TickedAxis {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        if span <= 0.0 {
            return limit.0 + (limit.1 - limit.0) / 2;
        }
        let fraction = (value - self.range.start) / span;
        (f64::from(limit.0) + fraction * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Only "bold" points: light grid lines would only add clutter.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

fn axis(range: Range<f64>, ticks: Vec<f64>) -> TickedAxis {
    TickedAxis { range, ticks }
}

type Axes = Cartesian2d<TickedAxis, TickedAxis>;

fn draw_chart(
    title: &str,
    summary: &str,
    days: &[DayCount],
    total_before: u64,
    size: BucketSize,
    buckets: &[Bucket],
) -> Result<String, ChartError> {
    let day_count = days.len() as f64;
    let bar_max = buckets.iter().map(|b| b.count).max().unwrap_or(0);
    let mut running = total_before;
    // The total at the end of each bucket, above the bucket's bar, as combo
    // charts do: a one-day chart then shows a dot, not a ramp across the plot.
    let mut line: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for b in buckets {
        running = running.saturating_add(b.count);
        line.push(((b.start + b.end) as f64 / 2.0, running as f64));
    }
    let (bar_scale, total_scale) = y_scales(bar_max, running);

    let plot_width = f64::from(WIDTH - 2 * MARGIN - 2 * Y_LABEL_AREA);
    let px_per_day = plot_width / day_count;
    let ticks = choose_ticks(days, px_per_day, size == BucketSize::Day);
    let x_positions: Vec<f64> = ticks.iter().map(|t| t.x).collect();

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&BACKGROUND)?;
        let (header, body) = root.split_vertically(HEADER_HEIGHT);
        draw_header(&header, title, Some(summary), Some(size.axis_description()))?;

        let mut chart = ChartBuilder::on(&body)
            .margin_left(MARGIN)
            .margin_right(MARGIN)
            .margin_bottom(4)
            .margin_top(6)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .right_y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(
                axis(0.0..day_count, x_positions),
                axis(0.0..bar_scale.top(), bar_scale.ticks()),
            )?
            .set_secondary_coord(
                axis(0.0..day_count, Vec::new()),
                axis(0.0..total_scale.top(), total_scale.ticks()),
            );
        // The ticks were spaced for `plot_width` before plotters laid out the
        // chart; this catches the two drifting apart when margins change.
        debug_assert_eq!(f64::from(chart.plotting_area().dim_in_pixel().0), plot_width);

        let x_label = |x: &f64| {
            ticks
                .iter()
                .find(|t| (t.x - x).abs() < 1e-6)
                .map(|t| t.label.clone())
                .unwrap_or_default()
        };
        let bar_label = |y: &f64| axis_label(*y, bar_scale.top());
        let total_label = |y: &f64| axis_label(*y, total_scale.top());
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(GRID)
            .axis_style(TRANSPARENT)
            // Invisible ticks (the axis style is transparent) that keep the
            // labels a few pixels away from the plot.
            .set_all_tick_mark_size(4)
            .x_label_formatter(&x_label)
            .y_label_formatter(&bar_label)
            .label_style(font(TEXT_PX).color(&MUTED_TEXT))
            .y_desc(size.axis_description())
            .axis_desc_style(font(TEXT_PX).color(&BAR))
            .draw()?;
        chart
            .configure_secondary_axes()
            .axis_style(TRANSPARENT)
            .set_all_tick_mark_size(4)
            .y_label_formatter(&total_label)
            .label_style(font(TEXT_PX).color(&MUTED_TEXT))
            .y_desc("total")
            .axis_desc_style(font(TEXT_PX).color(&LINE))
            .draw()?;

        draw_bars(&mut chart, buckets, px_per_day)?;
        // The baseline goes over the bars' bottom edges, which end on it.
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 0.0), (day_count, 0.0)],
            AXIS.stroke_width(1),
        )))?;
        if running == 0 {
            // A line along the baseline would only hide it; say it instead.
            draw_no_calls(&chart.plotting_area().strip_coord_spec())?;
        } else {
            chart.draw_secondary_series(std::iter::once(PathElement::new(line.clone(), LINE.stroke_width(2))))?;
            if line.len() <= MAX_MARKED_POINTS {
                chart.draw_secondary_series(line.iter().map(|&point| Circle::new(point, 3, LINE.filled())))?;
            }
        }
        root.present()?;
    }
    Ok(svg)
}

fn draw_bars<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Axes>,
    buckets: &[Bucket],
    px_per_day: f64,
) -> Result<(), ChartError> {
    chart.draw_series(buckets.iter().filter(|b| b.count > 0).map(|b| {
        let span = bar_span(b.start..b.end, px_per_day);
        Rectangle::new([(span.start, 0.0), (span.end, b.count as f64)], BAR.filled())
    }))?;
    Ok(())
}

/// The part of a bucket's day range its bar covers: 80% of it, centred,
/// but no wider than [`MAX_BAR_PX`].
fn bar_span(days: Range<usize>, px_per_day: f64) -> Range<f64> {
    let width_days = (days.end - days.start) as f64;
    let bar_days = (width_days * 0.8).min(MAX_BAR_PX / px_per_day);
    let inset = (width_days - bar_days) / 2.0;
    (days.start as f64 + inset)..(days.end as f64 - inset)
}

/// Replaces plotters' root tag with one that scales to its container and
/// names the image for assistive technology.
fn wrap_svg(body: String, title: &str, description: &str) -> Result<String, ChartError> {
    let open_end = body
        .strip_prefix("<svg ")
        .and_then(|rest| rest.find('>'))
        .ok_or_else(|| ChartError::Draw("plotters produced no <svg> root".to_owned()))?;
    let rest = &body["<svg ".len() + open_end + 1..];
    let label = escape_xml(&format!("Calls to {title}"));
    let mut svg = String::with_capacity(body.len() + 256);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="{label}"><title>{label}</title><desc>{}</desc>"#,
        escape_xml(description)
    );
    svg.push_str(rest);
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use jiff::ToSpan;

    /// `len` days from `start`, with counts from `count(i)`.
    fn series(start: Date, len: usize, count: impl Fn(usize) -> u64) -> Vec<DayCount> {
        let mut day = start;
        let mut days = Vec::with_capacity(len);
        for i in 0..len {
            days.push(DayCount { day, count: count(i) });
            day = day.tomorrow().expect("test dates are far from the end");
        }
        days
    }

    fn render(days: &[DayCount], total_before: u64) -> String {
        render_history_svg("/blog/post", days, total_before).expect("chart renders")
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
        let svg = render_history_svg("/new", &[], 0).expect("empty renders");
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
            render_history_svg("/", &days, 0),
            Err(ChartError::NotContiguous { .. })
        ));
        days.swap(0, 1);
        assert!(render_history_svg("/", &days, 0).is_err());
    }

    #[test]
    fn the_title_is_text_never_markup() {
        let title = r#"/"><script>alert(1)</script>"#;
        let days = series(date(2024, 3, 1), 3, |_| 1);
        for svg in [
            render_history_svg(title, &days, 0).expect("renders"),
            render_history_svg(title, &[], 0).expect("renders"),
        ] {
            assert!(!svg.contains("<script"), "{svg}");
            assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
            assert!(svg.contains("aria-label=\"Calls to /&quot;&gt;&lt;script&gt;"));
        }
    }

    #[test]
    fn control_characters_and_long_titles_are_tamed() {
        let title = format!("/a\u{0}b{}", "x".repeat(500));
        let svg = render_history_svg(&title, &[], 0).expect("renders");
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
        assert!(!svg[..200].contains("height="));
        assert!(svg.contains("<title>Calls to /blog/post</title>"));
        assert!(svg.contains("<desc>2024-03-01 – 2024-03-03 · 6 calls · 6 in total</desc>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.trim_end().ends_with("</svg>"));
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

    #[test]
    fn buckets_follow_the_calendar() {
        // 2024-03-01 is a Friday: the first week bucket is Fri–Sun.
        let days = series(date(2024, 3, 1), 10, |_| 1);
        let weeks = bucket(&days, BucketSize::Week);
        assert_eq!(
            weeks,
            vec![
                Bucket {
                    start: 0,
                    end: 3,
                    count: 3
                },
                Bucket {
                    start: 3,
                    end: 10,
                    count: 7
                },
            ]
        );
        let days = series(date(2023, 12, 30), 40, |_| 2);
        let months = bucket(&days, BucketSize::Month);
        let sizes: Vec<_> = months.iter().map(|b| b.end - b.start).collect();
        assert_eq!(sizes, vec![2, 31, 7]);
        assert_eq!(months.iter().map(|b| b.count).sum::<u64>(), 80);
    }

    #[test]
    fn x_labels_never_overlap_from_one_day_to_fifty_years() {
        let start = date(2001, 2, 3);
        let plot_width = f64::from(WIDTH - 2 * MARGIN - 2 * Y_LABEL_AREA);
        let mut len = 1;
        while len < 366 * 50 {
            let days = series(start, len, |_| 0);
            let centered = BucketSize::for_days(len) == BucketSize::Day;
            let ticks = choose_ticks(&days, plot_width / len as f64, centered);
            assert!(!ticks.is_empty(), "{len} days have no label");
            assert!(ticks_fit(&ticks, plot_width / len as f64), "{len} days");
            assert!(ticks.len() <= 16, "{len} days: {} labels", ticks.len());
            len = len * 5 / 4 + 1;
        }
    }

    #[test]
    fn y_scales_share_grid_lines_and_use_nice_steps() {
        let (bars, totals) = y_scales(7, 1_234);
        assert_eq!(bars.intervals, totals.intervals);
        assert!(bars.top() >= 7.0 && totals.top() >= 1_234.0);
        assert_eq!(y_scales(0, 0).0, YScale { step: 1, intervals: 1 });
        assert_eq!(y_scales(2, 2).0, YScale { step: 1, intervals: 2 });
        assert_eq!(nice_step(101, 4), 50);
        assert_eq!(nice_step(90, 4), 25);
        assert_eq!(nice_step(u64::MAX, 1), u64::MAX);
    }

    #[test]
    fn axis_labels_are_compact() {
        assert_eq!(axis_label(950.0, 1_000.0), "950");
        assert_eq!(axis_label(2_500.0, 5_000.0), "2,500");
        assert_eq!(axis_label(20_000.0, 20_000.0), "20k");
        assert_eq!(axis_label(1_500_000.0, 2_000_000.0), "1.5M");
        // Below a top of 10k or more, thousands are compact as well.
        assert_eq!(axis_label(5_000.0, 20_000.0), "5k");
        assert_eq!(axis_label(2_500.0, 10_000.0), "2.5k");
        assert_eq!(axis_label(500.0, 20_000.0), "500");
    }
}
