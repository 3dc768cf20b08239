//! Journal subscription (product.md §9.3): `GET /simulator/journal?follow=true` streams the
//! records live, as JSON Lines or Server-Sent Events, over a real TCP connection; a reconnect
//! with `from` or `Last-Event-ID` loses nothing; a stop ends the stream.

use crate::tcp::{Server, advance, client, login};
use confsim_gateway::{ClockMode, GatewayConfig};
use serde_json::Value;
use std::time::Duration;

fn manual() -> GatewayConfig {
    GatewayConfig {
        clock: ClockMode::Manual,
        poll_wait: Duration::from_millis(20),
        inactivity: None,
        ..GatewayConfig::default()
    }
}

/// Reads `response` until `done` says the text so far is enough (or 20 s pass).
async fn read_until(response: &mut reqwest::Response, done: impl Fn(&str) -> bool) -> String {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done(&text) {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("the stream stalled; so far:\n{text}"))
            .unwrap();
        match chunk {
            Some(bytes) => text.push_str(std::str::from_utf8(&bytes).unwrap()),
            None => panic!("the stream ended; so far:\n{text}"),
        }
    }
    text
}

async fn whole_journal(http: &reqwest::Client, server: &Server) -> String {
    http.get(server.url("/simulator/journal"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_follower_sees_every_record_as_it_is_journaled() {
    let server = Server::start(manual(), None).await;
    let http = client();
    let mut follow = http
        .get(server.url("/simulator/journal?from=0&follow=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(follow.status(), 200);
    assert_eq!(follow.headers()["content-type"], "application/x-ndjson");
    // The header arrives before anything happens.
    let header = read_until(&mut follow, |t| t.ends_with('\n')).await;
    assert!(
        header.contains(r#""confsim""#) || header.contains("seed"),
        "{header}"
    );

    // Then each record as the platform journals it, without a request to the journal.
    let mut text = header;
    for agent in 101..111 {
        login(&http, &server, agent).await;
    }
    advance(&http, &server, 5_000).await;
    let journal = whole_journal(&http, &server).await;
    let records = journal.lines().count();
    text.push_str(
        &read_until(&mut follow, |t| {
            text.lines().count() + t.lines().count() >= records
        })
        .await,
    );
    assert_eq!(
        text, journal,
        "the live stream is the journal, byte for byte"
    );

    // A reconnect from the next seq continues exactly where the first left off.
    drop(follow);
    let last_seq = records as u64 - 1;
    let mut again = http
        .get(server.url(&format!(
            "/simulator/journal?from={}&follow=true",
            last_seq + 1
        )))
        .send()
        .await
        .unwrap();
    login(&http, &server, 111).await;
    let more = read_until(&mut again, |t| t.ends_with('\n')).await;
    let first: Value = serde_json::from_str(more.lines().next().unwrap()).unwrap();
    assert_eq!(first["seq"], last_seq + 1, "{more}");
    assert_eq!(first["agentId"], "111", "{more}");
    drop(again);
    // A stop ends the remaining streams at once (the stop does not wait for them).
    let _held = http
        .get(server.url("/simulator/journal?follow=true"))
        .send()
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn server_sent_events_carry_seq_ids_and_resume_after_last_event_id() {
    let server = Server::start(manual(), None).await;
    let http = client();
    for agent in 101..104 {
        login(&http, &server, agent).await;
    }
    advance(&http, &server, 5_000).await;
    let mut events = http
        .get(server.url("/simulator/journal?from=2&follow=true"))
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let text = read_until(&mut events, |t| t.matches("\n\n").count() >= 4).await;
    let frames: Vec<&str> = text.split("\n\n").filter(|f| !f.is_empty()).collect();
    for (i, frame) in frames.iter().take(4).enumerate() {
        let (id, data) = frame.split_once('\n').unwrap();
        let seq = 2 + i as u64;
        assert_eq!(id, format!("id: {seq}"), "{text}");
        let record: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(record["seq"], seq);
    }
    drop(events);
    // As an EventSource reconnects: the same URL, and the last id it saw.
    let mut resumed = http
        .get(server.url("/simulator/journal?from=2&follow=true"))
        .header("Accept", "text/event-stream")
        .header("Last-Event-ID", "4")
        .send()
        .await
        .unwrap();
    let text = read_until(&mut resumed, |t| t.contains("\n\n")).await;
    assert!(text.starts_with("id: 5\ndata: "), "{text}");
    drop(resumed);
    // A bad Last-Event-ID or follow value is a clear 400, not a stream.
    let bad = http
        .get(server.url("/simulator/journal?follow=true"))
        .header("Accept", "text/event-stream")
        .header("Last-Event-ID", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad = http
        .get(server.url("/simulator/journal?follow=maybe"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    server.stop().await;
}

/// The subscription figure: a follower of a session that journals more than 50,000 records
/// (2,000 agents signing in, then applying for conferences and releasing them, round after
/// round, many clients at once) receives the journal byte for byte, nothing lost. Prints the
/// records followed and the rate.
///
/// `cargo test --release -p confsim-gateway --test it subscribe::a_follower_of -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a load figure; run it in a release build with --ignored --nocapture"]
async fn a_follower_of_a_fifty_thousand_record_session_misses_nothing() {
    const AGENTS: u32 = 2_000;
    const TARGET: usize = 50_000;
    let server = std::sync::Arc::new(Server::start(manual(), None).await);
    let http = client();
    let mut follow = http
        .get(server.url("/simulator/journal?from=0&follow=true"))
        .send()
        .await
        .unwrap();
    let began = tokio::time::Instant::now();
    // Followed in the background while the load runs (a follower that left 8 MiB untaken
    // would be disconnected: this one keeps up).
    let followed = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let follower = {
        let followed = followed.clone();
        tokio::spawn(async move {
            while let Ok(Some(bytes)) = follow.chunk().await {
                followed
                    .lock()
                    .unwrap()
                    .push_str(std::str::from_utf8(&bytes).unwrap());
            }
        })
    };
    let guids = futures_util::future::join_all((101..101 + AGENTS).map(|agent| {
        let (http, server) = (http.clone(), server.clone());
        async move { login(&http, &server, agent).await }
    }))
    .await;
    advance(&http, &server, 5_000).await;
    let mut records = whole_journal(&http, &server).await.lines().count();
    while records < TARGET {
        for (action, body) in [
            ("requestagentconf", r#"{"memberNum":2,"time":60}"#),
            ("releaseagentconf", ""),
        ] {
            futures_util::future::join_all(guids.iter().zip(101..).map(|(guid, agent)| {
                let (http, server) = (http.clone(), server.clone());
                async move {
                    let reply = http
                        .post(server.vendor(&format!("/agentconf/{agent}/{action}")))
                        .header("Guid", guid.as_str())
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(reply.status(), 200);
                }
            }))
            .await;
            advance(&http, &server, 5_000).await;
        }
        records = whole_journal(&http, &server).await.lines().count();
    }
    let journal = whole_journal(&http, &server).await;
    let lines = journal.lines().count();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while followed.lock().unwrap().lines().count() < lines && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = began.elapsed();
    let server = std::sync::Arc::into_inner(server).expect("the clients are done");
    server.stop().await;
    follower.await.unwrap();
    let followed = std::mem::take(&mut *followed.lock().unwrap());
    assert_eq!(
        followed.lines().count(),
        journal.lines().count(),
        "every record followed"
    );
    assert!(
        followed == journal,
        "the followed stream is the journal, byte for byte"
    );
    println!(
        "followed {} records ({} bytes) of a {AGENTS}-agent session in {:.2} s, as they were journaled: {:.0} records/s, nothing lost",
        journal.lines().count(),
        journal.len(),
        elapsed.as_secs_f64(),
        journal.lines().count() as f64 / elapsed.as_secs_f64()
    );
}
