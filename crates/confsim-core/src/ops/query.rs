//! `queryConfInfos` (A18) and `queryAllConfIds` (A19, `GET /queryvdnconfid`).
//!
//! An inspector (a roster agent with `"inspector": true`) sees every started conference of the
//! VDN; any other agent only its own. Ids it may not see, or that name no started conference,
//! are left out of the answer rather than refused. `queryAllConfIds` is for inspectors only
//! (`101-004`).

use crate::body::Body;
use crate::input::{Input, Rejection, retcode};
use crate::state::{Conference, MemberStatus, Phase, Platform};
use crate::time::SimTime;
use serde_json::{Value, json};

fn info(conf: &Conference, now: SimTime) -> Option<Value> {
    let (start, end) = match conf.phase {
        Phase::Active { start, end, .. } => (start, end),
        Phase::Releasing { start, end, .. } => (start, end),
        _ => return None,
    };
    let addresses: Vec<Value> = conf
        .members
        .iter()
        .filter(|m| m.status == MemberStatus::Joined)
        .map(|m| {
            let (address, kind) = m.address.wire();
            let channel_state = if m.voice_until.is_some() {
                2
            } else {
                u8::from(m.held)
            };
            json!({
                "addressType": kind.to_string(),
                "address": address,
                "deviceCallType": m.device_call_type,
                "deviceType": m.device_type,
                "channelAttrib": m.attrib,
                "channelState": channel_state,
                "role": u8::from(m.address.agent() == Some(conf.chair)),
                "enterTime": m.enter_time.as_unix_ms(),
            })
        })
        .collect();
    Some(json!({
        "confId": conf.id.0,
        "confState": u8::from(conf.voice_until.is_some()),
        "startTime": start.as_unix_ms(),
        "applyConfTime": end.since(start).as_millis() / 60_000,
        "confHaveBeenTime": now.since(start).as_millis() / 60_000,
        "addresses": addresses,
    }))
}

pub(crate) fn decide_infos(p: &Platform, input: &Input, now: SimTime) -> Result<Value, Rejection> {
    let (id, agent) = p.caller(input)?;
    let items = Body::new(&input.body)?.required_array("confIds", 1, 20)?;
    let mut ids = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let n = item.as_u64().ok_or_else(|| {
            Rejection::new(
                retcode::INVALID_PARAMETER,
                format!("confIds[{i}] must be a conference id (an integer), got {item}"),
            )
        })?;
        if !ids.contains(&crate::ids::ConfId(n)) {
            ids.push(crate::ids::ConfId(n));
        }
    }
    let _ = id;
    let infos: Vec<Value> = ids
        .into_iter()
        .filter(|c| agent.inspector || agent.conf == Some(*c))
        .filter_map(|c| p.conference(c))
        .filter_map(|c| info(c, now))
        .collect();
    Ok(Value::Array(infos))
}

pub(crate) fn decide_all_ids(p: &Platform, input: &Input) -> Result<Value, Rejection> {
    let (id, agent) = p.caller(input)?;
    if !agent.inspector {
        return Err(Rejection::new(
            retcode::NOT_INSPECTOR,
            format!("agent {id} is not an inspector"),
        ));
    }
    let ids: Vec<u64> = p
        .conferences()
        .into_iter()
        .filter(|c| c.start().is_some())
        .map(|c| c.id.0)
        .collect();
    Ok(json!({ "confIds": ids }))
}
