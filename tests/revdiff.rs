//! `rollcall diff` on a throwaway git repository whose history holds one kind of change per
//! commit (tagged, so revisions are named the same in every run), pinned with insta.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn git(repo: &Path, args: &[&str]) {
    let o = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"])
        .args(["-c", "tag.gpgsign=false", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(repo)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git runs");
    assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

fn write(repo: &Path, path: &str, text: &str) {
    let p = repo.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn edit(repo: &Path, path: &str, from: &str, to: &str) {
    let p = repo.join(path);
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "{path} does not contain {from:?}");
    std::fs::write(p, text.replacen(from, to, 1)).unwrap();
}

fn commit(repo: &Path, tag: &str) {
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", tag]);
    git(repo, &["tag", tag]);
}

const ROOT: &str = r#"version: 1
target: { kind: file, path: live.json }
scope: { domains: [example.com] }
directory:
  - groups.yaml
  - people/*.yaml
matching: [email]
roles:
  organizer: { licenses: ["GoToMeeting Business"] }
  admin: { licenses: ["GoToMeeting Business"], admin_roles: [MANAGE_USERS] }
mappings:
  email:     { from: "ToLower([mail])" }
  firstName: { from: "[givenName]" }
  lastName:  { from: "[surname]" }
assignments:
  - { group: staff, role: organizer }
  - { group: admins, role: admin }
  - { group: contractors, role: organizer }
"#;

const GROUPS: &str = "groups:
  staff: { members: [alice@example.com, bob@example.com] }
  admins: { members: [alice@example.com] }
";

const STAFF: &str = "users:
  - { mail: alice@example.com, givenName: Alice, surname: Archer }
  - { mail: bob@example.com, givenName: Bob, surname: Baker }
";

const CONTRACTORS: &str = "users:
  - { mail: dave@example.com, givenName: Dave, surname: Dunn }
groups:
  contractors: { members: [dave@example.com] }
";

/// A repository with the manifests in `acme/` and one tagged commit per kind of change:
/// initial, added-person, removed-assignment, changed-mapping, renamed-file, deleted-file.
fn history() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    write(&repo, "README.md", "manifests for example.com\n");
    write(&repo, "acme/rollcall.yaml", ROOT);
    write(&repo, "acme/groups.yaml", GROUPS);
    write(&repo, "acme/people/staff.yaml", STAFF);
    write(&repo, "acme/people/contractors.yaml", CONTRACTORS);
    commit(&repo, "initial");

    edit(
        &repo,
        "acme/people/staff.yaml",
        "  - { mail: bob",
        "  - { mail: carol@example.com, givenName: Carol, surname: Clark }\n  - { mail: bob",
    );
    edit(&repo, "acme/groups.yaml", "bob@example.com]", "bob@example.com, carol@example.com]");
    commit(&repo, "added-person");

    edit(&repo, "acme/rollcall.yaml", "  - { group: admins, role: admin }\n", "");
    commit(&repo, "removed-assignment");

    edit(
        &repo,
        "acme/rollcall.yaml",
        r#"lastName:  { from: "[surname]" }"#,
        r#"lastName:  { from: "ToUpper([surname])" }"#,
    );
    commit(&repo, "changed-mapping");

    git(&repo, &["mv", "acme/people/staff.yaml", "acme/people/employees.yaml"]);
    commit(&repo, "renamed-file");

    std::fs::remove_file(repo.join("acme/people/contractors.yaml")).unwrap();
    edit(&repo, "acme/rollcall.yaml", "  - { group: contractors, role: organizer }\n", "");
    commit(&repo, "deleted-file");
    (tmp, repo)
}

fn rollcall(repo: &Path, args: &[&str]) -> Output {
    crate::support::rollcall()
        .args(args)
        .current_dir(repo)
        .env_remove("NO_COLOR")
        .env_remove("GIT_DIR")
        .output()
        .expect("rollcall runs")
}

fn diff(repo: &Path, args: &[&str]) -> String {
    let o = rollcall(repo, &[&["diff"], args].concat());
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

macro_rules! pin {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => "snapshots/diff",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

#[test]
fn added_person() {
    let (_t, repo) = history();
    pin!("added-person", diff(&repo, &["--base", "initial", "--head", "added-person", "acme"]));
}

#[test]
fn removed_group_assignment() {
    let (_t, repo) = history();
    pin!("removed-assignment", diff(&repo, &["--base", "added-person", "--head", "removed-assignment", "acme"]));
}

#[test]
fn changed_mapping() {
    let (_t, repo) = history();
    pin!("changed-mapping", diff(&repo, &["--base", "removed-assignment", "--head", "changed-mapping", "acme"]));
}

#[test]
fn renamed_file_changes_no_account() {
    let (_t, repo) = history();
    let out = diff(&repo, &["--base", "changed-mapping", "--head", "renamed-file", "acme"]);
    assert!(out.contains("No changes to desired accounts or settings."), "{out}");
    assert!(out.contains("renamed people/staff.yaml -> people/employees.yaml"), "{out}");
    pin!("renamed-file", out);
}

#[test]
fn deleted_file() {
    let (_t, repo) = history();
    pin!("deleted-file", diff(&repo, &["--base", "renamed-file", "--head", "deleted-file", "acme"]));
}

#[test]
fn the_whole_history_as_markdown_and_json() {
    let (_t, repo) = history();
    pin!(
        "initial-to-deleted-file.md",
        diff(&repo, &["--base", "initial", "--head", "deleted-file", "acme", "--format", "markdown"])
    );
    let json: serde_json::Value = serde_json::from_str(&diff(
        &repo,
        &["--base", "initial", "--head", "deleted-file", "acme", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["summary"]["added"], 1, "carol");
    assert_eq!(json["summary"]["removed"], 1, "dave");
    assert_eq!(json["manifest_dir"], "acme");
    let statuses: Vec<(&str, &str)> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["status"].as_str().unwrap(), f["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("modified", "groups.yaml"),
            ("deleted", "people/contractors.yaml"),
            ("renamed", "people/employees.yaml"),
            ("modified", "rollcall.yaml"),
        ]
    );
}

#[test]
fn head_defaults_to_the_working_tree() {
    let (_t, repo) = history();
    edit(
        &repo,
        "acme/groups.yaml",
        "admins: { members: [alice@example.com] }",
        "admins: { members: [alice@example.com, bob@example.com] }",
    );
    let out = diff(&repo, &["--base", "HEAD", "acme"]);
    assert!(out.starts_with("rollcall diff HEAD -> working tree (acme):"), "{out}");
    // The admins group is no longer assigned at HEAD: a member more changes nobody.
    assert!(out.contains("No changes to desired accounts or settings."), "{out}");
    assert!(out.contains("+  admins: { members: [alice@example.com, bob@example.com] }"), "{out}");
    // Run from inside the manifest directory, DIR defaults to it.
    let inside = diff(&repo.join("acme"), &["--base", "HEAD"]);
    assert_eq!(inside, out);
}

#[test]
fn a_revision_that_does_not_validate_is_named_in_the_diagnostic() {
    let (_t, repo) = history();
    edit(&repo, "acme/rollcall.yaml", "{ group: staff, role: organizer }", "{ group: staff, role: organiser }");
    commit(&repo, "broken");
    let o = rollcall(&repo, &["diff", "--base", "deleted-file", "--head", "broken", "acme"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("rollcall::unknown-role"), "{err}");
    assert!(err.contains("broken:acme/rollcall.yaml:"), "the file is named with its revision: {err}");
    assert!(o.stdout.is_empty());
    pin!("broken-revision.stderr", err.into_owned());
    // The same mistake in the working tree is named as a plain path.
    let o = rollcall(&repo, &["diff", "--base", "deleted-file", "acme"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("acme/rollcall.yaml:") && !err.contains(":acme/rollcall.yaml"), "{err}");
}

#[test]
fn a_manifest_directory_new_at_head_adds_everyone() {
    let (_t, repo) = history();
    let out = diff(&repo, &["--base", "initial", "--head", "deleted-file", "acme"]);
    assert!(!out.contains("no manifest"), "{out}");
    git(&repo, &["mv", "acme", "example"]);
    commit(&repo, "moved");
    let out = diff(&repo, &["--base", "deleted-file", "--head", "moved", "example"]);
    assert!(out.contains("(no manifest at deleted-file: every desired account is new)"), "{out}");
    assert!(out.contains("Desired accounts: 3 added, 0 removed, 0 changed (0 -> 3)."), "{out}");
}

#[test]
fn unknown_revisions_and_directories_outside_git_are_errors() {
    let (_t, repo) = history();
    let o = rollcall(&repo, &["diff", "--base", "no-such-branch", "acme"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown revision `no-such-branch`"));
    let outside = tempfile::tempdir().unwrap();
    let o = rollcall(outside.path(), &["diff", "--base", "main"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not in a git repository"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Plan provenance: the plan file records the commit (and whether the tree was dirty) and the
/// manifest directory relative to the git root; `show` and `apply PLANFILE` name the commit.
#[test]
fn plans_name_the_commit_they_were_made_from() {
    let (_t, repo) = history();
    write(
        &repo,
        "acme/live.json",
        r#"{"account": {"key": "42", "name": "Example"},
            "licenses": [{"key": "7", "description": "GoToMeeting Business", "seats": 10, "userKeys": []}],
            "users": []}"#,
    );
    commit(&repo, "with-snapshot");
    let head = Command::new("git").args(["rev-parse", "HEAD"]).current_dir(&repo).output().unwrap();
    let head = String::from_utf8(head.stdout).unwrap().trim().to_owned();

    let o = rollcall(&repo, &["plan", "acme", "--out", "plan.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["git"]["commit"], head.as_str());
    assert_eq!(plan["git"]["dirty"], false);
    assert_eq!(plan["manifest_dir"], "acme");

    let o = rollcall(&repo, &["show", "plan.json"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("Plan made from commit {head}.")));
    // Applied from inside the manifest directory: manifest_dir is found from the git root.
    let o = rollcall(&repo.join("acme"), &["apply", "../plan.json", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("Applying the plan made from commit {head}.")));

    edit(
        &repo,
        "acme/groups.yaml",
        "admins: { members: [alice@example.com] }",
        "admins: { members: [bob@example.com] }",
    );
    let o = rollcall(&repo, &["plan", "acme", "--out", "dirty.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let o = rollcall(&repo, &["show", "dirty.json"]);
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains(&format!("Plan made from commit {head} (with uncommitted changes).")),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn settings_changes_are_listed() {
    let (_t, repo) = history();
    edit(
        &repo,
        "acme/rollcall.yaml",
        "scope: { domains: [example.com] }",
        "scope: { domains: [example.com], exclude: [bob@example.com] }\npolicy: { on_unassign: delete }",
    );
    let out = diff(&repo, &["--base", "HEAD", "acme"]);
    assert!(
        out.contains(
            "  Settings:\n  ~ policy.on_unassign: disable -> delete\n  ~ scope.exclude: (none) -> bob@example.com\n"
        ),
        "{out}"
    );
}

#[test]
fn a_redacted_attribute_shows_its_change_not_its_values() {
    let (_t, repo) = history();
    edit(&repo, "acme/rollcall.yaml", r#"{ from: "ToUpper([surname])" }"#, r#"{ from: "Redact([surname])" }"#);
    commit(&repo, "redacted");
    for format in ["text", "markdown", "json"] {
        let out = diff(&repo, &["--base", "deleted-file", "--head", "redacted", "--format", format, "acme"]);
        assert!(out.contains("[redacted]"), "{out}");
        for clear in ["Archer", "ARCHER", "Baker", "BAKER"] {
            assert!(!out.contains(clear), "{format} shows {clear}:\n{out}");
        }
    }
}
