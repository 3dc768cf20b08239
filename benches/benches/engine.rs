//! Engine throughput: journal records per second for 10,000 agents cycling through
//! conferences, with the journal written to a file and with it discarded.
//!
//! Run: `cargo bench -p confsim-benches --bench engine`. Compare the two figures of one run
//! with each other (and with the machine's serde_json rate), not across machines.

use confsim_benches::cycles;
use confsim_scenario::{RunOptions, run};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn engine(c: &mut Criterion) {
    let scenario = cycles(10_000, 4, 7);
    let (report, _) = run(&scenario, &RunOptions::default(), std::io::sink()).unwrap();
    let mut group = c.benchmark_group("engine-10k-agents");
    group.sample_size(10);
    group.throughput(Throughput::Elements(report.records));
    group.bench_function("journal-to-file", |b| {
        b.iter(|| {
            let file = tempfile::tempfile().unwrap();
            black_box(
                run(&scenario, &RunOptions::default(), file)
                    .unwrap()
                    .0
                    .records,
            )
        })
    });
    group.bench_function("journal-discarded", |b| {
        b.iter(|| {
            black_box(
                run(&scenario, &RunOptions::default(), std::io::sink())
                    .unwrap()
                    .0
                    .records,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
