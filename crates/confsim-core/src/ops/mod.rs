//! One module per vendor operation (or per pair that mirror each other), as mini-redis has one
//! per command: each holds the operation's body validation, its `decide` (the rules) and the
//! `apply` of its accepted input. This module dispatches and holds what they share.

pub(crate) mod agent_state;
pub(crate) mod apply_to_shift_president;
pub(crate) mod batch_add_participant;
pub(crate) mod batch_remove_participant;
pub(crate) mod change_participant_mode;
pub(crate) mod hold_participant;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod member_answer;
pub(crate) mod modify_conf_resource;
pub(crate) mod prolong_time;
pub(crate) mod query;
pub(crate) mod release_agent_conf;
pub(crate) mod request_agent_conf;
pub(crate) mod request_leave_agent_conf;
pub(crate) mod voice;

pub use request_agent_conf::parse_body as parse_request_agent_conf;

use crate::body::Body;
use crate::ids::AgentId;
use crate::input::{Input, Op, Rejection, retcode};
use crate::record::InputRecord;
use crate::state::{Address, Conference, Member, Platform};
use crate::time::SimTime;
use serde_json::Value;

pub(crate) fn decide(p: &Platform, input: &Input, now: SimTime) -> Result<Value, Rejection> {
    match input.op {
        Op::Login | Op::ForceLogin => login::decide(p, input, now),
        Op::Logout => logout::decide_logout(p, input),
        Op::ForceLogout => logout::decide_force_logout(p, input),
        Op::RequestAgentConf => request_agent_conf::decide(p, input),
        Op::AnswerAgentConf | Op::RejectAgentConf => member_answer::decide(p, input),
        Op::RequestLeaveAgentConf => request_leave_agent_conf::decide(p, input),
        Op::ReleaseAgentConf => release_agent_conf::decide(p, input),
        Op::HoldParticipant | Op::UnholdParticipant => hold_participant::decide(p, input),
        Op::ProlongTime => prolong_time::decide(p, input),
        Op::ApplyToShiftPresident => apply_to_shift_president::decide(p, input),
        Op::BatchAddParticipant => batch_add_participant::decide(p, input),
        Op::BatchRemoveParticipant => batch_remove_participant::decide(p, input),
        Op::ChangeParticipantMode => change_participant_mode::decide(p, input),
        Op::PlayVoiceToConf
        | Op::StopVoiceToConf
        | Op::PlayVoiceToParticipant
        | Op::StopVoiceToParticipant => voice::decide(p, input),
        Op::ModifyConfResource => modify_conf_resource::decide(p, input),
        Op::QueryConfInfos => query::decide_infos(p, input, now),
        Op::QueryAllConfIds => query::decide_all_ids(p, input),
        Op::SayBusy | Op::SayFree | Op::Work | Op::CancelWork | Op::Rest | Op::CancelRest => {
            agent_state::decide(p, input)
        }
        Op::ResetSkill => agent_state::decide_reset_skill(p, input),
        Op::QueryAgentSkills => agent_state::decide_query_skills(p, input),
    }
}

/// Applies an accepted input of agent `id`.
pub(crate) fn apply(p: &mut Platform, at: SimTime, id: AgentId, input: &InputRecord) {
    let body = &input.body;
    match input.op {
        Op::Login | Op::ForceLogin => login::apply(p, at, id, input.op, body),
        Op::Logout => logout::apply_logout(p, id),
        Op::ForceLogout => logout::apply_force_logout(p, at, id),
        Op::RequestAgentConf => request_agent_conf::apply(p, at, id, body),
        Op::AnswerAgentConf | Op::RejectAgentConf => member_answer::apply(p, at, id, input.op),
        Op::RequestLeaveAgentConf => request_leave_agent_conf::apply(p, at, id),
        Op::ReleaseAgentConf => release_agent_conf::apply(p, at, id),
        Op::HoldParticipant | Op::UnholdParticipant => {
            hold_participant::apply(p, at, id, input.op, body)
        }
        Op::ProlongTime => prolong_time::apply(p, at, id, &input.response.result),
        Op::ApplyToShiftPresident => apply_to_shift_president::apply(p, at, id, body),
        Op::BatchAddParticipant => batch_add_participant::apply(p, at, id, body),
        Op::BatchRemoveParticipant => batch_remove_participant::apply(p, at, id, body),
        Op::ChangeParticipantMode => change_participant_mode::apply(p, at, id, body),
        Op::PlayVoiceToConf
        | Op::StopVoiceToConf
        | Op::PlayVoiceToParticipant
        | Op::StopVoiceToParticipant => voice::apply(p, at, id, input.op, body),
        Op::ModifyConfResource => modify_conf_resource::apply(p, id, body),
        Op::SayBusy | Op::SayFree | Op::Work | Op::CancelWork | Op::Rest | Op::CancelRest => {
            agent_state::apply(p, at, id, input.op, body)
        }
        Op::QueryConfInfos | Op::QueryAllConfIds | Op::ResetSkill | Op::QueryAgentSkills => {}
    }
}

/// `addressType` (`"6"` phone, `"9"` agent, as strings) and `address` (at most 24 bytes): a
/// participant. An agent address must be an agent id in the platform's range.
pub(crate) fn parse_address(p: &Platform, body: &Body<'_>) -> Result<Address, Rejection> {
    let kind = body.required_string("addressType", 1)?;
    let address = body.required_string("address", 24)?;
    address_of(p, kind, address, "")
}

/// The same from one element of an `addresses` array (`at` names it in messages).
pub(crate) fn address_of(
    p: &Platform,
    kind: &str,
    address: &str,
    at: &str,
) -> Result<Address, Rejection> {
    match kind {
        "6" if !address.is_empty() => Ok(Address::Phone(address.to_owned())),
        "9" => p
            .config()
            .agent_id_range
            .parse_path_id(address)
            .map(Address::Agent)
            .ok_or_else(|| {
                Rejection::new(
                    retcode::INVALID_PARAMETER,
                    format!(
                        "{at}address {address:?} is not an agent id from {}",
                        p.config().agent_id_range
                    ),
                )
            }),
        "6" => Err(Rejection::new(
            retcode::INVALID_PARAMETER,
            format!("{at}address must not be empty"),
        )),
        other => Err(Rejection::new(
            retcode::INVALID_PARAMETER,
            format!(
                "{at}addressType must be \"6\" (phone number) or \"9\" (agent id), got {other:?}"
            ),
        )),
    }
}

/// One element of an `addresses` array (`batchAddParticipant`, `batchRemoveParticipant`):
/// an object with `addressType` and `address`. Returns the element's reader (for further
/// fields), its address, and the address as sent; messages name `addresses[i]`.
pub(crate) fn address_item<'v>(
    p: &Platform,
    item: &'v Value,
    i: usize,
) -> Result<(Body<'v>, Address, Value), Rejection> {
    let at = format!("addresses[{i}].");
    let prefixed = |r: Rejection| Rejection::new(r.retcode, format!("{at}{}", r.message));
    let e = match item {
        Value::Object(_) => Body::new(item)?,
        other => {
            return Err(Rejection::new(
                retcode::INVALID_PARAMETER,
                format!(
                    "addresses[{i}] must be an object with addressType and address, not {other}"
                ),
            ));
        }
    };
    let kind = e.required_string("addressType", 1).map_err(prefixed)?;
    let raw = e.required_string("address", 24).map_err(prefixed)?;
    let echo = serde_json::json!({ "addressType": kind, "address": raw });
    Ok((e, address_of(p, kind, raw, &at)?, echo))
}

/// The joined member at `address`, or `000-002` (the address names no participant).
pub(crate) fn joined<'c>(conf: &'c Conference, address: &Address) -> Result<&'c Member, Rejection> {
    conf.member_at(address)
        .filter(|m| m.is_joined())
        .ok_or_else(|| {
            Rejection::new(
                retcode::INVALID_PARAMETER,
                format!(
                    "{} is not a participant of conference {}",
                    address.wire().0,
                    conf.id
                ),
            )
        })
}

/// A refusal by the platform for the state of the call (the vendor answers these with a CTI
/// result code; this simulator's message says what was wrong).
pub(crate) fn platform_refuses(message: impl Into<String>) -> Rejection {
    Rejection::new(retcode::OPERATION_EXCEPTION, message)
}

/// Whether a notification about member `no` is already queued (a second answer, leave or
/// removal before the first is done is "interface invoked repeatedly").
pub(crate) fn busy_member(conf: &Conference, no: u32) -> Result<(), Rejection> {
    use crate::state::ConfOp;
    let pending = conf.pending.iter().any(|p| match &p.op {
        ConfOp::Answer { member } | ConfOp::Reject { member } | ConfOp::Leave { member } => {
            *member == no
        }
        ConfOp::Remove { members } => members.contains(&no),
        _ => false,
    });
    if pending {
        Err(Rejection::new(
            retcode::REPEATED,
            "the previous operation on this participant is still in progress",
        ))
    } else {
        Ok(())
    }
}
