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
    let doc = serde_json::json!({ "format_version": 1, "summary": report.summary(), "results": results });
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
    out
}
