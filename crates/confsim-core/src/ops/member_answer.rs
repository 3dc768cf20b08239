//! `answerAgentConf` and `rejectAgentConf` (A2, A3): an invited agent whose phone rings
//! (it received `AgentConf_Ringing`) answers or rejects. One latency draw later the invitee
//! joins (`SelfJoinResult`; the members hear `ParticipantChanged` joined) or its phone is
//! released (`PhoneRelease {"phoneState":2}`, `AgentState_Ready`; the members hear that it left,
//! `changeReason` 2, `result` 1).

use crate::ids::AgentId;
use crate::input::{Input, Op, Rejection, retcode};
use crate::ops::busy_member;
use crate::state::{Address, ConfOp, MemberStatus, Platform};
use crate::time::SimTime;
use serde_json::{Value, json};

pub(crate) fn decide(p: &Platform, input: &Input) -> Result<Value, Rejection> {
    let (id, agent) = p.caller(input)?;
    let no_call = || {
        Rejection::new(
            retcode::NO_CONFERENCE,
            format!("no conference call rings for agent {id}"),
        )
    };
    let conf = p.active_conference_of(id, agent).map_err(|_| no_call())?;
    let member = conf.member_at(&Address::Agent(id)).ok_or_else(no_call)?;
    match member.status {
        MemberStatus::Ringing { .. } => {}
        MemberStatus::Calling { .. } => return Err(no_call()),
        MemberStatus::Responding => {
            return Err(Rejection::new(
                retcode::REPEATED,
                format!("agent {id}'s answer is still in progress"),
            ));
        }
        MemberStatus::Joined => {
            return Err(Rejection::new(
                retcode::ALREADY_IN_CONFERENCE,
                format!("agent {id} is already in conference {}", conf.id),
            ));
        }
    }
    busy_member(conf, member.no)?;
    Ok(json!({}))
}

pub(crate) fn apply(p: &mut Platform, at: SimTime, id: AgentId, op: Op) {
    let Some(conf_id) = p.agent(id).and_then(|a| a.conf) else {
        return;
    };
    // The phone stops ringing towards a timeout: the answer (or rejection) is what happens.
    let Some(no) = p
        .conf_mut(conf_id)
        .and_then(|c| c.member_mut(&Address::Agent(id)))
        .map(|m| {
            m.status = MemberStatus::Responding;
            m.no
        })
    else {
        return;
    };
    let op = if op == Op::AnswerAgentConf {
        ConfOp::Answer { member: no }
    } else {
        ConfOp::Reject { member: no }
    };
    p.queue_op(conf_id, at, op);
}
