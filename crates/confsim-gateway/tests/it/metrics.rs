//! `GET /simulator/metrics`: Prometheus text with the journal's counts and the gateway's own.

use crate::support::{Client, gateway, metric};
use axum::body::Body;
use axum::http::Method;
use serde_json::json;

#[tokio::test]
async fn metrics_count_inputs_events_retcodes_and_the_gateways_own() {
    let c = Client::new(gateway(|config| {
        config.inactivity = None;
        config.queue_capacity = 3;
    }));
    let g101 = c.login(101).await;
    let _g102 = c.login(102).await;
    c.advance(1_000).await;
    assert_eq!(
        c.conf(101, &g101, "requestagentconf", json!({"memberNum": 2}))
            .await
            .retcode(),
        "0"
    );
    assert_eq!(
        c.conf(101, &g101, "requestagentconf", json!({}))
            .await
            .retcode(),
        "000-002"
    );
    assert_eq!(
        c.conf(101, "wrong", "releaseagentconf", json!(null))
            .await
            .retcode(),
        "100-006"
    );
    c.advance(1_000).await;
    c.send(Method::GET, "/nope", &[], Body::empty()).await;

    let reply = c
        .send(Method::GET, "/simulator/metrics", &[], Body::empty())
        .await;
    assert_eq!(
        reply.headers.get("content-type").unwrap(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = reply.text;
    let expect = [
        ("confsim_inputs_total{op=\"login\"}", 2),
        ("confsim_inputs_total{op=\"requestAgentConf\"}", 2),
        ("confsim_inputs_total{op=\"releaseAgentConf\"}", 0),
        ("confsim_events_total{type=\"AgentConf_RequestSuccess\"}", 1),
        ("confsim_events_total{type=\"AgentOther_InService\"}", 2),
        ("confsim_retcodes_total{retcode=\"0\"}", 3),
        ("confsim_retcodes_total{retcode=\"000-002\"}", 1),
        ("confsim_gateway_rejections_total{retcode=\"100-006\"}", 1),
        ("confsim_active_conferences", 1),
        ("confsim_signed_in_agents", 2),
        ("confsim_gateway_sessions", 2),
        // 101 got 2 sign-in events and 5 of the application into a queue of 3: 4 dropped.
        ("confsim_gateway_events_dropped_total", 4),
        ("confsim_gateway_queued_events", 5),
        ("confsim_http_refused_total{reason=\"not_found\"}", 1),
        ("confsim_http_responses_total{class=\"5xx\"}", 0),
    ];
    for (series, n) in expect {
        assert_eq!(metric(&text, series), Some(n), "{series} in\n{text}");
    }
    assert!(text.contains("# TYPE confsim_inputs_total counter"));
    assert!(text.contains("# TYPE confsim_active_conferences gauge"));
}
