//! The report as one self-contained HTML page: inline CSS and SVG, no script, nothing loaded
//! from elsewhere (the Content-Security-Policy forbids it), every text from the files escaped.

use std::fmt::Write;

use super::aggregate::day_number;
use super::chart::{stacked_bars, Series};
use super::json::{ControlRow, Report};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}\
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top;overflow-wrap:anywhere}\
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}\
.chart{width:100%;height:auto}.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4em 1.2em;font-size:.9em}\
.swatch{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:-.1em}\
.met{color:#006400}.missed{color:#b00000;font-weight:bold}.open{color:#8a6d00}.none{color:#666}";

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page.
pub(crate) fn render(report: &Report) -> String {
    let mut page = String::with_capacity(64 * 1024);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    page.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = write!(
        page,
        "<title>Compliance report</title><style>{STYLE}</style></head><body><h1>Compliance report</h1>"
    );
    summary(&mut page, report);
    let days = match (&report.period.from, &report.period.to) {
        (Some(from), Some(to)) => day_number(from).zip(day_number(to)),
        _ => None,
    };
    controls(
        &mut page,
        "SOC 2 common criteria",
        "Criterion",
        &report.soc2,
        days,
    );
    controls(
        &mut page,
        "ISO/IEC 27001 Annex A controls",
        "Control",
        &report.iso27001,
        days,
    );
    nis2(&mut page, report, days);
    alerts(&mut page, report);
    incidents(&mut page, report);
    sources(&mut page, report);
    malformed(&mut page, report);
    page.push_str("</body></html>\n");
    page
}

fn summary(page: &mut String, report: &Report) {
    let period = &report.period;
    let input = &report.input;
    let _ = write!(
        page,
        "<table><tr><th>Period</th><td>{} to {}</td></tr>\
         <tr><th>Events counted</th><td class=\"n\">{}</td></tr>\
         <tr><th>Lines read</th><td class=\"n\">{}</td></tr>\
         <tr><th>Outside the period</th><td class=\"n\">{}</td></tr>\
         <tr><th>Malformed lines (skipped)</th><td class=\"n\">{}</td></tr>\
         <tr><th>Alerts raised</th><td class=\"n\">{}</td></tr>\
         <tr><th>NIS2 incidents: early warning met / missed / open</th><td class=\"n\">{} / {} / {}</td></tr>\
         <tr><th>Gaps (sources silent longer than {} s)</th><td class=\"n\">{}</td></tr>\
         <tr><th>Files</th><td>{}</td></tr></table>",
        escape(period.from.as_deref().unwrap_or("(no events)")),
        escape(period.to.as_deref().unwrap_or("(no events)")),
        report.events.total,
        input.lines,
        input.outside_period,
        input.malformed_lines,
        report.alerts.total,
        report.incidents.met,
        report.incidents.missed,
        report.incidents.open,
        period.gap_seconds,
        report.sources.gaps.len() as u64 + report.sources.gaps_not_listed,
        input
            .files
            .iter()
            .map(|f| escape(f))
            .collect::<Vec<_>>()
            .join("<br>")
    );
    for error in &input.read_errors {
        let _ = write!(
            page,
            "<p class=\"missed\">{}: reading stopped early: {}</p>",
            escape(&error.file),
            escape(&error.error)
        );
    }
    if input.counts_not_listed > 0 {
        let _ = write!(
            page,
            "<p class=\"missed\">{} counts left out of the tables (size limits reached)</p>",
            input.counts_not_listed
        );
    }
}

fn chart(page: &mut String, title: &str, series: &[Series<'_>], days: Option<(i64, i64)>) {
    if let Some((first, last)) = days.filter(|(first, last)| first <= last) {
        if !series.is_empty() {
            page.push_str(&stacked_bars(title, series, first, last));
        }
    }
}

fn controls(
    page: &mut String,
    title: &str,
    column: &str,
    rows: &[ControlRow],
    days: Option<(i64, i64)>,
) {
    let _ = write!(page, "<h2>{}</h2>", escape(title));
    let series: Vec<Series<'_>> = rows
        .iter()
        .map(|row| Series {
            name: &row.control,
            per_day: &row.per_day,
        })
        .collect();
    chart(page, &format!("{title}: events per day"), &series, days);
    let _ = write!(
        page,
        "<table><tr><th>{}</th><th>Events</th></tr>",
        escape(column)
    );
    for row in rows {
        let _ = write!(
            page,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            escape(&row.control),
            row.events
        );
    }
    page.push_str("</table>");
}

fn nis2(page: &mut String, report: &Report, days: Option<(i64, i64)>) {
    page.push_str("<h2>NIS2 obligations</h2>");
    let series: Vec<Series<'_>> = report
        .nis2
        .iter()
        .filter(|row| row.events > 0)
        .map(|row| Series {
            name: row.obligation,
            per_day: &row.per_day,
        })
        .collect();
    chart(page, "NIS2 obligations: events per day", &series, days);
    page.push_str("<table><tr><th>Obligation</th><th>Measure</th><th>Events</th></tr>");
    for row in &report.nis2 {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            escape(row.obligation),
            escape(row.title),
            row.events
        );
    }
    page.push_str("</table>");
}

fn alerts(page: &mut String, report: &Report) {
    let alerts = &report.alerts;
    let _ = write!(page, "<h2>Alerts raised: {}</h2>", alerts.total);
    if alerts.per_rule.is_empty() {
        return;
    }
    let levels: Vec<&String> = alerts.per_level.keys().collect();
    page.push_str("<table><tr><th>Rule</th>");
    for level in &levels {
        let _ = write!(page, "<th>{}</th>", escape(level));
    }
    page.push_str("<th>Total</th></tr>");
    for row in &alerts.per_rule {
        let _ = write!(page, "<tr><td>{}</td>", escape(&row.rule));
        for level in &levels {
            let _ = write!(
                page,
                "<td class=\"n\">{}</td>",
                row.per_level.get(*level).copied().unwrap_or(0)
            );
        }
        let _ = write!(page, "<td class=\"n\">{}</td></tr>", row.total);
    }
    page.push_str("</table>");
}

fn incidents(page: &mut String, report: &Report) {
    let incidents = &report.incidents;
    let _ = write!(
        page,
        "<h2>NIS2 incidents: early warning met {}, missed {}, open {}</h2>",
        incidents.met, incidents.missed, incidents.open
    );
    if incidents.unmatched_notifications > 0 {
        let _ = write!(
            page,
            "<p>{} incident.notified events name no incident of these files.</p>",
            incidents.unmatched_notifications
        );
    }
    if incidents.list.is_empty() {
        return;
    }
    page.push_str(
        "<table><tr><th>Incident</th><th>Rule</th><th>Group</th><th>Level</th><th>Alerts</th>\
         <th>Detected</th><th>Early warning due</th><th>Notified</th><th>Early warning</th></tr>",
    );
    for incident in &incidents.list {
        let notified = match &incident.notified_at {
            Some(at) => escape(at),
            None => "<span class=\"none\">no notification recorded</span>".to_owned(),
        };
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{notified}</td><td class=\"{status}\">{status}</td></tr>",
            escape(&incident.id),
            escape(&incident.rule),
            escape(&incident.group),
            escape(&incident.level),
            incident.alerts,
            escape(&incident.detected_at),
            escape(&incident.early_warning_due),
            status = incident.early_warning,
        );
    }
    page.push_str("</table>");
    if incidents.not_listed > 0 {
        let _ = write!(
            page,
            "<p>{} more incidents not listed.</p>",
            incidents.not_listed
        );
    }
}

fn sources(page: &mut String, report: &Report) {
    let sources = &report.sources;
    let _ = write!(
        page,
        "<h2>Sources and gaps (silences longer than {} s)</h2>",
        report.period.gap_seconds
    );
    page.push_str(
        "<table><tr><th>Host</th><th>App</th><th>Events</th><th>First</th><th>Last</th></tr>",
    );
    for source in &sources.list {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&source.host),
            escape(&source.app),
            source.events,
            escape(&source.first),
            escape(&source.last)
        );
    }
    page.push_str("</table>");
    if sources.gaps.is_empty() {
        page.push_str("<p>No gaps.</p>");
        return;
    }
    page.push_str("<table><tr><th>Host</th><th>App</th><th>Silent from</th><th>Until</th><th>Seconds</th></tr>");
    for gap in &sources.gaps {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            escape(&gap.host),
            escape(&gap.app),
            escape(&gap.from),
            escape(&gap.to),
            gap.seconds
        );
    }
    page.push_str("</table>");
}

fn malformed(page: &mut String, report: &Report) {
    let input = &report.input;
    if input.malformed.is_empty() {
        return;
    }
    let _ = write!(
        page,
        "<h2>Malformed lines: {} (skipped)</h2><table><tr><th>File</th><th>Line</th><th>Reason</th></tr>",
        input.malformed_lines
    );
    for line in &input.malformed {
        let _ = write!(
            page,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&line.file),
            line.line,
            escape(&line.reason)
        );
    }
    page.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_character_that_ends_text_or_an_attribute() {
        assert_eq!(
            escape(r#"<script>alert('x')</script> & "q""#),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
