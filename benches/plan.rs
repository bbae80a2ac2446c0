//! `rollcall plan` through the `file` target, run as the real release binary: 10,000 and
//! 100,000 desired people against as many live accounts with 1 % drift. Prints wall time and
//! peak memory (aim at 100,000: under 1.5 s and 500 MB, no worse than linear growth).
//!
//! cargo bench --bench plan

mod common;

use common::generate::{self, Drift};
use common::measure;

fn main() {
    let runs = 3;
    let mut previous: Option<(usize, f64)> = None;
    for n in [10_000, 100_000] {
        let tmp = tempfile::tempdir().expect("temp dir");
        // ROLLCALL_BENCH_DIR keeps the generated organisation there, for profiling.
        let dir = std::env::var_os("ROLLCALL_BENCH_DIR")
            .map_or_else(|| tmp.path().join("org"), |d| std::path::PathBuf::from(d).join(n.to_string()));
        let org = generate::org(n, 50, 42);
        generate::write_manifest(&dir, &org).expect("write manifests");
        let live =
            generate::write_snapshot(&dir.join("live.json"), &org, Drift::even(0.01), 7).expect("write snapshot");
        let d = dir.to_str().expect("utf-8 path");
        let mut results: Vec<measure::Measured> =
            (0..runs).map(|_| measure::rollcall(&["plan", d], tmp.path())).collect();
        results.sort_by_key(|r| r.wall);
        let median = &results[runs / 2];
        let out = String::from_utf8_lossy(&median.output.stdout);
        let summary = out.lines().find(|l| l.starts_with("Plan:")).unwrap_or_else(|| {
            panic!("no plan: {}", String::from_utf8_lossy(&median.output.stderr));
        });
        let secs = median.wall.as_secs_f64();
        let growth =
            previous.map(|(m, s)| format!("; {:.1}x the time for {:.0}x the accounts", secs / s, n as f64 / m as f64));
        println!(
            "plan {n} desired x {live} live (1 % drift): {secs:.2} s wall (median of {runs}; best {:.2} s), {} MB peak{}\n  {summary}",
            results[0].wall.as_secs_f64(),
            results.iter().map(|r| r.peak_kb).max().unwrap_or(0) / 1024,
            growth.unwrap_or_default()
        );
        previous = Some((n, secs));
    }
}
