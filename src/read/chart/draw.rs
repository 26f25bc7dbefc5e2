//! Drawing the chart with plotters: the header with title, summary and
//! legend, both y axes with their grid, the bars, the running-total line,
//! and the `<svg>` root that scales and names the image.
//!
//! Takes every decision from [`super::layout`] (which bars, which ticks,
//! which scales) and only turns them into shapes; it must not choose
//! positions or text of its own beyond placing them on the canvas.

use std::fmt::Write as _;
use std::ops::Range;

use super::ticks::choose_ticks;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::bars::{self, BarKind, BAR};
use super::layout::{
    axis_cap, axis_label, bar_span, y_scales, Bar, BarPeriod, Canvas, MARGIN, TEXT_PX, TITLE_PX, Y_LABEL_AREA,
};
use super::{ChartError, ChartOptions, DayCount};
use crate::markup::escape_xml;

const HEADER_HEIGHT: u32 = 54;
const X_LABEL_AREA: u32 = 26;

const FONT_FAMILY: &str = "sans-serif";
/// Typical advance of lowercase text, in em, for placing the legend.
const LOWERCASE_EM: f64 = 0.56;
/// Up to this many bars the line gets a dot per point.
const MAX_MARKED_POINTS: usize = 40;

const BACKGROUND: RGBColor = RGBColor(0xff, 0xff, 0xff);
const TEXT: RGBColor = RGBColor(0x1f, 0x29, 0x37);
const MUTED_TEXT: RGBColor = RGBColor(0x6b, 0x72, 0x80);
const GRID: RGBColor = RGBColor(0xe5, 0xe7, 0xeb);
const AXIS: RGBColor = RGBColor(0x9c, 0xa3, 0xaf);
const LINE: RGBColor = RGBColor(0xe8, 0x68, 0x4a);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        ChartError::Draw(e.to_string())
    }
}

/// plotters divides font sizes by 1.24 when writing SVG; this undoes that so
/// `TEXT_PX` and `TITLE_PX` are the sizes that end up in the output.
fn font(px: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT_FAMILY), px * 1.24, FontStyle::Normal)
}

/// Draws the title and the `summary` line under it on the left and, if
/// `legend` (the bars' name) is given, a legend for the bars (and the line,
/// with `with_total`) on the right.
fn draw_header<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    canvas: Canvas,
    title: &str,
    summary: Option<&str>,
    legend: Option<&str>,
) -> Result<(), ChartError> {
    let with_total = canvas.right_axis;
    let plot_left = canvas.plot_left() as i32;
    let plot_right = canvas.plot_right() as i32;
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
    let mut width = 16 + text_width(bars_label);
    if with_total {
        width += 20 + 22 + text_width(total_label);
    }
    let mut x = plot_right - width;
    area.draw(&Rectangle::new([(x, title_y - 5), (x + 10, title_y + 5)], BAR.filled()))?;
    x += 16;
    area.draw_text(bars_label, &small, (x, title_y))?;
    if !with_total {
        return Ok(());
    }
    x += text_width(bars_label) + 20;
    area.draw(&PathElement::new(
        vec![(x, title_y), (x + 16, title_y)],
        LINE.stroke_width(2),
    ))?;
    x += 22;
    area.draw_text(total_label, &small, (x, title_y))?;
    Ok(())
}

/// The card for a page with no days yet: the title and "No calls yet".
pub(super) fn draw_empty(title: &str, canvas: Canvas) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (canvas.width, canvas.height)).into_drawing_area();
        root.fill(&BACKGROUND)?;
        let (header, body) = root.split_vertically(HEADER_HEIGHT);
        draw_header(&header, canvas, title, None, None)?;
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

/// Draws the chart of a non-empty series: header, axes, `bars` of `period`,
/// and (with `options.running_total`) the running total from
/// `total_before`. Returns plotters' SVG with the bars annotated, which
/// [`wrap_svg`] finishes.
pub(super) fn draw_chart(
    title: &str,
    summary: &str,
    days: &[DayCount],
    total_before: u64,
    period: BarPeriod,
    bars: &[Bar],
    options: ChartOptions,
) -> Result<String, ChartError> {
    let canvas = Canvas::new(options.narrow, options.running_total);
    let day_count = days.len() as f64;
    let counts: Vec<u64> = bars.iter().map(|b| b.count).collect();
    let bar_max = counts.iter().copied().max().unwrap_or(0);
    let cap = axis_cap(&counts);
    let mut running = total_before;
    // The total at the end of each bar, above the bar, as combo charts do:
    // a one-day chart then shows a dot, not a ramp across the plot.
    let mut line: Vec<(f64, f64)> = Vec::with_capacity(bars.len());
    for b in bars {
        running = running.saturating_add(b.count);
        line.push(((b.start + b.end) as f64 / 2.0, running as f64));
    }
    let shown_max = cap.unwrap_or(bar_max);
    let (bar_scale, total_scale) = y_scales(shown_max, if options.running_total { running } else { shown_max });

    let px_per_day = canvas.plot_width() / day_count;
    let ticks = choose_ticks(days, px_per_day, period == BarPeriod::Day);
    let x_positions: Vec<f64> = ticks.iter().map(|t| t.x).collect();

    let mut svg = String::new();
    let titles;
    {
        let root = SVGBackend::with_string(&mut svg, (canvas.width, canvas.height)).into_drawing_area();
        root.fill(&BACKGROUND)?;
        let (header, body) = root.split_vertically(HEADER_HEIGHT);
        draw_header(&header, canvas, title, Some(summary), Some(period.axis_description()))?;

        let mut chart = ChartBuilder::on(&body)
            .margin_left(MARGIN)
            .margin_right(MARGIN)
            .margin_bottom(4)
            .margin_top(6)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .right_y_label_area_size(canvas.right_area())
            .build_cartesian_2d(
                axis(0.0..day_count, x_positions),
                axis(0.0..bar_scale.top(), bar_scale.ticks()),
            )?
            .set_secondary_coord(
                axis(0.0..day_count, Vec::new()),
                axis(0.0..total_scale.top(), total_scale.ticks()),
            );
        // The ticks were spaced for the canvas' plot width before plotters
        // laid out the chart; this catches the two drifting apart when
        // margins change.
        debug_assert_eq!(f64::from(chart.plotting_area().dim_in_pixel().0), canvas.plot_width());

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
            .y_desc(period.axis_description())
            .axis_desc_style(font(TEXT_PX).color(&BAR))
            .draw()?;
        if options.running_total {
            chart
                .configure_secondary_axes()
                .axis_style(TRANSPARENT)
                .set_all_tick_mark_size(4)
                .y_label_formatter(&total_label)
                .label_style(font(TEXT_PX).color(&MUTED_TEXT))
                .y_desc("total")
                .axis_desc_style(font(TEXT_PX).color(&LINE))
                .draw()?;
        }

        let top = cap.map(|_| bar_scale.top());
        titles = draw_bars(&mut chart, days, bars, px_per_day, top, options.ends_today)?;
        // The baseline goes over the bars' bottom edges, which end on it.
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 0.0), (day_count, 0.0)],
            AXIS.stroke_width(1),
        )))?;
        if running == 0 {
            // A line along the baseline would only hide it; say it instead.
            draw_no_calls(&chart.plotting_area().strip_coord_spec())?;
        } else if options.running_total {
            chart.draw_secondary_series(std::iter::once(PathElement::new(line.clone(), LINE.stroke_width(2))))?;
            if line.len() <= MAX_MARKED_POINTS {
                chart.draw_secondary_series(line.iter().map(|&point| Circle::new(point, 3, LINE.filled())))?;
            }
        }
        root.present()?;
    }
    Ok(bars::annotate(&svg, &titles))
}

/// Draws the bars in their kinds' marker colours, the "so far" label over
/// today's and the value beside each clipped one (taller than `top`, when
/// the axis is capped). Returns each drawn bar's kind and title, in
/// drawing order, for [`bars::annotate`].
fn draw_bars<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Axes>,
    days: &[DayCount],
    bars: &[Bar],
    px_per_day: f64,
    top: Option<f64>,
    ends_today: bool,
) -> Result<Vec<(BarKind, String)>, ChartError> {
    let mut titles = Vec::with_capacity(bars.len());
    let label = font(TEXT_PX).color(&TEXT);
    for (i, b) in bars.iter().enumerate() {
        let span = bar_span(b.start..b.end, px_per_day);
        let value = b.count as f64;
        let clipped = top.filter(|&top| value > top);
        let kind = if ends_today && i + 1 == bars.len() {
            BarKind::Partial
        } else if clipped.is_some() {
            BarKind::Clipped
        } else {
            BarKind::Whole
        };
        let height = clipped.unwrap_or(value);
        if b.count > 0 {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(span.start, 0.0), (span.end, height)],
                kind.marker().filled(),
            )))?;
            let (first, last) = (days[b.start].day, days[b.end - 1].day);
            titles.push((kind, bars::title(first, last, b.count, kind)));
        }
        let middle = (span.start + span.end) / 2.0;
        if kind == BarKind::Partial {
            let style = label.clone().pos(Pos::new(HPos::Right, VPos::Bottom));
            chart.draw_series(std::iter::once(Text::new("so far", (middle, height), style)))?;
        }
        if let Some(top) = clipped {
            // Beside the bar's top, inside the plot: right of it in the
            // left half, left of it in the right half.
            let left_half = middle < (days.len() as f64) / 2.0;
            let (x, h) = if left_half {
                (span.end, HPos::Left)
            } else {
                (span.start, HPos::Right)
            };
            let style = label.clone().pos(Pos::new(h, VPos::Top));
            let text = format!(" {} ", crate::read::format::format_count(b.count));
            chart.draw_series(std::iter::once(Text::new(text, (x, top), style)))?;
        }
    }
    Ok(titles)
}

/// Replaces plotters' root tag with one that scales to its container and
/// names the image for assistive technology.
pub(super) fn wrap_svg(body: String, canvas: Canvas, title: &str, description: &str) -> Result<String, ChartError> {
    let open_end = body
        .strip_prefix("<svg ")
        .and_then(|rest| rest.find('>'))
        .ok_or_else(|| ChartError::Draw("plotters produced no <svg> root".to_owned()))?;
    let rest = &body["<svg ".len() + open_end + 1..];
    let label = escape_xml(&format!("Calls to {title}"));
    let mut svg = String::with_capacity(body.len() + 256 + bars::STYLE.len());
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{label}" class="footfall-chart {}"><title>{label}</title><desc>{}</desc>{}"#,
        canvas.width,
        canvas.height,
        if canvas.width < 800 { "narrow" } else { "wide" },
        escape_xml(description),
        bars::STYLE
    );
    svg.push_str(rest);
    Ok(svg)
}
