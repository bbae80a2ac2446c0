//! The plan file (`plan --out`, `--format json`): one documented JSON format with
//! `"format_version": 1`, and the digests and provenance that make stale plans detectable.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::Manifest;
use crate::desired::Desired;
use crate::diag::{Code, Problem};
use crate::live::{Grant, LiveState};
use crate::manifest::yaml;
use crate::plan::{Action, Block, LeftAlone, Plan, Summary, Unmanaged, Warning};
use crate::vocab::TargetInfo;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GitInfo {
    pub commit: String,
    pub dirty: bool,
}

impl GitInfo {
    /// The commit, and whether the manifests had changes not in it, in words.
    pub fn describe(&self) -> String {
        format!("{}{}", self.commit, if self.dirty { " (with uncommitted changes)" } else { "" })
    }
}

/// A saved plan. Field order is the order of the JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(
    title = "rollcall plan",
    description = "A plan saved by `rollcall plan --out FILE` (and printed by `--format json`); see docs/plan-format.md"
)]
pub struct PlanDoc {
    pub format_version: u32,
    pub rollcall_version: String,
    pub target: TargetInfo,
    /// Relative to the git root when in a git work tree, else to the working directory; an
    /// absolute path for a directory outside both (such a plan applies only with `--dir`).
    pub manifest_dir: String,
    pub git: Option<GitInfo>,
    pub only: Vec<String>,
    pub manifest_digest: String,
    /// Digests of each part of the manifests (each top-level key of rollcall.yaml, and the
    /// desired accounts), so that a stale plan names what changed.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub manifest_parts: std::collections::BTreeMap<String, String>,
    pub live_digest: String,
    /// When the plan was made (UTC, `M/d/yyyy h:mm:ss tt`): the value of `Now()`, which
    /// apply uses again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_at: Option<String>,
    pub summary: Summary,
    /// null, or why apply refuses this plan without --allow-removals.
    pub blocked: Option<String>,
    pub blocks: Vec<Block>,
    pub actions: Vec<Action>,
    pub warnings: Vec<Warning>,
    pub left_alone: LeftAlone,
    pub unmanaged: Vec<Unmanaged>,
    pub unscoped: bool,
    pub removals: usize,
    pub in_scope: usize,
}

impl PlanDoc {
    pub fn new(
        plan: Plan,
        target: TargetInfo,
        provenance: Provenance,
        manifest_digest: String,
        live_digest: String,
    ) -> Self {
        PlanDoc {
            format_version: FORMAT_VERSION,
            rollcall_version: env!("CARGO_PKG_VERSION").into(),
            target,
            manifest_dir: provenance.manifest_dir,
            git: provenance.git,
            only: plan.only.clone(),
            manifest_digest,
            manifest_parts: Default::default(),
            live_digest,
            made_at: None,
            summary: plan.summary(),
            blocked: (!plan.blocked.is_empty())
                .then(|| plan.blocked.iter().map(|b| b.message.as_str()).collect::<Vec<_>>().join("; ")),
            blocks: plan.blocked,
            actions: plan.actions,
            warnings: plan.warnings,
            left_alone: plan.left_alone,
            unmanaged: plan.unmanaged,
            unscoped: plan.unscoped,
            removals: plan.removals,
            in_scope: plan.in_scope,
        }
    }

    pub fn plan(&self) -> Plan {
        Plan {
            actions: self.actions.clone(),
            warnings: self.warnings.clone(),
            blocked: self.blocks.clone(),
            left_alone: self.left_alone.clone(),
            unmanaged: self.unmanaged.clone(),
            unscoped: self.unscoped,
            only: self.only.clone(),
            removals: self.removals,
            in_scope: self.in_scope,
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("plans serialise");
        s.push('\n');
        s
    }

    pub fn read(path: &Path) -> Result<PlanDoc, Problem> {
        let bad = |why: String| {
            Problem::new(Code::PlanFile, format!("{} is not a valid plan file: {why}", path.display()))
                .help("nothing was applied; save plans with `rollcall plan --out FILE` and apply them unchanged")
        };
        let size = std::fs::metadata(path)
            .map_err(|e| Problem::new(Code::PlanFile, format!("cannot read plan file {}: {e}", path.display())))?
            .len();
        if size > MAX_PLAN_BYTES {
            return Err(bad(format!("it is {size} bytes, more than a plan can be ({MAX_PLAN_BYTES})")));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| Problem::new(Code::PlanFile, format!("cannot read plan file {}: {e}", path.display())))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| {
            Problem::new(Code::PlanFile, format!("{} is not a rollcall plan file: {e}", path.display()))
                .help("save plans with `rollcall plan --out FILE`")
        })?;
        let version = v.get("format_version").and_then(Value::as_u64);
        if version != Some(u64::from(FORMAT_VERSION)) {
            let shown = v
                .get("format_version")
                .map_or(String::from("none"), |v| crate::printable::escape(&v.to_string()).into_owned());
            return Err(Problem::new(
                Code::PlanFile,
                format!(
                    "{} has format_version {}, this rollcall reads {FORMAT_VERSION}",
                    path.display(),
                    shown.chars().take(40).collect::<String>()
                ),
            )
            .help("make the plan again with this version of rollcall"));
        }
        let doc: PlanDoc =
            serde_json::from_value(v).map_err(|e| bad(crate::printable::escape(&e.to_string()).into_owned()))?;
        doc.check().map_err(bad)?;
        Ok(doc)
    }

    /// Every field checked before anything uses it: a plan file comes from a CI artifact that
    /// whoever controls the branch can edit.
    fn check(&self) -> Result<(), String> {
        check_digest("manifest_digest", &self.manifest_digest)?;
        check_digest("live_digest", &self.live_digest)?;
        check_text("rollcall_version", &self.rollcall_version, 64)?;
        check_text("target.kind", &self.target.kind, 16)?;
        if !["file", "goto", "scim"].contains(&self.target.kind.as_str()) {
            return Err(format!("target.kind `{}` is not file, goto or scim", self.target.kind));
        }
        check_text("target.account", &self.target.account, 1024)?;
        check_text("target.name", &self.target.name, 1024)?;
        check_manifest_dir(&self.manifest_dir)?;
        if let Some(g) = &self.git
            && !(matches!(g.commit.len(), 40 | 64) && g.commit.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(format!("git.commit `{}` is not a commit id", crate::printable::escape(&cut(&g.commit))));
        }
        for email in &self.only {
            if !crate::config::is_plausible_email(email) {
                return Err(format!("only: `{}` is not an email address", crate::printable::escape(&cut(email))));
            }
        }
        for a in &self.actions {
            if a.email.is_empty() || a.email.chars().count() > 320 {
                return Err(format!(
                    "an action's email `{}` is empty or too long",
                    crate::printable::escape(&cut(&a.email))
                ));
            }
        }
        if self.summary != Summary::of(&self.actions) {
            return Err("its summary does not count its actions".into());
        }
        if self.blocked.is_some() == self.blocks.is_empty() {
            return Err("`blocked` and `blocks` disagree".into());
        }
        Ok(())
    }
}

/// A plan for 100,000 people is about 60 MB.
const MAX_PLAN_BYTES: u64 = 1 << 30;

fn cut(s: &str) -> String {
    s.chars().take(80).collect()
}

fn check_digest(field: &str, d: &str) -> Result<(), String> {
    match d.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) => Ok(()),
        _ => Err(format!("{field} `{}` is not `sha256:` and 64 hex digits", crate::printable::escape(&cut(d)))),
    }
}

fn check_text(field: &str, s: &str, max: usize) -> Result<(), String> {
    if s.len() > max {
        return Err(format!("{field} is longer than {max} bytes"));
    }
    if s.chars().any(crate::printable::is_unsafe_char) {
        return Err(format!("{field} `{}` holds control characters", crate::printable::escape(&cut(s))));
    }
    Ok(())
}

/// A recorded manifest directory: `.`, a relative path that stays inside the root, or an
/// absolute path (a directory outside the root, usable only with `--dir`).
fn check_manifest_dir(dir: &str) -> Result<(), String> {
    check_text("manifest_dir", dir, 4096)?;
    if dir.is_empty() {
        return Err("manifest_dir is empty".into());
    }
    Ok(())
}

/// Where the manifests came from.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub manifest_dir: String,
    pub git: Option<GitInfo>,
}

/// The git root of `dir`, if it is in a work tree.
pub fn git_root(dir: &Path) -> Option<PathBuf> {
    crate::gitrev::work_tree_root(dir)
}

pub fn provenance(dir: &Path) -> Provenance {
    let absolute = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let tree = crate::gitrev::work_tree(&absolute);
    let git = tree.as_ref().and_then(|t| t.head.clone()).map(|(commit, dirty)| GitInfo { commit, dirty });
    let repository = tree.map(|t| std::fs::canonicalize(&t.root).unwrap_or(t.root));
    let root = repository.unwrap_or_else(working_directory);
    Provenance { manifest_dir: record(&absolute, &root), git }
}

fn working_directory() -> PathBuf {
    std::env::current_dir().and_then(std::fs::canonicalize).unwrap_or_else(|_| PathBuf::from("."))
}

/// `absolute` as a plan records it: relative to `root` with `/` separators (`.` for the root
/// itself), or, outside the root, the absolute path.
fn record(absolute: &Path, root: &Path) -> String {
    match absolute.strip_prefix(root) {
        Ok(relative) if relative.as_os_str().is_empty() => ".".into(),
        Ok(relative) => relative.iter().map(|c| c.to_string_lossy()).collect::<Vec<_>>().join("/"),
        Err(_) => absolute.to_string_lossy().into_owned(),
    }
}

/// Where a saved plan's manifests are: its `manifest_dir` resolved against the root (the git
/// work tree of the current directory, else the current directory), never against the plan
/// file's location; or `--dir`, which must name the directory the plan was made for.
pub fn resolve_manifest_dir(doc: &PlanDoc, dir: Option<&Path>) -> Result<PathBuf, Problem> {
    let recorded = Path::new(&doc.manifest_dir);
    let refuse = |message: String| {
        Problem::new(Code::PlanDir, message).help(
            "nothing was applied; apply a plan in the checkout it was made from, with `--dir` naming the \
             manifest directory it was made for, or make a new plan there",
        )
    };
    if let Some(dir) = dir {
        let absolute = std::fs::canonicalize(dir)
            .map_err(|e| refuse(format!("--dir {}: cannot read the directory: {e}", dir.display())))?;
        let here = provenance(&absolute).manifest_dir;
        if here != doc.manifest_dir && !(recorded.is_absolute() && recorded == absolute) {
            return Err(refuse(format!(
                "the plan was made for the manifests in `{}`, --dir names `{}`",
                crate::printable::escape(&doc.manifest_dir),
                crate::printable::escape(&here)
            )));
        }
        return Ok(absolute);
    }
    let root = if doc.git.is_some() {
        git_root(Path::new(".")).map(|r| std::fs::canonicalize(&r).unwrap_or(r)).ok_or_else(|| {
            refuse("the plan was made in a git work tree and the current directory is in none".to_owned())
        })?
    } else {
        working_directory()
    };
    let inside = recorded.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside {
        return Err(refuse(format!(
            "the plan's manifest_dir `{}` is {} (a plan records its directory relative to {})",
            crate::printable::escape(&doc.manifest_dir),
            if recorded.has_root() { "absolute" } else { "outside the root" },
            if doc.git.is_some() { "the repository root" } else { "the working directory" },
        )));
    }
    let joined = root.join(recorded);
    let resolved = std::fs::canonicalize(&joined)
        .map_err(|e| refuse(format!("the plan's manifest directory {} cannot be read: {e}", joined.display())))?;
    if !resolved.starts_with(&root) {
        return Err(refuse(format!(
            "the plan's manifest_dir `{}` leads outside {} (through a symbolic link)",
            crate::printable::escape(&doc.manifest_dir),
            root.display()
        )));
    }
    Ok(resolved)
}

fn feed(h: &mut Sha256, parts: &[&str]) {
    for p in parts {
        h.update(p.len().to_le_bytes());
        h.update(p.as_bytes());
    }
}

/// Length-prefixed parts gathered into large blocks before they reach the hash (a call per
/// short string costs more than hashing it).
struct Feeder {
    hash: Sha256,
    buffer: Vec<u8>,
}

impl Feeder {
    fn new() -> Self {
        Feeder { hash: Sha256::new(), buffer: Vec::with_capacity(1 << 16) }
    }
    fn feed(&mut self, parts: &[&str]) {
        for p in parts {
            self.buffer.extend_from_slice(&p.len().to_le_bytes());
            self.buffer.extend_from_slice(p.as_bytes());
        }
        if self.buffer.len() >= 1 << 16 {
            self.hash.update(&self.buffer);
            self.buffer.clear();
        }
    }
    fn finish(mut self) -> String {
        self.hash.update(&self.buffer);
        format!("{:x}", self.hash.finalize())
    }
}

/// The digest of the manifests (`manifest_digest`) and of each of their parts
/// (`manifest_parts`: `rollcall.yaml: KEY` for each top-level key of the normalised
/// rollcall.yaml, and `desired accounts`). Formatting, comments, key order and which file a
/// person came from change neither.
pub fn manifest_digests(
    manifest: &Manifest,
    desired: &Desired,
) -> Result<(String, std::collections::BTreeMap<String, String>), Problem> {
    let mut parts = std::collections::BTreeMap::new();
    let root = canonical(&yaml::to_json(&manifest.root)?);
    if let Value::Object(m) = &root {
        for (key, value) in m {
            let mut h = Sha256::new();
            feed(&mut h, &[&value.to_string()]);
            parts.insert(format!("rollcall.yaml: {key}"), format!("{:x}", h.finalize()));
        }
    }
    let mut accounts = Feeder::new();
    feed_accounts(&mut accounts, desired);
    let accounts = accounts.finish();
    let mut h = Sha256::new();
    feed(&mut h, &["rollcall.yaml", &root.to_string(), "desired accounts", &accounts]);
    parts.insert("desired accounts".to_owned(), accounts);
    Ok((format!("sha256:{:x}", h.finalize()), parts))
}

fn feed_accounts(h: &mut Feeder, desired: &Desired) {
    let mut accounts: Vec<_> = desired.accounts.iter().collect();
    accounts.sort_unstable_by(|a, b| a.person.cmp(&b.person));
    for a in accounts {
        h.feed(&["person", &a.person, a.key.as_ref().map_or("", |k| k.as_str()), if a.enabled { "1" } else { "0" }]);
        for attr in &a.attributes {
            h.feed(&[&attr.name, attr.on_create.as_deref().unwrap_or("\0"), attr.on_update().unwrap_or("\0")]);
        }
        for g in a.grants.iter() {
            let (kind, name) = match g {
                crate::desired::RoleGrant::License(n) => ("license", n),
                crate::desired::RoleGrant::AdminRole(n) => ("admin_role", n),
                crate::desired::RoleGrant::ScimRole(n) => ("scim_role", n),
            };
            h.feed(&[kind, name]);
        }
    }
}

/// Digest of what rollcall manages in the live account: the attributes and managed grants of
/// the accounts it can see.
pub fn live_digest(live: &LiveState, desired: &Desired, managed: &std::collections::BTreeSet<Grant>) -> String {
    let excluded: std::collections::HashSet<String> =
        desired.scope.iter().flat_map(|s| s.exclude.iter().map(|e| e.to_lowercase())).collect();
    let mut accounts: Vec<_> = live.accounts.iter().filter(|a| !excluded.contains(&a.email().to_lowercase())).collect();
    accounts.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    let mut h = Feeder::new();
    h.feed(&[live.account_key.as_str()]);
    for a in accounts {
        h.feed(&["account", a.key.as_str()]);
        for (k, v) in a.attributes.iter() {
            h.feed(&[k, v]);
        }
        for g in a.grants.iter().filter(|g| managed.contains(g)) {
            h.feed(&[g.label(), g.id()]);
        }
    }
    format!("sha256:{}", h.finish())
}

/// JSON with object keys sorted, so equal documents print equally.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), canonical(&m[k]))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}
