//! The committed JSON Schemas are what the types generate; regenerate with
//! `cargo run -- schema > schema/rollcall.schema.json` (and `--for directory`).

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
