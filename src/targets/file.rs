//! The `file` target: a JSON snapshot of an account in the GoTo Admin API's own shapes,
//! `{"account": {...}, "licenses": [...], "users": [...]}`. Apply rewrites it atomically.

use std::io::Write;
use std::path::PathBuf;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use serde::Deserialize;

use super::shapes::{Snapshot, key_of};
use super::{ApplySink, Outcome, Target, interrupted};
use crate::diag::{Code, Problem};
use crate::live::{Grant, Key, LiveState};
use crate::plan::{Action, ActionKind, Change};
use crate::render::TargetInfo;

pub struct FileTarget {
    path: PathBuf,
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
            snapshot: None,
            read_digest: None,
            info: TargetInfo { kind: "file".into(), account: String::new(), name: String::new() },
        }
    }

    fn problem(&self, message: impl std::fmt::Display) -> Problem {
        Problem::new(Code::Snapshot, format!("{}: {message}", self.path.display()))
    }
}

/// The live model of a snapshot already parsed as JSON.
pub fn live_state(snapshot: &Value) -> Result<LiveState, String> {
    Snapshot::deserialize(snapshot).map(Snapshot::into_live).map_err(|e| format!("not a GoTo account snapshot: {e}"))
}

/// A deterministic 19-digit key for an account created in a snapshot.
fn new_key(email: &str) -> String {
    let digest = Sha256::digest(email.to_lowercase().as_bytes());
    let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) % 1_000_000_000_000_000_000;
    format!("9{n:018}")
}

/// Applies one action to the snapshot's JSON.
fn apply_to_snapshot(snapshot: &mut Value, action: &Action) -> Result<(), String> {
    let users = snapshot.get_mut("users").and_then(Value::as_array_mut).ok_or("no \"users\" array")?;
    let position = |users: &Vec<Value>| match &action.key {
        Some(k) => users.iter().position(|u| u.get("key").and_then(key_of).as_ref() == Some(k)),
        None => users.iter().position(|u| {
            u.get("email").and_then(Value::as_str).is_some_and(|e| e.eq_ignore_ascii_case(&action.email))
        }),
    };
    let found = position(users);
    let (user_key, deleted) = match (action.action, found) {
        (ActionKind::Delete, Some(i)) => {
            let removed = users.remove(i);
            (removed.get("key").and_then(key_of), true)
        }
        (ActionKind::Delete, None) => return Err(format!("user {} not found", action.email)),
        (ActionKind::Create, None) => {
            let mut u = Map::new();
            u.insert("key".into(), Value::String(new_key(&action.email)));
            u.insert("email".into(), Value::String(action.email.clone()));
            u.insert("licenseKeys".into(), json!([]));
            u.insert("adminRoles".into(), json!([]));
            u.insert("nameLocked".into(), Value::Bool(false));
            u.insert("emailLocked".into(), Value::Bool(false));
            u.insert("identityReadOnly".into(), Value::Bool(false));
            u.insert("status".into(), Value::String("ACTIVE".into()));
            users.push(Value::Object(u));
            (None, false)
        }
        (_, Some(_)) => (None, false),
        (_, None) => return Err(format!("user {} not found", action.email)),
    };
    if deleted {
        if let (Some(k), Some(licenses)) = (user_key, snapshot.get_mut("licenses").and_then(Value::as_array_mut)) {
            for l in licenses {
                remove_holder(l, &k);
            }
        }
        return Ok(());
    }
    let i = position(users).expect("present or just created");
    let user = users[i].as_object_mut().ok_or("a user that is not an object")?;
    let key = user.get("key").and_then(key_of);
    let mut license_changes = Vec::new();
    for c in &action.changes {
        match c {
            Change::Attribute { attribute, new, .. } => {
                user.insert(attribute.clone(), Value::String(new.clone()));
            }
            Change::Add(g) | Change::Remove(g) => {
                let add = matches!(c, Change::Add(_));
                let (field, id) = match &g.grant {
                    Grant::License(k) => {
                        license_changes.push((k.clone(), add));
                        ("licenseKeys", k.as_str())
                    }
                    Grant::AdminRole(r) => ("adminRoles", r.as_str()),
                    Grant::ScimRole(r) => ("roles", r.as_str()),
                };
                let list = user.entry(field).or_insert_with(|| json!([])).as_array_mut().ok_or("not an array")?;
                list.retain(|v| key_of(v).is_none_or(|k| k.as_str() != id));
                if add {
                    list.push(Value::String(id.to_owned()));
                }
            }
        }
    }
    if let (Some(key), Some(licenses)) = (key, snapshot.get_mut("licenses").and_then(Value::as_array_mut)) {
        for (license, add) in license_changes {
            if let Some(l) = licenses.iter_mut().find(|l| l.get("key").and_then(key_of).as_ref() == Some(&license)) {
                remove_holder(l, &key);
                if add && let Some(holders) = l.get_mut("userKeys").and_then(Value::as_array_mut) {
                    holders.push(Value::String(key.0.clone()));
                    let n = holders.len();
                    l["userCount"] = json!(n);
                }
            }
        }
    }
    Ok(())
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
    Sha256::digest(text.as_bytes()).into()
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

    fn read(&mut self) -> Result<LiveState, Problem> {
        let text = std::fs::read_to_string(&self.path).map_err(|e| {
            self.problem(e)
                .help("the file target's `path:` names a snapshot; create one with `rollcall import --snapshot FILE`")
        })?;
        let snapshot: Snapshot =
            serde_json::from_str(&text).map_err(|e| self.problem(format!("not a GoTo account snapshot: {e}")))?;
        let live = snapshot.into_live();
        self.read_digest = Some(digest(&text));
        self.info.account = live.account_key.0.clone();
        self.info.name = live.account_name.clone();
        Ok(live)
    }

    fn apply(&mut self, actions: &[Action], _live: &LiveState, sink: &mut dyn ApplySink) -> Result<(), Problem> {
        let _lock = self.lock()?;
        self.load()?;
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
            outcomes.push(match apply_to_snapshot(self.snapshot.as_mut().expect("loaded"), action) {
                Ok(()) => {
                    if action.action == ActionKind::Create {
                        keys[i] = Some(Key(new_key(&action.email)));
                    }
                    Outcome::Done
                }
                Err(message) => Outcome::Failed { message, status: None, incident: None },
            });
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
