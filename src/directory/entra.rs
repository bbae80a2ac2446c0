//! Entra ID exports: `az ad user list --output json` (or a Graph `{"value": [...]}` page)
//! and `az ad group member list --group G`.

use std::fmt;

use miette::SourceSpan;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Attributes, Contribution, Origin, Record};
use crate::diag::{Code, Problem, Problems, Source};

/// One element of an export: a user's scalar attributes, or `None` when it is not an object.
/// Read straight from the text (no `serde_json::Value` tree: exports run to 100,000 users).
struct Item(Option<Attributes>);

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Item;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a user object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
                let mut attributes = Attributes::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(Name(name)) = map.next_key()? {
                    // Null, multi-valued and complex attributes (businessPhones, ...) map onto nothing in GoTo.
                    if let JsonScalar(Some(value)) = map.next_value()? {
                        attributes.0.push((name, value));
                    }
                }
                // A record lives until the plan is made: no room kept for attributes it lacks.
                attributes.0.shrink_to_fit();
                Ok(Item(Some(attributes)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Item(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Item, E> {
                Ok(Item(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Item, E> {
                Ok(Item(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Item, E> {
                Ok(Item(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Item, E> {
                Ok(Item(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Item, E> {
                Ok(Item(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Item, E> {
                Ok(Item(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// An attribute's name, shared with every record that has it, read without a copy of its own.
struct Name(std::sync::Arc<str>);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an attribute name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Name, E> {
                Ok(Name(crate::vocab::shared_name(name)))
            }
        }
        d.deserialize_str(V)
    }
}

/// An attribute value as text; `None` for null, arrays and objects.
struct JsonScalar(Option<Box<str>>);

impl<'de> Deserialize<'de> for JsonScalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonScalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonScalar, E> {
                Ok(JsonScalar(Some(v.into())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<JsonScalar, E> {
                Ok(JsonScalar(Some(v.into_boxed_str())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<JsonScalar, E> {
                Ok(JsonScalar(Some(if v { "true" } else { "false" }.into())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonScalar, E> {
                Ok(JsonScalar(Some(v.to_string().into_boxed_str())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonScalar, E> {
                Ok(JsonScalar(Some(v.to_string().into_boxed_str())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<JsonScalar, E> {
                Ok(JsonScalar(Some(
                    serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string()).into_boxed_str(),
                )))
            }
            fn visit_unit<E: de::Error>(self) -> Result<JsonScalar, E> {
                Ok(JsonScalar(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonScalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(JsonScalar(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonScalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(JsonScalar(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A Microsoft Graph page: `{"@odata.context": ..., "value": [...]}`.
#[derive(Deserialize)]
struct Page {
    value: Option<Vec<Item>>,
    /// Graph's link to the next page: this file is one page of several.
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<IgnoredAny>,
    #[serde(rename = "@odata.count")]
    count: Option<u64>,
}

/// A page of a Graph listing that is not the whole list is an error, never a short list:
/// the people on the other pages would be deprovisioned.
fn partial_page(source: &Source, page: &Page, items: usize) -> Option<Problem> {
    let text: &str = source.inner();
    let at = |key: &str| text.find(key).map_or((0, 1), |i| (i, key.len()));
    let (label, span) = match (&page.next_link, page.count) {
        (Some(_), count) => {
            let of = count.map_or(String::new(), |n| format!(" of {n} users"));
            (format!("this export is one page{of}: it names the next page"), at("\"@odata.nextLink\""))
        }
        (None, Some(n)) if n > items as u64 => {
            (format!("this export is one page of {n}: it holds {items} users"), at("\"@odata.count\""))
        }
        _ => return None,
    };
    Some(
        Problem::new(Code::PartialExport, format!("{} is not the whole list: {label}", source.name()))
            .at(source, span, "more users on other pages")
            .help("export every page (az ad user list does; with Graph, follow @odata.nextLink and merge the pages), or let `rollcall pull` fetch it"),
    )
}

fn parse_array(
    source: &Source,
    export: &str,
    problems: &mut Problems,
) -> Option<Vec<(Option<Attributes>, SourceSpan)>> {
    let text: &str = source.inner();
    let not_an_array = || {
        Problem::new(
            Code::MalformedJson,
            format!("{} is neither a JSON array nor a {{\"value\": [...]}} page", source.name()),
        )
        .at(source, (0, text.len().min(1)), "expected `[` or `{\"value\": [`")
        .help(format!("rollcall reads the array `{export}` prints, or a Microsoft Graph page"))
    };
    let parsed = match text.trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str::<Vec<Item>>(text),
        Some(b'{') => match serde_json::from_str::<Page>(text) {
            Ok(page @ Page { value: Some(_), .. }) => {
                let n = page.value.as_ref().map_or(0, Vec::len);
                if let Some(p) = partial_page(source, &page, n) {
                    problems.push(p);
                    return None;
                }
                Ok(page.value.unwrap_or_default())
            }
            Ok(Page { value: None, .. }) => {
                problems.push(not_an_array());
                return None;
            }
            Err(e) => Err(e),
        },
        _ if serde_json::from_str::<IgnoredAny>(text).is_ok() => {
            problems.push(not_an_array());
            return None;
        }
        _ => serde_json::from_str::<Vec<Item>>(text),
    };
    let items = match parsed {
        Ok(items) => items,
        Err(e) => {
            problems.push(json_problem(source, &e).help(format!("export it again with `{export}`")));
            return None;
        }
    };
    // Nothing above keeps positions; find each record's identity in the text for diagnostics.
    let mut cursor = 0;
    Some(
        items
            .into_iter()
            .map(|Item(attributes)| {
                let sp = locate(text, attributes.as_ref(), &mut cursor);
                (attributes, sp)
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
fn locate(text: &str, attributes: Option<&Attributes>, cursor: &mut usize) -> SourceSpan {
    let needle = attributes
        .and_then(|a| ["userPrincipalName", "mail", "id"].iter().find_map(|k| a.get(k)))
        .map(|s| serde_json::to_string(s).unwrap_or_default());
    match needle.and_then(|n| text[*cursor..].find(&n).map(|i| (*cursor + i, n.len()))) {
        Some((at, len)) => {
            *cursor = at + len;
            (at, len).into()
        }
        None => (*cursor, 0).into(),
    }
}

pub(super) fn read_users(source: &Source, problems: &mut Problems) -> Option<Contribution> {
    let items = parse_array(source, "az ad user list --output json", problems)?;
    let mut records = Vec::with_capacity(items.len());
    for (item, sp) in items {
        match item {
            Some(attributes) => records.push(Record { attributes, origin: Origin::new(source, sp) }),
            None => problems.push(Problem::new(Code::MalformedJson, "a user record that is not a JSON object").at(
                source,
                sp,
                "expected {\"userPrincipalName\": ..., ...}",
            )),
        }
    }
    Some(Contribution { records, groups: Vec::new(), memberships: Vec::new() })
}

/// The members a group-member export names: (userPrincipalName or mail, where).
pub(super) fn read_members(source: &Source, problems: &mut Problems) -> Vec<(String, Origin)> {
    let Some(items) = parse_array(source, "az ad group member list --group <name> --output json", problems) else {
        return Vec::new();
    };
    let mut members = Vec::with_capacity(items.len());
    for (item, sp) in items {
        let name = item.as_ref().and_then(|a| ["userPrincipalName", "mail"].iter().find_map(|k| a.get(k)));
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
