//! Desired state from manifests: scoping filters, nested groups, the union of roles,
//! accountEnabled, on_create mappings and defaults, emails outside the scope.

use rollcall::config;
use rollcall::desired::{self, Desired, RoleGrant};

const PEOPLE: &str = r#"
users:
  - { userPrincipalName: ann@acme.example, givenName: Ann, surname: Archer, userType: Member, department: Sales }
  - { userPrincipalName: bob@acme.example, givenName: Bob, userType: Member, department: Engineering }
  - { userPrincipalName: guest@acme.example, givenName: Gus, surname: Guest, userType: Guest, department: Sales }
  - { userPrincipalName: cat@acme.example, givenName: Cat, surname: Cole, userType: Member, department: Platform, accountEnabled: false }
  - { userPrincipalName: dan@acme.example, givenName: Dan, surname: Diaz, department: Legal }
groups:
  staff: { groups: [engineering, sales] }
  engineering: { members: [bob@acme.example], groups: [platform] }
  platform: { members: [cat@acme.example] }
  sales: { members: [ann@acme.example, guest@acme.example] }
"#;

fn desired(scoping: &str, extra: &str) -> Desired {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("people.yaml"), PEOPLE).unwrap();
    std::fs::write(
        tmp.path().join("rollcall.yaml"),
        format!(
            r#"version: 1
target: {{ kind: file, path: live.json }}
scope: {{ domains: [acme.example] }}
directory: [people.yaml]
{scoping}
roles:
  organizer: {{ licenses: ["GoToMeeting Business"] }}
  admin: {{ licenses: ["GoToMeeting Business"], admin_roles: [MANAGE_USERS] }}
  webinar: {{ licenses: ["GoToWebinar"] }}
mappings:
  email: {{ from: "ToLower([userPrincipalName])" }}
  firstName: {{ from: "[givenName]" }}
  lastName: {{ from: "[surname]", default: "Unknown" }}
  timeZone: {{ constant: Europe/Berlin, apply: on_create }}
assignments:
  - {{ group: staff, role: organizer }}
  - {{ user: ann@acme.example, role: admin }}
  - {{ group: sales, role: webinar }}
{extra}
"#
        ),
    )
    .unwrap();
    let m = config::load(tmp.path()).unwrap_or_else(|p| panic!("{}", p.render_plain()));
    desired::build(&m).unwrap_or_else(|p| panic!("{}", p.render_plain()))
}

fn people(d: &Desired) -> Vec<&str> {
    let mut v: Vec<&str> = d.accounts.iter().map(|a| &*a.person).collect();
    v.sort();
    v
}

#[test]
fn nested_groups_expand_and_unassigned_people_are_not_desired() {
    let d = desired("", "");
    // staff -> engineering -> platform: cat comes in through two levels; dan has no assignment.
    assert_eq!(people(&d), ["ann@acme.example", "bob@acme.example", "cat@acme.example", "guest@acme.example"]);
}

#[test]
fn a_person_gets_the_union_of_their_roles() {
    let d = desired("", "");
    let ann = d.accounts.iter().find(|a| &*a.person == "ann@acme.example").unwrap();
    assert_eq!(ann.roles.iter().map(String::as_str).collect::<Vec<_>>(), ["admin", "organizer", "webinar"]);
    assert_eq!(
        ann.grants.iter().cloned().collect::<Vec<_>>(),
        [
            RoleGrant::License("GoToMeeting Business".into()),
            RoleGrant::License("GoToWebinar".into()),
            RoleGrant::AdminRole("MANAGE_USERS".into())
        ]
    );
    // Every grant some role names is managed, assigned or not.
    assert_eq!(d.managed.len(), 3);
}

#[test]
fn scoping_filters_any_filter_all_clauses() {
    let d = desired("scoping:\n  - { attribute: userType, op: not_equals, value: Guest }", "");
    assert!(!people(&d).contains(&"guest@acme.example"));
    assert!(people(&d).contains(&"ann@acme.example"));
    // Two filters: a record passes when either holds; a list of clauses must all hold.
    let d = desired(
        "scoping:\n  - [ { attribute: department, op: in, value: [Sales, Engineering] }, { attribute: userType, op: equals, value: member } ]\n  - { attribute: givenName, op: matches, value: '^C' }",
        "",
    );
    assert_eq!(people(&d), ["ann@acme.example", "bob@acme.example", "cat@acme.example"]);
    let d = desired("scoping:\n  - { attribute: surname, op: is_null }", "");
    assert_eq!(people(&d), ["bob@acme.example"]);
    let d = desired("scoping:\n  - { attribute: userPrincipalName, op: starts_with, value: G }", "");
    assert_eq!(people(&d), ["guest@acme.example"]);
}

#[test]
fn account_enabled_false_is_desired_as_disabled() {
    let d = desired("", "");
    let cat = d.accounts.iter().find(|a| &*a.person == "cat@acme.example").unwrap();
    assert!(!cat.enabled);
    assert!(d.accounts.iter().filter(|a| &*a.person != "cat@acme.example").all(|a| a.enabled));
}

#[test]
fn null_results_defaults_and_on_create_mappings() {
    let d = desired("", "");
    let bob = d.accounts.iter().find(|a| &*a.person == "bob@acme.example").unwrap();
    let last = bob.attribute("lastName").unwrap();
    // No surname: the default on create, the live value left alone on update.
    assert_eq!((last.on_create.as_deref(), last.on_update()), (Some("Unknown"), None));
    let tz = bob.attribute("timeZone").unwrap();
    assert_eq!((tz.on_create.as_deref(), tz.on_update()), (Some("Europe/Berlin"), None));
    let first = bob.attribute("firstName").unwrap();
    assert_eq!((first.on_create.as_deref(), first.on_update()), (Some("Bob"), Some("Bob")));
}

#[test]
fn a_desired_email_outside_the_scope_is_an_error_naming_the_person() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("people.yaml"), "users:\n  - { userPrincipalName: eve@elsewhere.example }\n")
        .unwrap();
    std::fs::write(
        tmp.path().join("rollcall.yaml"),
        "version: 1\ntarget: {kind: file, path: live.json}\nscope: {domains: [acme.example]}\ndirectory: [people.yaml]\nroles: {r: {licenses: [L]}}\nmappings: {email: {from: \"[userPrincipalName]\"}}\nassignments: [{user: eve@elsewhere.example, role: r}]\n",
    )
    .unwrap();
    let m = config::load(tmp.path()).unwrap();
    let err = desired::build(&m).unwrap_err().render_plain();
    assert!(err.contains("rollcall::email-out-of-scope"), "{err}");
    assert!(
        err.contains("eve@elsewhere.example would get the email eve@elsewhere.example, outside scope.domains"),
        "{err}"
    );
    assert!(err.contains("people.yaml:2:"), "points at the person's record: {err}");
}
