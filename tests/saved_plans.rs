//! A saved plan's digests and provenance at work: `apply PLANFILE` says whether the account
//! or the manifests changed since the plan (its `live_digest` read back), and the commit, the
//! dirty flag and the root come from the repository itself, with or without a `git` program.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{copy_dir, run, stderr, stdout};

/// A copy of examples/acme in a temp dir, and where its plan file goes.
fn acme() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("acme");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme"), &dir);
    let plan = tmp.path().join("plan.json");
    (tmp, dir, plan)
}

fn plan_to(dir: &Path, plan: &Path) {
    let o = run(&["plan", dir.to_str().unwrap(), "--out", plan.to_str().unwrap()], dir.parent().unwrap());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

fn apply(dir: &Path, plan: &Path) -> std::process::Output {
    run(&["apply", plan.to_str().unwrap(), "--auto-approve", "--dir", dir.to_str().unwrap()], dir.parent().unwrap())
}

/// Someone changes one user's attribute in the snapshot by hand.
fn set_live(dir: &Path, email: &str, field: &str, value: &str) {
    let path = dir.join("live.json");
    let mut live: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let user = live["users"].as_array_mut().unwrap().iter_mut().find(|u| u["email"] == email).unwrap();
    user[field] = value.into();
    std::fs::write(&path, serde_json::to_string_pretty(&live).unwrap()).unwrap();
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} does not contain {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

const ACCOUNT_CHANGED: &str = "the live account changed since the plan was made (live digest ";
const SAME_ACTIONS: &str =
    "The live account changed since the plan was made; the actions are the same as reviewed, so they are applied.";

#[test]
fn an_account_change_that_leaves_the_actions_as_reviewed_is_applied_and_said() {
    let (_t, dir, plan) = acme();
    plan_to(&dir, &plan);
    // timeZone is mapped on create only: a hand edit changes the account, not the plan.
    set_live(&dir, "alice.archer@acme.example", "timeZone", "Europe/Paris");
    let o = apply(&dir, &plan);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains(SAME_ACTIONS), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("Apply complete: 3 created, 6 updated, 4 disabled, 0 enabled, 0 deleted, 0 failed."),
        "{}",
        stdout(&o)
    );
}

#[test]
fn an_unchanged_account_gets_no_such_line() {
    let (_t, dir, plan) = acme();
    plan_to(&dir, &plan);
    let o = apply(&dir, &plan);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stdout(&o).contains("changed since the plan"), "{}", stdout(&o));
}

#[test]
fn a_stale_plan_says_the_account_changed_when_it_did() {
    let (_t, dir, plan) = acme();
    plan_to(&dir, &plan);
    set_live(&dir, "emma.thompson@acme.example", "lastName", "Tomson");
    let before = std::fs::read(dir.join("live.json")).unwrap();
    let o = apply(&dir, &plan);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("rollcall::stale-plan"), "{err}");
    assert!(err.contains(ACCOUNT_CHANGED), "{err}");
    assert!(!err.contains("the manifests changed since the plan"), "the manifests are as reviewed: {err}");
    assert_eq!(before, std::fs::read(dir.join("live.json")).unwrap(), "nothing written");
}

#[test]
fn a_stale_plan_from_changed_manifests_does_not_blame_the_account() {
    let (_t, dir, plan) = acme();
    plan_to(&dir, &plan);
    edit(&dir.join("rollcall.yaml"), "on_unassign: disable", "on_unassign: delete");
    let o = apply(&dir, &plan);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("rollcall::stale-plan"), "{err}");
    assert!(err.contains("`policy` in rollcall.yaml changed"), "{err}");
    assert!(!err.contains(ACCOUNT_CHANGED), "the account is as it was: {err}");
}

#[test]
fn a_stale_plan_names_both_when_both_changed() {
    let (_t, dir, plan) = acme();
    plan_to(&dir, &plan);
    edit(&dir.join("rollcall.yaml"), "on_unassign: disable", "on_unassign: delete");
    set_live(&dir, "emma.thompson@acme.example", "lastName", "Tomson");
    let o = apply(&dir, &plan);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("`policy` in rollcall.yaml changed") && err.contains(ACCOUNT_CHANGED), "{err}");
}

fn git(repo: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t.example", "-c", "commit.gpgsign=false"])
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(repo)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git runs");
    assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
    stdout(&o).trim().to_owned()
}

/// `plan --format json` of `repo/org`, run from `repo`: (manifest_dir, git); with
/// `git_on_path` false, no `git` program can be found.
fn provenance(repo: &Path, git_on_path: bool) -> (Value, Value) {
    let mut c = crate::support::rollcall();
    c.args(["plan", "org", "--format", "json"]).current_dir(repo).env("ROLLCALL_TEST", "1");
    let empty = tempfile::tempdir().unwrap();
    if !git_on_path {
        c.env("PATH", empty.path());
    }
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    (doc["manifest_dir"].clone(), doc["git"].clone())
}

/// A repository whose `org` folder holds the acme example, and a sibling folder.
fn repository() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme"), &repo.join("org"));
    std::fs::create_dir_all(repo.join("other")).unwrap();
    std::fs::write(repo.join("other/notes.txt"), "notes\n").unwrap();
    std::fs::write(repo.join(".gitignore"), "*.log\n").unwrap();
    git(&repo, &["init", "-q"]);
    (tmp, repo)
}

#[test]
fn provenance_is_read_from_the_repository_without_a_git_program() {
    let (_t, repo) = repository();
    // A repository without a commit: the root is known, the commit is not.
    for on_path in [true, false] {
        assert_eq!(provenance(&repo, on_path), (Value::from("org"), Value::Null), "git on PATH: {on_path}");
    }
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "acme"]);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let clean = serde_json::json!({"commit": head, "dirty": false});
    let dirty = serde_json::json!({"commit": head, "dirty": true});
    let expect = |state: &Value, why: &str| {
        for on_path in [true, false] {
            assert_eq!(
                provenance(&repo, on_path),
                (Value::from("org"), state.clone()),
                "{why}, git on PATH: {on_path}"
            );
        }
    };
    expect(&clean, "committed");
    std::fs::write(repo.join("other/more.txt"), "x").unwrap();
    std::fs::write(repo.join("other/notes.txt"), "changed\n").unwrap();
    expect(&clean, "changes outside the manifest directory");
    std::fs::write(repo.join("org/debug.log"), "x").unwrap();
    expect(&clean, "an ignored file in the manifest directory");
    std::fs::create_dir_all(repo.join("org/drafts/deep")).unwrap();
    std::fs::write(repo.join("org/drafts/deep/new.yaml"), "users: []\n").unwrap();
    expect(&dirty, "an untracked file in the manifest directory");
    git(&repo, &["config", "status.showUntrackedFiles", "no"]);
    expect(&clean, "an untracked file git status is told to hide");
    git(&repo, &["config", "--unset", "status.showUntrackedFiles"]);
    std::fs::remove_dir_all(repo.join("org/drafts")).unwrap();
    expect(&clean, "the untracked file removed");
    edit(&repo.join("org/rollcall.yaml"), "# Acme's", "# The Acme");
    expect(&dirty, "a changed manifest");
    git(&repo, &["add", "-A"]);
    expect(&dirty, "a staged change");
    git(&repo, &["commit", "-qm", "comment"]);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    expect(&serde_json::json!({"commit": head, "dirty": false}), "committed again");
    std::fs::remove_file(repo.join("org/people.yaml")).unwrap();
    git(&repo, &["checkout", "--", "org/people.yaml"]);
    expect(&serde_json::json!({"commit": head, "dirty": false}), "restored");
}
