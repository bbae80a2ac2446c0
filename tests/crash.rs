//! Crash safety: the real binary applying a large saved plan against the emulator is killed
//! (SIGKILL) or interrupted (SIGINT) at pseudo-random points. After each, `plan` shows
//! exactly the rest of the reviewed plan, applying the saved plan again converges, and the
//! account holds every person once, as wanted: nothing duplicated, lost or half-updated.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use goto_emulator::Config;
use serde_json::Value;

use crate::emulated::{Rng, Site, World, action_set, err, out, report_counts, report_line};

/// 560 actions: 240 creates (7 "Add Users" requests), 160 updates, 60 enables (accounts
/// holding no license), 100 disables.
const WORLD: World = World { people: 600, create: 240, rename: 160, regrant: 60, leavers: 100 };
/// rollcall's rate: the writes take about half a second.
const RATE: u32 = 800;
const LATENCY_MS: u64 = 3;

fn config() -> Config {
    let mut c = Config::default();
    c.faults.latency_ms = LATENCY_MS;
    c
}

fn writes(site: &Site) -> u64 {
    let n = site.emu.requests();
    n.create + n.update + n.delete
}

/// How a run was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Kill,
    Int,
}

/// Starts `apply PLAN`, and once the emulator has received `at` writes (or, for 0, after
/// `delay`), sends `signal`. Returns the child's output and the writes seen at the signal
/// (None when it finished first).
fn interrupt(
    site: &Site,
    plan: &str,
    audit: &str,
    signal: Signal,
    at: u64,
    delay: Duration,
) -> (std::process::Output, Option<u64>) {
    let mut child: Child = site
        .cmd(&["apply", plan, "--auto-approve", "--audit-log", audit])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut sent = None;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let seen = writes(site);
        if (at == 0 && started.elapsed() >= delay) || (at > 0 && seen >= at) {
            match signal {
                Signal::Kill => child.kill().unwrap(),
                Signal::Int => {
                    let ok = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
                    assert!(ok.success());
                }
            }
            sent = Some(seen);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "apply did not finish");
        std::thread::sleep(Duration::from_micros(500));
    }
    (child.wait_with_output().unwrap(), sent)
}

/// The site (manifests, emulator) and the reviewed plan that every run starts from.
struct Reviewed {
    site: Site,
    plan: String,
    actions: BTreeSet<String>,
}

fn reviewed() -> Reviewed {
    let site = Site::world(&WORLD, RATE, config());
    let plan = site.path("plan.json");
    let o = site.run(&["plan", site.d(), "--out", &plan]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let actions = action_set(&doc);
    assert_eq!(actions.len(), WORLD.actions());
    Reviewed { site, plan, actions }
}

/// One run from the account as it was reviewed: interrupted apply, the remainder, the
/// resumed apply, the final state. Returns whether the signal landed while writes were
/// under way.
fn run(r: &Reviewed, seed: u64, signal: Signal) -> bool {
    let (site, plan, original) = (&r.site, r.plan.as_str(), &r.actions);
    site.emu.set_snapshot(WORLD.snapshot());
    site.emu.reset_requests();
    let mut rng = Rng::new(seed);
    // 7 "Add Users" requests and one PUT per other action.
    let total_writes = 7 + (WORLD.actions() - WORLD.create) as u64;
    // One run in five is stopped by time (often while it reads the account and plans), the
    // others once the emulator has received a given number of writes.
    let at = if rng.below(5) == 0 { 0 } else { 1 + rng.below(total_writes) };
    let delay = Duration::from_millis(rng.below(600));
    let context = if at == 0 {
        format!("seed {seed}, {signal:?} after {delay:?}")
    } else {
        format!("seed {seed}, {signal:?} at {at} writes")
    };

    let audit = site.path(&format!("audit-{seed}.jsonl"));
    let (o, seen) = interrupt(site, plan, &audit, signal, at, delay);
    every_write_has_its_intent_line(site, &audit, &context);
    let mid_apply = seen.is_some_and(|n| n > 0 && n < total_writes);
    match signal {
        Signal::Kill => assert!(seen.is_none() || o.status.code().is_none(), "{context}: not killed"),
        Signal::Int => {
            // 130 with a report of what finished; 0 only when the interrupt came after the
            // last write (checked below: then nothing is left).
            let code = o.status.code();
            assert!(code == Some(130) || code == Some(0), "{context}: exit {code:?}\n{}{}", out(&o), err(&o));
            assert!(
                report_line(&o).is_some() || err(&o).contains("Interrupted: nothing was changed."),
                "{context}: no report of what finished\n{}{}",
                out(&o),
                err(&o)
            );
            if code == Some(0) {
                assert!(report_line(&o).is_some_and(|l| report_counts(&l)["failed"] == 0), "{context}\n{}", out(&o));
            }
        }
    }

    // What is left is exactly part of the reviewed plan: same actions, same changes.
    let left = action_set(&site.plan_json(&context));
    if signal == Signal::Int && o.status.code() == Some(0) {
        assert!(left.is_empty(), "{context}: exit 0 but {} actions left", left.len());
    }
    let unknown: Vec<&String> = left.difference(original).collect();
    assert!(unknown.is_empty(), "{context}: the plan after the interruption has actions not reviewed: {unknown:#?}");
    if signal == Signal::Int
        && let Some(line) = report_line(&o)
    {
        // The report says what finished: that and what is left make the reviewed plan.
        let c = report_counts(&line);
        assert_eq!(c["failed"], 0, "{context}: {line}");
        let done = c["created"] + c["updated"] + c["disabled"] + c["enabled"];
        assert_eq!(done + left.len(), original.len(), "{context}: {line}, {} left", left.len());
    }

    // Applying the reviewed plan again does the rest.
    let o = site.run(&["apply", plan, "--auto-approve", "--audit-log", &audit]);
    assert_eq!(o.status.code(), Some(0), "{context}: resumed apply\n{}{}", out(&o), err(&o));
    if left.is_empty() {
        assert!(out(&o).contains("Nothing to do"), "{context}\n{}", out(&o));
    } else {
        let c = report_counts(&report_line(&o).expect("a report"));
        assert_eq!(c["created"] + c["updated"] + c["disabled"] + c["enabled"], left.len(), "{context}\n{}", out(&o));
        if left.len() < original.len() {
            assert!(err(&o).contains("Resuming:"), "{context}\n{}", err(&o));
        }
    }
    site.assert_no_changes(&context);
    WORLD.assert_converged(&site.emu.snapshot(), &context);
    every_action_has_an_outcome_line(&audit, original, &context);
    mid_apply
}

fn audit_lines(audit: &str) -> Vec<Value> {
    std::fs::read_to_string(audit)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a torn audit line {l:?}: {e}")))
        .collect()
}

/// The write-ahead promise: every write the emulator received was announced in the log first.
fn every_write_has_its_intent_line(site: &Site, audit: &str, context: &str) {
    let lines = audit_lines(audit);
    let intents: Vec<&Value> = lines.iter().filter(|l| l["rollcall.phase"] == "intent").collect();
    let announced_paths: BTreeSet<String> = intents
        .iter()
        .filter_map(|l| l["rollcall.request"].as_str())
        .filter_map(|r| r.split_whitespace().nth(1).map(str::to_owned))
        .collect();
    let announced_creates: BTreeSet<String> = intents
        .iter()
        .filter(|l| l["event.action"] == "create")
        .filter_map(|l| l["user.target.email"].as_str().map(str::to_lowercase))
        .collect();
    for r in site.emu.request_log() {
        let path = r.path.trim_start_matches("/admin/rest/v1").to_owned();
        match r.method.as_str() {
            "POST" if path.ends_with("/users") => {
                for u in r.body.as_ref().and_then(|b| b["users"].as_array()).into_iter().flatten() {
                    let email = u["email"].as_str().unwrap_or_default().to_lowercase();
                    assert!(
                        announced_creates.contains(&email),
                        "{context}: create of {email} sent with no intent line"
                    );
                }
            }
            "PUT" | "DELETE" => {
                assert!(announced_paths.contains(&path), "{context}: {} {path} sent with no intent line", r.method)
            }
            _ => {}
        }
    }
}

/// After the resumed apply, every action of the reviewed plan has an outcome line.
fn every_action_has_an_outcome_line(audit: &str, original: &BTreeSet<String>, context: &str) {
    let lines = audit_lines(audit);
    let settled: BTreeSet<(String, String)> = lines
        .iter()
        .filter(|l| l["rollcall.phase"] == "outcome" && l["rollcall.outcome"] == "done")
        .map(|l| (l["event.action"].as_str().unwrap().to_owned(), l["user.target.email"].as_str().unwrap().to_owned()))
        .collect();
    for a in original {
        let a: Value = serde_json::from_str(a).unwrap();
        let key = (a["action"].as_str().unwrap().to_owned(), a["email"].as_str().unwrap().to_owned());
        assert!(settled.contains(&key), "{context}: {key:?} has no outcome line in the audit log");
    }
}

#[test]
fn killed_at_random_points_the_rest_of_the_plan_applies_and_converges() {
    let runs = 20;
    let r = reviewed();
    let mid = (0..runs).filter(|&seed| run(&r, 1000 + seed, Signal::Kill)).count();
    // The kill points are spread over the writes: most land while they are under way.
    assert!(mid >= runs as usize * 2 / 3, "only {mid} of {runs} kills landed mid-apply");
}

#[test]
fn interrupted_at_random_points_reports_what_finished_exits_130_and_converges() {
    let runs = 6;
    let r = reviewed();
    let mid = (0..runs).filter(|&seed| run(&r, 2000 + seed, Signal::Int)).count();
    assert!(mid >= runs as usize / 2, "only {mid} of {runs} interrupts landed mid-apply");
}
