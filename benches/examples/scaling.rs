//! The scaling bench's two workloads (1,000 and 60,000 agents, `scaling_workload`) run in
//! turn, several times, printing each pair's throughputs and their ratio, then the median
//! ratio: the scaling figure (at least 0.5), read on a machine whose speed drifts
//! between runs. Pairs are measured close together, so their ratio is steadier than either
//! figure. `cargo run --release -p confsim-benches --example scaling -- 7`

use confsim_benches::scaling_workload;

/// Runs of the small workload timed per pair: its run is a few milliseconds, so it runs about
/// as long as the large one, and the figure is their mean (as criterion's is).
const SMALL_RUNS: usize = 60;

/// Records per second over `runs` runs, journal discarded, as each run's report times it.
fn records_per_sec(scenario: &confsim_scenario::Scenario, runs: usize) -> f64 {
    let (mut records, mut ms) = (0u64, 0.0);
    for _ in 0..runs {
        let (report, _) = confsim_scenario::run(scenario, &Default::default(), std::io::sink())
            .unwrap_or_else(|e| panic!("{e}"));
        records += report.records;
        ms += report.wall_time_ms;
    }
    records as f64 / (ms / 1000.0)
}

fn main() {
    let pairs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let small = scaling_workload(1_000);
    let large = scaling_workload(60_000);
    let mut ratios = Vec::new();
    for pair in 1..=pairs {
        let s = records_per_sec(&small, SMALL_RUNS);
        let l = records_per_sec(&large, 1);
        ratios.push(l / s);
        println!(
            "pair {pair}: 1,000 agents {:.2} M records/s, 60,000 agents {:.2} M/s, ratio {:.2}",
            s / 1e6,
            l / 1e6,
            l / s
        );
    }
    ratios.sort_by(f64::total_cmp);
    if let Some(median) = ratios.get(ratios.len() / 2) {
        println!("median ratio {median:.2} over {pairs} pairs");
    }
}
