//! The agent state calls (`POST /onlineagent/{agentid}/…`): `sayBusy`, `sayFree`, `work`,
//! `cancelWork`, `rest` and `cancelRest`, plus `resetSkill` and `queryAgentSkills`, which
//! change no state.
//!
//! A state call is decided against the agent's state now: signed in (`100-006`), its body
//! (`000-002`), no sign-in, sign-out or state call whose events are still due (`000-007`),
//! then the state rule (`100-009`, the vendor's set-state error): no call changes the state of
//! an agent that is talking or in, invited to or applying for a conference, and `cancelWork`
//! and `cancelRest` need the state they cancel. The new state holds from the answer, as a
//! sign-in's does; one latency draw later come the events: the exit event of the state left
//! (`AgentState_CancelNotReady_Success`, `AgentState_CancelWork_Success`,
//! `AgentState_CancelRest_Success`), then the entry event of the state entered
//! (`AgentState_SetNotReady_Success`, `AgentState_Ready`, `AgentState_Work`,
//! `AgentState_SetRest_Success`). Asking for the state the agent is in is accepted and
//! announces it again (the vendor documents a second busy or rest with a new reason). A rest's
//! time runs from its `AgentState_SetRest_Success`; when it is up the agent gets
//! `AgentState_Rest_Timeout` and stays resting (the vendor's reminder does not end the rest).

use crate::body::Body;
use crate::ids::AgentId;
use crate::input::{Input, Op, Rejection, retcode};
use crate::state::{AgentPending, AgentPendingKind, AgentState, Platform, RestTimer};
use crate::time::{SimDuration, SimTime};
use serde_json::{Value, json};

/// The longest rest, in seconds (the vendor's range is 1 to 86399).
const REST_MAX_S: i64 = 86_399;

/// What a state call asks for.
struct Change {
    to: AgentState,
    reason: u8,
    /// `rest`: its length.
    rest: Option<SimDuration>,
}

/// Reads a state call's body: `sayBusy` an optional `reason` (0, or 200 to 250, the vendor's
/// custom busy reasons), `rest` its `time` (seconds, 1 to 86399) and `reason` (0 to 255), the
/// others nothing (a body they do not need is ignored, if it is an object).
fn parse(op: Op, body: &Value) -> Result<Change, Rejection> {
    let b = Body::new(body)?;
    let change = |to| Change {
        to,
        reason: 0,
        rest: None,
    };
    Ok(match op {
        Op::SayBusy => {
            let reason = b.int("reason", 0, 250)?.unwrap_or(0);
            if reason != 0 && reason < 200 {
                return Err(Rejection::new(
                    retcode::INVALID_PARAMETER,
                    format!("reason must be 0 or an integer from 200 to 250, got {reason}"),
                ));
            }
            Change {
                reason: reason as u8,
                ..change(AgentState::Busy)
            }
        }
        Op::Rest => {
            let time = b.required_int("time", 1, REST_MAX_S)?;
            b.required_int("reason", 0, 255)?;
            Change {
                rest: Some(SimDuration::from_secs(time as u64)),
                ..change(AgentState::Rest)
            }
        }
        Op::Work => change(AgentState::Work),
        // `sayFree`, `cancelWork`, `cancelRest`: the agent becomes idle.
        _ => change(AgentState::Idle),
    })
}

/// The state a cancel needs, and what the vendor calls it.
fn cancels(op: Op) -> Option<(AgentState, &'static str)> {
    match op {
        Op::CancelWork => Some((AgentState::Work, "in wrap-up (work)")),
        Op::CancelRest => Some((AgentState::Rest, "resting")),
        _ => None,
    }
}

fn state_error(message: String) -> Rejection {
    Rejection::new(retcode::SET_STATE, message)
}

pub(crate) fn decide(p: &Platform, input: &Input) -> Result<Value, Rejection> {
    let (id, agent) = p.caller(input)?;
    parse(input.op, &input.body)?;
    if agent.pending.is_some() {
        return Err(Rejection::new(
            retcode::REPEATED,
            format!("agent {id}'s previous sign-in, sign-out or state change is still in progress"),
        ));
    }
    if agent.conf.is_some() || agent.state == AgentState::Talking {
        return Err(state_error(format!(
            "agent {id} is talking or in a conference: its state cannot be set now"
        )));
    }
    if let Some((needed, name)) = cancels(input.op)
        && agent.state != needed
    {
        return Err(state_error(format!("agent {id} is not {name}")));
    }
    Ok(json!({}))
}

pub(crate) fn apply(p: &mut Platform, at: SimTime, id: AgentId, op: Op, body: &Value) {
    let Ok(change) = parse(op, body) else { return };
    let (delay, nonce) = p.draw_agent_latency(id);
    let due = at.saturating_add(delay);
    let agent = p.agent_entry(id);
    let from = agent.state;
    agent.state = change.to;
    // A rest's time runs from the event that says it began; any other state ends the rest.
    agent.rest = change.rest.map(|length| RestTimer {
        due: due.saturating_add(length),
        nonce,
    });
    agent.pending = Some(AgentPending {
        due,
        kind: AgentPendingKind::StateChanged {
            from,
            to: change.to,
            reason: change.reason,
        },
        nonce,
    });
}

/// `resetSkill` (`POST /onlineagent/{agentid}/resetskill/{autoflag}`): `auto` says whether the
/// agent signs in to every skill queue configured for it. The platform models no skill
/// queues, so a signed-in agent's call is accepted and changes nothing.
pub(crate) fn decide_reset_skill(p: &Platform, input: &Input) -> Result<Value, Rejection> {
    p.caller(input)?;
    Body::new(&input.body)?.lenient_bool("auto")?;
    Ok(json!({}))
}

/// `queryAgentSkills` (`GET /onlineagent/{agentid}/agentskills`): the skill queues configured
/// for the agent, `[{name, id, mediatype}]`: none, on a platform that models none.
pub(crate) fn decide_query_skills(p: &Platform, input: &Input) -> Result<Value, Rejection> {
    p.caller(input)?;
    Ok(json!([]))
}

#[cfg(test)]
mod tests {
    //! Each transition and each refusal, on the platform alone: given an agent in a state,
    //! when a state call is decided and its record applied, then the answer, the state and
    //! the events its timer fires.

    use crate::config::{AgentGroup, LatencyConfig, PlatformConfig};
    use crate::event::{Content, Event, EventType};
    use crate::ids::{AgentId, AgentSet};
    use crate::input::{Input, Op, retcode};
    use crate::record::{InputRecord, Record};
    use crate::state::{AgentState, Platform, Timer, TimerOp};
    use crate::time::SimTime;
    use serde_json::{Value, json};

    const AGENT: AgentId = AgentId(101);

    fn platform(state: AgentState) -> Platform {
        let config = PlatformConfig {
            latency: LatencyConfig {
                min_ms: 40,
                max_ms: 40,
            },
            ..PlatformConfig::default()
        };
        let group = AgentGroup {
            state,
            ..AgentGroup::new(AgentSet::List(vec![AGENT.0]))
        };
        Platform::new(config, 1, &[group])
    }

    /// Decides and applies `op` at `at`; the retcode and the timers it scheduled.
    fn call(p: &mut Platform, at: SimTime, op: Op, body: Value) -> (String, Vec<TimerOp>) {
        let input = Input::new(op, "101", body);
        let response = p.decide(&input, at);
        let retcode = response.retcode.to_string();
        let mut ops = Vec::new();
        p.apply(
            at,
            &Record::input(InputRecord::new(input, response)),
            &mut ops,
        );
        (retcode, ops)
    }

    /// Fires every timer scheduled in `ops`, in due order, applying each event; the events.
    fn fire(p: &mut Platform, ops: Vec<TimerOp>) -> Vec<(SimTime, Event)> {
        fire_until(p, ops, SimTime::from_unix_ms(i64::MAX))
    }

    /// The same for the timers due before `until`.
    fn fire_until(p: &mut Platform, ops: Vec<TimerOp>, until: SimTime) -> Vec<(SimTime, Event)> {
        let mut due: Vec<(SimTime, Timer)> = ops
            .into_iter()
            .filter_map(|op| match op {
                TimerOp::Schedule(at, timer) if at < until => Some((at, timer)),
                _ => None,
            })
            .collect();
        due.sort();
        let mut seen = Vec::new();
        for (at, timer) in due {
            let (mut events, mut more) = (Vec::new(), Vec::new());
            p.fire(timer, &mut events, &mut more);
            for e in events {
                p.apply(at, &Record::Event(e.clone()), &mut more);
                seen.push((at, e));
            }
        }
        seen
    }

    fn types(events: &[(SimTime, Event)]) -> Vec<&'static str> {
        events.iter().map(|(_, e)| e.ty.name()).collect()
    }

    fn state(p: &Platform) -> AgentState {
        p.agent(AGENT).unwrap().state
    }

    fn t0() -> SimTime {
        SimTime::from_unix_ms(1_767_603_600_000)
    }

    #[test]
    fn each_call_moves_the_state_at_once_and_announces_it_a_latency_later() {
        use AgentState::*;
        let cases: &[(AgentState, Op, Value, AgentState, &[&str])] = &[
            (
                Idle,
                Op::SayBusy,
                Value::Null,
                Busy,
                &["AgentState_SetNotReady_Success"],
            ),
            (
                Busy,
                Op::SayBusy,
                json!({"reason": 201}),
                Busy,
                &["AgentState_SetNotReady_Success"],
            ),
            (
                Work,
                Op::SayBusy,
                Value::Null,
                Busy,
                &[
                    "AgentState_CancelWork_Success",
                    "AgentState_SetNotReady_Success",
                ],
            ),
            (
                Busy,
                Op::SayFree,
                Value::Null,
                Idle,
                &["AgentState_CancelNotReady_Success", "AgentState_Ready"],
            ),
            (Idle, Op::SayFree, Value::Null, Idle, &["AgentState_Ready"]),
            (
                Rest,
                Op::SayFree,
                Value::Null,
                Idle,
                &["AgentState_CancelRest_Success", "AgentState_Ready"],
            ),
            (Idle, Op::Work, Value::Null, Work, &["AgentState_Work"]),
            (
                Busy,
                Op::Work,
                Value::Null,
                Work,
                &["AgentState_CancelNotReady_Success", "AgentState_Work"],
            ),
            (
                Work,
                Op::CancelWork,
                Value::Null,
                Idle,
                &["AgentState_CancelWork_Success", "AgentState_Ready"],
            ),
            (
                Idle,
                Op::Rest,
                json!({"time": 60, "reason": 3}),
                Rest,
                &["AgentState_SetRest_Success"],
            ),
            (
                Busy,
                Op::Rest,
                json!({"time": 60, "reason": 0}),
                Rest,
                &[
                    "AgentState_CancelNotReady_Success",
                    "AgentState_SetRest_Success",
                ],
            ),
            (
                Rest,
                Op::CancelRest,
                Value::Null,
                Idle,
                &["AgentState_CancelRest_Success", "AgentState_Ready"],
            ),
        ];
        for (from, op, body, to, expected) in cases {
            let mut p = platform(*from);
            let (code, ops) = call(&mut p, t0(), *op, body.clone());
            assert_eq!(code, "0", "{from:?} {op}");
            assert_eq!(
                state(&p),
                *to,
                "{from:?} {op}: the state holds from the answer"
            );
            assert!(
                !p.is_free(AGENT),
                "{from:?} {op}: its events are still owed"
            );
            let events = fire(&mut p, ops);
            let batch: Vec<_> = events
                .iter()
                .filter(|(at, _)| {
                    *at == t0().saturating_add(crate::time::SimDuration::from_millis(40))
                })
                .cloned()
                .collect();
            assert_eq!(types(&batch), *expected, "{from:?} {op}");
            assert_eq!(state(&p), *to, "{from:?} {op}: the events agree");
            assert!(p.agent(AGENT).unwrap().pending.is_none());
        }
    }

    #[test]
    fn a_busy_reason_goes_in_the_event_as_a_string() {
        let mut p = platform(AgentState::Idle);
        let (_, ops) = call(&mut p, t0(), Op::SayBusy, json!({"reason": 250}));
        let events = fire(&mut p, ops);
        assert_eq!(events[0].1.content, Content::Reason(250));
        assert_eq!(
            serde_json::to_string(&events[0].1.content).unwrap(),
            r#"{"reason":"250"}"#
        );
    }

    #[test]
    fn a_rest_times_out_after_its_time_from_its_success_and_the_agent_stays_resting() {
        let mut p = platform(AgentState::Idle);
        let (_, ops) = call(&mut p, t0(), Op::Rest, json!({"time": 90, "reason": 1}));
        let events = fire(&mut p, ops);
        let ms = |e: &(SimTime, Event)| e.0.as_unix_ms() - t0().as_unix_ms();
        assert_eq!(
            events.iter().map(|e| (ms(e), e.1.ty)).collect::<Vec<_>>(),
            [
                (40, EventType::AgentStateSetRestSuccess),
                (90_040, EventType::AgentStateRestTimeout),
            ]
        );
        assert_eq!(state(&p), AgentState::Rest);
        assert!(p.agent(AGENT).unwrap().rest.is_none());
        assert!(p.pending_timers().is_empty());
    }

    #[test]
    fn leaving_rest_or_signing_out_cancels_its_timeout() {
        for (op, body) in [
            (Op::CancelRest, Value::Null),
            (Op::SayBusy, Value::Null),
            (Op::Work, Value::Null),
            (Op::Logout, Value::Null),
            (Op::ForceLogout, Value::Null),
        ] {
            let mut p = platform(AgentState::Idle);
            let (_, ops) = call(&mut p, t0(), Op::Rest, json!({"time": 60, "reason": 1}));
            let later = t0().saturating_add(crate::time::SimDuration::from_millis(1_000));
            fire_until(&mut p, ops, later);
            let (code, ops) = call(&mut p, later, op, body);
            assert_eq!(code, "0", "{op}");
            let rest_end = ops
                .iter()
                .any(|o| matches!(o, TimerOp::Cancel(Timer::Rest(..))));
            assert!(rest_end, "{op} cancels the rest's end: {ops:?}");
            let events = fire(&mut p, ops);
            assert!(
                !types(&events).contains(&"AgentState_Rest_Timeout"),
                "{op}: {events:?}"
            );
        }
    }

    #[test]
    fn resting_again_restarts_the_rest() {
        let mut p = platform(AgentState::Idle);
        let (_, ops) = call(&mut p, t0(), Op::Rest, json!({"time": 60, "reason": 1}));
        let later = t0().saturating_add(crate::time::SimDuration::from_millis(30_000));
        fire_until(&mut p, ops, later);
        let (code, ops) = call(&mut p, later, Op::Rest, json!({"time": 60, "reason": 2}));
        assert_eq!(code, "0");
        let events = fire(&mut p, ops);
        let timeout = events
            .iter()
            .find(|(_, e)| e.ty == EventType::AgentStateRestTimeout)
            .expect("a timeout");
        assert_eq!(
            timeout.0.as_unix_ms() - t0().as_unix_ms(),
            30_000 + 40 + 60_000
        );
        assert_eq!(types(&events)[0], "AgentState_SetRest_Success");
    }

    #[test]
    fn calls_refused_for_the_state_are_the_set_state_error() {
        use AgentState::*;
        for (from, op) in [
            (Idle, Op::CancelWork),
            (Busy, Op::CancelWork),
            (Rest, Op::CancelWork),
            (Idle, Op::CancelRest),
            (Work, Op::CancelRest),
            (Talking, Op::SayBusy),
            (Talking, Op::SayFree),
            (Talking, Op::Work),
            (Talking, Op::Rest),
        ] {
            let mut p = platform(from);
            let body = json!({"time": 60, "reason": 0});
            let (code, ops) = call(&mut p, t0(), op, body);
            assert_eq!(code, retcode::SET_STATE, "{from:?} {op}");
            assert!(ops.is_empty(), "{from:?} {op}: nothing changes");
            assert_eq!(state(&p), from);
        }
    }

    #[test]
    fn bodies_out_of_range_are_invalid_parameters() {
        for (op, body) in [
            (Op::Rest, json!({"time": 0, "reason": 0})),
            (Op::Rest, json!({"time": 86_400, "reason": 0})),
            (Op::Rest, json!({"time": 60, "reason": 256})),
            (Op::Rest, json!({"time": "60", "reason": 1})),
            (Op::Rest, json!({"reason": 1})),
            (Op::Rest, json!({"time": 60})),
            (Op::SayBusy, json!({"reason": 1})),
            (Op::SayBusy, json!({"reason": 251})),
            (Op::SayFree, json!("text")),
            (Op::ResetSkill, json!({"auto": 3})),
        ] {
            let mut p = platform(AgentState::Idle);
            let (code, _) = call(&mut p, t0(), op, body.clone());
            assert_eq!(code, retcode::INVALID_PARAMETER, "{op} {body}");
            assert_eq!(state(&p), AgentState::Idle);
        }
    }

    #[test]
    fn a_call_while_events_are_owed_is_repeated_and_signed_out_agents_are_not_signed_in() {
        let mut p = platform(AgentState::Idle);
        let (_, ops) = call(&mut p, t0(), Op::SayBusy, Value::Null);
        for op in [Op::SayFree, Op::Work, Op::Logout, Op::Login] {
            let body = json!({"password": ""});
            assert_eq!(call(&mut p, t0(), op, body).0, retcode::REPEATED, "{op}");
        }
        fire(&mut p, ops);
        assert_eq!(call(&mut p, t0(), Op::SayFree, Value::Null).0, "0");
        let mut out = platform(AgentState::Idle);
        call(&mut out, t0(), Op::Logout, Value::Null);
        for op in [Op::SayBusy, Op::ResetSkill, Op::QueryAgentSkills] {
            assert_eq!(
                call(&mut out, t0(), op, Value::Null).0,
                retcode::NOT_SIGNED_IN
            );
        }
    }

    #[test]
    fn reset_skill_and_the_skills_query_change_nothing() {
        let mut p = platform(AgentState::Busy);
        let before = p.clone();
        for (op, body) in [
            (Op::ResetSkill, json!({"auto": true})),
            (Op::ResetSkill, json!({"auto": "false"})),
            (Op::ResetSkill, Value::Null),
            (Op::QueryAgentSkills, Value::Null),
        ] {
            let input = Input::new(op, "101", body);
            let response = p.decide(&input, t0());
            assert!(response.is_success(), "{op}: {response:?}");
            let (code, ops) = call(&mut p, t0(), op, input.body.as_ref().clone());
            assert_eq!((code.as_str(), ops.len()), ("0", 0));
        }
        assert_eq!(p, before);
        let input = Input::new(Op::QueryAgentSkills, "101", Value::Null);
        assert_eq!(p.decide(&input, t0()).result, json!([]));
    }
}
