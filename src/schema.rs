//! The JSON Schemas of the manifest files, generated from the types that read them.

use crate::manifest::{RawDirectoryFile, RawManifest};

pub fn rollcall() -> String {
    render(schemars::schema_for!(RawManifest))
}

pub fn directory() -> String {
    render(schemars::schema_for!(RawDirectoryFile))
}

/// A schema as the committed files spell it: pretty JSON and a final newline.
pub fn render(schema: schemars::Schema) -> String {
    let mut s = serde_json::to_string_pretty(&schema).expect("a schema is always serialisable");
    s.push('\n');
    s
}
