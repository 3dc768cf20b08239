//! `prolongTime` (A8, `POST /agentconf/{agentid}/prolongtime`): the chair extends the conference.
//!
//! The whole conference lasts at most 1440 minutes (product.md §7.4), so the time added is
//! `min(prolongTime, 1440 - current duration)`, returned as `result.applyedTime` (the vendor's
//! spelling). The warning moves with the end and, if it had fired, fires again; when the new
//! warning time is already past (fewer than `promptTime` minutes remain even after the
//! extension), it fires at once.

use crate::body::Body;
use crate::ids::AgentId;
use crate::input::{Input, Rejection};
use crate::state::{Phase, Platform};
use crate::time::{SimDuration, SimTime};
use serde_json::{Value, json};

/// `prolongTime`: 1-1440 minutes, mandatory.
pub const PROLONG_MIN: i64 = 1;
pub const PROLONG_MAX: i64 = 1440;
/// The longest a conference may last, start to end, in minutes.
pub const MAX_TOTAL_MIN: u64 = 1440;

pub(crate) fn decide(platform: &Platform, input: &Input) -> Result<Value, Rejection> {
    let (id, agent) = platform.caller(input)?;
    let requested =
        Body::new(&input.body)?.required_int("prolongTime", PROLONG_MIN, PROLONG_MAX)?;
    let conf = platform.chaired_conference(id, agent)?;
    let Phase::Active { start, end, .. } = conf.phase else {
        return Err(Rejection::new(
            crate::input::retcode::NO_CONFERENCE,
            format!("agent {id} has no conference"),
        ));
    };
    let duration_min = end.since(start).as_millis() / 60_000;
    let added = u64::try_from(requested)
        .unwrap_or(0)
        .min(MAX_TOTAL_MIN.saturating_sub(duration_min));
    Ok(json!({ "applyedTime": added }))
}

pub(crate) fn apply(platform: &mut Platform, at: SimTime, id: AgentId, result: &Value) {
    let added = result
        .get("applyedTime")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if added == 0 {
        return;
    }
    let Some(conf_id) = platform.agent(id).and_then(|a| a.conf) else {
        return;
    };
    let Some(conf) = platform.conf_mut(conf_id) else {
        return;
    };
    let prompt = SimDuration::from_mins(u64::from(conf.params.prompt_min));
    if let Phase::Active { end, warn_at, .. } = &mut conf.phase {
        *end = end.saturating_add(SimDuration::from_mins(added));
        *warn_at = Some(end.saturating_sub(prompt).max(at));
    }
}
