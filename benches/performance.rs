//! The numbers of docs/PERFORMANCE.md: validate, plan (file target and the GoTo emulator) and
//! apply (against the emulator at a fixed rate limit) at 1,000, 10,000 and 100,000 people,
//! run as the real release binary. Prints the document's tables (markdown) on stdout.
//!
//! Run by scripts/performance.sh, which writes docs/PERFORMANCE.md; by hand:
//! `cargo bench --bench performance [-- SIZES...]`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::floor;
use common::generate::{self, Drift, Layout, Org};
use goto_emulator::{Config, Emulator, RequestCounts};
use serde_json::Value;

/// Requests per second: rollcall's `requests_per_second` and the emulator's rate limit.
const RATE: u32 = 2000;
/// Runs of the read-only steps (the median is reported).
const RUNS: usize = 3;
/// Entra's initial cycle, minutes per user (provisioning-anchors.md §1.12).
const ENTRA_MIN_PER_USER: (f64, f64) = (0.01, 0.08);

/// One run of the binary.
struct Run {
    wall: Duration,
    peak_kb: u64,
    stdout: String,
    stderr: String,
    ok: bool,
}

/// `rollcall ARGS` under /usr/bin/time (peak RSS), with the emulator's address and token in
/// the environment when given.
fn rollcall(args: &[&str], emu: Option<&Emulator>, scratch: &Path) -> Run {
    // ROLLCALL_BENCH_BIN: another build of rollcall (an older commit's, to compare).
    let binary = std::env::var("ROLLCALL_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rollcall").to_owned());
    let report = scratch.join("time.report");
    let time = Path::new("/usr/bin/time").exists();
    let mut cmd = if time {
        let mut c = Command::new("/usr/bin/time");
        c.args(["-f", "%M", "-o"]).arg(&report).arg(binary);
        c
    } else {
        Command::new(binary)
    };
    cmd.args(["--quiet", "--color", "never"]).args(args);
    cmd.env_remove("GOTO_PAT").env_remove("GOTO_REFRESH_TOKEN").env_remove("GOTO_CLIENT_ID");
    if let Some(emu) = emu {
        cmd.env("ROLLCALL_API_URL", emu.api_url())
            .env("ROLLCALL_TOKEN_URL", emu.token_url())
            .env("GOTO_ACCESS_TOKEN", "at-static");
    }
    let (out, err) = (scratch.join("stdout"), scratch.join("stderr"));
    cmd.stdout(std::fs::File::create(&out).unwrap()).stderr(std::fs::File::create(&err).unwrap());
    cmd.stdin(Stdio::null());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("run rollcall");
    let pid = child.id();
    let mut peak_kb = 0;
    let status = loop {
        if !time {
            peak_kb = peak_kb.max(vm_hwm_kb(pid).unwrap_or(0));
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let wall = started.elapsed();
    if time {
        peak_kb = std::fs::read_to_string(&report)
            .ok()
            .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()))
            .unwrap_or(0);
    }
    Run {
        wall,
        peak_kb,
        stdout: std::fs::read_to_string(out).unwrap_or_default(),
        stderr: std::fs::read_to_string(err).unwrap_or_default(),
        ok: status.success(),
    }
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// The median of `RUNS` runs (by wall time), with the highest peak of them.
fn median(mut runs: Vec<Run>) -> Run {
    for r in &runs {
        assert!(r.ok, "rollcall failed:\n{}{}", r.stdout, r.stderr);
    }
    let peak = runs.iter().map(|r| r.peak_kb).max().unwrap_or(0);
    runs.sort_by_key(|r| r.wall);
    let mut m = runs.swap_remove(RUNS / 2);
    m.peak_kb = peak;
    m
}

/// The writes of an apply, timed from the emulator's side: from the first write request to
/// the last one, and how many writes that was; then the read-back until the last request.
struct Phase {
    writes: Duration,
    requests: u64,
    read_back: Duration,
    read_back_requests: u64,
}

/// Polls the emulator's counts while `f` runs.
fn watch<T>(emu: &Emulator, f: impl FnOnce() -> T) -> (T, Option<Phase>) {
    let done = Arc::new(AtomicBool::new(false));
    std::thread::scope(|s| {
        let done2 = done.clone();
        let sampler = s.spawn(move || {
            let mut first_write: Option<Instant> = None;
            let mut last_write = (Instant::now(), 0u64, 0u64);
            let mut last = (Instant::now(), 0u64);
            while !done2.load(Ordering::Relaxed) {
                let n = emu.requests();
                let now = Instant::now();
                let writes = n.create + n.update + n.delete;
                if first_write.is_none() && writes > 0 {
                    first_write = Some(now);
                }
                if writes != last_write.1 {
                    last_write = (now, writes, n.total);
                }
                if n.total != last.1 {
                    last = (now, n.total);
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            first_write.map(|t| Phase {
                writes: last_write.0 - t,
                requests: last_write.1,
                read_back: last.0 - last_write.0,
                read_back_requests: last.1 - last_write.2,
            })
        });
        let result = f();
        done.store(true, Ordering::Relaxed);
        (result, sampler.join().unwrap())
    })
}

/// A manifest directory for `org` with a `file` target and a live snapshot drifted by `drift`;
/// also a copy whose target is goto (for the emulator). Returns (file dir, goto dir, snapshot).
fn site(root: &Path, org: &Org, drift: Drift, layout: Layout) -> (PathBuf, PathBuf, Value) {
    let file = root.join("file");
    let goto = root.join("goto");
    generate::write_manifest_as(&file, org, layout).unwrap();
    generate::write_snapshot(&file.join("live.json"), org, drift, 7).unwrap();
    generate::write_manifest_as(&goto, org, layout).unwrap();
    let manifest = std::fs::read_to_string(goto.join("rollcall.yaml")).unwrap();
    let target = "target: { kind: file, path: live.json }";
    assert!(manifest.contains(target), "the generator's target line changed");
    std::fs::write(
        goto.join("rollcall.yaml"),
        manifest.replace(target, &format!("target: {{ kind: goto, requests_per_second: {RATE} }}")),
    )
    .unwrap();
    let snapshot = serde_json::from_str(&std::fs::read_to_string(file.join("live.json")).unwrap()).unwrap();
    (file, goto, snapshot)
}

fn emulator(snapshot: Value) -> Emulator {
    let mut config = Config::default();
    config.faults.rate_limit_per_second = Some(RATE);
    Emulator::start(Some(snapshot), config).unwrap()
}

fn kinds(n: &RequestCounts) -> String {
    let mut parts = Vec::new();
    for (name, v) in [
        ("token", n.token),
        ("/me", n.me),
        ("licenses", n.licenses),
        ("list users", n.list_users),
        ("get user", n.get_user),
        ("create", n.create),
        ("update", n.update),
        ("delete", n.delete),
    ] {
        if v > 0 {
            parts.push(format!("{v} {name}"));
        }
    }
    if n.status_429 > 0 {
        parts.push(format!("({} answered 429)", n.status_429));
    }
    format!("{}: {}", n.total, parts.join(", "))
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 { format!("{s:.2} s") } else { format!("{s:.1} s") }
}

fn mb(kb: u64) -> String {
    format!("{} MB", kb / 1024)
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Each phase `rollcall -vv plan` names, and its milliseconds.
type Phases = Vec<(String, u64)>;

/// `rollcall -vv plan DIR`'s phases, from the run with the median total of `RUNS`.
fn phase_times(dir: &str) -> Phases {
    let mut runs: Vec<Phases> = (0..RUNS)
        .map(|_| {
            let binary =
                std::env::var("ROLLCALL_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rollcall").to_owned());
            let o = Command::new(binary).args(["-vv", "plan", dir]).output().unwrap();
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .filter_map(|l| {
                    let (phase, t) = l.rsplit_once(": ")?;
                    Some((phase.to_owned(), t.strip_suffix(" ms")?.parse().ok()?))
                })
                .collect()
        })
        .collect();
    runs.sort_by_key(|r| r.iter().map(|(_, t)| t).sum::<u64>());
    runs.swap_remove(RUNS / 2)
}

fn summary_line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines().rev().find(|l| l.starts_with(prefix)).unwrap_or("?")
}

/// A row of the main table.
struct Row {
    step: &'static str,
    n: usize,
    wall: Duration,
    peak_kb: u64,
    requests: String,
    floor: String,
    aim: String,
}

fn main() {
    let sizes: Vec<usize> = {
        let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
        if args.is_empty() { vec![1_000, 10_000, 100_000] } else { args }
    };
    // `-- --generate DIR [SIZES...]` only writes the organisations (DIR/LAYOUT/N/{file,goto}),
    // for profiling by hand.
    if let Some(at) = std::env::args().position(|a| a == "--generate") {
        let root = PathBuf::from(std::env::args().nth(at + 1).expect("--generate DIR"));
        for &n in &sizes {
            let org = generate::org(n, 50, 42);
            for layout in [Layout::Mixed, Layout::SingleFile] {
                let dir = root.join(if layout == Layout::Mixed { "mixed" } else { "single" }).join(n.to_string());
                site(&dir, &org, Drift::even(0.01), layout);
                eprintln!("wrote {}", dir.display());
            }
        }
        return;
    }
    let mut rows = Vec::new();
    let mut entra = Vec::new();
    let mut phases: Vec<(Layout, usize, Phases)> = Vec::new();
    let mut floors: Vec<(Layout, usize, floor::Floor, Duration)> = Vec::new();
    for &n in &sizes {
        eprintln!("{n} people ...");
        let tmp = tempfile::tempdir().unwrap();
        let org = generate::org(n, 50, 42);
        let (file, goto, snapshot) = site(&tmp.path().join("drift1"), &org, Drift::even(0.01), Layout::Mixed);
        let (single, _, _) = site(&tmp.path().join("single"), &org, Drift::even(0.01), Layout::SingleFile);
        let (fd, gd) = (file.to_str().unwrap(), goto.to_str().unwrap());
        let big = n >= 100_000;
        let largest = n == *sizes.iter().max().unwrap();
        // The same people in one YAML file: validate, plan, where the time goes, the floor.
        let sd = single.to_str().unwrap();
        let v = median((0..RUNS).map(|_| rollcall(&["validate", sd], None, tmp.path())).collect());
        rows.push(Row {
            step: "validate (one YAML file)",
            n,
            wall: v.wall,
            peak_kb: v.peak_kb,
            requests: "none".into(),
            floor: "—".into(),
            aim: if big { verdict(v.wall < Duration::from_millis(500), "< 0.5 s") } else { String::new() },
        });
        let p = median((0..RUNS).map(|_| rollcall(&["plan", sd], None, tmp.path())).collect());
        rows.push(Row {
            step: "plan, file target (one YAML file, 1 % drift)",
            n,
            wall: p.wall,
            peak_kb: p.peak_kb,
            requests: "none".into(),
            floor: "—".into(),
            aim: if big {
                verdict(p.wall < Duration::from_millis(800) && p.peak_kb < 250 * 1024, "< 0.8 s and < 250 MB")
            } else {
                String::new()
            },
        });
        if largest {
            phases.push((Layout::SingleFile, n, phase_times(sd)));
            floors.push((Layout::SingleFile, n, floor::measure(&single), p.wall));
        }

        let v = median((0..RUNS).map(|_| rollcall(&["validate", fd], None, tmp.path())).collect());
        rows.push(Row {
            step: "validate (mixed sources)",
            n,
            wall: v.wall,
            peak_kb: v.peak_kb,
            requests: "none".into(),
            floor: "—".into(),
            aim: if big { verdict(v.wall < Duration::from_millis(500), "< 0.5 s") } else { String::new() },
        });

        let p = median((0..RUNS).map(|_| rollcall(&["plan", fd], None, tmp.path())).collect());
        rows.push(Row {
            step: "plan, file target (mixed sources, 1 % drift)",
            n,
            wall: p.wall,
            peak_kb: p.peak_kb,
            requests: "none".into(),
            floor: "—".into(),
            aim: if big {
                verdict(p.wall < Duration::from_millis(800) && p.peak_kb < 250 * 1024, "< 0.8 s and < 250 MB")
            } else {
                String::new()
            },
        });
        let planned = summary_line(&p.stdout, "Plan:").to_owned();
        if largest {
            phases.push((Layout::Mixed, n, phase_times(fd)));
            floors.push((Layout::Mixed, n, floor::measure(&file), p.wall));
        }

        let emu = emulator(snapshot);
        let mut runs = Vec::new();
        let mut counts = None;
        for _ in 0..RUNS {
            emu.reset_requests();
            runs.push(rollcall(&["plan", gd], Some(&emu), tmp.path()));
            counts = Some(emu.requests());
        }
        let p = median(runs);
        let c = counts.unwrap();
        assert_eq!(summary_line(&p.stdout, "Plan:"), planned, "the emulator plans what the file target plans");
        rows.push(Row {
            step: "plan, GoTo emulator (1 % drift)",
            n,
            wall: p.wall,
            peak_kb: p.peak_kb,
            requests: kinds(&c),
            floor: secs(Duration::from_secs_f64(c.total as f64 / f64::from(RATE))),
            aim: if big {
                verdict(p.wall < Duration::from_millis(1500) && p.peak_kb < 350 * 1024, "< 1.5 s and < 350 MB")
            } else {
                String::new()
            },
        });
        drop(emu);

        // Apply: the first load of an empty account, then a 10 % drift.
        for (step, drift) in [
            ("apply, initial load (empty account)", Drift { renamed: 0.0, missing: 1.0, left: 0.0 }),
            ("apply, 10 % drift", Drift::even(0.10)),
        ] {
            let root = tmp.path().join(step.replace([' ', ',', '%', '(', ')'], "_"));
            let (_, goto, snapshot) = site(&root, &org, drift, Layout::Mixed);
            let emu = emulator(snapshot);
            let gd = goto.to_str().unwrap();
            let (a, phase) = watch(&emu, || rollcall(&["apply", gd, "--auto-approve"], Some(&emu), tmp.path()));
            assert!(a.ok, "apply failed:\n{}{}", a.stdout, a.stderr);
            let c = emu.requests();
            let report = summary_line(&a.stdout, "Apply complete:").to_owned();
            let after = rollcall(&["plan", gd, "--detailed-exitcode"], Some(&emu), tmp.path());
            assert!(after.ok, "the plan after apply is not empty:\n{}", after.stdout);
            let phase = phase.expect("apply wrote");
            let floor = Duration::from_secs_f64(phase.requests as f64 / f64::from(RATE));
            let over = phase.writes.as_secs_f64() / floor.as_secs_f64() - 1.0;
            rows.push(Row {
                step,
                n,
                wall: a.wall,
                peak_kb: a.peak_kb,
                requests: format!("{}; {report}", kinds(&c)),
                floor: format!(
                    "writes: {} for {} requests, floor {} ({:+.0} %); then read-back: {} for {} requests",
                    secs(phase.writes),
                    phase.requests,
                    secs(floor),
                    over * 100.0,
                    secs(phase.read_back),
                    phase.read_back_requests,
                ),
                aim: verdict(over <= 0.10, "writes within 10 % of the floor"),
            });
            if step.starts_with("apply, initial") {
                let users = report
                    .trim_start_matches("Apply complete: ")
                    .split(' ')
                    .next()
                    .and_then(|s| s.parse::<usize>().ok())
                    .unwrap_or(0);
                entra.push((n, users, a.wall));
            }
        }
    }

    println!(
        "| step | people | wall | peak memory (rollcall) | requests to the target | rate-limit floor ({RATE} requests/s) | aim |"
    );
    println!("|---|---:|---:|---:|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.step,
            thousands(r.n),
            secs(r.wall),
            mb(r.peak_kb),
            r.requests,
            r.floor,
            r.aim
        );
    }
    for (layout, n, phases) in phases {
        println!();
        println!(
            "Where the time of `rollcall -vv plan` (file target, {}, {} people; the run with the median total of {RUNS}) goes:",
            layout.name(),
            thousands(n)
        );
        println!();
        println!("| phase | time |");
        println!("|---|---:|");
        for (phase, t) in phases {
            println!("| {phase} | {t} ms |");
        }
    }
    if !floors.is_empty() {
        println!();
        println!(
            "The parse floor (`benches/common/floor.rs`, measured in the same run): the same input files parsed and nothing else, one after another on one core — YAML into plain typed structs with serde-saphyr, JSON (Entra export, snapshot) with serde_json, CSV with csv; the YAML events alone for comparison (median of 3 each):"
        );
        println!();
        println!(
            "| organisation | people | input | YAML events | YAML typed | JSON | CSV | snapshot | floor | rollcall plan | plan ÷ floor |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (layout, n, f, plan) in floors {
            println!(
                "| {} | {} | {} MB | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {} | {:.1} |",
                layout.name(),
                thousands(n),
                f.bytes / 1_000_000,
                f.yaml_events_ms,
                f.yaml_typed_ms,
                f.json_ms,
                f.csv_ms,
                f.snapshot_ms,
                f.total_ms(),
                secs(plan),
                plan.as_secs_f64() * 1000.0 / f.total_ms()
            );
        }
    }
    println!();
    println!(
        "| initial load | users created | rollcall | per user | Entra's initial cycle at {} to {} min per user |",
        ENTRA_MIN_PER_USER.0, ENTRA_MIN_PER_USER.1
    );
    println!("|---:|---:|---:|---:|---:|");
    for (n, users, wall) in entra {
        let per = wall.as_secs_f64() / users.max(1) as f64;
        let (lo, hi) = (users as f64 * ENTRA_MIN_PER_USER.0, users as f64 * ENTRA_MIN_PER_USER.1);
        println!(
            "| {} people | {} | {} | {:.2} ms ({:.6} min) | {} to {} ({:.0}x to {:.0}x rollcall's time) |",
            thousands(n),
            thousands(users),
            secs(wall),
            per * 1000.0,
            per / 60.0,
            minutes(lo),
            minutes(hi),
            lo * 60.0 / wall.as_secs_f64(),
            hi * 60.0 / wall.as_secs_f64()
        );
    }
}

fn minutes(m: f64) -> String {
    if m < 120.0 { format!("{m:.0} min") } else { format!("{:.1} h", m / 60.0) }
}

fn verdict(ok: bool, aim: &str) -> String {
    format!("{} {aim}", if ok { "meets" } else { "**misses**" })
}
