//! `--lenient`: what the vendor's C# demo sends (agentgateway.md §1, §11).

use crate::support::{BASE, Client, gateway};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;

/// A signed-in chair of an active conference with agent 102 joined.
async fn meeting(c: &Client) -> (String, String) {
    let chair = c.login(101).await;
    let member = c.login(102).await;
    c.advance(1_000).await;
    let r = c
        .conf(
            101,
            &chair,
            "requestagentconf",
            json!({"memberNum": 3, "time": 30}),
        )
        .await;
    assert_eq!(r.retcode(), "0");
    c.advance(1_000).await;
    let r = c
        .conf(
            101,
            &chair,
            "batchaddparticipant",
            json!({"addresses": [{"addressType": "9", "address": "102"}]}),
        )
        .await;
    assert_eq!(r.retcode(), "0", "{}", r.text);
    c.advance(1_000).await;
    c.drain(102, &member).await;
    (chair, member)
}

#[tokio::test]
async fn without_lenient_the_demos_methods_are_405() {
    let c = Client::new(gateway(|_| {}));
    let (chair, member) = meeting(&c).await;
    let reply = c
        .send(
            Method::PUT,
            &format!("{BASE}/agentconf/102/answeragentconf"),
            &[("guid", &member)],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    // And query parameters are not a body: prolongTime is missing.
    let reply = c
        .send(
            Method::POST,
            &format!("{BASE}/agentconf/101/prolongtime?prolongTime=5"),
            &[("guid", &chair)],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.retcode(), "000-002", "{}", reply.text);
}

#[tokio::test]
async fn with_lenient_put_delete_and_query_parameters_are_accepted() {
    let c = Client::new(gateway(|config| {
        config.lenient = true;
        config.inactivity = None;
    }));
    let (chair, member) = meeting(&c).await;
    // The demo answers with PUT.
    let answer = c
        .send(
            Method::PUT,
            &format!("{BASE}/agentconf/102/answeragentconf"),
            &[("guid", &member)],
            Body::empty(),
        )
        .await;
    assert_eq!(answer.retcode(), "0", "{}", answer.text);
    c.advance(1_000).await;
    // Prolongs with PUT and the minutes in the query.
    let prolong = c
        .send(
            Method::PUT,
            &format!("{BASE}/agentconf/101/prolongtime?prolongTime=5"),
            &[("guid", &chair)],
            Body::empty(),
        )
        .await;
    assert_eq!(prolong.retcode(), "0", "{}", prolong.text);
    assert_eq!(prolong.json()["result"], json!({"applyedTime": 5}));
    // The demo's own bug (no value) is the core's 000-002, as the same body would be.
    let empty = c
        .send(
            Method::PUT,
            &format!("{BASE}/agentconf/101/prolongtime?prolongTime="),
            &[("guid", &chair)],
            Body::empty(),
        )
        .await;
    assert_eq!(empty.retcode(), "000-002");
    // Passes the chair with the target in destWorkNo.
    let shift = c
        .send(
            Method::PUT,
            &format!("{BASE}/agentconf/101/applytoshiftpresident?destWorkNo=102"),
            &[("guid", &chair)],
            Body::empty(),
        )
        .await;
    assert_eq!(shift.retcode(), "0", "{}", shift.text);
    // The journal holds the bodies the parameters stand for, so a replay needs no HTTP.
    let bodies: Vec<_> = c
        .inputs()
        .into_iter()
        .filter(|r| r["op"] == "prolongTime" || r["op"] == "applyToShiftPresident")
        .map(|r| r["body"].clone())
        .collect();
    assert_eq!(
        bodies,
        [
            json!({"prolongTime": 5}),
            json!({"prolongTime": ""}),
            json!({"destAgentNo": 102})
        ]
    );
    // The new chair releases with DELETE.
    let release = c
        .send(
            Method::DELETE,
            &format!("{BASE}/agentconf/102/releaseagentconf"),
            &[("guid", &member)],
            Body::empty(),
        )
        .await;
    assert_eq!(release.retcode(), "0", "{}", release.text);
    // The documented methods still work, and GET stays GET-only.
    let ids = c
        .send(
            Method::POST,
            &format!("{BASE}/agentconf/101/queryvdnconfid"),
            &[("guid", &chair)],
            Body::empty(),
        )
        .await;
    assert_eq!(ids.status, StatusCode::METHOD_NOT_ALLOWED);
}
