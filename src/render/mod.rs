//! The one place that turns a Plan (or an apply report) into words: text, markdown, JSON.

pub mod markdown;
pub mod report;
pub mod text;

use crate::live::Grant;
use crate::plan::{Change, LeftAlone, Summary};

/// What the plan is about: shown in every header.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TargetInfo {
    pub kind: String,
    pub account: String,
    #[serde(default)]
    pub name: String,
}

impl TargetInfo {
    pub fn describe(&self) -> String {
        let what = match self.kind.as_str() {
            "scim" => "SCIM service",
            _ => "GoTo account",
        };
        if self.name.is_empty() {
            format!("{what} {}", escape(&self.account))
        } else {
            format!("{what} {} ({})", escape(&self.account), escape(&self.name))
        }
    }
}

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
            ("", text, Some(escape(attribute).into_owned()), '~')
        }
        Change::Add(g) => (grant_label(&g.grant), escape(&g.name).into_owned(), None, '+'),
        Change::Remove(g) => (grant_label(&g.grant), escape(&g.name).into_owned(), None, '-'),
    }
}

fn grant_label(g: &Grant) -> &'static str {
    match g {
        Grant::License(_) => "licenses",
        Grant::AdminRole(_) => "admin roles",
        Grant::ScimRole(_) => "roles",
    }
}

pub fn quote(s: &str) -> String {
    escape(&serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))).into_owned()
}

/// A character that could rewrite a terminal or hide text from a reviewer: a control
/// character (ANSI escapes start with one, a newline starts a fake line) or a
/// bidirectional formatting character (U+202E shows text backwards).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
        )
}

/// `s` as printable text on one line: every unsafe character shown as an escape
/// (`\n`, `\u{1b}`, `\u{202e}`). Every renderer prints values through this.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

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
