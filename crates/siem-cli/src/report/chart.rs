//! Inline SVG stacked-bar charts: events per control per day, drawn here so that the page needs
//! nothing from outside.

use std::fmt::Write;

use super::aggregate::{day_label, day_number};
use super::html::escape;
use super::json::PerDay;

/// Bars drawn at most; a longer period puts several days in one bar.
const MAX_BARS: i64 = 92;
const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 8.0;
/// Colours told apart in print and by most colour-blind readers (Okabe–Ito, then tints).
const PALETTE: [&str; 12] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000",
    "#7fb8d8", "#f2cf7f", "#7fcfb9", "#e5bcd3",
];

/// One series of a chart: a control and its events per day.
pub(crate) struct Series<'a> {
    /// The control's name.
    pub name: &'a str,
    /// Its events per day.
    pub per_day: &'a PerDay,
}

/// A stacked bar chart of `series` over the days `first..=last` (days since the epoch), with its
/// legend, as HTML (an `<svg>` element and a list).
pub(crate) fn stacked_bars(title: &str, series: &[Series<'_>], first: i64, last: i64) -> String {
    let days = last - first + 1;
    let per_bar = (days + MAX_BARS - 1) / MAX_BARS;
    let bars = (days + per_bar - 1) / per_bar;
    // Sums per bar and series, read once from the sparse maps.
    let mut cells = vec![vec![0u64; series.len()]; usize::try_from(bars).unwrap_or(0)];
    for (index, s) in series.iter().enumerate() {
        for (label, count) in s.per_day {
            let Some(day) = day_number(label).filter(|day| (first..=last).contains(day)) else {
                continue;
            };
            if let Some(cell) = usize::try_from((day - first) / per_bar)
                .ok()
                .and_then(|bar| cells.get_mut(bar))
            {
                cell[index] += count;
            }
        }
    }
    let highest = cells
        .iter()
        .map(|cell| cell.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_width = WIDTH - LEFT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let bar_width = plot_width / bars.max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        escape(title)
    );
    for (fraction, label) in [(0.0, 0), (0.5, highest / 2), (1.0, highest)] {
        let y = TOP + plot_height * (1.0 - fraction);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{WIDTH}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11">{label}</text>"##,
            LEFT - 4.0,
            y + 4.0
        );
    }
    for (bar, cell) in cells.iter().enumerate() {
        let start = first + i64::try_from(bar).unwrap_or(0) * per_bar;
        let end = (start + per_bar - 1).min(last);
        let label = if per_bar == 1 {
            day_label(start)
        } else {
            format!("{} to {}", day_label(start), day_label(end))
        };
        let x = LEFT + bar as f64 * bar_width;
        let mut base = 0u64;
        for (index, count) in cell.iter().enumerate().filter(|(_, c)| **c > 0) {
            let y_top = TOP + plot_height * (1.0 - (base + count) as f64 / highest as f64);
            let height = plot_height * *count as f64 / highest as f64;
            let _ = write!(
                svg,
                r#"<rect x="{:.2}" y="{y_top:.2}" width="{:.2}" height="{height:.2}" fill="{}"><title>{} {}: {count}</title></rect>"#,
                x + bar_width * 0.1,
                bar_width * 0.8,
                PALETTE[index % PALETTE.len()],
                escape(series[index].name),
                escape(&label)
            );
            base += count;
        }
    }
    // The first and last labels are aligned to the plot's edges so that neither is cut off.
    let mut ticks = vec![(0, "start", LEFT)];
    if bars > 2 {
        let middle = bars / 2;
        ticks.push((middle, "middle", LEFT + (middle as f64 + 0.5) * bar_width));
    }
    if bars > 1 {
        ticks.push((bars - 1, "end", WIDTH));
    }
    for (bar, anchor, x) in ticks {
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="{anchor}" font-size="11">{}</text>"#,
            HEIGHT - 8.0,
            day_label(first + bar * per_bar)
        );
    }
    svg.push_str("</svg>");
    svg.push_str(r#"<ul class="legend">"#);
    for (index, s) in series.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<li><span class="swatch" style="background:{}"></span>{}</li>"#,
            PALETTE[index % PALETTE.len()],
            escape(s.name)
        );
    }
    svg.push_str("</ul>");
    svg
}
