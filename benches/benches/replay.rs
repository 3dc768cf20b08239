//! Replay against the run that wrote the journal: the bundled closed-loop
//! day (10,000 agents, 8 simulated hours, about 1.3 million records) run with its journal
//! written to a file, the same run with the journal discarded, and a replay of that file
//! (streamed from disk, every record compared), in one run, so the figures are read side by
//! side. The target holds when replaying is at least as fast as the run that wrote the file.
//!
//! Run: `cargo bench -p confsim-benches --bench replay`. Compare the figures of one run with
//! each other, not across runs or machines.

use confsim_scenario::{RunOptions, run};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;

fn replay(c: &mut Criterion) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/big-closed-loop-day.json");
    let scenario = confsim_scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("day.jsonl");
    let (report, _) = run(
        &scenario,
        &RunOptions::default(),
        std::fs::File::create(&journal).unwrap(),
    )
    .unwrap();
    let outcome = confsim_replay::replay_file(&journal).unwrap();
    assert!(outcome.ok, "{}", outcome.human());
    assert_eq!(outcome.records, report.records);

    let mut group = c.benchmark_group("closed-loop-day");
    group.sample_size(10);
    group.throughput(Throughput::Elements(report.records));
    group.bench_function("run-journal-to-file", |b| {
        b.iter(|| {
            let file = tempfile::tempfile_in(dir.path()).unwrap();
            black_box(
                run(&scenario, &RunOptions::default(), file)
                    .unwrap()
                    .0
                    .records,
            )
        })
    });
    group.bench_function("run-journal-discarded", |b| {
        b.iter(|| {
            black_box(
                run(&scenario, &RunOptions::default(), std::io::sink())
                    .unwrap()
                    .0
                    .records,
            )
        })
    });
    group.bench_function("replay-from-file", |b| {
        b.iter(|| black_box(confsim_replay::replay_file(&journal).unwrap().replayed))
    });
    group.finish();
}

criterion_group!(benches, replay);
criterion_main!(benches);
