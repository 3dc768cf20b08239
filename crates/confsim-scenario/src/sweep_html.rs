//! A sweep's page (`sweep.html`): self-contained like a run's (inline SVG, no script, the same
//! stylesheet). One chart per metric: the cells' means against the first varied value, one
//! line per value of the second (per combination of the others), each point's 95% confidence
//! interval drawn as a bar, a threshold from the scenario's expectations as a dashed level, and
//! where a line's mean stops meeting it, the knee ringed.

use crate::html::{Frame, PAD_L, PAD_R, PAD_T, W, escape, nice_step, page_start, table};
use crate::report::thousands;
use crate::sweep::{Results, cell_at, lines, show};
use serde_json::Value;
use std::fmt::Write as _;

/// Line colours, repeated past eight lines.
const PALETTE: [&str; 8] = [
    "#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#4b5563",
];

/// Where the first varied values go on the x axis: at their values when all are numbers (the
/// axis spanning them with a margin), otherwise evenly spaced in their order. Positions are
/// from the axis' left end, with its extent.
fn x_positions(values: &[Value]) -> (Vec<f64>, f64, bool) {
    let numbers: Option<Vec<f64>> = values.iter().map(Value::as_f64).collect();
    match numbers {
        Some(xs) if xs.len() > 1 => {
            let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let margin = (hi - lo) * 0.06;
            let left = lo - margin;
            (
                xs.iter().map(|x| x - left).collect(),
                hi + margin - left,
                true,
            )
        }
        _ => {
            let n = values.len();
            ((0..n).map(|i| i as f64 + 0.5).collect(), n as f64, false)
        }
    }
}

/// A line's label: the values after the first, named by the last part of their path.
fn line_label(r: &Results, values: &[Value]) -> String {
    r.definition
        .vary
        .iter()
        .skip(1)
        .zip(values.iter().skip(1))
        .map(|(v, value)| format!("{} = {}", short(&v.path), show(value)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The last key of a path: `perSecond` of `load[0].arrival.poisson.perSecond`.
fn short(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

fn figure(x: f64) -> String {
    if x.abs() >= 100.0 || x.fract() == 0.0 {
        thousands(x.round().max(0.0) as u64)
    } else {
        format!("{x:.2}")
    }
}

fn chart(r: &Results, metric: usize) -> String {
    let d = &r.definition;
    let first = &d.vary[0];
    let name = &r.metric_names[metric];
    let (xs, x_max, numeric) = x_positions(&first.values);
    let thresholds: Vec<_> = d.thresholds.iter().filter(|t| t.metric == *name).collect();
    let mut y_max: f64 = 0.0;
    for c in &r.cells {
        let s = &c.metrics[metric];
        y_max = y_max.max(s.ci95.map_or(s.mean, |c| c.1)).max(s.mean);
    }
    for t in &thresholds {
        for level in t.levels() {
            y_max = y_max.max(level as f64);
        }
    }
    let y_max = y_max.max(1.0);
    let step = nice_step(y_max, 5.0);
    let frame = Frame {
        height: 300.0,
        x_max,
        y_max: (y_max / step).ceil() * step,
    };
    let x_ticks: Vec<(f64, String)> = xs
        .iter()
        .zip(&first.values)
        .map(|(x, v)| (*x, show(v)))
        .collect();
    let mut out = String::new();
    let n_lines = lines(d);
    if n_lines > 1 {
        out.push_str("<div class=\"legend\">");
        for line in 0..n_lines {
            let label = line_label(r, &r.cells[cell_at(d, line, 0)].values);
            let _ = write!(
                out,
                r#"<span><i style="background:{}"></i>{}</span>"#,
                PALETTE[line % PALETTE.len()],
                escape(&label)
            );
        }
        out.push_str("</div>");
    }
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {W} {}" role="img" aria-label="{} against {}">"#,
        frame.height,
        escape(name),
        escape(&first.path)
    );
    frame.draw(
        &mut out,
        &x_ticks,
        name,
        &format!("{}{}", first.path, if numeric { "" } else { " (in order)" }),
    );
    for t in &thresholds {
        for level in t.levels() {
            let y = frame.y(level as f64);
            let _ = write!(
                out,
                r##"<line x1="{PAD_L}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#dc2626" stroke-dasharray="6 4"><title>{}</title></line><text x="{:.1}" y="{:.1}" class="legend">{}</text>"##,
                W - PAD_R,
                escape(&t.expect),
                PAD_L + 6.0,
                (y - 4.0).max(PAD_T + 10.0),
                escape(&t.expect)
            );
        }
    }
    for line in 0..n_lines {
        let color = PALETTE[line % PALETTE.len()];
        let mut path = String::new();
        for (i, x) in xs.iter().enumerate() {
            let s = &r.cells[cell_at(d, line, i)].metrics[metric];
            let _ = write!(
                path,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { "L" },
                frame.x(*x),
                frame.y(s.mean)
            );
        }
        let _ = write!(
            out,
            r#"<path d="{path}" fill="none" stroke="{color}" stroke-width="1.8"/>"#
        );
        for (i, x) in xs.iter().enumerate() {
            let c = &r.cells[cell_at(d, line, i)];
            let s = &c.metrics[metric];
            let px = frame.x(*x);
            let interval = match s.ci95 {
                Some((lo, hi)) => {
                    let (y0, y1) = (frame.y(lo.max(0.0)), frame.y(hi));
                    let _ = write!(
                        out,
                        r#"<path d="M{px:.1},{y0:.1}V{y1:.1}M{:.1},{y0:.1}H{:.1}M{:.1},{y1:.1}H{:.1}" stroke="{color}" stroke-width="1" fill="none"/>"#,
                        px - 4.0,
                        px + 4.0,
                        px - 4.0,
                        px + 4.0
                    );
                    format!(", 95% CI {} to {}", figure(lo), figure(hi))
                }
                None => String::new(),
            };
            let label = line_label(r, &c.values);
            let _ = write!(
                out,
                r#"<circle cx="{px:.1}" cy="{:.1}" r="3" fill="{color}"><title>{} = {}{}{}: mean {}{interval} (n = {})</title></circle>"#,
                frame.y(s.mean),
                escape(&first.path),
                escape(&show(&c.values[0])),
                if label.is_empty() { "" } else { ", " },
                escape(&label),
                figure(s.mean),
                s.n
            );
        }
        for knee in r.knees.iter().filter(|k| k.metric == *name) {
            let line_values = &r.cells[cell_at(d, line, 0)].values[1..];
            if knee.line != line_values {
                continue;
            }
            let Some(i) = first.values.iter().position(|v| *v == knee.at) else {
                continue;
            };
            let s = &r.cells[cell_at(d, line, i)].metrics[metric];
            let (px, py) = (frame.x(xs[i]), frame.y(s.mean));
            let _ = write!(
                out,
                r##"<circle cx="{px:.1}" cy="{py:.1}" r="8" fill="none" stroke="#dc2626" stroke-width="2"><title>knee: {} {} {} = {}</title></circle><text x="{:.1}" y="{:.1}" class="legend" fill="#dc2626">knee</text>"##,
                escape(&knee.expect),
                if knee.held_before {
                    "no longer holds at"
                } else {
                    "holds from"
                },
                escape(&first.path),
                escape(&show(&knee.at)),
                px + 10.0,
                (py - 10.0).max(PAD_T + 10.0)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// The page.
pub fn render(r: &Results) -> String {
    let d = &r.definition;
    let mut h = String::with_capacity(64 * 1024);
    page_start(&mut h, &format!("sweep of {}", d.scenario));
    let failed: u64 = r.cells.iter().map(|c| c.runs_failed).sum();
    let (class, verdict) = if d.thresholds.is_empty() && failed == 0 {
        ("none", "every run's expectations hold".to_owned())
    } else if failed == 0 {
        ("ok", "every run's expectations hold".to_owned())
    } else {
        (
            "fail",
            format!("expectations failed in {failed} of {} runs", d.runs),
        )
    };
    let varied: Vec<String> = d
        .vary
        .iter()
        .map(|v| {
            format!(
                "<code>{}</code> = {}",
                escape(&v.path),
                escape(&v.values.iter().map(show).collect::<Vec<_>>().join(", "))
            )
        })
        .collect();
    let _ = write!(
        h,
        r#"<h1>sweep of {} <span class="badge {class}">{}</span></h1>
<div class="meta">{} cells × {} seeds (1 to {}) = {} runs, virtual clock · {}<br>scenario digest <code>{}</code></div>
"#,
        escape(&d.scenario),
        escape(&verdict),
        d.cells,
        d.seeds,
        d.seeds,
        d.runs,
        if varied.is_empty() {
            "nothing varied".to_owned()
        } else {
            varied.join(" · ")
        },
        escape(&d.scenario_digest)
    );
    if !r.knees.is_empty() {
        h.push_str("<section><h2>Knees</h2>");
        table(
            &mut h,
            &[
                "metric",
                "threshold",
                "line",
                "holds at",
                "does not hold at",
            ],
            r.knees.iter().map(|k| {
                let line: Vec<String> = d
                    .vary
                    .iter()
                    .skip(1)
                    .zip(&k.line)
                    .map(|(v, value)| format!("{} = {}", short(&v.path), show(value)))
                    .collect();
                vec![
                    escape(&k.metric),
                    escape(&k.expect),
                    escape(&line.join(", ")),
                    escape(&show(if k.held_before { &k.before } else { &k.at })),
                    escape(&show(if k.held_before { &k.at } else { &k.before })),
                ]
            }),
        );
        h.push_str("</section>");
    }
    if d.vary.is_empty() {
        h.push_str("<section><p class=\"empty\">Nothing was varied: the figures of the one cell are in the table below.</p></section>");
    } else {
        for (k, name) in r.metric_names.iter().enumerate() {
            let _ = write!(
                h,
                "<section><h2>{} against {}</h2>{}<p class=\"meta\">Mean over the seeds; bars: 95% confidence interval of the mean (Student's t).</p></section>",
                escape(name),
                escape(&d.vary[0].path),
                chart(r, k)
            );
        }
    }
    h.push_str("<section><h2>Cells</h2>");
    let mut head: Vec<&str> = d.vary.iter().map(|v| v.path.as_str()).collect();
    head.extend(["runs failed", "mean ± 95% CI half-width of every metric"]);
    table(
        &mut h,
        &head,
        r.cells.iter().map(|c| {
            let mut row: Vec<String> = c.values.iter().map(|v| escape(&show(v))).collect();
            row.push(c.runs_failed.to_string());
            let figures: Vec<String> = r
                .metric_names
                .iter()
                .zip(&c.metrics)
                .map(|(name, s)| {
                    let half = s
                        .ci95
                        .map(|(lo, hi)| format!(" ± {}", figure((hi - lo) / 2.0)))
                        .unwrap_or_default();
                    format!("{} {}{half}", escape(name), figure(s.mean))
                })
                .collect();
            row.push(figures.join("<br>"));
            row
        }),
    );
    h.push_str("</section>");
    let _ = writeln!(
        h,
        "<footer>confsim {} · the figures are in cells.csv and runs.csv beside this page · this page is self-contained: no scripts, nothing loaded from the network.</footer></main></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    h
}
