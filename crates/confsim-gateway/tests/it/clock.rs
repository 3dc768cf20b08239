//! The clocks and the control API's clock routes.

use crate::support::{Client, MINUTE, gateway};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use confsim_core::SimTime;
use confsim_gateway::ClockMode;
use serde_json::json;

#[tokio::test]
async fn the_clock_route_tells_the_mode_and_the_present() {
    let c = Client::new(gateway(|_| {}));
    let reply = c
        .send(Method::GET, "/simulator/clock", &[], Body::empty())
        .await;
    assert_eq!(
        reply.json(),
        json!({"now": "2026-01-05T09:00:00.000Z", "mode": "manual", "speed": 0.0})
    );
    assert_eq!(c.advance(1_500).await, "2026-01-05T09:00:01.500Z");
    let health = c
        .send(Method::GET, "/simulator/health", &[], Body::empty())
        .await;
    assert_eq!(health.text, r#"{"status":"ok"}"#);
}

#[tokio::test]
async fn advancing_fires_every_timer_due_on_the_way_in_order() {
    let c = Client::new(gateway(|config| config.inactivity = None));
    let guids = [c.login(101).await, c.login(102).await];
    c.advance(1_000).await;
    // Two conferences of different lengths: their warnings and ends interleave.
    let r = c
        .conf(
            101,
            &guids[0],
            "requestagentconf",
            json!({"memberNum": 2, "time": 10}),
        )
        .await;
    assert_eq!(r.retcode(), "0");
    c.advance(30_000).await;
    let r = c
        .conf(
            102,
            &guids[1],
            "requestagentconf",
            json!({"memberNum": 2, "time": 5}),
        )
        .await;
    assert_eq!(r.retcode(), "0");
    // One jump over everything.
    c.advance(60 * MINUTE).await;
    let records = c.records();
    let times: Vec<SimTime> = records
        .iter()
        .map(|r| SimTime::parse_rfc3339(r["at"].as_str().unwrap()).unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order");
    let seqs: Vec<u64> = records.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=records.len() as u64).collect::<Vec<_>>());
    let ends: Vec<(String, String)> = records
        .iter()
        .filter(|r| {
            r["eventType"] == "AgentConf_Timeout" || r["eventType"] == "AgentConf_SelfLeaveResult"
        })
        .map(|r| {
            (
                r["eventType"].as_str().unwrap().to_owned(),
                r["workNo"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let owned = |t: &str, a: &str| (t.to_owned(), a.to_owned());
    // 102's 5-minute conference warns (at 2 min) and ends before 101's 10-minute one warns (7 min).
    assert_eq!(
        ends,
        [
            owned("AgentConf_Timeout", "102"),
            owned("AgentConf_SelfLeaveResult", "102"),
            owned("AgentConf_Timeout", "101"),
            owned("AgentConf_SelfLeaveResult", "101"),
        ]
    );
    // The polls see the same order, with the timers' exact instants.
    let polled = c.drain_events(102, &guids[1]).await;
    let warning = polled
        .iter()
        .find(|e| e["eventType"] == "AgentConf_Timeout")
        .unwrap();
    let success = polled
        .iter()
        .find(|e| e["eventType"] == "AgentConf_RequestSuccess")
        .unwrap();
    assert_eq!(
        warning["eventGenTime"].as_i64().unwrap() - success["eventGenTime"].as_i64().unwrap(),
        2 * MINUTE as i64
    );
}

#[tokio::test]
async fn advance_refuses_bad_bodies_and_the_wall_clock() {
    let c = Client::new(gateway(|_| {}));
    for body in [
        "",
        "{}",
        r#"{"ms": -5}"#,
        r#"{"ms": "5"}"#,
        r#"{"ms": 5, "x": 1}"#,
        r#"{"ms": 1e40}"#,
    ] {
        let reply = c
            .send(Method::POST, "/simulator/clock/advance", &[], body)
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(reply.json()["error"].is_string());
    }
    let too_far = c
        .send(
            Method::POST,
            "/simulator/clock/advance",
            &[],
            r#"{"ms": 999999999999999}"#,
        )
        .await;
    assert_eq!(too_far.status, StatusCode::BAD_REQUEST);

    let wall = Client::new(gateway(|config| {
        config.clock = ClockMode::Wall { speed: 1.0 }
    }));
    let reply = wall
        .send(
            Method::POST,
            "/simulator/clock/advance",
            &[],
            r#"{"ms": 5}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(
        reply.json()["error"]
            .as_str()
            .unwrap()
            .contains("--clock manual")
    );
    let clock = wall
        .send(Method::GET, "/simulator/clock", &[], Body::empty())
        .await
        .json();
    assert_eq!(clock["mode"], "wall");
    assert_eq!(clock["speed"], 1.0);
}

#[tokio::test]
async fn the_journal_route_serves_from_a_seq_and_whole() {
    let c = Client::new(gateway(|_| {}));
    c.login(101).await;
    c.advance(1_000).await;
    let whole = c
        .send(Method::GET, "/simulator/journal", &[], Body::empty())
        .await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(
        whole.headers.get("content-type").unwrap(),
        "application/x-ndjson"
    );
    let lines: Vec<&str> = whole.text.lines().collect();
    assert_eq!(lines.len(), 4, "header, login, two events");
    assert!(lines[0].contains(r#""scenario":"serve""#));
    let tail = c
        .send(Method::GET, "/simulator/journal?from=2", &[], Body::empty())
        .await;
    assert_eq!(tail.text, format!("{}\n{}\n", lines[2], lines[3]));
    let none = c
        .send(Method::GET, "/simulator/journal?from=9", &[], Body::empty())
        .await;
    assert_eq!((none.status, none.text.as_str()), (StatusCode::OK, ""));
    let bad = c
        .send(Method::GET, "/simulator/journal?from=x", &[], Body::empty())
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // The whole journal is a journal `confsim replay` reproduces.
    let outcome = confsim_replay::replay_bytes("http", whole.text.as_bytes()).unwrap();
    assert!(outcome.ok, "{}", outcome.human());
}
