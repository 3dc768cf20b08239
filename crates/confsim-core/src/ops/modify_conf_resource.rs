//! `modifyConfResource` (A17): the chair raises (`modifyType` 0) or lowers (1) the capacity by
//! `modifyNum` (2-118). The result must stay within 1-120 (`000-002`) and not below the members
//! already joined or invited (`100-007`). No event.

use crate::body::Body;
use crate::ids::AgentId;
use crate::input::{Input, Rejection, retcode};
use crate::ops::platform_refuses;
use crate::state::Platform;
use serde_json::{Value, json};

fn parse(body: &Value) -> Result<(bool, u32), Rejection> {
    let b = Body::new(body)?;
    let increase = b.required_int("modifyType", 0, 1)? == 0;
    let n = b.required_int("modifyNum", 2, 118)? as u32;
    Ok((increase, n))
}

fn new_capacity(current: u32, increase: bool, n: u32) -> Result<u32, Rejection> {
    let new = if increase {
        current.checked_add(n)
    } else {
        current.checked_sub(n)
    };
    new.filter(|c| (1..=120).contains(c)).ok_or_else(|| {
        Rejection::new(
            retcode::INVALID_PARAMETER,
            format!(
                "the capacity would be {} {n} from {current}: it must stay from 1 to 120",
                if increase { "raised by" } else { "lowered by" }
            ),
        )
    })
}

pub(crate) fn decide(p: &Platform, input: &Input) -> Result<Value, Rejection> {
    let (id, agent) = p.caller(input)?;
    let (increase, n) = parse(&input.body)?;
    let conf = p.chaired_conference(id, agent)?;
    let new = new_capacity(conf.capacity, increase, n)?;
    if new < conf.occupancy() {
        return Err(platform_refuses(format!(
            "the capacity cannot go below the {} members joined or invited",
            conf.occupancy()
        )));
    }
    Ok(json!({}))
}

pub(crate) fn apply(p: &mut Platform, id: AgentId, body: &Value) {
    let Ok((increase, n)) = parse(body) else {
        return;
    };
    let Some(conf_id) = p.agent(id).and_then(|a| a.conf) else {
        return;
    };
    if let Some(conf) = p.conf_mut(conf_id)
        && let Ok(new) = new_capacity(conf.capacity, increase, n)
    {
        conf.capacity = new;
    }
}
