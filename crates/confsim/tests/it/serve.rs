//! `confsim serve`'s security flags: the control API beyond loopback (off by default, on only
//! with a token, `--control on` without one refuses to start), contradictory flags, and the
//! transport limits' flags with their defaults in `--help`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};

fn confsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_confsim"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// A `confsim serve` child; its "listening on" line's port and its control description.
struct Serving {
    child: Child,
    port: u16,
    control: String,
}

impl Serving {
    fn start(args: &[&str]) -> Serving {
        let mut child = Command::new(env!("CARGO_BIN_EXE_confsim"))
            .args(["serve", "--clock", "manual"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let (port, control) = loop {
            line.clear();
            if stdout.read_line(&mut line).unwrap() == 0 {
                let mut err = String::new();
                let _ = child.stderr.take().unwrap().read_to_string(&mut err);
                let _ = child.wait();
                panic!("the server exited before listening: {err}");
            }
            if let Some(rest) = line.strip_prefix("listening on ") {
                let url = rest.split_whitespace().next().unwrap();
                let port: u16 = url
                    .split("://")
                    .nth(1)
                    .and_then(|a| a.split('/').next())
                    .and_then(|a| a.rsplit(':').next())
                    .and_then(|p| p.parse().ok())
                    .unwrap();
                let control = rest
                    .split_once("(control: ")
                    .map(|(_, c)| c.trim_end().trim_end_matches(')').to_owned())
                    .unwrap();
                break (port, control);
            }
        };
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Serving {
            child,
            port,
            control,
        }
    }

    fn get(&self, path: &str, token: Option<&str>) -> reqwest::StatusCode {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut request =
                reqwest::Client::new().get(format!("http://127.0.0.1:{}{path}", self.port));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send().await.unwrap().status()
        })
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn beyond_loopback_the_control_api_is_off_unless_a_token_protects_it() {
    // Default (auto) on 0.0.0.0: off, and said so; the vendor's interface is served.
    let server = Serving::start(&["--addr", "0.0.0.0:0"]);
    assert!(
        server.control.starts_with("off: not a loopback address"),
        "{}",
        server.control
    );
    assert_eq!(server.get("/simulator/health", None), 404);
    assert_eq!(
        server.get("/agentgateway/resource/agentevent/101", None),
        200
    );
    drop(server);

    // With a token (from a file): 401 without it, 200 with it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "k7-secret\n").unwrap();
    let server = Serving::start(&[
        "--addr",
        "0.0.0.0:0",
        "--control-token-file",
        file.to_str().unwrap(),
    ]);
    assert!(server.control.contains("Bearer"), "{}", server.control);
    assert_eq!(server.get("/simulator/health", None), 401);
    assert_eq!(server.get("/simulator/health", Some("wrong")), 401);
    assert_eq!(server.get("/simulator/health", Some("k7-secret")), 200);
    drop(server);

    // On loopback the default is on, open.
    let server = Serving::start(&["--addr", "127.0.0.1:0"]);
    assert_eq!(server.get("/simulator/health", None), 200);
}

#[test]
fn an_open_control_api_beyond_loopback_and_contradictory_flags_are_refused_with_exit_2() {
    for (args, says) in [
        (
            &["--addr", "0.0.0.0:0", "--control", "on"][..],
            "--control-token",
        ),
        (
            &["--control", "off", "--control-token", "x"][..],
            "contradicts",
        ),
        (&["--control-token", "two words"][..], "--control-token"),
        (&["--max-header-bytes", "10"][..], "--max-header-bytes"),
        (&["--header-timeout-ms", "0"][..], "--header-timeout-ms"),
        (&["--max-connections", "0"][..], "--max-connections"),
    ] {
        let out = confsim(&[&["serve", "--clock", "manual"][..], args].concat());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("confsim: ") && err.contains(says),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(out.stdout.is_empty(), "nothing served: {args:?}");
    }
}

#[test]
fn serve_help_lists_the_limits_and_the_control_flags_with_their_defaults() {
    let out = confsim(&["serve", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--header-timeout-ms <N>",
        "[default: 10000]",
        "--max-header-bytes <N>",
        "[default: 16384]",
        "--max-connections <N>",
        "--control <CONTROL>",
        "[default: auto]",
        "--control-token <TOKEN>",
        "--control-token-file <FILE>",
        "--queue-capacity <N>",
    ] {
        assert!(help.contains(needle), "{needle} in\n{help}");
    }
}
