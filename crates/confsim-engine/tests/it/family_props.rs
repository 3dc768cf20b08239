//! Property test over random sequences of every operation of the family and of the session
//! (valid and invalid bodies, sign-in and sign-out, time advances, a few agents, random
//! latency, phones that answer late or never, injected faults). Callers and participants are
//! picked by their role in the live state when an input is sent (a chair, a ringing invitee, a
//! member, a free agent...) or at random, and some inputs are followed by another (invitees
//! answering, a repeated call, an unhold after a hold), so that the runs reach the deep states
//! as well as the refusals (`the_generator_reaches_every_operation_and_event` checks that).
//!
//! After every input and every timer step:
//! - nothing panics;
//! - joined + calling + ringing members never exceed a conference's capacity;
//! - an active conference has exactly one chair, a joined agent member attached to it;
//! - no agent points at a conference that no longer exists, has ended, or does not list it; no
//!   agent is attached to two conferences (so every member of a released or ended conference
//!   has left);
//!
//! every `REBUILD_EVERY` inputs and at the end, rebuilding the state from the journal bytes
//! equals the live state and timer queue; and at the end of the run (everything drained): no
//! conference, no timer, every agent free; every event went to a signed-in agent except the
//! documented exceptions (below); every conference notification (`ParticipantChanged`,
//! `PresidentChanged`, `Timeout`) went to an agent joined to that conference, and nobody
//! joined two; and the same inputs twice give byte-identical journals.
//!
//! Events a signed-out agent may receive (docs/semantics.md "Events to signed-out agents"):
//! 1. `AgentOther_ShutdownService` (it is the news of the sign-out);
//! 2. the events of its own forced sign-out, in the batch that ends with that
//!    `AgentOther_ShutdownService`: its leg's `AgentOther_PhoneRelease` and
//!    `AgentConf_SelfLeaveResult`; a ringing invitee's `AgentOther_PhoneRelease` and
//!    `AgentState_Ready`; and, for a chair whose conference ends with its sign-out, the
//!    `AgentConf_ParticipantChanged` about the invitations and phones that leave before it;
//! 3. `AgentConf_RequestFailed {"cause": 21205}` of an application its sign-out made fail;
//! 4. between its `forceLogout` and that batch, the release of its leg or invitation by its
//!    conference's end (released or out of time), which comes first: `AgentOther_PhoneRelease
//!    {"phoneState":3}` and, for a joined leg, `AgentConf_SelfLeaveResult` (its batch then has
//!    only `AgentOther_ShutdownService`).
//!
//! Two properties run the same generator: `random_family_runs_keep_every_promise` is the
//! strict one (it runs, 64 fresh cases a run like the other; 60,000 cases passed after the
//! sign-out races it found were fixed, each with a deterministic test in `chair_ops.rs` or
//! `session.rs`; `PROPTEST_CASES` sets a longer hunt);
//! `random_family_runs_keep_the_promises_around_known_bugs` runs with a driver that steps
//! around the bugs listed on `Tolerance` (found before those fixes), so that a bug the strict
//! one finds does not hide everything else.

use crate::support::*;
use confsim_core::event::Content;
use confsim_core::state::{Address, ConfOp};
use confsim_core::{
    AgentGroup, AgentId, AgentState, ConfId, EventType, Op, PlatformConfig, Record, SimTime,
    TimerOp,
};
use confsim_engine::{Item, Scheduler};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The agents: 101-105 idle with a password, 106 an idle inspector, 107 signed out, 108 talking
/// in a stable call.
const AGENTS: [u32; 8] = [101, 102, 103, 104, 105, 106, 107, 108];

fn roster() -> Vec<AgentGroup> {
    let mut with_password = idle(&[101, 102, 103, 104, 105]);
    with_password.password = Some("pw".into());
    vec![
        with_password,
        inspector(&[106]),
        signed_out(&[107]),
        agents(&[108], AgentState::Talking),
    ]
}

/// Who calls: a fixed path (an agent of `AGENTS`, or index 8: a path that is no agent id), or
/// an agent chosen by its role in the live state when the input is sent (the k-th chair, ringing
/// invitee or joined non-chair member; a fixed agent when there is none), so that the random
/// sequences reach the deep states as well as the refusals.
#[derive(Clone, Debug)]
enum Who {
    Fixed(usize),
    Chair(usize),
    Ringing(usize),
    Member(usize),
    SignedOut(usize),
}

/// A participant named in a body: a fixed agent or phone, an invalid address, the k-th member
/// (in any status) or joined member other than the caller of the caller's conference, or the
/// k-th free agent (signed in, idle, in no conference).
#[derive(Clone, Debug)]
enum Target {
    Agent(u32),
    Phone(&'static str),
    Invalid(Value),
    Mine(usize),
    Joined(usize),
    JoinedAgent(usize),
    Held(usize),
    Playing(usize),
    Free(usize),
}

/// Where the targets go in the body.
#[derive(Clone, Debug)]
enum Fill {
    Nothing,
    Address(Target),
    Addresses(Vec<Target>),
    Dest(Target),
}

/// One generated input, and what follows it `delay` ms later (so that members join, and
/// repeated calls meet the first one's work in progress, often enough).
#[derive(Clone, Debug)]
struct Cmd {
    who: Who,
    op: Op,
    body: Value,
    fill: Fill,
    follow: Option<(i64, Follow)>,
}

#[derive(Copy, Clone, Debug)]
enum Follow {
    /// Each agent the input invited answers, one after the other.
    InviteesAnswer,
    /// Each agent the input invited rejects.
    InviteesReject,
    /// The same caller sends the same input again.
    Repeat,
    /// The same caller sends this operation with the same body (an unhold after a hold, a stop
    /// after a play).
    Then(Op),
}

fn then(op: Op) -> impl Strategy<Value = Option<(i64, Follow)>> {
    prop_oneof![
        1 => Just(None),
        1 => (0..20_000i64).prop_map(move |d| Some((d, Follow::Then(op)))),
    ]
}

fn repeat() -> impl Strategy<Value = Option<(i64, Follow)>> {
    prop_oneof![
        3 => Just(None),
        1 => (0..200i64).prop_map(|d| Some((d, Follow::Repeat))),
    ]
}

fn who(roles: Vec<u8>) -> impl Strategy<Value = Who> {
    (prop::sample::select(roles), 0..20usize).prop_map(|(role, k)| match role {
        1 => Who::Chair(k),
        2 => Who::Ringing(k),
        3 => Who::Member(k),
        4 => Who::SignedOut(k),
        _ => Who::Fixed(k),
    })
}

/// A participant: mostly members of the caller's conference or free agents, some fixed agents
/// and phones (5559 never answers), a few invalid addresses.
fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        2 => (0..6usize).prop_map(Target::Mine),
        6 => (0..6usize).prop_map(Target::Joined),
        4 => (0..6usize).prop_map(Target::Free),
        2 => prop::sample::select(AGENTS.to_vec()).prop_map(Target::Agent),
        3 => prop::sample::select(vec!["5551", "5552", "5559"]).prop_map(Target::Phone),
        1 => prop::sample::select(vec![
            json!({ "addressType": "7", "address": "1" }),
            json!({ "addressType": "9", "address": "99" }),
            json!({ "addressType": "6" }),
        ])
        .prop_map(Target::Invalid),
    ]
}

/// An invitee: mostly free agents and phones.
fn invitee() -> impl Strategy<Value = Target> {
    prop_oneof![
        16 => (0..6usize).prop_map(Target::Free),
        6 => prop::sample::select(vec!["5551", "5552", "5559"]).prop_map(Target::Phone),
        2 => prop::sample::select(AGENTS.to_vec()).prop_map(Target::Agent),
        1 => (0..6usize).prop_map(Target::Mine),
        1 => Just(Target::Invalid(json!({ "addressType": "9", "address": "99" }))),
    ]
}

fn address_of(p: &confsim_core::Platform, caller: Option<AgentId>, t: &Target) -> Value {
    let free = || -> Vec<u32> {
        AGENTS
            .iter()
            .copied()
            .filter(|a| p.is_free(AgentId(*a)))
            .collect()
    };
    match t {
        Target::Agent(a) => agent_addr(*a),
        Target::Phone(n) => phone_addr(n),
        Target::Invalid(v) => v.clone(),
        Target::Mine(k) => {
            let conf = caller
                .and_then(|c| p.agent(c))
                .and_then(|a| a.conf)
                .and_then(|c| p.conference(c));
            match conf {
                Some(c) if !c.members.is_empty() => {
                    let (address, kind) = c.members[k % c.members.len()].address.wire();
                    json!({ "addressType": kind.to_string(), "address": address })
                }
                _ => agent_addr(AGENTS[k % AGENTS.len()]),
            }
        }
        Target::Joined(k) | Target::JoinedAgent(k) | Target::Held(k) | Target::Playing(k) => {
            let conf = caller
                .and_then(|c| p.agent(c))
                .and_then(|a| a.conf)
                .and_then(|c| p.conference(c));
            let wanted = |m: &confsim_core::state::Member| match t {
                Target::Held(_) => m.held,
                Target::Playing(_) => m.voice_until.is_some(),
                Target::JoinedAgent(_) => m.address.agent().is_some_and(|a| Some(a) != caller),
                _ => m.address.agent() != caller,
            };
            let joined: Vec<&confsim_core::state::Member> = conf
                .map(|c| {
                    c.members
                        .iter()
                        .filter(|m| m.is_joined() && wanted(m))
                        .collect()
                })
                .unwrap_or_default();
            match joined.get(k % joined.len().max(1)) {
                Some(m) => {
                    let (address, kind) = m.address.wire();
                    json!({ "addressType": kind.to_string(), "address": address })
                }
                None => agent_addr(AGENTS[k % AGENTS.len()]),
            }
        }
        Target::Free(k) => {
            let free = free();
            agent_addr(if free.is_empty() {
                AGENTS[*k]
            } else {
                free[k % free.len()]
            })
        }
    }
}

/// The path and body of `cmd` against the live state.
fn resolve(sim: &Sim, cmd: &Cmd) -> (String, Value) {
    let p = sim.platform();
    let confs = p.conferences();
    let pick = |list: Vec<AgentId>, k: usize| list.get(k % list.len().max(1)).copied();
    let fixed = |k: usize| match k {
        8 => "abc".to_owned(),
        _ => AGENTS[k % AGENTS.len()].to_string(),
    };
    let chosen = match cmd.who {
        Who::Fixed(k) => return (fixed(k), fill(p, fixed(k).parse().ok().map(AgentId), cmd)),
        Who::Chair(k) => pick(confs.iter().map(|c| c.chair).collect(), k),
        Who::Ringing(k) => pick(
            confs
                .iter()
                .flat_map(|c| c.members.iter())
                .filter(|m| matches!(m.status, confsim_core::state::MemberStatus::Ringing { .. }))
                .filter_map(|m| m.address.agent())
                .collect(),
            k,
        ),
        Who::Member(k) => pick(
            confs
                .iter()
                .flat_map(|c| c.joined_agents().into_iter().filter(move |a| *a != c.chair))
                .collect(),
            k,
        ),
        Who::SignedOut(k) => pick(
            AGENTS
                .iter()
                .map(|a| AgentId(*a))
                .filter(|a| p.agent(*a).is_none_or(|x| !x.signed_in))
                .collect(),
            k,
        ),
    };
    let k = match cmd.who {
        Who::Fixed(k) | Who::Chair(k) | Who::Ringing(k) | Who::Member(k) | Who::SignedOut(k) => k,
    };
    let agent = chosen.unwrap_or(AgentId(AGENTS[k % AGENTS.len()]));
    (agent.to_string(), fill(p, Some(agent), cmd))
}

fn fill(p: &confsim_core::Platform, caller: Option<AgentId>, cmd: &Cmd) -> Value {
    let mut body = cmd.body.clone();
    match &cmd.fill {
        Fill::Nothing => {}
        Fill::Address(t) => {
            let address = address_of(p, caller, t);
            if body.is_null() {
                body = json!({});
            }
            for (k, v) in address.as_object().into_iter().flatten() {
                body[k] = v.clone();
            }
        }
        Fill::Addresses(ts) => {
            // The same address twice is a 000-002 the deterministic tests cover; here it would
            // mostly hide the rest of the batch.
            let mut list: Vec<Value> = Vec::new();
            for t in ts {
                let address = address_of(p, caller, t);
                if !list.contains(&address) {
                    list.push(address);
                }
            }
            body = with(
                if body.is_null() { json!({}) } else { body },
                "addresses",
                json!(list),
            );
        }
        Fill::Dest(t) => {
            let address = address_of(p, caller, t);
            let dest = match address["addressType"].as_str() {
                Some("9") => address["address"]
                    .as_str()
                    .and_then(|a| a.parse::<u64>().ok())
                    .map_or(json!("x"), |n| json!(n)),
                _ => json!("x"),
            };
            body = json!({ "destAgentNo": dest });
        }
    }
    body
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

fn sign_in_body() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            json!(3), json!("4"), json!(5), json!(4), json!(4), json!("4"), json!(6),
        ]),
        prop::sample::select(vec![json!(""), json!("pw"), json!("pw"), json!("pw"), json!(7)]),
        prop::sample::select(vec![json!(4), json!("11"), json!(4), json!(4), json!(4), json!(5)]),
    )
        .prop_map(|(status, password, kind)| {
            json!({ "password": password, "status": status, "agenttype": kind })
        })
}

fn request_body() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            json!(1),
            json!(2),
            json!(3),
            json!(4),
            json!(6),
            json!(6),
            json!(6),
            json!(0),
            json!("3"),
        ]),
        prop::sample::select(vec![
            Value::Null,
            Value::Null,
            json!(4),
            json!(5),
            json!(8),
            json!(8),
            json!(3),
        ]),
    )
        .prop_map(|(members, time)| json!({ "memberNum": members, "time": time }))
}

/// Chair callers mostly, with some fixed agents for the refusals.
const CHAIRISH: [u8; 5] = [1, 1, 1, 1, 0];

fn simple(roles: Vec<u8>, op: Op, body: Value) -> impl Strategy<Value = Cmd> {
    with_body(roles, op, Just(body), Just(Fill::Nothing))
}

fn with_body(
    roles: Vec<u8>,
    op: Op,
    body: impl Strategy<Value = Value>,
    fill: impl Strategy<Value = Fill>,
) -> impl Strategy<Value = Cmd> {
    (who(roles), body, fill).prop_map(move |(who, body, fill)| Cmd {
        who,
        op,
        body,
        fill,
        follow: None,
    })
}

fn chair_op(
    op: Op,
    body: impl Strategy<Value = Value>,
    fill: impl Strategy<Value = Fill>,
) -> impl Strategy<Value = Cmd> {
    with_body(CHAIRISH.to_vec(), op, body, fill)
}

fn followed(
    cmd: impl Strategy<Value = Cmd>,
    follow: impl Strategy<Value = Option<(i64, Follow)>>,
) -> impl Strategy<Value = Cmd> {
    (cmd, follow).prop_map(|(cmd, follow)| Cmd { follow, ..cmd })
}

/// A participant of the caller's conference that is `kind` (held, playing) most of the time.
fn mostly(kind: fn(usize) -> Target) -> impl Strategy<Value = Fill> {
    prop_oneof![3 => (0..6usize).prop_map(kind), 1 => target()].prop_map(Fill::Address)
}

/// A batch of invitees, and whether (and how soon) the invited agents answer or reject.
fn invitations() -> impl Strategy<Value = Cmd> {
    let extra = prop::sample::select(vec![
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        json!({ "beepTone": true, "voicePath": "y:/conf/1/beep.V3", "caller": "10000" }),
        json!({ "beepTone": true }),
    ]);
    let invitees = prop_oneof![
        1 => Just(vec![]),
        12 => prop::collection::vec(invitee(), 1..4),
    ];
    let answers = prop_oneof![
        1 => Just(None),
        3 => (0..400i64, prop::bool::weighted(0.8)).prop_map(|(delay, answer)| {
            let follow = if answer {
                Follow::InviteesAnswer
            } else {
                Follow::InviteesReject
            };
            Some((delay, follow))
        }),
    ];
    followed(
        chair_op(
            Op::BatchAddParticipant,
            extra,
            invitees.prop_map(Fill::Addresses),
        ),
        answers,
    )
}

/// One input: an operation, its caller and its body, valid or not, and what follows it.
fn cmd() -> impl Strategy<Value = Cmd> {
    let voice = || {
        prop::sample::select(vec![
            json!({ "voicePath": "y:/conf/1/a.V3" }),
            json!({ "voicePath": "y:/conf/1/a.V3", "playMode": 2 }),
            json!({ "voicePath": "" }),
        ])
    };
    let one = || target().prop_map(Fill::Address);
    let nothing = || Just(Fill::Nothing);
    let modes = prop::sample::select(vec![1, 1, 3, 3, 2, 4, 0, 5]);
    // Rests short enough to time out within a run, and one out of range.
    let rest = (prop::sample::select(vec![1, 5, 60, 0]), 0..3u8)
        .prop_map(|(time, reason)| json!({ "time": time, "reason": reason }));
    let capacity = (0..3u8, prop::sample::select(vec![1, 2, 3, 118]));
    let conf_ids = prop::collection::vec(0..6u64, 0..3).prop_map(|ks| {
        let ids: Vec<u64> = ks.into_iter().map(|k| 1_030_400 + 256 * k).collect();
        json!({ "confIds": ids })
    });
    prop_oneof![
        2 => followed(with_body(vec![4, 4, 4, 0], Op::Login, sign_in_body(), nothing()), repeat()),
        1 => with_body(vec![4, 0, 1, 2, 3], Op::ForceLogin, sign_in_body(), nothing()),
        1 => simple(vec![0, 0, 3], Op::Logout, Value::Null),
        1 => simple(vec![0, 1, 2, 3], Op::ForceLogout, Value::Null),
        6 => with_body(vec![0], Op::RequestAgentConf, request_body(), nothing()),
        12 => followed(simple(vec![2, 2, 2, 2, 0], Op::AnswerAgentConf, Value::Null), repeat()),
        2 => simple(vec![2, 2, 0], Op::RejectAgentConf, Value::Null),
        3 => simple(vec![3, 3, 1, 0], Op::RequestLeaveAgentConf, Value::Null),
        1 => simple(CHAIRISH.to_vec(), Op::ReleaseAgentConf, Value::Null),
        2 => followed(
            chair_op(Op::HoldParticipant, voice(), one()),
            then(Op::UnholdParticipant),
        ),
        2 => chair_op(Op::UnholdParticipant, Just(Value::Null), mostly(Target::Held)),
        1 => chair_op(
            Op::ProlongTime,
            prop::sample::select(vec![1, 3, 1440, 0]).prop_map(|n| json!({ "prolongTime": n })),
            nothing(),
        ),
        3 => chair_op(
            Op::ApplyToShiftPresident,
            Just(Value::Null),
            prop_oneof![3 => (0..6usize).prop_map(Target::JoinedAgent), 1 => target()]
                .prop_map(Fill::Dest),
        ),
        10 => invitations(),
        3 => chair_op(
            Op::BatchRemoveParticipant,
            Just(Value::Null),
            prop::collection::vec(target(), 1..4).prop_map(Fill::Addresses),
        ),
        2 => chair_op(
            Op::ChangeParticipantMode,
            modes.prop_map(|a| json!({ "attribute": a })),
            one(),
        ),
        2 => followed(
            chair_op(Op::PlayVoiceToConf, voice(), nothing()),
            then(Op::StopVoiceToConf),
        ),
        2 => simple(CHAIRISH.to_vec(), Op::StopVoiceToConf, Value::Null),
        2 => followed(
            chair_op(Op::PlayVoiceToParticipant, voice(), one()),
            then(Op::StopVoiceToParticipant),
        ),
        2 => chair_op(Op::StopVoiceToParticipant, Just(Value::Null), mostly(Target::Playing)),
        2 => chair_op(
            Op::ModifyConfResource,
            capacity.prop_map(|(k, n)| json!({ "modifyType": k, "modifyNum": n })),
            nothing(),
        ),
        1 => with_body(vec![0, 1, 3], Op::QueryConfInfos, conf_ids, nothing()),
        1 => simple(vec![0], Op::QueryAllConfIds, Value::Null),
        2 => simple(vec![0, 0, 0, 3], Op::SayBusy, Value::Null),
        2 => simple(vec![0, 0, 1], Op::SayFree, Value::Null),
        1 => simple(vec![0, 0, 3], Op::Work, Value::Null),
        1 => simple(vec![0], Op::CancelWork, Value::Null),
        1 => with_body(vec![0, 0, 1], Op::Rest, rest, nothing()),
        1 => simple(vec![0], Op::CancelRest, Value::Null),
        1 => simple(vec![0, 4], Op::ResetSkill, json!({ "auto": true })),
        1 => simple(vec![0, 4], Op::QueryAgentSkills, Value::Null),
    ]
}

/// The gap before an input: none, inside a latency, seconds, past a ring timeout or an
/// announcement, or minutes (past warnings and ends of short conferences).
fn gap() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => Just(0),
        6 => 0..300i64,
        8 => 0..6_000i64,
        2 => 0..40_000i64,
        1 => 0..(4 * MIN),
    ]
}

fn platform() -> impl Strategy<Value = PlatformConfig> {
    (
        prop::sample::select(vec![(0, 0), (0, 0), (0, 50), (10, 300)]),
        prop::sample::select(vec![0.0, 0.0, 0.3]),
        prop::sample::select(vec![0.0, 0.2]),
    )
        .prop_map(|((min, max), no_answer, faults)| {
            let mut p = meeting_platform();
            p.latency = confsim_core::config::LatencyConfig {
                min_ms: min,
                max_ms: max,
            };
            p.phones.answer_delay = confsim_core::config::LatencyConfig {
                min_ms: 1_000,
                max_ms: 8_000,
            };
            p.phones.no_answer = vec!["5559".into()];
            p.phones.no_answer_rate = no_answer;
            p.faults.request_failed_rate = faults;
            p.ring_timeout_ms = 60_000;
            p.announcement_ms = 45_000;
            p
        })
}

/// How the tolerant property steps around the bugs the strict one finds (each has its own
/// ignored reproduction):
/// 1. `applyToShiftPresident` to a member whose leave or removal is under way is not sent
///    (the conference would be stranded in `Phase::Ending`; `chair_ops.rs`);
/// 2. `batchRemoveParticipant` naming several addresses is sent as one request per address
///    (a batch tells removed agents about later removals; `members.rs`);
/// 3. `requestAgentConf` with `memberNum` 1 by a talking agent is not sent (the far party
///    overfills the room; `chair_ops.rs`);
/// 4. rebuild-equals-live is checked after firing, on the rebuilt state, the timers the live
///    engine already fired that emitted no event (they leave no trace in the journal;
///    `members.rs`); each must emit nothing there too;
/// 5. an agent whose forced sign-out is under way (between the accepted `forceLogout` and its
///    `AgentOther_ShutdownService`) may still receive the events of a member
///    (`session.rs`, `a_member_signed_out_hears_nothing_more`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Tolerance {
    Strict,
    AroundKnownBugs,
}

/// The bodies to send for one generated input, under `tolerance`.
fn inputs_for(sim: &Sim, tolerance: Tolerance, agent: &str, op: Op, body: Value) -> Vec<Value> {
    if tolerance == Tolerance::Strict {
        return vec![body];
    }
    let id = agent.parse::<u32>().ok().map(AgentId);
    let me = id.and_then(|id| sim.platform().agent(id));
    match op {
        Op::ApplyToShiftPresident => {
            let to = match &body["destAgentNo"] {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            };
            let conf = me
                .and_then(|a| a.conf)
                .and_then(|c| sim.platform().conference(c));
            let leaving = match (conf, to) {
                (Some(c), Some(to)) => c
                    .member_at(&Address::Agent(AgentId(to as u32)))
                    .is_some_and(|m| {
                        c.pending.iter().any(|p| match &p.op {
                            ConfOp::Leave { member } => *member == m.no,
                            ConfOp::Remove { members } => members.contains(&m.no),
                            _ => false,
                        })
                    }),
                _ => false,
            };
            if leaving { vec![] } else { vec![body] }
        }
        Op::BatchRemoveParticipant => match body["addresses"].as_array() {
            Some(items) if items.len() > 1 => {
                items.iter().map(|a| addresses(vec![a.clone()])).collect()
            }
            _ => vec![body],
        },
        Op::RequestAgentConf
            if body["memberNum"] == json!(1)
                && me.is_some_and(|a| a.state == AgentState::Talking) =>
        {
            vec![]
        }
        _ => vec![body],
    }
}

/// Rebuild equals live, strictly or after the event-less firings (`Tolerance` 4).
fn check_rebuild(sim: &mut Sim, tolerance: Tolerance) {
    if tolerance == Tolerance::Strict {
        sim.assert_rebuilds();
        return;
    }
    let (header, records) = sim.read_back();
    let rebuilt = fold(&header, &records);
    assert_eq!(
        rebuilt.undelivered,
        vec![],
        "every fired event is journaled"
    );
    let live_pending = sim.engine.pending_timers();
    let mut platform = rebuilt.platform;
    let mut queue: Scheduler<Item> = Scheduler::new();
    let mut later = Vec::new();
    for (due, timer) in rebuilt.pending {
        if due <= sim.engine.now() && !live_pending.contains(&(due, timer)) {
            queue.schedule_at(due, Item::Platform(timer));
        } else {
            later.push((due, timer));
        }
    }
    let (mut out, mut ops) = (Vec::new(), Vec::new());
    while let Some((_, Item::Platform(timer))) = queue.pop_due(sim.engine.now()) {
        platform.fire(timer, &mut out, &mut ops);
        assert_eq!(
            out,
            vec![],
            "{timer:?} fired live with no event, so here too"
        );
        for op in ops.drain(..) {
            match op {
                TimerOp::Schedule(due, timer) => later.push((due, timer)),
                TimerOp::Cancel(timer) => later.retain(|(_, t)| *t != timer),
            }
        }
    }
    assert_eq!(&platform, sim.platform(), "rebuilt state equals live state");
    assert_eq!(
        sorted(later),
        sorted(live_pending),
        "rebuilt timers equal live timers"
    );
}

/// Who heard what, from the records alone (see the module doc for the exceptions).
fn check_deliveries(
    records: &[(u64, SimTime, Record)],
    tolerance: Tolerance,
) -> Result<(), String> {
    let mut signed_in: BTreeSet<u32> = roster()
        .iter()
        .filter(|g| g.signed_in)
        .flat_map(|g| g.ids.iter().map(|a| a.0).collect::<Vec<_>>())
        .collect();
    let mut signing_out: BTreeSet<u32> = BTreeSet::new();
    let mut joined: BTreeSet<(u32, ConfId)> = BTreeSet::new();
    for (i, (seq, at, record)) in records.iter().enumerate() {
        match record {
            Record::Input(input) if input.response.is_success() => {
                let Ok(agent) = input.agent.parse::<u32>() else {
                    continue;
                };
                match input.op {
                    Op::Login | Op::ForceLogin => {
                        signed_in.insert(agent);
                    }
                    Op::Logout => {
                        signed_in.remove(&agent);
                    }
                    Op::ForceLogout => {
                        signed_in.remove(&agent);
                        signing_out.insert(agent);
                    }
                    _ => {}
                }
            }
            Record::Input(_) => {}
            Record::Event(e) => {
                let x = e.agent.0;
                let shown = || {
                    format!(
                        "seq {seq} at {}: {} to {x} {:?}",
                        offset(*at),
                        e.ty,
                        e.content
                    )
                };
                let in_its_sign_out_batch = records[i + 1..]
                    .iter()
                    .take_while(|(_, t, r)| t == at && matches!(r, Record::Event(_)))
                    .any(|(_, _, r)| {
                        matches!(r, Record::Event(s) if s.agent == e.agent
                            && s.ty == EventType::AgentOtherShutdownService)
                    });
                let excepted = e.ty == EventType::AgentOtherShutdownService
                    || (e.ty == EventType::AgentConfRequestFailed
                        && e.content == Content::Cause(21205))
                    || (in_its_sign_out_batch
                        && matches!(
                            e.ty,
                            EventType::AgentOtherPhoneRelease
                                | EventType::AgentConfSelfLeaveResult
                                | EventType::AgentStateReady
                                | EventType::AgentConfParticipantChanged
                        ))
                    || (signing_out.contains(&x)
                        && (e.ty == EventType::AgentConfSelfLeaveResult
                            || (e.ty == EventType::AgentOtherPhoneRelease
                                && e.content == Content::PhoneState(3))))
                    || (tolerance == Tolerance::AroundKnownBugs && signing_out.contains(&x));
                if !signed_in.contains(&x) && !excepted {
                    return Err(format!("event to a signed-out agent: {}", shown()));
                }
                match e.ty {
                    EventType::AgentConfParticipantChanged
                    | EventType::AgentConfPresidentChanged
                    | EventType::AgentConfTimeout => {
                        let conf = e.content.conf_id().ok_or_else(shown)?;
                        if !joined.contains(&(x, conf)) {
                            return Err(format!("notification to a non-member: {}", shown()));
                        }
                    }
                    EventType::AgentConfSelfJoinResult => {
                        let conf = e.content.conf_id().ok_or_else(shown)?;
                        if joined.iter().any(|(a, _)| *a == x) {
                            return Err(format!("joins while joined elsewhere: {}", shown()));
                        }
                        joined.insert((x, conf));
                    }
                    EventType::AgentConfSelfLeaveResult => {
                        let conf = e.content.conf_id().ok_or_else(shown)?;
                        if !joined.remove(&(x, conf)) {
                            return Err(format!("leaves what it never joined: {}", shown()));
                        }
                    }
                    // A1 allows `SelfJoinResult` then `RequestFailed` (an applicant signed out
                    // after joining its leg): the application, and the join, are over.
                    EventType::AgentConfRequestFailed => {
                        joined.retain(|(a, _)| *a != x);
                    }
                    EventType::AgentOtherShutdownService => {
                        signing_out.remove(&x);
                    }
                    _ => {}
                }
            }
        }
    }
    if !joined.is_empty() {
        return Err(format!("still joined at the end: {joined:?}"));
    }
    Ok(())
}

type Inputs = Vec<(i64, Cmd)>;

/// Rebuild-equals-live is checked after every this many inputs, and at the end.
const REBUILD_EVERY: usize = 5;

/// Runs the inputs; when `check`, asserts every property along the way. Returns the journal.
fn run(
    seed: u64,
    platform: &PlatformConfig,
    inputs: &Inputs,
    tolerance: Tolerance,
    check: bool,
) -> Vec<u8> {
    let mut sim = Sim::with_seed(seed, platform.clone(), roster());
    let mut at = 0;
    let mut submitted = 0;
    for (gap, cmd) in inputs {
        at += gap;
        while sim.step_once(at) {
            if check {
                assert_invariants(sim.platform());
            }
        }
        let (agent, body) = resolve(&sim, cmd);
        let mut sent = vec![(cmd.op, agent.clone(), body.clone())];
        match cmd.follow {
            Some((_, Follow::Repeat)) => sent.push((cmd.op, agent, body)),
            Some((_, Follow::Then(op))) => sent.push((op, agent, body)),
            Some((_, invitees)) => {
                let op = match invitees {
                    Follow::InviteesAnswer => Op::AnswerAgentConf,
                    _ => Op::RejectAgentConf,
                };
                let invited = body["addresses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|a| a["addressType"] == "9")
                    .filter_map(|a| a["address"].as_str().map(str::to_owned));
                sent.extend(invited.map(|a| (op, a, Value::Null)).collect::<Vec<_>>());
            }
            None => {}
        }
        for (i, (op, agent, body)) in sent.into_iter().enumerate() {
            if i > 0 {
                at += cmd.follow.map_or(0, |f| f.0);
                while sim.step_once(at) {
                    if check {
                        assert_invariants(sim.platform());
                    }
                }
            }
            for body in inputs_for(&sim, tolerance, &agent, op, body) {
                sim.submit_at(at, op, &agent, body);
                submitted += 1;
                if check {
                    assert_invariants(sim.platform());
                    // Rebuilding reads the whole journal back: every few inputs keeps the
                    // binary fast and still checks states in the middle of every kind of work.
                    if submitted % REBUILD_EVERY == 0 {
                        check_rebuild(&mut sim, tolerance);
                    }
                }
            }
        }
    }
    while let Some(due) = sim.engine.next_deadline() {
        assert!(sim.step_once(offset(due)));
        if check {
            assert_invariants(sim.platform());
        }
    }
    if check {
        check_rebuild(&mut sim, tolerance);
        assert!(sim.platform().conferences().is_empty(), "everything ends");
        assert_eq!(sim.engine.pending_timers(), vec![]);
        for (id, a) in sim.platform().agents() {
            assert_eq!(
                (a.conf, a.pending.clone()),
                (None, None),
                "agent {id} is free"
            );
        }
        if let Err(e) = check_deliveries(&sim.log.records, tolerance) {
            panic!("{e}");
        }
    }
    sim.journal_bytes()
}

fn inputs() -> impl Strategy<Value = Inputs> {
    prop::collection::vec((gap(), cmd()), 1..80)
}

/// 64 cases a run (proptest seeds each run afresh, so every run tries new ones);
/// `PROPTEST_CASES` sets another count, for a long hunt.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_family_runs_keep_the_promises_around_known_bugs(
        seed in any::<u64>(),
        platform in platform(),
        inputs in inputs(),
    ) {
        let first = run(seed, &platform, &inputs, Tolerance::AroundKnownBugs, true);
        let second = run(seed, &platform, &inputs, Tolerance::AroundKnownBugs, false);
        prop_assert!(first == second, "the same inputs and seed give the same journal bytes");
    }

    #[test]
    fn random_family_runs_keep_every_promise(
        seed in any::<u64>(),
        platform in platform(),
        inputs in inputs(),
    ) {
        let first = run(seed, &platform, &inputs, Tolerance::Strict, true);
        let second = run(seed, &platform, &inputs, Tolerance::Strict, false);
        prop_assert!(first == second, "the same inputs and seed give the same journal bytes");
    }
}

/// The property is only as good as the states it reaches: over a fixed set of generated runs,
/// every operation succeeds at least once and every kind of event the family sends occurs.
#[test]
fn the_generator_reaches_every_operation_and_event() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (any::<u64>(), platform(), inputs());
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for _ in 0..96 {
        let (seed, platform, inputs) = strategy.new_tree(&mut runner).unwrap().current();
        let bytes = run(seed, &platform, &inputs, Tolerance::AroundKnownBugs, false);
        for stamped in read_journal(&bytes).1 {
            seen.insert(match stamped.record {
                Record::Event(e) => match &e.content {
                    Content::Participant(p) if p.change_type == 1 => {
                        format!("{} left {}", e.ty, p.change_reason)
                    }
                    Content::Participant(p) => format!("{} {}", e.ty, p.change_type),
                    _ => e.ty.to_string(),
                },
                Record::Input(i) => format!("{} {}", i.op, i.response.retcode),
            });
        }
    }
    let mut missing: Vec<String> = Op::ALL
        .iter()
        .map(|op| format!("{op} 0"))
        .filter(|k| !seen.contains(k))
        .collect();
    let events = [
        "AgentConf_Ringing",
        "AgentConf_SelfJoinResult",
        "AgentConf_SelfLeaveResult",
        "AgentConf_PresidentChanged",
        "AgentConf_RequestFailed",
        "AgentConf_Timeout",
        "AgentConf_StopVoice",
        "AgentConf_StopParticipantVoice",
        "AgentOther_ShutdownService",
        "AgentState_SetNotReady_Success",
        "AgentState_Work",
        "AgentState_CancelNotReady_Success",
        "AgentState_CancelWork_Success",
        "AgentState_SetRest_Success",
        "AgentState_CancelRest_Success",
        "AgentState_Rest_Timeout",
        "AgentConf_ParticipantChanged 0",
        "AgentConf_ParticipantChanged 2",
        "AgentConf_ParticipantChanged 3",
        "AgentConf_ParticipantChanged 5",
        "AgentConf_ParticipantChanged left 0",
        "AgentConf_ParticipantChanged left 1",
        "AgentConf_ParticipantChanged left 2",
        "AgentConf_ParticipantChanged left 3",
        "AgentConf_ParticipantChanged left 4",
        "AgentConf_ParticipantChanged left 6",
    ];
    missing.extend(
        events
            .iter()
            .map(|e| e.to_string())
            .filter(|k| !seen.contains(k)),
    );
    for code in [
        "000-002", "000-007", "100-002", "100-004", "100-006", "100-007", "100-009", "100-010",
        "100-012", "101-001", "101-002", "101-003", "101-004", "101-005", "101-006", "101-007",
    ] {
        if !seen.iter().any(|k| k.ends_with(&format!(" {code}"))) {
            missing.push(format!("retcode {code}"));
        }
    }
    assert_eq!(missing, Vec::<String>::new(), "never reached");
}
