//! The apply report: every action as done, failed or skipped, and the closing line.

use std::fmt::Write;

use serde::Serialize;

use super::escape;
use crate::apply::{Report, ReportSummary};
use crate::targets::Outcome;

pub fn line(a: &crate::plan::Action, o: &Outcome) -> String {
    match o {
        Outcome::Done => format!("  ✓ {} {}", a.action.as_str(), escape(&a.email)),
        Outcome::Failed { message, status, incident } => {
            let mut extra = Vec::new();
            if let Some(s) = status {
                extra.push(format!("HTTP {s}"));
            }
            if let Some(i) = incident {
                extra.push(format!("incident {}", escape(i)));
            }
            let extra = if extra.is_empty() { String::new() } else { format!(" ({})", extra.join(", ")) };
            format!("  ✗ {} {}: {}{extra}", a.action.as_str(), escape(&a.email), escape(message))
        }
        Outcome::Skipped { reason } => {
            format!("  · skipped {} {}: {}", a.action.as_str(), escape(&a.email), escape(reason))
        }
    }
}

pub fn closing_line(s: &ReportSummary) -> String {
    format!(
        "Apply complete: {} created, {} updated, {} disabled, {} enabled, {} deleted, {} failed.",
        s.created, s.updated, s.disabled, s.enabled, s.deleted, s.failed
    )
}

pub fn text(report: &Report) -> String {
    let mut out = String::new();
    for (a, o) in &report.results {
        let _ = writeln!(out, "{}", line(a, o));
    }
    let s = report.summary();
    if !report.results.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", closing_line(&s));
    if s.skipped > 0 {
        let _ = writeln!(out, "{} skipped: run the same apply again to finish them.", s.skipped);
    }
    out.push_str(&notes(report));
    out
}

/// The read-back's warnings, and the actions whose outcome the audit log lacks.
fn notes(report: &Report) -> String {
    let mut out = String::new();
    for w in &report.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    if let Some((why, unlogged)) = &report.audit_failure {
        let _ = writeln!(out, "The audit log could not be written ({why}); no change started after that.");
        let _ = writeln!(out, "No outcome line in the audit log for {} actions:", unlogged.len());
        for &i in unlogged {
            let (a, o) = &report.results[i];
            let _ = writeln!(out, "  {} {}: {}", a.action.as_str(), a.email, o.parts().0);
        }
    }
    out
}

/// `apply --format json`: the report as one document (schema/report.schema.json).
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(
    title = "rollcall apply report",
    description = "What `rollcall apply --format json` prints: every action and its outcome"
)]
pub struct JsonReport<'a> {
    /// 1: the version of this format.
    pub format_version: u32,
    pub summary: ReportSummary,
    pub results: Vec<JsonResult<'a>>,
    /// What the read-back after apply noticed (e.g. an unmanaged grant changed by someone else).
    pub warnings: &'a [String],
    /// When the audit log failed mid-run: the emails of the actions with no outcome line.
    pub audit_log_missing_outcomes: Option<Vec<&'a str>>,
}

/// One action and how it ended.
#[derive(Serialize, schemars::JsonSchema)]
pub struct JsonResult<'a> {
    /// create, update, disable, enable or delete.
    pub action: &'a str,
    pub email: &'a str,
    /// done, failed or skipped.
    pub outcome: &'static str,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
    /// The target's HTTP status, for a failure the target reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// GoTo's incident id, for a failure GoTo reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<&'a str>,
}

pub fn json(report: &Report) -> String {
    let results: Vec<JsonResult> = report
        .results
        .iter()
        .map(|(a, o)| {
            let (outcome, message, http_status, incident_id) = o.parts();
            JsonResult { action: a.action.as_str(), email: &a.email, outcome, message, http_status, incident_id }
        })
        .collect();
    let unlogged: Option<Vec<&str>> =
        report.audit_failure.as_ref().map(|(_, v)| v.iter().map(|&i| report.results[i].0.email.as_str()).collect());
    let doc = JsonReport {
        format_version: 1,
        summary: report.summary(),
        results,
        warnings: &report.warnings,
        audit_log_missing_outcomes: unlogged,
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("reports serialise");
    s.push('\n');
    s
}

pub fn markdown(report: &Report) -> String {
    let mut out = String::from("### rollcall apply\n\n");
    let _ = writeln!(out, "**{}**\n", closing_line(&report.summary()));
    let lines: String = report.results.iter().map(|(a, o)| line(a, o) + "\n").collect();
    let fence = "`".repeat(super::longest_backtick_run(&lines).max(2) + 1);
    let _ = write!(out, "<details><summary>Every action</summary>\n\n{fence}\n{lines}{fence}\n\n</details>\n");
    let notes = notes(report);
    if !notes.is_empty() {
        let fence = "`".repeat(super::longest_backtick_run(&notes).max(2) + 1);
        let _ = writeln!(out, "\n{fence}\n{notes}{fence}");
    }
    out
}
