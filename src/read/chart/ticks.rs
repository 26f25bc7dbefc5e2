//! Which days get an x-axis label: calendar-aligned tick rules from dense
//! (every day) to sparse (every ten years), and the densest rule whose
//! labels do not overlap at the chart's width. Pure arithmetic on the series
//! and estimated text widths.

use jiff::civil::{Date, Weekday};

use super::layout::TEXT_PX;
use super::DayCount;

/// Generous average advance of a sans-serif character, in em. Used to keep
/// axis labels apart, so it errs wide (DejaVu Sans digits are 0.64 em).
pub(super) const CHAR_EM: f64 = 0.64;
/// Minimum free space between two x-axis labels, in px.
const LABEL_GAP: f64 = 14.0;
/// Minimum distance between two x-axis ticks, in px, so short labels
/// ("Feb") do not pack into a dense row.
const MIN_TICK_DISTANCE: f64 = 44.0;
const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

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
pub(super) struct Tick {
    pub(super) x: f64,
    pub(super) label: String,
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
pub(super) fn choose_ticks(days: &[DayCount], px_per_day: f64, centered: bool) -> Vec<Tick> {
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

#[cfg(test)]
mod tests {
    use super::super::layout::{BarPeriod, Canvas};
    use super::*;
    use crate::read::chart::tests::series;
    use jiff::civil::date;

    #[test]
    fn x_labels_never_overlap_from_one_day_to_fifty_years() {
        let start = date(2001, 2, 3);
        let mut len = 1;
        while len < 366 * 50 {
            let days = series(start, len, |_| 0);
            let centered = BarPeriod::for_days(len) == BarPeriod::Day;
            let plot_width = Canvas::new(false, true).plot_width();
            let ticks = choose_ticks(&days, plot_width / len as f64, centered);
            assert!(!ticks.is_empty(), "{len} days have no label");
            assert!(ticks_fit(&ticks, plot_width / len as f64), "{len} days");
            assert!(ticks.len() <= 16, "{len} days: {} labels", ticks.len());
            len = len * 5 / 4 + 1;
        }
    }
}
