//! The `file` target: a JSON snapshot of an account in the GoTo Admin API's own shapes,
//! `{"account": {...}, "licenses": [...], "users": [...]}`. Apply rewrites it atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use serde::Deserialize;
use sha2::Digest;

use super::shapes::{Snapshot, key_of};
use super::{ApplySink, Outcome, Target, interrupted};
use crate::diag::{Code, Problem};
use crate::live::{Grant, Key, LiveState};
use crate::plan::effect::{AccountStore, apply_action, new_key};
use crate::plan::{Action, ActionKind};
use crate::vocab::TargetInfo;

pub struct FileTarget {
    path: PathBuf,
    /// The snapshot being read on another thread since before the directory loaded.
    prefetched: Option<Prefetch>,
    /// The snapshot as JSON, loaded for apply (unknown fields kept on rewrite).
    snapshot: Option<Value>,
    /// Of the text `read` parsed: apply refuses a snapshot that changed since.
    read_digest: Option<[u8; 32]>,
    info: TargetInfo,
}

impl FileTarget {
    pub fn new(path: PathBuf) -> Self {
        FileTarget {
            path,
            prefetched: None,
            snapshot: None,
            read_digest: None,
            info: TargetInfo { kind: "file".into(), account: String::new(), name: String::new() },
        }
    }

    /// A file target whose snapshot `prefetch` is already reading.
    pub fn prefetched(prefetch: Prefetch) -> Self {
        let mut target = FileTarget::new(prefetch.path.clone());
        target.prefetched = Some(prefetch);
        target
    }

    fn problem(&self, message: impl std::fmt::Display) -> Problem {
        problem(&self.path, message)
    }
}

fn problem(path: &Path, message: impl std::fmt::Display) -> Problem {
    Problem::new(Code::Snapshot, format!("{}: {message}", path.display()))
}

/// A snapshot read (parsed and digested) on a thread of its own: `rollcall plan` starts it
/// as soon as the manifest names the file, so that it overlaps loading the directory. Only
/// a local file is read early; no target is ever contacted before validation completes.
pub struct Prefetch {
    path: PathBuf,
    read: std::thread::JoinHandle<Result<(LiveState, [u8; 32]), Problem>>,
}

impl Prefetch {
    pub fn start(path: PathBuf) -> Self {
        let at = path.clone();
        Prefetch { path, read: std::thread::spawn(move || read_snapshot(&at)) }
    }
}

/// The live model of the snapshot at `path`, and the digest of the text it was read from.
fn read_snapshot(path: &Path) -> Result<(LiveState, [u8; 32]), Problem> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        problem(path, e)
            .help("the file target's `path:` names a snapshot; create one with `rollcall import --snapshot FILE`")
    })?;
    let snapshot: Snapshot =
        serde_json::from_str(&text).map_err(|e| problem(path, format!("not a GoTo account snapshot: {e}")))?;
    Ok((snapshot.into_live(), digest(&text)))
}

/// The live model of a snapshot already parsed as JSON.
pub fn live_state(snapshot: &Value) -> Result<LiveState, String> {
    Snapshot::deserialize(snapshot).map(Snapshot::into_live).map_err(|e| format!("not a GoTo account snapshot: {e}"))
}

/// A snapshot's users and licenses as JSON, taken out of the snapshot for an apply and put
/// back after it (so the file keeps its key order and every field rollcall does not know).
struct SnapshotStore {
    users: Vec<Value>,
    licenses: Vec<Value>,
}

impl SnapshotStore {
    fn user(&mut self, at: usize) -> Result<&mut Map<String, Value>, String> {
        self.users[at].as_object_mut().ok_or_else(|| "a user that is not an object".to_owned())
    }
}

impl AccountStore for SnapshotStore {
    fn find(&self, key: Option<&Key>, email: &str) -> Option<usize> {
        match key {
            Some(k) => self.users.iter().position(|u| u.get("key").and_then(key_of).as_ref() == Some(k)),
            None => self
                .users
                .iter()
                .position(|u| u.get("email").and_then(Value::as_str).is_some_and(|e| e.eq_ignore_ascii_case(email))),
        }
    }

    fn create(&mut self, email: &str) -> Result<usize, String> {
        self.users.push(json!({
            "key": new_key(email).0,
            "email": email,
            "licenseKeys": [],
            "adminRoles": [],
            "nameLocked": false,
            "emailLocked": false,
            "identityReadOnly": false,
            "status": "ACTIVE",
        }));
        Ok(self.users.len() - 1)
    }

    fn delete(&mut self, at: usize) -> Result<(), String> {
        let removed = self.users.remove(at);
        if let Some(k) = removed.get("key").and_then(key_of) {
            for l in &mut self.licenses {
                remove_holder(l, &k);
            }
        }
        Ok(())
    }

    fn set(&mut self, at: usize, attribute: &str, value: &str) -> Result<(), String> {
        self.user(at)?.insert(attribute.to_owned(), Value::String(value.to_owned()));
        Ok(())
    }

    fn grant(&mut self, at: usize, grant: &Grant, add: bool) -> Result<(), String> {
        let field = match grant {
            Grant::License(_) => "licenseKeys",
            Grant::AdminRole(_) => "adminRoles",
            Grant::ScimRole(_) => "roles",
        };
        let id = grant.id();
        let user = self.user(at)?;
        let key = user.get("key").and_then(key_of);
        let list = user.entry(field).or_insert_with(|| json!([])).as_array_mut().ok_or("not an array")?;
        list.retain(|v| key_of(v).is_none_or(|k| k.as_str() != id));
        if add {
            list.push(Value::String(id.to_owned()));
        }
        // The license's own list of holders follows.
        if let (Grant::License(license), Some(key)) = (grant, key)
            && let Some(l) = self.licenses.iter_mut().find(|l| l.get("key").and_then(key_of).as_ref() == Some(license))
        {
            remove_holder(l, &key);
            if add && let Some(holders) = l.get_mut("userKeys").and_then(Value::as_array_mut) {
                holders.push(Value::String(key.0.clone()));
                let n = holders.len();
                l["userCount"] = json!(n);
            }
        }
        Ok(())
    }
}

fn remove_holder(license: &mut Value, user: &Key) {
    if let Some(holders) = license.get_mut("userKeys").and_then(Value::as_array_mut) {
        holders.retain(|v| key_of(v).as_ref() != Some(user));
        let n = holders.len();
        license["userCount"] = json!(n);
    }
}

impl FileTarget {
    fn load(&mut self) -> Result<&mut Value, Problem> {
        if self.snapshot.is_none() {
            let text = std::fs::read_to_string(&self.path).map_err(|e| {
                self.problem(e).help(
                    "the file target's `path:` names a snapshot; create one with `rollcall import --snapshot FILE`",
                )
            })?;
            if self.read_digest.as_ref().is_some_and(|d| *d != digest(&text)) {
                return Err(self
                    .problem("the snapshot changed since rollcall read it (another apply?)")
                    .help("nothing was applied; make and review a new plan, then apply it"));
            }
            let v: Value = serde_json::from_str(&text).map_err(|e| self.problem(format!("not valid JSON: {e}")))?;
            self.snapshot = Some(v);
        }
        Ok(self.snapshot.as_mut().expect("just loaded"))
    }

    /// Holds `<path>.lock` exclusively for the whole apply: a second apply fails at once
    /// instead of both reading the same snapshot and one overwriting the other's changes.
    fn lock(&self) -> Result<std::fs::File, Problem> {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let path = self.path.with_file_name(name);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| self.problem(format!("cannot open the lock file {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(Problem::new(
                Code::SnapshotLocked,
                format!("another rollcall apply is writing {} (it holds {})", self.path.display(), path.display()),
            )
            .help("nothing was applied; wait for the other apply to finish, then plan and apply again")),
            Err(std::fs::TryLockError::Error(e)) => Err(self.problem(format!("cannot lock {}: {e}", path.display()))),
        }
    }

    /// Replaces the file in one rename: readers see the old or the new snapshot, never a mix.
    fn save(&self) -> Result<(), Problem> {
        let snapshot = self.snapshot.as_ref().expect("loaded before apply");
        let mut text = serde_json::to_string_pretty(snapshot).expect("JSON values serialise");
        text.push('\n');
        write_atomically(&self.path, text.as_bytes()).map_err(|e| self.problem(format!("cannot write: {e}")))
    }
}

/// Sha-256 of a snapshot's text, to notice a change between read and apply.
fn digest(text: &str) -> [u8; 32] {
    sha2::Sha256::digest(text.as_bytes()).into()
}

/// Writes `bytes` to `path` in one rename, through a symlink to the file it points at,
/// keeping an existing file's permissions, with the file and its directory synced.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let path = match std::fs::canonicalize(path) {
        Ok(real) => real,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => path.to_path_buf(),
        Err(e) => return Err(e),
    };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    if let Ok(meta) = std::fs::metadata(&path) {
        tmp.as_file().set_permissions(meta.permissions())?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(&path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Can apply rewrite the snapshot? It writes a new file beside it (through a symlink, beside
/// the file it points at) and renames it over: one is made and removed again.
fn writable(path: &std::path::Path) -> super::CheckStep {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = real.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    match tempfile::NamedTempFile::new_in(dir) {
        Ok(_) => {
            super::CheckStep::ok("write", format!("{} can be rewritten (its folder takes a new file)", real.display()))
        }
        Err(e) => super::CheckStep::fail(
            "write",
            format!(
                "{} cannot be rewritten: its folder {} takes no new file ({e}); apply rewrites the snapshot through one",
                real.display(),
                dir.display()
            ),
        ),
    }
}

#[cfg(unix)]
fn sync_dir(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}

impl Target for FileTarget {
    fn info(&self) -> TargetInfo {
        self.info.clone()
    }

    fn check(&mut self) -> Vec<super::CheckStep> {
        let mut steps = super::read_steps(self);
        if steps.iter().all(|s| s.result.is_ok()) {
            steps.push(writable(&self.path));
        }
        steps
    }

    fn read(&mut self) -> Result<LiveState, Problem> {
        let (live, digest) = match self.prefetched.take() {
            Some(p) => p.read.join().unwrap_or_else(|_| Err(self.problem("reading the snapshot failed"))),
            None => read_snapshot(&self.path),
        }?;
        self.read_digest = Some(digest);
        self.info.account = live.account_key.0.clone();
        self.info.name = live.account_name.clone();
        Ok(live)
    }

    fn apply(&mut self, actions: &[Action], _live: &LiveState, sink: &mut dyn ApplySink) -> Result<(), Problem> {
        let _lock = self.lock()?;
        let snapshot = self.load()?;
        let mut take = |field: &str| match snapshot.get_mut(field) {
            Some(Value::Array(a)) => Some(std::mem::take(a)),
            _ => None,
        };
        let (Some(users), licenses) = (take("users"), take("licenses")) else {
            return Err(self.problem("the snapshot has no \"users\" array"));
        };
        let mut store = SnapshotStore { users, licenses: licenses.unwrap_or_default() };
        let progress = crate::progress::Progress::new("applying", actions.len() as u64);
        let mut outcomes = Vec::with_capacity(actions.len());
        let mut keys = Vec::with_capacity(actions.len());
        let request = format!("rewrite {}", self.path.display());
        let mut refused = false;
        for (i, action) in actions.iter().enumerate() {
            progress.inc(1);
            keys.push(None);
            if interrupted() {
                outcomes.push(Outcome::Skipped { reason: "interrupted".into() });
                continue;
            }
            if refused || !sink.sending(i, &request) {
                refused = true;
                outcomes.push(super::not_logged());
                continue;
            }
            outcomes.push(match apply_action(&mut store, action) {
                Ok(()) => {
                    if action.action == ActionKind::Create {
                        keys[i] = Some(new_key(&action.email));
                    }
                    Outcome::Done
                }
                Err(message) => Outcome::Failed { message, status: None, incident: None },
            });
        }
        let snapshot = self.snapshot.as_mut().expect("loaded");
        snapshot["users"] = Value::Array(store.users);
        if let Some(Value::Array(l)) = snapshot.get_mut("licenses") {
            *l = store.licenses;
        }
        // Nothing counts as done until the new snapshot is in place.
        if outcomes.contains(&Outcome::Done)
            && let Err(p) = self.save()
        {
            self.snapshot = None;
            for o in outcomes.iter_mut() {
                if *o == Outcome::Done {
                    *o = Outcome::Failed { message: p.message.clone(), status: None, incident: None };
                }
            }
        }
        self.snapshot = None;
        for (i, (o, k)) in outcomes.into_iter().zip(keys).enumerate() {
            sink.settled(i, o, k.as_ref());
        }
        Ok(())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn a_snapshot_whose_folder_takes_no_file_cannot_be_rewritten() {
        // /proc takes no new file, not even from root (the suite may run as root).
        let step = super::writable(std::path::Path::new("/proc/live.json"));
        assert_eq!(step.step, "write");
        let fix = step.result.as_ref().expect_err("/proc is not writable");
        assert!(fix.starts_with("/proc/live.json cannot be rewritten: its folder /proc takes no new file ("), "{fix}");
    }
}
