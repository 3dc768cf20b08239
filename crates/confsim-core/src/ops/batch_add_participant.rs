//! `batchAddParticipant` (A10): the chair invites agents (`addressType` "9") and phone numbers
//! ("6"). Joined plus invited members never exceed the capacity (`100-007`).
//!
//! An invited agent's phone rings one latency draw later (`AgentConf_Ringing`) if the agent is
//! signed in, idle and free; otherwise the invitation fails then (the members hear that the
//! invitee left, `changeReason` 6, `result` 1). A ringing agent answers or rejects, or the
//! invitation ends unanswered at `platform.ringTimeoutMs`. A phone number answers after a seeded
//! delay (`platform.phones.answerDelay`) and joins, or, if it is one that never answers, its
//! invitation ends at the ring timeout. An agent already in another conference is `101-003`.

use crate::body::Body;
use crate::ids::AgentId;
use crate::input::{Input, Rejection, retcode};
use crate::ops::{address_item, platform_refuses};
use crate::state::{Address, Member, MemberStatus, Platform};
use crate::time::SimTime;
use serde_json::{Value, json};

/// One invitee as the request names it.
struct Invitee {
    address: Address,
    device_call_type: u8,
    device_type: u8,
}

fn parse(p: &Platform, body: &Value) -> Result<Vec<Invitee>, Rejection> {
    let b = Body::new(body)?;
    let items = b.required_array("addresses", 1, 120)?;
    let beep = b.bool("beepTone")?.unwrap_or(false);
    b.int("playMode", 2, 2)?;
    let voice = b.string_chars("voicePath", 127)?.filter(|v| !v.is_empty());
    if beep && voice.is_none() {
        return Err(Rejection::new(
            retcode::INVALID_PARAMETER,
            "voicePath is mandatory when beepTone is true",
        ));
    }
    b.string_chars("caller", 24)?;
    let mut out: Vec<Invitee> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("addresses[{i}].");
        let (e, address, _) = address_item(p, item, i)?;
        let prefixed = |r: Rejection| Rejection::new(r.retcode, format!("{at}{}", r.message));
        let device_call_type = e
            .int("deviceCallType", 0, 255)
            .map_err(prefixed)?
            .unwrap_or(0) as u8;
        let device_type = e.int("deviceType", 0, 255).map_err(prefixed)?.unwrap_or(0) as u8;
        if out.iter().any(|o| o.address == address) {
            return Err(Rejection::new(
                retcode::INVALID_PARAMETER,
                format!("{at}address {} is listed twice", address.wire().0),
            ));
        }
        out.push(Invitee {
            address,
            device_call_type,
            device_type,
        });
    }
    Ok(out)
}

pub(crate) fn decide(p: &Platform, input: &Input) -> Result<Value, Rejection> {
    let (id, agent) = p.caller(input)?;
    let invitees = parse(p, &input.body)?;
    let conf = p.chaired_conference(id, agent)?;
    for invitee in &invitees {
        if conf.member_at(&invitee.address).is_some() {
            return Err(Rejection::new(
                retcode::INVALID_PARAMETER,
                format!(
                    "{} is already a participant of conference {}",
                    invitee.address.wire().0,
                    conf.id
                ),
            ));
        }
        if let Address::Agent(other) = invitee.address
            && let Some(elsewhere) = p.agent(other).and_then(|a| a.conf)
        {
            return Err(Rejection::new(
                retcode::ALREADY_IN_CONFERENCE,
                format!("agent {other} is already in conference {elsewhere}"),
            ));
        }
    }
    let wanted = conf.occupancy() + invitees.len() as u32;
    if wanted > conf.capacity {
        return Err(platform_refuses(format!(
            "conference {} has room for {} members: {} are joined or invited and {} more were asked for",
            conf.id,
            conf.capacity,
            conf.occupancy(),
            invitees.len()
        )));
    }
    Ok(json!({}))
}

pub(crate) fn apply(p: &mut Platform, at: SimTime, id: AgentId, body: &Value) {
    let Ok(invitees) = parse(p, body) else { return };
    let Some(conf_id) = p.agent(id).and_then(|a| a.conf) else {
        return;
    };
    for invitee in invitees {
        let status = match &invitee.address {
            Address::Agent(agent) => {
                let delay = p.draw_latency(conf_id);
                // Only an agent that can take the call is attached to the conference now; for
                // the others the invitation fails when it would have rung.
                if p.is_free(*agent)
                    && let Some(a) = p.agent_mut(*agent)
                {
                    a.conf = Some(conf_id);
                }
                MemberStatus::Calling {
                    due: at.saturating_add(delay),
                    answers: true,
                }
            }
            Address::Phone(number) => {
                let (delay, answers) = p.draw_phone_answer(conf_id, number);
                MemberStatus::Calling {
                    due: at.saturating_add(delay),
                    answers,
                }
            }
        };
        if let Some(conf) = p.conf_mut(conf_id) {
            let no = conf.next_no;
            conf.next_no += 1;
            let mut member = Member::new(no, invitee.address, status, at);
            member.device_call_type = invitee.device_call_type;
            member.device_type = invitee.device_type;
            conf.members.push(member);
        }
    }
}
