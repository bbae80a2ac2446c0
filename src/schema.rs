//! The JSON Schemas of rollcall's files, generated from the types that read or write them:
//! the manifest (`rollcall.yaml`), directory files, the plan file, the apply report and the
//! JSON diagnostics. Each has a versioned `$id` under [`BASE_URL`].

use crate::manifest::{RawDirectoryFile, RawManifest};

/// Where the schemas are published, one folder per rollcall version.
pub const BASE_URL: &str = "https://rollcall.dev/schema";

/// Renders one schema.
pub type Generate = fn() -> String;

/// The file names in `schema/`, as `rollcall schema --for` names them.
pub const FILES: &[(&str, Generate)] = &[
    ("rollcall.schema.json", rollcall),
    ("directory.schema.json", directory),
    ("plan.schema.json", plan),
    ("report.schema.json", report),
    ("diagnostics.schema.json", diagnostics),
    ("explain.schema.json", explain),
    ("audit-line.schema.json", audit_line),
];

/// The versioned URL of a schema file, e.g. `https://rollcall.dev/schema/0.1.0/rollcall.schema.json`:
/// the `$id` of the schema, and what `import` writes into the modeline of the files it creates.
pub fn url(file: &str) -> String {
    format!("{BASE_URL}/{}/{file}", env!("CARGO_PKG_VERSION"))
}

pub fn rollcall() -> String {
    render(schemars::schema_for!(RawManifest), "rollcall.schema.json")
}

pub fn directory() -> String {
    render(schemars::schema_for!(RawDirectoryFile), "directory.schema.json")
}

/// One line of `apply --audit-log` (`rollcall schema --for audit-line`).
pub fn audit_line() -> String {
    render(schemars::schema_for!(crate::apply::AuditLine), "audit-line.schema.json")
}

/// The JSON `rollcall explain --format json` prints.
pub fn explain() -> String {
    render(schemars::schema_for!(crate::explain::Explanation), "explain.schema.json")
}

pub fn plan() -> String {
    render(schemars::schema_for!(crate::planfile::PlanDoc), "plan.schema.json")
}

pub fn report() -> String {
    render(schemars::schema_for!(crate::render::report::JsonReport<'static>), "report.schema.json")
}

/// What `--format json` prints when a command fails (or `validate` succeeds).
#[derive(schemars::JsonSchema)]
#[schemars(title = "rollcall diagnostics", description = "What `--format json` prints when a command fails")]
#[allow(dead_code)]
struct DiagnosticsDoc {
    /// true when there is no diagnostic.
    ok: bool,
    diagnostics: Vec<crate::render::diagnostics::JsonDiagnostic>,
}

pub fn diagnostics() -> String {
    render(schemars::schema_for!(DiagnosticsDoc), "diagnostics.schema.json")
}

fn render(schema: schemars::Schema, file: &str) -> String {
    let value = serde_json::to_value(&schema).expect("a schema is always serialisable");
    let serde_json::Value::Object(fields) = value else { unreachable!("a schema is an object") };
    // `$schema` first, `$id` second, then the rest as generated.
    let mut ordered = serde_json::Map::new();
    if let Some(meta) = fields.get("$schema") {
        ordered.insert("$schema".into(), meta.clone());
    }
    ordered.insert("$id".into(), url(file).into());
    for (k, v) in fields {
        if k != "$schema" {
            ordered.insert(k, v);
        }
    }
    let mut s = serde_json::to_string_pretty(&ordered).expect("a schema is always serialisable");
    s.push('\n');
    s
}
