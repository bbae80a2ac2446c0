//! The one place that turns a Plan (or an apply report) into words: text, markdown, JSON.

pub mod diagnostics;
pub mod markdown;
pub mod report;
pub mod text;

use crate::live::Grant;
use crate::plan::{ActionKind, Change, LeftAlone, REDACTED, Summary, Unmanaged};

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

/// One line per account holding grants no role names: what rollcall leaves alone.
pub fn unmanaged_lines(unmanaged: &[Unmanaged]) -> Vec<String> {
    unmanaged
        .iter()
        .map(|u| {
            let grants: Vec<String> = u
                .grants
                .iter()
                .map(|g| match &g.grant {
                    Grant::License(k) if g.name != k.as_str() => format!("license {} ({k})", g.name),
                    Grant::License(k) => format!("license {k}"),
                    Grant::AdminRole(r) => format!("admin role {r}"),
                    Grant::ScimRole(r) => format!("role {r}"),
                })
                .collect();
            escape(&format!("{}: {}", u.email, grants.join(", "))).into_owned()
        })
        .collect()
}

/// [`change_parts`] in an action of `kind`: an attribute an update sets where the live
/// account has none reads `(none) -> "new"`, not like a create.
pub fn change_parts_in(kind: ActionKind, c: &Change) -> (&'static str, String, Option<String>, char) {
    match c {
        Change::Attribute { attribute, old: None, new } if kind != ActionKind::Create => {
            ("", format!("(none) -> {}", quote(new)), Some(escape(attribute).into_owned()), '~')
        }
        Change::SecretAttribute { attribute, old: None, .. } if kind != ActionKind::Create => {
            ("", format!("(none) -> {REDACTED}"), Some(escape(attribute).into_owned()), '~')
        }
        _ => change_parts(c),
    }
}

/// (label, text) of one change line, e.g. ("lastName", "\"Smth\" -> \"Smith\"").
pub fn change_parts(c: &Change) -> (&'static str, String, Option<String>, char) {
    match c {
        Change::Attribute { attribute, old, new } => {
            let text = match old {
                Some(o) => format!("{} -> {}", quote(o), quote(new)),
                None => quote(new),
            };
            ("", text, Some(escape(attribute).into_owned()), '~')
        }
        Change::SecretAttribute { attribute, old, .. } => {
            let text = match old {
                Some(_) => format!("{REDACTED} -> {REDACTED}"),
                None => REDACTED.to_owned(),
            };
            ("", text, Some(escape(attribute).into_owned()), '~')
        }
        Change::Add(g) => (g.grant.label(), escape(&g.name).into_owned(), None, '+'),
        Change::Remove(g) => (g.grant.label(), escape(&g.name).into_owned(), None, '-'),
    }
}

pub use crate::printable::{escape, is_unsafe_char};

/// The longest run of backticks in `s`.
pub fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// `s` as a markdown code span that nothing in it can close: escaped, and delimited by more
/// backticks than it holds in a row.
pub fn code_span(s: &str) -> String {
    let s = escape(s);
    let ticks = "`".repeat(longest_backtick_run(&s) + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || s.starts_with(' ') { " " } else { "" };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// `s` as markdown text: escaped, with HTML and markdown syntax made literal.
pub fn markdown_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}
