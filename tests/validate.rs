//! `rollcall validate` on bad input: one fixture directory per mistake under
//! `tests/fixtures/invalid/`, each pinned as the plain (colourless) diagnostics a user sees.

use std::path::Path;

use assert_cmd::Command;
use rollcall::config;
use rollcall::diag::{Code, Problems};

const FIXTURES: &str = "tests/fixtures/invalid";

/// Validates a fixture, expecting it to fail; the path is relative so that file names in
/// the rendered diagnostics are stable (integration tests run in the crate root).
fn problems(case: &str) -> Problems {
    let dir = Path::new(FIXTURES).join(case);
    match config::load(&dir) {
        Ok(_) => panic!("{} validated, but it holds a mistake", dir.display()),
        Err(problems) => problems,
    }
}

fn codes(problems: &Problems) -> Vec<&'static str> {
    problems.0.iter().map(|p| p.code.as_str()).collect()
}

/// Asserts that `code` is reported and pins the rendering in `tests/snapshots/<case>.snap`.
fn check(case: &str, code: Code) -> Problems {
    let problems = problems(case);
    assert!(
        problems.0.iter().any(|p| p.code == code),
        "{case}: expected {code}, got {:?}\n{}",
        codes(&problems),
        problems.render_plain()
    );
    insta::with_settings!({
        snapshot_path => "snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => format!("rollcall validate {FIXTURES}/{case}"),
    }, {
        insta::assert_snapshot!(case, problems.render_plain());
    });
    problems
}

macro_rules! cases {
    ($($test:ident: $case:literal => $code:ident,)*) => {
        $(
            #[test]
            fn $test() {
                check($case, Code::$code);
            }
        )*

        #[test]
        fn every_fixture_has_a_test() {
            let named = [$($case),*];
            let mut on_disk: Vec<String> = std::fs::read_dir(FIXTURES)
                .expect("fixtures directory")
                .map(|e| e.expect("fixture entry").file_name().to_string_lossy().into_owned())
                .collect();
            on_disk.sort();
            let missing: Vec<&String> =
                on_disk.iter().filter(|d| !named.contains(&d.as_str()) && *d != "five-mistakes").collect();
            assert!(missing.is_empty(), "fixtures without a test: {missing:?}");
        }
    };
}

cases! {
    yaml_syntax: "yaml-syntax" => YamlSyntax,
    duplicate_key: "duplicate-key" => DuplicateKey,
    unknown_key_with_suggestion: "unknown-key" => UnknownKey,
    wrong_type: "wrong-type" => WrongType,
    missing_version: "missing-version" => MissingKey,
    unsupported_version: "unsupported-version" => UnsupportedVersion,
    unknown_target_kind: "unknown-target-kind" => UnknownTargetKind,
    credential_in_target: "credential-in-target" => CredentialInManifest,
    insecure_url: "insecure-url" => InsecureUrl,
    unknown_role: "unknown-role" => UnknownRole,
    default_access_role: "default-access-role" => DefaultAccessRole,
    unknown_group: "unknown-group" => UnknownGroup,
    unknown_user: "unknown-user" => UnknownUser,
    group_cycle: "group-cycle" => GroupCycle,
    duplicate_user_same_file: "duplicate-user-same-file" => DuplicateUser,
    duplicate_user_across_files: "duplicate-user-across-files" => DuplicateUser,
    mapping_from_and_constant: "mapping-from-and-constant" => MappingShape,
    unknown_target_attribute: "unknown-target-attribute" => UnknownTargetAttribute,
    unmapped_matching: "unmapped-matching" => UnmappedMatching,
    invalid_email: "invalid-email" => InvalidEmail,
    invalid_scope_domain: "invalid-scope-domain" => InvalidDomain,
    scoping_unknown_op: "scoping-unknown-op" => UnknownOperator,
    scoping_missing_value: "scoping-missing-value" => ScopingValue,
    scoping_invalid_regex: "scoping-invalid-regex" => InvalidRegex,
    max_removals_percent: "max-removals-percent" => InvalidThreshold,
    missing_directory_file: "missing-directory-file" => MissingDirectoryFile,
    csv_ragged_row: "csv-ragged-row" => CsvRow,
    malformed_entra_json: "malformed-entra-json" => MalformedJson,
    empty_manifest_dir: "empty-manifest-dir" => NoManifest,
    // Expression errors underline the characters inside the YAML string: in a double-quoted
    // string with escapes, a folded block, a single-quoted string with doubled quotes.
    matching_key_alone: "matching-key-alone" => UnmappedMatching,
    expression_unknown_function: "expression-unknown-function" => UnknownFunction,
    expression_argument_count: "expression-argument-count" => ArgumentCount,
    expression_syntax: "expression-syntax" => ExpressionSyntax,
    expression_unknown_attribute: "expression-unknown-attribute" => UnknownAttribute,
}

#[test]
fn five_mistakes_give_five_diagnostics_in_one_run() {
    let problems = check("five-mistakes", Code::UnknownRole);
    assert_eq!(
        codes(&problems),
        [
            "rollcall::invalid-domain",
            "rollcall::unknown-target-attribute",
            "rollcall::unknown-group",
            "rollcall::unknown-role",
            "rollcall::invalid-threshold",
        ],
        "{}",
        problems.render_plain()
    );
}

#[test]
fn a_credential_is_not_echoed_into_the_output() {
    let rendered = problems("credential-in-target").render_plain();
    assert!(!rendered.contains("hunter2"), "the secret leaked into the diagnostic:\n{rendered}");
}

#[test]
fn a_directory_that_does_not_exist() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let problems = config::load(&tmp.path().join("nowhere")).expect_err("nothing to validate");
    assert_eq!(codes(&problems), ["rollcall::no-manifest"]);
    assert!(problems.0[0].message.ends_with("does not exist"), "{}", problems.0[0].message);
}

#[test]
fn cli_accepts_the_example() {
    Command::cargo_bin("rollcall")
        .expect("binary")
        .args(["validate", "examples/acme"])
        .assert()
        .success()
        .stdout("")
        .stderr(predicates::str::contains("examples/acme/rollcall.yaml: ok"));
}

#[test]
fn cli_reports_problems_on_stderr_and_exits_1() {
    let out = Command::cargo_bin("rollcall")
        .expect("binary")
        .args(["--color", "never", "validate", "tests/fixtures/invalid/unknown-role"])
        .assert()
        .code(1)
        .stdout("")
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    for expected in [
        "rollcall::unknown-role",
        "role `organiser` is not declared",
        "tests/fixtures/invalid/unknown-role/rollcall.yaml:",
        "did you mean `organizer`?",
        "error: 1 problem found",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
}

/// Every diagnostic code with its description, pinned: a renamed or removed code (which
/// users grep for and scripts match on) shows in review as a snapshot change.
#[test]
fn the_diagnostic_codes_are_pinned() {
    let list: String =
        rollcall::diag::Code::ALL.iter().map(|c| format!("{} — {}\n", c.as_str(), c.description())).collect();
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("diagnostic-codes", list);
    });
}
