//! `rollcall import`: manifests that describe the live account as it is (so that `plan`
//! right after is empty), and `file`-target snapshots of it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Value, json};

use crate::cli::ImportArgs;
use crate::config::{self, MANIFEST_FILE};
use crate::diag::{Code, Problem, Problems};
use crate::live::{Grant, Key, LiveAccount, LiveState, domain_of};
use crate::manifest::TargetKind;
use crate::render::quote;
use crate::targets::{self, Target};

pub const DIRECTORY_FILE: &str = "people.yaml";

/// The `target:` block the imported rollcall.yaml gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportedTarget {
    /// A snapshot, by path relative to the output directory.
    File {
        path: String,
    },
    Goto {
        account_key: String,
        api_url: Option<String>,
        token_url: Option<String>,
    },
}

/// The distinct combinations of licenses and admin roles the accounts hold, each a role.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InferredRole {
    name: String,
    licenses: Vec<String>,
    admin_roles: Vec<String>,
}

type Combination = (BTreeSet<Key>, BTreeSet<String>);

fn combination(a: &LiveAccount) -> Combination {
    let mut licenses = BTreeSet::new();
    let mut admin = BTreeSet::new();
    for g in &a.grants {
        match g {
            Grant::License(k) => {
                licenses.insert(k.clone());
            }
            Grant::AdminRole(r) => {
                admin.insert(r.clone());
            }
            Grant::ScimRole(_) => {}
        }
    }
    (licenses, admin)
}

/// `GoToMeeting Business` -> `gotomeeting-business`.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// Roles named after what they grant; a license is named by its description where that is
/// unambiguous in the account, else by its key.
fn infer_roles(live: &LiveState) -> BTreeMap<Combination, InferredRole> {
    let reference = |k: &Key| -> (String, String) {
        match live.license(k) {
            Some(l)
                if !l.description.trim().is_empty()
                    && live.licenses.iter().filter(|o| o.description == l.description).count() == 1 =>
            {
                (l.description.clone(), slug(&l.description))
            }
            _ => (k.0.clone(), format!("license-{}", k.0)),
        }
    };
    let combinations: BTreeSet<Combination> =
        live.accounts.iter().map(combination).filter(|(l, a)| !l.is_empty() || !a.is_empty()).collect();
    let mut taken = BTreeSet::new();
    let mut out = BTreeMap::new();
    for c in combinations {
        let (licenses, names): (Vec<String>, Vec<String>) = c.0.iter().map(reference).unzip();
        let mut parts = names;
        parts.extend(c.1.iter().map(|r| slug(r)));
        let base = parts.join("-");
        let mut name = base.clone();
        let mut n = 2;
        while !taken.insert(name.clone()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        out.insert(c.clone(), InferredRole { name, licenses, admin_roles: c.1.iter().cloned().collect() });
    }
    out
}

/// (directory attribute, GoTo attribute, apply) of the generated mappings.
const MAPPED: [(&str, &str, &str); 5] = [
    ("userPrincipalName", "email", "always"),
    ("givenName", "firstName", "always"),
    ("surname", "lastName", "always"),
    ("locale", "locale", "on_create"),
    ("timeZone", "timeZone", "on_create"),
];

/// The manifest files (name, text) that describe `live`: rollcall.yaml and people.yaml.
pub fn manifests(live: &LiveState, target: &ImportedTarget) -> Vec<(String, String)> {
    let mut people: Vec<&LiveAccount> = live.accounts.iter().filter(|a| !a.email().trim().is_empty()).collect();
    people.sort_by_key(|a| a.email().to_lowercase());
    let roles = infer_roles(live);

    let mut directory = format!(
        "# yaml-language-server: $schema={}\n\
         # Written by `rollcall import` from {}: one record per account, with its\n\
         # GoTo key so that matching survives a change of email. Edit it, or replace it with\n\
         # your directory's exports.\nusers:\n",
        crate::schema::url("directory.schema.json"),
        describe(live)
    );
    if people.is_empty() {
        directory = directory.replace("users:\n", "users: []\n");
    }
    let mut has = BTreeSet::new();
    for a in &people {
        let mut first = true;
        for (dir_attr, goto_attr, _) in MAPPED {
            let Some(v) = a.attributes.get(goto_attr).filter(|v| !v.is_empty()) else { continue };
            has.insert(dir_attr);
            let _ = writeln!(directory, "  {} {dir_attr}: {}", if first { "-" } else { " " }, quote(v));
            first = false;
        }
        let _ = writeln!(directory, "    key: {}", quote(a.key.as_str()));
    }
    let mut members: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for a in &people {
        if let Some(role) = roles.get(&combination(a)) {
            members.entry(&role.name).or_default().push(a.email());
        }
    }
    if members.is_empty() {
        directory.push_str("groups: {}\n");
    } else {
        directory.push_str(
            "\n# One group per role: the accounts that hold exactly those licenses and admin roles.\ngroups:\n",
        );
        for (group, emails) in &members {
            let _ = writeln!(directory, "  {group}:\n    members:");
            for e in emails {
                let _ = writeln!(directory, "      - {}", quote(e));
            }
        }
    }

    let mut root = format!(
        "# yaml-language-server: $schema={}\n\
         # Written by `rollcall import` from {}.\n\
         # Roles are the account's distinct combinations of licenses and admin roles; rename them\n\
         # as you like (in roles:, assignments: and the groups of {DIRECTORY_FILE}).\nversion: 1\n\ntarget:\n",
        crate::schema::url("rollcall.schema.json"),
        describe(live)
    );
    match target {
        ImportedTarget::File { path } => {
            let _ = writeln!(root, "  kind: file\n  path: {}", quote(path));
        }
        ImportedTarget::Goto { account_key, api_url, token_url } => {
            let _ = writeln!(root, "  kind: goto\n  account_key: {}", quote(account_key));
            for (k, v) in [("api_url", api_url), ("token_url", token_url)] {
                if let Some(v) = v {
                    let _ = writeln!(root, "  {k}: {}", quote(v));
                }
            }
        }
    }
    let domains: BTreeSet<String> = people.iter().map(|a| domain_of(a.email())).filter(|d| !d.is_empty()).collect();
    if !domains.is_empty() {
        let list: Vec<String> = domains.iter().map(|d| quote(d)).collect();
        let _ = writeln!(root, "\nscope:\n  domains: [{}]", list.join(", "));
    }
    let _ = writeln!(root, "\ndirectory:\n  - {DIRECTORY_FILE}\n\nmatching: [key, email]");
    if roles.is_empty() {
        root.push_str("\nroles: {}\n");
    } else {
        root.push_str("\nroles:\n");
        let mut sorted: Vec<&InferredRole> = roles.values().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        for r in sorted {
            let _ = writeln!(root, "  {}:", r.name);
            if !r.licenses.is_empty() {
                let l: Vec<String> = r.licenses.iter().map(|l| quote(l)).collect();
                let _ = writeln!(root, "    licenses: [{}]", l.join(", "));
            }
            if !r.admin_roles.is_empty() {
                let a: Vec<String> = r.admin_roles.iter().map(|a| quote(a)).collect();
                let _ = writeln!(root, "    admin_roles: [{}]", a.join(", "));
            }
        }
    }
    root.push_str("\nmappings:\n");
    let width = MAPPED.iter().map(|(_, g, _)| g.len()).max().unwrap_or(0) + 1;
    for (dir_attr, goto_attr, apply) in MAPPED {
        // A mapping may only reference attributes some record has.
        if has.contains(dir_attr) || goto_attr == "email" {
            let apply = if apply == "always" { String::new() } else { format!(", apply: {apply}") };
            let _ = writeln!(root, "  {:<width$} {{ from: \"[{dir_attr}]\"{apply} }}", format!("{goto_attr}:"));
        }
    }
    if members.is_empty() {
        root.push_str("\nassignments: []\n");
    } else {
        root.push_str("\nassignments:\n");
        for group in members.keys() {
            let _ = writeln!(root, "  - {{ group: {group}, role: {group} }}");
        }
    }
    root.push_str("\npolicy:\n  on_unassign: disable\n  welcome_email: false\n");
    vec![(MANIFEST_FILE.to_owned(), root), (DIRECTORY_FILE.to_owned(), directory)]
}

fn describe(live: &LiveState) -> String {
    if live.account_name.is_empty() {
        format!("GoTo account {}", live.account_key)
    } else {
        format!("GoTo account {} ({})", live.account_key, live.account_name)
    }
}

/// A `file`-target snapshot of `live`, in the GoTo Admin API's own shapes.
pub fn snapshot(live: &LiveState) -> Value {
    let mut accounts: Vec<&LiveAccount> = live.accounts.iter().collect();
    accounts.sort_by(|a, b| a.email().to_lowercase().cmp(&b.email().to_lowercase()).then(a.key.cmp(&b.key)));
    let holders = |k: &Key| -> Vec<String> {
        accounts.iter().filter(|a| a.grants.contains(&Grant::License(k.clone()))).map(|a| a.key.0.clone()).collect()
    };
    let licenses: Vec<Value> = live
        .licenses
        .iter()
        .map(|l| {
            let users = holders(&l.key);
            let mut v = json!({ "key": l.key.0, "description": l.description });
            if let Some(s) = l.seats {
                v["seats"] = json!(s);
            }
            v["userCount"] = json!(users.len());
            v["userKeys"] = json!(users);
            v
        })
        .collect();
    let users: Vec<Value> = accounts
        .iter()
        .map(|a| {
            let mut u = serde_json::Map::new();
            u.insert("key".into(), json!(a.key.0));
            // The invitation marker is rollcall's, not a GoTo field.
            for (k, v) in a.attributes.iter().filter(|(k, _)| *k != crate::live::INVITED) {
                u.insert(k.to_owned(), json!(v));
            }
            let (licenses, admin) = combination(a);
            u.insert("licenseKeys".into(), json!(licenses.iter().map(|k| &k.0).collect::<Vec<_>>()));
            u.insert("adminRoles".into(), json!(admin));
            u.insert("nameLocked".into(), json!(a.locks.name));
            u.insert("emailLocked".into(), json!(a.locks.email));
            u.insert("identityReadOnly".into(), json!(a.locks.identity));
            Value::Object(u)
        })
        .collect();
    json!({
        "account": { "key": live.account_key.0, "name": live.account_name },
        "licenses": licenses,
        "users": users,
    })
}

/// `to` relative to the directory `from` (both absolute, normalised), with `/`.
fn relative_path(from: &Path, to: &Path) -> String {
    let f: Vec<Component> = from.components().collect();
    let t: Vec<Component> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); f.len() - common];
    parts.extend(t[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    parts.join("/")
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| std::env::current_dir().unwrap_or_default().join(p))
}

fn io_problem(what: &str, path: &Path, e: std::io::Error) -> Problem {
    Problem::new(Code::Io, format!("cannot {what} {}: {e}", path.display()))
}

/// Where the account is read from.
enum Source {
    Snapshot(PathBuf),
    Goto { api_url: Option<String>, token_url: Option<String> },
}

/// The target to read: a snapshot, the target of the manifest in DIR, or a goto account
/// given by the environment.
fn open_source(args: &ImportArgs) -> Result<(Box<dyn Target>, Source), Problems> {
    let snapshot = |path: PathBuf| -> (Box<dyn Target>, Source) {
        (Box::new(targets::file::FileTarget::new(path.clone())), Source::Snapshot(path))
    };
    let Some(dir) = &args.dir else {
        return Ok(match &args.from_snapshot {
            Some(file) => snapshot(file.clone()),
            None => (targets::open_for_import(None)?, Source::Goto { api_url: None, token_url: None }),
        });
    };
    let manifest = config::load(dir)?;
    let t = &manifest.target;
    match t.kind {
        TargetKind::File => Ok(snapshot(manifest.dir.join(t.path.as_deref().unwrap_or("live.json")))),
        TargetKind::Goto => Ok((
            targets::open_for_import(Some(&manifest))?,
            Source::Goto { api_url: t.api_url.clone(), token_url: t.token_url.clone() },
        )),
        TargetKind::Scim => Err(Problem::new(Code::TargetKey, "import reads goto and file targets, not scim").into()),
    }
}

/// `rollcall import [DIR] [--out DIR] [--snapshot FILE] [--from-snapshot FILE]`.
pub fn run(args: &ImportArgs, quiet: bool) -> Result<ExitCode, Problems> {
    if let (Some(app), Some(out)) = (&args.from_entra_app, &args.out) {
        return crate::graph::migrate::run(app, out, args.force, quiet);
    }
    if args.out.is_none() && args.snapshot.is_none() {
        return Err(Problem::new(Code::ImportOut, "import needs somewhere to write")
            .help("pass --out DIR for manifests, --snapshot FILE for a file-target snapshot, or both")
            .into());
    }
    if let Some(out) = &args.out
        && !args.force
    {
        let existing: Vec<String> = [MANIFEST_FILE, DIRECTORY_FILE]
            .iter()
            .filter(|f| out.join(f).exists())
            .map(|f| out.join(f).display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(Problem::new(Code::ImportOut, format!("{} already exists", existing.join(" and ")))
                .help("import into a new directory, or pass --force to overwrite")
                .into());
        }
    }
    if let Some(path) = &args.snapshot
        && !args.force
        && path.exists()
    {
        return Err(Problem::new(Code::ImportOut, format!("{} already exists", path.display()))
            .help("write the snapshot to a new file, or pass --force to overwrite it")
            .into());
    }
    let (mut target, source) = open_source(args)?;
    let live = target.read()?;
    if let Some(path) = &args.snapshot {
        let mut text = serde_json::to_string_pretty(&snapshot(&live)).expect("snapshots serialise");
        text.push('\n');
        crate::targets::file::write_atomically(path, text.as_bytes())
            .map_err(|e| io_problem("write the snapshot to", path, e))?;
        if !quiet {
            eprintln!(
                "Wrote a snapshot of {} ({} accounts) to {}.",
                describe(&live),
                live.accounts.len(),
                path.display()
            );
        }
    }
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).map_err(|e| io_problem("create", out, e))?;
        let imported = match source {
            Source::Snapshot(file) => ImportedTarget::File { path: relative_path(&absolute(out), &absolute(&file)) },
            Source::Goto { api_url, token_url } => {
                ImportedTarget::Goto { account_key: live.account_key.0.clone(), api_url, token_url }
            }
        };
        for (name, text) in manifests(&live, &imported) {
            let path = out.join(&name);
            std::fs::write(&path, text).map_err(|e| io_problem("write", &path, e))?;
        }
        if !quiet {
            eprintln!(
                "Wrote {} and {} describing {} ({} accounts) to {}; `rollcall plan {}` shows no changes.",
                MANIFEST_FILE,
                DIRECTORY_FILE,
                describe(&live),
                live.accounts.len(),
                out.display(),
                out.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_readable() {
        assert_eq!(slug("GoToMeeting Business"), "gotomeeting-business");
        assert_eq!(slug("MANAGE_USERS"), "manage-users");
        assert_eq!(slug("  G2W (Standard) "), "g2w-standard");
    }

    #[test]
    fn relative_paths_climb_and_descend() {
        assert_eq!(relative_path(Path::new("/a/b/out"), Path::new("/a/b/live.json")), "../live.json");
        assert_eq!(relative_path(Path::new("/a/b"), Path::new("/a/b/live.json")), "live.json");
        assert_eq!(relative_path(Path::new("/a/x/y"), Path::new("/a/b/c.json")), "../../b/c.json");
    }
}
