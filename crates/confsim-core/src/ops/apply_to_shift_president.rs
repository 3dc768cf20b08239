//! `applyToShiftPresident` (A9): the chair passes the chair to a joined agent member
//! (`destAgentNo`). The change is immediate; one latency draw later the new chair gets
//! `AgentConf_PresidentChanged` and the other members `ParticipantChanged` (2). Passing the chair
//! to oneself is `101-005`.

use crate::body::Body;
use crate::ids::AgentId;
use crate::input::{Input, Rejection, retcode};
use crate::ops::{busy_member, joined};
use crate::state::{Address, ConfOp, Platform};
use crate::time::SimTime;
use serde_json::{Value, json};

fn parse(p: &Platform, body: &Value) -> Result<AgentId, Rejection> {
    // An Integer in the documentation; the vendor's own demo sends it as a query parameter,
    // that is as text, so a decimal string is accepted too.
    let n = Body::new(body)?.lenient_int("destAgentNo", 0, i64::from(u32::MAX))?;
    let n =
        n.ok_or_else(|| Rejection::new(retcode::INVALID_PARAMETER, "destAgentNo is mandatory"))?;
    let range = p.config().agent_id_range;
    u32::try_from(n)
        .ok()
        .filter(|n| range.contains(*n))
        .map(AgentId)
        .ok_or_else(|| {
            Rejection::new(
                retcode::INVALID_PARAMETER,
                format!("destAgentNo {n} is not an agent id from {range}"),
            )
        })
}

pub(crate) fn decide(p: &Platform, input: &Input) -> Result<Value, Rejection> {
    let (id, agent) = p.caller(input)?;
    let to = parse(p, &input.body)?;
    let conf = p.chaired_conference(id, agent)?;
    if to == id {
        return Err(Rejection::new(
            retcode::CHAIR_TO_SELF,
            "the chair cannot pass the chair to itself",
        ));
    }
    let member = joined(conf, &Address::Agent(to))?;
    // A member on its way out (leaving, being removed) cannot become the chair: the conference
    // would be left without one when it goes.
    busy_member(conf, member.no)?;
    if !p.agent(to).is_some_and(|a| a.signed_in) {
        return Err(Rejection::new(
            retcode::INVALID_PARAMETER,
            format!("agent {to} is signing out"),
        ));
    }
    Ok(json!({}))
}

pub(crate) fn apply(p: &mut Platform, at: SimTime, id: AgentId, body: &Value) {
    let Ok(to) = parse(p, body) else { return };
    let Some(conf_id) = p.agent(id).and_then(|a| a.conf) else {
        return;
    };
    if let Some(conf) = p.conf_mut(conf_id) {
        conf.chair = to;
    }
    p.queue_op(conf_id, at, ConfOp::Chair { to });
}
