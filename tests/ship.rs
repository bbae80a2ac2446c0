//! Output machines read: exit 3 for a blocked plan, `--format json` diagnostics on every
//! command, GitHub workflow annotations under `GITHUB_ACTIONS=true`.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::copy_dir;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rollcall() -> Command {
    let mut c = crate::support::rollcall();
    c.env("ROLLCALL_TEST", "1");
    c
}

use crate::support::{run, stderr, stdout};

/// A copy of examples/acme whose policy allows 3 removals (the plan removes 4: blocked).
fn blocked_acme() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("acme");
    copy_dir(&root().join("examples/acme"), &dir);
    let manifest = dir.join("rollcall.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let from = "max_removals: { count: 10, percent: 15 }";
    assert!(text.contains(from), "examples/acme/rollcall.yaml changed its policy");
    std::fs::write(&manifest, text.replace(from, "max_removals: { count: 3 }")).unwrap();
    (tmp, dir)
}

#[test]
fn a_blocked_plan_exits_3_and_so_does_apply_without_allow_removals() {
    let (tmp, dir) = blocked_acme();
    let plan = tmp.path().join("plan.json");
    let o = run(&["plan", dir.to_str().unwrap(), "--out", plan.to_str().unwrap()], tmp.path());
    assert_eq!(o.status.code(), Some(3), "a blocked plan exits 3: {}", stderr(&o));
    assert!(stdout(&o).contains("Blocked:"), "{}", stdout(&o));
    let o = run(&["apply", plan.to_str().unwrap(), "--auto-approve"], tmp.path());
    assert_eq!(o.status.code(), Some(3), "apply refuses a blocked plan with 3: {}", stderr(&o));
    assert!(stderr(&o).contains("rollcall::removal-threshold"), "{}", stderr(&o));
    let o = run(&["apply", dir.to_str().unwrap(), "--auto-approve"], tmp.path());
    assert_eq!(o.status.code(), Some(3), "apply DIR of a blocked plan: {}", stderr(&o));
    // An error that is not a block stays 1.
    let o = run(&["plan", tmp.path().join("nowhere").to_str().unwrap()], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

/// Every fixture under tests/fixtures/invalid, with the code and line its snapshot pins.
fn invalid_fixtures() -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root().join("tests/fixtures/invalid")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let snap = std::fs::read_to_string(root().join("tests/snapshots").join(format!("{name}.snap"))).unwrap();
        // The first diagnostic of the snapshot: its code, and the line of its `╭─[file:line:col]`.
        let code = snap.lines().find(|l| l.starts_with("rollcall::")).expect("a code").trim().to_owned();
        let line = snap
            .lines()
            .skip_while(|l| !l.starts_with("rollcall::"))
            .find_map(|l| l.split_once("╭─[").map(|(_, rest)| rest.trim_end_matches(']').to_owned()))
            .map_or(0, |loc| loc.rsplit(':').nth(1).unwrap().parse().unwrap());
        out.push((name, code, line));
    }
    out.sort();
    assert!(out.len() > 30, "fixtures: {}", out.len());
    out
}

#[test]
fn validate_format_json_gives_every_fixture_as_parseable_diagnostics() {
    for (name, code, line) in invalid_fixtures() {
        let dir = format!("tests/fixtures/invalid/{name}");
        let o = run(&["validate", &dir, "--format", "json"], &root());
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        let doc: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{name}: stdout is not JSON ({e}):\n{}\n{}", stdout(&o), stderr(&o)));
        let diags = doc["diagnostics"].as_array().unwrap_or_else(|| panic!("{name}: {doc:#}"));
        let first = &diags[0];
        assert_eq!(first["code"], code.as_str(), "{name}: {doc:#}");
        assert_eq!(first["severity"], "error", "{name}");
        assert!(first["message"].as_str().is_some_and(|m| !m.is_empty()), "{name}: {doc:#}");
        for key in ["file", "line", "column", "help"] {
            assert!(first.get(key).is_some(), "{name}: no {key} in {first:#}");
        }
        if line > 0 {
            // The snapshot's header names the first place in the file; the JSON leads with the
            // primary one (a repeated key, not its first occurrence): the line is among the labels.
            let lines: Vec<u64> =
                first["labels"].as_array().unwrap().iter().map(|l| l["line"].as_u64().unwrap()).collect();
            assert!(lines.contains(&(line as u64)), "{name}: line {line} not in {first:#}");
            assert!(first["line"].as_u64().is_some(), "{name}");
            assert!(first["file"].as_str().unwrap().starts_with(&dir), "{name}: {first:#}");
            assert!(first["column"].as_u64().unwrap() >= 1, "{name}");
        }
        assert!(stderr(&o).is_empty() || !stderr(&o).contains("×"), "{name}: no rendered report on stderr");
    }
}

#[test]
fn validate_format_json_on_a_clean_manifest_says_ok() {
    let o = run(&["validate", "examples/acme", "--format", "json"], &root());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["diagnostics"], serde_json::json!([]));
    assert_eq!(doc["ok"], true);
}

#[test]
fn every_command_takes_format_json_and_fails_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    let nowhere = tmp.path().join("nowhere");
    let nowhere = nowhere.to_str().unwrap();
    for args in [
        vec!["validate", nowhere],
        vec!["plan", nowhere],
        vec!["apply", nowhere, "--auto-approve"],
        vec!["show", nowhere],
        vec!["check", nowhere],
        vec!["diff", "--base", "HEAD", nowhere],
        vec!["import", "--from-snapshot", nowhere, "--out", nowhere],
        vec!["man", "/dev/null/man"],
    ] {
        let mut args = args.clone();
        args.extend(["--format", "json"]);
        let o = run(&args, tmp.path());
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let doc: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}\n{}", stdout(&o), stderr(&o)));
        assert!(
            doc["diagnostics"][0]["code"].as_str().is_some_and(|c| c.starts_with("rollcall::")),
            "{args:?}: {doc:#}"
        );
    }
}

#[test]
fn under_github_actions_diagnostics_are_workflow_annotations_on_the_manifest_lines() {
    let o = rollcall()
        .args(["validate", "tests/fixtures/invalid/unknown-role"])
        .env("GITHUB_ACTIONS", "true")
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let annotation = err.lines().find(|l| l.starts_with("::error ")).unwrap_or_else(|| panic!("no annotation:\n{err}"));
    assert!(
        annotation.starts_with(
            "::error file=tests/fixtures/invalid/unknown-role/rollcall.yaml,line=21,col=33,endLine=21,endColumn=42,title=rollcall%3A%3Aunknown-role::role `organiser` is not declared"
        ),
        "{annotation}"
    );
    assert!(annotation.contains("did you mean `organizer`?"), "{annotation}");
    // The human report is still there, and outside GitHub Actions no annotation is printed.
    assert!(err.contains("× role `organiser` is not declared"), "{err}");
    let o = run(&["validate", "tests/fixtures/invalid/unknown-role"], &root());
    assert!(!stderr(&o).contains("::error"), "{}", stderr(&o));
}

#[test]
fn a_blocked_plan_under_github_actions_is_an_error_annotation() {
    let (tmp, dir) = blocked_acme();
    let o = rollcall()
        .args(["plan", dir.to_str().unwrap()])
        .env("GITHUB_ACTIONS", "true")
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).lines().any(|l| l.starts_with("::error title=rollcall%3A%3Aremoval-threshold::")),
        "{}",
        stderr(&o)
    );
}

/// Every flag and argument of every command says what it is; `--help` and the man pages carry
/// the exit codes, every environment variable rollcall reads, and examples.
#[test]
fn help_describes_every_flag_exit_codes_environment_and_examples() {
    use clap::CommandFactory;
    let mut cli = rollcall::cli::Cli::command();
    cli.build();
    let mut undescribed = Vec::new();
    for cmd in std::iter::once(&cli).chain(cli.get_subcommands()) {
        for arg in cmd.get_arguments() {
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                undescribed.push(format!("{} {}", cmd.get_name(), arg.get_id()));
            }
        }
    }
    assert!(undescribed.is_empty(), "flags without a description: {undescribed:?}");
    let without_format: Vec<&str> = cli
        .get_subcommands()
        .filter(|c| c.get_name() != "help" && !c.get_arguments().any(|a| a.get_id() == "format"))
        .map(|c| c.get_name())
        .collect();
    assert!(without_format.is_empty(), "commands without --format: {without_format:?}");
    let help = String::from_utf8(rollcall().arg("--help").output().unwrap().stdout).unwrap();
    // The environment variables the source reads: every `env::var("NAME")`, and every
    // `"GOTO_…"`, `"SCIM_…"` or `"ROLLCALL_…"` literal (read through a helper).
    let variable = regex::Regex::new(r#"env::var(?:_os)?\("([A-Z_]+)"\)|"((?:GOTO|SCIM|ROLLCALL)_[A-Z_]+)""#).unwrap();
    let mut names = std::collections::BTreeSet::new();
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for m in variable.captures_iter(&text) {
                    names.insert(m.get(1).or(m.get(2)).unwrap().as_str().to_owned());
                }
            }
        }
    }
    assert!(names.contains("GOTO_PAT") && names.contains("GITHUB_ACTIONS"), "{names:?}");
    for name in &names {
        assert!(help.contains(name.as_str()), "`rollcall --help` does not mention {name}");
    }
    for section in ["Exit codes:", "Environment:", "Examples:", "  3    a blocked plan"] {
        assert!(help.contains(section), "`rollcall --help` lacks {section:?}");
    }
    let plan_help = String::from_utf8(rollcall().args(["plan", "--help"]).output().unwrap().stdout).unwrap();
    assert!(plan_help.contains("Exit codes:") && plan_help.contains("Examples:"), "{plan_help}");
    let man = std::fs::read_to_string(root().join("docs/man/rollcall.1")).unwrap();
    assert!(man.contains("Exit codes:") && man.contains("GOTO_PAT") && man.contains("Examples:"), "rollcall.1");
    let man = std::fs::read_to_string(root().join("docs/man/rollcall-apply.1")).unwrap();
    assert!(man.contains("allow\\-removals") && man.contains("Exit codes:"), "rollcall-apply.1");
}
