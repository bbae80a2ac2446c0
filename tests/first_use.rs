//! The gaps an administrator hits first (issue #19), through the real binary: validation
//! that finds what the SPEC calls a validation error, small organisations, account-only
//! roles, CSV group membership, whole-source assignments, and plans that list and explain.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::copy_dir;

use crate::support::{run as rollcall, stderr as err, stdout as out};

/// A manifest directory in a temp dir.
struct Site {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Site {
    /// A copy of a directory of the repository (examples/acme, tests/fixtures/scim).
    fn copy(of: &str) -> Site {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("m");
        copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join(of), &dir);
        Site { _tmp: tmp, dir }
    }

    fn files(files: &[(&str, &str)]) -> Site {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("m");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        Site { _tmp: tmp, dir }
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} does not contain {from:?}");
        std::fs::write(path, text.replacen(from, to, 1)).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.push(self.dir.to_str().unwrap());
        rollcall(&all, self.dir.parent().unwrap())
    }

    fn run_explain(&self, email: &str) -> Output {
        rollcall(&["explain", email, self.dir.to_str().unwrap()], self.dir.parent().unwrap())
    }
}

/// A GoTo account of `users` (email, license keys), one license `1` "GoToMeeting Business".
fn snapshot(users: &[(&str, &[&str])]) -> String {
    let users: Vec<serde_json::Value> = users
        .iter()
        .enumerate()
        .map(|(i, (email, licenses))| {
            serde_json::json!({
                "key": format!("{}", 100 + i), "email": email, "firstName": email.split('@').next().unwrap(),
                "licenseKeys": licenses, "adminRoles": [], "status": "ACTIVE"
            })
        })
        .collect();
    serde_json::json!({
        "account": {"key": "42", "name": "Tiny"},
        "licenses": [{"key": "1", "description": "GoToMeeting Business", "seats": 100}],
        "users": users,
    })
    .to_string()
}

const TINY: &str = r#"version: 1
target: { kind: file, path: live.json }
scope: { domains: [tiny.example] }
directory: [people.yaml]
roles:
  member: { licenses: ["GoToMeeting Business"] }
mappings:
  email:     { from: "ToLower([userPrincipalName])" }
  firstName: { from: "[givenName]" }
assignments:
  - { group: everyone, role: member }
"#;

const TINY_PEOPLE: &str = r#"users:
  - { userPrincipalName: ann@tiny.example, givenName: ann }
  - { userPrincipalName: bo@tiny.example, givenName: bo }
groups:
  everyone: { members: [ann@tiny.example, bo@tiny.example] }
"#;

fn tiny(manifest: &str) -> Site {
    Site::files(&[
        ("rollcall.yaml", manifest),
        ("people.yaml", TINY_PEOPLE),
        (
            "live.json",
            &snapshot(&[("ann@tiny.example", &["1"]), ("bo@tiny.example", &["1"]), ("cy@tiny.example", &["1"])]),
        ),
    ])
}

// ---------------------------------------------------------------------------
// Validation finds what the SPEC calls a validation error

#[test]
fn validate_reports_a_desired_email_outside_scope_domains() {
    let site = Site::copy("examples/acme");
    site.edit("people.yaml", "users:\n", "users:\n  - userPrincipalName: pat@elsewhere.example\n    givenName: Pat\n");
    site.edit(
        "rollcall.yaml",
        "assignments:\n",
        "assignments:\n  - { user: pat@elsewhere.example, role: organizer }\n",
    );
    let o = site.run(&["validate"]);
    assert_eq!(o.status.code(), Some(1), "validate must fail: {}", err(&o));
    let e = err(&o);
    assert!(e.contains("rollcall::email-out-of-scope"), "{e}");
    assert!(e.contains("pat@elsewhere.example"), "{e}");
    assert!(e.contains("people.yaml:5:"), "points at the person's record: {e}");
}

#[test]
fn an_invalid_email_expression_is_reported_once() {
    let site = Site::copy("examples/acme");
    site.edit(
        "rollcall.yaml",
        "ToLower(Coalesce([mail], [userPrincipalName]))",
        "ToLower(Coalesce([mail], [userPrincipalName])",
    );
    let o = site.run(&["validate"]);
    assert_eq!(o.status.code(), Some(1));
    let e = err(&o);
    assert!(e.contains("rollcall::expression-syntax"), "{e}");
    assert!(!e.contains("no mapping produces"), "the mapping exists, it is only wrong: {e}");
    assert!(e.contains("error: 1 problem found"), "{e}");

    // An unknown attribute in it: the same.
    let site = Site::copy("examples/acme");
    site.edit("rollcall.yaml", "Coalesce([mail],", "Coalesce([mial],");
    let e = err(&site.run(&["validate"]));
    assert!(e.contains("rollcall::unknown-attribute") && !e.contains("no mapping produces"), "{e}");
    assert!(e.contains("error: 1 problem found"), "{e}");
}

#[test]
fn an_unknown_license_is_reported_at_every_line_that_names_it() {
    let site = Site::copy("examples/acme");
    site.edit("live.json", "\"GoToMeeting Business\"", "\"GoToMeeting Pro\"");
    let o = site.run(&["plan"]);
    assert_eq!(o.status.code(), Some(1));
    let e = err(&o);
    // organizer, admin and webinar-host all name it.
    let lines: Vec<usize> = std::fs::read_to_string(site.dir.join("rollcall.yaml"))
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("licenses:") && l.contains("\"GoToMeeting Business\""))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 3);
    for line in lines {
        assert!(e.contains(&format!("rollcall.yaml:{line}:")), "line {line} not reported: {e}");
    }
    assert_eq!(e.matches("rollcall::unknown-license").count(), 3, "{e}");
}

// ---------------------------------------------------------------------------
// Small organisations, account-only roles

#[test]
fn a_three_account_organisation_may_remove_one() {
    let site = tiny(TINY);
    let o = site.run(&["plan"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    let p = out(&o);
    assert!(p.contains("- disable cy@tiny.example"), "{p}");
    assert!(!p.contains("Blocked"), "33 % of 3 accounts is below min_accounts (10): {p}");
}

#[test]
fn min_accounts_sets_where_the_percentage_starts() {
    let site = tiny(&format!("{TINY}policy:\n  max_removals: {{ percent: 20, min_accounts: 3 }}\n"));
    let o = site.run(&["plan"]);
    assert_ne!(o.status.code(), Some(0), "{}", out(&o));
    let p = out(&o);
    assert!(p.contains("Blocked:") && p.contains("max_removals.percent"), "{p}");
    // Validation: a negative or fractional min_accounts is refused by the schema types.
    let site = tiny(&format!("{TINY}policy:\n  max_removals: {{ min_accounts: -1 }}\n"));
    assert_eq!(site.run(&["validate"]).status.code(), Some(1));
}

#[test]
fn a_scim_role_may_grant_only_the_account_and_a_goto_role_may_not() {
    let site = Site::copy("tests/fixtures/scim");
    site.edit("rollcall.yaml", "scim_roles: [member]\n", "scim_roles: []\n");
    let o = site.run(&["validate"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let site = Site::copy("tests/fixtures/scim");
    site.edit("rollcall.yaml", "  member:\n    scim_roles: [member]\n", "  member: {}\n");
    let o = site.run(&["validate"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));

    let site = Site::copy("examples/acme");
    site.edit("rollcall.yaml", "  organizer:\n    licenses: [\"GoToMeeting Business\"]\n", "  organizer: {}\n");
    let o = site.run(&["validate"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("rollcall::empty-role"), "{}", err(&o));
}

// ---------------------------------------------------------------------------
// Plans that list what they leave alone, and read right

#[test]
fn unmanaged_grants_are_listed_in_text_and_markdown() {
    let site = Site::copy("examples/acme");
    for format in ["text", "markdown"] {
        let o = site.run(&["plan", "--format", format]);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        let p = out(&o);
        assert!(p.contains("2 unmanaged grants"), "{p}");
        assert!(p.contains("chloe.martin@acme.example") && p.contains("7902142105473202138"), "{format}: {p}");
        assert!(p.contains("it-admin@acme.example: admin role SUPER_USER"), "{format}: {p}");
    }
}

#[test]
fn an_update_from_null_does_not_read_like_a_create() {
    let site = Site::copy("examples/acme");
    site.edit("live.json", "\"firstName\": \"Emma\",", "");
    let o = site.run(&["plan"]);
    let p = out(&o);
    assert!(p.contains("~ update emma.thompson@acme.example"), "{p}");
    assert!(p.contains("firstName: (none) -> \"Emma\""), "{p}");
}

// ---------------------------------------------------------------------------
// CSV group membership, whole-source assignments

#[test]
fn a_csv_groups_column_puts_people_in_groups_defined_there_or_elsewhere() {
    let site = Site::copy("examples/acme");
    let csv = site.dir.join("exports/contractors.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[0].push_str(",groups");
    for line in &mut lines[1..] {
        // Pierre joins an existing YAML group and a group only the CSV names.
        line.push_str(if line.starts_with("ext.pierre.durand") { ",support; facilities" } else { "," });
    }
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    site.edit("rollcall.yaml", "assignments:\n", "assignments:\n  - { group: facilities, role: webinar-host }\n");
    let o = site.run(&["validate"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = site.run(&["plan"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let p = out(&o);
    assert!(p.contains("+ create ext.pierre.durand@acme.example"), "{p}");
    assert!(p.contains("Plan: 4 to create"), "{p}");
    let o = site.run_explain("ext.pierre.durand@acme.example");
    let e = out(&o);
    assert!(e.contains("  facilities (direct member)") && e.contains("  support (direct member)"), "{e}");
    assert!(e.contains("  staff via support"), "{e}");
    assert!(e.contains("exports/contractors.csv:6:1  member of group facilities"), "{e}");
}

#[test]
fn an_assignment_can_name_a_whole_directory_source() {
    let site = Site::copy("examples/acme");
    site.edit(
        "rollcall.yaml",
        "assignments:\n",
        "assignments:\n  - { source: exports/contractors.csv, role: organizer }\n",
    );
    let o = site.run(&["plan"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let p = out(&o);
    assert!(p.contains("+ create ext.pierre.durand@acme.example"), "{p}");
    let e = out(&site.run_explain("ext.pierre.durand@acme.example"));
    assert!(e.contains("  source exports/contractors.csv -> role organizer"), "{e}");

    let site = Site::copy("examples/acme");
    site.edit(
        "rollcall.yaml",
        "assignments:\n",
        "assignments:\n  - { source: exports/contractor.csv, role: organizer }\n",
    );
    let o = site.run(&["validate"]);
    assert_eq!(o.status.code(), Some(1));
    let e = err(&o);
    assert!(e.contains("rollcall::unknown-source") && e.contains("did you mean `exports/contractors.csv`?"), "{e}");
    let line = std::fs::read_to_string(site.dir.join("rollcall.yaml"))
        .unwrap()
        .lines()
        .position(|l| l.contains("source: exports/contractor.csv"))
        .unwrap()
        + 1;
    assert!(e.contains(&format!("rollcall.yaml:{line}:")), "{e}");
}

// ---------------------------------------------------------------------------
// A stale plan names what changed

#[test]
fn a_stale_plan_names_the_part_of_the_manifests_that_changed() {
    let site = Site::copy("examples/acme");
    let plan = site.dir.parent().unwrap().join("plan.json");
    let save = || {
        let o = rollcall(
            &["plan", site.dir.to_str().unwrap(), "--out", plan.to_str().unwrap()],
            site.dir.parent().unwrap(),
        );
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    };
    let apply = || {
        rollcall(
            &["apply", plan.to_str().unwrap(), "--auto-approve", "--dir", site.dir.to_str().unwrap()],
            site.dir.parent().unwrap(),
        )
    };
    // A policy edit that changes no action.
    save();
    site.edit("rollcall.yaml", "count: 10,", "count: 11,");
    let o = apply();
    assert_eq!(o.status.code(), Some(1));
    let e = err(&o);
    assert!(e.contains("rollcall::stale-plan"), "{e}");
    assert!(e.contains("`policy` in rollcall.yaml changed"), "{e}");
    assert!(!e.contains("manifest digest"), "names what changed, not two digests: {e}");
    // A directory edit that changes only an on-create value of an existing account.
    save();
    site.edit("people.yaml", "preferredLanguage: fr-FR", "preferredLanguage: de-DE");
    let e = err(&apply());
    assert!(e.contains("rollcall::stale-plan"), "{e}");
    assert!(e.contains("the desired accounts changed (a directory record; rollcall.yaml is as it was)"), "{e}");
}

#[test]
fn now_is_the_plans_time_and_apply_reuses_it() {
    let site = tiny(
        &TINY.replace("firstName: { from: \"[givenName]\" }", "firstName: { from: 'Join(\" \", [givenName], Now())' }"),
    );
    std::fs::write(site.dir.join("live.json"), snapshot(&[])).unwrap();
    let plan = site.dir.parent().unwrap().join("plan.json");
    let o =
        rollcall(&["plan", site.dir.to_str().unwrap(), "--out", plan.to_str().unwrap()], site.dir.parent().unwrap());
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let made_at = saved["made_at"].as_str().expect("the plan records its time").to_owned();
    assert!(out(&o).contains(&format!("firstName: \"ann {made_at}\"")), "{}", out(&o));
    // A second later the clock has moved; the reviewed plan still applies, with its own time.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let o = rollcall(
        &["apply", plan.to_str().unwrap(), "--auto-approve", "--dir", site.dir.to_str().unwrap()],
        site.dir.parent().unwrap(),
    );
    assert_eq!(o.status.code(), Some(0), "not stale by the clock: {}", err(&o));
    let live = std::fs::read_to_string(site.dir.join("live.json")).unwrap();
    assert!(live.contains(&format!("ann {made_at}")), "{live}");
}
