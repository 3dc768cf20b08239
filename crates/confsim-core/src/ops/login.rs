//! `login` and `forceLogin` (S1, S2: `PUT /onlineagent/{agentid}` and `…/forcelogin`).
//!
//! The body is agentgateway.md §3.1. Real clients send numbers and booleans as strings
//! (`"status":"4"`, `"releasephone":"false"`), so those fields accept both. A sign-in of a
//! signed-in agent is `100-002`; `forceLogin` takes the session over instead (a new session;
//! the agent keeps any call or conference). The events of §3.3 follow one latency draw later.

use crate::body::Body;
use crate::ids::AgentId;
use crate::input::{Input, Op, Rejection, retcode};
use crate::state::{AgentPending, AgentPendingKind, AgentState, Platform};
use crate::time::SimTime;
use serde_json::{Value, json};

/// The parts of a sign-in body the platform acts on.
struct SignIn {
    password: String,
    status: u8,
    web: bool,
    mail: bool,
}

fn parse(body: &Value) -> Result<SignIn, Rejection> {
    let b = Body::new(body)?;
    let password = b.string_bytes("password", 32)?.ok_or_else(|| {
        Rejection::new(
            retcode::INVALID_PARAMETER,
            "password is mandatory (it may be empty)",
        )
    })?;
    b.string_bytes("phonenum", 24)?;
    for flag in [
        "autoanswer",
        "autoenteridle",
        "releasephone",
        "phonelinkage",
        "listenStatus",
    ] {
        b.lenient_bool(flag)?;
    }
    let web = b.lenient_bool("checkInWebm")?.unwrap_or(true);
    let mail = b.lenient_bool("checkInMailm")?.unwrap_or(false);
    if let Some(kind) = b.lenient_int("agenttype", 0, i64::from(u16::MAX))?
        && kind != 4
        && kind != 11
    {
        return Err(Rejection::new(
            retcode::WRONG_AGENT_TYPE,
            format!("agenttype must be 4 (PC+phone) or 11 (PC+video phone), not {kind}"),
        ));
    }
    let status = b.lenient_int("status", 3, 5)?.unwrap_or(4) as u8;
    if let Some(ip) = b.string_bytes("ip", 64)?
        && (ip.len() > 15 || ip.parse::<std::net::Ipv4Addr>().is_err())
    {
        return Err(Rejection::new(
            retcode::INVALID_IP,
            format!("ip {ip:?} is not an IPv4 address"),
        ));
    }
    b.string_bytes("entryIp", 64)?;
    b.string_bytes("vcPhoneNumber", 24)?;
    b.string_bytes("callBackUri", 200)?;
    b.string_bytes("serviceToken", 50)?;
    b.string_bytes("pushUrl", 512)?;
    Ok(SignIn {
        password: password.to_owned(),
        status,
        web,
        mail,
    })
}

pub(crate) fn decide(p: &Platform, input: &Input, now: SimTime) -> Result<Value, Rejection> {
    let id = p.path_id(input)?;
    let sign_in = parse(&input.body)?;
    if !p.may_sign_in(id) {
        return Err(Rejection::new(
            retcode::WRONG_PASSWORD,
            format!("agent {id} is not on the platform's roster"),
        ));
    }
    let agent = p.agent(id);
    if let Some(expected) = agent.and_then(|a| a.password.as_deref())
        && expected != sign_in.password
    {
        return Err(Rejection::new(
            retcode::WRONG_PASSWORD,
            format!("wrong password for agent {id}"),
        ));
    }
    if agent.is_some_and(|a| a.pending.is_some()) {
        return Err(Rejection::new(
            retcode::REPEATED,
            format!("agent {id}'s previous sign-in or sign-out is still in progress"),
        ));
    }
    if input.op == Op::Login && agent.is_some_and(|a| a.signed_in) {
        return Err(Rejection::new(
            retcode::ALREADY_SIGNED_IN,
            format!("agent {id} is already signed in; use forceLogin"),
        ));
    }
    let flag = |b: bool| if b { 'T' } else { 'F' };
    Ok(json!({
        "vdnid": p.config().vdn.id,
        "workno": id.to_string(),
        "mediatype": format!("T{}{}", flag(sign_in.web), flag(sign_in.mail)),
        "loginTime": now.as_unix_ms().to_string(),
        "isForceChange": "false",
        "serverName": "AgentGateway",
        "timeRemaining": "",
    }))
}

pub(crate) fn apply(p: &mut Platform, at: SimTime, id: AgentId, op: Op, body: &Value) {
    let Ok(sign_in) = parse(body) else { return };
    let (delay, nonce) = p.draw_agent_latency(id);
    let agent = p.agent_entry(id);
    let takeover = op == Op::ForceLogin && agent.signed_in;
    let busy = agent.conf.is_some() || agent.state == AgentState::Talking;
    agent.signed_in = true;
    agent.sessions += 1;
    if !(takeover && busy) {
        agent.state = match sign_in.status {
            3 => AgentState::Busy,
            5 => AgentState::Work,
            _ => AgentState::Idle,
        };
        agent.stable_call = false;
        agent.three_party_called = false;
        agent.peer = None;
        agent.rest = None;
    }
    agent.pending = Some(AgentPending {
        due: at.saturating_add(delay),
        kind: AgentPendingKind::SignedIn {
            status: sign_in.status,
            takeover,
        },
        nonce,
    });
}
