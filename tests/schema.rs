//! The committed JSON Schemas are what the types generate; regenerate with
//! `cargo run -- schema > schema/rollcall.schema.json` (and `--for directory`); so are the man
//! pages in docs/man (`cargo run -- man docs/man`).

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
        let o =
            std::process::Command::new(env!("CARGO_BIN_EXE_rollcall")).args(["completions", shell]).output().unwrap();
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
        committed("audit-line.schema.json") == rollcall::apply::schema(),
        "schema/audit-line.schema.json is out of date: run `cargo run -- schema --for audit-line > schema/audit-line.schema.json`"
    );
}
