//! Executes a plan through a target's writer: every action ends done, failed or skipped,
//! a failed action does not stop the others, and the audit log gets one line per action.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::diag::{Code, Problem};
use crate::live::LiveState;
use crate::plan::{Action, ActionKind, Change};
use crate::targets::{Outcome, Target};

#[derive(Debug, Clone)]
pub struct Report {
    pub results: Vec<(Action, Outcome)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ReportSummary {
    pub created: usize,
    pub updated: usize,
    pub disabled: usize,
    pub enabled: usize,
    pub deleted: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Report {
    pub fn summary(&self) -> ReportSummary {
        let mut s = ReportSummary::default();
        for (a, o) in &self.results {
            match o {
                Outcome::Done => {
                    *match a.action {
                        ActionKind::Create => &mut s.created,
                        ActionKind::Update => &mut s.updated,
                        ActionKind::Disable => &mut s.disabled,
                        ActionKind::Enable => &mut s.enabled,
                        ActionKind::Delete => &mut s.deleted,
                    } += 1
                }
                Outcome::Failed { .. } => s.failed += 1,
                Outcome::Skipped { .. } => s.skipped += 1,
            }
        }
        s
    }
}

/// `--audit-log`: one JSON line per action, appended.
pub struct AuditLog {
    file: File,
}

#[derive(Serialize)]
struct AuditLine<'a> {
    time: String,
    action: ActionKind,
    account: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    changes: &'a [Change],
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incident_id: Option<&'a str>,
}

impl AuditLog {
    pub fn open(path: &Path) -> Result<AuditLog, Problem> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(|file| AuditLog { file })
            .map_err(|e| Problem::new(Code::Io, format!("cannot open audit log {}: {e}", path.display())))
    }

    fn record(&mut self, action: &Action, outcome: &Outcome) -> std::io::Result<()> {
        let (name, error, status, incident) = outcome.parts();
        let line = AuditLine {
            time: rfc3339_now(),
            action: action.action,
            account: &action.email,
            key: action.key.as_ref().map(|k| k.as_str()),
            changes: &action.changes,
            outcome: name,
            error,
            http_status: status,
            incident_id: incident,
        };
        let mut text = serde_json::to_string(&line).map_err(std::io::Error::other)?;
        text.push('\n');
        self.file.write_all(text.as_bytes())
    }
}

/// Runs `actions` against the target and collects what happened to each.
pub fn execute(
    target: &mut dyn Target,
    actions: &[Action],
    live: &LiveState,
    mut audit: Option<&mut AuditLog>,
) -> Result<Report, Problem> {
    let mut outcomes: Vec<Option<Outcome>> = vec![None; actions.len()];
    let mut audit_error = None;
    target.apply(actions, live, &mut |i, outcome| {
        if let Some(log) = audit.as_deref_mut()
            && let Err(e) = log.record(&actions[i], &outcome)
        {
            audit_error.get_or_insert(e);
        }
        outcomes[i] = Some(outcome);
    })?;
    if let Some(e) = audit_error {
        return Err(Problem::new(Code::Io, format!("cannot write the audit log: {e}")));
    }
    let results = actions
        .iter()
        .cloned()
        .zip(outcomes.into_iter().map(|o| o.unwrap_or(Outcome::Skipped { reason: "not attempted".into() })))
        .collect();
    Ok(Report { results })
}

/// Now as `2026-11-27T01:47:44Z`.
pub fn rfc3339_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_look_like_rfc3339() {
        let t = super::rfc3339_now();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z') && &t[10..11] == "T", "{t}");
    }
}
