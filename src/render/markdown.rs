//! The plan as a pull-request comment: the summary, blocked reasons and every removal stay
//! visible; the full plan sits in a collapsible block; the whole stays under GitHub's limit.

use std::fmt::Write;

use super::{TargetInfo, left_alone_line, summary_line, text};
use crate::plan::Plan;

/// GitHub rejects comments over 65,536 characters; keep a margin.
pub const LIMIT: usize = 65_000;

pub fn render(plan: &Plan, target: &TargetInfo, commit: Option<&str>) -> String {
    render_within(plan, target, commit, LIMIT)
}

pub fn render_within(plan: &Plan, target: &TargetInfo, commit: Option<&str>, limit: usize) -> String {
    let mut head = String::new();
    let _ = writeln!(head, "### rollcall plan for {}\n", target.describe());
    if let Some(c) = commit {
        let _ = writeln!(head, "Made from commit `{c}`.\n");
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
        let _ = writeln!(head, "\nRestricted to: {} (`--only`).", plan.only.join(", "));
    }
    for b in &plan.blocked {
        let _ = writeln!(
            head,
            "\n> [!CAUTION]\n> **Blocked:** {} (`{}`)\n> `apply` refuses this plan unless `--allow-removals` is given.",
            b.message,
            b.code.as_str()
        );
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(head, "\n**Warnings ({}):**", plan.warnings.len());
        for w in plan.warnings.iter().take(50) {
            let _ = writeln!(head, "- `{}`: {}", w.email, w.message);
        }
        if plan.warnings.len() > 50 {
            let _ = writeln!(head, "- … and {} more (see the plan file)", plan.warnings.len() - 50);
        }
    }

    // Every removal, one line each, before anything else is allowed to take room.
    let removals: Vec<String> = plan
        .actions
        .iter()
        .filter(|a| a.action.is_removal())
        .map(|a| {
            format!(
                "- **{}** `{}`{}\n",
                a.action.as_str(),
                a.email,
                a.reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()
            )
        })
        .collect();
    let mut out = head;
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

    if !plan.is_empty() {
        let full = text::render(plan, target, false);
        let open = "\n<details><summary>Full plan</summary>\n\n```diff\n";
        let close = "```\n\n</details>\n";
        let truncated_note =
            "… truncated here to stay under the comment size limit; `rollcall show plan.json` shows the whole plan.\n";
        let room = limit.saturating_sub(out.len() + open.len() + close.len() + truncated_note.len());
        if room > 200 {
            out.push_str(open);
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
            out.push_str(close);
        }
    }
    out
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
