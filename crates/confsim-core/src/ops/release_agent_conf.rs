//! `releaseAgentConf` (A5, `POST /agentconf/{agentid}/releaseagentconf`): the chair ends the
//! conference. The platform releases it one latency draw later; from the moment the request is
//! accepted the conference's timers are cancelled and further chair operations get `101-001`.

use crate::ids::AgentId;
use crate::input::{Input, Rejection};
use crate::state::{Phase, Platform};
use crate::time::SimTime;
use serde_json::{Value, json};

pub(crate) fn decide(platform: &Platform, input: &Input) -> Result<Value, Rejection> {
    let (id, agent) = platform.caller(input)?;
    platform.chaired_conference(id, agent)?;
    Ok(json!({}))
}

pub(crate) fn apply(platform: &mut Platform, at: SimTime, id: AgentId) {
    let Some(conf_id) = platform.agent(id).and_then(|a| a.conf) else {
        return;
    };
    let Some(Phase::Active { start, end, .. }) =
        platform.conference(conf_id).map(|c| c.phase.clone())
    else {
        return;
    };
    let delay = platform.draw_latency(conf_id);
    if let Some(conf) = platform.conf_mut(conf_id) {
        conf.phase = Phase::Releasing {
            due: at.saturating_add(delay),
            start,
            end,
        };
    }
}
