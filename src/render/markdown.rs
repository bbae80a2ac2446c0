//! The plan as a pull-request comment: the summary, blocked reasons and every removal stay
//! visible; the full plan sits in a collapsible block; the whole stays under GitHub's limit.

use std::fmt::Write;

use super::{
    TargetInfo, code_span, left_alone_line, longest_backtick_run, markdown_text, summary_line, text, unmanaged_lines,
};
use crate::plan::Plan;

/// GitHub rejects comments over 65,536 characters; keep a margin.
pub const LIMIT: usize = 65_000;

pub fn render(plan: &Plan, target: &TargetInfo, commit: Option<&str>) -> String {
    render_within(plan, target, commit, LIMIT)
}

pub fn render_within(plan: &Plan, target: &TargetInfo, commit: Option<&str>, limit: usize) -> String {
    let mut out = head(plan, target, commit);
    push_removals(&mut out, plan, limit);
    push_unmanaged(&mut out, plan, limit);
    push_full_plan(&mut out, plan, target, limit);
    out
}

/// The title, the commit, the summary and what stays in view above the removals: what was
/// left alone, scope, `--only`, blocks and warnings.
fn head(plan: &Plan, target: &TargetInfo, commit: Option<&str>) -> String {
    let mut head = String::new();
    let _ = writeln!(head, "### rollcall plan for {}\n", markdown_text(&target.describe()));
    if let Some(c) = commit {
        let _ = writeln!(head, "Made from commit {}.\n", code_span(c));
    }
    if plan.is_empty() {
        head.push_str("**No changes.** The account matches the manifests.\n");
    } else {
        let _ = writeln!(head, "**{}**", summary_line(&plan.summary()));
    }
    if let Some(line) = left_alone_line(&plan.left_alone) {
        let _ = writeln!(head, "\n{line}");
    }
    if plan.unscoped {
        head.push_str("\nNo scope: only matched accounts are managed, and nothing is ever deprovisioned.\n");
    }
    if !plan.only.is_empty() {
        let _ = writeln!(head, "\nRestricted to: {} (`--only`).", markdown_text(&plan.only.join(", ")));
    }
    for b in &plan.blocked {
        let lifted = if b.code == crate::diag::Code::InsufficientAdminRole {
            "`apply` refuses this plan: the credential's user lacks an admin role it needs."
        } else {
            "`apply` refuses this plan unless `--allow-removals` is given."
        };
        let _ =
            writeln!(head, "\n> [!CAUTION]\n> **Blocked:** {} (`{}`)\n> {lifted}", markdown_text(&b.message), b.code);
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(head, "\n**Warnings ({}):**", plan.warnings.len());
        for w in plan.warnings.iter().take(50) {
            let _ = writeln!(head, "- {}: {}", code_span(&w.email), markdown_text(&w.message));
        }
        if plan.warnings.len() > 50 {
            let _ = writeln!(head, "- … and {} more (see the plan file)", plan.warnings.len() - 50);
        }
    }
    head
}

/// Every removal, one line each, before anything else is allowed to take room.
fn push_removals(out: &mut String, plan: &Plan, limit: usize) {
    let removals: Vec<String> = plan
        .actions
        .iter()
        .filter(|a| a.action.is_removal())
        .map(|a| {
            format!(
                "- **{}** {}{}\n",
                a.action.as_str(),
                code_span(&a.email),
                a.reason.as_ref().map(|r| format!(" ({})", markdown_text(r))).unwrap_or_default()
            )
        })
        .collect();
    if !removals.is_empty() {
        let _ = writeln!(out, "\n**Removals ({}):**\n", removals.len());
        let tail_room = 600;
        let mut shown = 0;
        for line in &removals {
            if out.len() + line.len() + tail_room > limit {
                break;
            }
            out.push_str(line);
            shown += 1;
        }
        if shown < removals.len() {
            let _ = writeln!(
                out,
                "\n**Truncated:** {} more removals are not listed here to stay under the comment size limit; `rollcall show plan.json` lists them all.",
                removals.len() - shown
            );
        }
    }
}

/// The unmanaged grants, folded, as many as fit.
fn push_unmanaged(out: &mut String, plan: &Plan, limit: usize) {
    let unmanaged = unmanaged_lines(&plan.unmanaged);
    if !unmanaged.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>Unmanaged grants ({}): no role names them, rollcall leaves them alone</summary>\n",
            unmanaged.len()
        );
        let mut shown = 0;
        for line in &unmanaged {
            if out.len() + line.len() + 2000 > limit {
                break;
            }
            let _ = writeln!(out, "- {}", code_span(line));
            shown += 1;
        }
        if shown < unmanaged.len() {
            let _ =
                writeln!(out, "- … and {} more (`rollcall show plan.json` lists them all)", unmanaged.len() - shown);
        }
        out.push_str("\n</details>\n");
    }
}

/// The whole plan in a folded diff block, cut at a line boundary when it does not fit.
fn push_full_plan(out: &mut String, plan: &Plan, target: &TargetInfo, limit: usize) {
    if !plan.is_empty() {
        let full = text::render_actions(plan, target, false);
        // A fence longer than any backtick run in the plan: no value can close it.
        let fence = "`".repeat(longest_backtick_run(&full).max(2) + 1);
        let open = format!("\n<details><summary>Full plan</summary>\n\n{fence}diff\n");
        let close = format!("{fence}\n\n</details>\n");
        let truncated_note =
            "… truncated here to stay under the comment size limit; `rollcall show plan.json` shows the whole plan.\n";
        let room = limit.saturating_sub(out.len() + open.len() + close.len() + truncated_note.len());
        if room > 200 {
            out.push_str(&open);
            if full.len() <= room {
                out.push_str(&full);
            } else {
                // Cut at a line boundary.
                let mut end = room;
                while !full.is_char_boundary(end) {
                    end -= 1;
                }
                let cut = full[..end].rfind('\n').map_or(0, |i| i + 1);
                out.push_str(&full[..cut]);
                out.push_str(truncated_note);
            }
            out.push_str(&close);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::{Grant, Key};
    use crate::plan::{Action, ActionKind, Block, Change, GrantChange, LeftAlone};

    fn big_plan(n: usize) -> Plan {
        let grant = GrantChange { grant: Grant::License(Key("1".into())), name: "GoToMeeting Business".into() };
        let actions = (0..n)
            .map(|i| {
                let (action, changes) = match i % 4 {
                    0 => (ActionKind::Disable, vec![Change::Remove(grant.clone())]),
                    1 => (ActionKind::Create, vec![Change::Add(grant.clone())]),
                    _ => (
                        ActionKind::Update,
                        vec![Change::Attribute {
                            attribute: "lastName".into(),
                            old: Some("Old".into()),
                            new: "New".into(),
                        }],
                    ),
                };
                Action { action, email: format!("person{i:06}@acme.example"), key: None, reason: None, changes }
            })
            .collect();
        Plan {
            actions,
            warnings: vec![],
            blocked: vec![Block { code: crate::diag::Code::RemovalThreshold, message: "too many".into() }],
            left_alone: LeftAlone::default(),
            unmanaged: vec![],
            unscoped: false,
            only: vec![],
            removals: n / 4,
            in_scope: n,
        }
    }

    fn target() -> TargetInfo {
        TargetInfo { kind: "goto".into(), account: "1".into(), name: "Acme".into() }
    }

    #[test]
    fn a_20000_change_plan_stays_under_the_limit_and_says_where_it_truncates() {
        let md = render(&big_plan(20_000), &target(), Some("abc123"));
        assert!(md.chars().count() < LIMIT, "{} characters", md.chars().count());
        assert!(md.contains("**Plan: 5000 to create, 10000 to update, 5000 to disable, 0 to enable, 0 to delete.**"));
        assert!(md.contains("**Blocked:** too many"));
        assert!(md.contains("**Removals (5000):**"));
        assert!(md.contains("more removals are not listed here"), "truncation is announced");
        assert!(md.trim_end().ends_with("</details>") || !md.contains("<details>"));
    }

    #[test]
    fn a_small_plan_shows_every_removal_and_the_whole_plan() {
        let md = render(&big_plan(40), &target(), None);
        assert_eq!(md.matches("- **disable**").count(), 10);
        assert!(md.contains("<details><summary>Full plan</summary>"));
        assert!(md.contains("~ update person000039@acme.example"));
        assert!(!md.contains("truncated"));
    }
}
