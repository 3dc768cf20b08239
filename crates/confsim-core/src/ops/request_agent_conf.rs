//! `requestAgentConf` (A1, `POST /agentconf/{agentid}/requestagentconf`): apply for a conference.
//!
//! Synchronous checks, in product.md §7.1's order: the path id (`000-002`), signed in
//! (`100-006`), the body (`000-002`), not already in or applying for a conference (`101-003`).
//! Everything else the platform decides asynchronously (see `Platform::fire`).

use crate::body::Body;
use crate::config::PlatformConfig;
use crate::ids::AgentId;
use crate::input::{Input, Rejection, retcode};
use crate::state::{AgentState, ApplyStep, ConfParams, Conference, Phase, Platform};
use crate::time::SimTime;
use serde_json::{Value, json};
use std::sync::Arc;

/// `time`: 4-1440 minutes, default 60.
pub const TIME_MIN: i64 = 4;
pub const TIME_MAX: i64 = 1440;
pub const TIME_DEFAULT: i64 = 60;
/// `promptTime`: 3-1440 minutes, default 3, clamped to `time - 1`.
pub const PROMPT_MIN: i64 = 3;
pub const PROMPT_MAX: i64 = 1440;
pub const PROMPT_DEFAULT: i64 = 3;
/// `memberNum`: 1-120, mandatory.
pub const MEMBERS_MIN: i64 = 1;
pub const MEMBERS_MAX: i64 = 120;
/// `confCallerNo`: at most 24 bytes.
pub const CALLER_NO_MAX_BYTES: usize = 24;
/// `voicePath`: at most 127 characters.
pub const VOICE_PATH_MAX_CHARS: usize = 127;
/// `playMode`: 2 (play a specified file) is the only value.
pub const PLAY_MODE: i64 = 2;

/// Validates a body (agentgateway.md §5.1) and fills the defaults.
///
/// Choices where the page is silent: an empty `confCallerNo` means "not set" (the VDN's system
/// caller number is used); `voicePath` is type- and length-checked even when `beepTone` is false
/// (the page calls it "invalid", i.e. ignored, then, but a value that could never be valid is
/// still a malformed request); `playMode` other than 2 is refused whatever `beepTone` is.
pub fn parse_body(body: &Value, config: &PlatformConfig) -> Result<ConfParams, Rejection> {
    Ok(check_body(body)?.into_params(config))
}

/// A valid body, borrowed: what `decide` checks without copying any of it.
struct Checked<'a> {
    member_num: i64,
    caller_no: Option<&'a str>,
    time: i64,
    prompt: i64,
    beep_tone: bool,
    voice_path: Option<&'a str>,
}

impl Checked<'_> {
    fn into_params(self, config: &PlatformConfig) -> ConfParams {
        // Every value is range-checked, so these conversions cannot truncate.
        let clamp = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
        ConfParams {
            member_num: clamp(self.member_num),
            caller_no: self
                .caller_no
                .unwrap_or(&config.vdn.system_caller_no)
                .into(),
            time_min: clamp(self.time),
            prompt_min: clamp(self.prompt.min(self.time - 1)),
            beep_tone: self.beep_tone,
            voice_path: if self.beep_tone {
                self.voice_path.map(str::to_owned)
            } else {
                None
            },
        }
    }
}

fn check_body(body: &Value) -> Result<Checked<'_>, Rejection> {
    let body = Body::new(body)?;
    let member_num = body.required_int("memberNum", MEMBERS_MIN, MEMBERS_MAX)?;
    let caller_no = body
        .string_bytes("confCallerNo", CALLER_NO_MAX_BYTES)?
        .filter(|s| !s.is_empty());
    let time = body
        .int("time", TIME_MIN, TIME_MAX)?
        .unwrap_or(TIME_DEFAULT);
    let prompt = body
        .int("promptTime", PROMPT_MIN, PROMPT_MAX)?
        .unwrap_or(PROMPT_DEFAULT);
    let beep_tone = body.bool("beepTone")?.unwrap_or(false);
    body.int("playMode", PLAY_MODE, PLAY_MODE)?;
    let voice_path = body
        .string_chars("voicePath", VOICE_PATH_MAX_CHARS)?
        .filter(|s| !s.is_empty());
    if beep_tone && voice_path.is_none() {
        return Err(Rejection::new(
            retcode::INVALID_PARAMETER,
            "voicePath is mandatory when beepTone is true",
        ));
    }
    Ok(Checked {
        member_num,
        caller_no,
        time,
        prompt,
        beep_tone,
        voice_path,
    })
}

pub(crate) fn decide(platform: &Platform, input: &Input) -> Result<Value, Rejection> {
    let (id, agent) = platform.caller(input)?;
    if platform.memo_params(&input.body).is_none() {
        check_body(&input.body)?;
    }
    if let Some(conf) = agent.conf {
        return Err(Rejection::new(
            retcode::ALREADY_IN_CONFERENCE,
            format!("agent {id} is already in or applying for conference {conf}"),
        ));
    }
    Ok(json!({}))
}

/// The application is accepted: the conference exists from now on, applying, and the first
/// asynchronous step is one latency draw away.
pub(crate) fn apply(platform: &mut Platform, at: SimTime, id: AgentId, body: &Arc<Value>) {
    let params = match platform.memo_params(body) {
        Some(params) => params.clone(),
        None => {
            let Ok(params) = parse_body(body, platform.config()) else {
                return;
            };
            platform.keep_params(body, params.clone());
            params
        }
    };
    let Some(agent) = platform.agent(id) else {
        return;
    };
    let from_call = (agent.state == AgentState::Talking)
        .then(|| agent.peer.clone())
        .flatten();
    let first = ApplyStep::first(from_call.is_some());
    let conf_id = platform.next_conf_id();
    // Room for the chair and a few members at once: the first join would otherwise grow the
    // vector from nothing (a reallocation path, dearer than one allocation).
    let members = Vec::with_capacity(params.member_num.clamp(1, 4) as usize);
    platform.insert_conference(Conference {
        id: conf_id,
        chair: id,
        capacity: params.member_num,
        params,
        from_call,
        members,
        phase: Phase::Applying {
            next: first,
            due: at,
        },
        requested_at: at,
        draws_used: 0,
        voice_until: None,
        pending: Vec::new(),
        next_no: 0,
    });
    let delay = platform.draw_latency(conf_id);
    if let Some(conf) = platform.conf_mut(conf_id) {
        conf.phase = Phase::Applying {
            next: first,
            due: at.saturating_add(delay),
        };
    }
}
