//! The announcement operations (A13-A16): `playVoiceToConf`, `stopVoiceToConf`,
//! `playVoiceToParticipant`, `stopVoiceToParticipant`.
//!
//! An announcement plays for `platform.announcementMs` and then ends by itself with
//! `AgentConf_StopVoice` (`AgentConf_StopParticipantVoice` for one channel) `{"result":0}` to
//! the chair. Stopping one ends it one latency draw later with the same event; stopping when
//! nothing plays is refused by the platform (`100-007`). Playing again restarts it.

use crate::body::Body;
use crate::ids::AgentId;
use crate::input::{Input, Op, Rejection, retcode};
use crate::ops::{joined, parse_address, platform_refuses};
use crate::state::{Address, Platform};
use crate::time::{SimDuration, SimTime};
use serde_json::{Value, json};

/// The participant the operation names, for the per-channel operations.
fn parse(p: &Platform, op: Op, body: &Value) -> Result<Option<Address>, Rejection> {
    let b = Body::new(body)?;
    let play = matches!(op, Op::PlayVoiceToConf | Op::PlayVoiceToParticipant);
    if play {
        if op == Op::PlayVoiceToConf {
            b.int("playType", 0, 1)?;
        }
        b.int("playMode", 2, 2)?;
        b.string_chars("voicePath", 127)?
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Rejection::new(retcode::INVALID_PARAMETER, "voicePath is mandatory"))?;
    }
    match op {
        Op::PlayVoiceToParticipant | Op::StopVoiceToParticipant => Ok(Some(parse_address(p, &b)?)),
        _ => Ok(None),
    }
}

pub(crate) fn decide(p: &Platform, input: &Input) -> Result<Value, Rejection> {
    let (id, agent) = p.caller(input)?;
    let address = parse(p, input.op, &input.body)?;
    let conf = p.chaired_conference(id, agent)?;
    let playing = match &address {
        Some(address) => joined(conf, address)?.voice_until.is_some(),
        None => conf.voice_until.is_some(),
    };
    if matches!(input.op, Op::StopVoiceToConf | Op::StopVoiceToParticipant) && !playing {
        return Err(platform_refuses("no announcement is playing"));
    }
    Ok(json!({}))
}

pub(crate) fn apply(p: &mut Platform, at: SimTime, id: AgentId, op: Op, body: &Value) {
    let Ok(address) = parse(p, op, body) else {
        return;
    };
    let Some(conf_id) = p.agent(id).and_then(|a| a.conf) else {
        return;
    };
    let until = if matches!(op, Op::PlayVoiceToConf | Op::PlayVoiceToParticipant) {
        at.saturating_add(SimDuration::from_millis(p.config().announcement_ms))
    } else {
        at.saturating_add(p.draw_latency(conf_id))
    };
    let Some(conf) = p.conf_mut(conf_id) else {
        return;
    };
    match address {
        None => conf.voice_until = Some(until),
        Some(address) => {
            if let Some(m) = conf.member_mut(&address) {
                m.voice_until = Some(until);
            }
        }
    }
}
