//! rollcall's own directory YAML: `users:` and `groups:`.

use super::{Attributes, Contribution, Group, Origin, Record};
use crate::diag::{Problems, Source};
use crate::manifest::RawDirectoryFile;
use crate::manifest::load::{self, span};

pub(super) fn read(source: &Source, problems: &mut Problems) -> Option<Contribution> {
    let file: RawDirectoryFile = match load::parse(source) {
        Ok(f) => f,
        Err(p) => {
            problems.push(p);
            return None;
        }
    };
    let records = file
        .users
        .into_iter()
        .map(|user| {
            let origin = Origin::new(source, span(&user));
            let mut attributes = Attributes(Vec::with_capacity(user.value.0.len()));
            for (k, v) in user.value.0 {
                if let Some(v) = v.0 {
                    attributes.0.push((k.into(), v.into()));
                }
            }
            Record { attributes, origin }
        })
        .collect();
    let groups = file
        .groups
        .0
        .into_iter()
        .map(|(name, g)| Group {
            origin: Origin::new(source, span(&name)),
            name: name.value,
            members: g.members.into_iter().map(|m| (m.value.clone(), Origin::new(source, span(&m)))).collect(),
            groups: g.groups.into_iter().map(|m| (m.value.clone(), Origin::new(source, span(&m)))).collect(),
        })
        .collect();
    Some(Contribution { records, groups })
}
