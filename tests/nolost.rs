//! Nothing lost (issue #15): no account, license or audit line goes missing, whatever the
//! input or the timing. Each test runs the real binary; `ROLLCALL_BIN_UNDER_TEST` points them
//! at another build (this is how each was seen failing on the code before its fix).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::emulated::{Site, World};

const BUSINESS: &str = "7902142105473202120";
const WEBINAR: &str = "7902142105473202121";

fn bin() -> String {
    crate::support::rollcall_bin()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small manifest directory with a `file` target, in a temp dir.
struct Org {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

const MANIFEST: &str = r#"version: 1
target: { kind: file, path: live.json }
scope: { domains: [acme.example] }
directory: [people.yaml]
matching: [email]
roles:
  organizer: { licenses: ["GoToMeeting Business"] }
mappings:
  email: { from: "ToLower([userPrincipalName])" }
  firstName: { from: "[givenName]" }
  lastName: { from: "[surname]" }
assignments:
  - { group: staff, role: organizer }
policy:
  on_unassign: disable
  max_removals: { count: 10, percent: 100 }
"#;

/// people.yaml: (upn, givenName, surname), all in group `staff`.
fn people(list: &[(&str, &str, &str)]) -> String {
    let mut s = String::from("users:\n");
    for (upn, given, surname) in list {
        s.push_str(&format!("  - userPrincipalName: {upn}\n    givenName: {given}\n    surname: {surname}\n"));
    }
    s.push_str("groups:\n  staff:\n    members:\n");
    for (upn, _, _) in list {
        s.push_str(&format!("      - {upn}\n"));
    }
    s
}

fn user(key: &str, email: &str, first: &str, last: &str, licenses: &[&str]) -> Value {
    json!({"key": key, "email": email, "firstName": first, "lastName": last, "locale": "en_US",
           "timeZone": "Europe/Berlin", "licenseKeys": licenses, "adminRoles": [], "nameLocked": false,
           "emailLocked": false, "identityReadOnly": false, "status": "ACTIVE"})
}

/// A snapshot holding `users`; GoToMeeting Business has `seats` seats.
fn account(users: Vec<Value>, seats: usize) -> Value {
    let holders = |l: &str| -> Vec<Value> {
        users
            .iter()
            .filter(|u| u["licenseKeys"].as_array().unwrap().iter().any(|k| k == l))
            .map(|u| u["key"].clone())
            .collect()
    };
    json!({"account": {"key": "4152318826743922179", "name": "Acme"},
           "licenses": [
             {"key": BUSINESS, "description": "GoToMeeting Business", "seats": seats, "products": ["G2M"], "enabled": true, "userKeys": holders(BUSINESS)},
             {"key": WEBINAR, "description": "GoToWebinar Standard", "seats": 100, "products": ["G2W"], "enabled": true, "userKeys": holders(WEBINAR)}],
           "users": users})
}

impl Org {
    fn new(manifest: &str, files: &[(&str, String)], live: &Value) -> Org {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("org");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("rollcall.yaml"), manifest).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        std::fs::write(dir.join("live.json"), serde_json::to_string_pretty(live).unwrap()).unwrap();
        Org { _tmp: tmp, dir }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args).current_dir(self.dir.parent().unwrap()).env("NO_COLOR", "1");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn d(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_owned()
    }

    fn live(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("live.json")).unwrap()
    }

    fn plan_json(&self) -> Value {
        let o = self.run(&["plan", self.d(), "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
        serde_json::from_str(&stdout(&o)).unwrap()
    }
}

fn created<'a>(plan: &'a Value, email: &str) -> &'a Value {
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "create" && a["email"] == email)
        .unwrap_or_else(|| panic!("no create of {email}: {plan}"))
}

fn attribute<'a>(action: &'a Value, name: &str) -> &'a Value {
    &action["changes"].as_array().unwrap().iter().find(|c| c["attribute"] == name).unwrap()["new"]
}

// 1. Create and delete of one email in one plan.

#[test]
fn a_create_whose_email_an_unmatched_live_account_holds_is_a_plan_error() {
    let manifest = MANIFEST.replace("matching: [email]", "matching: [firstName]").replace("disable", "delete");
    let org = Org::new(
        &manifest,
        &[("people.yaml", people(&[("jonathan.weber@acme.example", "Jonathan", "Weber")]))],
        &account(vec![user("6580000000000000001", "jonathan.weber@acme.example", "Jon", "Weber", &[BUSINESS])], 10),
    );
    let o = org.run(&["validate", org.d()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("rollcall::matching-fallback"), "a warning, not an error: {}", stderr(&o));
    let before = org.live();
    let o = org.run(&["apply", org.d(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    // The diagnostic as words, whatever the renderer's line wrapping.
    let e: String = stderr(&o).split_whitespace().filter(|w| *w != "│").collect::<Vec<_>>().join(" ");
    assert!(e.contains("rollcall::create-collides"), "{e}");
    assert!(e.contains("jonathan.weber@acme.example") && e.contains("(6580000000000000001)"), "both sides: {e}");
    assert!(e.contains("matching (firstName)") && e.contains("[firstName, email]"), "the list to fix: {e}");
    assert_eq!(org.live(), before, "nothing adopted, deleted or created");
}

// 3. The audit log is a write-ahead log.

#[test]
fn an_audit_log_that_cannot_be_written_stops_the_apply_before_any_change() {
    let org = Org::new(
        MANIFEST,
        &[("people.yaml", people(&[("ann@acme.example", "Ann", "Lee"), ("bo@acme.example", "Bo", "Chen")]))],
        &account(vec![user("6580000000000000001", "ann@acme.example", "Ann", "Leigh", &[BUSINESS])], 10),
    );
    let before = org.live();
    let o = org.run(&["apply", org.d(), "--auto-approve", "--audit-log", "/dev/full"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("rollcall::audit-log"), "{}", stderr(&o));
    assert_eq!(org.live(), before, "no change without its audit line");
}

#[test]
fn audit_lines_from_an_apply_validate_against_the_schema_and_carry_the_run() {
    let org = Org::new(
        MANIFEST,
        &[("people.yaml", people(&[("ann@acme.example", "Ann", "Lee"), ("bo@acme.example", "Bo", "Chen")]))],
        &account(
            vec![
                user("6580000000000000001", "ann@acme.example", "Ann", "Leigh", &[BUSINESS]),
                user("6580000000000000002", "cy@acme.example", "Cy", "Left", &[BUSINESS]),
            ],
            10,
        ),
    );
    let plan = org.path("plan.json");
    let o = org.run(&["plan", org.d(), "--out", &plan]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let digest =
        serde_json::from_str::<Value>(&std::fs::read_to_string(&plan).unwrap()).unwrap()["manifest_digest"].clone();
    let log = org.path("audit.jsonl");
    let o = org
        .cmd(&["apply", &plan, "--auto-approve", "--audit-log", &log])
        .env("GITHUB_ACTOR", "octo-admin")
        .env("GITHUB_RUN_ID", "4711")
        .env_remove("GITLAB_USER_LOGIN")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));

    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/audit-line.schema.json");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let index = compiler.compile(schema_path.to_str().unwrap(), &mut schemas).expect("the schema compiles");
    let lines: Vec<Value> =
        std::fs::read_to_string(&log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1 + 2 * 3, "start, then intent and outcome for 3 actions");
    let timestamp = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").unwrap();
    for l in &lines {
        if let Err(e) = schemas.validate(l, index) {
            panic!("{l} does not validate against schema/audit-line.schema.json:\n{e}");
        }
        assert!(timestamp.is_match(l["@timestamp"].as_str().unwrap()), "{l}");
        assert_eq!(l["trace.id"], lines[0]["trace.id"], "one run id");
        assert_eq!(l["service.version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(l["user.name"], "octo-admin");
        assert_eq!(l["rollcall.ci.run"], "github-actions run 4711");
        assert_eq!(l["rollcall.target.account"], "4152318826743922179");
        assert_eq!(l["rollcall.manifest_digest"], digest);
    }
    // Every action: its intent line first, then its outcome.
    for email in ["ann@acme.example", "bo@acme.example", "cy@acme.example"] {
        let phases: Vec<&str> = lines
            .iter()
            .filter(|l| l["user.target.email"] == email)
            .map(|l| l["rollcall.phase"].as_str().unwrap())
            .collect();
        assert_eq!(phases, ["intent", "outcome"], "{email}");
    }
    let bo = lines.iter().find(|l| l["user.target.email"] == "bo@acme.example" && l["rollcall.phase"] == "outcome");
    let key = bo.unwrap()["user.target.id"].as_str().expect("the new key of a create").to_owned();
    let live: Value = serde_json::from_slice(&org.live()).unwrap();
    assert!(live["users"].as_array().unwrap().iter().any(|u| u["key"] == key.as_str()), "{key} is bo's key");
}

// 4. accountEnabled fails closed.

#[test]
fn account_enabled_is_true_or_false_and_anything_else_is_a_diagnostic_at_the_cell() {
    let manifest =
        MANIFEST.replace("directory: [people.yaml]", "directory: [{ format: csv, path: people.csv }, groups.yaml]");
    let groups = |n: usize| {
        let members: Vec<String> = ["a", "b", "c", "d", "e"][..n].iter().map(|p| format!("{p}@acme.example")).collect();
        format!("groups:\n  staff:\n    members: [{}]\n", members.join(", "))
    };
    let csv = "userPrincipalName,givenName,surname,accountEnabled\n\
               a@acme.example,A,One,0\n\
               b@acme.example,B,Two,no\n\
               c@acme.example,C,Three,N\n\
               d@acme.example,D,Four,disabled\n\
               e@acme.example,E,Five,TRUE\n";
    let org = Org::new(&manifest, &[("people.csv", csv.to_owned()), ("groups.yaml", groups(5))], &account(vec![], 10));
    let o = org.run(&["validate", org.d()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert_eq!(e.matches("rollcall::invalid-boolean").count(), 4, "{e}");
    assert!(e.contains("people.csv:2:22"), "points at the cell: {e}");
    assert!(e.contains("people.csv:5:23"), "points at the cell: {e}");
    assert!(!e.contains("people.csv:6:"), "TRUE is true: {e}");

    // " false" (a space before it) is false: the person is disabled, not left licensed.
    let csv = "userPrincipalName,givenName,surname,accountEnabled\n\
               a@acme.example,A,One, false\n\
               b@acme.example,B,Two,False\n";
    let org = Org::new(
        &manifest,
        &[("people.csv", csv.to_owned()), ("groups.yaml", groups(2))],
        &account(
            vec![
                user("6580000000000000001", "a@acme.example", "A", "One", &[BUSINESS]),
                user("6580000000000000002", "b@acme.example", "B", "Two", &[BUSINESS]),
            ],
            10,
        ),
    );
    let plan = org.plan_json();
    let disabled: Vec<&str> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "disable")
        .map(|a| a["email"].as_str().unwrap())
        .collect();
    assert_eq!(disabled, ["a@acme.example", "b@acme.example"], "{plan}");
}

// 5. A truncated Graph export; a BOM.

#[test]
fn an_entra_export_that_is_one_page_of_several_is_an_error() {
    let manifest = MANIFEST
        .replace("directory: [people.yaml]", "directory: [people.yaml, { format: entra-json, path: users.json }]");
    let yaml = people(&[("ann@acme.example", "Ann", "Lee")]);
    let page = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
                      "@odata.nextLink": "https://graph.microsoft.com/v1.0/users?$skiptoken=X",
                      "value": [{"userPrincipalName": "bo@acme.example", "givenName": "Bo", "surname": "Chen"}]});
    let org = Org::new(
        &manifest,
        &[("people.yaml", yaml.clone()), ("users.json", serde_json::to_string_pretty(&page).unwrap())],
        &account(vec![], 10),
    );
    let o = org.run(&["validate", org.d()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("rollcall::partial-export"), "{}", stderr(&o));
    assert!(stderr(&o).contains("one page"), "{}", stderr(&o));

    let counted = json!({"@odata.count": 3, "value": [{"userPrincipalName": "bo@acme.example"}]});
    let org = Org::new(
        &manifest,
        &[("people.yaml", yaml.clone()), ("users.json", counted.to_string())],
        &account(vec![], 10),
    );
    let o = org.run(&["validate", org.d()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("one page of 3"), "{}", stderr(&o));

    // A byte order mark is accepted (PowerShell and Excel write one).
    let bom = format!("\u{feff}{}", json!([{"userPrincipalName": "bo@acme.example", "givenName": "Bo"}]));
    let org = Org::new(&manifest, &[("people.yaml", yaml), ("users.json", bom)], &account(vec![], 10));
    let o = org.run(&["validate", org.d()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

// 6. YAML values taken as written.

#[test]
fn directory_yaml_values_are_taken_as_written() {
    let org = Org::new(
        MANIFEST,
        &[(
            "people.yaml",
            people(&[
                ("ann@acme.example", "On", "No"),
                ("bo@acme.example", "1e3", "007"),
                ("cy@acme.example", "Yes", "0x1F"),
            ]),
        )],
        &account(vec![], 10),
    );
    let plan = org.plan_json();
    let ann = created(&plan, "ann@acme.example");
    assert_eq!(attribute(ann, "firstName"), "On");
    assert_eq!(attribute(ann, "lastName"), "No");
    let bo = created(&plan, "bo@acme.example");
    assert_eq!(attribute(bo, "firstName"), "1e3");
    assert_eq!(attribute(bo, "lastName"), "007");
    let cy = created(&plan, "cy@acme.example");
    assert_eq!(attribute(cy, "firstName"), "Yes");
    assert_eq!(attribute(cy, "lastName"), "0x1F");
}

// 7. Mass license stripping is a removal.

#[test]
fn updates_that_strip_every_managed_license_count_against_max_removals() {
    // `staff` moves from organizer (GoToMeeting Business) to a role that grants only an admin
    // role: every one of them loses the license as an "update".
    let manifest = MANIFEST
        .replace(
            "  organizer: { licenses: [\"GoToMeeting Business\"] }",
            "  organizer: { licenses: [\"GoToMeeting Business\"] }\n  helpdesk: { admin_roles: [MANAGE_USERS] }",
        )
        .replace(
            "  - { group: staff, role: organizer }",
            "  - { group: staff, role: helpdesk }\n  - { user: boss@acme.example, role: organizer }",
        )
        .replace("max_removals: { count: 10, percent: 100 }", "max_removals: { count: 3, percent: 100 }");
    let mut list: Vec<(String, String, String)> =
        (0..8).map(|i| (format!("p{i}@acme.example"), format!("P{i}"), "Staff".to_owned())).collect();
    list.push(("boss@acme.example".into(), "The".into(), "Boss".into()));
    let refs: Vec<(&str, &str, &str)> = list.iter().map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str())).collect();
    let mut yaml = people(&refs);
    yaml = yaml.replace("      - boss@acme.example\n", "");
    let users = list
        .iter()
        .enumerate()
        .map(|(i, (email, first, last))| user(&format!("65800000000000000{i:02}"), email, first, last, &[BUSINESS]))
        .collect();
    let org = Org::new(&manifest, &[("people.yaml", yaml)], &account(users, 100));
    let before = org.live();
    let o = org.run(&["plan", org.d()]);
    assert!(stdout(&o).contains("8 to update"), "{}", stdout(&o));
    assert_ne!(o.status.code(), Some(0), "blocked: {}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("the plan is blocked") && stderr(&o).contains("max_removals"), "{}", stderr(&o));
    let o = org.run(&["apply", org.d(), "--auto-approve"]);
    assert_eq!(o.status.code().map(|c| c != 0), Some(true), "{}", stderr(&o));
    assert_eq!(org.live(), before);
}

// 8. The file target.

#[test]
fn a_second_apply_while_one_holds_the_snapshot_fails_and_changes_nothing() {
    let org = Org::new(
        MANIFEST,
        &[("people.yaml", people(&[("ann@acme.example", "Ann", "Lee")]))],
        &account(vec![user("6580000000000000001", "ann@acme.example", "Ann", "Leigh", &[BUSINESS])], 10),
    );
    // The first apply, as another process would hold it.
    let held = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(org.path("live.json.lock"));
    let held = held.unwrap();
    held.lock().unwrap();
    let before = org.live();
    let o = org.run(&["apply", org.d(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("another rollcall apply"), "{}", stderr(&o));
    assert_eq!(org.live(), before);
    drop(held);
    let o = org.run(&["apply", org.d(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn apply_writes_through_a_symlinked_snapshot_and_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let org = Org::new(
        MANIFEST,
        &[("people.yaml", people(&[("ann@acme.example", "Ann", "Lee")]))],
        &account(vec![user("6580000000000000001", "ann@acme.example", "Ann", "Leigh", &[BUSINESS])], 10),
    );
    let real = org.dir.join("state");
    std::fs::create_dir_all(&real).unwrap();
    std::fs::rename(org.dir.join("live.json"), real.join("acme.json")).unwrap();
    std::os::unix::fs::symlink("state/acme.json", org.dir.join("live.json")).unwrap();
    std::fs::set_permissions(real.join("acme.json"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let o = org.run(&["apply", org.d(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let link = std::fs::symlink_metadata(org.dir.join("live.json")).unwrap();
    assert!(link.file_type().is_symlink(), "live.json is still the symlink");
    let text = std::fs::read_to_string(real.join("acme.json")).unwrap();
    assert!(text.contains("\"Lee\""), "the target got the change: {text}");
    let mode = std::fs::metadata(real.join("acme.json")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the mode is kept");
}

#[test]
fn import_snapshot_refuses_to_overwrite_without_force() {
    let org = Org::new(MANIFEST, &[("people.yaml", people(&[]))], &account(vec![], 10));
    let existing = org.path("existing.json");
    std::fs::write(&existing, "keep me\n").unwrap();
    let o = org.run(&["import", "--from-snapshot", &org.path("live.json"), "--snapshot", &existing]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me\n");
    let o = org.run(&["import", "--from-snapshot", &org.path("live.json"), "--snapshot", &existing, "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&existing).unwrap()).unwrap();
    assert_eq!(written["account"]["key"], "4152318826743922179");
}

// 9. Seats.

#[test]
fn seats_are_judged_on_the_holders_after_the_plan_and_lifted_by_their_own_flag() {
    // 4 holders on 3 seats already; the plan frees one seat and takes one: still 4 > 3.
    let org = Org::new(
        MANIFEST,
        &[(
            "people.yaml",
            people(&[
                ("a@acme.example", "A", "One"),
                ("b@acme.example", "B", "Two"),
                ("c@acme.example", "C", "Three"),
                ("new@acme.example", "New", "Hire"),
            ]),
        )],
        &account(
            vec![
                user("6580000000000000001", "a@acme.example", "A", "One", &[BUSINESS]),
                user("6580000000000000002", "b@acme.example", "B", "Two", &[BUSINESS]),
                user("6580000000000000003", "c@acme.example", "C", "Three", &[BUSINESS]),
                user("6580000000000000004", "gone@acme.example", "Gone", "Away", &[BUSINESS]),
            ],
            3,
        ),
    );
    let o = org.run(&["plan", org.d()]);
    assert_ne!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("has 3 seats; the plan would put 4 users on it"), "{}", stderr(&o));
    let before = org.live();
    let o = org.run(&["apply", org.d(), "--auto-approve", "--allow-removals"]);
    assert_eq!(o.status.code(), Some(3), "--allow-removals does not lift a seat block: {}", stderr(&o));
    assert!(stderr(&o).contains("rollcall::seats-exceeded") && stderr(&o).contains("--allow-over-seats"));
    assert_eq!(org.live(), before);
    let o = org.run(&["apply", org.d(), "--auto-approve", "--allow-over-seats"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

// 10. A listing that comes back short.

#[test]
fn an_empty_listing_page_before_the_total_is_an_error_not_a_short_list() {
    let world = World { people: 12, create: 0, rename: 0, regrant: 0, leavers: 0 };
    let mut config = goto_emulator::Config { max_page_size: 5, ..Default::default() };
    config.faults.empty_pages_from = Some(5);
    let site = Site::world(&world, 400, config);
    let o = site.run(&["plan", site.d()]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("empty page"), "{}", stderr(&o));
}

// 2. Grants changed from fresh state.

/// A license no role names: rollcall must never add or remove it.
const CONNECT: &str = "7902142105473202199";

fn key_of(i: usize) -> String {
    (7_000_000_000_000_000_000u64 + i as u64).to_string()
}

#[test]
fn grants_and_names_changed_by_another_admin_during_an_apply_survive_it() {
    // 10 leavers to disable, 10 renames, 20 accounts holding no license to enable: about 70
    // requests at 20 a second, so the apply lasts seconds.
    let world = World { people: 40, create: 0, rename: 10, regrant: 20, leavers: 10 };
    let mut snapshot = world.snapshot();
    snapshot["licenses"].as_array_mut().unwrap().push(json!({
        "key": CONNECT, "description": "GoTo Connect Phone System", "seats": 1000, "products": ["G2C"], "enabled": true}));
    // The enabled accounts: the odd ones hold Connect (given by hand) when the run starts.
    let regrant: Vec<usize> = (10..30).collect();
    for u in snapshot["users"].as_array_mut().unwrap() {
        let i: usize = u["email"].as_str().unwrap()[1..5].parse().unwrap_or(usize::MAX);
        if regrant.contains(&i) && i % 2 == 1 {
            u["licenseKeys"].as_array_mut().unwrap().push(json!(CONNECT));
        }
    }
    let site = Site::new(snapshot, goto_emulator::Config::default());
    world.write_manifests(&site.dir, 20);
    let mut child = site
        .cmd(&["apply", site.d(), "--auto-approve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once rollcall has read the account and started writing (the disables go first, the
    // enables last), another admin swaps Connect on every account rollcall will enable and
    // renames them.
    let started = std::time::Instant::now();
    while site.emu.requests().update == 0 {
        assert!(child.try_wait().unwrap().is_none(), "the apply ended before its first write");
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "no write within a minute");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    for &i in &regrant {
        assert!(site.emu.set_license(&key_of(i), CONNECT, i % 2 == 0));
        assert!(site.emu.set_name(&key_of(i), &format!("Renamed{i}"), &format!("Family{i}")));
    }
    let writes_before_the_admin = site.emu.requests().update;
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(writes_before_the_admin < 20, "the admin came while rollcall was writing");

    let after = site.emu.snapshot();
    let users: std::collections::HashMap<String, &Value> =
        after["users"].as_array().unwrap().iter().map(|u| (u["key"].as_str().unwrap().to_owned(), u)).collect();
    let holds = |u: &Value, l: &str| u["licenseKeys"].as_array().unwrap().iter().any(|k| k == l);
    for &i in &regrant {
        let u = users[&key_of(i)];
        assert_eq!(holds(u, CONNECT), i % 2 == 0, "p{i:04}: the admin's Connect change was undone: {u}");
        assert_eq!(u["firstName"], format!("Renamed{i}"), "p{i:04}: the admin's rename was undone");
        let w = World::wanted(i);
        assert!(holds(u, BUSINESS), "p{i:04}: the planned grant is missing: {u}");
        assert_eq!(holds(u, WEBINAR), w.licenses.contains(WEBINAR), "p{i:04}: {u}");
    }
    for j in 0..10 {
        let u = after["users"].as_array().unwrap().iter().find(|u| u["email"] == World::leaver(j)).unwrap();
        assert!(!holds(u, BUSINESS), "{u}");
    }
}

// 3. The audit log fails mid-run: no further change starts.

#[cfg(unix)]
#[test]
fn an_audit_log_that_fails_mid_run_stops_new_changes_and_the_report_names_the_unlogged() {
    use std::io::BufRead;
    let world = World { people: 40, create: 0, rename: 30, regrant: 0, leavers: 0 };
    let site = Site::world(&world, 20, goto_emulator::Config::default());
    let fifo = site.path("audit.fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // The log's reader goes away after the start line and two more: every later write fails.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(std::fs::File::open(&fifo).unwrap()).lines();
            (0..3).filter_map(|_| lines.next()).count()
        })
    };
    let o = site.run(&["apply", site.d(), "--auto-approve", "--audit-log", &fifo]);
    assert_eq!(reader.join().unwrap(), 3);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("rollcall::audit-log"), "{}", stderr(&o));
    assert!(stdout(&o).contains("No outcome line in the audit log for"), "{}", stdout(&o));
    let writes = site.emu.requests().update;
    assert!(writes < 30, "{writes} of 30 changes were sent after the log failed");
}
