//! `rollcall pull [DIR]`: rewrites every directory file whose source carries `pull:` from
//! Microsoft Graph, all or nothing.
//!
//! A pulled file is the JSON array the entra readers take, one record per line, records
//! sorted by object id, keys in a fixed order (`id`, then alphabetical), so that a joiner,
//! a leaver or a rename is a one-line change in review.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Map, Value};

use super::{Graph, PAGE_SIZE, Settings, problem};
use crate::config::MANIFEST_FILE;
use crate::diag::{self, Code, Problem, Problems};
use crate::directory::{self, Pull};
use crate::expr::Expr;
use crate::manifest::{DirectoryFormat, RawManifest, yaml};
use crate::targets::http::encode;

/// Attributes every pulled user file carries: identity, object id and whether the account is on.
const ALWAYS: [&str; 4] = ["id", "userPrincipalName", "mail", "accountEnabled"];
/// A group-member file names people; nothing else is read from it.
const MEMBER_ATTRIBUTES: [&str; 3] = ["id", "userPrincipalName", "mail"];

/// What a pull selects when the manifest's mappings cannot be read: the attributes rollcall's
/// examples and `import` map.
const USUAL: &[&str] =
    &["department", "displayName", "employeeId", "givenName", "preferredLanguage", "surname", "userType"];

/// `rollcall.yaml` read for its `directory:` alone.
#[derive(serde::Deserialize)]
struct DirectoryOnly {
    #[serde(default)]
    directory: Vec<crate::manifest::RawDirectorySource>,
}

/// The scalar properties of a Graph v1.0 `user` that `$select` takes (plus `extension_*`
/// directory extensions). Anything else a manifest references is not in Graph.
const GRAPH_USER_PROPERTIES: &[&str] = &[
    "accountEnabled",
    "ageGroup",
    "city",
    "companyName",
    "consentProvidedForMinor",
    "country",
    "createdDateTime",
    "creationType",
    "department",
    "displayName",
    "employeeHireDate",
    "employeeId",
    "employeeLeaveDateTime",
    "employeeType",
    "externalUserState",
    "faxNumber",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mailNickname",
    "mobilePhone",
    "officeLocation",
    "onPremisesDistinguishedName",
    "onPremisesDomainName",
    "onPremisesImmutableId",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "onPremisesUserPrincipalName",
    "passwordPolicies",
    "postalCode",
    "preferredDataLocation",
    "preferredLanguage",
    "securityIdentifier",
    "showInAddressList",
    "state",
    "streetAddress",
    "surname",
    "usageLocation",
    "userPrincipalName",
    "userType",
];

fn is_graph_property(name: &str) -> bool {
    GRAPH_USER_PROPERTIES.contains(&name) || name.starts_with("extension_")
}

/// One file to pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullEntry {
    /// As written in `path:`.
    pub shown: String,
    pub path: PathBuf,
    pub format: DirectoryFormat,
    pub pull: Pull,
}

/// What the manifest asks to pull, and which user attributes to select.
#[derive(Debug)]
pub struct PullPlan {
    pub entries: Vec<PullEntry>,
    pub attributes: Vec<String>,
    /// Attributes the manifest uses that Graph does not have (not fetched).
    pub not_in_graph: Vec<String>,
}

/// Reads `rollcall.yaml` of `dir` far enough to know what to pull: only the `directory`
/// entries must be valid (the people they name may not be there yet).
pub fn plan(dir: &Path) -> Result<PullPlan, Problems> {
    let file = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&file).map_err(|e| {
        let p = if e.kind() == std::io::ErrorKind::NotFound {
            Problem::new(Code::NoManifest, format!("{} has no rollcall.yaml", dir.display()))
                .help("point rollcall pull at a manifest directory (one with a rollcall.yaml)")
        } else {
            Problem::new(Code::Io, format!("cannot read {}: {e}", file.display()))
        };
        Problems::from(p)
    })?;
    let root = diag::source(file.display().to_string(), text);
    // Only `directory:` must be readable: a manifest with problems elsewhere (people not
    // pulled yet, a typo in a role) can still be pulled, with the usual attributes.
    let (directory, (attributes, not_in_graph)) = match yaml::parse::<RawManifest>(&root) {
        Ok(raw) => {
            let selected = self::attributes(&raw);
            (raw.directory, selected)
        }
        Err(problem) => match yaml::parse::<DirectoryOnly>(&root) {
            Ok(only) => {
                eprintln!(
                    "note: {} does not validate outside `directory:` ({}); pulling the usual attributes",
                    root.name(),
                    problem.message
                );
                let usual = ALWAYS.iter().chain(USUAL).map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
                (only.directory, (usual.into_iter().collect(), Vec::new()))
            }
            Err(_) => return Err(problem.into()),
        },
    };
    let mut problems = Problems::default();
    let mut entries = Vec::new();
    for entry in &directory {
        if entry.pull.is_none() {
            continue;
        }
        let Some(format) = directory::format_of(entry) else {
            let f = entry.format.as_ref().map_or("", |f| f.value.as_str());
            problems.push(
                Problem::new(Code::DirectoryFormat, format!("unknown directory format `{f}`"))
                    .help("use entra-json or entra-group-members on a source with `pull:`"),
            );
            continue;
        };
        match directory::pull_of(entry, format, &root) {
            Ok(Some(pull)) => match inside(dir, &entry.path.value) {
                Ok(path) => {
                    let shown = entry.path.value.clone();
                    if entries.iter().any(|e: &PullEntry| e.path == path) {
                        problems.push(
                            Problem::new(Code::PullShape, format!("two sources pull into {shown}"))
                                .at(&root, yaml::span(&entry.path), "pulled again here")
                                .help("give each pulled source its own file"),
                        );
                    } else {
                        entries.push(PullEntry { shown, path, format, pull });
                    }
                }
                Err(why) => problems.push(
                    Problem::new(
                        Code::PullShape,
                        format!("rollcall pull will not write `{}`: {why}", entry.path.value),
                    )
                    .at(&root, yaml::span(&entry.path), "outside the manifest folder")
                    .help("pulled files live inside the manifest folder: a relative path without `..`"),
                ),
            },
            Ok(None) => {}
            Err(p) => problems.push(p),
        }
    }
    problems.into_result(PullPlan { entries, attributes, not_in_graph })
}

/// `path` under `dir`, refusing absolute paths, `..` and symlinks.
fn inside(dir: &Path, path: &str) -> Result<PathBuf, &'static str> {
    let rel = Path::new(path);
    if rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err("it is absolute or climbs out with `..`");
    }
    let full = dir.join(rel);
    let mut at = dir.to_path_buf();
    for c in rel.components() {
        at.push(c);
        if at.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
            return Err("it goes through a symbolic link");
        }
    }
    Ok(full)
}

/// The user attributes to select: what rollcall always needs, and every attribute the
/// mappings, scoping filters and matching read. Sorted, so the request is stable.
fn attributes(raw: &RawManifest) -> (Vec<String>, Vec<String>) {
    let mut used: BTreeSet<String> = ALWAYS.iter().map(|s| (*s).to_owned()).collect();
    for (_, mapping) in &raw.mappings.0 {
        if let Some(from) = &mapping.from
            && let Ok(expr) = Expr::parse(&from.value)
        {
            used.extend(expr.references().into_iter().map(|(name, _)| name.to_owned()));
        }
    }
    for filter in &raw.scoping {
        used.extend(filter.0.iter().map(|c| c.attribute.value.clone()));
    }
    let (graph, other): (Vec<String>, Vec<String>) = used.into_iter().partition(|a| is_graph_property(a));
    (graph, other)
}

/// What a pull fetched for one file: records by sort key, each its rendered line.
pub type Records = BTreeMap<String, String>;

/// The Graph path (under /v1.0) of an entry, and whether it needs `ConsistencyLevel: eventual`.
pub fn request(entry: &PullEntry, attributes: &[String]) -> (String, bool) {
    let select = match entry.format {
        DirectoryFormat::EntraGroupMembers => MEMBER_ATTRIBUTES.join(","),
        _ => attributes.join(","),
    };
    match &entry.pull {
        Pull::AllUsers => (format!("/users?$select={select}&$top={PAGE_SIZE}"), false),
        // Advanced filters (ne, not, endsWith, ...) need the eventual consistency level and
        // $count; simple ones take it too.
        Pull::Filter(f) => {
            (format!("/users?$select={select}&$filter={}&$count=true&$top={PAGE_SIZE}", encode(f)), true)
        }
        // An OData cast on a transitive member list is an advanced query.
        Pull::Group(id) => (
            format!(
                "/groups/{}/transitiveMembers/microsoft.graph.user?$select={select}&$count=true&$top={PAGE_SIZE}",
                encode(id)
            ),
            true,
        ),
    }
}

/// Fetches every entry; any failure fails the whole pull.
pub async fn fetch(graph: &Graph, plan: &PullPlan) -> Result<Vec<Records>, Problem> {
    let mut out = Vec::with_capacity(plan.entries.len());
    for entry in &plan.entries {
        let (path, eventual) = request(entry, &plan.attributes);
        let mut records = Records::new();
        graph
            .list(&path, eventual, &format!("pull {}", entry.shown), |items| {
                for item in items {
                    if let Value::Object(map) = item
                        && let Some((key, line)) = render(&map)
                    {
                        records.insert(key, line);
                    }
                }
            })
            .await
            .map_err(|e| problem(&e))?;
        out.push(records);
    }
    Ok(out)
}

/// One record as a line: `id` first, then the other non-null scalar attributes in
/// alphabetical order. Keyed by object id (else the user principal name).
pub fn render(map: &Map<String, Value>) -> Option<(String, String)> {
    let key = ["id", "userPrincipalName", "mail"].iter().find_map(|k| map.get(*k).and_then(Value::as_str))?;
    let mut names: Vec<&String> = map
        .iter()
        .filter(|(k, v)| {
            !k.starts_with('@')
                && k.as_str() != "id"
                && matches!(v, Value::String(_) | Value::Bool(_) | Value::Number(_))
        })
        .map(|(k, _)| k)
        .collect();
    names.sort();
    let mut line = String::from("{");
    let mut first = true;
    for name in map.get("id").map(|_| "id").into_iter().chain(names.iter().map(|s| s.as_str())) {
        if !first {
            line.push_str(", ");
        }
        first = false;
        line.push_str(&serde_json::to_string(name).ok()?);
        line.push_str(": ");
        line.push_str(&serde_json::to_string(&map[name]).ok()?);
    }
    line.push('}');
    Some((key.to_owned(), line))
}

/// The file text of `records`.
pub fn text(records: &Records) -> String {
    if records.is_empty() {
        return "[]\n".to_owned();
    }
    let mut out = String::with_capacity(records.values().map(|l| l.len() + 2).sum::<usize>() + 4);
    out.push_str("[\n");
    let n = records.len();
    for (i, line) in records.values().enumerate() {
        out.push_str(line);
        out.push_str(if i + 1 < n { ",\n" } else { "\n" });
    }
    out.push_str("]\n");
    out
}

/// The records of a file as it is (none when it is missing or not an export).
fn existing(path: &Path) -> Option<Records> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).ok()?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut m) => match m.remove("value") {
            Some(Value::Array(items)) => items,
            _ => return None,
        },
        _ => return None,
    };
    Some(items.iter().filter_map(|v| v.as_object().and_then(render)).collect())
}

/// How a file changes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub total: usize,
}

pub fn compare(old: Option<&Records>, new: &Records) -> Change {
    let empty = Records::new();
    let old = old.unwrap_or(&empty);
    let added = new.keys().filter(|k| !old.contains_key(*k)).count();
    let removed = old.keys().filter(|k| !new.contains_key(*k)).count();
    let changed = new.iter().filter(|(k, v)| old.get(*k).is_some_and(|o| o != *v)).count();
    Change { added, removed, changed, total: new.len() }
}

/// Writes every changed file, or none: each is written to a temporary file beside it first
/// and renamed into place only when all of them are written.
fn write_all(files: &[(&Path, String)]) -> Result<(), Problem> {
    let mut staged = Vec::with_capacity(files.len());
    for (path, text) in files {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let io =
            |what: &str, e: std::io::Error| Problem::new(Code::Io, format!("cannot {what} {}: {e}", path.display()));
        std::fs::create_dir_all(parent).map_err(|e| io("create the folder of", e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(parent).map_err(|e| io("write", e))?;
        tmp.write_all(text.as_bytes()).and_then(|()| tmp.as_file().sync_all()).map_err(|e| io("write", e))?;
        staged.push((tmp, *path));
    }
    for (tmp, path) in staged {
        tmp.persist(path)
            .map_err(|e| Problem::new(Code::Io, format!("cannot write {}: {}", path.display(), e.error)))?;
    }
    Ok(())
}

/// The outcome of a pull: per file, what changed.
pub struct Pulled {
    pub files: Vec<(String, Change)>,
    pub requests: u64,
}

/// Pulls every entry of `plan` and rewrites the files that changed.
pub fn pull(plan: &PullPlan, settings: Settings) -> Result<Pulled, Problem> {
    let graph = Graph::new(settings)?;
    let files = super::runtime()?.block_on(pull_with(&graph, plan))?;
    Ok(Pulled { files, requests: graph.requests.load(std::sync::atomic::Ordering::Relaxed) })
}

/// Pulls every entry of `plan` through `graph` and rewrites the files that changed.
pub async fn pull_with(graph: &Graph, plan: &PullPlan) -> Result<Vec<(String, Change)>, Problem> {
    let fetched = fetch(graph, plan).await?;
    store(plan, &fetched)
}

/// Writes what `fetch` returned for `plan` into the files that changed, all or nothing.
pub fn store(plan: &PullPlan, fetched: &[Records]) -> Result<Vec<(String, Change)>, Problem> {
    let mut files = Vec::new();
    let mut writes = Vec::new();
    for (entry, records) in plan.entries.iter().zip(fetched) {
        let old = existing(&entry.path);
        let new_text = text(records);
        let unchanged = std::fs::read_to_string(&entry.path).is_ok_and(|t| t == new_text);
        files.push((entry.shown.clone(), compare(old.as_ref(), records)));
        if !unchanged {
            writes.push((entry.path.as_path(), new_text));
        }
    }
    write_all(&writes)?;
    Ok(files)
}

/// `rollcall pull [DIR] [--detailed-exitcode]`.
pub fn run(dir: &Path, detailed_exitcode: bool, quiet: bool) -> Result<ExitCode, Problems> {
    let plan = plan(dir)?;
    if plan.entries.is_empty() {
        if !quiet {
            eprintln!("Nothing to pull: no directory source in {} has `pull:`.", dir.join(MANIFEST_FILE).display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !plan.not_in_graph.is_empty() && !quiet {
        eprintln!("note: not Microsoft Graph user properties, so not pulled: {}", plan.not_in_graph.join(", "));
    }
    let settings = Settings::from_env().map_err(Problems::from)?;
    let before: Vec<Option<String>> = plan.entries.iter().map(|e| std::fs::read_to_string(&e.path).ok()).collect();
    let pulled = pull(&plan, settings).map_err(Problems::from)?;
    let mut any = false;
    let mut out = String::new();
    for ((shown, c), (entry, before)) in pulled.files.iter().zip(plan.entries.iter().zip(&before)) {
        let after = std::fs::read_to_string(&entry.path).ok();
        let rewritten = before != &after;
        any |= rewritten;
        let status = match (before, rewritten) {
            (None, _) => "created",
            (Some(_), true) => "updated",
            (Some(_), false) => "unchanged",
        };
        out.push_str(&format!(
            "{shown}: {status}, {} added, {} removed, {} changed ({} records)\n",
            c.added, c.removed, c.changed, c.total
        ));
    }
    print!("{out}");
    if !quiet {
        eprintln!(
            "Pulled {} file{} from Microsoft Graph in {} requests{}.",
            pulled.files.len(),
            if pulled.files.len() == 1 { "" } else { "s" },
            pulled.requests,
            if any { "; review the change with `git diff` and `rollcall plan`" } else { "; nothing changed" }
        );
    }
    Ok(if detailed_exitcode && any { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_renders_id_first_then_alphabetically_without_nulls() {
        let v: Value = serde_json::json!({"userPrincipalName": "a@x.example", "@odata.type": "#microsoft.graph.user",
            "surname": null, "id": "0001", "accountEnabled": true, "businessPhones": []});
        let (key, line) = render(v.as_object().unwrap()).unwrap();
        assert_eq!(key, "0001");
        assert_eq!(line, r#"{"id": "0001", "accountEnabled": true, "userPrincipalName": "a@x.example"}"#);
    }

    #[test]
    fn files_have_one_record_per_line_sorted_by_id() {
        let mut r = Records::new();
        r.insert("b".into(), r#"{"id": "b"}"#.into());
        r.insert("a".into(), r#"{"id": "a"}"#.into());
        assert_eq!(text(&r), "[\n{\"id\": \"a\"},\n{\"id\": \"b\"}\n]\n");
        assert_eq!(text(&Records::new()), "[]\n");
    }

    #[test]
    fn paths_stay_inside_the_manifest_folder() {
        let d = tempfile::tempdir().unwrap();
        assert!(inside(d.path(), "exports/users.json").is_ok());
        assert!(inside(d.path(), "../users.json").is_err());
        assert!(inside(d.path(), "/etc/passwd").is_err());
    }
}
