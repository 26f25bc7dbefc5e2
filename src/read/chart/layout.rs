//! The chart's layout decisions: the canvas geometry, how many days one bar
//! covers, which days get an x-axis label, the y scales and their labels,
//! and how long a drawn title may be.
//!
//! Pure arithmetic on the series and estimated text widths. Must not call
//! plotters or know about SVG; [`super::draw`] turns these decisions into
//! shapes.

use std::ops::Range;

use jiff::civil::{Date, Weekday};

use super::ticks::CHAR_EM;
use super::DayCount;
use crate::read::format::format_count;

pub(super) const MARGIN: u32 = 12;
pub(super) const Y_LABEL_AREA: u32 = 58;
/// Right of the plot without a right axis: room for half a date label.
const RIGHT_PADDING: u32 = 24;

/// The drawing's user space. The root element has a viewBox and
/// `width="100%"` and no height, so it scales with its container; a page
/// shows the wide canvas on screens and the narrow one on phones, where
/// the wide one would shrink its text to about 5 px.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Canvas {
    pub(super) width: u32,
    pub(super) height: u32,
    /// A right y axis (for the running total) takes room from the plot.
    pub(super) right_axis: bool,
}

impl Canvas {
    pub(super) fn new(narrow: bool, right_axis: bool) -> Self {
        let (width, height) = if narrow { (420, 300) } else { (800, 320) };
        Self {
            width,
            height,
            right_axis,
        }
    }

    /// The width of the label area right of the plot.
    pub(super) fn right_area(self) -> u32 {
        if self.right_axis {
            Y_LABEL_AREA
        } else {
            RIGHT_PADDING
        }
    }

    pub(super) fn plot_left(self) -> u32 {
        MARGIN + Y_LABEL_AREA
    }

    pub(super) fn plot_right(self) -> u32 {
        self.width - MARGIN - self.right_area()
    }

    /// The plot's width in px: the canvas minus margins and label areas.
    pub(super) fn plot_width(self) -> f64 {
        f64::from(self.plot_right() - self.plot_left())
    }
}

// Whole sizes that survive plotters' ×1.24 ÷1.24 round trip exactly, so the
// SVG says font-size="16", not "15.000000000000002".
pub(super) const TITLE_PX: f64 = 16.0;
pub(super) const TEXT_PX: f64 = 12.0;
/// Bars never get wider than this, so a one-day chart does not show a slab.
const MAX_BAR_PX: f64 = 44.0;

/// Shortens the drawn title with "…" so it cannot run into the legend; the
/// accessible name keeps the whole path.
pub(super) fn shorten(title: &str, canvas: Canvas) -> String {
    let max_chars = ((f64::from(canvas.width) * 0.55) / (TITLE_PX * CHAR_EM)) as usize;
    if title.chars().count() <= max_chars {
        return title.to_owned();
    }
    let mut short: String = title.chars().take(max_chars.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// How many days one bar covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BarPeriod {
    Day,
    Week,
    Month,
    Year,
}

impl BarPeriod {
    /// Keeps the number of bars between a few and about 300, so that bars
    /// stay at least ~2 px wide and the SVG stays small.
    pub(super) fn for_days(days: usize) -> Self {
        match days {
            0..=120 => BarPeriod::Day,
            121..=630 => BarPeriod::Week,
            631..=9131 => BarPeriod::Month,
            _ => BarPeriod::Year,
        }
    }

    /// Whether `day` opens a new bar.
    fn starts_at(self, day: Date) -> bool {
        match self {
            BarPeriod::Day => true,
            BarPeriod::Week => day.weekday() == Weekday::Monday,
            BarPeriod::Month => day.day() == 1,
            BarPeriod::Year => day.day_of_year() == 1,
        }
    }

    pub(super) fn axis_description(self) -> &'static str {
        match self {
            BarPeriod::Day => "calls per day",
            BarPeriod::Week => "calls per week",
            BarPeriod::Month => "calls per month",
            BarPeriod::Year => "calls per year",
        }
    }
}

/// One bar: days `start..end` (indices into the series) and their calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Bar {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) count: u64,
}

/// Groups the series into bars of `period`, split where the calendar starts
/// a new period; the first and last bar may cover fewer days.
pub(super) fn group_bars(days: &[DayCount], period: BarPeriod) -> Vec<Bar> {
    let mut bars: Vec<Bar> = Vec::new();
    for (i, day) in days.iter().enumerate() {
        match bars.last_mut() {
            Some(open) if !period.starts_at(day.day) => {
                open.end = i + 1;
                open.count = open.count.saturating_add(day.count);
            }
            _ => bars.push(Bar {
                start: i,
                end: i + 1,
                count: day.count,
            }),
        }
    }
    bars
}

/// The part of a bar's day range it covers: 80% of it, centred, but no
/// wider than [`MAX_BAR_PX`].
pub(super) fn bar_span(days: Range<usize>, px_per_day: f64) -> Range<f64> {
    let width_days = (days.end - days.start) as f64;
    let bar_days = (width_days * 0.8).min(MAX_BAR_PX / px_per_day);
    let inset = (width_days - bar_days) / 2.0;
    (days.start as f64 + inset)..(days.end as f64 - inset)
}

/// A y axis from 0 to `step * intervals`, with a grid line at every step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct YScale {
    step: u64,
    intervals: u64,
}

impl YScale {
    pub(super) fn top(self) -> f64 {
        (self.step as f64) * (self.intervals as f64)
    }

    pub(super) fn ticks(self) -> Vec<f64> {
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
pub(super) fn y_scales(bar_max: u64, total_max: u64) -> (YScale, YScale) {
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

/// Below this many bars a percentile says little, so the axis is never capped.
const MIN_BARS_FOR_CAP: usize = 8;
/// Spikes smaller than this are drawn whole: capping a 0-to-9 axis hides nothing.
const MIN_SPIKE: u64 = 10;

/// Where the bar axis stops when one spike would flatten the rest: when the
/// tallest bar is more than 4× the 90th percentile of the bars (nearest
/// rank), the axis stops at twice that percentile, and the taller bars are
/// drawn clipped with their value written beside them. `None`: draw to the
/// tallest bar. `bars` are the bars' counts; a partial last bar may be
/// among them, it only ever lowers the percentile.
pub(super) fn axis_cap(bars: &[u64]) -> Option<u64> {
    let max = bars.iter().copied().max()?;
    if bars.len() < MIN_BARS_FOR_CAP || max < MIN_SPIKE {
        return None;
    }
    let mut sorted = bars.to_vec();
    sorted.sort_unstable();
    let rank = (sorted.len() * 9).div_ceil(10).max(1);
    let p90 = sorted[rank - 1];
    // Mostly empty days: there is no "rest" to flatten.
    (p90 > 0 && max > p90.saturating_mul(4)).then(|| p90.saturating_mul(2))
}

/// Axis number for an axis whose top tick is `axis_top`: "950", "2,500",
/// "20k", "1.5M". Once the top reads "10k" or more, the thousands below it
/// say "5k" too rather than "5,000", so one axis uses one style.
pub(super) fn axis_label(value: f64, axis_top: f64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::chart::tests::series;
    use jiff::civil::date;

    #[test]
    fn bars_follow_the_calendar() {
        // 2024-03-01 is a Friday: the first week bar is Fri–Sun.
        let days = series(date(2024, 3, 1), 10, |_| 1);
        let weeks = group_bars(&days, BarPeriod::Week);
        assert_eq!(
            weeks,
            vec![
                Bar {
                    start: 0,
                    end: 3,
                    count: 3
                },
                Bar {
                    start: 3,
                    end: 10,
                    count: 7
                },
            ]
        );
        let days = series(date(2023, 12, 30), 40, |_| 2);
        let months = group_bars(&days, BarPeriod::Month);
        let sizes: Vec<_> = months.iter().map(|b| b.end - b.start).collect();
        assert_eq!(sizes, vec![2, 31, 7]);
        assert_eq!(months.iter().map(|b| b.count).sum::<u64>(), 80);
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
    fn one_spike_caps_the_axis_and_even_data_does_not() {
        let mut counts = vec![10; 30];
        assert_eq!(axis_cap(&counts), None);
        counts[12] = 1_000;
        assert_eq!(axis_cap(&counts), Some(20));
        // Four times the percentile is still drawn whole.
        counts[12] = 40;
        assert_eq!(axis_cap(&counts), None);
        // Too few bars, or too small a spike, to judge.
        assert_eq!(axis_cap(&[1, 1, 1, 100]), None);
        assert_eq!(axis_cap(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 9]), None);
        assert_eq!(axis_cap(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 90]), None);
        assert_eq!(axis_cap(&[]), None);
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
