//! `Redact(x)`: the target receives x, every output shows it masked (issue #19), through the
//! real binary against a file target.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{run, stderr, stdout};

/// The clear values: a new person's surname, and the old and new surname of a person
/// whose account exists.
const SECRETS: [&str; 3] = ["Zanzibar-4711", "Oldsecret-0815", "Newsecret-9999"];

const MANIFEST: &str = r#"version: 1
target: { kind: file, path: live.json }
scope: { domains: [tiny.example] }
directory: [people.yaml]
roles:
  member: { licenses: ["GoToMeeting Business"] }
mappings:
  email:     { from: "ToLower([userPrincipalName])" }
  firstName: { from: "[givenName]" }
  lastName:  { from: "Redact([surname])" }
assignments:
  - { group: everyone, role: member }
"#;

const PEOPLE: &str = r#"users:
  - { userPrincipalName: ann@tiny.example, givenName: Ann, surname: Zanzibar-4711 }
  - { userPrincipalName: bo@tiny.example, givenName: Bo, surname: Newsecret-9999 }
groups:
  everyone: { members: [ann@tiny.example, bo@tiny.example] }
"#;

const LIVE: &str = r#"{
  "account": {"key": "42", "name": "Tiny"},
  "licenses": [{"key": "1", "description": "GoToMeeting Business", "seats": 100}],
  "users": [{"key": "101", "email": "bo@tiny.example", "firstName": "Bo", "lastName": "Oldsecret-0815",
             "licenseKeys": ["1"], "adminRoles": [], "status": "ACTIVE"}]
}"#;

struct Site {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Site {
    fn new() -> Site {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("m");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in [("rollcall.yaml", MANIFEST), ("people.yaml", PEOPLE), ("live.json", LIVE)] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        Site { _tmp: tmp, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.parent().unwrap().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        run(args, self.dir.parent().unwrap())
    }

    fn d(&self) -> &str {
        self.dir.to_str().unwrap()
    }
}

/// `what` shows none of the clear values.
fn masked(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows the redacted value {secret}:\n{text}");
    }
}

fn both(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_redacted_value_reaches_the_target_and_no_output() {
    let site = Site::new();
    let plan_file = site.path("plan.json");
    let o = site.run(&["plan", site.d(), "--out", plan_file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    masked("plan (text)", &both(&o));
    // The change is still there to review.
    assert!(stdout(&o).contains("lastName: [redacted] -> [redacted]"), "{}", stdout(&o));
    assert!(stdout(&o).contains("lastName:  [redacted]"), "{}", stdout(&o));
    for format in ["markdown", "json"] {
        let o = site.run(&["plan", site.d(), "--format", format]);
        assert_eq!(o.status.code(), Some(0), "{}", both(&o));
        masked(&format!("plan ({format})"), &both(&o));
        assert!(stdout(&o).contains("[redacted]"), "{}", stdout(&o));
    }
    masked("the plan file", &read(&plan_file));
    for email in ["ann@tiny.example", "bo@tiny.example"] {
        for format in ["text", "json"] {
            let o = site.run(&["explain", email, site.d(), "--format", format]);
            assert_eq!(o.status.code(), Some(0), "{}", both(&o));
            masked(&format!("explain {email} ({format})"), &both(&o));
        }
    }
    let audit = site.path("audit.jsonl");
    let o = site.run(&["apply", plan_file.to_str().unwrap(), "--auto-approve", "--audit-log", audit.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    masked("the apply report", &both(&o));
    masked("the audit log", &read(&audit));
    // The target has the clear values.
    let live = read(&site.dir.join("live.json"));
    assert!(live.contains("Zanzibar-4711") && live.contains("Newsecret-9999"), "{live}");
    assert!(!live.contains("[redacted]"), "{live}");
    let o = site.run(&["plan", site.d()]);
    assert!(stdout(&o).contains("No changes."), "{}", both(&o));
}

#[test]
fn a_changed_secret_makes_a_saved_plan_stale() {
    let site = Site::new();
    let plan_file = site.path("plan.json");
    let o = site.run(&["plan", site.d(), "--out", plan_file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let people = read(&site.dir.join("people.yaml")).replace("Newsecret-9999", "Newsecret-9998");
    std::fs::write(site.dir.join("people.yaml"), people).unwrap();
    let o = site.run(&["apply", plan_file.to_str().unwrap(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(1), "{}", both(&o));
    assert!(stderr(&o).contains("rollcall::stale-plan"), "{}", both(&o));
    masked("the stale-plan error", &both(&o));
    assert!(!both(&o).contains("Newsecret-9998"), "{}", both(&o));
    assert!(read(&site.dir.join("live.json")).contains("Oldsecret-0815"), "nothing applied");
}

#[test]
fn the_attribute_that_names_the_account_cannot_be_redacted() {
    let site = Site::new();
    let manifest = MANIFEST
        .replace(r#"{ from: "ToLower([userPrincipalName])" }"#, r#"{ from: "Redact(ToLower([userPrincipalName]))" }"#);
    std::fs::write(site.dir.join("rollcall.yaml"), manifest).unwrap();
    let o = site.run(&["validate", site.d()]);
    assert_eq!(o.status.code(), Some(1), "{}", both(&o));
    assert!(stderr(&o).contains("rollcall::redacted-identity"), "{}", both(&o));
    assert!(stderr(&o).contains("`email` names or matches the account, so it cannot be redacted"), "{}", both(&o));
    assert!(stderr(&o).contains("rollcall.yaml:8:22]"), "file:line:col: {}", both(&o));
}
