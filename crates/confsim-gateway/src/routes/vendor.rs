//! The vendor's routes (agentgateway.md §3 and §5), each mapped to a core operation and its
//! raw JSON body, or to one of the session interfaces the gateway answers itself.
//!
//! The `{agentid}` of the path goes to the core as typed (percent-decoded), so `abc` or `0101`
//! is the core's `000-002`, journaled like any malformed request. With `--lenient` the
//! agentconf operations also take PUT and DELETE (the vendor's C# demo sends them), and
//! `prolongTime` and `destWorkNo` as query parameters (`destWorkNo` is the body's
//! `destAgentNo`); the body the core sees, and the journal records, is the JSON body those
//! parameters stand for.

use super::{
    BodyError, body_value, envelope, guid_header, json_response, read_body, with_set_guid,
    wrong_method,
};
use crate::gateway::{Answer, Gateway, PollAnswer, SessionCall};
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::any;
use confsim_core::{Input, Op};
use serde_json::{Map, Value};

const BASE: &str = "/agentgateway/resource";

pub(super) fn routes() -> Router<Gateway> {
    Router::new()
        .route(&format!("{BASE}/onlineagent/{{agentid}}"), any(sign_in))
        .route(
            &format!("{BASE}/onlineagent/{{agentid}}/{{action}}"),
            any(online_agent),
        )
        .route(
            &format!("{BASE}/onlineagent/{{agentid}}/rest/{{time}}/{{reason}}"),
            any(rest),
        )
        .route(
            &format!("{BASE}/onlineagent/{{agentid}}/resetskill/{{auto}}"),
            any(reset_skill),
        )
        .route(&format!("{BASE}/agentevent/{{agentid}}"), any(poll))
        .route(
            &format!("{BASE}/agentconf/{{agentid}}/{{action}}"),
            any(agentconf),
        )
}

/// The agentconf family (§5): URI suffix and operation. All are POST but `queryvdnconfid`.
pub(crate) const AGENTCONF: &[(&str, Op)] = &[
    ("requestagentconf", Op::RequestAgentConf),
    ("answeragentconf", Op::AnswerAgentConf),
    ("rejectagentconf", Op::RejectAgentConf),
    ("requestleaveagentconf", Op::RequestLeaveAgentConf),
    ("releaseagentconf", Op::ReleaseAgentConf),
    ("holdparticipant", Op::HoldParticipant),
    ("unholdparticipant", Op::UnholdParticipant),
    ("prolongtime", Op::ProlongTime),
    ("applytoshiftpresident", Op::ApplyToShiftPresident),
    ("batchaddparticipant", Op::BatchAddParticipant),
    ("batchremoveparticipant", Op::BatchRemoveParticipant),
    ("changeparticipantmode", Op::ChangeParticipantMode),
    ("playvoicetoconf", Op::PlayVoiceToConf),
    ("stopvoicetoconf", Op::StopVoiceToConf),
    ("playvoicetoparticipant", Op::PlayVoiceToParticipant),
    ("stopvoicetoparticipant", Op::StopVoiceToParticipant),
    ("modifyconfresource", Op::ModifyConfResource),
    ("queryconfinfos", Op::QueryConfInfos),
    ("queryvdnconfid", Op::QueryAllConfIds),
];

/// What an `/onlineagent/{agentid}/…` suffix is.
pub(crate) enum Online {
    Op(Op),
    Session(SessionCall),
}

/// The sign-in family's suffixes (§3) and their methods.
pub(crate) fn online_action(action: &str) -> Option<(Online, Method)> {
    Some(match action {
        "forcelogin" => (Online::Op(Op::ForceLogin), Method::PUT),
        "logout" => (Online::Op(Op::Logout), Method::DELETE),
        "forcelogout" => (Online::Op(Op::ForceLogout), Method::DELETE),
        "agentstatus" => (Online::Session(SessionCall::AgentStatus), Method::GET),
        "updateGuid" => (Online::Session(SessionCall::UpdateGuid), Method::PUT),
        "heartbeat" => (Online::Session(SessionCall::Heartbeat), Method::PUT),
        "saybusy" => (Online::Op(Op::SayBusy), Method::POST),
        "sayfree" => (Online::Op(Op::SayFree), Method::POST),
        "work" => (Online::Op(Op::Work), Method::POST),
        "cancelwork" => (Online::Op(Op::CancelWork), Method::POST),
        "cancelrest" => (Online::Op(Op::CancelRest), Method::POST),
        "agentskills" => (Online::Op(Op::QueryAgentSkills), Method::GET),
        _ => return None,
    })
}

/// An `{agentid}` that does not decode (percent-encoding of bytes that are not UTF-8) cannot
/// be handed to the core as text; it is answered `000-002` here.
fn bad_path(rejection: &PathRejection) -> Response {
    envelope(
        StatusCode::OK,
        "000-002",
        &format!("the agent id in the path is not valid: {rejection}"),
        &Value::Object(Map::new()),
    )
}

fn not_found(gateway: &Gateway, method: &Method, path: &str) -> Response {
    gateway
        .shared
        .http
        .not_found
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    envelope(
        StatusCode::NOT_FOUND,
        "000-002",
        &format!("no interface at {method} {path}"),
        &Value::Object(Map::new()),
    )
}

fn answer_response(answer: Answer) -> Response {
    let r = &answer.response;
    with_set_guid(
        envelope(StatusCode::OK, &r.retcode, &r.message, &r.result),
        answer.set_guid.as_deref(),
    )
}

/// Reads the body and submits the operation.
async fn journaled(
    gateway: &Gateway,
    op: Op,
    agent: String,
    query: Option<&str>,
    request: Request,
) -> Response {
    let guid = guid_header(request.headers());
    let bytes = match read_body(request, gateway.config().max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(e @ (BodyError::TooLarge(_) | BodyError::Broken)) => return e.into_response(gateway),
    };
    let mut body = body_value(&bytes);
    if gateway.config().lenient
        && let Some(query) = query
    {
        body = query_into_body(op, body, query);
    }
    answer_response(
        gateway
            .call(Input::new(op, agent, body), guid.as_deref())
            .await,
    )
}

/// `--lenient`: the C# demo's `prolongtime?prolongTime=n` and `applytoshiftpresident?destWorkNo=n`
/// become the body fields `prolongTime` and `destAgentNo`. A value that is not an integer goes
/// as a string, which the core answers `000-002` like the same mistake in a body. A field the
/// body already has wins over the query.
pub(crate) fn query_into_body(op: Op, body: Value, query: &str) -> Value {
    let (param, field) = match op {
        Op::ProlongTime => ("prolongTime", "prolongTime"),
        Op::ApplyToShiftPresident => ("destWorkNo", "destAgentNo"),
        _ => return body,
    };
    let Some(raw) = query_param(query, param) else {
        return body;
    };
    let value = raw
        .trim()
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or(Value::String(raw));
    match body {
        Value::Null => {
            let mut map = Map::new();
            map.insert(field.to_owned(), value);
            Value::Object(map)
        }
        Value::Object(mut map) => {
            map.entry(field).or_insert(value);
            Value::Object(map)
        }
        other => other,
    }
}

/// The first value of `name` in a query string, percent-decoded (`+` is a space).
pub(crate) fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(key) == name).then(|| decode(value))
    })
}

pub(crate) fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `PUT /onlineagent/{agentid}`: sign-in.
async fn sign_in(
    State(gateway): State<Gateway>,
    method: Method,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let agent = match path {
        Ok(Path(agent)) => agent,
        Err(rejection) => return bad_path(&rejection),
    };
    if method != Method::PUT {
        return wrong_method(&method, request.uri().path(), &[Method::PUT]);
    }
    journaled(&gateway, Op::Login, agent, None, request).await
}

/// The methods an interface takes: the documented one, and with `--lenient` PUT and DELETE
/// too where the documentation says POST (the vendor's C# demo sends them).
fn allowed_methods(gateway: &Gateway, documented: Method) -> &'static [Method] {
    const LENIENT: &[Method] = &[Method::POST, Method::PUT, Method::DELETE];
    const POST: &[Method] = &[Method::POST];
    const GET: &[Method] = &[Method::GET];
    match documented {
        Method::POST if gateway.config().lenient => LENIENT,
        Method::POST => POST,
        _ => GET,
    }
}

/// `/onlineagent/{agentid}/{action}`: the rest of the sign-in family, and the state calls.
async fn online_agent(
    State(gateway): State<Gateway>,
    method: Method,
    path: Result<Path<(String, String)>, PathRejection>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    let (agent, action) = match path {
        Ok(Path(parts)) => parts,
        Err(rejection) => return bad_path(&rejection),
    };
    let Some((what, documented)) = online_action(&action) else {
        return not_found(&gateway, &method, request.uri().path());
    };
    let allowed = match what {
        Online::Op(Op::ForceLogin | Op::Logout | Op::ForceLogout) | Online::Session(_) => {
            std::slice::from_ref(&documented)
        }
        Online::Op(_) => allowed_methods(&gateway, documented.clone()),
    };
    if !allowed.contains(&method) {
        return wrong_method(&method, request.uri().path(), allowed);
    }
    match what {
        // The state calls take no body: what the core sees is their parameters, the busy
        // reason of `saybusy?reason=n` (documented as a query parameter).
        Online::Op(op) => match state_call_body(op, query.as_deref()) {
            Some(body) => submit_ignoring_body(&gateway, op, agent, body, request).await,
            None => journaled(&gateway, op, agent, None, request).await,
        },
        Online::Session(kind) => {
            let guid = guid_header(request.headers());
            answer_response(gateway.session_call(kind, &agent, guid.as_deref()))
        }
    }
}

/// `POST /onlineagent/{agentid}/rest/{time}/{reason}`: the path's `time` (seconds) and
/// `reason` become the body fields of the same names.
async fn rest(
    State(gateway): State<Gateway>,
    method: Method,
    path: Result<Path<(String, String, String)>, PathRejection>,
    request: Request,
) -> Response {
    let (agent, time, reason) = match path {
        Ok(Path(parts)) => parts,
        Err(rejection) => return bad_path(&rejection),
    };
    let allowed = allowed_methods(&gateway, Method::POST);
    if !allowed.contains(&method) {
        return wrong_method(&method, request.uri().path(), allowed);
    }
    let params = [("time", Some(time)), ("reason", Some(reason))];
    submit_ignoring_body(&gateway, Op::Rest, agent, parameters(&params), request).await
}

/// The body the core sees for a state call of `/onlineagent/{agentid}/{action}` (they take no
/// body: their parameters are it, the busy reason of `saybusy?reason=n` documented as a query
/// parameter); `None` for an operation whose body is the one sent. `confsim record` journals
/// the same.
pub(crate) fn state_call_body(op: Op, query: Option<&str>) -> Option<Value> {
    match op {
        Op::SayBusy | Op::SayFree | Op::Work | Op::CancelWork | Op::CancelRest => {
            let reason = query
                .filter(|_| op == Op::SayBusy)
                .and_then(|q| query_param(q, "reason"))
                .filter(|r| !r.is_empty());
            Some(parameters(&[("reason", reason)]))
        }
        Op::QueryAgentSkills => Some(parameters(&[])),
        _ => None,
    }
}

/// The body of `resetskill/{autoflag}`: `auto` is true when the path says `true` (any letter
/// case, as the vendor's Java server reads a boolean) and false for anything else.
pub(crate) fn reset_skill_body(auto: &str) -> Value {
    let mut body = Map::new();
    body.insert(
        "auto".into(),
        Value::Bool(auto.eq_ignore_ascii_case("true")),
    );
    Value::Object(body)
}

/// `POST /onlineagent/{agentid}/resetskill/{autoflag}`: the body field `auto` is true when the
/// path says `true` (any letter case, as the vendor's Java server reads a boolean) and false
/// for anything else, as the vendor documents. `skillid` and `phonelinkage` are not modelled.
async fn reset_skill(
    State(gateway): State<Gateway>,
    method: Method,
    path: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    let (agent, auto) = match path {
        Ok(Path(parts)) => parts,
        Err(rejection) => return bad_path(&rejection),
    };
    let allowed = allowed_methods(&gateway, Method::POST);
    if !allowed.contains(&method) {
        return wrong_method(&method, request.uri().path(), allowed);
    }
    submit_ignoring_body(
        &gateway,
        Op::ResetSkill,
        agent,
        reset_skill_body(&auto),
        request,
    )
    .await
}

/// An interface that takes no body: its parameters (path segments or query values) as the
/// body the core sees: integers as JSON integers, other text as strings (which the core
/// refuses with `000-002`, as the same mistake in a body), absent ones left out.
pub(crate) fn parameters(params: &[(&str, Option<String>)]) -> Value {
    let present: Map<String, Value> = params
        .iter()
        .filter_map(|(name, raw)| {
            let raw = raw.as_ref()?;
            let value = raw
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(raw.clone()));
            Some(((*name).to_owned(), value))
        })
        .collect();
    if present.is_empty() {
        Value::Null
    } else {
        Value::Object(present)
    }
}

/// Submits an input whose body is made by the gateway: what the client sent as a body is read
/// (its size limit holds as for any request) and ignored, as the vendor documents none.
async fn submit_ignoring_body(
    gateway: &Gateway,
    op: Op,
    agent: String,
    body: Value,
    request: Request,
) -> Response {
    let guid = guid_header(request.headers());
    if let Err(e @ (BodyError::TooLarge(_) | BodyError::Broken)) =
        read_body(request, gateway.config().max_body_bytes).await
    {
        return e.into_response(gateway);
    }
    answer_response(
        gateway
            .call(Input::new(op, agent, body), guid.as_deref())
            .await,
    )
}

/// `GET /agentevent/{agentid}`: long polling.
async fn poll(
    State(gateway): State<Gateway>,
    method: Method,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let agent = match path {
        Ok(Path(agent)) => agent,
        Err(rejection) => return bad_path(&rejection),
    };
    if method != Method::GET {
        return wrong_method(&method, request.uri().path(), &[Method::GET]);
    }
    let guid = guid_header(request.headers());
    match gateway.poll(&agent, guid.as_deref()).await {
        PollAnswer::Event(body, set_guid, dropped) => with_dropped(
            with_set_guid(json_response(StatusCode::OK, body), set_guid.as_deref()),
            dropped,
        ),
        // Exactly the bytes the C# demo compares against to mean "no event".
        PollAnswer::Empty(set_guid, dropped) => with_dropped(
            with_set_guid(
                json_response(StatusCode::OK, r#"{"message":"","retcode":"0"}"#),
                set_guid.as_deref(),
            ),
            dropped,
        ),
        PollAnswer::Refused(r) => envelope(StatusCode::OK, &r.retcode, &r.message, &r.result),
    }
}

/// `X-Confsim-Dropped-Events: N` on a poll answer once the agent's queue has overflowed: the
/// count of its events this session dropped (oldest first; the journal has them all). The
/// vendor has no such signal, so it is a header, which its clients ignore, and the body stays
/// exactly the vendor's.
fn with_dropped(mut response: Response, dropped: u64) -> Response {
    if dropped > 0 {
        response
            .headers_mut()
            .insert("x-confsim-dropped-events", dropped.into());
    }
    response
}

/// `/agentconf/{agentid}/{action}`: the conference family.
async fn agentconf(
    State(gateway): State<Gateway>,
    method: Method,
    path: Result<Path<(String, String)>, PathRejection>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    let (agent, action) = match path {
        Ok(Path(parts)) => parts,
        Err(rejection) => return bad_path(&rejection),
    };
    let Some(&(_, op)) = AGENTCONF.iter().find(|(suffix, _)| *suffix == action) else {
        return not_found(&gateway, &method, request.uri().path());
    };
    let allowed: &[Method] = match (op, gateway.config().lenient) {
        (Op::QueryAllConfIds, _) => &[Method::GET],
        (_, false) => &[Method::POST],
        (_, true) => &[Method::POST, Method::PUT, Method::DELETE],
    };
    if !allowed.contains(&method) {
        return wrong_method(&method, request.uri().path(), allowed);
    }
    journaled(&gateway, op, agent, query.as_deref(), request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_parameters_become_the_body_the_core_expects() {
        assert_eq!(
            query_into_body(Op::ProlongTime, Value::Null, "prolongTime=5"),
            json!({"prolongTime": 5})
        );
        assert_eq!(
            query_into_body(
                Op::ApplyToShiftPresident,
                Value::Null,
                "x=1&destWorkNo=2001"
            ),
            json!({"destAgentNo": 2001})
        );
        // The demo's bug: an empty value stays a (wrong) string for the core to refuse.
        assert_eq!(
            query_into_body(Op::ProlongTime, Value::Null, "prolongTime="),
            json!({"prolongTime": ""})
        );
        assert_eq!(
            query_into_body(Op::ProlongTime, json!({"prolongTime": 3}), "prolongTime=5"),
            json!({"prolongTime": 3})
        );
        assert_eq!(
            query_into_body(Op::ReleaseAgentConf, Value::Null, "prolongTime=5"),
            Value::Null
        );
    }

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(query_param("a=%41b+c&a=2", "a").as_deref(), Some("Ab c"));
        assert_eq!(query_param("a=%4", "a").as_deref(), Some("%4"));
        assert_eq!(query_param("a=%zz", "a").as_deref(), Some("%zz"));
        assert_eq!(query_param("b", "b").as_deref(), Some(""));
        assert_eq!(query_param("", "a"), None);
    }
}
