//! The Terraform-like text view of a plan.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::{TargetInfo, change_parts_in, escape, left_alone_line, summary_line, unmanaged_lines};
use crate::plan::{ActionKind, Change, Plan};

fn style(kind: ActionKind) -> (char, Style) {
    match kind {
        ActionKind::Create => ('+', AnsiColor::Green.on_default()),
        ActionKind::Enable => ('+', AnsiColor::Green.on_default()),
        ActionKind::Update => ('~', AnsiColor::Yellow.on_default()),
        ActionKind::Disable => ('-', AnsiColor::Red.on_default()),
        ActionKind::Delete => ('-', AnsiColor::Red.on_default().bold()),
    }
}

fn paint(color: bool, s: Style, text: &str) -> String {
    if color { format!("{}{text}{}", s.render(), s.render_reset()) } else { text.to_owned() }
}

/// The plan as text; `color` adds ANSI colours.
pub fn render(plan: &Plan, target: &TargetInfo, color: bool) -> String {
    let mut out = render_actions(plan, target, color);
    let lines = unmanaged_lines(&plan.unmanaged);
    if !lines.is_empty() {
        out.push_str("\nUnmanaged grants (no role names them; rollcall leaves them alone):\n");
        for line in lines {
            let _ = writeln!(out, "  = {line}");
        }
    }
    out
}

/// The plan as text without the list of unmanaged grants (markdown lists them itself).
pub fn render_actions(plan: &Plan, target: &TargetInfo, color: bool) -> String {
    let mut out = String::new();
    if plan.is_empty() {
        out.push_str("No changes. The account matches the manifests.\n");
    } else {
        let _ = writeln!(out, "rollcall will change {}:\n", target.describe());
        for a in &plan.actions {
            let (sign, st) = style(a.action);
            let reason = a.reason.as_ref().map(|r| format!("   ({})", escape(r))).unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} {}{reason}",
                paint(color, st, &format!("{sign} {}", a.action.as_str())),
                escape(&a.email)
            );
            let labels: Vec<(String, String, char)> = a
                .changes
                .iter()
                .map(|c| {
                    let (label, text, attr, sign) = change_parts_in(a.action, c);
                    (attr.unwrap_or_else(|| label.to_owned()), text, sign)
                })
                .collect();
            let width = labels.iter().map(|(l, _, _)| l.chars().count()).max().unwrap_or(0) + 1;
            for ((label, text, sign), change) in labels.iter().zip(&a.changes) {
                let label = format!("{label}:");
                let text = match change {
                    Change::Attribute { .. } | Change::SecretAttribute { .. } => text.clone(),
                    Change::Add(_) => paint(color, AnsiColor::Green.on_default(), &format!("{sign} {text}")),
                    Change::Remove(_) => paint(color, AnsiColor::Red.on_default(), &format!("{sign} {text}")),
                };
                let _ = writeln!(out, "      {label:<w$} {text}", w = width);
            }
        }
        out.push('\n');
        let _ = writeln!(out, "{}", summary_line(&plan.summary()));
    }
    if let Some(line) = left_alone_line(&plan.left_alone) {
        let _ = writeln!(out, "{line}");
    }
    if plan.unscoped {
        out.push_str("No scope: only matched accounts are managed, and nothing is ever deprovisioned.\n");
    }
    if !plan.only.is_empty() {
        let _ = writeln!(out, "Restricted to: {} (--only).", escape(&plan.only.join(", ")));
    }
    if !plan.warnings.is_empty() {
        out.push_str("\nWarnings:\n");
        for w in &plan.warnings {
            let _ = writeln!(out, "  ! {}: {}", escape(&w.email), escape(&w.message));
        }
    }
    if !plan.blocked.is_empty() {
        out.push('\n');
        for b in &plan.blocked {
            let _ = writeln!(
                out,
                "{} {}",
                paint(color, AnsiColor::Red.on_default().bold(), "Blocked:"),
                escape(&b.message)
            );
            let _ = writeln!(out, "  [{}]", b.code.as_str());
        }
        out.push_str(if plan.blocked.iter().any(|b| b.code == crate::diag::Code::InsufficientAdminRole) {
            "apply refuses this plan: the credential's user lacks an admin role it needs.\n"
        } else {
            "apply refuses this plan unless --allow-removals is given.\n"
        });
    }
    out
}
