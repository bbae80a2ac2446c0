//! The CI recipes in examples/ci lint clean: each parses as YAML, validates against the
//! platform's JSON Schema (vendored in tests/fixtures/ci-schemas from SchemaStore and GitLab,
//! as shipped by the check-jsonschema package; tests cannot fetch them), and calls only
//! rollcall subcommands and flags that exist (checked by clap itself). Every GitHub workflow
//! (the recipes under examples/ci, the project's own .github/workflows) and the composite
//! action lint clean with actionlint and zizmor (pinned in tests/tools/requirements.txt).

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const GITHUB: &str = "examples/ci/github/rollcall.yml";
const GITLAB: &str = "examples/ci/gitlab/.gitlab-ci.yml";

/// Every YAML file under `dir` (relative to the crate root), recursively, sorted.
fn yaml_files(dir: &str) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join(dir), &mut out);
    let mut names: Vec<String> =
        out.iter().map(|p| p.strip_prefix(root()).unwrap().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// GitLab pipelines: `.gitlab-ci.yml` files and anything under a `gitlab` folder of examples/ci.
fn is_gitlab(path: &str) -> bool {
    path.contains("/gitlab/") || path.ends_with(".gitlab-ci.yml")
}

/// Every GitHub workflow: the recipes (every non-GitLab file under examples/ci) and the
/// project's own workflows.
fn github_workflows() -> Vec<String> {
    let mut all: Vec<String> = yaml_files("examples/ci").into_iter().filter(|p| !is_gitlab(p)).collect();
    all.extend(yaml_files(".github/workflows"));
    assert!(all.len() >= 3, "{all:?}");
    all
}

fn gitlab_pipelines() -> Vec<String> {
    let all: Vec<String> = yaml_files("examples/ci").into_iter().filter(|p| is_gitlab(p)).collect();
    assert!(!all.is_empty());
    all
}

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
fn the_github_workflows_validate_against_the_workflow_schema() {
    for path in github_workflows() {
        validate(&path, "github-workflows.json");
    }
}

#[test]
fn the_gitlab_pipelines_validate_against_the_gitlab_ci_schema() {
    for path in gitlab_pipelines() {
        validate(&path, "gitlab-ci.json");
    }
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
fn every_recipe_calls_only_commands_and_flags_that_exist() {
    for path in yaml_files("examples/ci") {
        if !rollcall_commands(&path).is_empty() {
            check_commands(&path);
        }
    }
}

#[test]
fn the_recipes_run_the_loop() {
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
    }
}

/// CI lifts a blocked plan only where an approver's label said so: the one `--allow-removals`
/// of the GitHub recipe sits in the branch taken when the apply job found that label.
#[test]
fn removals_are_allowed_only_through_the_approvers_label() {
    let text = std::fs::read_to_string(root().join(GITLAB)).unwrap();
    assert!(!text.contains("--allow-removals"), "{GITLAB}: CI never overrides the removal thresholds");
    let text = std::fs::read_to_string(root().join(GITHUB)).unwrap();
    let uses: Vec<usize> =
        text.match_indices("rollcall apply plan.json --auto-approve --allow-removals").map(|(i, _)| i).collect();
    assert_eq!(uses.len(), 1, "{GITHUB}: one guarded apply with --allow-removals");
    let guard = text[..uses[0]].rfind("if [ \"$ALLOW_REMOVALS\" = true ]; then").expect("the guard");
    assert!(!text[guard..uses[0]].contains("fi\n"), "the apply with --allow-removals is inside the guard");
    assert!(text.contains("ALLOW_REMOVALS: ${{ steps.reviewed.outputs.allow_removals }}"));
    assert!(text.contains("approvers.includes(added.actor.login)"), "the label counts only from an approver");
}

/// Every recipe installs one pinned rollcall release from PyPI: never a build from a branch head.
#[test]
fn the_recipes_install_a_pinned_rollcall() {
    let mut versions = std::collections::BTreeSet::new();
    for path in [GITHUB, GITLAB] {
        let text = std::fs::read_to_string(root().join(path)).unwrap();
        assert!(!text.contains("cargo install"), "{path} builds rollcall instead of installing a release");
        let doc = load(path);
        let version = doc["variables"]["ROLLCALL_VERSION"].as_str().or(doc["env"]["ROLLCALL_VERSION"].as_str());
        let version = version.unwrap_or_else(|| panic!("{path}: no ROLLCALL_VERSION"));
        assert!(
            version.split('.').count() == 3 && version.split('.').all(|n| n.parse::<u32>().is_ok()),
            "{path}: ROLLCALL_VERSION {version} is not X.Y.Z"
        );
        versions.insert(version.to_owned());
        let installs: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#') && l.contains(" install ") && l.contains("rollcall"))
            .collect();
        assert!(!installs.is_empty(), "{path} installs no rollcall");
        for line in installs {
            assert!(line.contains("\"rollcall==${ROLLCALL_VERSION}\""), "{path}: unpinned install: {line}");
        }
    }
    assert_eq!(versions.len(), 1, "the recipes pin different versions: {versions:?}");
}

/// GitHub's apply is queued in order and never cancelled; GitLab's plan finds merged-results
/// pipelines and diffs from the merge base.
#[test]
fn applies_are_queued_and_diffs_start_at_the_merge_base() {
    let github = load(GITHUB);
    let c = &github["jobs"]["apply"]["concurrency"];
    assert_eq!(c["queue"], "max", "{c}");
    assert_eq!(c["cancel-in-progress"], false, "{c}");
    let text = std::fs::read_to_string(root().join(GITHUB)).unwrap();
    assert!(text.contains("git merge-base"), "{GITHUB}");
    let gitlab = std::fs::read_to_string(root().join(GITLAB)).unwrap();
    assert!(gitlab.contains("git merge-base") && gitlab.contains("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"));
    assert!(gitlab.contains("resource_group: rollcall-apply") && gitlab.contains("oldest_first"));
}

/// A linter from target/tools-venv (tests/tools/install.sh, run by ./test.sh).
fn tool(name: &str) -> std::process::Command {
    let path = root().join("target/tools-venv/bin").join(name);
    assert!(path.is_file(), "{} is missing: run tests/tools/install.sh (./test.sh does)", path.display());
    let mut c = std::process::Command::new(path);
    c.current_dir(root()).env("NO_COLOR", "1").env_remove("GITHUB_TOKEN").env_remove("GH_TOKEN");
    c
}

fn actionlint(files: &[String]) -> std::process::Output {
    // No shellcheck here: actionlint checks the workflows themselves, expressions included.
    tool("actionlint").args(["-no-color", "-shellcheck=", "-pyflakes="]).args(files).output().unwrap()
}

fn zizmor(files: &[String]) -> std::process::Output {
    tool("zizmor").args(["--offline", "--no-progress", "--format", "plain"]).args(files).output().unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn actionlint_finds_nothing_in_the_workflows() {
    let files = github_workflows();
    let o = actionlint(&files);
    assert!(o.status.success() && o.stdout.is_empty(), "actionlint on {files:?}:\n{}", text(&o));
}

#[test]
fn zizmor_finds_nothing_in_the_workflows_and_the_action() {
    let mut files = github_workflows();
    files.push("action.yml".into());
    let o = zizmor(&files);
    assert!(o.status.success(), "zizmor on {files:?}:\n{}", text(&o));
    assert!(text(&o).contains("No findings to report"), "{}", text(&o));
}

/// The linters are not vacuous: the old recipe's mistakes are found.
#[test]
fn the_linters_catch_an_injection_and_an_unpinned_action() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".github/workflows");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yml");
    std::fs::write(
        &bad,
        "name: bad\non: pull_request\npermissions: {}\njobs:\n  diff:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v4\n      - run: rollcall diff --base \"origin/${{ github.head_ref }}\"\n",
    )
    .unwrap();
    let files = [bad.to_string_lossy().into_owned()];
    let z = text(&zizmor(&files));
    assert!(z.contains("template-injection") && z.contains("unpinned-uses") && z.contains("artipacked"), "{z}");
    let a = actionlint(&files);
    assert!(!a.status.success() && text(&a).contains("github.head_ref"), "{}", text(&a));
}

/// GoTo credentials reach only jobs in a protected environment; the diff (what a fork's pull
/// request gets) runs without any; the plan job never runs for a fork.
#[test]
fn credentials_only_in_protected_environments_and_never_for_forks() {
    let doc = load(GITHUB);
    let jobs = doc["jobs"].as_object().unwrap();
    for (name, job) in jobs {
        let uses_secrets = job.to_string().contains("secrets.");
        if uses_secrets {
            assert!(job["environment"].is_string(), "job {name} reads secrets outside an environment");
        }
    }
    assert!(!jobs["diff"].to_string().contains("secrets."), "the diff job needs no credentials");
    assert_eq!(jobs["plan"]["environment"], "goto-plan");
    assert_eq!(jobs["apply"]["environment"], "goto");
    assert!(
        jobs["plan"]["if"]
            .as_str()
            .unwrap()
            .contains("github.event.pull_request.head.repo.full_name == github.repository"),
        "the plan job skips forks"
    );
    assert_eq!(doc["permissions"], serde_json::json!({}), "no permission by default");
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
