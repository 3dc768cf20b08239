//! The HTML report (`confsim run --html FILE`, product.md §5): one self-contained page with
//! inline SVG charts drawn here. No script, no stylesheet or font from the network, so it opens
//! the same offline, from a CI artifact or an e-mail attachment.
//!
//! It shows what a user looks at first after a load run: active conferences and busy agents
//! over simulated time, the request-to-success latency distribution, the events by type, the
//! retcodes, the load generators' figures and the expectations with their verdicts.

use crate::report::{Report, thousands};
use crate::stats::Bucket;
use crate::timeline::Point;
use confsim_core::SimDuration;
use std::fmt::Write as _;

/// Chart geometry, in SVG user units (the SVG scales to the page's width).
pub(crate) const W: f64 = 960.0;
pub(crate) const PAD_L: f64 = 64.0;
pub(crate) const PAD_R: f64 = 20.0;
pub(crate) const PAD_T: f64 = 16.0;
const PAD_B: f64 = 40.0;

const ACTIVE_COLOR: &str = "#2563eb";
const BUSY_COLOR: &str = "#ea580c";
const BAR_COLOR: &str = "#0f766e";

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
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

/// A round step (1, 2 or 5 times a power of ten) giving at most about `ticks` ticks up to
/// `max`.
pub(crate) fn nice_step(max: f64, ticks: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let raw = max / ticks;
    let mut p = 1.0;
    while p * 10.0 <= raw {
        p *= 10.0;
    }
    while p > raw && p > 1.0 {
        p /= 10.0;
    }
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
        .max(1.0)
}

/// A round step of simulated time giving at most about eight ticks over `span_ms`.
fn time_step(span_ms: u64) -> u64 {
    const STEPS: [u64; 20] = [
        100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000,
        600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000,
    ];
    STEPS
        .into_iter()
        .find(|s| span_ms / s <= 8)
        .unwrap_or_else(|| (span_ms / 8).div_ceil(86_400_000).max(1) * 86_400_000)
}

fn duration_label(ms: u64) -> String {
    if ms == 0 {
        "0".to_owned()
    } else {
        SimDuration::from_millis(ms).to_string()
    }
}

/// The frame of a chart: axes, grid and tick labels; returns the scale functions' parameters.
pub(crate) struct Frame {
    pub(crate) height: f64,
    pub(crate) x_max: f64,
    pub(crate) y_max: f64,
}

impl Frame {
    pub(crate) fn x(&self, v: f64) -> f64 {
        PAD_L
            + (W - PAD_L - PAD_R)
                * if self.x_max > 0.0 {
                    v / self.x_max
                } else {
                    0.0
                }
    }

    pub(crate) fn y(&self, v: f64) -> f64 {
        let plot = self.height - PAD_T - PAD_B;
        PAD_T
            + plot
                * (1.0
                    - if self.y_max > 0.0 {
                        v / self.y_max
                    } else {
                        0.0
                    })
    }

    /// Horizontal grid lines with their values, and the axes.
    pub(crate) fn draw(
        &self,
        out: &mut String,
        x_ticks: &[(f64, String)],
        y_label: &str,
        x_label: &str,
    ) {
        let y_step = nice_step(self.y_max, 5.0);
        let mut v = 0.0;
        while v <= self.y_max + 1e-9 {
            let y = self.y(v);
            let _ = write!(
                out,
                r##"<line x1="{PAD_L}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e7eb"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="tick">{}</text>"##,
                W - PAD_R,
                PAD_L - 6.0,
                y + 4.0,
                thousands(v as u64)
            );
            v += y_step;
        }
        let base = self.y(0.0);
        for (x, label) in x_ticks {
            let px = self.x(*x);
            let _ = write!(
                out,
                r##"<line x1="{px:.1}" y1="{base:.1}" x2="{px:.1}" y2="{:.1}" stroke="#9ca3af"/><text x="{px:.1}" y="{:.1}" text-anchor="middle" class="tick">{}</text>"##,
                base + 5.0,
                base + 18.0,
                escape(label)
            );
        }
        let _ = write!(
            out,
            r##"<line x1="{PAD_L}" y1="{base:.1}" x2="{:.1}" y2="{base:.1}" stroke="#374151"/><line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{base:.1}" stroke="#374151"/><text x="{:.1}" y="{:.1}" text-anchor="middle" class="axis">{}</text><text x="14" y="{:.1}" text-anchor="middle" class="axis" transform="rotate(-90 14 {:.1})">{}</text>"##,
            W - PAD_R,
            (PAD_L + W - PAD_R) / 2.0,
            self.height - 4.0,
            escape(x_label),
            (PAD_T + base) / 2.0,
            (PAD_T + base) / 2.0,
            escape(y_label)
        );
    }
}

/// Active conferences and busy agents over simulated time, as step lines (the values are
/// levels that hold until the next sample).
fn timeline_chart(points: &[Point], span_ms: u64) -> String {
    let mut out = String::new();
    if points.is_empty() {
        return "<p class=\"empty\">No simulated time elapsed.</p>".to_owned();
    }
    let y_max = points
        .iter()
        .map(|p| p.active_conferences.max(p.busy_agents))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let step = nice_step(y_max, 5.0);
    let frame = Frame {
        height: 340.0,
        x_max: span_ms.max(1) as f64,
        y_max: (y_max / step).ceil() * step,
    };
    let t_step = time_step(span_ms.max(1));
    let x_ticks: Vec<(f64, String)> = (0..=span_ms / t_step)
        .map(|k| ((k * t_step) as f64, duration_label(k * t_step)))
        .collect();
    // The legend is HTML above the chart, where it can never hide a line.
    out.push_str("<div class=\"legend\">");
    for (color, label) in [
        (ACTIVE_COLOR, "active conferences"),
        (
            BUSY_COLOR,
            "busy agents (talking: in a call or a conference leg)",
        ),
    ] {
        let _ = write!(
            out,
            r#"<span><i style="background:{color}"></i>{}</span>"#,
            escape(label)
        );
    }
    out.push_str("</div>");
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {W} {}" role="img" aria-label="active conferences and busy agents over simulated time">"#,
        frame.height
    );
    frame.draw(&mut out, &x_ticks, "count", "simulated time");
    // Busy agents first, wide and translucent, so that where the two lines coincide (one
    // agent per conference) both stay visible.
    for (color, width, opacity, value, name) in [
        (
            BUSY_COLOR,
            5.0,
            0.55,
            (|p: &Point| p.busy_agents) as fn(&Point) -> u64,
            "busy agents",
        ),
        (
            ACTIVE_COLOR,
            1.6,
            1.0,
            |p: &Point| p.active_conferences,
            "active conferences",
        ),
    ] {
        let mut path = String::new();
        for (i, p) in points.iter().enumerate() {
            let x = frame.x(p.at_ms as f64);
            let y = frame.y(value(p) as f64);
            if i == 0 {
                let _ = write!(path, "M{x:.1},{y:.1}");
            } else {
                // Horizontal to the new sample's time, then vertical to its value.
                let _ = write!(path, "H{x:.1}V{y:.1}");
            }
        }
        let _ = write!(
            out,
            r#"<path d="{path}" fill="none" stroke="{color}" stroke-width="{width}" stroke-opacity="{opacity}" stroke-linejoin="round"><title>{name}</title></path>"#
        );
    }
    out.push_str("</svg>");
    out
}

/// The request-to-success latency histogram, with the percentiles marked.
fn latency_chart(report: &Report) -> String {
    let buckets: &[Bucket] = &report.latency_buckets;
    let l = &report.latency_ms.request_to_success;
    if buckets.is_empty() {
        return "<p class=\"empty\">No accepted requestAgentConf reached AgentConf_RequestSuccess.</p>"
            .to_owned();
    }
    let lo = buckets[0].lo as f64;
    let hi = (buckets[buckets.len() - 1].hi + 1) as f64;
    let y_max = buckets.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    let step = nice_step(y_max, 5.0);
    let frame = Frame {
        height: 300.0,
        x_max: hi - lo,
        y_max: (y_max / step).ceil() * step,
    };
    let span = hi - lo;
    let x_step = nice_step(span, 8.0);
    let mut x_ticks = Vec::new();
    let mut v = (lo / x_step).ceil() * x_step;
    while v <= hi {
        x_ticks.push((v - lo, format!("{v}")));
        v += x_step;
    }
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {W} {}" role="img" aria-label="latency distribution">"#,
        frame.height
    );
    frame.draw(
        &mut out,
        &x_ticks,
        "requests",
        "simulated ms, accepted requestAgentConf → AgentConf_RequestSuccess",
    );
    for b in buckets {
        let x0 = frame.x(b.lo as f64 - lo);
        let x1 = frame.x((b.hi + 1) as f64 - lo);
        let y = frame.y(b.count as f64);
        let base = frame.y(0.0);
        let range = if b.lo == b.hi {
            format!("{} ms", b.lo)
        } else {
            format!("{}–{} ms", b.lo, b.hi)
        };
        let _ = write!(
            out,
            r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{BAR_COLOR}"><title>{range}: {}</title></rect>"#,
            (x1 - x0 - 1.0).max(0.5),
            base - y,
            thousands(b.count)
        );
    }
    for (name, value) in [("p50", l.p50), ("p90", l.p90), ("p99", l.p99)] {
        let x = frame.x((value as f64 - lo).clamp(0.0, span));
        // Labels go right of their line, or left of it near the right edge.
        let (anchor, tx) = if x > W - PAD_R - 110.0 {
            ("end", x - 4.0)
        } else {
            ("start", x + 4.0)
        };
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{PAD_T}" x2="{x:.1}" y2="{:.1}" stroke="#111827" stroke-dasharray="4 3"/><text x="{tx:.1}" y="{:.1}" text-anchor="{anchor}" class="legend">{name} {value} ms</text>"##,
            frame.y(0.0),
            PAD_T
                + 12.0
                + match name {
                    "p50" => 0.0,
                    "p90" => 16.0,
                    _ => 32.0,
                }
        );
    }
    out.push_str("</svg>");
    out
}

/// Events by type, as horizontal bars.
fn counts_chart(report: &Report) -> String {
    if report.counts.is_empty() {
        return "<p class=\"empty\">No events.</p>".to_owned();
    }
    let row = 24.0;
    let label_w = 250.0;
    let height = row * report.counts.len() as f64 + 8.0;
    let max = report.counts.values().copied().max().unwrap_or(1).max(1) as f64;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {W} {height}" role="img" aria-label="events by type">"#
    );
    for (i, (name, n)) in report.counts.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let w = (W - label_w - 110.0) * (*n as f64 / max);
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" class="label">{}</text><rect x="{label_w}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{BAR_COLOR}"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}" class="label">{}</text>"#,
            label_w - 8.0,
            y + 15.0,
            escape(name),
            y + 3.0,
            w.max(1.0),
            row - 8.0,
            escape(name),
            thousands(*n),
            label_w + w.max(1.0) + 6.0,
            y + 15.0,
            thousands(*n)
        );
    }
    out.push_str("</svg>");
    out
}

/// The stylesheet of every confsim page (a run's, a journal's, a sweep's).
const STYLE: &str = r#"body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111827; margin: 0; background: #f9fafb; }
main { max-width: 1040px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
.meta { color: #4b5563; }
.meta code { font-size: 12px; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-weight: 600; margin-left: 8px; font-size: 13px; }
.badge.ok { background: #dcfce7; color: #166534; }
.badge.fail { background: #fee2e2; color: #991b1b; }
.badge.none { background: #e5e7eb; color: #374151; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(125px, 1fr)); gap: 10px; margin-top: 16px; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 10px 12px; }
.card b { display: block; font-size: 18px; }
.card span { color: #6b7280; font-size: 12px; }
section { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 12px 16px; margin-top: 12px; }
section h2 { margin-top: 4px; }
svg { width: 100%; height: auto; display: block; }
svg .tick { font-size: 11px; fill: #4b5563; }
svg .axis { font-size: 12px; fill: #374151; }
svg .legend, svg .label { font-size: 12px; fill: #111827; }
div.legend { display: flex; gap: 18px; font-size: 12px; margin: 0 0 4px 64px; }
div.legend i { display: inline-block; width: 14px; height: 4px; margin-right: 6px; vertical-align: middle; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #166534; font-weight: 600; }
.fail { color: #991b1b; font-weight: 600; }
.warn { background: #fef3c7; border: 1px solid #f59e0b; padding: 8px 12px; border-radius: 8px; margin-top: 12px; }
.empty { color: #6b7280; }
footer { color: #6b7280; font-size: 12px; margin-top: 20px; }
"#;

/// The page's head (title, stylesheet) and the opening of its body.
pub(crate) fn page_start(out: &mut String, title: &str) {
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>confsim · {}</title>
<style>
{STYLE}</style></head><body><main>
"#,
        escape(title)
    );
}

pub(crate) fn table(out: &mut String, head: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    out.push_str("<table><thead><tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            // Cells are escaped by the caller when they hold text, so they may carry markup.
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// The page. `described` holds each expectation's one-line description, in order.
pub fn render(report: &Report, described: &[String]) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let held = report.expectations.iter().filter(|v| v.ok).count();
    let total = report.expectations.len();
    let verdict = if total == 0 {
        ("none", "no expectations".to_owned())
    } else if report.ok {
        ("ok", format!("all {total} expectations hold"))
    } else {
        (
            "fail",
            format!("{} of {total} expectations failed", total - held),
        )
    };
    let sim = duration_label(report.sim_time_ms);
    page_start(&mut h, &report.scenario);
    let _ = write!(
        h,
        r#"<h1>{name} <span class="badge {vclass}">{vtext}</span></h1>
<div class="meta">seed <b>{seed}</b> · clock <b>{clock}</b>{speed} · simulated <b>{sim}</b> in {wall:.3} s of real time<br>
digest <code>{digest}</code></div>
"#,
        name = escape(&report.scenario),
        vclass = verdict.0,
        vtext = escape(&verdict.1),
        seed = report.seed,
        clock = escape(&report.clock),
        speed = report.speed.map(|s| format!(" ×{s}")).unwrap_or_default(),
        wall = report.wall_time_ms / 1000.0,
        digest = escape(&report.digest),
    );
    if report.fell_behind == Some(true) {
        let late = report
            .latency_ms
            .timer_lateness
            .as_ref()
            .map_or(0, |t| t.max);
        let _ = write!(
            h,
            r#"<div class="warn">The run <b>fell behind real time</b>: items ran up to {late} ms late. The journal is the same as on the virtual clock; only the timing of the wall-clock run suffered.</div>"#
        );
    }
    let l = &report.latency_ms.request_to_success;
    h.push_str(r#"<div class="cards">"#);
    for (value, label) in [
        (thousands(report.inputs), "inputs"),
        (thousands(report.events), "events"),
        (
            crate::report::rate(report.records_per_sec),
            "records per wall second",
        ),
        (thousands(report.dropped_arrivals), "dropped arrivals"),
        (
            thousands(report.active_conferences_at_end),
            "active conferences at the end",
        ),
        (format!("{} ms", l.p50), "latency p50 (simulated)"),
        (format!("{} ms", l.p99), "latency p99 (simulated)"),
    ] {
        let _ = write!(
            h,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            escape(&value),
            escape(label)
        );
    }
    h.push_str("</div>");

    let _ = write!(
        h,
        "<section><h2>Active conferences and busy agents over simulated time</h2>{}<p class=\"meta\">Sampled every {} of simulated time ({} points).</p></section>",
        timeline_chart(&report.timeline, report.sim_time_ms),
        duration_label(report.timeline_interval_ms),
        report.timeline.len()
    );
    let _ = write!(
        h,
        "<section><h2>Request-to-success latency (n = {}, p50 {} · p90 {} · p99 {} · max {} ms)</h2>{}</section>",
        thousands(l.count),
        l.p50,
        l.p90,
        l.p99,
        l.max,
        latency_chart(report)
    );
    let _ = write!(
        h,
        "<section><h2>Events by type</h2>{}</section>",
        counts_chart(report)
    );

    h.push_str("<section><h2>Expectations</h2>");
    if report.expectations.is_empty() {
        h.push_str("<p class=\"empty\">The scenario has no expectations.</p>");
    } else {
        table(
            &mut h,
            &["verdict", "expectation", "seen"],
            report.expectations.iter().enumerate().map(|(i, v)| {
                let what = described
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| v.expect.to_string());
                vec![
                    if v.ok {
                        "<span class=\"ok\">ok</span>".to_owned()
                    } else {
                        "<span class=\"fail\">FAIL</span>".to_owned()
                    },
                    escape(&what),
                    escape(&v.detail),
                ]
            }),
        );
    }
    h.push_str("</section>");

    if !report.load.is_empty() {
        h.push_str("<section><h2>Load generators</h2>");
        table(
            &mut h,
            &[
                "generator",
                "arrival",
                "op",
                "arrivals",
                "dropped",
                "submitted",
                "accepted",
                "released",
            ],
            report.load.iter().map(|g| {
                vec![
                    escape(&g.name),
                    escape(&g.arrival),
                    escape(&g.op),
                    thousands(g.arrivals),
                    thousands(g.dropped),
                    thousands(g.submitted),
                    thousands(g.accepted),
                    thousands(g.releases),
                ]
            }),
        );
        h.push_str("</section>");
    }
    if !report.retcodes.is_empty() {
        h.push_str("<section><h2>Retcodes of the inputs</h2>");
        table(
            &mut h,
            &["retcode", "inputs"],
            report
                .retcodes
                .iter()
                .map(|(code, n)| vec![escape(code), thousands(*n)]),
        );
        h.push_str("</section>");
    }
    if let Some(t) = &report.latency_ms.timer_lateness {
        let _ = write!(
            h,
            "<section><h2>Wall-clock timer lateness (real ms, n = {})</h2><p>p50 {} · p90 {} · p99 {} · max {}</p></section>",
            thousands(t.count),
            t.p50,
            t.p90,
            t.p99,
            t.max
        );
    }
    let _ = writeln!(
        h,
        "<footer>confsim {} · {} records, {} bytes of journal · this page is self-contained: no scripts, nothing loaded from the network.</footer></main></body></html>",
        env!("CARGO_PKG_VERSION"),
        thousands(report.records),
        thousands(report.journal_bytes)
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(100.0, 5.0), 20.0);
        assert_eq!(nice_step(7.0, 5.0), 2.0);
        assert_eq!(nice_step(1.0, 5.0), 1.0);
        assert_eq!(nice_step(12_345.0, 5.0), 5_000.0);
        assert_eq!(time_step(8 * 3_600_000), 3_600_000);
        assert_eq!(time_step(10_000), 2_000);
        assert_eq!(time_step(50 * 60_000), 600_000);
    }
}
