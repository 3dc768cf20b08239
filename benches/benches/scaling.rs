//! Flat scaling: the same per-agent workload at 1,000 and at 60,000 agents,
//! in one run, so the two throughputs (journal records per second) are read side by side. The
//! target holds when the 60,000-agent figure is at least half the 1,000-agent one.
//!
//! The workload is the engine bench's (`cycles`: each agent applies, holds 5-70 minutes,
//! releases, thinks a minute, four times over; about 40 records per agent), journal discarded
//! (still formatted and digested), so the larger run has 60 times the records and 60 times the
//! conferences open at once. Only the state grows; the per-record work should not.
//!
//! Run: `cargo bench -p confsim-benches --bench scaling`. Compare the two figures of one run
//! with each other, not across runs or machines.

use confsim_benches::{records_discarded, scaling_workload};
use confsim_scenario::{RunOptions, run};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("scaling");
    group.sample_size(10);
    for agents in [1_000u32, 60_000] {
        let scenario = scaling_workload(agents);
        let (report, _) = run(&scenario, &RunOptions::default(), std::io::sink()).unwrap();
        // The same work per agent at both sizes (the holds are drawn from one seeded stream).
        let per_agent = report.records as f64 / f64::from(agents);
        assert!(
            (38.0..43.0).contains(&per_agent),
            "{per_agent} records per agent"
        );
        group.throughput(Throughput::Elements(report.records));
        group.bench_with_input(
            BenchmarkId::new("records", format!("{agents}-agents")),
            &scenario,
            |b, scenario| b.iter(|| black_box(records_discarded(scenario))),
        );
    }
    group.finish();
}

criterion_group!(benches, scaling);
criterion_main!(benches);
