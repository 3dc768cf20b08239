//! The report (product.md §5): every key, on both clocks, the human summary's load figures,
//! and the HTML page: self-contained, with its charts, and (when a Chromium is installed)
//! rendered by a real browser with no network.

use confsim_scenario::{ClockChoice, Report, RunOptions, Scenario, run};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const LOAD_SCENARIO: &str = r#"{"name": "report <&> \"check\"", "seed": 12,
    "agents": [{"ids": "101-200"}, {"ids": [201], "state": "talking"}],
    "steps": [{"at": "0s", "agent": 201, "op": "requestAgentConf", "body": {"memberNum": 3, "time": 5}}],
    "load": [{"name": "open", "agents": "101-200", "body": {"memberNum": {"uniform": [2, 8]}, "time": 10},
              "arrival": {"poisson": {"perSecond": 2}}, "until": "3m", "releaseAfter": {"uniform": ["30s", "2m"]}}],
    "until": "15m",
    "expect": [{"count": "AgentConf_RequestSuccess", "min": 100},
               {"retcode": "000-002", "equals": 1}]}"#;

fn load_scenario() -> Scenario {
    confsim_scenario::parse(LOAD_SCENARIO, Path::new("s.json")).unwrap()
}

fn report_json(report: &Report) -> Value {
    serde_json::to_value(report).unwrap()
}

#[test]
fn the_report_has_every_key_of_the_contract() {
    let (report, _) = run(&load_scenario(), &RunOptions::default(), std::io::sink()).unwrap();
    let json = report_json(&report);
    for key in [
        "scenario",
        "seed",
        "clock",
        "digest",
        "inputs",
        "events",
        "records",
        "journal_bytes",
        "sim_time_ms",
        "wall_time_ms",
        "events_per_sec",
        "records_per_sec",
        "counts",
        "retcodes",
        "dropped_arrivals",
        "load",
        "latency_ms",
        "active_conferences_at_end",
        "expectations",
        "ok",
    ] {
        assert!(json.get(key).is_some(), "missing key {key}: {json:#}");
    }
    for key in ["count", "p50", "p90", "p99", "max"] {
        assert!(json["latency_ms"][key].is_u64(), "latency_ms.{key}");
    }
    // The peak memory is read from /proc where there is one.
    if std::path::Path::new("/proc/self/status").exists() {
        assert!(
            json["peak_memory_bytes"].as_u64().unwrap() > 1 << 20,
            "{json:#}"
        );
    }
    // Virtual clock: no lateness, no fell_behind, and no HTML-only data in the JSON.
    assert!(json["latency_ms"].get("timer_lateness").is_none());
    assert!(json.get("fell_behind").is_none());
    assert!(json.get("timeline").is_none());
    assert_eq!(json["sim_time_ms"], 900_000);
    assert!(json["latency_ms"]["count"].as_u64().unwrap() >= 100);
    let p = &json["latency_ms"];
    assert!(p["p50"].as_u64() <= p["p90"].as_u64() && p["p90"].as_u64() <= p["p99"].as_u64());
    assert!(p["p99"].as_u64() <= p["max"].as_u64());
    // 2 successes of a talking agent's request need no AgentState_Busy; the rest ~5 draws.
    assert!(p["p50"].as_u64().unwrap() >= 50 && p["max"].as_u64().unwrap() <= 500);
    let e = &json["expectations"][1];
    assert_eq!(e["ok"], false);
    assert_eq!(e["detail"], "saw 0");
    assert_eq!(
        e["expect"],
        serde_json::json!({"retcode": "000-002", "equals": 1})
    );
    assert_eq!(json["ok"], false);
    let load = &json["load"][0];
    for key in [
        "name",
        "op",
        "arrival",
        "arrivals",
        "dropped",
        "submitted",
        "accepted",
        "releases",
    ] {
        assert!(load.get(key).is_some(), "load[0].{key}");
    }
    assert_eq!(
        json["inputs"].as_u64().unwrap() + json["events"].as_u64().unwrap(),
        json["records"].as_u64().unwrap()
    );
}

#[test]
fn the_wall_clock_adds_lateness_and_the_verdict_on_keeping_up() {
    let mut s = load_scenario();
    s.until = Some(confsim_scenario::scenario::Dur(
        confsim_core::SimDuration::from_mins(4),
    ));
    let options = RunOptions {
        clock: ClockChoice::Wall { speed: 4800.0 },
        ..RunOptions::default()
    };
    let (report, _) = run(&s, &options, std::io::sink()).unwrap();
    let json = report_json(&report);
    assert_eq!(json["clock"], "wall");
    assert_eq!(json["speed"], 4800.0);
    assert!(
        json["latency_ms"]["timer_lateness"]["count"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(json["fell_behind"].is_boolean());
    let human = report.human(&[]);
    assert!(human.contains("timer lateness (real ms"), "{human}");
    assert!(
        human.contains("kept up with real time") || human.contains("FELL BEHIND real time"),
        "{human}"
    );
}

#[test]
fn the_summary_shows_the_load_figures() {
    let (report, _) = run(&load_scenario(), &RunOptions::default(), std::io::sink()).unwrap();
    let human = report.human(&["a".into(), "b".into()]);
    assert!(human.contains("open (poisson requestAgentConf)"), "{human}");
    // A hundred agents cannot hold every conference of 2 arrivals a second for up to 2 minutes.
    assert!(report.dropped_arrivals > 0);
    assert!(
        human.contains(&format!("dropped arrivals {}", report.dropped_arrivals)),
        "{human}"
    );
    assert!(human.contains("arrivals    dropped  submitted"), "{human}");
}

fn html_page() -> String {
    let (report, _) = run(&load_scenario(), &RunOptions::default(), std::io::sink()).unwrap();
    confsim_scenario::html::render(
        &report,
        &["at least 100 successes".into(), "one 000-002".into()],
    )
}

#[test]
fn the_html_page_is_self_contained_and_has_its_charts() {
    let page = html_page();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.trim_end().ends_with("</html>"));
    // Nothing fetched, nothing run.
    for forbidden in ["<script", "http://", "https://", "<link", "src=", "@import"] {
        assert!(!page.contains(forbidden), "the page contains {forbidden:?}");
    }
    // Three charts: the timeline (two lines), the latency histogram, the event counts.
    assert_eq!(page.matches("<svg ").count(), 3);
    assert_eq!(page.matches("<path d=\"M").count(), 2);
    assert!(page.contains("Active conferences and busy agents over simulated time"));
    assert!(page.contains("Request-to-success latency"));
    assert!(page.contains("Events by type"));
    assert!(page.contains("AgentConf_RequestSuccess"));
    // The expectations with their verdicts, the load figures; the name is escaped.
    assert!(page.contains("<span class=\"fail\">FAIL</span></td><td>one 000-002</td><td>saw 0"));
    assert!(page.contains("<span class=\"ok\">ok</span></td><td>at least 100 successes"));
    assert!(page.contains("1 of 2 expectations failed"));
    assert!(page.contains("report &lt;&amp;&gt; &quot;check&quot;"));
    assert!(!page.contains("report <&>"));
    assert!(page.contains("<td>open</td><td>poisson</td><td>requestAgentConf</td>"));
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser", "google-chrome"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Renders the page in headless Chromium with networking disabled, as a user opening the file
/// would, and checks the browser's DOM holds the drawn charts. Runs where a Chromium is on
/// the PATH (`apt-get install chromium`); elsewhere it says it was skipped.
#[test]
fn the_html_page_renders_in_a_browser_without_network() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no chromium on the PATH (apt-get install chromium to run this check)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, html_page()).unwrap();
    let png = dir.path().join("report.png");
    let url = format!("file://{}", page.display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--window-size=1200,1600",
    ];
    let dom = Command::new(&browser)
        .args(common)
        .arg("--dump-dom")
        .arg(&url)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(dom.matches("<svg ").count(), 3, "{dom}");
    assert!(
        dom.contains("<rect"),
        "the histogram's bars are in the rendered DOM"
    );
    let shot = Command::new(&browser)
        .args(common)
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    // A blank 1200×1600 page compresses to a few kilobytes; charts and text do not.
    assert!(bytes.len() > 40_000, "{} bytes", bytes.len());
}
