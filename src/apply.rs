//! Executes a plan through a target's writer: every action ends done, failed or skipped, a
//! failed action does not stop the others, and the audit log is written ahead of the writes
//! (an intent line before each request leaves, an outcome line when it settles).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::diag::{Code, Problem};
use crate::live::{Key, LiveState};
use crate::plan::{Action, ActionKind, Change};
use crate::targets::{ApplySink, Outcome, Target};

#[derive(Debug, Clone)]
pub struct Report {
    pub results: Vec<(Action, Outcome)>,
    /// What the read-back noticed beside the outcomes (an unmanaged grant that changed).
    pub warnings: Vec<String>,
    /// Set when the audit log could not be written mid-run: why, and the actions whose
    /// outcome has no line in it.
    pub audit_failure: Option<(String, Vec<usize>)>,
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

/// Which line of a run this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Written when the log is opened, before the first change: the log is writable.
    Start,
    /// Flushed before a write request leaves: what is about to be sent.
    Intent,
    /// Written when the write settles (or when a resumed run finds it already applied).
    Outcome,
}

/// ECS's `event.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventOutcome {
    Success,
    Failure,
    Unknown,
}

/// One line of `--audit-log` (JSON Lines). Field names follow the Elastic Common Schema
/// (ECS 8.x, dotted keys as ECS logging writes them); rollcall's own fields sit under
/// `rollcall.`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "rollcall audit log line")]
#[serde(deny_unknown_fields)]
pub struct AuditLine {
    /// When, RFC 3339 in UTC with milliseconds.
    #[serde(rename = "@timestamp")]
    #[schemars(regex(pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"))]
    pub timestamp: String,
    #[serde(rename = "ecs.version")]
    pub ecs_version: String,
    /// Always `event`.
    #[serde(rename = "event.kind")]
    pub event_kind: String,
    /// The plan action (absent on the start line).
    #[serde(rename = "event.action", default, skip_serializing_if = "Option::is_none")]
    pub action: Option<ActionKind>,
    /// On outcome lines: done = success, failed = failure, skipped = unknown.
    #[serde(rename = "event.outcome", default, skip_serializing_if = "Option::is_none")]
    pub event_outcome: Option<EventOutcome>,
    /// Why an action was skipped, or a note on a resumed outcome.
    #[serde(rename = "event.reason", default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The run: one id shared by every line of one apply (an OpenTelemetry-style trace id).
    #[serde(rename = "trace.id")]
    #[schemars(regex(pattern = r"^[0-9a-f]{32}$"))]
    pub run_id: String,
    #[serde(rename = "service.name")]
    pub service_name: String,
    /// rollcall's version.
    #[serde(rename = "service.version")]
    pub service_version: String,
    /// Who ran it: the CI actor (GITHUB_ACTOR, GITLAB_USER_LOGIN), else the OS user.
    #[serde(rename = "user.name")]
    pub user_name: String,
    /// The CI run, when in CI (`github-actions run 123`, `gitlab-ci job 456`).
    #[serde(rename = "rollcall.ci.run", default, skip_serializing_if = "Option::is_none")]
    pub ci_run: Option<String>,
    /// The person's account email.
    #[serde(rename = "user.target.email", default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The account's key (the new key for a create, on its outcome line).
    #[serde(rename = "user.target.id", default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `intent`, `outcome`, or `start`.
    #[serde(rename = "rollcall.phase")]
    pub phase: Phase,
    /// done, failed or skipped, as the report spells them (outcome lines).
    #[serde(rename = "rollcall.outcome", default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// What is about to be sent (intent lines): method and path.
    #[serde(rename = "rollcall.request", default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// The action's changes (old -> new).
    #[serde(rename = "rollcall.changes", default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The target kind: goto, scim or file.
    #[serde(rename = "rollcall.target.kind")]
    pub target_kind: String,
    /// The GoTo account key, the SCIM service URL, or the snapshot's account.
    #[serde(rename = "rollcall.target.account")]
    pub target_account: String,
    #[serde(rename = "rollcall.manifest_digest")]
    pub manifest_digest: String,
    /// The git commit the plan was made from, when the manifests are in git.
    #[serde(rename = "rollcall.git.commit", default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    #[serde(rename = "http.response.status_code", default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(rename = "error.message", default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// GoTo's incident id for a failed request.
    #[serde(rename = "error.id", default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
}

/// What every line of one run shares.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub run_id: String,
    pub user_name: String,
    pub ci_run: Option<String>,
    pub target_kind: String,
    pub target_account: String,
    pub manifest_digest: String,
    pub git_commit: Option<String>,
}

impl RunContext {
    pub fn new(target: &crate::vocab::TargetInfo, manifest_digest: &str, git_commit: Option<String>) -> Self {
        let (user_name, ci_run) = who_runs();
        RunContext {
            run_id: run_id(),
            user_name,
            ci_run,
            target_kind: target.kind.clone(),
            target_account: target.account.clone(),
            manifest_digest: manifest_digest.to_owned(),
            git_commit,
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The CI actor and run when in GitHub Actions or GitLab CI, else the OS user.
fn who_runs() -> (String, Option<String>) {
    if let (Some(actor), Some(run)) = (var("GITHUB_ACTOR"), var("GITHUB_RUN_ID")) {
        return (actor, Some(format!("github-actions run {run}")));
    }
    if let (Some(login), Some(job)) = (var("GITLAB_USER_LOGIN"), var("CI_JOB_ID")) {
        return (login, Some(format!("gitlab-ci job {job}")));
    }
    (var("USER").or_else(|| var("USERNAME")).or_else(|| var("LOGNAME")).unwrap_or_else(|| "unknown".into()), None)
}

/// 32 hex digits, unique per run (the time, the process, a stack address).
fn run_id() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let local = 0u8;
    let seed = format!("{nanos}/{}/{:p}", std::process::id(), &local);
    Sha256::digest(seed.as_bytes())[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// `--audit-log`: a write-ahead log of JSON lines, appended, each written straight to the file.
pub struct AuditLog {
    file: File,
    path: PathBuf,
    context: RunContext,
}

impl AuditLog {
    /// Opens the log and writes the run's start line: a log that cannot be written fails here,
    /// before the first change.
    pub fn open(path: &Path, context: RunContext) -> Result<AuditLog, Problem> {
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
            Problem::new(Code::AuditLog, format!("cannot open the audit log {}: {e}", path.display()))
                .help("nothing was applied; give --audit-log a writable file")
        })?;
        let mut log = AuditLog { file, path: path.to_owned(), context };
        let start = log.line(Phase::Start, None);
        log.write(&start).map_err(|e| {
            Problem::new(Code::AuditLog, format!("cannot write the audit log {}: {e}", path.display()))
                .help("nothing was applied; give --audit-log a writable file")
        })?;
        Ok(log)
    }

    fn line(&self, phase: Phase, action: Option<&Action>) -> AuditLine {
        let c = &self.context;
        AuditLine {
            timestamp: rfc3339_now(),
            ecs_version: "8.11.0".into(),
            event_kind: "event".into(),
            action: action.map(|a| a.action),
            event_outcome: None,
            reason: None,
            run_id: c.run_id.clone(),
            service_name: "rollcall".into(),
            service_version: env!("CARGO_PKG_VERSION").into(),
            user_name: c.user_name.clone(),
            ci_run: c.ci_run.clone(),
            email: action.map(|a| a.email.clone()),
            key: action.and_then(|a| a.key.as_ref()).map(|k| k.0.clone()),
            phase,
            outcome: None,
            request: None,
            changes: action.map(|a| a.changes.clone()),
            target_kind: c.target_kind.clone(),
            target_account: c.target_account.clone(),
            manifest_digest: c.manifest_digest.clone(),
            git_commit: c.git_commit.clone(),
            http_status: None,
            error_message: None,
            incident_id: None,
        }
    }

    fn write(&mut self, line: &AuditLine) -> std::io::Result<()> {
        let mut text = serde_json::to_string(line).map_err(std::io::Error::other)?;
        text.push('\n');
        // One write(2) per line, no buffer in between: the line is in the file before the
        // request it announces leaves, and survives a kill of rollcall.
        self.file.write_all(text.as_bytes())?;
        self.file.flush()
    }

    pub fn intent(&mut self, action: &Action, request: &str) -> std::io::Result<()> {
        let mut line = self.line(Phase::Intent, Some(action));
        line.request = Some(request.to_owned());
        self.write(&line)
    }

    pub fn outcome(&mut self, action: &Action, outcome: &Outcome, key: Option<&Key>) -> std::io::Result<()> {
        let (name, message, status, incident) = outcome.parts();
        let mut line = self.line(Phase::Outcome, Some(action));
        if let Some(k) = key {
            line.key = Some(k.0.clone());
        }
        line.outcome = Some(name.into());
        line.event_outcome = Some(match outcome {
            Outcome::Done => EventOutcome::Success,
            Outcome::Failed { .. } => EventOutcome::Failure,
            Outcome::Skipped { .. } => EventOutcome::Unknown,
        });
        match outcome {
            Outcome::Failed { .. } => line.error_message = message.map(str::to_owned),
            _ => line.reason = message.map(str::to_owned),
        }
        line.http_status = status;
        line.incident_id = incident.map(str::to_owned);
        self.write(&line)
    }

    /// An action of the saved plan that a resumed apply found already in place (an earlier,
    /// interrupted run made it): its outcome line, so that every reviewed action has one.
    pub fn already_applied(&mut self, action: &Action) -> Result<(), Problem> {
        let mut line = self.line(Phase::Outcome, Some(action));
        line.outcome = Some("done".into());
        line.event_outcome = Some(EventOutcome::Success);
        line.reason = Some("already applied when this run started (resuming an interrupted apply)".into());
        self.write(&line).map_err(|e| {
            Problem::new(Code::AuditLog, format!("cannot write the audit log {}: {e}", self.path.display()))
                .help("nothing was applied; give --audit-log a writable file")
        })
    }
}

/// The sink `execute` gives the target: keeps each action's latest outcome and writes the
/// audit log as events arrive.
struct Recorder<'a> {
    actions: &'a [Action],
    outcomes: Vec<Option<Outcome>>,
    warnings: Vec<String>,
    audit: Option<&'a mut AuditLog>,
    audit_error: Option<String>,
    /// Whether the action's latest outcome has its line in the log.
    logged: Vec<bool>,
}

impl ApplySink for Recorder<'_> {
    fn sending(&mut self, index: usize, request: &str) -> bool {
        if self.audit_error.is_some() {
            return false;
        }
        let Some(log) = self.audit.as_deref_mut() else { return true };
        match log.intent(&self.actions[index], request) {
            Ok(()) => true,
            Err(e) => {
                self.audit_error = Some(e.to_string());
                false
            }
        }
    }

    fn settled(&mut self, index: usize, outcome: Outcome, key: Option<&Key>) {
        self.logged[index] = false;
        if self.audit_error.is_none()
            && let Some(log) = self.audit.as_deref_mut()
        {
            match log.outcome(&self.actions[index], &outcome, key) {
                Ok(()) => self.logged[index] = true,
                Err(e) => self.audit_error = Some(e.to_string()),
            }
        }
        self.outcomes[index] = Some(outcome);
    }

    fn warn(&mut self, _index: usize, message: String) {
        self.warnings.push(message);
    }
}

/// Runs `actions` against the target and collects what happened to each, writing the audit
/// log (when given) as the apply goes.
pub fn execute(
    target: &mut dyn Target,
    actions: &[Action],
    live: &LiveState,
    audit: Option<&mut AuditLog>,
) -> Result<Report, Problem> {
    let with_log = audit.is_some();
    let mut recorder = Recorder {
        actions,
        outcomes: vec![None; actions.len()],
        warnings: Vec::new(),
        audit,
        audit_error: None,
        logged: vec![false; actions.len()],
    };
    target.apply(actions, live, &mut recorder)?;
    let audit_failure = recorder.audit_error.take().filter(|_| with_log).map(|e| {
        let unlogged = (0..actions.len()).filter(|&i| !recorder.logged[i]).collect();
        (e, unlogged)
    });
    let results = actions
        .iter()
        .cloned()
        .zip(recorder.outcomes.into_iter().map(|o| o.unwrap_or(Outcome::Skipped { reason: "not attempted".into() })))
        .collect();
    Ok(Report { results, warnings: recorder.warnings, audit_failure })
}

/// Now as `2026-11-27T01:47:44.123Z`.
pub fn rfc3339_now() -> String {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let (secs, millis) = (since.as_secs() as i64, since.subsec_millis());
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = crate::expr::dates::civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_look_like_rfc3339_with_milliseconds() {
        let t = super::rfc3339_now();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z') && &t[10..11] == "T" && &t[19..20] == ".", "{t}");
    }

    #[test]
    fn run_ids_are_32_hex_digits_and_differ() {
        let (a, b) = (super::run_id(), super::run_id());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
