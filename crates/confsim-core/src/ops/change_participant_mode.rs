//! `changeParticipantMode` (A12): the chair sets what a participant may do: 1 listen only
//! (muted), 2 speak only, 3 listen and speak, 4 neither. The change is immediate; attributes 1
//! and 3 are announced (`ParticipantChanged` 3 muted, 4 unmuted) one latency draw later, to the
//! members including the participant; 2 and 4 are not announced (agentgateway.md A12).

use crate::body::Body;
use crate::event::change_type;
use crate::ids::AgentId;
use crate::input::{Input, Rejection};
use crate::ops::{joined, parse_address};
use crate::state::{Address, ConfOp, Platform};
use crate::time::SimTime;
use serde_json::{Value, json};

fn parse(p: &Platform, body: &Value) -> Result<(u8, Address), Rejection> {
    let b = Body::new(body)?;
    let attribute = b.required_int("attribute", 1, 4)? as u8;
    Ok((attribute, parse_address(p, &b)?))
}

pub(crate) fn decide(p: &Platform, input: &Input) -> Result<Value, Rejection> {
    let (id, agent) = p.caller(input)?;
    let (_, address) = parse(p, &input.body)?;
    let conf = p.chaired_conference(id, agent)?;
    joined(conf, &address)?;
    Ok(json!({}))
}

pub(crate) fn apply(p: &mut Platform, at: SimTime, id: AgentId, body: &Value) {
    let Ok((attribute, address)) = parse(p, body) else {
        return;
    };
    let Some(conf_id) = p.agent(id).and_then(|a| a.conf) else {
        return;
    };
    let Some(no) = p
        .conf_mut(conf_id)
        .and_then(|c| c.member_mut(&address))
        .map(|m| {
            m.attrib = attribute;
            m.no
        })
    else {
        return;
    };
    let announced = match attribute {
        1 => Some(change_type::MUTED),
        3 => Some(change_type::UNMUTED),
        _ => None,
    };
    if let Some(change_type) = announced {
        p.queue_op(
            conf_id,
            at,
            ConfOp::Change {
                member: no,
                change_type,
            },
        );
    }
}
