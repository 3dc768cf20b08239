//! The agent session (agentgateway.md §3, §9.1; docs/semantics.md "The agent session"):
//! `login` and `forceLogin` with their bodies, results and events by `status`; `logout` and its
//! refusals; `forceLogout` of an idle agent, a talking agent, a conference member, a chair, a
//! ringing invitee and an applicant.

use crate::support::*;
use confsim_core::config::SignInMode;
use confsim_core::{AgentGroup, AgentState, Op};
use serde_json::{Value, json};

/// The result of a successful sign-in of `agent` at `ms` (agentgateway.md §3.2).
fn login_result(agent: u32, ms: i64, mediatype: &str) -> Value {
    json!({
        "vdnid": 1,
        "workno": agent.to_string(),
        "mediatype": mediatype,
        "loginTime": t(ms).as_unix_ms().to_string(),
        "isForceChange": "false",
        "serverName": "AgentGateway",
        "timeRemaining": "",
    })
}

/// The events after a sign-in with `status` (§3.3), all at `ms`.
fn sign_in_events(ms: i64, agent: u32, status: u8) -> Vec<Ev> {
    let mut out = vec![
        ev(ms, "AgentOther_InService", agent, Value::Null),
        ev(ms, "AgentState_Ready", agent, Value::Null),
    ];
    match status {
        3 => out.push(ev(
            ms,
            "AgentState_SetNotReady_Success",
            agent,
            json!({ "reason": "0" }),
        )),
        5 => out.push(ev(ms, "AgentState_Work", agent, Value::Null)),
        _ => {}
    }
    out
}

fn shutdown(ms: i64, agent: u32) -> Ev {
    ev(ms, "AgentOther_ShutdownService", agent, Value::Null)
}

// ------------------------------------------------------------------ login

#[test]
fn login_by_status_gives_the_documented_events_and_state() {
    // status as a number, as a string, and absent (idle), each with its §3.3 events.
    let cases = [
        (json!(3), 3, AgentState::Busy),
        (json!("3"), 3, AgentState::Busy),
        (json!(4), 4, AgentState::Idle),
        (json!("4"), 4, AgentState::Idle),
        (Value::Null, 4, AgentState::Idle),
        (json!(5), 5, AgentState::Work),
        (json!(" 5 "), 5, AgentState::Work),
    ];
    for (status, expected, state) in cases {
        let mut sim = Sim::new(meeting_platform(), vec![]);
        let body = sign_in(json!({ "status": status, "phonenum": "88001" }));
        let response = sim.op_at(1_500, Op::Login, 150, body);
        assert_success(&response, login_result(150, 1_500, "TTF"));
        assert_eq!(
            sim.events(),
            sign_in_events(1_500, 150, expected),
            "{status}"
        );
        let agent = sim.agent(150);
        assert!(agent.signed_in);
        assert_eq!(agent.state, state, "{status}");
        assert_eq!(agent.sessions, 1);
        sim.assert_rebuilds();
    }
}

#[test]
fn login_accepts_the_strings_real_clients_send() {
    // The vendor's own sample: every number and boolean as a string.
    let mut sim = Sim::new(meeting_platform(), vec![]);
    let body = json!({
        "password": "",
        "phonenum": "88001",
        "status": "4",
        "agenttype": "4",
        "releasephone": "false",
        "autoanswer": "true",
        "autoenteridle": "TRUE",
        "phonelinkage": false,
        "listenStatus": "false",
        "checkInWebm": "false",
        "checkInMailm": "true",
        "ip": "10.1.2.3",
        "entryIp": "10.1.2.4",
        "vcPhoneNumber": "123",
        "callBackUri": "http://client/cb",
        "serviceToken": "token",
        "pushUrl": "http://client/push",
        "unknownField": [1, 2, 3],
    });
    assert_success(
        &sim.op_at(0, Op::Login, 150, body),
        login_result(150, 0, "TFT"),
    );
    assert_eq!(sim.events(), sign_in_events(0, 150, 4));
    // agenttype 11 (PC + video phone) and booleans as JSON booleans.
    let body = sign_in(json!({ "agenttype": 11, "checkInWebm": true, "checkInMailm": false }));
    assert_success(
        &sim.op_at(10, Op::Login, 151, body),
        login_result(151, 10, "TTF"),
    );
    sim.assert_rebuilds();
}

#[test]
fn login_events_come_one_latency_draw_later() {
    let mut sim = Sim::new(latency(250, 250), vec![]);
    assert_retcode(&sim.op_at(1_000, Op::Login, 150, sign_in(json!({}))), "0");
    assert_eq!(sim.events(), vec![]);
    // The state is the requested one from the answer on; the events follow.
    assert!(sim.agent(150).signed_in);
    sim.advance_to(1_249);
    assert_eq!(sim.events(), vec![]);
    sim.advance_to(1_250);
    assert_eq!(sim.events(), sign_in_events(1_250, 150, 4));
    sim.assert_rebuilds();
}

#[test]
fn login_bodies_that_are_malformed_are_000_002() {
    let long = |n: usize| json!("x".repeat(n));
    let bodies = [
        Value::Null,
        json!([]),
        json!("password"),
        json!({}),
        json!({ "password": 7 }),
        json!({ "password": long(33) }),
        sign_in(json!({ "phonenum": long(25) })),
        sign_in(json!({ "phonenum": 88001 })),
        sign_in(json!({ "status": 2 })),
        sign_in(json!({ "status": 6 })),
        sign_in(json!({ "status": "busy" })),
        sign_in(json!({ "status": 4.5 })),
        sign_in(json!({ "status": true })),
        sign_in(json!({ "agenttype": "pc" })),
        sign_in(json!({ "agenttype": -1 })),
        sign_in(json!({ "autoanswer": "yes" })),
        sign_in(json!({ "releasephone": 0 })),
        sign_in(json!({ "checkInWebm": "1" })),
        sign_in(json!({ "ip": 127 })),
        sign_in(json!({ "callBackUri": long(201) })),
        sign_in(json!({ "serviceToken": long(51) })),
        sign_in(json!({ "vcPhoneNumber": long(25) })),
    ];
    for body in bodies {
        let mut sim = Sim::new(meeting_platform(), vec![signed_out(&[150])]);
        let response = sim.op_at(0, Op::Login, 150, body.clone());
        assert_retcode(&response, "000-002");
        assert_eq!(response.result, json!({}), "{body}");
        let response = sim.op_at(0, Op::ForceLogin, 150, body.clone());
        assert_retcode(&response, "000-002");
        assert_eq!(sim.events(), vec![], "{body}");
        assert!(!sim.agent(150).signed_in, "{body}");
        sim.assert_rebuilds();
    }
    // A longer password is fine up to 32 bytes; an empty one too.
    let mut sim = Sim::new(meeting_platform(), vec![]);
    assert_retcode(
        &sim.op_at(0, Op::Login, 150, json!({ "password": "p".repeat(32) })),
        "0",
    );
}

#[test]
fn login_with_a_bad_agent_type_is_100_012_and_a_bad_ip_100_016() {
    for (body, code, what) in [
        (sign_in(json!({ "agenttype": 5 })), "100-012", "agenttype"),
        (sign_in(json!({ "agenttype": "3" })), "100-012", "agenttype"),
        (sign_in(json!({ "ip": "1.2.3" })), "100-016", "ip"),
        (sign_in(json!({ "ip": "::1" })), "100-016", "ip"),
        (sign_in(json!({ "ip": "256.0.0.1" })), "100-016", "ip"),
        (
            sign_in(json!({ "ip": "255.255.255.2555" })),
            "100-016",
            "ip",
        ),
    ] {
        let mut sim = Sim::new(meeting_platform(), vec![]);
        assert_rejected(&sim.op_at(0, Op::Login, 150, body.clone()), code, what);
        assert_rejected(&sim.op_at(0, Op::ForceLogin, 150, body), code, what);
        assert_eq!(sim.events(), vec![]);
        assert!(sim.platform().agent(confsim_core::AgentId(150)).is_none());
    }
}

#[test]
fn login_path_ids_are_checked_first() {
    let mut sim = Sim::new(meeting_platform(), vec![]);
    for path in ["abc", "60000", "100", "0150"] {
        assert_rejected(
            &sim.submit(Op::Login, path, sign_in(json!({}))),
            "000-002",
            "agent id",
        );
        assert_rejected(
            &sim.submit(Op::ForceLogin, path, Value::Null),
            "000-002",
            "agent id",
        );
    }
}

#[test]
fn login_of_a_signed_in_agent_is_100_002_and_of_a_signing_in_one_000_007() {
    let mut sim = Sim::new(latency(100, 100), vec![signed_out(&[150])]);
    assert_retcode(&sim.op_at(0, Op::Login, 150, sign_in(json!({}))), "0");
    // While its events are on their way, any sign-in or sign-out is a repeated call.
    assert_rejected(
        &sim.op_at(50, Op::Login, 150, sign_in(json!({}))),
        "000-007",
        "still in progress",
    );
    assert_rejected(
        &sim.op_at(50, Op::ForceLogin, 150, sign_in(json!({}))),
        "000-007",
        "still in progress",
    );
    assert_rejected(
        &sim.op_at(50, Op::Logout, 150, Value::Null),
        "000-007",
        "in progress",
    );
    sim.advance_to(100);
    assert_rejected(
        &sim.op_at(200, Op::Login, 150, sign_in(json!({}))),
        "100-002",
        "forceLogin",
    );
    // Only the one sign-in's events.
    assert_eq!(sim.events(), sign_in_events(100, 150, 4));
    sim.assert_rebuilds();
}

#[test]
fn passwords_and_the_roster_sign_in_mode_are_100_004() {
    let mut with_password = idle(&[150]);
    with_password.signed_in = false;
    with_password.password = Some("secret".into());
    // Open mode: anyone may sign in, but a roster password must match.
    let mut sim = Sim::new(meeting_platform(), vec![with_password.clone()]);
    assert_rejected(
        &sim.op_at(0, Op::Login, 150, json!({ "password": "nope" })),
        "100-004",
        "password",
    );
    assert_rejected(
        &sim.op_at(0, Op::ForceLogin, 150, json!({ "password": "" })),
        "100-004",
        "password",
    );
    assert_retcode(
        &sim.op_at(0, Op::Login, 150, json!({ "password": "secret" })),
        "0",
    );
    assert_retcode(
        &sim.op_at(0, Op::Login, 999, json!({ "password": "any" })),
        "0",
    );
    // Roster mode: only listed agents; a listed agent without a password takes any.
    let mut platform = meeting_platform();
    platform.sign_in = SignInMode::Roster;
    let mut sim = Sim::new(platform, vec![with_password, signed_out(&[151])]);
    assert_rejected(
        &sim.op_at(0, Op::Login, 999, json!({ "password": "any" })),
        "100-004",
        "roster",
    );
    assert_rejected(
        &sim.op_at(0, Op::ForceLogin, 999, json!({ "password": "any" })),
        "100-004",
        "roster",
    );
    assert_rejected(
        &sim.op_at(0, Op::Login, 150, json!({ "password": "Secret" })),
        "100-004",
        "password",
    );
    assert_retcode(
        &sim.op_at(0, Op::Login, 150, json!({ "password": "secret" })),
        "0",
    );
    assert_retcode(
        &sim.op_at(0, Op::Login, 151, json!({ "password": "whatever" })),
        "0",
    );
    assert!(sim.platform().agent(confsim_core::AgentId(999)).is_none());
    assert_eq!(
        sim.events(),
        [sign_in_events(0, 150, 4), sign_in_events(0, 151, 4)].concat()
    );
    sim.assert_rebuilds();
}

#[test]
fn force_login_of_a_signed_out_agent_is_a_login() {
    let mut sim = Sim::new(meeting_platform(), vec![signed_out(&[150])]);
    assert_success(
        &sim.op_at(0, Op::ForceLogin, 150, sign_in(json!({ "status": 5 }))),
        login_result(150, 0, "TTF"),
    );
    assert_eq!(sim.events(), sign_in_events(0, 150, 5));
    assert_eq!(sim.agent(150).sessions, 1);
}

#[test]
fn force_login_takes_over_an_idle_session_with_the_new_status() {
    let mut sim = Sim::new(meeting_platform(), vec![idle(&[150])]);
    assert_eq!(sim.agent(150).sessions, 1);
    assert_success(
        &sim.op_at(
            1_000,
            Op::ForceLogin,
            150,
            sign_in(json!({ "status": "3" })),
        ),
        login_result(150, 1_000, "TTF"),
    );
    assert_eq!(sim.events(), sign_in_events(1_000, 150, 3));
    let agent = sim.agent(150);
    assert_eq!((agent.sessions, agent.state), (2, AgentState::Busy));
    sim.assert_rebuilds();
}

#[test]
fn force_login_of_a_conference_member_keeps_the_conference_and_sends_only_in_service() {
    let mut sim = Sim::new(meeting_platform(), vec![idle(&[101, 102])]);
    let conf = sim.start_conf(0, 101, 4);
    sim.join(1_000, 101, 102);
    sim.take_events();
    for (agent, ms) in [(102, 2_000), (101, 3_000)] {
        assert_success(
            &sim.op_at(ms, Op::ForceLogin, agent, sign_in(json!({ "status": 3 }))),
            login_result(agent, ms, "TTF"),
        );
        assert_eq!(
            sim.take_events(),
            vec![ev(ms, "AgentOther_InService", agent, Value::Null)]
        );
        let a = sim.agent(agent);
        assert_eq!(
            (a.sessions, a.state, a.conf),
            (2, AgentState::Talking, Some(conf))
        );
    }
    // The conference goes on: the chair still chairs, the member still leaves.
    assert_retcode(
        &sim.op_at(4_000, Op::ProlongTime, 101, json!({ "prolongTime": 5 })),
        "0",
    );
    sim.ok_at(5_000, Op::RequestLeaveAgentConf, 102, Value::Null);
    assert_eq!(
        sim.take_events(),
        [
            leave_events(5_000, 102, conf, 2),
            told(5_000, &[101], &pc_agent(conf, 102, 1, 0, 0)),
        ]
        .concat()
    );
    sim.assert_rebuilds();
}

#[test]
fn force_login_of_a_ringing_invitee_keeps_the_invitation() {
    let mut sim = Sim::new(meeting_platform(), vec![idle(&[101, 102])]);
    let conf = sim.start_conf(0, 101, 4);
    sim.ok_at(
        1_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(102)]),
    );
    sim.take_events();
    assert_retcode(
        &sim.op_at(2_000, Op::ForceLogin, 102, sign_in(json!({}))),
        "0",
    );
    assert_eq!(
        sim.take_events(),
        vec![ev(2_000, "AgentOther_InService", 102, Value::Null)]
    );
    sim.ok_at(3_000, Op::AnswerAgentConf, 102, Value::Null);
    assert_eq!(
        sim.take_events(),
        [
            vec![ev(3_000, "AgentConf_SelfJoinResult", 102, conf_json(conf))],
            told(3_000, &[101], &pc_agent(conf, 102, 0, 255, 0)),
        ]
        .concat()
    );
}

// ------------------------------------------------------------------ logout

#[test]
fn logout_signs_out_without_any_event() {
    let mut sim = Sim::new(
        meeting_platform(),
        vec![
            idle(&[150]),
            agents(&[151], AgentState::Busy),
            agents(&[152], AgentState::Work),
        ],
    );
    for agent in [150, 151, 152] {
        assert_success(&sim.op_at(1_000, Op::Logout, agent, Value::Null), json!({}));
        assert!(!sim.agent(agent).signed_in);
        // Signed out: every operation is 100-006 now, a second logout too.
        assert_rejected(
            &sim.op_at(1_000, Op::Logout, agent, Value::Null),
            "100-006",
            "not signed in",
        );
        assert_rejected(
            &sim.op_at(
                1_000,
                Op::RequestAgentConf,
                agent,
                json!({ "memberNum": 2 }),
            ),
            "100-006",
            "not signed in",
        );
    }
    assert_eq!(sim.events(), vec![]);
    // And a new sign-in works.
    assert_retcode(&sim.op_at(2_000, Op::Login, 150, sign_in(json!({}))), "0");
    assert_eq!(sim.events(), sign_in_events(2_000, 150, 4));
    sim.assert_rebuilds();
}

#[test]
fn logout_of_a_signed_out_or_unknown_agent_is_100_006() {
    let mut sim = Sim::new(meeting_platform(), vec![signed_out(&[150])]);
    for agent in [150, 151] {
        assert_rejected(
            &sim.op_at(0, Op::Logout, agent, Value::Null),
            "100-006",
            "not signed in",
        );
        assert_rejected(
            &sim.op_at(0, Op::ForceLogout, agent, Value::Null),
            "100-006",
            "not signed in",
        );
    }
    assert_rejected(
        &sim.submit(Op::Logout, "x1", Value::Null),
        "000-002",
        "agent id",
    );
    assert_rejected(
        &sim.submit(Op::ForceLogout, "60000", Value::Null),
        "000-002",
        "agent id",
    );
    assert_eq!(sim.events(), vec![]);
}

#[test]
fn logout_while_talking_or_in_any_part_of_a_conference_is_100_010() {
    let mut sim = Sim::new(
        latency(100, 100),
        vec![
            idle(&[101, 102, 103, 104]),
            agents(&[105], AgentState::Talking),
        ],
    );
    // 101 applies (105 too, from its call); at 1 s 101 chairs, invites 102 (ringing at 1.1 s)
    // and 103 (which joins).
    sim.submit_at(0, Op::RequestAgentConf, "101", json!({ "memberNum": 5 }));
    assert_rejected(
        &sim.op_at(10, Op::Logout, 101, Value::Null),
        "100-010",
        "conference",
    );
    sim.submit_at(
        1_000,
        Op::BatchAddParticipant,
        "101",
        addresses(vec![agent_addr(102), agent_addr(103)]),
    );
    // 102 is invited, its phone not yet ringing.
    assert_rejected(
        &sim.op_at(1_050, Op::Logout, 102, Value::Null),
        "100-010",
        "conference",
    );
    sim.submit_at(1_200, Op::AnswerAgentConf, "103", Value::Null);
    sim.advance_to(2_000);
    let conf = sim.conf_of(101).unwrap();
    assert!(
        sim.conference(conf)
            .member_at(&member(102))
            .is_some_and(|m| !m.is_joined())
    );
    assert!(
        sim.conference(conf)
            .member_at(&member(103))
            .is_some_and(|m| m.is_joined())
    );
    for agent in [101, 102, 103, 105] {
        assert_rejected(
            &sim.op_at(2_000, Op::Logout, agent, Value::Null),
            "100-010",
            "forceLogout",
        );
        assert!(sim.agent(agent).signed_in);
    }
    // 104, idle, may.
    assert_success(&sim.op_at(2_000, Op::Logout, 104, Value::Null), json!({}));
    sim.assert_rebuilds();
}

fn member(id: u32) -> confsim_core::state::Address {
    confsim_core::state::Address::Agent(confsim_core::AgentId(id))
}

// ------------------------------------------------------------------ forceLogout

#[test]
fn force_logout_of_an_idle_agent_sends_only_shutdown_service() {
    let mut sim = Sim::new(latency(40, 40), vec![agents(&[150], AgentState::Busy)]);
    assert_success(
        &sim.op_at(1_000, Op::ForceLogout, 150, Value::Null),
        json!({}),
    );
    // Signed out at once: further calls are 100-006 (a second forceLogout too).
    assert!(!sim.agent(150).signed_in);
    assert_rejected(
        &sim.op_at(1_010, Op::ForceLogout, 150, Value::Null),
        "100-006",
        "not signed in",
    );
    assert_rejected(
        &sim.op_at(1_010, Op::Login, 150, sign_in(json!({}))),
        "000-007",
        "in progress",
    );
    sim.advance_to(2_000);
    assert_eq!(sim.events(), vec![shutdown(1_040, 150)]);
    assert_eq!(sim.agent(150).state, AgentState::Idle);
    assert_retcode(&sim.op_at(2_000, Op::Login, 150, sign_in(json!({}))), "0");
    sim.assert_rebuilds();
}

#[test]
fn force_logout_of_a_talking_agent_releases_its_call() {
    let mut sim = Sim::new(
        meeting_platform(),
        vec![agents(&[150], AgentState::Talking)],
    );
    assert!(sim.agent(150).peer.is_some());
    sim.ok_at(0, Op::ForceLogout, 150, Value::Null);
    assert_eq!(
        sim.events(),
        vec![
            ev(
                0,
                "AgentOther_PhoneRelease",
                150,
                json!({ "phoneState": 3 })
            ),
            shutdown(0, 150),
        ]
    );
    let agent = sim.agent(150);
    assert_eq!((agent.state, agent.peer.clone()), (AgentState::Idle, None));
    sim.assert_rebuilds();
}

#[test]
fn force_logout_of_a_member_releases_its_leg_and_members_hear_reason_4() {
    let mut sim = Sim::new(meeting_platform(), vec![idle(&[101, 102, 103])]);
    let conf = sim.start_conf(0, 101, 4);
    sim.join(1_000, 101, 102);
    sim.join(1_000, 101, 103);
    sim.take_events();
    sim.ok_at(2_000, Op::ForceLogout, 102, Value::Null);
    assert_eq!(
        sim.take_events(),
        [
            vec![
                ev(
                    2_000,
                    "AgentOther_PhoneRelease",
                    102,
                    json!({ "phoneState": 3 })
                ),
                ev(2_000, "AgentConf_SelfLeaveResult", 102, conf_json(conf)),
            ],
            told(2_000, &[101, 103], &pc_agent(conf, 102, 1, 4, 0)),
            vec![shutdown(2_000, 102)],
        ]
        .concat()
    );
    assert_eq!(sim.agent(102).conf, None);
    assert_eq!(
        sim.conference(conf).joined_agents().to_vec(),
        vec![agent_id(101), agent_id(103)]
    );
    assert_invariants(sim.platform());
    sim.assert_rebuilds();
}

fn agent_id(id: u32) -> confsim_core::AgentId {
    confsim_core::AgentId(id)
}

#[test]
fn force_logout_of_the_chair_ends_the_conference() {
    let mut sim = Sim::new(meeting_platform(), vec![idle(&[101, 102, 103, 104])]);
    let conf = sim.start_conf(0, 101, 6);
    sim.join(1_000, 101, 102);
    sim.join(1_000, 101, 103);
    // A phone joined, and 104 still ringing.
    sim.ok_at(
        1_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![phone_addr("5551000")]),
    );
    sim.advance_to(1_000 + ANSWER_MS);
    sim.ok_at(
        7_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(104)]),
    );
    sim.take_events();
    sim.ok_at(8_000, Op::ForceLogout, 101, Value::Null);
    // The chair is signed out from the moment of the answer: it hears nothing more of the
    // conference but its own leave.
    let present = [102, 103];
    assert_eq!(
        sim.take_events(),
        [
            // The invitation is cancelled and the phone leaves; the members present hear it.
            unring_events(8_000, 104, 3),
            told(8_000, &present, &pc_agent(conf, 104, 1, 3, 1)),
            told(8_000, &present, &pc_phone(conf, "5551000", 1, 3, 0)),
            // The chair leaves first, announced with reason 4, and gets no AgentState_Ready;
            vec![
                ev(
                    8_000,
                    "AgentOther_PhoneRelease",
                    101,
                    json!({ "phoneState": 3 })
                ),
                ev(8_000, "AgentConf_SelfLeaveResult", 101, conf_json(conf)),
            ],
            told(8_000, &[102, 103], &pc_agent(conf, 101, 1, 4, 0)),
            // then every other member, with reason 3.
            leave_events(8_000, 102, conf, 3),
            told(8_000, &[103], &pc_agent(conf, 102, 1, 3, 0)),
            leave_events(8_000, 103, conf, 3),
            vec![shutdown(8_000, 101)],
        ]
        .concat()
    );
    assert!(sim.platform().conferences().is_empty());
    for agent in [101, 102, 103, 104] {
        assert_eq!(sim.agent(agent).conf, None);
    }
    assert_eq!(sim.engine.pending_timers(), vec![]);
    sim.assert_rebuilds();
}

#[test]
fn force_logout_of_a_ringing_invitee_cancels_its_invitation() {
    let mut sim = Sim::new(meeting_platform(), vec![idle(&[101, 102, 103])]);
    let conf = sim.start_conf(0, 101, 4);
    sim.join(1_000, 101, 103);
    sim.ok_at(
        2_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(102)]),
    );
    sim.take_events();
    sim.ok_at(3_000, Op::ForceLogout, 102, Value::Null);
    assert_eq!(
        sim.take_events(),
        [
            // Its phone stops ringing; signed out, it gets no AgentState_Ready.
            vec![ev(
                3_000,
                "AgentOther_PhoneRelease",
                102,
                json!({ "phoneState": 3 })
            )],
            told(3_000, &[101, 103], &pc_agent(conf, 102, 1, 4, 1)),
            vec![shutdown(3_000, 102)],
        ]
        .concat()
    );
    assert_eq!(sim.agent(102).conf, None);
    assert!(sim.conference(conf).member_at(&member(102)).is_none());
    // The ring timeout that was pending is gone with it.
    sim.advance_to(2_000 + RING_MS + 1);
    assert_eq!(sim.take_events(), vec![]);
    sim.assert_rebuilds();
}

#[test]
fn force_logout_of_an_invitee_not_yet_ringing_withdraws_the_invitation() {
    let mut sim = Sim::new(latency(100, 100), vec![idle(&[101, 102])]);
    sim.submit_at(0, Op::RequestAgentConf, "101", json!({ "memberNum": 4 }));
    sim.submit_at(
        1_000,
        Op::BatchAddParticipant,
        "101",
        addresses(vec![agent_addr(102)]),
    );
    let conf = sim.conf_of(101).unwrap();
    sim.advance_to(1_000);
    sim.take_events();
    // Invited at 1 s (its phone would ring at 1.1 s); signed out at 1.05 s.
    sim.submit_at(1_050, Op::ForceLogout, "102", Value::Null);
    sim.advance_to(2_000);
    assert_eq!(
        sim.take_events(),
        vec![
            ev(
                1_100,
                "AgentConf_ParticipantChanged",
                101,
                pc_agent(conf, 102, 1, 6, 1)
            ),
            shutdown(1_150, 102),
        ]
    );
    assert_eq!(sim.agent(102).conf, None);
    sim.assert_rebuilds();
}

#[test]
fn force_logout_of_an_applicant_fails_its_application_with_cause_21205() {
    // Zero latency, the same instant: the application's first step finds it signed out.
    let mut sim = Sim::new(meeting_platform(), vec![idle(&[101])]);
    sim.submit(Op::RequestAgentConf, "101", json!({ "memberNum": 4 }));
    sim.submit(Op::ForceLogout, "101", Value::Null);
    sim.settle();
    assert_eq!(
        sim.events(),
        vec![
            ev(0, "AgentConf_RequestFailed", 101, json!({ "cause": 21205 })),
            shutdown(0, 101),
        ]
    );
    assert!(sim.platform().conferences().is_empty());
    assert_eq!(sim.agent(101).conf, None);
    sim.assert_rebuilds();

    // With latency, in the middle of the sequence: the next step fails instead.
    let mut sim = Sim::new(latency(100, 100), vec![idle(&[101])]);
    sim.submit_at(0, Op::RequestAgentConf, "101", json!({ "memberNum": 4 }));
    sim.submit_at(150, Op::ForceLogout, "101", Value::Null);
    sim.advance_to(1_000);
    assert_eq!(
        sim.events(),
        vec![
            ev(100, "AgentState_Busy", 101, Value::Null),
            ev(
                200,
                "AgentConf_RequestFailed",
                101,
                json!({ "cause": 21205 })
            ),
            shutdown(250, 101),
        ]
    );
    let agent = sim.agent(101);
    assert_eq!((agent.conf, agent.state), (None, AgentState::Idle));
    assert!(sim.platform().conferences().is_empty());
    sim.assert_rebuilds();
}

#[test]
fn force_logout_supersedes_a_sign_in_whose_events_had_not_come() {
    let mut sim = Sim::new(latency(100, 100), vec![signed_out(&[150])]);
    sim.submit_at(0, Op::Login, "150", sign_in(json!({ "status": 3 })));
    assert_success(&sim.op_at(50, Op::ForceLogout, 150, Value::Null), json!({}));
    sim.advance_to(1_000);
    assert_eq!(sim.events(), vec![shutdown(150, 150)]);
    let agent = sim.agent(150);
    assert_eq!((agent.signed_in, agent.state), (false, AgentState::Idle));
    sim.assert_rebuilds();
}

#[test]
fn a_roster_group_signed_out_at_the_start_must_sign_in_first() {
    let group = AgentGroup {
        signed_in: false,
        ..idle(&[150])
    };
    let mut sim = Sim::new(meeting_platform(), vec![group]);
    assert_rejected(
        &sim.op_at(0, Op::RequestAgentConf, 150, json!({ "memberNum": 2 })),
        "100-006",
        "not signed in",
    );
    assert_retcode(&sim.op_at(0, Op::Login, 150, sign_in(json!({}))), "0");
    assert_retcode(
        &sim.op_at(0, Op::RequestAgentConf, 150, json!({ "memberNum": 2 })),
        "0",
    );
    sim.assert_rebuilds();
}

// ------------------------------------------------------------------ the sign-out window

/// The event types docs/semantics.md allows to an agent after its forced sign-out: the
/// events of the sign-out itself and `AgentOther_ShutdownService`.
const SIGN_OUT_EVENTS: [&str; 4] = [
    "AgentOther_PhoneRelease",
    "AgentConf_SelfLeaveResult",
    "AgentState_Ready",
    "AgentOther_ShutdownService",
];

/// An invitee that answers and is signed out before its answer takes effect does not join:
/// the sign-out overtakes the answer, and the members hear the invitation end with reason 4.
#[test]
fn an_invitee_signed_out_while_its_answer_is_on_its_way_does_not_join() {
    let mut sim = Sim::new(latency(100, 100), vec![idle(&[101, 102, 103])]);
    sim.submit_at(0, Op::RequestAgentConf, "101", json!({ "memberNum": 4 }));
    sim.advance_to(1_000);
    let conf = sim.conf_of(101).expect("a conference");
    sim.ok_at(
        1_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(102)]),
    );
    sim.advance_to(1_500);
    sim.take_events();
    assert_retcode(
        &sim.submit_at(2_000, Op::AnswerAgentConf, "102", Value::Null),
        "0",
    );
    assert_retcode(
        &sim.submit_at(2_010, Op::ForceLogout, "102", Value::Null),
        "0",
    );
    sim.advance_to(3_000);
    let events = sim.take_events();
    for e in events.iter().filter(|e| e.2 == 102) {
        assert!(
            SIGN_OUT_EVENTS.contains(&e.1),
            "{e:?} to signed-out 102: {events:#?}"
        );
    }
    assert!(
        !events.iter().any(|e| e.1 == "AgentConf_SelfJoinResult"),
        "{events:#?}"
    );
    assert!(
        events.contains(&ev(
            2_110,
            "AgentConf_ParticipantChanged",
            101,
            pc_agent(conf, 102, 1, 4, 1)
        )),
        "{events:#?}"
    );
    assert!(sim.conference(conf).member_at(&member(102)).is_none());
    sim.assert_rebuilds();
}

/// With latency, a member signed out by `forceLogout` stays in its conference until its
/// sign-out batch fires one draw later; in between it must hear nothing more about the others.
#[test]
fn a_member_signed_out_hears_nothing_more() {
    let mut sim = Sim::new(latency(100, 100), vec![idle(&[101, 102, 103])]);
    sim.submit_at(0, Op::RequestAgentConf, "101", json!({ "memberNum": 4 }));
    sim.submit_at(
        1_000,
        Op::BatchAddParticipant,
        "101",
        addresses(vec![agent_addr(102), agent_addr(103)]),
    );
    sim.submit_at(1_200, Op::AnswerAgentConf, "102", Value::Null);
    sim.advance_to(2_000);
    sim.take_events();
    // 103 answers at 2 s (told at 2.1 s); 102 is signed out at 2.05 s (its batch at 2.15 s).
    sim.submit_at(2_000, Op::AnswerAgentConf, "103", Value::Null);
    sim.submit_at(2_050, Op::ForceLogout, "102", Value::Null);
    sim.advance_to(3_000);
    let events = sim.take_events();
    for e in events.iter().filter(|e| e.2 == 102) {
        assert!(
            SIGN_OUT_EVENTS.contains(&e.1),
            "{e:?} to signed-out 102: {events:#?}"
        );
    }
}

/// A ringing invitee and its chair signed out at the same instant, the invitee first: its
/// sign-out batch comes before the chair's, with nobody present to hear that the invitation
/// ended. It is still out of the conference then: the chair's batch, which ends the
/// conference, tells it nothing more (it used to get a second `PhoneRelease`; found by
/// `random_family_runs_keep_the_promises_around_known_bugs`).
#[test]
fn an_invitee_signed_out_before_its_signing_out_chair_hears_nothing_more() {
    invitee_then_chair_signed_out(
        Op::ForceLogout,
        vec![
            ev(
                2_100,
                "AgentOther_PhoneRelease",
                102,
                json!({ "phoneState": 3 }),
            ),
            ev(2_100, "AgentOther_ShutdownService", 102, Value::Null),
        ],
    );
}

/// Ringing invitee 102 sends `op` at 2 s, then its chair 101 is signed out at the same
/// instant (latency 100 ms): 102 hears exactly `expected`, and it and the conference are gone.
#[track_caller]
fn invitee_then_chair_signed_out(op: Op, expected: Vec<Ev>) {
    let mut sim = ringing_invitee();
    sim.ok_at(2_000, op, 102, Value::Null);
    sim.ok_at(2_000, Op::ForceLogout, 101, Value::Null);
    sim.advance_to(3_000);
    assert_eq!(sim.events_of(102), expected);
    assert_eq!(sim.agent(102).conf, None);
    assert!(sim.platform().conferences().is_empty());
    sim.assert_rebuilds();
}

/// An invitee rejects just before its chair is signed out: the rejection's notification fires
/// first, with nobody present to hear that the invitation ended (the chair is signing out),
/// and the invitee hears its phone released once. It is out of the conference from then on:
/// the chair's batch, which ends the conference, tells it nothing more (it used to get a
/// second `PhoneRelease` and `AgentState_Ready`).
#[test]
fn an_invitee_rejecting_as_its_chair_signs_out_hears_its_release_once() {
    invitee_then_chair_signed_out(
        Op::RejectAgentConf,
        vec![
            ev(
                2_100,
                "AgentOther_PhoneRelease",
                102,
                json!({ "phoneState": 2 }),
            ),
            ev(2_100, "AgentState_Ready", 102, Value::Null),
        ],
    );
}

/// A chair signed out just before its conference's warning is due: the warning stops with the
/// `forceLogout` (only the chair would hear it, and its sign-out ends the conference), so the
/// chair hears nothing but its sign-out batch (it used to get `AgentConf_Timeout` signed out;
/// found by `random_family_runs_keep_every_promise`).
#[test]
fn a_chair_signed_out_just_before_the_warning_hears_only_its_sign_out() {
    let mut sim = Sim::new(latency(100, 100), vec![idle(&[101])]);
    sim.ok_at(
        0,
        Op::RequestAgentConf,
        101,
        json!({ "memberNum": 4, "time": 4, "promptTime": 3 }),
    );
    sim.advance_to(1_000);
    let started = sim
        .events_of(101)
        .iter()
        .find(|e| e.1 == "AgentConf_RequestSuccess")
        .map(|e| e.0)
        .expect("the conference started");
    let warning = started + 60_000;
    sim.take_events();
    sim.ok_at(warning - 50, Op::ForceLogout, 101, Value::Null);
    sim.advance_to(warning + 1_000);
    let heard: Vec<(i64, &str)> = sim.events_of(101).iter().map(|e| (e.0, e.1)).collect();
    assert_eq!(
        heard,
        [
            (warning + 50, "AgentOther_PhoneRelease"),
            (warning + 50, "AgentConf_SelfLeaveResult"),
            (warning + 50, "AgentOther_ShutdownService"),
        ]
    );
    assert!(sim.platform().conferences().is_empty());
    sim.assert_rebuilds();
}

/// A member signed out while the chair's removal of it is on its way: the sign-out releases its
/// leg itself, in its batch, and the others hear it left because it signed out (reason 4), not
/// removed (it used to get the removal's `PhoneRelease` and `SelfLeaveResult` signed out, then
/// its batch; found by `random_family_runs_keep_every_promise`).
#[test]
fn a_member_signed_out_while_being_removed_leaves_by_its_sign_out() {
    let mut sim = Sim::new(latency(100, 100), vec![idle(&[101, 102])]);
    sim.ok_at(0, Op::RequestAgentConf, 101, json!({ "memberNum": 4 }));
    sim.ok_at(
        1_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(102)]),
    );
    sim.ok_at(2_000, Op::AnswerAgentConf, 102, Value::Null);
    sim.advance_to(3_000);
    let conf = sim.conf_of(101).expect("the conference");
    sim.take_events();
    assert_retcode(
        &sim.op_at(
            3_000,
            Op::BatchRemoveParticipant,
            101,
            addresses(vec![agent_addr(102)]),
        ),
        "0",
    );
    sim.ok_at(3_000, Op::ForceLogout, 102, Value::Null);
    sim.advance_to(4_000);
    let heard: Vec<(i64, &str)> = sim.events_of(102).iter().map(|e| (e.0, e.1)).collect();
    assert_eq!(
        heard,
        [
            (3_100, "AgentOther_PhoneRelease"),
            (3_100, "AgentConf_SelfLeaveResult"),
            (3_100, "AgentOther_ShutdownService"),
        ]
    );
    assert_eq!(
        sim.events_of(101),
        told(3_100, &[101], &pc_agent(conf, 102, 1, 4, 0))
    );
    sim.assert_rebuilds();
}

/// An application sent right after a sign-in, before the sign-in's events are out: when its
/// platform check comes first, the agent is not yet in service and the application fails
/// (21201) before `AgentOther_InService`; when the sign-in's events come first, it succeeds
/// after them. Never `AgentState_Busy` before the sign-in's `AgentState_Ready`, which would tell
/// the client the agent is idle while it is in a conference.
#[test]
fn an_application_checked_before_the_sign_in_is_announced_fails() {
    let (mut early, mut late) = (0, 0);
    for seed in 0..60 {
        let mut sim = Sim::with_seed(seed, latency(0, 100), vec![signed_out(&[101])]);
        assert_retcode(
            &sim.op_at(0, Op::Login, 101, json!({ "password": "", "status": "4" })),
            "0",
        );
        assert_retcode(
            &sim.op_at(1, Op::RequestAgentConf, 101, json!({ "memberNum": 2 })),
            "0",
        );
        sim.drain();
        let types: Vec<&str> = sim.events_of(101).iter().map(|e| e.1).collect();
        let ready = types.iter().position(|t| *t == "AgentState_Ready").unwrap();
        if types.contains(&"AgentConf_RequestFailed") {
            early += 1;
            assert_eq!(
                types,
                [
                    "AgentConf_RequestFailed",
                    "AgentOther_InService",
                    "AgentState_Ready"
                ],
                "seed {seed}"
            );
        } else {
            late += 1;
            let busy = types.iter().position(|t| *t == "AgentState_Busy").unwrap();
            assert!(ready < busy, "seed {seed}: {types:?}");
        }
        sim.assert_rebuilds();
    }
    assert!(
        early > 0 && late > 0,
        "both orders occur: {early} early, {late} late"
    );
}
