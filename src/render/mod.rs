//! The one place that turns a Plan (or an apply report) into words: text, markdown, JSON.

pub mod markdown;
pub mod report;
pub mod text;

use crate::plan::{Change, LeftAlone, Summary};

pub use crate::vocab::{TargetInfo, quote};

pub fn summary_line(s: &Summary) -> String {
    format!(
        "Plan: {} to create, {} to update, {} to disable, {} to enable, {} to delete.",
        s.create, s.update, s.disable, s.enable, s.delete
    )
}

/// "Left alone: ..." or None when rollcall left nothing alone.
pub fn left_alone_line(l: &LeftAlone) -> Option<String> {
    let mut parts = Vec::new();
    let mut add = |n: usize, one: &str, many: &str| {
        if n > 0 {
            parts.push(format!("{n} {}", if n == 1 { one } else { many }));
        }
    };
    add(l.outside_scope, "account outside scope", "accounts outside scope");
    add(l.excluded, "excluded account", "excluded accounts");
    add(l.protected, "protected account", "protected accounts");
    add(l.kept, "unassigned account kept (on_unassign: keep)", "unassigned accounts kept (on_unassign: keep)");
    add(l.unmanaged_grants, "unmanaged grant", "unmanaged grants");
    add(l.locked, "account GoTo will not let rollcall change", "accounts GoTo will not let rollcall change");
    (!parts.is_empty()).then(|| format!("Left alone: {}.", parts.join(", ")))
}

/// (label, text) of one change line, e.g. ("lastName", "\"Smth\" -> \"Smith\"").
pub fn change_parts(c: &Change) -> (&'static str, String, Option<String>, char) {
    match c {
        Change::Attribute { attribute, old, new } => {
            let text = match old {
                Some(o) => format!("{} -> {}", quote(o), quote(new)),
                None => quote(new),
            };
            ("", text, Some(attribute.clone()), '~')
        }
        Change::Add(g) => (g.grant.label(), g.name.clone(), None, '+'),
        Change::Remove(g) => (g.grant.label(), g.name.clone(), None, '-'),
    }
}
