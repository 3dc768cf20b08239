//! Engine throughput on the closed-loop day
//! (`scenarios/big-closed-loop-day.json`: 10,000 agents, each applying with memberNum 4, time 60,
//! promptTime 3, holding 5-70 simulated minutes, releasing, thinking 60 s, for 8 simulated hours;
//! platform latency 10-100 ms; 1,299,002 records): journal records per second with the journal
//! written to a file, and with it discarded. A second group runs the scripted `cycles` workload
//! (steps rather than a load generator) for comparison with earlier figures.
//!
//! Run: `cargo bench -p confsim-benches --bench engine`. Compare the figures of one run with
//! each other (and with the machine's serde_json rate), not across machines.

use confsim_benches::{cycles, records_discarded, records_to_file};
use confsim_scenario::{RunOptions, Scenario, run};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;

fn group(c: &mut Criterion, name: &str, scenario: &Scenario) {
    let (report, _) = run(scenario, &RunOptions::default(), std::io::sink()).unwrap();
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.throughput(Throughput::Elements(report.records));
    group.bench_function("journal-to-file", |b| {
        b.iter(|| black_box(records_to_file(scenario)))
    });
    group.bench_function("journal-discarded", |b| {
        b.iter(|| black_box(records_discarded(scenario)))
    });
    group.finish();
}

fn engine(c: &mut Criterion) {
    let day = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/big-closed-loop-day.json");
    let day = confsim_scenario::load(&day).unwrap_or_else(|e| panic!("{e}"));
    group(c, "closed-loop-day", &day);
    group(c, "cycles-10k-agents", &cycles(10_000, 4, 7));
}

criterion_group!(benches, engine);
criterion_main!(benches);
