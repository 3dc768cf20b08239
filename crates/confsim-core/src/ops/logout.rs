//! `logout` and `forceLogout` (S4, S5: `DELETE /onlineagent/{agentid}/logout`, `…/forcelogout`).
//!
//! `logout` refuses an agent that is talking or in a conference (`100-010`, state error at
//! sign-out) and sends no event. `forceLogout` signs the agent out at once; one latency draw
//! later its call or conference is released (a chair's conference ends; members hear
//! `changeReason` 4) and it gets `AgentOther_ShutdownService`.

use crate::ids::AgentId;
use crate::input::{Input, Rejection, retcode};
use crate::state::{Address, AgentPending, AgentPendingKind, AgentState, ConfOp, Phase, Platform};
use crate::time::SimTime;
use serde_json::{Value, json};

pub(crate) fn decide_logout(p: &Platform, input: &Input) -> Result<Value, Rejection> {
    let (id, agent) = p.caller(input)?;
    if agent.pending.is_some() {
        return Err(Rejection::new(
            retcode::REPEATED,
            format!("agent {id}'s sign-in or state change is still in progress"),
        ));
    }
    if agent.conf.is_some() || agent.state == AgentState::Talking {
        return Err(Rejection::new(
            retcode::SIGN_OUT_STATE,
            format!("agent {id} is talking or in a conference: sign out with forceLogout"),
        ));
    }
    Ok(json!({}))
}

pub(crate) fn apply_logout(p: &mut Platform, id: AgentId) {
    if let Some(agent) = p.agent_mut(id) {
        agent.signed_in = false;
        agent.state = AgentState::Idle;
        agent.rest = None;
    }
}

pub(crate) fn decide_force_logout(p: &Platform, input: &Input) -> Result<Value, Rejection> {
    // A second forceLogout finds the agent signed out already: `100-006`.
    p.caller(input)?;
    Ok(json!({}))
}

pub(crate) fn apply_force_logout(p: &mut Platform, at: SimTime, id: AgentId) {
    let (delay, nonce) = p.draw_agent_latency(id);
    let Some(agent) = p.agent_mut(id) else { return };
    agent.signed_in = false;
    // A rest ends with the session; so do a state call's events still to come (superseded
    // below, as a sign-in's are).
    agent.rest = None;
    // A sign-in whose events had not come yet is superseded: they never will.
    agent.pending = Some(AgentPending {
        due: at.saturating_add(delay),
        kind: AgentPendingKind::SignedOut,
        nonce,
    });
    // An answer, rejection, leave or removal of this agent still on its way is overtaken by
    // the sign-out, which releases the agent's leg itself (with changeReason 4). So is the news
    // that the chair passed to it: it is signed out before the news could reach it, and as
    // the chair its sign-out ends the conference (found by
    // `random_family_runs_keep_every_promise`).
    if let Some(conf_id) = agent.conf
        && let Some(conf) = p.conf_mut(conf_id)
        && let Some(no) = conf.member_at(&Address::Agent(id)).map(|m| m.no)
    {
        conf.pending.retain_mut(|op| match &mut op.op {
            ConfOp::Answer { member } | ConfOp::Reject { member } | ConfOp::Leave { member } => {
                *member != no
            }
            // Its removal too: the sign-out releases its leg first.
            ConfOp::Remove { members } => {
                members.retain(|m| *m != no);
                !members.is_empty()
            }
            ConfOp::Chair { to } => *to != id,
            ConfOp::Change { .. } => true,
        });
        // A chair's sign-out ends its conference: the warning and the announcements' ends,
        // which only the chair hears, would reach it signed out, before the news of its
        // sign-out (found by `random_family_runs_keep_every_promise`).
        if conf.chair == id {
            if let Phase::Active { warn_at, .. } = &mut conf.phase {
                *warn_at = None;
            }
            conf.voice_until = None;
            for m in &mut conf.members {
                m.voice_until = None;
            }
        }
    }
}
