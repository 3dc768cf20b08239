//! `requestLeaveAgentConf` (A4): a joined member who is not the chair leaves (the chair must
//! release instead: `101-007`). One latency draw later it gets `PhoneRelease {"phoneState":2}`,
//! `SelfLeaveResult`, `AgentState_Ready`; the others hear `ParticipantChanged` (left, 0).

use crate::ids::AgentId;
use crate::input::{Input, Rejection, retcode};
use crate::ops::busy_member;
use crate::state::{Address, ConfOp, Platform};
use crate::time::SimTime;
use serde_json::{Value, json};

pub(crate) fn decide(p: &Platform, input: &Input) -> Result<Value, Rejection> {
    let (id, agent) = p.caller(input)?;
    let conf = p.active_conference_of(id, agent)?;
    let member = conf
        .member_at(&Address::Agent(id))
        .filter(|m| m.is_joined())
        .ok_or_else(|| {
            Rejection::new(
                retcode::NO_CONFERENCE,
                format!("agent {id} has not joined a conference"),
            )
        })?;
    if conf.chair == id {
        return Err(Rejection::new(
            retcode::CHAIR_LEAVES,
            "the chair cannot leave the conference: release it instead",
        ));
    }
    busy_member(conf, member.no)?;
    Ok(json!({}))
}

pub(crate) fn apply(p: &mut Platform, at: SimTime, id: AgentId) {
    let Some(conf_id) = p.agent(id).and_then(|a| a.conf) else {
        return;
    };
    let Some(no) = p
        .conference(conf_id)
        .and_then(|c| c.member_at(&Address::Agent(id)))
        .map(|m| m.no)
    else {
        return;
    };
    p.queue_op(conf_id, at, ConfOp::Leave { member: no });
}
