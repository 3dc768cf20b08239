//! `holdParticipant` and `unholdParticipant` (A6, A7): the chair holds a participant (music
//! from `voicePath` plays to it) or takes it off hold. The change is immediate (a query sees
//! it at once); the members, the participant included, hear `ParticipantChanged` (5 held,
//! 6 unheld) one latency draw later. Holding a held participant, or unholding one that is not
//! held, is refused by the platform (`100-007`).

use crate::body::Body;
use crate::event::change_type;
use crate::ids::AgentId;
use crate::input::{Input, Op, Rejection};
use crate::ops::{joined, parse_address, platform_refuses};
use crate::state::{ConfOp, Platform};
use crate::time::SimTime;
use serde_json::{Value, json};

fn parse(p: &Platform, op: Op, body: &Value) -> Result<crate::state::Address, Rejection> {
    let b = Body::new(body)?;
    let address = parse_address(p, &b)?;
    if op == Op::HoldParticipant {
        b.int("playMode", 2, 2)?;
        b.string_chars("voicePath", 127)?
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                Rejection::new(
                    crate::input::retcode::INVALID_PARAMETER,
                    "voicePath is mandatory: the music the held party hears",
                )
            })?;
    }
    Ok(address)
}

pub(crate) fn decide(p: &Platform, input: &Input) -> Result<Value, Rejection> {
    let (id, agent) = p.caller(input)?;
    let address = parse(p, input.op, &input.body)?;
    let conf = p.chaired_conference(id, agent)?;
    let member = joined(conf, &address)?;
    match (input.op, member.held) {
        (Op::HoldParticipant, true) => Err(platform_refuses(format!(
            "{} is already held",
            address.wire().0
        ))),
        (Op::UnholdParticipant, false) => Err(platform_refuses(format!(
            "{} is not held",
            address.wire().0
        ))),
        _ => Ok(json!({})),
    }
}

pub(crate) fn apply(p: &mut Platform, at: SimTime, id: AgentId, op: Op, body: &Value) {
    let Ok(address) = parse(p, op, body) else {
        return;
    };
    let Some(conf_id) = p.agent(id).and_then(|a| a.conf) else {
        return;
    };
    let hold = op == Op::HoldParticipant;
    let Some(no) = p
        .conf_mut(conf_id)
        .and_then(|c| c.member_mut(&address))
        .map(|m| {
            m.held = hold;
            m.no
        })
    else {
        return;
    };
    let change_type = if hold {
        change_type::HELD
    } else {
        change_type::UNHELD
    };
    p.queue_op(
        conf_id,
        at,
        ConfOp::Change {
            member: no,
            change_type,
        },
    );
}
