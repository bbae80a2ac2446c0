//! The CI recipes in examples/ci lint clean: each parses as YAML, validates against the
//! platform's JSON Schema (vendored in tests/fixtures/ci-schemas from SchemaStore and GitLab,
//! as shipped by the check-jsonschema package; tests cannot fetch them), and calls only
//! rollcall subcommands and flags that exist (checked by clap itself).

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const GITHUB: &str = "examples/ci/github/rollcall.yml";
const GITLAB: &str = "examples/ci/gitlab/.gitlab-ci.yml";

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path} is not valid YAML: {e}"))
}

fn validate(path: &str, schema: &str) {
    let instance = load(path);
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.set_default_draft(boon::Draft::V7);
    let location = root().join("tests/fixtures/ci-schemas").join(schema);
    let index = compiler
        .compile(location.to_str().unwrap(), &mut schemas)
        .unwrap_or_else(|e| panic!("the vendored schema {schema} does not compile: {e:#}"));
    if let Err(e) = schemas.validate(&instance, index) {
        panic!("{path} does not validate against {schema}:\n{e}");
    }
}

#[test]
fn the_github_workflow_validates_against_the_workflow_schema() {
    validate(GITHUB, "github-workflows.json");
}

#[test]
fn the_gitlab_pipeline_validates_against_the_gitlab_ci_schema() {
    validate(GITLAB, "gitlab-ci.json");
}

#[test]
fn the_schema_check_catches_a_broken_workflow() {
    let mut bad = load(GITHUB);
    bad["jobs"]["plan"]["runs-on"] = Value::Null;
    bad["jobs"]["plan"]["stepz"] = bad["jobs"]["plan"]["steps"].clone();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let location = root().join("tests/fixtures/ci-schemas/github-workflows.json");
    let index = compiler.compile(location.to_str().unwrap(), &mut schemas).unwrap();
    assert!(schemas.validate(&bad, index).is_err());
}

/// The shell a CI file runs: GitHub's `run:` steps, GitLab's `script:` lines.
fn shell<'a>(v: &'a Value, key: Option<&str>, out: &mut Vec<&'a str>) {
    let is_shell = key.is_some_and(|k| matches!(k, "run" | "script" | "before_script" | "after_script"));
    match v {
        Value::String(s) if is_shell => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| shell(x, key, out)),
        Value::Object(m) => m.iter().for_each(|(k, x)| shell(x, Some(k), out)),
        _ => {}
    }
}

/// The simple commands of one shell line, as words with quotes removed: split at unquoted
/// `;`, `|` and `&` (so `&&` and `||` too); words after a redirection are dropped.
fn commands(line: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut command: Vec<String> = Vec::new();
    let mut word = String::new();
    let (mut in_word, mut redirected) = (false, false);
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    let flush = |word: &mut String, in_word: &mut bool, redirected: bool, command: &mut Vec<String>| {
        if *in_word && !redirected {
            command.push(std::mem::take(word));
        }
        word.clear();
        *in_word = false;
    };
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    word.push(n);
                    in_word = true;
                }
            }
            (None, ';' | '|' | '&') => {
                flush(&mut word, &mut in_word, redirected, &mut command);
                if !command.is_empty() {
                    out.push(std::mem::take(&mut command));
                }
                redirected = false;
            }
            (None, '>' | '<') => {
                if word == "2" {
                    in_word = false;
                }
                flush(&mut word, &mut in_word, redirected, &mut command);
                redirected = true;
            }
            (None, c) if c.is_whitespace() => flush(&mut word, &mut in_word, redirected, &mut command),
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    flush(&mut word, &mut in_word, redirected, &mut command);
    if !command.is_empty() {
        out.push(command);
    }
    out
}

/// The rollcall commands a CI file runs.
fn rollcall_commands(path: &str) -> Vec<Vec<String>> {
    let doc = load(path);
    let mut all = Vec::new();
    shell(&doc, None, &mut all);
    all.iter()
        .flat_map(|s| s.lines())
        .flat_map(commands)
        .filter(|argv| argv.first().is_some_and(|w| w == "rollcall"))
        .collect()
}

fn check_commands(path: &str) -> Vec<String> {
    let commands = rollcall_commands(path);
    assert!(!commands.is_empty(), "{path} runs no rollcall command");
    let mut seen = Vec::new();
    for argv in commands {
        if let Err(e) = rollcall::cli::Cli::command().try_get_matches_from(&argv) {
            panic!("{path}: `{}` is not a valid rollcall command:\n{e}", argv.join(" "));
        }
        seen.push(argv[1..].join(" "));
    }
    seen
}

fn assert_runs(seen: &[String], path: &str, needle: &[&str]) {
    assert!(
        seen.iter().any(|c| needle.iter().all(|n| c.split(' ').any(|w| w == *n))),
        "{path} does not run rollcall with {needle:?}; it runs {seen:#?}"
    );
}

#[test]
fn the_recipes_call_only_commands_and_flags_that_exist() {
    for path in [GITHUB, GITLAB] {
        let seen = check_commands(path);
        assert_runs(&seen, path, &["plan", "--format", "markdown", "--out", "plan.json"]);
        assert_runs(&seen, path, &["apply", "plan.json", "--auto-approve"]);
        assert_runs(&seen, path, &["plan", "--detailed-exitcode"]);
        assert_runs(&seen, path, &["diff", "--base"]);
    }
}

#[test]
fn the_command_check_rejects_a_flag_that_does_not_exist() {
    let parsed = commands(r#"set +e; rollcall apply plan.json --yes 2> err.txt || echo "failed; rollcall said no""#);
    assert_eq!(parsed[1], ["rollcall", "apply", "plan.json", "--yes"]);
    assert_eq!(parsed[2], ["echo", "failed; rollcall said no"]);
    assert!(rollcall::cli::Cli::command().try_get_matches_from(&parsed[1]).is_err());
    assert_eq!(commands(r#"rollcall diff --base "origin/${{ github.base_ref }}" "$MANIFESTS" > d.md"#)[0].len(), 5);
}

#[test]
fn secrets_come_from_the_environment_only() {
    for path in [GITHUB, GITLAB] {
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
        for name in ["GOTO_CLIENT_ID", "GOTO_CLIENT_SECRET", "GOTO_PAT"] {
            assert!(text.contains(name), "{path} does not pass {name}");
        }
        assert!(!text.contains("--allow-removals"), "{path}: CI never overrides the removal thresholds");
    }
}

const GITHUB_PULL: &str = "examples/ci/github/rollcall-pull.yml";
const GITLAB_PULL: &str = "examples/ci/gitlab/rollcall-pull.gitlab-ci.yml";

#[test]
fn the_scheduled_pull_recipes_validate_and_call_rollcall_pull() {
    validate(GITHUB_PULL, "github-workflows.json");
    validate(GITLAB_PULL, "gitlab-ci.json");
    for path in [GITHUB_PULL, GITLAB_PULL] {
        let seen = check_commands(path);
        assert_runs(&seen, path, &["pull", "--detailed-exitcode"]);
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
        for name in ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE", "Directory changes"] {
            assert!(text.contains(name), "{path} does not mention {name}");
        }
    }
}
