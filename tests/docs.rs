//! The documentation cannot drift: docs/manifest.md documents exactly the keys (and the
//! values of each closed list) of the generated schemas, and the README links every doc.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every key path of a schema (`a.b`, `list[].key`, `map.<name>.key`) and every value of its
/// enums, following `$ref`s, `anyOf` / `oneOf` and list items.
fn keys_and_values(schema: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    fn walk(
        node: &Value,
        defs: &Value,
        path: &str,
        keys: &mut BTreeSet<String>,
        values: &mut BTreeSet<String>,
        depth: u8,
    ) {
        if depth > 12 {
            return;
        }
        if let Some(r) = node["$ref"].as_str() {
            let name = r.rsplit('/').next().unwrap();
            return walk(&defs[name], defs, path, keys, values, depth + 1);
        }
        for k in ["anyOf", "oneOf", "allOf"] {
            for sub in node[k].as_array().into_iter().flatten() {
                walk(sub, defs, path, keys, values, depth + 1);
            }
        }
        for v in node["enum"].as_array().into_iter().flatten() {
            values.insert(v.as_str().unwrap_or_default().to_owned());
        }
        if let Some(c) = node["const"].as_str() {
            values.insert(c.to_owned());
        }
        if let Some(props) = node["properties"].as_object() {
            for (k, v) in props {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                keys.insert(p.clone());
                walk(v, defs, &p, keys, values, depth + 1);
            }
        }
        if node["items"].is_object() {
            // A list of lists (a scoping filter of several clauses) documents as one list.
            let p = if path.ends_with("[]") { path.to_owned() } else { format!("{path}[]") };
            walk(&node["items"], defs, &p, keys, values, depth + 1);
        }
        if node["additionalProperties"].is_object() {
            walk(&node["additionalProperties"], defs, &format!("{path}.<name>"), keys, values, depth + 1);
        }
    }
    let (mut keys, mut values) = (BTreeSet::new(), BTreeSet::new());
    walk(schema, &schema["$defs"], "", &mut keys, &mut values, 0);
    (keys, values)
}

/// The key paths documented in the tables of docs/manifest.md: the first cell of each row.
fn documented_keys(doc: &str) -> BTreeSet<String> {
    doc.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`'))
        .map(|(key, _)| key.to_owned())
        .collect()
}

fn check(doc: &str, schemas: &[&str]) -> Vec<String> {
    let documented = documented_keys(doc);
    let mut all_keys = BTreeSet::new();
    let mut problems = Vec::new();
    for schema in schemas {
        let (keys, values) = keys_and_values(&serde_json::from_str(schema).unwrap());
        for k in &keys {
            if !documented.contains(k) {
                problems.push(format!("key `{k}` is in the schema but not documented"));
            }
        }
        for v in values {
            if !doc.contains(&format!("`{v}`")) {
                problems.push(format!("value `{v}` is in the schema but not documented"));
            }
        }
        all_keys.extend(keys);
    }
    for k in &documented {
        // Directory formats are values, not keys.
        if !all_keys.contains(k) && !["yaml", "entra-json", "entra-group-members", "csv"].contains(&k.as_str()) {
            problems.push(format!("`{k}` is documented but the schema has no such key"));
        }
    }
    problems
}

#[test]
fn manifest_md_documents_every_key_of_the_schemas_and_no_other() {
    let problems = check(&read("docs/manifest.md"), &[&rollcall::schema::rollcall(), &rollcall::schema::directory()]);
    assert!(problems.is_empty(), "docs/manifest.md is out of step with the schemas:\n{}", problems.join("\n"));
}

#[test]
fn a_key_added_to_the_schema_and_not_documented_fails_the_check() {
    let mut schema: Value = serde_json::from_str(&rollcall::schema::rollcall()).unwrap();
    schema["properties"]["audit"] = serde_json::json!({ "type": "string" });
    let schema = schema.to_string();
    let problems = check(&read("docs/manifest.md"), &[&schema, &rollcall::schema::directory()]);
    assert_eq!(problems, ["key `audit` is in the schema but not documented"]);
    let problems = check(&read("docs/manifest.md").replace("`csv`", "`comma`"), &[&rollcall::schema::rollcall()]);
    assert!(problems.iter().any(|p| p.contains("value `csv`")), "{problems:?}");
}

#[test]
fn the_readme_links_every_doc() {
    let readme = read("README.md");
    let mut missing = Vec::new();
    for e in std::fs::read_dir(root().join("docs")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let link = if name == "man" { "docs/man".to_owned() } else { format!("docs/{name}") };
        if !readme.contains(&format!("({link}")) {
            missing.push(link);
        }
    }
    assert!(missing.is_empty(), "README.md does not link {missing:?}");
}

/// docs/plan-format.md names every field of the plan file and the apply report.
#[test]
fn plan_format_md_names_every_field_of_the_plan_and_the_report() {
    let doc = read("docs/plan-format.md");
    let mut missing = Vec::new();
    for schema in [rollcall::schema::plan(), rollcall::schema::report(), rollcall::schema::diagnostics()] {
        let (keys, _) = keys_and_values(&serde_json::from_str(&schema).unwrap());
        for k in keys {
            let last = k.rsplit(['.', '[']).next().unwrap().trim_end_matches(']').to_owned();
            if !last.is_empty() && !last.starts_with('<') && !doc.contains(&format!("`{last}`")) {
                missing.push(k);
            }
        }
    }
    assert!(missing.is_empty(), "docs/plan-format.md does not name {missing:?}");
}
