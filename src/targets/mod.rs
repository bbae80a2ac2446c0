//! Targets: where the live accounts are. A read side that gives a `LiveState`, and a write
//! side that executes plan actions. Nothing else talks to a target.

pub mod engine;
pub mod file;
pub mod goto;
pub mod http;
pub mod scim;
pub mod shapes;

use std::sync::atomic::{AtomicBool, Ordering};

use std::path::{Path, PathBuf};

use crate::config::{Manifest, TargetConfig};
use crate::diag::{Code, Problem};
use crate::live::{Key, LiveState};
use crate::manifest::TargetKind;
use crate::plan::Action;
use crate::vocab::TargetInfo;

/// What happened to one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed { message: String, status: Option<u16>, incident: Option<String> },
    Skipped { reason: String },
}

impl Outcome {
    /// (outcome name, message, HTTP status, incident id), as reports and audit logs spell them.
    pub fn parts(&self) -> (&'static str, Option<&str>, Option<u16>, Option<&str>) {
        match self {
            Outcome::Done => ("done", None, None, None),
            Outcome::Failed { message, status, incident } => ("failed", Some(message), *status, incident.as_deref()),
            Outcome::Skipped { reason } => ("skipped", Some(reason), None, None),
        }
    }
}

/// Receives an apply's events as they happen: the audit log (a write-ahead log) and the
/// report are written from them while the apply runs, not after it.
pub trait ApplySink {
    /// Called right before a write request for action `index` leaves (`request` says what is
    /// about to be sent). `false` means the change must not start (the audit log cannot be
    /// written): the target reports the action skipped instead of sending it.
    fn sending(&mut self, index: usize, request: &str) -> bool;
    /// Called when a write for action `index` settles, with the account's key when the write
    /// made one (a create). A later call for the same action (a read-back that found the
    /// change missing, a completing write) supersedes an earlier one.
    fn settled(&mut self, index: usize, outcome: Outcome, key: Option<&Key>);
    /// Something the read-back noticed about action `index` that is not its outcome (an
    /// unmanaged grant that changed around rollcall's write).
    fn warn(&mut self, index: usize, message: String) {
        let _ = (index, message);
    }
}

/// Why an action was not started once the sink refused it.
pub fn not_logged() -> Outcome {
    Outcome::Skipped { reason: "not started: the audit log could not be written".into() }
}

/// One step of `rollcall check`: what was checked, and what was found or what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckStep {
    pub step: String,
    pub result: Result<String, String>,
}

impl CheckStep {
    pub fn ok(step: impl Into<String>, found: impl Into<String>) -> Self {
        CheckStep { step: step.into(), result: Ok(found.into()) }
    }
    pub fn fail(step: impl Into<String>, what_to_fix: impl Into<String>) -> Self {
        CheckStep { step: step.into(), result: Err(what_to_fix.into()) }
    }
}

pub trait Target {
    /// Kind and account, for plan headers (the account is known after `read`).
    fn info(&self) -> TargetInfo;
    fn read(&mut self) -> Result<LiveState, Problem>;
    /// `rollcall check`: the target's connection, credentials and account, step by step; the
    /// command decides how the steps are shown. By default: the account read whole.
    fn check(&mut self) -> Vec<CheckStep> {
        read_steps(self)
    }
    /// Executes `actions` (planned against `live`), telling `sink` before each write request
    /// leaves and when it settles; every action gets at least one `settled`. Stops starting
    /// new actions once `interrupted()` is true or the sink refuses one, and reports the rest
    /// as skipped. Never leaves the target half-written.
    fn apply(&mut self, actions: &[Action], live: &LiveState, sink: &mut dyn ApplySink) -> Result<(), Problem>;
}

/// The check every target can make: the account read whole, its users and licenses counted.
pub fn read_steps<T: Target + ?Sized>(target: &mut T) -> Vec<CheckStep> {
    let live = match target.read() {
        Ok(live) => live,
        Err(p) => return vec![CheckStep::fail("read", p.message)],
    };
    let mut steps = vec![
        CheckStep::ok("account", target.info().describe()),
        CheckStep::ok("users", format!("{} users", live.accounts.len())),
    ];
    // A SCIM service has roles, not licenses.
    if !live.licenses.is_empty() {
        let licenses: Vec<String> = live
            .licenses
            .iter()
            .map(|l| format!("{} ({}): {} seats", l.description, l.key, l.seats.map_or("?".into(), |s| s.to_string())))
            .collect();
        steps.push(CheckStep::ok("licenses", licenses.join("; ")));
    }
    steps
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Set by the Ctrl-C handler.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// An environment variable that overrides a manifest key, if set.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A URL from the manifest or the environment, refused when it would send credentials in clear.
fn checked_url(value: String, from: &str) -> Result<String, Problem> {
    match crate::config::check_url(&value) {
        Ok(()) => Ok(value),
        Err(crate::config::UrlProblem::Insecure(host)) => {
            Err(Problem::new(Code::InsecureUrl, format!("refusing plain http:// to {host} ({from})"))
                .help("use https://; http:// is accepted only for loopback hosts (localhost, 127.0.0.1, ::1)"))
        }
        Err(crate::config::UrlProblem::Invalid(e)) => {
            Err(Problem::new(Code::InvalidUrl, format!("{from} is not a URL: {e}")))
        }
    }
}

/// The settings of a goto target: manifest keys, overridden by ROLLCALL_* variables.
pub fn goto_settings(manifest: &Manifest) -> Result<goto::Settings, Problem> {
    let t = &manifest.target;
    let api_url = match env("ROLLCALL_API_URL") {
        Some(u) => checked_url(u, "ROLLCALL_API_URL")?,
        None => checked_url(t.api_url.clone().unwrap_or_else(|| goto::DEFAULT_API_URL.into()), "target.api_url")?,
    };
    let token_url = match env("ROLLCALL_TOKEN_URL") {
        Some(u) => checked_url(u, "ROLLCALL_TOKEN_URL")?,
        None => checked_url(t.token_url.clone().unwrap_or_else(|| goto::DEFAULT_TOKEN_URL.into()), "target.token_url")?,
    };
    Ok(goto::Settings {
        api_url,
        token_url,
        account_key: env("ROLLCALL_ACCOUNT_KEY").or_else(|| t.account_key.clone()),
        requests_per_second: t.requests_per_second,
        welcome_email: manifest.policy.welcome_email,
        hints: goto::Hints {
            admin_roles_matter: manifest.roles.values().any(|r| !r.admin_roles.is_empty()),
            domains: manifest.scope.as_ref().map(|s| s.domains.clone()).unwrap_or_default(),
            licenses_matter: manifest.roles.values().any(|r| !r.licenses.is_empty()),
        },
    })
}

pub fn goto_credentials() -> Result<goto::auth::Credentials, Problem> {
    goto::auth::Credentials::from_env().map_err(|e| {
        Problem::new(Code::Credentials, e).help(
            "for CI set GOTO_CLIENT_ID, GOTO_CLIENT_SECRET and GOTO_PAT (a personal access token with the identity: scope); locally GOTO_REFRESH_TOKEN or GOTO_ACCESS_TOKEN work too",
        )
    })
}

/// The settings of a scim target: `url` (or ROLLCALL_SCIM_URL), the rate, the managed roles.
pub fn scim_settings(manifest: &Manifest) -> Result<scim::Settings, Problem> {
    let t = &manifest.target;
    let url = match (env("ROLLCALL_SCIM_URL"), &t.url) {
        (Some(u), _) => checked_url(u, "ROLLCALL_SCIM_URL")?,
        (None, Some(u)) => checked_url(u.clone(), "target.url")?,
        (None, None) => {
            return Err(Problem::new(Code::TargetKey, "a scim target needs `url`")
                .help("add `url: https://...` (the SCIM 2.0 base URL) to the target, or set ROLLCALL_SCIM_URL"));
        }
    };
    Ok(scim::Settings {
        url,
        requests_per_second: t.requests_per_second,
        managed_roles: manifest.roles.values().flat_map(|r| r.scim_roles.iter().cloned()).collect(),
    })
}

/// SCIM_TOKEN, the bearer token of a scim target.
pub fn scim_token() -> Result<secrecy::SecretString, Problem> {
    env("SCIM_TOKEN").inspect(|t| crate::redact::register(t)).map(secrecy::SecretString::from).ok_or_else(|| {
        Problem::new(Code::Credentials, "SCIM_TOKEN is not set").help(
            "set SCIM_TOKEN to the SCIM service's bearer token (in CI, from the secret store; never in rollcall.yaml)",
        )
    })
}

/// Opens the target a manifest names.
pub fn open(manifest: &Manifest) -> Result<Box<dyn Target>, Problem> {
    open_prefetched(manifest, None)
}

/// Starts reading what can be read before validation completes: a `file` target's local
/// snapshot. Nothing else (a target behind a network is read only after validation).
pub fn prefetch(dir: &Path, target: &TargetConfig) -> Option<file::Prefetch> {
    (target.kind == TargetKind::File).then(|| file::Prefetch::start(snapshot_path(dir, target)))
}

fn snapshot_path(dir: &Path, target: &TargetConfig) -> PathBuf {
    dir.join(target.path.as_deref().unwrap_or("live.json"))
}

/// As [`open`], with the snapshot [`prefetch`] started (when it did).
pub fn open_prefetched(manifest: &Manifest, prefetched: Option<file::Prefetch>) -> Result<Box<dyn Target>, Problem> {
    match manifest.target.kind {
        TargetKind::File => Ok(Box::new(match prefetched {
            Some(p) => file::FileTarget::prefetched(p),
            None => file::FileTarget::new(snapshot_path(&manifest.dir, &manifest.target)),
        })),
        TargetKind::Goto => {
            let settings = goto_settings(manifest)?;
            Ok(Box::new(goto::GotoTarget::new(settings, goto_credentials()?)?))
        }
        TargetKind::Scim => Ok(Box::new(scim::ScimTarget::new(scim_settings(manifest)?, scim_token()?)?)),
    }
}

/// A goto target that reads the whole account, admin roles included (`rollcall import`):
/// the manifest's target settings when given, else the environment's and the defaults.
pub fn open_for_import(manifest: Option<&Manifest>) -> Result<Box<dyn Target>, Problem> {
    let mut settings = match manifest {
        Some(m) => goto_settings(m)?,
        None => goto::Settings {
            api_url: checked_url(
                env("ROLLCALL_API_URL").unwrap_or_else(|| goto::DEFAULT_API_URL.into()),
                "ROLLCALL_API_URL",
            )?,
            token_url: checked_url(
                env("ROLLCALL_TOKEN_URL").unwrap_or_else(|| goto::DEFAULT_TOKEN_URL.into()),
                "ROLLCALL_TOKEN_URL",
            )?,
            account_key: env("ROLLCALL_ACCOUNT_KEY"),
            requests_per_second: 10.0,
            welcome_email: false,
            hints: goto::Hints::default(),
        },
    };
    settings.hints = goto::Hints { admin_roles_matter: true, ..goto::Hints::default() };
    Ok(Box::new(goto::GotoTarget::new(settings, goto_credentials()?)?))
}
