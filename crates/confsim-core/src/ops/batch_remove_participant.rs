//! `batchRemoveParticipant` (A11): the chair removes up to 30 participants, joined or still
//! invited. Addresses that name no participant come back in `result.noExistParticipants`; the
//! chair naming itself is `101-006`. One latency draw later each removed agent gets
//! `PhoneRelease {"phoneState":3}`, `SelfLeaveResult`, `AgentState_Ready` (an invitee whose
//! phone rang: `PhoneRelease`, `AgentState_Ready`) and the members hear `ParticipantChanged`
//! (left, `changeReason` 1).

use crate::body::Body;
use crate::ids::AgentId;
use crate::input::{Input, Rejection, retcode};
use crate::ops::{address_item, busy_member};
use crate::state::{Address, ConfOp, Platform};
use crate::time::SimTime;
use serde_json::{Value, json};

fn parse(p: &Platform, body: &Value) -> Result<Vec<(Address, Value)>, Rejection> {
    let b = Body::new(body)?;
    let items = b.required_array("addresses", 1, 30)?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let (_, address, echo) = address_item(p, item, i)?;
        out.push((address, echo));
    }
    Ok(out)
}

pub(crate) fn decide(p: &Platform, input: &Input) -> Result<Value, Rejection> {
    let (id, agent) = p.caller(input)?;
    let addresses = parse(p, &input.body)?;
    let conf = p.chaired_conference(id, agent)?;
    let mut missing = Vec::new();
    for (address, echo) in addresses {
        if address == Address::Agent(id) {
            return Err(Rejection::new(
                retcode::CHAIR_REMOVES_SELF,
                "the chair cannot remove itself",
            ));
        }
        match conf.member_at(&address) {
            Some(m) => busy_member(conf, m.no)?,
            None => missing.push(echo),
        }
    }
    Ok(json!({ "noExistParticipants": missing }))
}

pub(crate) fn apply(p: &mut Platform, at: SimTime, id: AgentId, body: &Value) {
    let Ok(addresses) = parse(p, body) else {
        return;
    };
    let Some(conf_id) = p.agent(id).and_then(|a| a.conf) else {
        return;
    };
    let Some(conf) = p.conference(conf_id) else {
        return;
    };
    // An address listed twice is removed once, in the place of its first listing.
    let mut members: Vec<u32> = Vec::new();
    for no in addresses
        .iter()
        .filter_map(|(a, _)| conf.member_at(a))
        .map(|m| m.no)
    {
        if !members.contains(&no) {
            members.push(no);
        }
    }
    if !members.is_empty() {
        p.queue_op(conf_id, at, ConfOp::Remove { members });
    }
}
