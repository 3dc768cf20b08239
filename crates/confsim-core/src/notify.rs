//! What due timers emit: the platform's asynchronous answers, notifications and endings.
//!
//! Every batch is decided when its timer fires, against the state at that instant, and all its
//! events carry that instant. Who hears what (docs/semantics.md, "Invitations and members", "Who hears `ParticipantChanged`"):
//! `AgentConf_ParticipantChanged` goes to every joined agent member still present, chair first;
//! a member's own arrival or departure is told to it by its own events (`SelfJoinResult`,
//! `SelfLeaveResult`, `PresidentChanged`) instead, while a hold, unhold, mute or unmute is
//! told to the member concerned too.

use crate::causes;
use crate::event::{
    Content, Event, EventType, OffhookType, ParticipantChange, change_reason, change_type,
    phone_state,
};
use crate::ids::{AgentId, ConfId};
use crate::state::{
    Address, AgentPendingKind, AgentState, ApplyStep, ConfOp, Conference, Member, MemberStatus,
    Phase, Platform, Timer,
};

fn ev(ty: EventType, agent: AgentId, content: Content) -> Event {
    Event::new(ty, agent, content)
}

/// `AgentConf_ParticipantChanged` about `m`.
pub(crate) fn change(conf: ConfId, m: &Member, change_type: u8, reason: u8, result: u8) -> Content {
    let (participant, participant_type) = m.address.wire();
    Content::Participant(Box::new(ParticipantChange {
        result,
        change_type,
        change_reason: reason,
        conf,
        participant,
        participant_type,
        device_call_type: m.device_call_type,
        device_type: m.device_type,
    }))
}

/// Tells every agent in `to` about `m`. The content is built only when someone is there to hear
/// it: a conference whose chair is alone (the common case) tells no one, and building the
/// change costs an allocation or two.
fn tell(out: &mut Vec<Event>, to: &[AgentId], content: impl FnOnce() -> Content) {
    if to.is_empty() {
        return;
    }
    let content = content();
    for agent in to {
        out.push(ev(
            EventType::AgentConfParticipantChanged,
            *agent,
            content.clone(),
        ));
    }
}

pub(crate) fn fire(p: &mut Platform, timer: Timer, out: &mut Vec<Event>) {
    match timer {
        Timer::Step(id, _) => {
            let Some(conf) = p.conference(id) else { return };
            match conf.phase {
                Phase::Applying { next, .. } => apply_step(p, conf, next, out),
                Phase::Releasing { .. } => end(p, conf, change_reason::CONFERENCE_ENDED, out),
                _ => {}
            }
        }
        Timer::Warn(id) => {
            if let Some(conf) = p.conference(id).filter(|c| c.is_active()) {
                out.push(ev(
                    EventType::AgentConfTimeout,
                    conf.chair,
                    Content::Conf(id),
                ));
            }
        }
        Timer::End(id) => {
            if let Some(conf) = p.conference(id).filter(|c| c.is_active()) {
                end(p, conf, change_reason::CONFERENCE_ENDED, out);
            }
        }
        Timer::Voice(id) => {
            let Some(conf) = p.conf_mut(id) else { return };
            conf.voice_until = None;
            out.push(ev(
                EventType::AgentConfStopVoice,
                conf.chair,
                Content::Result(0),
            ));
        }
        Timer::MemberVoice(id, no) => {
            let Some(conf) = p.conf_mut(id) else { return };
            let chair = conf.chair;
            if let Some(m) = conf.members.iter_mut().find(|m| m.no == no) {
                m.voice_until = None;
                out.push(ev(
                    EventType::AgentConfStopParticipantVoice,
                    chair,
                    Content::Result(0),
                ));
            }
        }
        Timer::Invite(id, no) => invitation(p, id, no, out),
        Timer::Op(id, no) => {
            let Some(conf) = p.conf_mut(id) else { return };
            let Some(index) = conf.pending.iter().position(|op| op.no == no) else {
                return;
            };
            let op = conf.pending.remove(index).op;
            if let Some(conf) = p.conference(id) {
                notification(p, conf, op, out);
            }
        }
        Timer::Agent(id, _) => {
            let Some(pending) = p.agent_mut(id).and_then(|a| a.pending.take()) else {
                return;
            };
            match pending.kind {
                AgentPendingKind::SignedIn { status, takeover } => {
                    signed_in(p, id, status, takeover, out)
                }
                AgentPendingKind::SignedOut => signed_out(p, id, out),
                AgentPendingKind::StateChanged { from, to, reason } => {
                    state_changed(id, from, to, reason, out)
                }
            }
        }
        Timer::Rest(id, nonce) => {
            let Some(agent) = p.agent_mut(id) else { return };
            if agent.rest.take_if(|r| r.nonce == nonce).is_some()
                && agent.signed_in
                && agent.state == AgentState::Rest
            {
                out.push(ev(EventType::AgentStateRestTimeout, id, Content::Null));
            }
        }
    }
}

/// A state call's events (`ops/agent_state.rs`): the exit event of the state left, unless the
/// agent asked for the state it was in, then the entry event of the state entered.
fn state_changed(id: AgentId, from: AgentState, to: AgentState, reason: u8, out: &mut Vec<Event>) {
    let exit = match from {
        AgentState::Busy => Some(EventType::AgentStateCancelNotReadySuccess),
        AgentState::Work => Some(EventType::AgentStateCancelWorkSuccess),
        AgentState::Rest => Some(EventType::AgentStateCancelRestSuccess),
        AgentState::Idle | AgentState::Talking => None,
    };
    if let Some(exit) = exit.filter(|_| from != to) {
        out.push(ev(exit, id, Content::Null));
    }
    let (entry, content) = match to {
        AgentState::Busy => (
            EventType::AgentStateSetNotReadySuccess,
            Content::Reason(reason),
        ),
        AgentState::Work => (EventType::AgentStateWork, Content::Null),
        AgentState::Rest => (EventType::AgentStateSetRestSuccess, Content::Null),
        AgentState::Idle | AgentState::Talking => (EventType::AgentStateReady, Content::Null),
    };
    out.push(ev(entry, id, content));
}

/// The platform's asynchronous checks (product.md §7.2) run when the first step is due; a
/// failure is a single `AgentConf_RequestFailed` and leaves the agent as it was.
fn apply_step(p: &Platform, conf: &Conference, step: ApplyStep, out: &mut Vec<Event>) {
    let chair = conf.chair;
    if step == ApplyStep::first(conf.from_call.is_some())
        && let Some(cause) = platform_check(p, conf)
    {
        out.push(ev(
            EventType::AgentConfRequestFailed,
            chair,
            Content::Cause(cause),
        ));
        return;
    }
    // An applicant signed out later in the sequence also fails, rather than joining a
    // conference nobody can chair.
    if !p.agent(chair).is_some_and(|a| a.signed_in) {
        out.push(ev(
            EventType::AgentConfRequestFailed,
            chair,
            Content::Cause(causes::AGENT_SIGNED_OUT),
        ));
        return;
    }
    let content = match step {
        ApplyStep::Busy | ApplyStep::Alerting => Content::Null,
        ApplyStep::Offhook => Content::Offhook(OffhookType::Main),
        ApplyStep::SelfJoin | ApplyStep::Success => Content::Conf(conf.id),
    };
    out.push(ev(step.event_type(), chair, content));
}

fn platform_check(p: &Platform, conf: &Conference) -> Option<u32> {
    let Some(agent) = p.agent(conf.chair).filter(|a| a.signed_in) else {
        return Some(causes::AGENT_SIGNED_OUT);
    };
    let vdn = &p.config().vdn;
    // A sign-in or state call whose events are still to come would announce a state the
    // conference's events had already left (docs/semantics.md, "Agent state calls"): the agent
    // is not in service, or not in its new state, until they are sent.
    let state_ok = match agent.state {
        _ if agent.pending.is_some() => false,
        AgentState::Idle => true,
        AgentState::Talking => agent.stable_call,
        _ => false,
    };
    if !state_ok {
        Some(causes::AGENT_STATE)
    } else if agent.state == AgentState::Talking && agent.three_party_called {
        Some(causes::THREE_PARTY_CALLED)
    } else if conf.params.member_num > vdn.max_concurrent_calls {
        Some(causes::VDN_CAPACITY)
    } else if conf.from_call.is_some() && conf.params.member_num < 2 {
        Some(causes::NO_ROOM_FOR_PEER)
    } else if !vdn.allows_caller_no(&conf.params.caller_no) {
        Some(causes::CALLER_NO_RESTRICTED)
    } else if p.draws().chance(
        conf.id,
        crate::draws::Slot::Fault,
        p.config().faults.request_failed_rate,
    ) {
        Some(causes::INJECTED_FAULT)
    } else {
        None
    }
}

/// The joined agent members still signed in, chair first: who hears `ParticipantChanged`. An
/// agent whose forced sign-out is under way hears nothing more of the conference but its own
/// leave (docs/semantics.md, "Events to signed-out agents").
fn present(p: &Platform, conf: &Conference) -> crate::state::AgentList {
    let mut agents = conf.joined_agents();
    agents.retain(|a| is_signed_in(p, *a));
    agents
}

fn is_signed_in(p: &Platform, agent: AgentId) -> bool {
    p.agent(agent).is_some_and(|a| a.signed_in)
}

/// The conference ends: every member leaves (product.md §7.5). Invitations still ringing are
/// cancelled first and phone members leave next, so the agents still present hear of it; then
/// the joined agents leave, chair first, each with `AgentOther_PhoneRelease {"phoneState":3}`,
/// `AgentConf_SelfLeaveResult` and, if still signed in, `AgentState_Ready`, and the agents
/// still present hear `ParticipantChanged` (left, `reason`). The chair's own reason is
/// `chair_reason` (3 ended, 4 signed out); everyone else's is 3.
fn end(p: &Platform, conf: &Conference, chair_reason: u8, out: &mut Vec<Event>) {
    let mut present = present(p, conf);
    let ended = change_reason::CONFERENCE_ENDED;
    for m in conf.members.iter().filter(|m| !m.is_joined()) {
        uninvite(p, conf, m, ended, phone_state::PLATFORM, &present, out);
    }
    for m in conf
        .members
        .iter()
        .filter(|m| m.is_joined() && m.address.agent().is_none())
    {
        tell(out, &present, || {
            change(conf.id, m, change_type::LEFT, ended, 0)
        });
    }
    for agent in conf.joined_agents() {
        out.push(ev(
            EventType::AgentOtherPhoneRelease,
            agent,
            Content::PhoneState(phone_state::PLATFORM),
        ));
        out.push(ev(
            EventType::AgentConfSelfLeaveResult,
            agent,
            Content::Conf(conf.id),
        ));
        if is_signed_in(p, agent) {
            out.push(ev(EventType::AgentStateReady, agent, Content::Null));
        }
        present.retain(|a| *a != agent);
        if let Some(m) = conf.member_at(&Address::Agent(agent)) {
            let reason = if agent == conf.chair {
                chair_reason
            } else {
                ended
            };
            tell(out, &present, || {
                change(conf.id, m, change_type::LEFT, reason, 0)
            });
        }
    }
}

/// An invitation that ends without a join: a ringing agent's phone stops (`phoneState` as
/// given) and, if still signed in, it is ready again; the members present hear that the
/// invitee left, with `result` 1 (the join failed).
fn uninvite(
    p: &Platform,
    conf: &Conference,
    m: &Member,
    reason: u8,
    phone: u8,
    present: &[AgentId],
    out: &mut Vec<Event>,
) {
    if let Address::Agent(agent) = m.address
        && Conference::has_rung(m)
    {
        out.push(ev(
            EventType::AgentOtherPhoneRelease,
            agent,
            Content::PhoneState(phone),
        ));
        if is_signed_in(p, agent) {
            out.push(ev(EventType::AgentStateReady, agent, Content::Null));
        }
    }
    tell(out, present, || {
        change(conf.id, m, change_type::LEFT, reason, 1)
    });
}

/// A joined agent leaves a conference that goes on; the agents in `present` (the leaver
/// excepted) hear it.
fn leave(
    p: &Platform,
    conf: &Conference,
    m: &Member,
    reason: u8,
    phone: u8,
    present: &[AgentId],
    out: &mut Vec<Event>,
) {
    let Some(agent) = m.address.agent() else {
        return;
    };
    out.push(ev(
        EventType::AgentOtherPhoneRelease,
        agent,
        Content::PhoneState(phone),
    ));
    out.push(ev(
        EventType::AgentConfSelfLeaveResult,
        agent,
        Content::Conf(conf.id),
    ));
    if is_signed_in(p, agent) {
        out.push(ev(EventType::AgentStateReady, agent, Content::Null));
    }
    let others: Vec<AgentId> = present.iter().copied().filter(|a| *a != agent).collect();
    tell(out, &others, || {
        change(conf.id, m, change_type::LEFT, reason, 0)
    });
}

/// An invitation moves on: an agent's phone rings (or the agent cannot take the call), a
/// phone number answers, or the ringing times out.
fn invitation(p: &Platform, id: ConfId, no: u32, out: &mut Vec<Event>) {
    let Some(conf) = p.conference(id) else { return };
    let Some(m) = conf.member(no) else { return };
    let present = present(p, conf);
    let unanswered = change_reason::FORCED_OTHER;
    match (&m.address, &m.status) {
        (Address::Agent(agent), MemberStatus::Calling { .. }) => {
            let reachable = p.agent(*agent).is_some_and(|a| {
                a.signed_in
                    && a.state == AgentState::Idle
                    && a.conf == Some(id)
                    && a.pending.is_none()
            });
            if reachable {
                out.push(ev(EventType::AgentConfRinging, *agent, Content::Conf(id)));
            } else {
                uninvite(p, conf, m, unanswered, phone_state::PLATFORM, &present, out);
            }
        }
        (Address::Phone(_), MemberStatus::Calling { answers: true, .. }) => {
            tell(out, &present, || {
                change(id, m, change_type::JOINED, change_reason::NONE, 0)
            });
        }
        (_, MemberStatus::Calling { .. } | MemberStatus::Ringing { .. }) => {
            uninvite(p, conf, m, unanswered, phone_state::PLATFORM, &present, out);
        }
        (_, MemberStatus::Responding | MemberStatus::Joined) => {}
    }
}

/// A queued notification, decided against the members present now.
fn notification(p: &Platform, conf: &Conference, op: ConfOp, out: &mut Vec<Event>) {
    let id = conf.id;
    let mut present = present(p, conf);
    match op {
        ConfOp::Answer { member } => {
            let Some(m) = conf.member(member) else { return };
            let Some(agent) = m.address.agent() else {
                return;
            };
            out.push(ev(
                EventType::AgentConfSelfJoinResult,
                agent,
                Content::Conf(id),
            ));
            present.retain(|a| *a != agent);
            tell(out, &present, || {
                change(id, m, change_type::JOINED, change_reason::NONE, 0)
            });
        }
        ConfOp::Reject { member } => {
            if let Some(m) = conf.member(member) {
                uninvite(
                    p,
                    conf,
                    m,
                    change_reason::HUNG_UP,
                    phone_state::AGENT,
                    &present,
                    out,
                );
            }
        }
        ConfOp::Leave { member } => {
            if let Some(m) = conf.member(member) {
                leave(
                    p,
                    conf,
                    m,
                    change_reason::VOLUNTARY,
                    phone_state::AGENT,
                    &present,
                    out,
                );
            }
        }
        ConfOp::Remove { members } => {
            let removed = change_reason::REMOVED_BY_CHAIR;
            for no in members {
                let Some(m) = conf.member(no) else { continue };
                if let (true, Some(agent)) = (m.is_joined(), m.address.agent()) {
                    // A removed agent hears nothing of the removals after its own.
                    leave(p, conf, m, removed, phone_state::PLATFORM, &present, out);
                    present.retain(|a| *a != agent);
                } else if m.is_joined() {
                    tell(out, &present, || {
                        change(id, m, change_type::LEFT, removed, 0)
                    });
                } else {
                    uninvite(p, conf, m, removed, phone_state::PLATFORM, &present, out);
                }
            }
        }
        ConfOp::Change {
            member,
            change_type,
        } => {
            if let Some(m) = conf.member(member) {
                tell(out, &present, || {
                    change(id, m, change_type, change_reason::NONE, 0)
                });
            }
        }
        ConfOp::Chair { to } => {
            out.push(ev(
                EventType::AgentConfPresidentChanged,
                to,
                Content::Conf(id),
            ));
            if let Some(m) = conf.member_at(&Address::Agent(to)) {
                present.retain(|a| *a != to);
                tell(out, &present, || {
                    change(id, m, change_type::CHAIR_CHANGED, change_reason::NONE, 0)
                });
            }
        }
    }
}

/// The events after a sign-in (agentgateway.md §3.3), by the `status` asked for.
fn signed_in(p: &Platform, id: AgentId, status: u8, takeover: bool, out: &mut Vec<Event>) {
    out.push(ev(EventType::AgentOtherInService, id, Content::Null));
    let busy_elsewhere = p
        .agent(id)
        .is_some_and(|a| a.conf.is_some() || a.state == AgentState::Talking);
    if takeover && busy_elsewhere {
        return;
    }
    out.push(ev(EventType::AgentStateReady, id, Content::Null));
    match status {
        3 => out.push(ev(
            EventType::AgentStateSetNotReadySuccess,
            id,
            Content::Reason(0),
        )),
        5 => out.push(ev(EventType::AgentStateWork, id, Content::Null)),
        _ => {}
    }
}

/// A forced sign-out: the agent's call or conference is released (a chair's conference ends,
/// members hear `changeReason` 4), then `AgentOther_ShutdownService`.
fn signed_out(p: &Platform, id: AgentId, out: &mut Vec<Event>) {
    let Some(agent) = p.agent(id) else { return };
    let reason = change_reason::SIGNED_OUT;
    if let Some(conf) = agent.conf.and_then(|c| p.conference(c))
        && !matches!(conf.phase, Phase::Applying { .. } | Phase::Ending)
        && let Some(m) = conf.member_at(&Address::Agent(id))
    {
        let present = present(p, conf);
        if !m.is_joined() {
            uninvite(p, conf, m, reason, phone_state::PLATFORM, &present, out);
        } else if conf.chair == id {
            end(p, conf, reason, out);
        } else {
            leave(p, conf, m, reason, phone_state::PLATFORM, &present, out);
        }
    } else if agent.peer.is_some() {
        out.push(ev(
            EventType::AgentOtherPhoneRelease,
            id,
            Content::PhoneState(phone_state::PLATFORM),
        ));
    }
    out.push(ev(EventType::AgentOtherShutdownService, id, Content::Null));
}
