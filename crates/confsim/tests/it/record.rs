//! `confsim record` as a user runs it: bad flags and files are exit 2 with one clear sentence,
//! and the binary between a `confsim serve` and a client captures the session.

use crate::support::confsim;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A child that prints `listening on http://ADDR/…`; its address. Killed when dropped.
struct Listening {
    child: Child,
    addr: String,
    /// Kept open: a child printing to a closed pipe would fail.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Listening {
    fn start(args: &[&str]) -> Listening {
        let mut child = Command::new(env!("CARGO_BIN_EXE_confsim"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let addr = loop {
            line.clear();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "{args:?} exited before listening"
            );
            if let Some(rest) = line.strip_prefix("listening on http://") {
                break rest.split('/').next().unwrap().to_owned();
            }
        };
        Listening {
            child,
            addr,
            _stdout: stdout,
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn bad_upstreams_and_captures_are_exit_2_with_a_clear_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("c.jsonl");
    let journal = journal.to_str().unwrap();
    for (args, expected) in [
        (
            vec!["--upstream", "ftp://gw:21"],
            "the scheme must be http or https",
        ),
        (vec!["--upstream", "https://localhost:1"], "--upstream-ca"),
        (
            vec!["--upstream", "http://localhost:1", "--upstream-insecure"],
            "apply to an https upstream",
        ),
    ] {
        let mut all = vec!["record", "--addr", "127.0.0.1:0", "--journal", journal];
        all.extend(args);
        let out = confsim(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
    let garbage = dir.path().join("garbage.jsonl");
    std::fs::write(&garbage, "not a journal\n").unwrap();
    let out = confsim(&[
        "record",
        "--upstream",
        "http://127.0.0.1:1",
        "--addr",
        "127.0.0.1:0",
        "--journal",
        garbage.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("garbage.jsonl") && stderr.contains("line 1"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_binary_captures_a_session_between_serve_and_a_client() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture.jsonl");
    let serve = Listening::start(&["serve", "--clock", "manual", "--addr", "127.0.0.1:0"]);
    let upstream = format!("http://{}", serve.addr);
    let record = Listening::start(&[
        "record",
        "--upstream",
        &upstream,
        "--addr",
        "127.0.0.1:0",
        "--journal",
        capture.to_str().unwrap(),
        "--fsync",
        "always",
    ]);
    let http = reqwest::Client::new();
    let r = http
        .put(format!(
            "http://{}/agentgateway/resource/onlineagent/101",
            record.addr
        ))
        .body(r#"{"password":"pw","status":"4"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("set-guid"));
    // Acknowledged means on disk (--fsync always), so the capture is complete while it runs.
    let text = std::fs::read_to_string(&capture).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let header: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(header["source"]["kind"], "capture");
    assert_eq!(header["source"]["upstream"], serve.addr.as_str());
    let input: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(input["op"], "login");
    assert_eq!(input["body"]["password"], "***");
    assert_eq!(input["response"]["retcode"], "0");
    drop(record);
    drop(serve);
}

/// The figure of held polls through the proxy (not run by default: it opens some 20,000
/// sockets across three processes; `ulimit -n` must allow 6,000 here):
/// `AGENTS=5000 cargo test -p confsim --test it record::many -- --ignored --nocapture`.
/// Every agent signs in through the proxy and holds a poll; the upstream's clock moves; each
/// agent's events in the capture must equal what it polled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a figure: thousands of sockets"]
#[allow(clippy::disallowed_methods)] // It reports how long the real sockets took.
async fn many_agents_hold_polls_through_the_binary_without_loss() {
    let agents: u32 = std::env::var("AGENTS")
        .ok()
        .and_then(|a| a.parse().ok())
        .unwrap_or(5000);
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture.jsonl");
    let serve = Listening::start(&[
        "serve",
        "--clock",
        "manual",
        "--addr",
        "127.0.0.1:0",
        "--poll-wait-ms",
        "60000",
        "--inactivity-ms",
        "0",
    ]);
    let upstream = format!("http://{}", serve.addr);
    let record = Listening::start(&[
        "record",
        "--upstream",
        &upstream,
        "--addr",
        "127.0.0.1:0",
        "--journal",
        capture.to_str().unwrap(),
        "--fsync",
        "never",
        "--max-connections",
        "12000",
    ]);
    let base = format!("http://{}/agentgateway/resource", record.addr);
    let started = std::time::Instant::now();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .build()
        .unwrap();
    let mut guids = vec![String::new(); agents as usize];
    for chunk in (0..agents).collect::<Vec<_>>().chunks(64) {
        let signs: Vec<_> = chunk
            .iter()
            .map(|&i| {
                let (http, url) = (http.clone(), format!("{base}/onlineagent/{}", 101 + i));
                tokio::spawn(async move {
                    let r = http
                        .put(url)
                        .body(r#"{"password":"","status":"4"}"#)
                        .send()
                        .await
                        .unwrap();
                    r.headers()["set-guid"].to_str().unwrap()[11..].to_owned()
                })
            })
            .collect();
        for (&i, sign) in chunk.iter().zip(signs) {
            guids[i as usize] = sign.await.unwrap();
        }
    }
    let signed_in = started.elapsed();
    let polls: Vec<_> = guids
        .into_iter()
        .enumerate()
        .map(|(i, guid)| {
            let (http, url) = (http.clone(), format!("{base}/agentevent/{}", 101 + i));
            tokio::spawn(async move {
                let mut got = Vec::new();
                while got.len() < 2 {
                    let r = http.get(&url).header("guid", &guid).send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    let body: serde_json::Value =
                        serde_json::from_str(&r.text().await.unwrap()).unwrap();
                    if let Some(event) = body.get("event") {
                        got.push(event["eventType"].as_str().unwrap().to_owned());
                    }
                }
                got
            })
        })
        .collect();
    // Let the polls reach the upstream and be held there, then deliver every event at once.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let advanced = std::time::Instant::now();
    let r = http
        .post(format!("{upstream}/simulator/clock/advance"))
        .body(r#"{"ms": 1000}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut polled = std::collections::BTreeMap::new();
    for (i, poll) in polls.into_iter().enumerate() {
        polled.insert((101 + i).to_string(), poll.await.unwrap());
    }
    let delivered = advanced.elapsed();
    drop(record);
    let read = confsim_journal::read_loose_file(&capture).unwrap();
    let mut captured: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for r in &read.records {
        if let confsim_journal::LooseKind::Event {
            event_type,
            work_no,
            ..
        } = &r.kind
        {
            captured
                .entry(work_no.clone())
                .or_default()
                .push(event_type.clone());
        }
    }
    assert_eq!(captured, polled);
    println!(
        "{agents} agents through the proxy: signed in in {signed_in:?}; every held poll answered {delivered:?} after the clock moved; capture: {} records, each agent's events equal to what it polled",
        read.records.len()
    );
    drop(serve);
}
