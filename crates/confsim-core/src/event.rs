//! Platform events: what a polling client receives as `{eventType, workNo, content}`.
//!
//! Events are typed (`EventType` is a closed enum, `Content` a closed set of shapes) so the hot
//! path never builds a `serde_json::Value`; the JSON form is exactly the vendor's.

use crate::ids::{AgentId, ConfId};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::fmt;

macro_rules! event_types {
    ($($variant:ident => $name:literal,)*) => {
        /// The vendor's event names (agentgateway.md §6).
        #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum EventType { $($variant,)* }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            /// The name on the wire, such as `AgentConf_RequestSuccess`.
            pub const fn name(self) -> &'static str {
                match self { $(EventType::$variant => $name,)* }
            }

            pub fn from_name(name: &str) -> Option<EventType> {
                match name { $($name => Some(EventType::$variant),)* _ => None }
            }
        }
    };
}

event_types! {
    AgentStateBusy => "AgentState_Busy",
    AgentStateReady => "AgentState_Ready",
    AgentStateWork => "AgentState_Work",
    AgentStateSetNotReadySuccess => "AgentState_SetNotReady_Success",
    AgentStateCancelNotReadySuccess => "AgentState_CancelNotReady_Success",
    AgentStateCancelRestSuccess => "AgentState_CancelRest_Success",
    AgentStateCancelWorkSuccess => "AgentState_CancelWork_Success",
    AgentStateRestTimeout => "AgentState_Rest_Timeout",
    AgentStateSetRestSuccess => "AgentState_SetRest_Success",
    AgentOtherInService => "AgentOther_InService",
    AgentOtherShutdownService => "AgentOther_ShutdownService",
    AgentOtherPhoneAlerting => "AgentOther_PhoneAlerting",
    AgentOtherPhoneOffhook => "AgentOther_PhoneOffhook",
    AgentOtherPhoneRelease => "AgentOther_PhoneRelease",
    AgentOtherPhoneBusy => "AgentOther_PhoneBusy",
    AgentOtherPhoneUnknow => "AgentOther_PhoneUnknow",
    AgentMediaEventStopRecordDone => "AgentMediaEvent_StopRecordDone",
    AgentConfSelfJoinResult => "AgentConf_SelfJoinResult",
    AgentConfRequestSuccess => "AgentConf_RequestSuccess",
    AgentConfRequestFailed => "AgentConf_RequestFailed",
    AgentConfTimeout => "AgentConf_Timeout",
    AgentConfRinging => "AgentConf_Ringing",
    AgentConfParticipantChanged => "AgentConf_ParticipantChanged",
    AgentConfSelfLeaveResult => "AgentConf_SelfLeaveResult",
    AgentConfPresidentChanged => "AgentConf_PresidentChanged",
    AgentConfStopVoice => "AgentConf_StopVoice",
    AgentConfStopParticipantVoice => "AgentConf_StopParticipantVoice",
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// `AgentOther_PhoneOffhook`'s `type`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OffhookType {
    Main,
    Assistant,
    Unknown,
}

impl OffhookType {
    pub const fn name(self) -> &'static str {
        match self {
            OffhookType::Main => "main",
            OffhookType::Assistant => "assistant",
            OffhookType::Unknown => "unknown",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [
            OffhookType::Main,
            OffhookType::Assistant,
            OffhookType::Unknown,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }
}

/// `AgentOther_PhoneRelease`'s `phoneState`: who hung up.
pub mod phone_state {
    /// The agent hung up.
    pub const AGENT: u8 = 2;
    /// The platform hung up (conference released or ended).
    pub const PLATFORM: u8 = 3;
}

/// An event's `content`, in each shape the platform sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// `null`.
    Null,
    /// `{"confId": n}`.
    Conf(ConfId),
    /// `{"cause": n}`: why `AgentConf_RequestFailed`.
    Cause(u32),
    /// `{"phoneState": n}`.
    PhoneState(u8),
    /// `{"type": "main"}`.
    Offhook(OffhookType),
    /// `{"result": n}`: how an announcement ended (0 ok, 1 failed).
    Result(u8),
    /// `{"reason": "n"}`: why the agent is not ready (a string on the wire).
    Reason(u8),
    /// `AgentConf_ParticipantChanged`'s content.
    Participant(Box<ParticipantChange>),
}

/// `AgentConf_ParticipantChanged`'s `changeType` (agentgateway.md §6.2).
pub mod change_type {
    pub const JOINED: u8 = 0;
    pub const LEFT: u8 = 1;
    pub const CHAIR_CHANGED: u8 = 2;
    pub const MUTED: u8 = 3;
    pub const UNMUTED: u8 = 4;
    pub const HELD: u8 = 5;
    pub const UNHELD: u8 = 6;
}

/// `AgentConf_ParticipantChanged`'s `changeReason`, meaningful when `changeType` is 1.
pub mod change_reason {
    pub const VOLUNTARY: u8 = 0;
    pub const REMOVED_BY_CHAIR: u8 = 1;
    pub const HUNG_UP: u8 = 2;
    pub const CONFERENCE_ENDED: u8 = 3;
    pub const SIGNED_OUT: u8 = 4;
    pub const FORCED_OTHER: u8 = 6;
    /// Not applicable (the vendor's sample uses 255 when `changeType` is not 1).
    pub const NONE: u8 = 255;
}

/// A member's address type: `"6"` a phone number, `"9"` an agent id.
pub mod address_type {
    pub const PHONE: u8 = 6;
    pub const AGENT: u8 = 9;
}

/// What changed about which participant of which conference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantChange {
    /// 0 success, other values failure (an invitation that was not answered).
    pub result: u8,
    pub change_type: u8,
    pub change_reason: u8,
    pub conf: ConfId,
    /// The member: an agent id or a phone number.
    pub participant: String,
    /// 6 phone number, 9 agent.
    pub participant_type: u8,
    pub device_call_type: u8,
    pub device_type: u8,
}

impl Serialize for ParticipantChange {
    /// In the key order of the vendor's sample.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(8))?;
        map.serialize_entry("result", &self.result)?;
        map.serialize_entry("changeReason", &self.change_reason)?;
        map.serialize_entry("changeType", &self.change_type)?;
        map.serialize_entry("confId", &self.conf.0)?;
        map.serialize_entry("participant", &self.participant)?;
        map.serialize_entry("participantType", &self.participant_type)?;
        map.serialize_entry("deviceCallType", &self.device_call_type)?;
        map.serialize_entry("deviceType", &self.device_type)?;
        map.end()
    }
}

impl ParticipantChange {
    fn from_json(value: &serde_json::Value) -> Option<Self> {
        let map = value.as_object()?;
        if map.len() != 8 {
            return None;
        }
        let small = |key: &str| -> Option<u8> { u8::try_from(map.get(key)?.as_u64()?).ok() };
        Some(ParticipantChange {
            result: small("result")?,
            change_type: small("changeType")?,
            change_reason: small("changeReason")?,
            conf: ConfId(map.get("confId")?.as_u64()?),
            participant: map.get("participant")?.as_str()?.to_owned(),
            participant_type: small("participantType")?,
            device_call_type: small("deviceCallType")?,
            device_type: small("deviceType")?,
        })
    }
}

impl Content {
    /// The conference an event's content names, if it names one.
    pub fn conf_id(&self) -> Option<ConfId> {
        match self {
            Content::Conf(id) => Some(*id),
            Content::Participant(p) => Some(p.conf),
            _ => None,
        }
    }

    /// Reads content back from its JSON form, given the event type it belongs to. `None` when
    /// the shape is not one this platform sends for that type.
    pub fn from_json(ty: EventType, value: &serde_json::Value) -> Option<Content> {
        use serde_json::Value;
        let only = |key: &str| -> Option<&Value> {
            let map = value.as_object()?;
            (map.len() == 1).then(|| map.get(key)).flatten()
        };
        let content = match ty {
            EventType::AgentConfSelfJoinResult
            | EventType::AgentConfRequestSuccess
            | EventType::AgentConfTimeout
            | EventType::AgentConfRinging
            | EventType::AgentConfSelfLeaveResult
            | EventType::AgentConfPresidentChanged => {
                Content::Conf(ConfId(only("confId")?.as_u64()?))
            }
            EventType::AgentConfRequestFailed => {
                Content::Cause(u32::try_from(only("cause")?.as_u64()?).ok()?)
            }
            EventType::AgentOtherPhoneRelease => {
                Content::PhoneState(u8::try_from(only("phoneState")?.as_u64()?).ok()?)
            }
            EventType::AgentOtherPhoneOffhook => {
                Content::Offhook(OffhookType::from_name(only("type")?.as_str()?)?)
            }
            EventType::AgentConfStopVoice | EventType::AgentConfStopParticipantVoice => {
                Content::Result(u8::try_from(only("result")?.as_u64()?).ok()?)
            }
            EventType::AgentStateSetNotReadySuccess => {
                Content::Reason(only("reason")?.as_str()?.parse().ok()?)
            }
            EventType::AgentConfParticipantChanged => {
                Content::Participant(Box::new(ParticipantChange::from_json(value)?))
            }
            _ if value.is_null() => Content::Null,
            _ => return None,
        };
        Some(content)
    }
}

impl Serialize for Content {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Content::Null => return s.serialize_none(),
            Content::Participant(p) => return p.serialize(s),
            _ => {}
        }
        let mut map = s.serialize_map(Some(1))?;
        match self {
            Content::Null | Content::Participant(_) => {}
            Content::Conf(id) => map.serialize_entry("confId", &id.0)?,
            Content::Cause(c) => map.serialize_entry("cause", c)?,
            Content::PhoneState(p) => map.serialize_entry("phoneState", p)?,
            Content::Offhook(t) => map.serialize_entry("type", t.name())?,
            Content::Result(r) => map.serialize_entry("result", r)?,
            Content::Reason(r) => map.serialize_entry("reason", &r.to_string())?,
        }
        map.end()
    }
}

/// One platform event for one agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub ty: EventType,
    pub agent: AgentId,
    pub content: Content,
}

impl Event {
    pub fn new(ty: EventType, agent: AgentId, content: Content) -> Self {
        Event { ty, agent, content }
    }
}

/// The event as a polling client sees it: `{"eventType", "workNo", "content"}`.
impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("eventType", self.ty.name())?;
        map.serialize_entry("workNo", &self.agent.to_string())?;
        map.serialize_entry("content", &self.content)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for ty in EventType::ALL {
            assert_eq!(EventType::from_name(ty.name()), Some(*ty));
        }
        assert_eq!(EventType::from_name("AgentConf_Nope"), None);
    }

    #[test]
    fn content_has_the_vendor_shapes() {
        let cases = [
            (EventType::AgentStateBusy, Content::Null, "null"),
            (
                EventType::AgentConfRequestSuccess,
                Content::Conf(ConfId(1030400)),
                r#"{"confId":1030400}"#,
            ),
            (
                EventType::AgentConfRequestFailed,
                Content::Cause(21234),
                r#"{"cause":21234}"#,
            ),
            (
                EventType::AgentOtherPhoneRelease,
                Content::PhoneState(3),
                r#"{"phoneState":3}"#,
            ),
            (
                EventType::AgentOtherPhoneOffhook,
                Content::Offhook(OffhookType::Main),
                r#"{"type":"main"}"#,
            ),
        ];
        for (ty, content, json) in cases {
            assert_eq!(serde_json::to_string(&content).unwrap(), json);
            let value: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(Content::from_json(ty, &value), Some(content));
        }
    }

    #[test]
    fn content_of_the_wrong_shape_is_refused() {
        let v: serde_json::Value = serde_json::from_str(r#"{"confId":"x"}"#).unwrap();
        assert_eq!(Content::from_json(EventType::AgentConfTimeout, &v), None);
        let v: serde_json::Value = serde_json::from_str(r#"{"confId":1,"extra":2}"#).unwrap();
        assert_eq!(Content::from_json(EventType::AgentConfTimeout, &v), None);
        assert_eq!(
            Content::from_json(EventType::AgentStateReady, &serde_json::json!({})),
            None
        );
    }

    #[test]
    fn an_event_serializes_as_a_client_sees_it() {
        let e = Event::new(
            EventType::AgentConfRinging,
            AgentId(154),
            Content::Conf(ConfId(1031168)),
        );
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"eventType":"AgentConf_Ringing","workNo":"154","content":{"confId":1031168}}"#
        );
    }
}
