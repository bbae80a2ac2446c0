//! The committed JSON Schemas are what the types generate; regenerate with
//! `cargo run -- schema --for NAME > schema/NAME.schema.json` (rollcall, directory, plan,
//! report, diagnostics); so are the man pages in docs/man (`cargo run -- man docs/man`). What
//! rollcall prints as JSON validates against them.

fn committed(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn rollcall_schema_is_up_to_date() {
    assert!(
        committed("rollcall.schema.json") == rollcall::schema::rollcall(),
        "schema/rollcall.schema.json is out of date: run `cargo run -- schema > schema/rollcall.schema.json`"
    );
}

#[test]
fn directory_schema_is_up_to_date() {
    assert!(
        committed("directory.schema.json") == rollcall::schema::directory(),
        "schema/directory.schema.json is out of date: run `cargo run -- schema --for directory > schema/directory.schema.json`"
    );
}

#[test]
fn every_schema_is_up_to_date_and_has_a_versioned_id() {
    let mut on_disk: Vec<String> = std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut generated: Vec<String> = rollcall::schema::FILES.iter().map(|(f, _)| (*f).to_owned()).collect();
    generated.sort();
    assert_eq!(on_disk, generated, "schema/ holds exactly the generated schemas");
    for (file, generate) in rollcall::schema::FILES {
        let name = file.trim_end_matches(".schema.json");
        assert!(
            committed(file) == generate(),
            "schema/{file} is out of date: run `cargo run -- schema --for {name} > schema/{file}`"
        );
        let v: serde_json::Value = serde_json::from_str(&committed(file)).unwrap();
        assert_eq!(
            v["$id"],
            format!("https://rollcall.dev/schema/{}/{file}", env!("CARGO_PKG_VERSION")),
            "{file}: $id"
        );
    }
}

/// Validates `instance` against schema/`file` with boon (draft 2020-12).
fn assert_valid(file: &str, instance: &serde_json::Value) {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let location = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema").join(file);
    let index = compiler.compile(location.to_str().unwrap(), &mut schemas).unwrap_or_else(|e| panic!("{file}: {e:#}"));
    if let Err(e) = schemas.validate(instance, index) {
        panic!("not valid against schema/{file}:\n{e}\n{instance:#}");
    }
}

fn rollcall_json(args: &[&str], cwd: &std::path::Path) -> serde_json::Value {
    let o = crate::support::rollcall().args(args).current_dir(cwd).output().unwrap();
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn plan_files_reports_and_diagnostics_validate_against_their_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("acme");
    crate::support::copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme"), &dir);
    let plan = rollcall_json(&["plan", "acme", "--format", "json", "--out", "plan.json"], tmp.path());
    assert_eq!(plan["summary"]["create"], 3);
    assert_valid("plan.schema.json", &plan);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("plan.json")).unwrap()).unwrap();
    assert_valid("plan.schema.json", &saved);
    let report = rollcall_json(&["apply", "plan.json", "--auto-approve", "--format", "json"], tmp.path());
    assert_eq!(report["summary"]["created"], 3, "{report:#}");
    assert_valid("report.schema.json", &report);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let failed = rollcall_json(&["validate", "tests/fixtures/invalid/five-mistakes", "--format", "json"], root);
    assert!(failed["diagnostics"].as_array().unwrap().len() >= 5, "{failed:#}");
    assert_valid("diagnostics.schema.json", &failed);
}

#[test]
fn import_writes_the_versioned_schema_modeline() {
    let tmp = tempfile::tempdir().unwrap();
    let live = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme/live.json");
    let o = crate::support::rollcall()
        .args(["import", "--from-snapshot", live.to_str().unwrap(), "--out", "out"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (file, schema) in [("rollcall.yaml", "rollcall.schema.json"), ("people.yaml", "directory.schema.json")] {
        let text = std::fs::read_to_string(tmp.path().join("out").join(file)).unwrap();
        let first = text.lines().next().unwrap();
        assert_eq!(first, format!("# yaml-language-server: $schema={}", rollcall::schema::url(schema)), "{file}");
    }
}

#[test]
fn examples_point_at_the_schemas() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme");
    let manifest = std::fs::read_to_string(root.join("rollcall.yaml")).unwrap();
    assert!(manifest.starts_with("# yaml-language-server: $schema=../../schema/rollcall.schema.json"));
}

/// docs/man/ holds what `rollcall man docs/man` writes.
#[test]
fn man_pages_are_up_to_date() {
    let tmp = tempfile::tempdir().unwrap();
    rollcall::cli::man_pages(tmp.path()).unwrap();
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man");
    let names = |dir: &std::path::Path| {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    };
    let stale = "docs/man is out of date: run `cargo run -- man docs/man`";
    assert_eq!(names(tmp.path()), names(&committed), "{stale}");
    for name in names(tmp.path()) {
        let fresh = std::fs::read_to_string(tmp.path().join(&name)).unwrap();
        assert!(fresh == std::fs::read_to_string(committed.join(&name)).unwrap(), "{name}: {stale}");
    }
}

#[test]
fn completions_for_every_shell_know_the_commands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let o = crate::support::rollcall().args(["completions", shell]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(o.stdout).unwrap();
        for word in ["diff", "import", "detailed-exitcode", "auto-approve"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
}

#[test]
fn audit_line_schema_is_up_to_date() {
    assert!(
        committed("audit-line.schema.json") == rollcall::schema::audit_line(),
        "schema/audit-line.schema.json is out of date: run `cargo run -- schema --for audit-line > schema/audit-line.schema.json`"
    );
}
