//! The plan file (`plan --out`, `--format json`): one documented JSON format with
//! `"format_version": 1`, and the digests and provenance that make stale plans detectable.

use std::path::{Path, PathBuf};
use std::process::Command;

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitInfo {
    pub commit: String,
    pub dirty: bool,
}

/// A saved plan. Field order is the order of the JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanDoc {
    pub format_version: u32,
    pub rollcall_version: String,
    pub target: TargetInfo,
    /// Relative to the git root when in a git work tree, else as given.
    pub manifest_dir: String,
    pub git: Option<GitInfo>,
    pub only: Vec<String>,
    pub manifest_digest: String,
    pub live_digest: String,
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
            live_digest,
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
        let text = std::fs::read_to_string(path)
            .map_err(|e| Problem::new(Code::PlanFile, format!("cannot read plan file {}: {e}", path.display())))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| {
            Problem::new(Code::PlanFile, format!("{} is not a rollcall plan file: {e}", path.display()))
                .help("save plans with `rollcall plan --out FILE`")
        })?;
        let version = v.get("format_version").and_then(Value::as_u64);
        if version != Some(u64::from(FORMAT_VERSION)) {
            return Err(Problem::new(
                Code::PlanFile,
                format!(
                    "{} has format_version {}, this rollcall reads {FORMAT_VERSION}",
                    path.display(),
                    version.map_or("none".into(), |v| v.to_string())
                ),
            )
            .help("make the plan again with this version of rollcall"));
        }
        serde_json::from_value(v)
            .map_err(|e| Problem::new(Code::PlanFile, format!("{} is not a valid plan file: {e}", path.display())))
    }
}

/// Where the manifests came from.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub manifest_dir: String,
    pub git: Option<GitInfo>,
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The git root of `dir`, if it is in a work tree.
pub fn git_root(dir: &Path) -> Option<PathBuf> {
    git(dir, &["rev-parse", "--show-toplevel"]).map(PathBuf::from)
}

pub fn provenance(dir: &Path) -> Provenance {
    let absolute = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if let Some(root) = git_root(&absolute) {
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        let relative = absolute.strip_prefix(&root).map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        let commit = git(&absolute, &["rev-parse", "HEAD"]);
        let dirty = git(&absolute, &["status", "--porcelain", "--", "."]).is_some_and(|s| !s.is_empty());
        return Provenance {
            manifest_dir: if relative.is_empty() { ".".into() } else { relative },
            git: commit.map(|commit| GitInfo { commit, dirty }),
        };
    }
    Provenance { manifest_dir: dir.to_string_lossy().into_owned(), git: None }
}

/// Where a saved plan's manifests are, seen from the current directory.
pub fn resolve_manifest_dir(doc: &PlanDoc) -> PathBuf {
    if doc.git.is_some()
        && let Some(root) = git_root(Path::new("."))
    {
        return root.join(&doc.manifest_dir);
    }
    PathBuf::from(&doc.manifest_dir)
}

fn feed(h: &mut Sha256, parts: &[&str]) {
    for p in parts {
        h.update(p.len().to_le_bytes());
        h.update(p.as_bytes());
    }
}

/// Digest of the canonical desired state and the normalised rollcall.yaml: formatting,
/// comments, key order and which file a person came from do not change it.
pub fn manifest_digest(manifest: &Manifest, desired: &Desired) -> Result<String, Problem> {
    let mut h = Sha256::new();
    let root = canonical(&yaml::to_json(&manifest.root)?);
    feed(&mut h, &["rollcall.yaml", &root.to_string()]);
    let mut accounts: Vec<_> = desired.accounts.iter().collect();
    accounts.sort_by(|a, b| a.person.cmp(&b.person));
    for a in accounts {
        feed(
            &mut h,
            &["person", &a.person, a.key.as_ref().map_or("", |k| k.as_str()), if a.enabled { "1" } else { "0" }],
        );
        for attr in &a.attributes {
            feed(
                &mut h,
                &[&attr.name, attr.on_create.as_deref().unwrap_or("\0"), attr.on_update.as_deref().unwrap_or("\0")],
            );
        }
        for g in &a.grants {
            let (kind, name) = match g {
                crate::desired::RoleGrant::License(n) => ("license", n),
                crate::desired::RoleGrant::AdminRole(n) => ("admin_role", n),
                crate::desired::RoleGrant::ScimRole(n) => ("scim_role", n),
            };
            feed(&mut h, &[kind, name]);
        }
    }
    Ok(format!("sha256:{:x}", h.finalize()))
}

/// Digest of what rollcall manages in the live account: the attributes and managed grants of
/// the accounts it can see.
pub fn live_digest(live: &LiveState, desired: &Desired, managed: &std::collections::BTreeSet<Grant>) -> String {
    let excluded: std::collections::HashSet<String> =
        desired.scope.iter().flat_map(|s| s.exclude.iter().map(|e| e.to_lowercase())).collect();
    let mut accounts: Vec<_> = live.accounts.iter().filter(|a| !excluded.contains(&a.email().to_lowercase())).collect();
    accounts.sort_by(|a, b| a.key.cmp(&b.key));
    let mut h = Sha256::new();
    feed(&mut h, &[live.account_key.as_str()]);
    for a in accounts {
        feed(&mut h, &["account", a.key.as_str()]);
        for (k, v) in &a.attributes {
            feed(&mut h, &[k, v]);
        }
        for g in a.grants.intersection(managed) {
            feed(&mut h, &[&format!("{g:?}")]);
        }
    }
    format!("sha256:{:x}", h.finalize())
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
