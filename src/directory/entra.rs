//! Entra ID exports: `az ad user list --output json` (or a Graph `{"value": [...]}` page)
//! and `az ad group member list --group G`.

use miette::SourceSpan;
use serde_json::Value;

use super::{Attributes, Contribution, Origin, Record};
use crate::diag::{Code, Problem, Problems, Source};

fn parse_array(source: &Source, export: &str, problems: &mut Problems) -> Option<Vec<(Value, SourceSpan)>> {
    let text: &str = source.inner();
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            problems.push(json_problem(source, &e).help(format!("export it again with `{export}`")));
            return None;
        }
    };
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut map) if map.get("value").is_some_and(Value::is_array) => match map.remove("value") {
            Some(Value::Array(items)) => items,
            _ => unreachable!("checked to be an array"),
        },
        _ => {
            problems.push(
                Problem::new(
                    Code::MalformedJson,
                    format!("{} is neither a JSON array nor a {{\"value\": [...]}} page", source.name()),
                )
                .at(source, (0, text.len().min(1)), "expected `[` or `{\"value\": [`")
                .help(format!("rollcall reads the array `{export}` prints, or a Microsoft Graph page")),
            );
            return None;
        }
    };
    // serde_json keeps no positions; find each record's identity in the text for diagnostics.
    let mut cursor = 0;
    Some(
        items
            .into_iter()
            .map(|item| {
                let sp = locate(text, &item, &mut cursor);
                (item, sp)
            })
            .collect(),
    )
}

/// A JSON syntax error, pointing where the mistake most likely is.
fn json_problem(source: &Source, e: &serde_json::Error) -> Problem {
    let text: &str = source.inner();
    let full = e.to_string();
    let message = full.rfind(" at line ").map_or(full.as_str(), |i| &full[..i]);
    let offset = miette::SourceOffset::from_location(text, e.line(), e.column()).offset().min(text.len());
    let problem = Problem::new(Code::MalformedJson, format!("{} is not valid JSON", source.name()));
    // serde_json notices a missing comma at the next token; the comma belongs after the previous one.
    if message.starts_with("expected `,`") {
        let before = text[..offset].trim_end();
        if let Some(last) = before.chars().next_back() {
            let at = before.len() - last.len_utf8();
            return problem.at(source, (at, last.len_utf8()), format!("{message} after this"));
        }
    }
    let len = text[offset..].chars().next().map_or(0, char::len_utf8);
    problem.at(source, (offset, len), message.to_owned())
}

/// Where a record stands in the text: its identity string, searched from the previous record on.
fn locate(text: &str, item: &Value, cursor: &mut usize) -> SourceSpan {
    let needle = ["userPrincipalName", "mail", "id"]
        .iter()
        .find_map(|k| item.get(*k).and_then(Value::as_str))
        .map(|s| serde_json::to_string(s).unwrap_or_default());
    match needle.and_then(|n| text[*cursor..].find(&n).map(|i| (*cursor + i, n.len()))) {
        Some((at, len)) => {
            *cursor = at + len;
            (at, len).into()
        }
        None => (*cursor, 0).into(),
    }
}

fn attributes_of(item: &Value) -> Option<Attributes> {
    let obj = item.as_object()?;
    let mut attributes = Attributes(Vec::with_capacity(obj.len()));
    for (k, v) in obj {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            // Multi-valued and complex attributes (businessPhones, ...) do not map onto GoTo's.
            Value::Null | Value::Array(_) | Value::Object(_) => continue,
        };
        attributes.0.push((k.as_str().into(), text.into()));
    }
    Some(attributes)
}

pub(super) fn read_users(source: &Source, problems: &mut Problems) -> Option<Contribution> {
    let items = parse_array(source, "az ad user list --output json", problems)?;
    let mut records = Vec::with_capacity(items.len());
    for (item, sp) in items {
        match attributes_of(&item) {
            Some(attributes) => records.push(Record { attributes, origin: Origin::new(source, sp) }),
            None => problems.push(Problem::new(Code::MalformedJson, "a user record that is not a JSON object").at(
                source,
                sp,
                "expected {\"userPrincipalName\": ..., ...}",
            )),
        }
    }
    Some(Contribution { records, groups: Vec::new() })
}

/// The members a group-member export names: (userPrincipalName or mail, where).
pub(super) fn read_members(source: &Source, problems: &mut Problems) -> Vec<(String, Origin)> {
    let Some(items) = parse_array(source, "az ad group member list --group <name> --output json", problems) else {
        return Vec::new();
    };
    let mut members = Vec::with_capacity(items.len());
    for (item, sp) in items {
        let name = ["userPrincipalName", "mail"].iter().find_map(|k| item.get(*k).and_then(Value::as_str));
        match name {
            Some(n) => members.push((n.to_owned(), Origin::new(source, sp))),
            None => problems.push(
                Problem::new(Code::MalformedJson, "a group member without userPrincipalName or mail")
                    .at(source, sp, "cannot tell who this is")
                    .help("rollcall expands nested groups itself: list only users here, and nest groups in a rollcall YAML file"),
            ),
        }
    }
    members
}
