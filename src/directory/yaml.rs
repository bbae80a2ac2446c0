//! rollcall's own directory YAML: `users:` and `groups:`.

use miette::SourceSpan;

use super::{Attributes, Contribution, Group, Origin, Record};
use crate::diag::{Problems, Source};
use crate::manifest::RawDirectoryFile;
use crate::manifest::yaml::{self, events};

pub(super) fn read(source: &Source, problems: &mut Problems) -> Option<Contribution> {
    // The plain shape straight from the parser's events; serde for everything else (and for
    // what is wrong: it says precisely what).
    let file = match events::read(source.inner()) {
        Some(file) => file,
        None => match yaml::parse::<RawDirectoryFile>(source) {
            Ok(raw) => events::DirectoryFile::from(raw),
            Err(p) => {
                problems.push(p);
                return None;
            }
        },
    };
    let records = file
        .users
        .into_iter()
        .map(|user| {
            let attributes = Attributes::from_read(user.attributes);
            let origin = Origin::new(source, identity_span(source.inner(), user.span, &attributes));
            Record { attributes, origin }
        })
        .collect();
    let groups = file
        .groups
        .into_iter()
        .map(|g| Group {
            origin: Origin::new(source, g.span),
            name: g.name,
            members: g.members.into_iter().map(|(m, at)| (m, Origin::new(source, at))).collect(),
            groups: g.groups.into_iter().map(|(m, at)| (m, Origin::new(source, at))).collect(),
        })
        .collect();
    Some(Contribution { records, groups, memberships: Vec::new() })
}

/// What diagnostics about a record underline: its identity as written, else the record's
/// first line (a flow mapping's own span is just its `{`).
fn identity_span(text: &str, record: SourceSpan, attributes: &Attributes) -> SourceSpan {
    let start = record.offset().min(text.len());
    let identity =
        ["userPrincipalName", "mail"].iter().find_map(|k| attributes.get(k).filter(|v| !v.trim().is_empty()));
    // Records are short: look no further than a few lines ahead.
    let mut end = (start + 4096).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if let Some(at) = identity.and_then(|id| text[start..end].find(id)) {
        return (start + at, identity.map_or(0, str::len)).into();
    }
    let line = text[start..].find(['\n', '\r']).unwrap_or(text.len() - start);
    (start, line.max(record.len())).into()
}
