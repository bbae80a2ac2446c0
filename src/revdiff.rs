//! `rollcall diff`: what a change to the manifests does to the desired accounts, between two
//! git revisions (or a revision and the work tree). Offline: no target, no credentials.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use crate::cli::Format;
use crate::config::{self, MANIFEST_FILE, Manifest};
use crate::desired::{self, DesiredAccount, RoleGrant};
use crate::diag::{Code, Problem, Problems};
use crate::gitrev::Repo;
use crate::manifest::files::{ManifestFs, WorkTree};
use crate::render::quote;

pub const FORMAT_VERSION: u32 = 1;

/// One side of the comparison: the desired accounts and the manifest files they came from.
pub struct Side {
    /// The revision, or "working tree".
    pub label: String,
    /// None: there is no manifest at this revision (the directory is new, or was removed).
    pub state: Option<State>,
    /// Files the loader read, by path relative to the manifest directory.
    pub files: BTreeMap<PathBuf, String>,
}

pub struct State {
    pub accounts: Vec<DesiredAccount>,
    pub settings: BTreeMap<&'static str, String>,
}

/// Records what the loader reads, so the file diff shows exactly the manifest's files.
struct Recording<'a> {
    inner: &'a dyn ManifestFs,
    dir: &'a Path,
    read: RefCell<BTreeMap<PathBuf, String>>,
}

impl ManifestFs for Recording<'_> {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        let text = self.inner.read(path)?;
        let rel = path.strip_prefix(self.dir).unwrap_or(path).to_path_buf();
        self.read.borrow_mut().insert(rel, text.clone());
        Ok(text)
    }
    fn is_file(&self, path: &Path) -> bool {
        self.inner.is_file(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.inner.is_dir(path)
    }
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, glob::PatternError> {
        self.inner.glob(pattern)
    }
    fn display(&self, path: &Path) -> String {
        self.inner.display(path)
    }
    fn inside(&self, dir: &Path, path: &Path) -> bool {
        self.inner.inside(dir, path)
    }
}

/// Loads the manifest directory `dir` of `fs` and builds its desired state. A revision
/// without a manifest is an empty side; one whose manifest does not validate is an error
/// whose file names carry the revision.
pub fn load_side(label: &str, fs: &dyn ManifestFs, dir: &Path) -> Result<Side, Problems> {
    if !fs.is_file(&dir.join(MANIFEST_FILE)) {
        return Ok(Side { label: label.to_owned(), state: None, files: BTreeMap::new() });
    }
    let recording = Recording { inner: fs, dir, read: RefCell::default() };
    let manifest = config::load_from(&recording, dir)?;
    let desired = desired::build(&manifest)?;
    let mut accounts = desired.accounts;
    accounts.sort_by(|a, b| email_of(a).cmp(email_of(b)).then_with(|| a.person.cmp(&b.person)));
    Ok(Side {
        label: label.to_owned(),
        state: Some(State { accounts, settings: settings(&manifest) }),
        files: recording.read.into_inner(),
    })
}

fn email_of(a: &DesiredAccount) -> &str {
    a.email().unwrap_or(&a.person)
}

/// The manifest-wide settings a reviewer should see change, as one line each.
fn settings(m: &Manifest) -> BTreeMap<&'static str, String> {
    let list = |v: &[String]| if v.is_empty() { "(none)".to_owned() } else { v.join(", ") };
    let t = &m.target;
    let mut target = t.kind.as_str().to_owned();
    for (k, v) in [("path", &t.path), ("account_key", &t.account_key), ("api_url", &t.api_url), ("url", &t.url)] {
        if let Some(v) = v {
            let _ = write!(target, " {k}={v}");
        }
    }
    let mut s = BTreeMap::new();
    s.insert("target", target);
    s.insert("scope.domains", m.scope.as_ref().map_or("(no scope)".into(), |s| list(&s.domains)));
    s.insert("scope.exclude", m.scope.as_ref().map_or("(none)".into(), |s| list(&s.exclude)));
    s.insert("matching", list(&m.matching));
    s.insert("policy.on_unassign", format!("{:?}", m.policy.on_unassign).to_lowercase());
    s.insert(
        "policy.max_removals",
        format!("count {}, percent {}", m.policy.max_removals_count, m.policy.max_removals_percent),
    );
    s.insert("policy.protect", list(&m.policy.protect));
    s.insert("policy.welcome_email", m.policy.welcome_email.to_string());
    s
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountChange {
    Added,
    Removed,
    Changed,
}

/// What kind of thing a role or grant line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Held {
    Role,
    License,
    AdminRole,
    ScimRole,
}

impl Held {
    fn label(self) -> &'static str {
        match self {
            Held::Role => "roles",
            Held::License => "licenses",
            Held::AdminRole => "admin roles",
            Held::ScimRole => "scim roles",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Delta {
    /// A target attribute's value (what an account is created with), and whether it is kept
    /// in sync on update (`apply: always`) or set on create only.
    Attribute {
        attribute: String,
        old: Option<String>,
        new: Option<String>,
        old_sync: bool,
        new_sync: bool,
    },
    Add {
        what: Held,
        name: String,
    },
    Remove {
        what: Held,
        name: String,
    },
    Enabled {
        old: bool,
        new: bool,
    },
    Key {
        old: Option<String>,
        new: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountDiff {
    pub change: AccountChange,
    pub email: String,
    pub person: String,
    pub changes: Vec<Delta>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SettingChange {
    pub setting: String,
    pub old: String,
    pub new: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Added,
    Deleted,
    Modified,
    Renamed,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileDiff {
    pub status: FileStatus,
    /// Relative to the manifest directory; the new path for a rename.
    pub path: String,
    pub old_path: Option<String>,
    /// A unified diff (`---`/`+++` headers name the revisions).
    pub unified: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffSummary {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    /// Desired accounts at each side.
    pub base_accounts: usize,
    pub head_accounts: usize,
}

/// Everything `diff` reports. Field order is the JSON's order.
#[derive(Debug, Clone, Serialize)]
pub struct DesiredDiff {
    pub format_version: u32,
    pub base: String,
    pub head: String,
    pub manifest_dir: String,
    /// Sides without a manifest at all (the directory is new, or was removed).
    pub base_has_manifest: bool,
    pub head_has_manifest: bool,
    pub summary: DiffSummary,
    pub accounts: Vec<AccountDiff>,
    pub settings: Vec<SettingChange>,
    pub files: Vec<FileDiff>,
}

impl DesiredDiff {
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.settings.is_empty() && self.files.is_empty()
    }
}

fn held(a: &DesiredAccount) -> BTreeSet<(Held, String)> {
    let mut out: BTreeSet<(Held, String)> = a.roles.iter().map(|r| (Held::Role, r.clone())).collect();
    out.extend(a.grants.iter().map(|g| match g {
        RoleGrant::License(l) => (Held::License, l.clone()),
        RoleGrant::AdminRole(r) => (Held::AdminRole, r.clone()),
        RoleGrant::ScimRole(r) => (Held::ScimRole, r.clone()),
    }));
    out
}

fn deltas(old: Option<&DesiredAccount>, new: Option<&DesiredAccount>) -> Vec<Delta> {
    let mut out = Vec::new();
    let key = |a: Option<&DesiredAccount>| a.and_then(|a| a.key.as_ref()).map(|k| k.0.clone());
    if key(old) != key(new) && new.is_some() {
        out.push(Delta::Key { old: key(old), new: key(new) });
    }
    if let Some(n) = new {
        let mut names: Vec<&str> = n.attributes.iter().map(|a| &*a.name).collect();
        for a in old.iter().flat_map(|o| o.attributes.iter()) {
            if !names.contains(&&*a.name) {
                names.push(&a.name);
            }
        }
        for name in names {
            let o = old.and_then(|o| o.attribute(name));
            let x = n.attribute(name);
            let value = |a: &crate::desired::DesiredAttribute| a.on_create.as_deref().map(str::to_owned);
            let (ov, nv) = (o.and_then(value), x.and_then(value));
            let (os, ns) = (o.is_some_and(|a| a.on_update().is_some()), x.is_some_and(|a| a.on_update().is_some()));
            if ov != nv || (old.is_some() && os != ns && nv.is_some()) {
                // A `Redact` mapping on either side: the change shows, its values do not.
                let secret = o.is_some_and(|a| a.secret) || x.is_some_and(|a| a.secret);
                let mask = |v: Option<String>| if secret { v.map(|_| crate::plan::REDACTED.to_owned()) } else { v };
                let (ov, nv) = (mask(ov), mask(nv));
                out.push(Delta::Attribute { attribute: name.to_owned(), old: ov, new: nv, old_sync: os, new_sync: ns });
            }
        }
    }
    let (hold_old, hold_new) = (old.map(held).unwrap_or_default(), new.map(held).unwrap_or_default());
    for (what, name) in hold_old.difference(&hold_new) {
        out.push(Delta::Remove { what: *what, name: name.clone() });
    }
    for (what, name) in hold_new.difference(&hold_old) {
        out.push(Delta::Add { what: *what, name: name.clone() });
    }
    // Deltas on the same kind of thing sit together: roles, then licenses, then admin roles.
    out.sort_by_key(|d| match d {
        Delta::Key { .. } => (0, Held::Role),
        Delta::Attribute { .. } => (1, Held::Role),
        Delta::Remove { what, .. } | Delta::Add { what, .. } => (2, *what),
        Delta::Enabled { .. } => (3, Held::Role),
    });
    let enabled = |a: Option<&DesiredAccount>| a.is_none_or(|a| a.enabled);
    if enabled(old) != enabled(new) && new.is_some() {
        out.push(Delta::Enabled { old: enabled(old), new: enabled(new) });
    }
    out
}

/// The head account each base account corresponds to: same GoTo key, else same person,
/// else same email.
fn pair(base: &[DesiredAccount], head: &[DesiredAccount]) -> Vec<(Option<usize>, Option<usize>)> {
    let mut used_base = HashSet::new();
    let mut pairs = Vec::new();
    let mut unpaired_head = Vec::new();
    for (h, a) in head.iter().enumerate() {
        let found = base
            .iter()
            .enumerate()
            .filter(|(b, _)| !used_base.contains(b))
            .find(|(_, b)| a.key.is_some() && a.key == b.key)
            .or_else(|| {
                base.iter().enumerate().filter(|(b, _)| !used_base.contains(b)).find(|(_, b)| b.person == a.person)
            });
        match found {
            Some((b, _)) => {
                used_base.insert(b);
                pairs.push((Some(b), Some(h)));
            }
            None => unpaired_head.push(h),
        }
    }
    for h in unpaired_head {
        let email = email_of(&head[h]).to_lowercase();
        match (0..base.len()).find(|b| !used_base.contains(b) && email_of(&base[*b]).to_lowercase() == email) {
            Some(b) => {
                used_base.insert(b);
                pairs.push((Some(b), Some(h)));
            }
            None => pairs.push((None, Some(h))),
        }
    }
    pairs.extend((0..base.len()).filter(|b| !used_base.contains(b)).map(|b| (Some(b), None)));
    pairs
}

/// Compares two sides.
pub fn compare(base: &Side, head: &Side, manifest_dir: &str) -> DesiredDiff {
    let empty = Vec::new();
    let b = base.state.as_ref().map_or(&empty, |s| &s.accounts);
    let h = head.state.as_ref().map_or(&empty, |s| &s.accounts);
    let mut accounts = Vec::new();
    for (bi, hi) in pair(b, h) {
        let (old, new) = (bi.map(|i| &b[i]), hi.map(|i| &h[i]));
        let changes = deltas(old, new);
        let shown = new.or(old).expect("one side at least");
        let change = match (old, new) {
            (None, _) => AccountChange::Added,
            (_, None) => AccountChange::Removed,
            _ if changes.is_empty() => continue,
            _ => AccountChange::Changed,
        };
        accounts.push(AccountDiff {
            change,
            email: email_of(shown).to_owned(),
            person: shown.person.to_string(),
            changes,
        });
    }
    accounts.sort_by(|x, y| x.email.to_lowercase().cmp(&y.email.to_lowercase()).then_with(|| x.person.cmp(&y.person)));
    let mut settings = Vec::new();
    if let (Some(bs), Some(hs)) = (&base.state, &head.state) {
        for (k, new) in &hs.settings {
            let old = bs.settings.get(k).cloned().unwrap_or_default();
            if &old != new {
                settings.push(SettingChange { setting: (*k).to_owned(), old, new: new.clone() });
            }
        }
    }
    let count = |c: AccountChange| accounts.iter().filter(|a| a.change == c).count();
    DesiredDiff {
        format_version: FORMAT_VERSION,
        base: base.label.clone(),
        head: head.label.clone(),
        manifest_dir: manifest_dir.to_owned(),
        base_has_manifest: base.state.is_some(),
        head_has_manifest: head.state.is_some(),
        summary: DiffSummary {
            added: count(AccountChange::Added),
            removed: count(AccountChange::Removed),
            changed: count(AccountChange::Changed),
            base_accounts: b.len(),
            head_accounts: h.len(),
        },
        files: file_diffs(base, head, manifest_dir),
        accounts,
        settings,
    }
}

/// A file as the diff headers name it: `REV:path`, or the plain path in the work tree.
fn shown(side: &Side, dir: &str, path: &Path) -> String {
    let p = if dir == "." || dir.is_empty() { path.to_path_buf() } else { Path::new(dir).join(path) };
    if side.label == WORK_TREE {
        p.to_string_lossy().into_owned()
    } else {
        format!("{}:{}", side.label, p.to_string_lossy())
    }
}

fn unified(old: &str, new: &str, a: &str, b: &str) -> String {
    similar::TextDiff::from_lines(old, new).unified_diff().context_radius(3).header(a, b).to_string()
}

/// Unified diffs of the manifest files that changed; a file that moved (same or similar
/// content under another name) is one rename, not a deletion and an addition.
fn file_diffs(base: &Side, head: &Side, dir: &str) -> Vec<FileDiff> {
    let mut out = Vec::new();
    let mut deleted: Vec<&PathBuf> = Vec::new();
    for (path, old) in &base.files {
        match head.files.get(path) {
            Some(new) if new == old => {}
            Some(new) => out.push(FileDiff {
                status: FileStatus::Modified,
                path: path.to_string_lossy().into_owned(),
                old_path: None,
                unified: unified(old, new, &shown(base, dir, path), &shown(head, dir, path)),
            }),
            None => deleted.push(path),
        }
    }
    let mut added: Vec<&PathBuf> = head.files.keys().filter(|p| !base.files.contains_key(*p)).collect();
    // Renames: the most similar pairs first, at least half the lines in common.
    let mut candidates = Vec::new();
    for (i, d) in deleted.iter().enumerate() {
        for (j, a) in added.iter().enumerate() {
            let ratio = similar::TextDiff::from_lines(&base.files[*d], &head.files[*a]).ratio();
            if ratio >= 0.5 {
                candidates.push((ratio, i, j));
            }
        }
    }
    candidates.sort_by(|x, y| y.0.total_cmp(&x.0).then((x.1, x.2).cmp(&(y.1, y.2))));
    let (mut gone, mut came) = (HashSet::new(), HashSet::new());
    for (_, i, j) in candidates {
        if gone.contains(&i) || came.contains(&j) {
            continue;
        }
        gone.insert(i);
        came.insert(j);
        let (d, a) = (deleted[i], added[j]);
        out.push(FileDiff {
            status: FileStatus::Renamed,
            path: a.to_string_lossy().into_owned(),
            old_path: Some(d.to_string_lossy().into_owned()),
            unified: unified(&base.files[d], &head.files[a], &shown(base, dir, d), &shown(head, dir, a)),
        });
    }
    for (i, d) in deleted.iter().enumerate().filter(|(i, _)| !gone.contains(i)) {
        let _ = i;
        out.push(FileDiff {
            status: FileStatus::Deleted,
            path: d.to_string_lossy().into_owned(),
            old_path: None,
            unified: unified(&base.files[*d], "", &shown(base, dir, d), "/dev/null"),
        });
    }
    let mut j = 0;
    added.retain(|_| {
        j += 1;
        !came.contains(&(j - 1))
    });
    for a in added {
        out.push(FileDiff {
            status: FileStatus::Added,
            path: a.to_string_lossy().into_owned(),
            old_path: None,
            unified: unified("", &head.files[a], "/dev/null", &shown(head, dir, a)),
        });
    }
    out.sort_by(|x, y| x.path.cmp(&y.path));
    out
}

// ---- rendering ----

fn paint(color: bool, s: Style, text: &str) -> String {
    if color { format!("{}{text}{}", s.render(), s.render_reset()) } else { text.to_owned() }
}

fn value(v: &Option<String>) -> String {
    v.as_deref().map_or_else(|| "(none)".to_owned(), quote)
}

fn sync_note(old_sync: bool, new_sync: bool, with_old: bool) -> &'static str {
    match (with_old, old_sync, new_sync) {
        (true, false, true) => "   (was on create only, now kept in sync)",
        (true, true, false) => "   (now on create only)",
        (false, _, false) => "   (on create only)",
        _ => "",
    }
}

/// (label, text, sign) of one delta line.
fn delta_line(d: &Delta, change: &AccountChange) -> (String, String, char) {
    match d {
        Delta::Attribute { attribute, old, new, old_sync, new_sync } => {
            let with_old = *change == AccountChange::Changed;
            let text = if with_old { format!("{} -> {}", value(old), value(new)) } else { value(new) };
            (attribute.clone(), format!("{text}{}", sync_note(*old_sync, *new_sync, with_old)), '~')
        }
        Delta::Add { what, name } => (what.label().to_owned(), format!("+ {name}"), '+'),
        Delta::Remove { what, name } => (what.label().to_owned(), format!("- {name}"), '-'),
        Delta::Enabled { new, .. } => (
            "account".to_owned(),
            if *new {
                "enabled (accountEnabled no longer false)".into()
            } else {
                "disabled (accountEnabled: false)".into()
            },
            '~',
        ),
        Delta::Key { old, new } => ("key".to_owned(), format!("{} -> {}", value(old), value(new)), '~'),
    }
}

fn sign(change: &AccountChange) -> (char, &'static str, Style) {
    match change {
        AccountChange::Added => ('+', "add", AnsiColor::Green.on_default()),
        AccountChange::Removed => ('-', "remove", AnsiColor::Red.on_default()),
        AccountChange::Changed => ('~', "change", AnsiColor::Yellow.on_default()),
    }
}

fn summary_line(d: &DesiredDiff) -> String {
    let s = &d.summary;
    format!(
        "Desired accounts: {} added, {} removed, {} changed ({} -> {}).",
        s.added, s.removed, s.changed, s.base_accounts, s.head_accounts
    )
}

fn header(d: &DesiredDiff) -> String {
    format!("rollcall diff {} -> {} ({})", d.base, d.head, d.manifest_dir)
}

/// The accounts and settings part, shared by text and markdown.
fn body(d: &DesiredDiff, color: bool) -> String {
    let mut out = String::new();
    if !d.base_has_manifest {
        let _ = writeln!(out, "  (no manifest at {}: every desired account is new)\n", d.base);
    }
    if !d.head_has_manifest {
        let _ = writeln!(out, "  (no manifest at {}: every desired account is gone)\n", d.head);
    }
    for a in &d.accounts {
        let (s, word, st) = sign(&a.change);
        let _ = writeln!(out, "  {} {}", paint(color, st, &format!("{s} {word}")), crate::render::escape(&a.email));
        let lines: Vec<(String, String, char)> = a.changes.iter().map(|c| delta_line(c, &a.change)).collect();
        let width = lines.iter().map(|(l, _, _)| l.chars().count()).max().unwrap_or(0) + 1;
        for (label, text, s) in lines {
            let text = match s {
                '+' => paint(color, AnsiColor::Green.on_default(), &text),
                '-' => paint(color, AnsiColor::Red.on_default(), &text),
                _ => text,
            };
            let _ = writeln!(out, "      {:<width$} {text}", format!("{label}:"));
        }
    }
    if !d.settings.is_empty() {
        if !d.accounts.is_empty() {
            out.push('\n');
        }
        out.push_str("  Settings:\n");
        for s in &d.settings {
            let _ = writeln!(
                out,
                "  ~ {}: {} -> {}",
                crate::render::escape(&s.setting),
                crate::render::escape(&s.old),
                crate::render::escape(&s.new)
            );
        }
    }
    out
}

fn colored_diff(unified: &str, color: bool) -> String {
    if !color {
        return unified.lines().map(|l| crate::render::escape(l).into_owned() + "\n").collect();
    }
    unified
        .lines()
        .map(|l| {
            let st = if l.starts_with("+++") || l.starts_with("---") {
                Style::new().bold()
            } else if l.starts_with('+') {
                AnsiColor::Green.on_default()
            } else if l.starts_with('-') {
                AnsiColor::Red.on_default()
            } else if l.starts_with("@@") {
                AnsiColor::Cyan.on_default()
            } else {
                Style::new()
            };
            format!("{}\n", paint(color, st, &crate::render::escape(l)))
        })
        .collect()
}

fn file_line(f: &FileDiff) -> String {
    match (&f.status, &f.old_path) {
        (FileStatus::Renamed, Some(old)) => format!("renamed {old} -> {}", f.path),
        (FileStatus::Added, _) => format!("added {}", f.path),
        (FileStatus::Deleted, _) => format!("deleted {}", f.path),
        _ => format!("modified {}", f.path),
    }
}

pub fn text(d: &DesiredDiff, color: bool) -> String {
    let mut out = format!("{}:\n\n", header(d));
    if d.accounts.is_empty() && d.settings.is_empty() {
        out.push_str(if d.files.is_empty() {
            "No changes. The manifests are the same at both revisions.\n"
        } else {
            "No changes to desired accounts or settings.\n"
        });
    } else {
        out.push_str(&body(d, color));
        out.push('\n');
        let _ = writeln!(out, "{}", summary_line(d));
    }
    if !d.files.is_empty() {
        let _ = writeln!(out, "\nManifest files ({}):", d.files.len());
        for f in &d.files {
            let _ = writeln!(out, "  {}", file_line(f));
        }
        for f in &d.files {
            out.push('\n');
            out.push_str(&colored_diff(&f.unified, color));
        }
    }
    out
}

/// A code fence that nothing in `body` can close.
fn fence_for(body: &str) -> String {
    "`".repeat(crate::render::longest_backtick_run(body).max(2) + 1)
}

/// A pull-request comment: the summary and every removal visible, the rest folded, within
/// the same size limit as plan comments.
pub fn markdown(d: &DesiredDiff) -> String {
    let limit = crate::render::markdown::LIMIT;
    let mut out = format!("### rollcall diff `{}` -> `{}` (`{}`)\n\n", d.base, d.head, d.manifest_dir);
    if d.accounts.is_empty() && d.settings.is_empty() {
        out.push_str("**No changes to desired accounts or settings.**\n");
    } else {
        let _ = writeln!(out, "**{}**", summary_line(d));
        let removed: Vec<&AccountDiff> = d.accounts.iter().filter(|a| a.change == AccountChange::Removed).collect();
        if !removed.is_empty() {
            out.push('\n');
            for a in removed {
                let _ = writeln!(out, "- **removed** {}", crate::render::code_span(&a.email));
            }
        }
        for s in &d.settings {
            let _ = writeln!(
                out,
                "- setting {}: {} -> {}",
                crate::render::code_span(&s.setting),
                crate::render::code_span(&s.old),
                crate::render::code_span(&s.new)
            );
        }
        let body = body(d, false);
        let fence = fence_for(&body);
        let details =
            format!("\n<details><summary>Desired accounts</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n");
        push_within(&mut out, &details, limit);
    }
    if !d.files.is_empty() {
        let mut files = format!("\n<details><summary>Manifest files ({})</summary>\n\n", d.files.len());
        for f in &d.files {
            // A manifest file may hold backticks, `</details>` or ANSI escapes: escaped, fenced beyond them.
            let unified: String = f.unified.lines().map(|l| crate::render::escape(l).into_owned() + "\n").collect();
            let fence = fence_for(&unified);
            let _ = writeln!(files, "{}\n\n{fence}diff\n{unified}{fence}\n", crate::render::escape(&file_line(f)));
        }
        files.push_str("</details>\n");
        push_within(&mut out, &files, limit);
    }
    out
}

fn push_within(out: &mut String, part: &str, limit: usize) {
    if out.len() + part.len() <= limit {
        out.push_str(part);
    } else {
        out.push_str(
            "\n_(truncated to stay under GitHub's comment limit; run `rollcall diff` locally for all of it)_\n",
        );
    }
}

pub fn json(d: &DesiredDiff) -> String {
    let mut s = serde_json::to_string_pretty(d).expect("diffs serialise");
    s.push('\n');
    s
}

/// `rollcall diff --base REV [--head REV] [DIR]`.
pub fn run(base: &str, head: Option<&str>, dir: &Path, format: Format, color: bool) -> Result<ExitCode, Problems> {
    let repo = Repo::discover(dir)?;
    let prefix = repo.relative(dir)?;
    let manifest_dir =
        if prefix.as_os_str().is_empty() { ".".to_owned() } else { prefix.to_string_lossy().into_owned() };
    let base_tree = repo.tree(base, dir)?;
    let head_tree = head.map(|h| repo.tree(h, dir)).transpose()?;
    let base_side = load_side(base, &base_tree, dir);
    let head_side = match &head_tree {
        Some(t) => load_side(t.rev(), t, dir),
        None => load_side(WORK_TREE, &WorkTree, dir),
    };
    let (base_side, head_side) = match (base_side, head_side) {
        (Ok(b), Ok(h)) => (b, h),
        (b, h) => {
            let mut problems = Problems::default();
            problems.0.extend(b.err().into_iter().flat_map(|p| p.0));
            problems.0.extend(h.err().into_iter().flat_map(|p| p.0));
            return Err(problems);
        }
    };
    if base_side.state.is_none() && head_side.state.is_none() {
        return Err(Problem::new(
            Code::NoManifest,
            format!("{} has no rollcall.yaml at {base} nor at {}", dir.display(), head_side.label),
        )
        .help("point rollcall diff at a manifest directory (one with a rollcall.yaml)")
        .into());
    }
    let d = compare(&base_side, &head_side, &manifest_dir);
    let rendered = match format {
        Format::Text => text(&d, color),
        Format::Markdown => markdown(&d),
        Format::Json => json(&d),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(rendered.as_bytes());
    let _ = stdout.flush();
    Ok(ExitCode::SUCCESS)
}

/// How the work tree is named where a revision would be.
pub const WORK_TREE: &str = "working tree";
