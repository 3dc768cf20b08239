//! Runs the benchmark workload once and prints the report: a target for profilers.
//! `cargo run --release -p confsim-benches --example cycles -- 10000 4`

fn main() {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let agents = args.first().copied().unwrap_or(10_000);
    let rounds = args.get(1).copied().unwrap_or(4);
    let scenario = confsim_benches::cycles(agents, rounds, 7);
    let (report, _) = confsim_scenario::run(
        &scenario,
        &confsim_scenario::RunOptions::default(),
        std::io::sink(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{} records in {:.0} ms: {:.0} records/s",
        report.records, report.wall_time_ms, report.records_per_sec
    );
}
