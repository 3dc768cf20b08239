//! Access to the control API (`/simulator/`): off, open, or behind a token compared in
//! constant time; and an open one refused on an address beyond loopback.

use crate::support::{BASE, Client, gateway, metric};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use confsim_gateway::{ControlAccess, Gateway, GatewayConfig};
use std::time::Duration;

#[tokio::test]
async fn with_the_control_api_off_every_simulator_route_is_404_and_the_vendor_routes_work() {
    let c = Client::new(gateway(|config| config.control = ControlAccess::Off));
    for (method, path, body) in [
        (Method::GET, "/simulator/health", ""),
        (Method::GET, "/simulator/clock", ""),
        (Method::POST, "/simulator/clock/advance", r#"{"ms": 1000}"#),
        (Method::GET, "/simulator/journal", ""),
        (Method::GET, "/simulator/metrics", ""),
    ] {
        let reply = c.send(method, path, &[], body).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            reply.json()["error"]
                .as_str()
                .unwrap()
                .contains("control API is off"),
            "{}",
            reply.text
        );
    }
    // The gateway itself is untouched.
    let guid = c.login(101).await;
    assert_eq!(c.poll(101, &guid).await.retcode(), "0");
    assert_eq!(c.records().len(), 1, "the sign-in, and no clock moved");
}

#[tokio::test]
async fn with_a_token_the_control_api_answers_only_requests_that_carry_it() {
    let c = Client::new(gateway(|config| {
        config.control = ControlAccess::Token("s3cret-token".to_owned())
    }));
    for headers in [
        &[][..],
        &[("Authorization", "Bearer wrong")][..],
        &[("Authorization", "Bearer s3cret-token-but-longer")][..],
        &[("Authorization", "Bearer s3cret-toke")][..],
        &[("Authorization", "Basic czNjcmV0LXRva2Vu")][..],
        &[("Authorization", "s3cret-token")][..],
    ] {
        let reply = c
            .send(Method::GET, "/simulator/health", headers, Body::empty())
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(
            reply.headers.get("www-authenticate").unwrap(),
            "Bearer realm=\"confsim-control\""
        );
        assert!(reply.json()["error"].is_string(), "{}", reply.text);
    }
    for auth in ["Bearer s3cret-token", "bearer  s3cret-token "] {
        let reply = c
            .send(
                Method::GET,
                "/simulator/health",
                &[("Authorization", auth)],
                Body::empty(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{auth:?}: {}", reply.text);
    }
    let advance = c
        .send(
            Method::POST,
            "/simulator/clock/advance",
            &[("Authorization", "Bearer nope")],
            r#"{"ms": 60000}"#,
        )
        .await;
    assert_eq!(advance.status, StatusCode::UNAUTHORIZED);
    let metrics = c
        .send(
            Method::GET,
            "/simulator/metrics",
            &[("Authorization", "Bearer s3cret-token")],
            Body::empty(),
        )
        .await
        .text;
    assert_eq!(
        metric(
            &metrics,
            "confsim_http_refused_total{reason=\"control_unauthorized\"}"
        ),
        Some(7)
    );
    assert_eq!(
        metric(&metrics, "confsim_http_responses_total{class=\"5xx\"}"),
        Some(0)
    );
    assert_eq!(
        metric(&metrics, "confsim_simulated_time_ms"),
        Some(GatewayConfig::default().start.as_unix_ms() as u64),
        "the refused advance moved nothing"
    );
    // The vendor's routes never need the token.
    let reply = c
        .send(
            Method::PUT,
            &format!("{BASE}/onlineagent/101"),
            &[],
            r#"{"password":"","status":"4"}"#,
        )
        .await;
    assert_eq!(reply.retcode(), "0");
}

#[tokio::test]
async fn an_open_control_api_beyond_loopback_does_not_start_but_a_protected_one_does() {
    let Ok(listener) = tokio::net::TcpListener::bind("0.0.0.0:0").await else {
        eprintln!("skipped: cannot bind 0.0.0.0 here");
        return;
    };
    let open = Gateway::new(GatewayConfig::default(), None).unwrap();
    let err = tokio::time::timeout(Duration::from_secs(5), open.serve(listener, async {}))
        .await
        .expect("refused at once")
        .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    assert!(err.to_string().contains("--control-token"), "{err}");

    for control in [ControlAccess::Off, ControlAccess::Token("t".to_owned())] {
        let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let gateway = Gateway::new(
            GatewayConfig {
                control: control.clone(),
                ..GatewayConfig::default()
            },
            None,
        )
        .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(gateway.serve(listener, async {
            let _ = stopped.await;
        }));
        let health = reqwest::get(format!("http://127.0.0.1:{port}/simulator/health"))
            .await
            .unwrap();
        let expected = match control {
            ControlAccess::Off => 404,
            _ => 401,
        };
        assert_eq!(health.status(), expected, "{control:?}");
        let _ = stop.send(());
        task.await.unwrap().unwrap();
    }
}
