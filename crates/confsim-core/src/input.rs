//! Inputs (an agent's call to an interface, as the vendor's log names it) and the synchronous
//! response every input gets.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

macro_rules! ops {
    ($($variant:ident => $name:literal,)*) => {
        /// An operation, named by the vendor's "method name in logs" (agentgateway.md §3, §5).
        #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Op { $($variant,)* }

        impl Op {
            pub const ALL: &'static [Op] = &[$(Op::$variant,)*];

            pub const fn name(self) -> &'static str {
                match self { $(Op::$variant => $name,)* }
            }

            pub fn from_name(name: &str) -> Option<Op> {
                match name { $($name => Some(Op::$variant),)* _ => None }
            }
        }
    };
}

ops! {
    Login => "login",
    ForceLogin => "forceLogin",
    Logout => "logout",
    ForceLogout => "forceLogout",
    RequestAgentConf => "requestAgentConf",
    AnswerAgentConf => "answerAgentConf",
    RejectAgentConf => "rejectAgentConf",
    RequestLeaveAgentConf => "requestLeaveAgentConf",
    ReleaseAgentConf => "releaseAgentConf",
    HoldParticipant => "holdParticipant",
    UnholdParticipant => "unholdParticipant",
    ProlongTime => "prolongTime",
    ApplyToShiftPresident => "applyToShiftPresident",
    BatchAddParticipant => "batchAddParticipant",
    BatchRemoveParticipant => "batchRemoveParticipant",
    ChangeParticipantMode => "changeParticipantMode",
    PlayVoiceToConf => "playVoiceToConf",
    StopVoiceToConf => "stopVoiceToConf",
    PlayVoiceToParticipant => "playVoiceToParticipant",
    StopVoiceToParticipant => "stopVoiceToParticipant",
    ModifyConfResource => "modifyConfResource",
    QueryConfInfos => "queryConfInfos",
    QueryAllConfIds => "queryAllConfIds",
    SayBusy => "sayBusy",
    SayFree => "sayFree",
    Work => "work",
    CancelWork => "cancelWork",
    Rest => "rest",
    CancelRest => "cancelRest",
    ResetSkill => "resetSkill",
    QueryAgentSkills => "queryAgentSkills",
}

impl Op {
    /// Also accepts `queryVdnConfId`, the name the URI (`/queryvdnconfid`) suggests.
    pub fn from_name_or_alias(name: &str) -> Option<Op> {
        Op::from_name(name).or(match name {
            "queryVdnConfId" => Some(Op::QueryAllConfIds),
            _ => None,
        })
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Op {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Op::from_name_or_alias(&name).ok_or_else(|| {
            let known: Vec<&str> = Op::ALL.iter().map(|op| op.name()).collect();
            serde::de::Error::custom(format!(
                "unknown operation {name:?}; known operations: {}",
                known.join(", ")
            ))
        })
    }
}

/// The vendor's result codes used by this model (agentgateway.md §7).
pub mod retcode {
    pub const SUCCESS: &str = "0";
    /// Events asked for the way the session does not take them (a poll in push mode).
    pub const WRONG_EVENT_MODE: &str = "000-001";
    /// A sign-in parameter empty or invalid (the gateway: a push callback it may not call).
    pub const SIGN_IN_PARAMETER: &str = "100-001";
    pub const INVALID_PARAMETER: &str = "000-002";
    pub const NOT_SIGNED_IN: &str = "100-006";
    pub const OPERATION_EXCEPTION: &str = "100-007";
    pub const NO_CONFERENCE: &str = "101-001";
    pub const NOT_CHAIR: &str = "101-002";
    pub const ALREADY_IN_CONFERENCE: &str = "101-003";
    pub const NOT_INSPECTOR: &str = "101-004";
    pub const CHAIR_TO_SELF: &str = "101-005";
    pub const CHAIR_REMOVES_SELF: &str = "101-006";
    pub const CHAIR_LEAVES: &str = "101-007";
    pub const REPEATED: &str = "000-007";
    pub const ALREADY_SIGNED_IN: &str = "100-002";
    pub const WRONG_PASSWORD: &str = "100-004";
    pub const SET_STATE: &str = "100-009";
    pub const SIGN_OUT_STATE: &str = "100-010";
    pub const WRONG_AGENT_TYPE: &str = "100-012";
    pub const INVALID_IP: &str = "100-016";
}

/// An input's `{agentid}` as sent: a string that keeps up to 23 bytes in place (agent ids are
/// a few digits) and longer ones behind a shared allocation; cloning never copies a long one.
pub type AgentText = smol_str::SmolStr;

/// One call to an interface: the operation, the `{agentid}` of the path exactly as sent (it may
/// not even be a number), and the JSON body (`Value::Null` when there is none).
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    pub op: Op,
    /// Inline up to 23 bytes (`AgentText`): every input carries its agent's id, and a fresh
    /// string per input was an allocation and a free per input; one shared through a
    /// reference count was two atomic operations per input on a cache line of its own (a
    /// twentieth of the engine thread's time in the closed-loop day, `perf`).
    pub agent: AgentText,
    /// Shared, not owned: a load generator sends the same literal body thousands of times, and
    /// a deep copy of a JSON object per input (a hash index, entries, every key) was a
    /// measurable share of a run. Nothing changes a body once it is an input.
    pub body: Arc<Value>,
}

impl Input {
    pub fn new(op: Op, agent: impl Into<AgentText>, body: impl Into<Arc<Value>>) -> Self {
        Input {
            op,
            agent: agent.into(),
            body: body.into(),
        }
    }
}

/// The synchronous answer: `{"retcode", "message", "result"}`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    // `Cow`: almost every response is a success or a rejection with a fixed code, and an
    // allocation per response for text known at compile time was a visible share of a run.
    pub retcode: Cow<'static, str>,
    pub message: Cow<'static, str>,
    pub result: Value,
}

impl Response {
    pub fn success(result: Value) -> Self {
        Response {
            retcode: Cow::Borrowed(retcode::SUCCESS),
            message: Cow::Borrowed("success"),
            result,
        }
    }

    pub fn is_success(&self) -> bool {
        self.retcode == retcode::SUCCESS
    }
}

/// A result with content: queries' answers, out of the hot path.
#[cold]
#[inline(never)]
fn clone_value(value: &Value) -> Value {
    value.clone()
}

/// Written out for the common answers: the engine clones every response (one copy journaled,
/// one returned), nearly all are a fixed code with an empty `result` object, and the generic
/// clone of a `Value` (an ordered map's clone, even of an empty one) was a visible share of
/// an input's cost, in instruction-cache misses more than in instructions.
impl Clone for Response {
    fn clone(&self) -> Self {
        let result = match &self.result {
            Value::Object(map) if map.is_empty() => Value::Object(serde_json::Map::new()),
            Value::Null => Value::Null,
            other => clone_value(other),
        };
        Response {
            retcode: self.retcode.clone(),
            message: self.message.clone(),
            result,
        }
    }
}

/// Why an input was refused: a vendor result code and a message saying what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub retcode: &'static str,
    pub message: String,
}

impl Rejection {
    /// Cold: a refusal is the exception on every path that checks an input, and so marked its
    /// message formatting is laid out away from the checks that pass, which keeps the code an
    /// accepted input runs through short (instruction-cache misses were a large share of an
    /// input's cost).
    #[cold]
    pub fn new(retcode: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            retcode,
            message: message.into(),
        }
    }
}

impl From<Rejection> for Response {
    fn from(r: Rejection) -> Self {
        Response {
            retcode: Cow::Borrowed(r.retcode),
            message: Cow::Owned(r.message),
            result: Value::Object(Default::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every agent id in decimal is kept in place: an input's id costs no allocation and no
    /// shared count (see `Input::agent`). Longer text (the gateway takes any path id) is kept
    /// too, behind an allocation.
    #[test]
    fn agent_ids_are_kept_inline() {
        for id in ["0", "101", "4294967295", "a path id of 23 bytes.."] {
            let text = AgentText::new(id);
            assert!(!text.is_heap_allocated(), "{id}");
            assert_eq!(text, id);
        }
        let long = AgentText::new("a path id of twenty-four");
        assert!(long.is_heap_allocated());
        assert_eq!(long.clone(), "a path id of twenty-four");
        let input = Input::new(Op::Logout, String::from("101"), Value::Null);
        assert_eq!(&*input.agent, "101");
    }

    #[test]
    fn op_names_round_trip_and_unknown_names_are_listed() {
        for op in Op::ALL {
            assert_eq!(Op::from_name(op.name()), Some(*op));
        }
        let err = serde_json::from_str::<Op>("\"requestAgentConference\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown operation") && err.contains("requestAgentConf"),
            "{err}"
        );
    }

    #[test]
    fn a_cloned_response_is_equal_whatever_its_result() {
        let rejection: Response =
            Rejection::new(retcode::NOT_SIGNED_IN, "agent 7 is not signed in").into();
        for response in [
            Response::success(serde_json::json!({})),
            Response::success(Value::Null),
            Response::success(serde_json::json!({ "confId": 1030400, "list": [1, "x"] })),
            Response::success(serde_json::json!([])),
            rejection,
        ] {
            let copy = response.clone();
            assert_eq!(copy, response);
            assert_eq!(
                serde_json::to_string(&copy).ok(),
                serde_json::to_string(&response).ok()
            );
        }
    }

    #[test]
    fn responses_serialize_in_the_journal_order() {
        let r = Response::success(serde_json::json!({}));
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"retcode":"0","message":"success","result":{}}"#
        );
    }
}
