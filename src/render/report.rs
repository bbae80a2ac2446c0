//! The apply report: every action as done, failed or skipped, and the closing line.

use std::fmt::Write;

use serde::Serialize;

use crate::apply::{Report, ReportSummary};
use crate::targets::Outcome;

pub fn line(a: &crate::plan::Action, o: &Outcome) -> String {
    match o {
        Outcome::Done => format!("  ✓ {} {}", a.action.as_str(), a.email),
        Outcome::Failed { message, status, incident } => {
            let mut extra = Vec::new();
            if let Some(s) = status {
                extra.push(format!("HTTP {s}"));
            }
            if let Some(i) = incident {
                extra.push(format!("incident {i}"));
            }
            let extra = if extra.is_empty() { String::new() } else { format!(" ({})", extra.join(", ")) };
            format!("  ✗ {} {}: {message}{extra}", a.action.as_str(), a.email)
        }
        Outcome::Skipped { reason } => format!("  · skipped {} {}: {reason}", a.action.as_str(), a.email),
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

#[derive(Serialize)]
struct JsonResult<'a> {
    action: &'a str,
    email: &'a str,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incident_id: Option<&'a str>,
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
    let doc = serde_json::json!({
        "format_version": 1,
        "summary": report.summary(),
        "results": results,
        "warnings": report.warnings,
        "audit_log_missing_outcomes": unlogged,
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("reports serialise");
    s.push('\n');
    s
}

pub fn markdown(report: &Report) -> String {
    let mut out = String::from("### rollcall apply\n\n");
    let _ = writeln!(out, "**{}**\n", closing_line(&report.summary()));
    out.push_str("<details><summary>Every action</summary>\n\n```\n");
    for (a, o) in &report.results {
        let _ = writeln!(out, "{}", line(a, o));
    }
    out.push_str("```\n\n</details>\n");
    let notes = notes(report);
    if !notes.is_empty() {
        let _ = writeln!(out, "\n```\n{notes}```");
    }
    out
}
