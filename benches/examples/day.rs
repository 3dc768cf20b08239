//! Runs a scenario file in virtual time, the journal to a file or discarded, and prints the
//! records per second: a target for profilers and for comparing builds.
//!
//! `cargo run --release -p confsim-benches --example day -- scenarios/big-closed-loop-day.json [--file PATH] [--until 2h]`

use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .map_or("scenarios/big-closed-loop-day.json", String::as_str);
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let mut scenario = confsim_scenario::load(Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
    if let Some(until) = flag("--until") {
        let until: confsim_scenario::scenario::Dur =
            serde_json::from_value(serde_json::Value::String(until.clone()))
                .unwrap_or_else(|e| panic!("--until {until}: {e}"));
        scenario.until = Some(until);
    }
    let options = confsim_scenario::RunOptions::default();
    let report = match flag("--file") {
        Some(file) => {
            let out = std::fs::File::create(file).unwrap_or_else(|e| panic!("{file}: {e}"));
            confsim_scenario::run(&scenario, &options, out)
                .unwrap_or_else(|e| panic!("{e}"))
                .0
        }
        None => {
            confsim_scenario::run(&scenario, &options, std::io::sink())
                .unwrap_or_else(|e| panic!("{e}"))
                .0
        }
    };
    println!(
        "{} records in {:.0} ms: {:.0} records/s, peak {} bytes, digest {}",
        report.records,
        report.wall_time_ms,
        report.records_per_sec,
        report.peak_memory_bytes.unwrap_or(0),
        report.digest
    );
}
