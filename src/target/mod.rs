//! Targets: where the live accounts are. A read side that gives a `LiveState`, and a write
//! side that executes plan actions. Nothing else talks to a target.

pub mod file;

use std::sync::atomic::{AtomicBool, Ordering};

use crate::diag::{Code, Problem};
use crate::live::LiveState;
use crate::manifest::TargetKind;
use crate::manifest::validate::Manifest;
use crate::plan::Action;
use crate::render::TargetInfo;

/// What happened to one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed { message: String, status: Option<u16>, incident: Option<String> },
    Skipped { reason: String },
}

pub trait Target {
    /// Kind and account, for plan headers (the account is known after `read`).
    fn info(&self) -> TargetInfo;
    fn read(&mut self) -> Result<LiveState, Problem>;
    /// Executes `actions` (planned against `live`), reporting each outcome by index, in any
    /// order, exactly once. Stops starting new actions once `interrupted()` is true and
    /// reports the rest as skipped. Never leaves the target half-written.
    fn apply(
        &mut self,
        actions: &[Action],
        live: &LiveState,
        report: &mut dyn FnMut(usize, Outcome),
    ) -> Result<(), Problem>;
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Set by the Ctrl-C handler.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Opens the target a manifest names.
pub fn open(manifest: &Manifest) -> Result<Box<dyn Target>, Problem> {
    match manifest.target.kind {
        TargetKind::File => {
            let path = manifest.target.path.as_deref().unwrap_or("live.json");
            Ok(Box::new(file::FileTarget::new(manifest.dir.join(path))))
        }
        kind => Err(Problem::new(
            Code::TargetKey,
            format!("the {} target is not available in this build of rollcall yet", kind.as_str()),
        )
        .help("use a `file` target (a snapshot of the account) until the GoTo and SCIM targets land")),
    }
}
