//! The real binary: plan, show and apply through the file target, exit codes, stdout vs
//! stderr, saved plans (stale, resumed, blocked), --only, the audit log, colour.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::copy_dir;

fn rollcall() -> Command {
    let mut c = crate::support::rollcall();
    c.env("ROLLCALL_TEST", "1");
    c
}

use crate::support::{run, stderr, stdout};

/// A copy of examples/acme in a temp dir (tests never touch the committed live.json).
fn acme() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("acme");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme"), &dest);
    (tmp, dest)
}

fn snapshot(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("live.json")).unwrap()).unwrap()
}

fn users_by_email(v: &Value) -> std::collections::BTreeMap<String, Value> {
    v["users"].as_array().unwrap().iter().map(|u| (u["email"].as_str().unwrap().to_lowercase(), u.clone())).collect()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} does not contain {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn plan_on_the_example_prints_only_the_plan_on_stdout() {
    let o = run(&["plan", "examples/acme"], Path::new(env!("CARGO_MANIFEST_DIR")));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("rollcall will change GoTo account 4152318826743922179 (Acme):"), "{out}");
    assert!(out.contains("Plan: 3 to create, 6 to update, 4 to disable, 0 to enable, 0 to delete."), "{out}");
    assert!(stderr(&o).is_empty(), "logs on stderr only, and none here: {}", stderr(&o));
    assert!(!out.contains('\u{1b}'), "no colour when stdout is not a terminal");
}

#[test]
fn detailed_exitcode_is_2_with_changes_and_0_after_apply() {
    let (_t, dir) = acme();
    let d = dir.to_str().unwrap();
    let o = run(&["plan", d, "--detailed-exitcode"], dir.parent().unwrap());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = run(&["apply", d, "--auto-approve"], dir.parent().unwrap());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Apply complete: 3 created, 6 updated, 4 disabled, 0 enabled, 0 deleted, 0 failed."),
        "{}",
        stdout(&o)
    );
    let o = run(&["plan", d, "--detailed-exitcode"], dir.parent().unwrap());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).starts_with("No changes. The account matches the manifests."));
}

#[test]
fn apply_needs_auto_approve_without_a_terminal() {
    let (_t, dir) = acme();
    let before = std::fs::read(dir.join("live.json")).unwrap();
    let o = run(&["apply", dir.to_str().unwrap()], dir.parent().unwrap());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--auto-approve"), "{}", stderr(&o));
    assert_eq!(before, std::fs::read(dir.join("live.json")).unwrap(), "nothing written");
}

#[test]
fn only_touches_exactly_the_named_accounts() {
    let (_t, dir) = acme();
    let before = users_by_email(&snapshot(&dir));
    let o = run(
        &[
            "apply",
            dir.to_str().unwrap(),
            "--only",
            "Emma.Thompson@acme.example",
            "--only",
            "priya.nair@acme.example",
            "--auto-approve",
        ],
        dir.parent().unwrap(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Apply complete: 1 created, 1 updated, 0 disabled, 0 enabled, 0 deleted, 0 failed."),
        "{}",
        stdout(&o)
    );
    let after = users_by_email(&snapshot(&dir));
    let changed: Vec<&String> = after
        .keys()
        .chain(before.keys())
        .filter(|e| before.get(*e) != after.get(*e))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(changed, ["emma.thompson@acme.example", "priya.nair@acme.example"]);
}

#[test]
fn a_saved_plan_is_applied_exactly_and_its_json_has_the_documented_fields() {
    let (_t, dir) = acme();
    let plan = dir.parent().unwrap().join("plan.json");
    let o = run(
        &["plan", dir.to_str().unwrap(), "--out", plan.to_str().unwrap(), "--format", "json"],
        dir.parent().unwrap(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let printed: Value = serde_json::from_slice(&o.stdout).expect("--format json prints the plan document");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(printed, saved);
    for field in [
        "format_version",
        "summary",
        "actions",
        "blocked",
        "target",
        "manifest_dir",
        "only",
        "manifest_digest",
        "live_digest",
        "git",
    ] {
        assert!(saved.get(field).is_some(), "plan JSON lacks {field}");
    }
    assert_eq!(saved["format_version"], 1);
    assert_eq!(saved["summary"]["create"], 3);
    assert_eq!(saved["blocked"], Value::Null);
    assert_eq!(saved["target"]["account"], "4152318826743922179");
    let shown = run(&["show", plan.to_str().unwrap()], dir.parent().unwrap());
    assert!(stdout(&shown).contains("Plan: 3 to create, 6 to update, 4 to disable"));
    let o = run(&["apply", plan.to_str().unwrap(), "--auto-approve"], dir.parent().unwrap());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("Apply complete: 3 created, 6 updated, 4 disabled, 0 enabled, 0 deleted, 0 failed."));
}

#[test]
fn a_stale_plan_is_refused_when_the_manifests_changed() {
    let (_t, dir) = acme();
    let plan = dir.parent().unwrap().join("plan.json");
    assert_eq!(
        run(&["plan", dir.to_str().unwrap(), "--out", plan.to_str().unwrap()], dir.parent().unwrap()).status.code(),
        Some(0)
    );
    edit(&dir.join("rollcall.yaml"), "max_removals:", "max_removals: # reviewed\n   ");
    // a comment only: not a change
    let o = run(
        &["apply", plan.to_str().unwrap(), "--auto-approve", "--dir", dir.to_str().unwrap()],
        dir.parent().unwrap(),
    );
    assert_eq!(o.status.code(), Some(0), "a comment is no change: {}", stderr(&o));
    // A real change after the next plan.
    assert_eq!(
        run(&["plan", dir.to_str().unwrap(), "--out", plan.to_str().unwrap()], dir.parent().unwrap()).status.code(),
        Some(0)
    );
    edit(&dir.join("rollcall.yaml"), "on_unassign: disable", "on_unassign: delete");
    let before = std::fs::read(dir.join("live.json")).unwrap();
    let o = run(
        &["apply", plan.to_str().unwrap(), "--auto-approve", "--dir", dir.to_str().unwrap()],
        dir.parent().unwrap(),
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("rollcall::stale-plan") && err.contains("the manifests changed"), "{err}");
    assert_eq!(before, std::fs::read(dir.join("live.json")).unwrap(), "nothing written");
}

#[test]
fn a_stale_plan_is_refused_when_the_account_changed_and_names_what_changed() {
    let (_t, dir) = acme();
    let plan = dir.parent().unwrap().join("plan.json");
    assert_eq!(
        run(&["plan", dir.to_str().unwrap(), "--out", plan.to_str().unwrap()], dir.parent().unwrap()).status.code(),
        Some(0)
    );
    // Someone fixes Emma's name by hand differently.
    edit(&dir.join("live.json"), "\"Thomson\"", "\"Tomson\"");
    let o = run(&["apply", plan.to_str().unwrap(), "--auto-approve"], dir.parent().unwrap());
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("rollcall::stale-plan"), "{err}");
    assert!(err.contains("update emma.thompson@acme.example: differs from the reviewed update"), "{err}");
}

#[test]
fn an_interrupted_apply_is_resumed_from_the_saved_plan() {
    let (_t, dir) = acme();
    let plan = dir.parent().unwrap().join("plan.json");
    assert_eq!(
        run(&["plan", dir.to_str().unwrap(), "--out", plan.to_str().unwrap()], dir.parent().unwrap()).status.code(),
        Some(0)
    );
    // Part of the plan gets applied (as an interrupted run would leave it).
    let o = run(
        &[
            "apply",
            dir.to_str().unwrap(),
            "--only",
            "priya.nair@acme.example",
            "--only",
            "ben.taylor@acme.example",
            "--auto-approve",
        ],
        dir.parent().unwrap(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&["apply", plan.to_str().unwrap(), "--auto-approve"], dir.parent().unwrap());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Resuming: 2 of the plan's 13 actions are already applied; applying the remaining 11."),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("Apply complete: 2 created, 6 updated, 3 disabled, 0 enabled, 0 deleted, 0 failed."),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        run(&["plan", dir.to_str().unwrap(), "--detailed-exitcode"], dir.parent().unwrap()).status.code(),
        Some(0)
    );
}

#[test]
fn a_blocked_plan_is_printed_saved_refused_then_applied_with_allow_removals() {
    let (_t, dir) = acme();
    edit(&dir.join("rollcall.yaml"), "max_removals:", "max_removals: { count: 3 }\n  old_max_removals:");
    let text = std::fs::read_to_string(dir.join("rollcall.yaml")).unwrap();
    // keep the file valid: drop the renamed original block
    let cleaned: String = {
        let mut out = Vec::new();
        let mut skipping = false;
        for line in text.lines() {
            if line.trim_start().starts_with("old_max_removals:") {
                skipping = true;
                continue;
            }
            if skipping && line.starts_with("    ") {
                continue;
            }
            skipping = false;
            out.push(line);
        }
        out.join("\n") + "\n"
    };
    std::fs::write(dir.join("rollcall.yaml"), cleaned).unwrap();
    let plan = dir.parent().unwrap().join("plan.json");
    let o = run(&["plan", dir.to_str().unwrap(), "--out", plan.to_str().unwrap()], dir.parent().unwrap());
    assert_eq!(o.status.code(), Some(3), "a blocked plan exits 3: {}", stderr(&o));
    assert!(
        stdout(&o).contains("Blocked: the plan removes 4 accounts, more than max_removals.count (3)"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("the plan is blocked"));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert!(saved["blocked"].as_str().unwrap().contains("max_removals.count"));
    let before = std::fs::read(dir.join("live.json")).unwrap();
    let o = run(&["apply", plan.to_str().unwrap(), "--auto-approve"], dir.parent().unwrap());
    assert_eq!(o.status.code(), Some(3), "apply refuses a blocked plan with 3");
    assert!(stderr(&o).contains("--allow-removals"), "{}", stderr(&o));
    assert_eq!(before, std::fs::read(dir.join("live.json")).unwrap(), "refused: nothing written");
    let o = run(&["apply", plan.to_str().unwrap(), "--auto-approve", "--allow-removals"], dir.parent().unwrap());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("4 disabled"));
}

#[test]
fn the_audit_log_has_an_intent_and_an_outcome_line_per_action() {
    let (_t, dir) = acme();
    let log = dir.parent().unwrap().join("audit.jsonl");
    let o = run(
        &["apply", dir.to_str().unwrap(), "--auto-approve", "--audit-log", log.to_str().unwrap()],
        dir.parent().unwrap(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 1 + 2 * 13, "a start line, then intent and outcome per action");
    assert_eq!(lines[0]["rollcall.phase"], "start");
    let outcomes: Vec<&Value> = lines.iter().filter(|l| l["rollcall.phase"] == "outcome").collect();
    assert_eq!(outcomes.len(), 13);
    for l in &lines[1..] {
        assert!(l["@timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(l["user.target.email"].as_str().unwrap().ends_with("@acme.example"));
        assert_eq!(l["trace.id"], lines[0]["trace.id"], "one run id");
    }
    for l in &outcomes {
        assert_eq!(l["rollcall.outcome"], "done");
        assert_eq!(l["event.outcome"], "success");
    }
    let emma = outcomes.iter().find(|l| l["user.target.email"] == "emma.thompson@acme.example").unwrap();
    assert_eq!(emma["event.action"], "update");
    assert_eq!(
        emma["rollcall.changes"][0],
        serde_json::json!({"change": "attribute", "attribute": "lastName", "old": "Thomson", "new": "Thompson"})
    );
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let root = env!("CARGO_MANIFEST_DIR");
    let o = run(&["plan", "examples/acme", "--color", "always"], Path::new(root));
    assert!(stdout(&o).contains("\u{1b}["), "--color always colours");
    let o = run(&["plan", "examples/acme"], Path::new(root));
    assert!(!stdout(&o).contains('\u{1b}'), "not a terminal: no colour");
    // On a terminal (script(1) gives the command a pty): colour, unless NO_COLOR is set.
    let bin = env!("CARGO_BIN_EXE_rollcall");
    let on_tty = |no_color: bool| {
        let mut c = Command::new("script");
        c.args(["-qec", &format!("{bin} plan examples/acme"), "/dev/null"]).current_dir(root).env_remove("NO_COLOR");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&c.output().expect("script(1) runs").stdout).into_owned()
    };
    let tty = on_tty(false);
    assert!(tty.contains("Plan: 3 to create"), "{tty}");
    assert!(tty.contains("\u{1b}["), "a terminal gets colour");
    assert!(!on_tty(true).contains('\u{1b}'), "NO_COLOR wins");
}

#[test]
fn interrupted_apply_exits_130_and_writes_nothing_half() {
    // A large organisation, so that the interrupt lands while rollcall is working.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let n = 60_000;
    let mut people = String::from("users:\n");
    let mut users = Vec::new();
    for i in 0..n {
        people.push_str(&format!("  - {{userPrincipalName: u{i}@acme.example, givenName: U{i}, surname: Person}}\n"));
        if i % 2 == 0 {
            users.push(serde_json::json!({"key": format!("{}", 1_000_000 + i), "email": format!("u{i}@acme.example"), "firstName": format!("U{i}"), "lastName": "Persn", "licenseKeys": ["1"], "adminRoles": []}));
        }
    }
    people.push_str("groups:\n  all:\n    members: [");
    people.push_str(&(0..n).map(|i| format!("u{i}@acme.example")).collect::<Vec<_>>().join(", "));
    people.push_str("]\n");
    std::fs::write(dir.join("people.yaml"), people).unwrap();
    std::fs::write(
        dir.join("rollcall.yaml"),
        "version: 1\ntarget: {kind: file, path: live.json}\nscope: {domains: [acme.example]}\ndirectory: [people.yaml]\nroles: {organizer: {licenses: [Business]}}\nmappings:\n  email: {from: \"[userPrincipalName]\"}\n  firstName: {from: \"[givenName]\"}\n  lastName: {from: \"[surname]\"}\nassignments: [{group: all, role: organizer}]\n",
    )
    .unwrap();
    let live = serde_json::json!({"account": {"key": "1", "name": "Big"}, "licenses": [{"key": "1", "description": "Business", "seats": 100000}], "users": users});
    std::fs::write(dir.join("live.json"), serde_json::to_string(&live).unwrap()).unwrap();
    let before = std::fs::read(dir.join("live.json")).unwrap();
    let child = rollcall()
        .args(["apply", ".", "--auto-approve"])
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "stdout: {}\nstderr: {}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("Interrupted"), "{}", stderr(&o));
    // Either nothing was applied, or a complete report of what was: never a torn file.
    let after = std::fs::read(dir.join("live.json")).unwrap();
    let parsed: Value = serde_json::from_slice(&after).expect("the snapshot is whole JSON");
    if after != before {
        assert!(stdout(&o).contains("Apply complete:"), "{}", stdout(&o));
        assert!(parsed["users"].as_array().unwrap().len() >= n / 2);
    }
}

#[test]
fn many_problems_of_one_kind_are_counted_not_all_rendered() {
    let tmp = tempfile::tempdir().unwrap();
    let members: Vec<String> = (0..30).map(|i| format!("ghost{i}@acme.example")).collect();
    std::fs::write(
        tmp.path().join("people.yaml"),
        format!(
            "users:\n  - {{userPrincipalName: ann@acme.example}}\ngroups:\n  staff:\n    members: [{}]\n",
            members.join(", ")
        ),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("rollcall.yaml"),
        "version: 1\ntarget: {kind: file, path: live.json}\ndirectory: [people.yaml]\nroles: {r: {licenses: [L]}}\nmappings: {email: {from: \"[userPrincipalName]\"}}\nassignments: [{group: staff, role: r}]\n",
    )
    .unwrap();
    let o = run(&["validate", "."], tmp.path());
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.matches("rollcall::unknown-user").count(), 21, "20 rendered and one count line: {e}");
    assert!(e.contains("… and 10 more rollcall::unknown-user problems not shown"), "{e}");
    assert!(e.trim_end().ends_with("error: 30 problems found"), "{e}");
}

#[test]
fn a_plan_blocked_by_seats_is_refused_with_the_seats_code_not_the_removal_one() {
    let (_t, dir) = acme();
    // 42 hold GoToMeeting Business today; with nobody disabled the example adds 3 holders.
    edit(&dir.join("rollcall.yaml"), "on_unassign: disable", "on_unassign: keep");
    edit(&dir.join("live.json"), "\"seats\": 60,", "\"seats\": 43,");
    let plan = dir.parent().unwrap().join("plan.json");
    let o = run(&["plan", dir.to_str().unwrap(), "--out", plan.to_str().unwrap()], dir.parent().unwrap());
    assert_ne!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("rollcall::seats-exceeded"), "{}", stdout(&o));
    let o = run(&["apply", plan.to_str().unwrap(), "--auto-approve"], dir.parent().unwrap());
    assert_eq!(o.status.code(), Some(3), "a blocked plan is refused with 3");
    assert!(stderr(&o).contains("rollcall::seats-exceeded"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("rollcall::removal-threshold"), "{}", stderr(&o));
}

#[test]
fn check_on_a_file_target_reads_the_snapshot_and_says_apply_can_rewrite_it() {
    let (_t, dir) = acme();
    let o = run(&["check", dir.to_str().unwrap()], dir.parent().unwrap());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("ok    account: GoTo account 4152318826743922179 (Acme)\n"), "{out}");
    assert!(out.contains("ok    users: 43 users\n"), "{out}");
    assert!(out.contains("ok    licenses: GoToMeeting Business (7902142105473202120): 60 seats;"), "{out}");
    let snapshot = std::fs::canonicalize(dir.join("live.json")).unwrap();
    assert!(
        out.ends_with(&format!("ok    write: {} can be rewritten (its folder takes a new file)\n", snapshot.display())),
        "{out}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 6, "check leaves no file behind: {leftovers:?}");
}
