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
