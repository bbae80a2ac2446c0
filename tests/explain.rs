//! `rollcall explain EMAIL [DIR]` on the example, through the real binary: why a person has,
//! will get, or does not get an account; and `plan --only` saying why there is nothing to do.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::copy_dir;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

use crate::support::{run as rollcall, stderr as err, stdout as out};

/// `rollcall explain EMAIL examples/acme`: exit 0, the text.
fn explain(email: &str) -> String {
    let o = rollcall(&["explain", email, "examples/acme"], root());
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    out(&o)
}

/// The last line: the verdict.
fn verdict(text: &str) -> &str {
    text.trim_end().lines().last().unwrap_or("")
}

#[test]
fn a_scoped_out_person_names_the_filter_and_the_value() {
    let text = explain("lena.vogel_brightwave.example#EXT#@acme.example");
    assert!(text.contains("filter 1: fails"), "{text}");
    assert!(text.contains("userType not_equals \"Guest\": \"Guest\" -> fails"), "{text}");
    assert_eq!(
        verdict(&text),
        "no account: scoped out by filter 1: userType not_equals \"Guest\" is \"Guest\"",
        "{text}"
    );
}

#[test]
fn an_unassigned_person_shows_their_groups_and_no_assignment() {
    let text = explain("Jan.Kowalski@acme.example");
    assert!(text.contains("people.yaml:140:9  member of group logistics"), "{text}");
    assert!(text.contains("  logistics (direct member)"), "{text}");
    assert!(text.contains("Assignments:\n  (none)"), "{text}");
    assert_eq!(verdict(&text), "no account: not assigned: no assignment names them or a group they are in");
}

#[test]
fn an_excluded_person_is_said_to_be_excluded() {
    let text = explain("ceo@acme.example");
    assert!(verdict(&text).starts_with("excluded (scope.exclude)"), "{text}");
}

#[test]
fn a_person_the_plan_updates_shows_every_fact_and_the_change() {
    let text = explain("emma.thompson@acme.example");
    for fact in [
        "exports/users.json:49:13  record",
        "exports/sales-members.json:52:13  member of group sales",
        "  staff via sales",
        "  group staff -> role organizer (license GoToMeeting Business)",
        "lastName:  \"Thompson\"   <- [surname]",
        "locale:    \"en_GB\"   <- Switch([preferredLanguage]",
        ", on create",
        "emma.thompson@acme.example (key 6580771527687810876), matched by email",
        "lastName: \"Thomson\" -> \"Thompson\"",
    ] {
        assert!(text.contains(fact), "missing {fact:?}:\n{text}");
    }
    assert_eq!(verdict(&text), "update emma.thompson@acme.example");
}

#[test]
fn a_person_whose_email_changed_is_matched_by_key_and_renamed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir: PathBuf = tmp.path().join("acme");
    copy_dir(&root().join("examples/acme"), &dir);
    let edit = |file: &str, from: &str, to: &str| {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file}: {from:?}");
        std::fs::write(path, text.replacen(from, to, 1)).unwrap();
    };
    edit("rollcall.yaml", "matching: [email]", "matching: [key, email]");
    edit(
        "people.yaml",
        "  - userPrincipalName: alice.archer@acme.example\n",
        "  - userPrincipalName: alice.archer@acme.example\n    mail: alice.cooper@acme.example\n    key: \"6581956508604418269\"\n",
    );
    let o = rollcall(&["explain", "alice.cooper@acme.example", dir.to_str().unwrap()], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = out(&o);
    assert!(text.contains("  person: alice.archer@acme.example\n  email:  alice.cooper@acme.example"), "{text}");
    assert!(text.contains("alice.archer@acme.example (key 6581956508604418269), matched by key"), "{text}");
    assert!(text.contains("email: \"alice.archer@acme.example\" -> \"alice.cooper@acme.example\""), "{text}");
    assert_eq!(verdict(&text), "update alice.archer@acme.example");
}

#[test]
fn an_unknown_email_exits_1_with_did_you_mean() {
    let o = rollcall(&["explain", "emma.thomson@acme.example", "examples/acme"], root());
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).is_empty(), "{}", out(&o));
    let e = err(&o);
    assert!(e.contains("rollcall::unknown-user"), "{e}");
    assert!(e.contains("did you mean `emma.thompson@acme.example`?"), "{e}");
}

#[test]
fn a_live_account_in_no_source_is_explained_by_its_email() {
    let text = explain("ben.taylor@acme.example");
    assert_eq!(verdict(&text), "disable ben.taylor@acme.example (not in any directory source)");
    let text = explain("meeting-room.labs@labs.acme.example");
    assert!(verdict(&text).contains("outside scope.domains"), "{text}");
}

fn validate_against_schema(instance: &Value) {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let location = root().join("schema/explain.schema.json");
    let index = compiler
        .compile(location.to_str().unwrap(), &mut schemas)
        .unwrap_or_else(|e| panic!("schema/explain.schema.json does not compile: {e:#}"));
    if let Err(e) = schemas.validate(instance, index) {
        panic!("the explain JSON does not validate against schema/explain.schema.json:\n{e}\n{instance:#}");
    }
}

#[test]
fn json_output_validates_against_the_committed_schema() {
    for email in
        ["emma.thompson@acme.example", "jan.kowalski@acme.example", "ben.taylor@acme.example", "ceo@acme.example"]
    {
        let o = rollcall(&["explain", email, "examples/acme", "--format", "json"], root());
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        let v: Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
        validate_against_schema(&v);
        assert_eq!(v["query"], email);
        assert!(v["verdict"].as_str().is_some_and(|s| !s.is_empty()));
    }
    let v: Value = serde_json::from_slice(
        &rollcall(&["explain", "emma.thompson@acme.example", "examples/acme", "--format", "json"], root()).stdout,
    )
    .unwrap();
    assert_eq!(v["live"]["matched_by"], "email");
    assert_eq!(v["action"]["action"], "update");
    assert_eq!(v["groups"][1]["via"], serde_json::json!(["sales"]));
    // And a wrong document does not validate: the schema checks something.
    let mut bad = v.clone();
    bad["scoping"] = Value::String("no".into());
    let mut schemas = boon::Schemas::new();
    let index = boon::Compiler::new()
        .compile(root().join("schema/explain.schema.json").to_str().unwrap(), &mut schemas)
        .unwrap();
    assert!(schemas.validate(&bad, index).is_err());
}

#[test]
fn the_explain_schema_is_up_to_date() {
    let committed = std::fs::read_to_string(root().join("schema/explain.schema.json")).unwrap();
    assert!(
        committed == rollcall::schema::explain(),
        "schema/explain.schema.json is out of date: run `cargo run -- schema --for explain > schema/explain.schema.json`"
    );
}

#[test]
fn plan_only_for_someone_with_nothing_to_do_says_why_in_one_line() {
    let o = rollcall(&["plan", "examples/acme", "--only", "jan.kowalski@acme.example"], root());
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let p = out(&o);
    assert!(p.starts_with("No changes."), "{p}");
    assert!(
        p.contains(
            "jan.kowalski@acme.example: no account: not assigned: no assignment names them or a group they are in\n"
        ),
        "{p}"
    );
    let o = rollcall(
        &["plan", "examples/acme", "--only", "julia.hoffmann@acme.example", "--only", "emma.thompson@acme.example"],
        root(),
    );
    let p = out(&o);
    assert!(p.contains("~ update emma.thompson@acme.example"), "{p}");
    assert!(
        p.contains("julia.hoffmann@acme.example: nothing to do: GoTo will not let an admin change lastName"),
        "{p}"
    );
    assert!(!p.contains("emma.thompson@acme.example: "), "a person with an action needs no why: {p}");
}

#[test]
fn mapped_values_are_those_of_desired_state_with_roles_and_plan_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dir: PathBuf = tmp.path().join("acme");
    copy_dir(&root().join("examples/acme"), &dir);
    let path = dir.join("rollcall.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replacen(
        r#"lastName:  { from: "[surname]" }"#,
        r#"lastName:  { from: 'Join(" ", [surname], SingleAppRoleAssignment([appRoleAssignments]))' }"#,
        1,
    );
    assert!(text.contains("SingleAppRoleAssignment"));
    std::fs::write(&path, text).unwrap();
    let o = rollcall(&["explain", "emma.thompson@acme.example", dir.to_str().unwrap()], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = out(&o);
    assert!(text.contains("lastName:  \"Thompson organizer\""), "{text}");
    assert!(text.contains("lastName: \"Thomson\" -> \"Thompson organizer\""), "{text}");
}
