//! The gateway as the vendor's own demo clients speak to it, over real TCP, byte by byte: the
//! Java demo (CloudIPCC_AgentServerDemo_Java: `Request`, `OnlineAgentService`) and the C# demo
//! (CloudIPCC_QuickAgentDemo_CSharp: `AgentGatewayHelper`, `AgentGatewayBusiness`). Each request
//! is written as that client writes it (its header names and their case, its methods, its
//! bodies or none, its `Cookie` echo of whatever `Set-Cookie` the sign-in carried), and each
//! answer is read as that client reads it: header names compared exactly, the body parsed.

use crate::tcp::Server;
use confsim_core::PlatformConfig;
use confsim_gateway::GatewayConfig;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An answer as a demo client sees it.
struct Answer {
    status: u16,
    /// Header names exactly as written, with their values.
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    /// The value of the header named exactly `name` (as `getName().equals(name)` finds it).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of headers named exactly `name`.
    fn all(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    fn retcode(&self) -> String {
        self.json()["retcode"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// Writes one request on a fresh connection (`Connection: close`, as the C# demo's
/// `KeepAlive = false`) and reads the whole answer.
async fn exchange(server: &Server, head: &[String], body: Option<&str>) -> Answer {
    let (target, headers) = head.split_first().expect("a request line");
    let mut request = format!("{target} HTTP/1.1\r\nHost: {}\r\n", server.addr);
    for line in headers {
        request.push_str(line);
        request.push_str("\r\n");
    }
    if let Some(body) = body {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("Connection: close\r\n\r\n");
    request.push_str(body.unwrap_or(""));
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), tcp.read_to_end(&mut bytes))
        .await
        .expect("the gateway answers and closes")
        .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    assert!(!chunked, "answers have a length: {head}");
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// A manual-clock gateway whose events come at the instant of their cause.
async fn server(lenient: bool) -> Server {
    let mut platform = PlatformConfig::default();
    platform.latency.min_ms = 0;
    platform.latency.max_ms = 0;
    let config = GatewayConfig {
        platform,
        lenient,
        poll_wait: Duration::from_millis(50),
        ..GatewayConfig::default()
    };
    Server::start(config, None).await
}

async fn advance(server: &Server, ms: u64) {
    let body = json!({ "ms": ms }).to_string();
    let answer = exchange(
        server,
        &["POST /simulator/clock/advance".to_owned()],
        Some(&body),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

const BASE: &str = "/agentgateway/resource";

/// The Java demo's `Request`: `Content-Type` always, `guid` (lower case) once it has one, and
/// `Cookie` set to what `dealCookie` kept: every `Set-Cookie` of the sign-in, each followed by
/// `;`, stripped of `=` and `:` by `checkHeader` (so, with no cookie issued, an empty value).
struct JavaDemo {
    agent: u32,
    guid: String,
    cookie: String,
}

impl JavaDemo {
    async fn login(server: &Server, agent: u32) -> JavaDemo {
        // `OnlineAgentService.login`'s body: numbers and booleans as Jackson writes them.
        let body = json!({
            "password": "", "phonenum": "88880001", "autoanswer": true, "autoenteridle": true,
            "releasephone": true, "agenttype": "4", "status": 4, "phonelinkage": false,
            "checkInWebm": true, "checkInMailm": false, "listenStatus": false,
        })
        .to_string();
        let answer = exchange(
            server,
            &[
                format!("PUT {BASE}/onlineagent/{agent}"),
                "Content-Type: application/json;charset=UTF-8".to_owned(),
            ],
            Some(&body),
        )
        .await;
        assert_eq!(answer.retcode(), "0", "{}", answer.body);
        // `dealGuid`: the header named exactly `Set-GUID`, `JSESSIONID=` replaced away.
        let guid = answer
            .header("Set-GUID")
            .unwrap_or_else(|| panic!("no Set-GUID by that exact name: {:?}", answer.headers))
            .replace("JSESSIONID=", "");
        let cookie: String = answer
            .all("Set-Cookie")
            .iter()
            .map(|c| format!("{c};"))
            .collect();
        JavaDemo {
            agent,
            guid: guid.replace(['=', ':'], ""),
            cookie: cookie.replace(['=', ':'], ""),
        }
    }

    fn head(&self, method: &str, suffix: &str) -> Vec<String> {
        vec![
            format!("{method} {BASE}/{suffix}"),
            format!("guid: {}", self.guid),
            format!("Cookie: {}", self.cookie),
            "Content-Type: application/json;charset=UTF-8".to_owned(),
        ]
    }

    /// `Request.post(workNo, url, null)`: no entity at all.
    async fn post(&self, server: &Server, suffix: &str) -> Answer {
        let suffix = format!("onlineagent/{}/{suffix}", self.agent);
        exchange(server, &self.head("POST", &suffix), None).await
    }

    async fn get(&self, server: &Server, suffix: &str) -> Answer {
        exchange(server, &self.head("GET", suffix), None).await
    }

    /// `GetEventThread`: polls until the answer has no event; the event types in order.
    async fn events(&self, server: &Server) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let answer = self
                .get(server, &format!("agentevent/{}", self.agent))
                .await;
            assert_eq!(answer.retcode(), "0", "{}", answer.body);
            let event = &answer.json()["event"];
            if event.is_null() {
                return seen;
            }
            assert_eq!(event["workNo"], self.agent.to_string());
            seen.push(event["eventType"].as_str().unwrap().to_owned());
        }
    }

    async fn status(&self, server: &Server) -> Value {
        let answer = self
            .get(server, &format!("onlineagent/{}/agentstatus", self.agent))
            .await;
        assert_eq!(answer.retcode(), "0", "{}", answer.body);
        answer.json()["result"].clone()
    }

    async fn ok(&self, server: &Server, suffix: &str) {
        let answer = self.post(server, suffix).await;
        assert_eq!(answer.status, 200, "{suffix}: {}", answer.body);
        assert_eq!(answer.retcode(), "0", "{suffix}: {}", answer.body);
    }
}

#[tokio::test]
async fn the_java_demos_routine_calls_are_answered_as_it_expects() {
    let server = server(false).await;
    let demo = JavaDemo::login(&server, 101).await;
    assert!(demo.guid.ends_with(".AgentGateway0"), "{}", demo.guid);

    // The documented bootstrap: sign in, reset skills, then poll.
    demo.ok(&server, "resetskill/true").await;
    advance(&server, 1).await;
    assert_eq!(
        demo.events(&server).await,
        ["AgentOther_InService", "AgentState_Ready"]
    );
    let skills = demo
        .get(&server, &format!("onlineagent/{}/agentskills", demo.agent))
        .await;
    assert_eq!(skills.status, 200);
    assert_eq!(skills.retcode(), "0", "{}", skills.body);
    assert_eq!(skills.json()["result"], json!([]));

    // Busy, free, work, out of work, rest and its end: each answered, each announced.
    let steps: &[(&str, &[&str], i64)] = &[
        ("saybusy", &["AgentState_SetNotReady_Success"], 3),
        (
            "sayfree",
            &["AgentState_CancelNotReady_Success", "AgentState_Ready"],
            4,
        ),
        ("work", &["AgentState_Work"], 5),
        (
            "cancelwork",
            &["AgentState_CancelWork_Success", "AgentState_Ready"],
            4,
        ),
        ("rest/600/1", &["AgentState_SetRest_Success"], 8),
    ];
    for (call, events, state) in steps {
        demo.ok(&server, call).await;
        advance(&server, 1).await;
        assert_eq!(demo.events(&server).await, *events, "{call}");
        assert_eq!(demo.status(&server).await["agentState"], *state, "{call}");
    }
    advance(&server, 600_000).await;
    assert_eq!(demo.events(&server).await, ["AgentState_Rest_Timeout"]);
    assert_eq!(demo.status(&server).await["agentState"], 8);
    demo.ok(&server, "cancelrest").await;
    advance(&server, 1).await;
    assert_eq!(
        demo.events(&server).await,
        ["AgentState_CancelRest_Success", "AgentState_Ready"]
    );

    // A state call refused for the state is the vendor's set-state error, not a transport one.
    let refused = demo.post(&server, "cancelwork").await;
    assert_eq!((refused.status, refused.retcode()), (200, "100-009".into()));
    // Another agent's Guid is refused before the platform sees the call.
    let other = JavaDemo::login(&server, 102).await;
    let stolen = JavaDemo {
        agent: 101,
        guid: other.guid.clone(),
        cookie: String::new(),
    };
    assert_eq!(stolen.post(&server, "saybusy").await.retcode(), "100-006");

    let logout = exchange(
        &server,
        &demo.head("DELETE", &format!("onlineagent/{}/logout", demo.agent)),
        None,
    )
    .await;
    assert_eq!(logout.retcode(), "0", "{}", logout.body);
    server.stop().await;
}

/// The C# demo's `AgentGatewayHelper.Add`: a header built from a `Cookie`'s text with the
/// first `=` turned into `:`, so `guid:<guid>` with no space; a `Cookie` line per cookie kept.
struct CsDemo {
    agent: u32,
    guid: String,
    cookies: Vec<String>,
}

impl CsDemo {
    async fn sign_in(server: &Server, agent: u32) -> CsDemo {
        let body = json!({
            "password": "", "phonenum": "88880002", "status": 4, "releasephone": true,
            "agenttype": 4, "autoanswer": true,
        })
        .to_string();
        let answer = exchange(
            server,
            &[
                format!("PUT {BASE}/onlineagent/{agent}"),
                "Content-Type: application/json; charset=UTF-8".to_owned(),
            ],
            Some(&body),
        )
        .await;
        assert_eq!(answer.retcode(), "0", "{}", answer.body);
        // `response.Headers.Get("Set-GUID")`, then the text after the first `=`.
        let set_guid = answer.header("Set-GUID").expect("Set-GUID");
        let guid = set_guid[set_guid.find('=').unwrap() + 1..].to_owned();
        CsDemo {
            agent,
            guid,
            cookies: answer.all("Set-Cookie"),
        }
    }

    async fn call(&self, server: &Server, method: &str, uri: &str, body: Option<Value>) -> Answer {
        let mut head = vec![
            format!("{method} {BASE}{uri}"),
            format!("guid:{}", self.guid),
        ];
        head.extend(self.cookies.iter().map(|c| format!("Cookie: {c}")));
        let text = body.map(|b| {
            head.push("Content-Type: application/json; charset=UTF-8".to_owned());
            b.to_string()
        });
        exchange(server, &head, text.as_deref()).await
    }

    /// `GetAgentEvents`: the exact empty body means "no event".
    async fn events(&self, server: &Server) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let answer = self
                .call(server, "GET", &format!("/agentevent/{}", self.agent), None)
                .await;
            if answer.body == r#"{"message":"","retcode":"0"}"# {
                return seen;
            }
            seen.push(
                answer.json()["event"]["eventType"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }

    async fn conf(
        &self,
        server: &Server,
        method: &str,
        action: &str,
        body: Option<Value>,
    ) -> Value {
        let uri = format!("/agentconf/{}/{action}", self.agent);
        let answer = self.call(server, method, &uri, body).await;
        assert_eq!(answer.status, 200, "{method} {action}: {}", answer.body);
        assert_eq!(answer.retcode(), "0", "{method} {action}: {}", answer.body);
        answer.json()
    }
}

#[tokio::test]
async fn the_csharp_demos_verbs_and_query_parameters_work_under_lenient() {
    let server = server(true).await;
    let chair = CsDemo::sign_in(&server, 201).await;
    let guest = CsDemo::sign_in(&server, 202).await;
    advance(&server, 1).await;
    for demo in [&chair, &guest] {
        assert_eq!(
            demo.events(&server).await,
            ["AgentOther_InService", "AgentState_Ready"]
        );
    }
    // Apply with the documented POST and body, invite the guest, who answers with PUT.
    chair
        .conf(
            &server,
            "POST",
            "requestagentconf",
            Some(json!({"memberNum": 3, "time": 30, "promptTime": 5})),
        )
        .await;
    advance(&server, 1).await;
    assert!(
        chair
            .events(&server)
            .await
            .contains(&"AgentConf_RequestSuccess".to_owned())
    );
    let invite = json!({"addresses": [{"addressType": "9", "address": "202"}]});
    chair
        .conf(&server, "POST", "batchaddparticipant", Some(invite))
        .await;
    advance(&server, 1).await;
    assert_eq!(guest.events(&server).await, ["AgentConf_Ringing"]);
    guest.conf(&server, "PUT", "answeragentconf", None).await;
    advance(&server, 1).await;
    assert_eq!(guest.events(&server).await, ["AgentConf_SelfJoinResult"]);
    chair.events(&server).await;

    // The demo's PUT with query parameters instead of a body.
    let prolonged = chair
        .conf(&server, "PUT", "prolongtime?prolongTime=10", None)
        .await;
    assert_eq!(prolonged["result"]["applyedTime"], 10);
    chair
        .conf(&server, "PUT", "applytoshiftpresident?destWorkNo=202", None)
        .await;
    advance(&server, 1).await;
    assert_eq!(guest.events(&server).await, ["AgentConf_PresidentChanged"]);
    chair.events(&server).await;
    // And DELETE to release it, by the new chair.
    guest
        .conf(&server, "DELETE", "releaseagentconf", None)
        .await;
    advance(&server, 1).await;
    for demo in [&guest, &chair] {
        // The first to leave is the new chair; the other hears of it before its own leave.
        let events = demo.events(&server).await;
        let own = [
            "AgentOther_PhoneRelease",
            "AgentConf_SelfLeaveResult",
            "AgentState_Ready",
        ];
        assert!(events.ends_with(&own.map(String::from)), "{events:?}");
    }
    // The state calls take the demo's verbs too under `--lenient`.
    let busy = chair
        .call(
            &server,
            "PUT",
            &format!("/onlineagent/{}/saybusy", chair.agent),
            None,
        )
        .await;
    assert_eq!(busy.retcode(), "0", "{}", busy.body);
    server.stop().await;
}

#[tokio::test]
async fn without_lenient_the_csharp_demos_verbs_are_405_and_the_documented_ones_work() {
    let server = server(false).await;
    let demo = CsDemo::sign_in(&server, 301).await;
    for (method, uri) in [
        (
            "PUT",
            format!("/agentconf/{}/prolongtime?prolongTime=5", demo.agent),
        ),
        (
            "DELETE",
            format!("/agentconf/{}/releaseagentconf", demo.agent),
        ),
        ("PUT", format!("/onlineagent/{}/saybusy", demo.agent)),
        ("GET", format!("/onlineagent/{}/rest/60/0", demo.agent)),
        ("POST", format!("/onlineagent/{}/agentskills", demo.agent)),
    ] {
        let answer = demo.call(&server, method, &uri, None).await;
        assert_eq!(answer.status, 405, "{method} {uri}: {}", answer.body);
        assert_eq!(answer.retcode(), "000-002");
        assert!(answer.header("allow").is_some(), "{:?}", answer.headers);
    }
    // The documented POSTs, path parameters included, and their refusals, in this order.
    for (suffix, retcode) in [
        ("rest/0/1", "000-002"),
        ("rest/ten/1", "000-002"),
        ("rest/60/256", "000-002"),
        ("saybusy?reason=7", "000-002"),
        ("resetskill/no", "0"),
        ("saybusy?reason=201", "0"),
        ("rest/60/3", "0"),
    ] {
        let uri = format!("/onlineagent/{}/{suffix}", demo.agent);
        let answer = demo.call(&server, "POST", &uri, None).await;
        assert_eq!(answer.retcode(), retcode, "{suffix}: {}", answer.body);
    }
    // What the journal records: each call's parameters as the body a scenario step would give.
    let journal = exchange(&server, &["GET /simulator/journal?from=1".to_owned()], None).await;
    let bodies: Vec<(String, Value)> = journal
        .body
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|r| r["op"].is_string() && r["op"] != "login")
        .map(|r| (r["op"].as_str().unwrap().to_owned(), r["body"].clone()))
        .collect();
    let expected = [
        ("rest", json!({"time": 0, "reason": 1})),
        ("rest", json!({"time": "ten", "reason": 1})),
        ("rest", json!({"time": 60, "reason": 256})),
        ("sayBusy", json!({"reason": 7})),
        ("resetSkill", json!({"auto": false})),
        ("sayBusy", json!({"reason": 201})),
        ("rest", json!({"time": 60, "reason": 3})),
    ];
    let expected: Vec<(String, Value)> = expected
        .into_iter()
        .map(|(op, body)| (op.to_owned(), body))
        .collect();
    assert_eq!(bodies, expected);
    server.stop().await;
}
