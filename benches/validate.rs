//! `rollcall validate` on a generated organisation of 100,000 people in 50 groups, run as
//! the real release binary: wall time and peak memory (aim: under 1 s and 400 MB).
//!
//! `cargo bench --bench validate` (optionally `-- USERS GROUPS RUNS`). To profile, set
//! `ROLLCALL_BENCH_DIR=/some/dir`: the organisation is generated there and kept.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::generate;

struct Run {
    wall: Duration,
    peak_kb: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let arg = |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (users, groups, runs) = (arg(0, 100_000), arg(1, 50), arg(2, 5));

    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = std::env::var_os("ROLLCALL_BENCH_DIR").map_or_else(|| tmp.path().join("org"), Into::into);
    let started = Instant::now();
    let org = generate::org(users, groups, 42);
    generate::write_manifest(&dir, &org).expect("write the manifest directory");
    let bytes: u64 = walk(&dir).iter().map(|p| p.metadata().map_or(0, |m| m.len())).sum();
    println!(
        "generated {users} users / {groups} groups ({:.1} MB) in {:.2} s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let binary = Path::new(env!("CARGO_BIN_EXE_rollcall"));
    let mut results: Vec<Run> = (0..runs).map(|_| run(binary, &dir)).collect();
    results.sort_by_key(|r| r.wall);
    let median = &results[results.len() / 2];
    let peak = results.iter().map(|r| r.peak_kb).max().unwrap_or(0);
    println!(
        "validate {users} users / {groups} groups: {:.2} s wall (median of {runs}; best {:.2} s), {} MB peak",
        median.wall.as_secs_f64(),
        results[0].wall.as_secs_f64(),
        peak / 1024
    );
}

/// One `rollcall validate DIR`: wall time from spawn to exit, peak resident set size.
fn run(binary: &Path, dir: &Path) -> Run {
    let time = Path::new("/usr/bin/time");
    let report = dir.with_extension("time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&report).arg(binary);
        c
    } else {
        Command::new(binary)
    };
    cmd.args(["--quiet", "validate"]).arg(dir);
    let started = Instant::now();
    let mut child = cmd.spawn().expect("run rollcall");
    let mut peak_kb = 0;
    // Without /usr/bin/time, sample VmHWM (the kernel's own high-water mark) until exit.
    let status = loop {
        if !time.exists() {
            peak_kb = peak_kb.max(vm_hwm_kb(child.id()).unwrap_or(0));
        }
        match child.try_wait().expect("wait for rollcall") {
            Some(status) => break status,
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    let wall = started.elapsed();
    assert!(status.success(), "rollcall validate failed on the generated organisation ({status})");
    if time.exists() {
        let text = std::fs::read_to_string(&report).expect("read /usr/bin/time's report");
        peak_kb = text.lines().last().and_then(|l| l.trim().parse().ok()).expect("a max RSS in KB");
    }
    Run { wall, peak_kb }
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
