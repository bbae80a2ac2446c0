//! Runs the real binary and measures it: wall time from spawn to exit, peak resident set.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct Measured {
    pub wall: Duration,
    pub peak_kb: u64,
    pub output: Output,
}

/// `rollcall ARGS` with its peak memory read by /usr/bin/time, or else by sampling VmHWM.
pub fn rollcall(args: &[&str], report_dir: &Path) -> Measured {
    rollcall_with(args, report_dir, |_| {})
}

/// `rollcall`, with `configure` setting the command's environment first.
pub fn rollcall_with(args: &[&str], report_dir: &Path, configure: impl FnOnce(&mut Command)) -> Measured {
    let binary = Path::new(env!("CARGO_BIN_EXE_rollcall"));
    let time = Path::new("/usr/bin/time");
    let report = report_dir.join("time.report");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&report).arg(binary);
        c
    } else {
        Command::new(binary)
    };
    configure(&mut cmd);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let child = cmd.spawn().expect("run rollcall");
    let pid = child.id();
    let sampler = (!time.exists()).then(|| {
        std::thread::spawn(move || {
            let mut peak = 0;
            while let Some(kb) = vm_hwm_kb(pid) {
                peak = peak.max(kb);
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        })
    });
    let output = child.wait_with_output().expect("wait for rollcall");
    let wall = started.elapsed();
    let peak_kb = match sampler {
        Some(s) => s.join().unwrap_or(0),
        None => std::fs::read_to_string(&report)
            .ok()
            .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()))
            .unwrap_or(0),
    };
    Measured { wall, peak_kb, output }
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
