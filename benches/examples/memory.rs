//! Heap bytes per signed-in agent and per active conference, counted by a global
//! allocator that tracks every allocation: the engine (platform state, timer queue, journal
//! writer) built with N signed-in idle agents, then with N/4 conferences active, each with its
//! chair and three invited agents joined (4 members), every timer they imply pending.
//!
//! `cargo run --release -p confsim-benches --example memory` (sizes 1,000, 10,000 and 60,000),
//! or give sizes: `… --example memory -- 10000`.
//!
//! Per agent: (engine with N agents − engine with none) / N. Per active conference: (engine
//! with N/4 four-member conferences − the same engine before them) / (N/4); that includes the
//! conference's pending timers and the change in its four agents' state. Hash tables grow by
//! doubling, so either figure moves with where N falls between two powers of two: read it at
//! the size you care about.

use confsim_benches::cycles;
use confsim_core::{AgentRange, Input, Op, SimDuration};
use confsim_engine::Engine;
use confsim_scenario::runner::header;
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes currently allocated on the heap by the whole process.
fn heap() -> i64 {
    let s = GLOBAL.stats();
    s.bytes_allocated as i64 - s.bytes_deallocated as i64 + s.bytes_reallocated as i64
}

fn id(k: u32) -> String {
    (101 + k).to_string()
}

/// What one size measured.
struct Figures {
    agents: u32,
    conferences: u32,
    engine_empty: i64,
    per_agent: f64,
    per_conference: f64,
}

fn measure(agents: u32) -> Figures {
    let mut scenario = cycles(agents.max(1), 0, 7);
    scenario.platform.agent_id_range = AgentRange {
        min: 101,
        max: (101 + agents).max(59_999),
    };
    let full = header(&scenario, 7);
    let mut empty_header = full.clone();
    empty_header.agents.clear();

    let before = heap();
    let empty = Engine::new(&empty_header, std::io::sink()).unwrap();
    let engine_empty = heap() - before;
    drop(empty);

    let before = heap();
    let mut engine = Engine::new(&full, std::io::sink()).unwrap();
    let with_agents = heap() - before;
    let per_agent = (with_agents - engine_empty) as f64 / f64::from(agents);

    // Chairs are agents 0, 4, 8, …; each invites the next three, who answer.
    let conferences = agents / 4;
    let before = heap();
    let mut at = engine.now();
    let mut advance = |engine: &mut Engine<std::io::Sink>, secs: u64| {
        at = at.saturating_add(SimDuration::from_secs(secs));
        engine.advance_to(at, &mut ()).unwrap();
    };
    for c in 0..conferences {
        let body = json!({"memberNum": 4, "time": 60, "promptTime": 3});
        let response = engine
            .submit(Input::new(Op::RequestAgentConf, id(4 * c), body), &mut ())
            .unwrap();
        assert!(response.is_success(), "{response:?}");
    }
    advance(&mut engine, 10);
    for c in 0..conferences {
        let addresses: Vec<_> = (1..4)
            .map(|m| json!({"addressType": "9", "address": id(4 * c + m)}))
            .collect();
        let body = json!({ "addresses": addresses });
        let response = engine
            .submit(
                Input::new(Op::BatchAddParticipant, id(4 * c), body),
                &mut (),
            )
            .unwrap();
        assert!(response.is_success(), "{response:?}");
    }
    advance(&mut engine, 10);
    for c in 0..conferences {
        for m in 1..4 {
            engine
                .submit(
                    Input::new(Op::AnswerAgentConf, id(4 * c + m), serde_json::Value::Null),
                    &mut (),
                )
                .unwrap();
        }
    }
    advance(&mut engine, 10);
    let platform = engine.platform();
    assert_eq!(platform.active_conferences(), conferences as usize);
    let joined = platform
        .conferences()
        .iter()
        .filter(|c| {
            c.members
                .iter()
                .filter(|m| m.status == confsim_core::state::MemberStatus::Joined)
                .count()
                == 4
        })
        .count();
    assert_eq!(
        joined, conferences as usize,
        "every conference has 4 members"
    );
    let per_conference = (heap() - before) as f64 / f64::from(conferences.max(1));
    drop(engine);

    Figures {
        agents,
        conferences,
        engine_empty,
        per_agent,
        per_conference,
    }
}

fn main() {
    let sizes: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 60_000]
    } else {
        sizes
    };
    println!(
        "{:>8} {:>12} {:>14} {:>16} {:>22}",
        "agents", "conferences", "empty engine", "bytes per agent", "bytes per conference"
    );
    for agents in sizes {
        let f = measure(agents);
        println!(
            "{:>8} {:>12} {:>14} {:>16.0} {:>22.0}",
            f.agents, f.conferences, f.engine_empty, f.per_agent, f.per_conference
        );
    }
}
