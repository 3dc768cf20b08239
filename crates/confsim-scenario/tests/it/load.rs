//! Load generators: each arrival process's statistics over a long seeded run, dropped
//! arrivals, `releaseAfter`, closed loops, generators of other operations, the wall clock's
//! journal equalling the virtual one, and the errors bad generators get.

use confsim_scenario::{ClockChoice, Report, RunOptions, Scenario, run};
use serde_json::Value;
use std::path::Path;

fn scenario(text: &str) -> Scenario {
    confsim_scenario::parse(text, Path::new("s.json")).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a scenario; returns the report and the journal's records (header dropped).
fn run_text(text: &str) -> (Report, Vec<Value>) {
    let (report, bytes) = run(&scenario(text), &RunOptions::default(), Vec::new()).unwrap();
    let records = String::from_utf8(bytes)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (report, records)
}

fn error_of(text: &str) -> String {
    let err = confsim_scenario::parse(text, Path::new("s.json")).unwrap_err();
    assert!(err.is_bad_input());
    err.to_string()
}

/// Milliseconds from the scenario's default start (09:00:00) of a record's `at`.
fn offset_ms(record: &Value) -> i64 {
    let at = record["at"].as_str().unwrap();
    let t = confsim_core::SimTime::parse_rfc3339(at).unwrap();
    let start = confsim_core::SimTime::parse_rfc3339("2026-01-05T09:00:00Z").unwrap();
    t.as_unix_ms() - start.as_unix_ms()
}

fn inputs(records: &[Value]) -> Vec<&Value> {
    records.iter().filter(|r| r.get("op").is_some()).collect()
}

/// Arrival instants of a generator whose every request is refused synchronously (`memberNum`
/// 0 is `000-002`): its agents stay free, so every arrival is one input and none is dropped.
fn refused_arrivals(arrival: &str, until: &str) -> (Report, Vec<i64>) {
    let text = format!(
        r#"{{"name": "rate", "seed": 9, "agents": [{{"ids": "101-110"}}],
            "load": [{{"agents": "101-110", "body": {{"memberNum": 0}}, "arrival": {arrival}}}],
            "until": "{until}"}}"#
    );
    let (report, records) = run_text(&text);
    let times = inputs(&records).iter().map(|r| offset_ms(r)).collect();
    (report, times)
}

fn mean_and_cv(times: &[i64]) -> (f64, f64) {
    let gaps: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let var = gaps.iter().map(|g| (g - mean) * (g - mean)).sum::<f64>() / gaps.len() as f64;
    (mean, var.sqrt() / mean)
}

#[test]
fn poisson_arrivals_have_the_mean_rate_and_exponential_gaps() {
    let (report, times) = refused_arrivals(r#"{"poisson": {"perSecond": 20}}"#, "30m");
    // 36,000 expected; a Poisson count's standard deviation is its square root (190).
    let n = times.len() as f64;
    assert!((n - 36_000.0).abs() < 4.0 * 190.0, "{n} arrivals");
    let (mean, cv) = mean_and_cv(&times);
    assert!((mean - 50.0).abs() < 1.5, "mean gap {mean} ms");
    // Exponential gaps have a coefficient of variation of 1.
    assert!((cv - 1.0).abs() < 0.05, "cv {cv}");
    assert_eq!(report.dropped_arrivals, 0);
    assert_eq!(report.load[0].arrivals, times.len() as u64);
    assert_eq!(report.retcodes.get("000-002"), Some(&(times.len() as u64)));
    assert!(times.iter().all(|t| (0..1_800_000).contains(t)));
}

#[test]
fn constant_arrivals_are_evenly_spaced_without_drift() {
    let (_, times) = refused_arrivals(r#"{"constant": {"perSecond": 10}}"#, "10m");
    assert_eq!(times.len(), 6_000);
    assert_eq!(times[0], 0);
    assert!(times.windows(2).all(|w| w[1] - w[0] == 100));
    // A rate whose gap is not a whole number of milliseconds: 333 or 334, never drifting.
    let (_, times) = refused_arrivals(r#"{"constant": {"perSecond": 3}}"#, "10m");
    assert_eq!(times.len(), 1_800);
    assert!(
        times
            .windows(2)
            .all(|w| (333..=334).contains(&(w[1] - w[0])))
    );
    assert_eq!(times[1_799], 599_666);
}

#[test]
fn a_burst_arrives_all_at_once_at_from() {
    let text = r#"{"name": "burst", "agents": [{"ids": "101-200"}],
        "load": [{"agents": "101-200", "body": {"memberNum": 4, "time": 10},
                  "arrival": {"burst": {"count": 50}}, "from": "5m"}]}"#;
    let (report, records) = run_text(text);
    let ins = inputs(&records);
    assert_eq!(ins.len(), 50);
    assert!(ins.iter().all(|r| offset_ms(r) == 300_000));
    // Fifty different agents: a picked agent is no longer free.
    let mut agents: Vec<&str> = ins.iter().map(|r| r["agentId"].as_str().unwrap()).collect();
    agents.sort();
    agents.dedup();
    assert_eq!(agents.len(), 50);
    assert_eq!(report.counts["AgentConf_RequestSuccess"], 50);
}

#[test]
fn arrivals_that_find_no_free_agent_are_dropped_and_counted() {
    let text = r#"{"name": "drops", "agents": [{"ids": "101-110"}, {"ids": "111-115", "state": "busy"}],
        "load": [{"name": "too-many", "agents": "101-115", "body": {"memberNum": 4, "time": 10},
                  "arrival": {"burst": {"count": 30}}}]}"#;
    let (report, records) = run_text(text);
    assert_eq!(
        inputs(&records).len(),
        10,
        "only the ten idle agents are picked"
    );
    assert_eq!(report.dropped_arrivals, 20);
    let g = &report.load[0];
    assert_eq!(
        (
            g.name.as_str(),
            g.arrivals,
            g.dropped,
            g.submitted,
            g.accepted
        ),
        ("too-many", 30, 20, 10, 10)
    );
    assert!(report.human(&[]).contains("dropped arrivals 20"));
}

#[test]
fn max_count_bounds_the_arrivals_dropped_ones_included() {
    let text = r#"{"name": "max", "agents": [{"ids": "101-103"}],
        "load": [{"agents": "101-103", "body": {"memberNum": 4, "time": 10},
                  "arrival": {"constant": {"perSecond": 100}}, "maxCount": 7}]}"#;
    let (report, _) = run_text(text);
    assert_eq!(report.load[0].arrivals, 7);
    assert_eq!(report.load[0].submitted, 3);
    assert_eq!(report.dropped_arrivals, 4);
}

#[test]
fn release_after_has_the_chair_release_before_the_timeout_or_never() {
    // Held 2 minutes of a 10-minute conference: released by the chair, never warned.
    let text = r#"{"name": "hold", "agents": [{"ids": "101-120"}],
        "load": [{"agents": "101-120", "body": {"memberNum": 4, "time": 10, "promptTime": 3},
                  "arrival": {"burst": {"count": 20}}, "releaseAfter": "2m"}]}"#;
    let (report, records) = run_text(text);
    assert_eq!(report.load[0].releases, 20);
    assert!(!report.counts.contains_key("AgentConf_Timeout"));
    let releases: Vec<&Value> = records
        .iter()
        .filter(|r| r["op"] == "releaseAgentConf")
        .collect();
    assert_eq!(releases.len(), 20);
    assert!(releases.iter().all(|r| r["response"]["retcode"] == "0"));
    // Each release comes exactly two minutes after that chair's AgentConf_RequestSuccess.
    for release in &releases {
        let agent = release["agentId"].as_str().unwrap();
        let success = records
            .iter()
            .find(|r| r["eventType"] == "AgentConf_RequestSuccess" && r["workNo"] == agent)
            .unwrap();
        assert_eq!(offset_ms(release) - offset_ms(success), 120_000);
    }

    // Held longer than the conference lasts: the platform ends it; the chair sends nothing.
    let text = r#"{"name": "hold", "agents": [{"ids": "101-120"}],
        "load": [{"agents": "101-120", "body": {"memberNum": 4, "time": 10, "promptTime": 3},
                  "arrival": {"burst": {"count": 20}}, "releaseAfter": "1h"}]}"#;
    let (report, records) = run_text(text);
    assert_eq!(report.load[0].releases, 0);
    assert_eq!(report.counts["AgentConf_Timeout"], 20);
    assert!(records.iter().all(|r| r["op"] != "releaseAgentConf"));
}

#[test]
fn a_closed_loop_keeps_its_concurrency_and_never_drops_on_its_own_agents() {
    let text = r#"{"name": "closed", "seed": 4, "agents": [{"ids": "101-120"}],
        "load": [{"agents": "101-120", "body": {"memberNum": 4, "time": 4},
                  "arrival": {"closed": {"concurrency": 20, "thinkTime": "10s"}},
                  "releaseAfter": "1m"}],
        "until": "1h"}"#;
    let (report, _) = run_text(text);
    let g = &report.load[0];
    assert_eq!(g.dropped, 0);
    // Each slot's cycle: five latency draws of 55 ms on average to success, 60 s held, one
    // draw to the release, 10 s of thought: about 70.3 s. An hour holds 52 iterations a slot
    // (starting at 0, 70.3 s, … 3586 s).
    assert!((1_000..=1_060).contains(&g.arrivals), "{}", g.arrivals);
    assert_eq!(g.accepted, g.submitted);
    // Every iteration's conference is released, but those still held when the run ends.
    assert!(g.releases <= g.arrivals && g.releases + 20 >= g.arrivals);
    // The timeline never shows more conferences than slots, and shows them all at once.
    let max_active = report
        .timeline
        .iter()
        .map(|p| p.active_conferences)
        .max()
        .unwrap();
    assert_eq!(max_active, 20);
    assert!(report.timeline.iter().all(|p| p.busy_agents <= 20));
}

#[test]
fn a_closed_loop_of_refused_requests_still_moves_time_on() {
    // memberNum 0 is refused at once and thinkTime is zero: each slot retries a millisecond
    // later rather than spinning at one instant, until the second is over (arrivals at 0 to
    // 999 ms).
    let text = r#"{"name": "spin", "agents": [{"ids": "101-102"}],
        "load": [{"agents": "101-102", "body": {"memberNum": 0},
                  "arrival": {"closed": {"concurrency": 2}}}],
        "until": "1s"}"#;
    let (report, records) = run_text(text);
    assert_eq!(inputs(&records).len(), 2 * 1_000);
    assert_eq!(report.retcodes["000-002"], 2_000);
}

#[test]
fn a_generator_may_drive_other_operations_on_the_agents_they_suit() {
    let text = r#"{"name": "prolong", "agents": [{"ids": "101-110"}],
        "load": [
          {"name": "open", "agents": "101-105", "body": {"memberNum": 4, "time": 10},
           "arrival": {"burst": {"count": 5}}},
          {"name": "too-early", "agents": "101-110", "op": "prolongTime",
           "body": {"prolongTime": 5}, "arrival": {"burst": {"count": 3}}},
          {"name": "extend", "agents": "101-110", "op": "prolongTime",
           "body": {"prolongTime": {"choice": [5, 15]}},
           "arrival": {"burst": {"count": 8}}, "from": "1m"}
        ]}"#;
    let (report, records) = run_text(text);
    // At 0s the five conferences are still being applied for: no agent chairs an active
    // conference, so every prolongTime arrival is dropped rather than sent to be refused.
    let early = &report.load[1];
    assert_eq!((early.submitted, early.dropped), (0, 3));
    // At 1m the five chairs are eligible, and stay so after prolonging: eight arrivals pick
    // among them (with repetition), none is dropped, agents 106-110 are never picked.
    let extend = &report.load[2];
    assert_eq!(
        (extend.submitted, extend.accepted, extend.dropped),
        (8, 8, 0)
    );
    let prolonged: Vec<&Value> = records
        .iter()
        .filter(|r| r["op"] == "prolongTime")
        .collect();
    assert_eq!(prolonged.len(), 8);
    assert!(
        prolonged
            .iter()
            .all(|r| r["agentId"].as_str().unwrap() <= "105")
    );
    for r in &prolonged {
        let by = r["body"]["prolongTime"].as_i64().unwrap();
        assert!(by == 5 || by == 15);
        assert_eq!(r["response"]["result"]["applyedTime"], by);
    }
}

#[test]
fn generators_can_invite_after_success_and_answer_ringing_invitations() {
    let invitees: Vec<String> = (201..=220).map(|id| format!("\"{id}\"")).collect();
    let text = format!(
        r#"{{"name": "invite", "seed": 2, "agents": [{{"ids": "101-110"}}, {{"ids": "201-220"}}],
        "load": [
          {{"name": "open", "agents": "101-110", "body": {{"memberNum": 10, "time": 30}},
           "arrival": {{"burst": {{"count": 10}}}}}},
          {{"name": "invite", "agents": "101-110", "op": "batchAddParticipant",
           "body": {{"addresses": [{{"addressType": "9", "address": {{"choice": [{}]}}}}]}},
           "arrival": {{"burst": {{"count": 10}}}}, "from": "1m"}},
          {{"name": "answer", "agents": "201-220", "op": "answerAgentConf",
           "arrival": {{"constant": {{"perSecond": 1}}}}, "from": "1m", "until": "2m"}}
        ]}}"#,
        invitees.join(", ")
    );
    let (report, records) = run_text(&text);
    let ringing: std::collections::BTreeSet<&str> = records
        .iter()
        .filter(|r| r["eventType"] == "AgentConf_Ringing")
        .map(|r| r["workNo"].as_str().unwrap())
        .collect();
    assert!(!ringing.is_empty());
    // The answering generator picks only agents whose phone rings: every answer is accepted,
    // every ringing invitee answers (well within the 30 s ring timeout), and the rest of its
    // arrivals find nobody ringing and are dropped.
    let answer = &report.load[2];
    assert_eq!(answer.accepted, answer.submitted);
    assert_eq!(answer.submitted, ringing.len() as u64);
    assert_eq!(answer.dropped, answer.arrivals - answer.submitted);
    let answered: std::collections::BTreeSet<&str> = records
        .iter()
        .filter(|r| r["op"] == "answerAgentConf")
        .map(|r| r["agentId"].as_str().unwrap())
        .collect();
    assert_eq!(answered, ringing);
}

#[test]
fn body_draws_that_are_invalid_are_sent_as_they_are() {
    let text = r#"{"name": "invalid", "seed": 3, "agents": [{"ids": "101-400"}],
        "load": [{"agents": "101-400", "body": {"memberNum": {"normal": {"mean": 2, "stddev": 3}}, "time": 10},
                  "arrival": {"burst": {"count": 300}}}]}"#;
    let (report, records) = run_text(text);
    let refused: Vec<i64> = inputs(&records)
        .iter()
        .filter(|r| r["response"]["retcode"] == "000-002")
        .map(|r| r["body"]["memberNum"].as_i64().unwrap())
        .collect();
    // Draws below 1 are not clamped: the platform answers 000-002, as to a real client.
    assert!(refused.len() > 50, "{}", refused.len());
    assert!(refused.iter().all(|n| *n < 1));
    assert_eq!(
        report.retcodes["0"] + report.retcodes["000-002"],
        300,
        "{:?}",
        report.retcodes
    );
}

#[test]
fn generators_are_seeded_and_reproducible() {
    let text = |seed: u64| {
        format!(
            r#"{{"name": "seeded", "seed": {seed}, "agents": [{{"ids": "101-300"}}],
            "load": [{{"agents": "101-300", "body": {{"memberNum": {{"uniform": [2, 10]}}, "time": 10}},
                      "arrival": {{"poisson": {{"perSecond": 2}}}}, "until": "5m",
                      "releaseAfter": {{"exponential": {{"mean": "1m"}}}}}}]}}"#
        )
    };
    let (a, _) = run_text(&text(1));
    let (b, _) = run_text(&text(1));
    let (c, _) = run_text(&text(2));
    assert_eq!(a.digest, b.digest);
    assert_ne!(a.digest, c.digest);
}

#[test]
fn the_wall_clock_journals_the_same_bytes_as_the_virtual_clock_with_generators() {
    let s = scenario(
        r#"{"name": "wall", "seed": 8, "agents": [{"ids": "101-150"}],
        "load": [
          {"agents": "101-130", "body": {"memberNum": {"uniform": [2, 6]}, "time": 4},
           "arrival": {"poisson": {"perSecond": 1}}, "until": "2m", "releaseAfter": {"uniform": ["10s", "90s"]}},
          {"agents": "131-150", "body": {"memberNum": 4, "time": 4},
           "arrival": {"closed": {"concurrency": 5, "thinkTime": {"exponential": {"mean": "20s"}}}},
           "releaseAfter": "30s"}
        ],
        "until": "5m"}"#,
    );
    // Five simulated minutes at speed 3000 take a tenth of a real second.
    let wall = RunOptions {
        clock: ClockChoice::Wall { speed: 3000.0 },
        ..RunOptions::default()
    };
    let (v, vbytes) = run(&s, &RunOptions::default(), Vec::new()).unwrap();
    let (w, wbytes) = run(&s, &wall, Vec::new()).unwrap();
    assert!(v.records > 100, "{}", v.records);
    assert!(vbytes == wbytes, "the journals differ");
    assert_eq!(v.digest, w.digest);
    assert_eq!(w.clock, "wall");
    let lateness = w.latency_ms.timer_lateness.as_ref().unwrap();
    assert!(lateness.count > 0);
    assert!(w.fell_behind.is_some());
}

/// Generators that overlap (two closed loops and an open one following agents of the same
/// range, a list with a repeated id, other operations on them all), a closed loop refused at
/// once, and releases hours past the wake-up queue's ring: the journal is pinned, byte for
/// byte (its digest), as the driver wrote it before its wake-up queue, its followed agents and
/// its lookups were rewritten for speed, so the draws and wake-ups still come in the same
/// order.
#[test]
fn overlapping_generators_journal_what_they_always_did() {
    let (report, _) = run_text(
        r#"{ "name": "overlapping-generators", "seed": 11,
          "agents": [ { "ids": "101-160" }, { "ids": "501-505" } ],
          "load": [
            { "name": "closed-release", "agents": "101-140", "body": { "memberNum": 4, "time": 5 },
              "arrival": { "closed": { "concurrency": 25, "thinkTime": { "uniform": ["0s", "20s"] } } },
              "releaseAfter": { "uniform": ["30s", "6m"] } },
            { "name": "closed", "agents": "121-160", "body": { "memberNum": 4, "time": 5 },
              "arrival": { "closed": { "concurrency": 20, "thinkTime": "0s" } } },
            { "name": "poisson-list", "agents": [110, 130, 150, 110, 159, 501, 502], "body": { "memberNum": 3, "time": 5 },
              "arrival": { "poisson": { "perSecond": 2 } }, "releaseAfter": { "uniform": ["10s", "2m"] } },
            { "name": "prolong", "agents": "101-160", "op": "prolongTime", "body": { "prolongTime": { "choice": [1, 2] } },
              "arrival": { "constant": { "perSecond": 0.5 } } },
            { "name": "refused", "agents": "501-505", "body": { "memberNum": 0 },
              "arrival": { "closed": { "concurrency": 1 } }, "until": "2s" },
            { "name": "release", "agents": "101-160", "op": "releaseAgentConf",
              "arrival": { "closed": { "concurrency": 2, "thinkTime": "7s" } }, "maxCount": 50 },
            { "name": "far-release", "agents": "101-160", "body": { "memberNum": 2, "time": 300 },
              "arrival": { "burst": { "count": 10 } }, "from": "10m", "releaseAfter": { "uniform": ["2h", "3h"] } }
          ],
          "until": "3h"
        }"#,
    );
    let figures: Vec<_> = report
        .load
        .iter()
        .map(|l| {
            (
                l.name.as_str(),
                l.arrivals,
                l.dropped,
                l.submitted,
                l.releases,
            )
        })
        .collect();
    assert_eq!(
        figures,
        vec![
            ("closed-release", 1361, 18, 1343, 1270),
            ("closed", 191, 0, 191, 0),
            ("poisson-list", 21534, 20603, 931, 922),
            ("prolong", 5400, 1, 5399, 0),
            ("refused", 2000, 0, 2000, 0),
            ("release", 50, 2, 48, 0),
            ("far-release", 10, 0, 10, 8),
        ]
    );
    assert_eq!(report.records, 33056);
    assert_eq!(
        report.digest,
        "205ae1660828f35883e6ec3f116efcb9689dce0cd1108a608448e6ec26339aea"
    );
}

#[test]
fn bad_generators_are_refused_with_their_location() {
    let text = "{\"name\": \"x\", \"agents\": [{\"ids\": \"101-110\"}],\n \"load\": [{\"agents\": \"101-110\",\n   \"body\": {\"memberNum\": {\"uniform\": [10, 2]}},\n   \"arrival\": {\"burst\": {\"count\": 1}}}]}";
    assert_eq!(
        error_of(text),
        "s.json:3:26: load[0].body.memberNum: \"uniform\" needs low <= high, got [10, 2]"
    );
    let e = error_of(
        r#"{"name": "x", "agents": [{"ids": "101-110"}],
        "load": [{"agents": "101-110", "arrival": {"poison": {"perSecond": 1}}, "until": "1m"}]}"#,
    );
    assert!(
        e.contains("load[0].arrival: unknown variant `poison`, expected one of `poisson`"),
        "{e}"
    );
    let e = error_of(
        r#"{"name": "x", "agents": [{"ids": "101-110"}],
        "load": [{"agents": "101-110", "arrival": {"poisson": {"perSecond": 1}}}]}"#,
    );
    assert!(
        e.contains("load[0].arrival: poisson arrivals need an end"),
        "{e}"
    );
    let e = error_of(
        r#"{"name": "x", "agents": [{"ids": "101-110"}], "until": "1h",
        "load": [{"agents": "101-110", "arrival": {"closed": {"concurrency": 11}}}]}"#,
    );
    assert!(
        e.contains(
            "s.json:2:78: load[0].arrival.closed.concurrency: must be from 1 to the 10 agents"
        ),
        "{e}"
    );
    let e = error_of(
        r#"{"name": "x", "agents": [{"ids": "101-110"}],
        "load": [{"agents": "101-111", "arrival": {"burst": {"count": 1}}}]}"#,
    );
    assert!(
        e.contains("load[0].agents: agent 111 is not in agents[]"),
        "{e}"
    );
    let e = error_of(
        r#"{"name": "x", "agents": [{"ids": "101-110"}],
        "load": [{"agents": "101-110", "op": "prolongTime", "arrival": {"burst": {"count": 1}}, "releaseAfter": "1m"}]}"#,
    );
    assert!(
        e.contains("load[0].releaseAfter: releaseAfter applies to requestAgentConf generators"),
        "{e}"
    );
    let e = error_of(
        r#"{"name": "x", "agents": [{"ids": "101-110"}],
        "load": [{"agents": "101-110", "arrival": {"constant": {"perSecond": 0}}, "until": "1m"}]}"#,
    );
    assert!(
        e.contains("load[0].arrival.constant.perSecond: must be a rate above 0"),
        "{e}"
    );
    let e = error_of(
        r#"{"name": "x", "agents": [{"ids": "101-110"}],
        "load": [{"agents": "101-110", "arrival": {"burst": {"count": 1}}, "from": "5m", "until": "1m"}]}"#,
    );
    assert!(
        e.contains("load[0].until: until (1m) must be later than from (5m)"),
        "{e}"
    );
    let e = error_of(
        r#"{"name": "x", "agents": [{"ids": "101-110"}],
        "load": [{"agents": "101-110", "arrival": {"burst": {"count": 1}}, "releaseAfter": {"uniform": ["5m"]}}]}"#,
    );
    assert!(
        e.contains("load[0].releaseAfter.uniform: a pair [low, high]"),
        "{e}"
    );
    let e = error_of(
        r#"{"name": "x", "agents": [{"ids": "101-110"}],
        "load": [{"agents": "101-110", "arrival": {"burst": {"count": 1}}, "pick": "chairs"}]}"#,
    );
    assert!(e.contains("load[0].pick: unknown variant `chairs`"), "{e}");
}

/// From a few thousand agents the engine, the runner and the load driver give the processor
/// prefetch hints (`Platform::hints_pay`); a hint changes nothing. This run is large enough
/// for them, with scripted steps and a closed loop, and is the same twice over, byte for
/// byte, with every expectation met (debug builds also check the platform's bookkeeping on
/// every change).
#[test]
fn a_run_large_enough_for_prefetch_hints_is_deterministic() {
    let text = r#"{"name": "hinted", "seed": 11,
        "platform": { "latency": { "minMs": 0, "maxMs": 50 } },
        "agents": [ { "ids": "101-4200" } ],
        "load": [ { "agents": "101-4100",
            "body": { "memberNum": 4, "time": 3, "promptTime": 1 },
            "arrival": { "closed": { "concurrency": 4000, "thinkTime": "20s" } },
            "releaseAfter": { "uniform": ["30s", "4m"] } } ],
        "steps": [
            { "at": "1s", "agent": "4101", "op": "requestAgentConf", "body": { "memberNum": 3 } },
            { "at": "1s", "agent": "4102", "op": "requestAgentConf", "body": { "memberNum": 3 } },
            { "at": "2s", "agent": "4103", "op": "requestAgentConf", "body": { "memberNum": 3 } },
            { "at": "90s", "agent": "4101", "op": "releaseAgentConf" },
            { "at": "91s", "agent": "4103", "op": "releaseAgentConf" }
        ],
        "expect": [ { "count": "AgentConf_RequestSuccess", "min": 3 } ],
        "until": "6m"}"#;
    let scenario =
        confsim_scenario::parse(text, Path::new("hinted.json")).unwrap_or_else(|e| panic!("{e}"));
    let (first, journal) = run(&scenario, &RunOptions::default(), Vec::new()).unwrap();
    let (second, again) = run(&scenario, &RunOptions::default(), Vec::new()).unwrap();
    assert!(first.ok, "{:?}", first.expectations);
    assert!(first.records > 10_000, "{} records", first.records);
    assert_eq!(first.digest, second.digest);
    assert!(journal == again, "the two journals differ");
}
