//! The per-agent event queue's bound and its overflow policy: past `queue_capacity` the
//! oldest queued event is dropped, the journal keeps every record, and the drop is counted in
//! the metrics and told to the agent's client in `X-Confsim-Dropped-Events`.

use crate::support::{Client, gateway, metric};
use axum::body::Body;
use axum::http::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_full_queue_drops_its_oldest_events_the_journal_keeps_them_and_the_client_is_told() {
    let c = Client::new(gateway(|config| {
        config.inactivity = None;
        config.queue_capacity = 3;
    }));
    let guid = c.login(101).await;
    c.advance(1_000).await;
    assert_eq!(
        c.conf(101, &guid, "requestagentconf", json!({"memberNum": 2}))
            .await
            .retcode(),
        "0"
    );
    c.advance(1_000).await;

    // The journal has all 7 events of agent 101: 2 of the sign-in, 5 of the application.
    let journaled: Vec<Value> = c
        .records()
        .into_iter()
        .filter(|r| r.get("eventType").is_some())
        .collect();
    assert_eq!(journaled.len(), 7);

    // The queue held the newest 3; each poll answer says 4 were dropped.
    let mut polled = Vec::new();
    loop {
        let reply = c.poll(101, &guid).await;
        assert_eq!(
            reply
                .headers
                .get("x-confsim-dropped-events")
                .map(|v| v.to_str().unwrap().to_owned()),
            Some("4".to_owned()),
            "{}",
            reply.text
        );
        match reply.json().get("event") {
            Some(e) => polled.push(e["eventType"].clone()),
            None => break,
        }
    }
    let newest: Vec<Value> = journaled[4..]
        .iter()
        .map(|r| r["eventType"].clone())
        .collect();
    assert_eq!(polled, newest);

    let text = c
        .send(Method::GET, "/simulator/metrics", &[], Body::empty())
        .await
        .text;
    for (series, n) in [
        ("confsim_gateway_events_dropped_total", 4),
        ("confsim_gateway_overflowed_sessions_total", 1),
        ("confsim_gateway_queue_capacity", 3),
        ("confsim_gateway_queue_length_max", 3),
        ("confsim_gateway_events_delivered_total", 3),
        ("confsim_gateway_queued_events", 0),
    ] {
        assert_eq!(metric(&text, series), Some(n), "{series} in\n{text}");
    }

    // A new sign-in starts a session that has lost nothing.
    let reply = c
        .send(
            Method::PUT,
            "/agentgateway/resource/onlineagent/101/forcelogin",
            &[("Content-Type", "application/json")],
            json!({"password": "", "status": "4"}).to_string(),
        )
        .await;
    assert_eq!(reply.retcode(), "0", "{}", reply.text);
    let guid = reply.set_guid().unwrap();
    let reply = c.poll(101, &guid).await;
    assert!(reply.headers.get("x-confsim-dropped-events").is_none());
}
