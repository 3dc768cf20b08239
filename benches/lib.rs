//! Workloads shared by the benchmarks: scenarios built in code, so their size is a parameter.

use confsim_core::{AgentGroup, AgentRange, AgentSet, Op, PlatformConfig, SimDuration, SimTime};
use confsim_scenario::scenario::{Dur, PathAgent, Scenario, StepSpec};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

/// `agents` agents, each applying `rounds` times: apply (memberNum 4, time 60, promptTime 3),
/// hold 5-70 minutes (so some conferences get the warning and some end by timeout first),
/// release, think 60 s, apply again. Platform latency 10-100 ms per event.
pub fn cycles(agents: u32, rounds: u32, seed: u64) -> Scenario {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let first = 101;
    let mut steps = Vec::with_capacity((agents * rounds * 2) as usize);
    for agent in first..first + agents {
        let mut t = rng.random_range(0..600_000u64);
        for _ in 0..rounds {
            steps.push(step(
                t,
                agent,
                Op::RequestAgentConf,
                json!({"memberNum": 4, "time": 60, "promptTime": 3}),
            ));
            let hold = rng.random_range(300_000..4_200_000u64);
            steps.push(step(
                t + hold,
                agent,
                Op::ReleaseAgentConf,
                serde_json::Value::Null,
            ));
            t += hold + 60_000;
        }
    }
    Scenario {
        schema: None,
        name: format!("cycles-{agents}x{rounds}"),
        description: None,
        seed,
        start: SimTime::parse_rfc3339("2026-01-05T09:00:00Z").unwrap_or_default(),
        platform: PlatformConfig::default(),
        agents: vec![AgentGroup::new(AgentSet::Range(first, first + agents - 1))],
        steps,
        load: Vec::new(),
        until: None,
        expect: Vec::new(),
    }
}

fn step(at_ms: u64, agent: u32, op: Op, body: serde_json::Value) -> StepSpec {
    StepSpec {
        at: Dur(SimDuration::from_millis(at_ms)),
        agent: PathAgent(agent.to_string()),
        op,
        body,
    }
}

/// Runs `scenario` with its journal discarded (still formatted and digested, on the journal's
/// thread); returns the records journaled. The body of every throughput bench's iteration.
pub fn records_discarded(scenario: &Scenario) -> u64 {
    confsim_scenario::run(scenario, &Default::default(), std::io::sink())
        .unwrap_or_else(|e| panic!("{e}"))
        .0
        .records
}

/// Conference rounds per agent in the scaling workload, as in the engine bench.
pub const SCALING_ROUNDS: u32 = 4;

/// The scaling workload: `cycles` over `agents` agents, with the
/// platform's agent id range widened to hold them all (the default range, 101-59999, has room
/// for 59,899).
pub fn scaling_workload(agents: u32) -> Scenario {
    let mut scenario = cycles(agents, SCALING_ROUNDS, 7);
    let needed = AgentRange {
        min: 101,
        max: 101 + agents - 1,
    };
    if needed.max > scenario.platform.agent_id_range.max {
        scenario.platform.agent_id_range = needed;
    }
    scenario
}

/// As `records_discarded`, with the journal written to a fresh temporary file.
pub fn records_to_file(scenario: &Scenario) -> u64 {
    let file = tempfile::tempfile().unwrap_or_else(|e| panic!("a temporary file: {e}"));
    confsim_scenario::run(scenario, &Default::default(), file)
        .unwrap_or_else(|e| panic!("{e}"))
        .0
        .records
}
