//! `rollcall import --from-entra-app SP_ID --out DIR`: moving off Entra's retired GoToMeeting
//! connector without retyping who had access.
//!
//! The enterprise application's app role assignments (`appRoleAssignedTo`) become
//! assignments: a user by user principal name, a group through a pulled member file. Each
//! app role becomes a role of the same name whose licenses the administrator fills in (a TODO
//! in the file, and a validation error until done). Entra gave a group's role to its direct
//! members only; rollcall expands nested groups, so every assigned group with nested groups is
//! named.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;

use super::pull::{self, PullPlan};
use super::{Graph, PAGE_SIZE, Settings, problem};
use crate::config::MANIFEST_FILE;
use crate::diag::{Code, Problem, Problems};
use crate::directory::{Pull, is_object_id};
use crate::manifest::DirectoryFormat;
use crate::render::quote;
use crate::targets::http::encode;

/// The app role id Entra uses when an application defines no roles.
const DEFAULT_ACCESS: &str = "00000000-0000-0000-0000-000000000000";
pub const USERS_FILE: &str = "directory/users.json";

/// One app role assignment of the application.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Assignment {
    pub principal_type: String,
    pub principal_id: String,
    pub principal_name: String,
    pub app_role_id: String,
}

/// An app role of the application.
#[derive(Debug, Clone)]
pub struct AppRole {
    pub id: String,
    pub value: Option<String>,
    pub display_name: String,
}

/// What the application says, read from Graph.
#[derive(Debug)]
pub struct App {
    pub id: String,
    pub name: String,
    pub roles: Vec<AppRole>,
    pub assignments: Vec<Assignment>,
    /// Assigned group id -> the display names of the groups nested directly in it.
    pub nested: BTreeMap<String, Vec<String>>,
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

async fn read_app(graph: &Graph, id: &str) -> Result<App, Problem> {
    let sp = graph
        .get(
            &format!("/servicePrincipals/{}?$select=id,appId,displayName,appRoles", encode(id)),
            "read the enterprise application",
        )
        .await
        .map_err(|e| problem(&e))?;
    let roles = sp
        .get("appRoles")
        .and_then(Value::as_array)
        .map(|roles| {
            roles
                .iter()
                .map(|r| AppRole {
                    id: str_of(r, "id").to_ascii_lowercase(),
                    value: r.get("value").and_then(Value::as_str).filter(|v| !v.is_empty()).map(str::to_owned),
                    display_name: str_of(r, "displayName"),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut assignments = Vec::new();
    graph
        .list(
            &format!("/servicePrincipals/{}/appRoleAssignedTo?$top={PAGE_SIZE}", encode(id)),
            false,
            "list the application's app role assignments",
            |items| {
                assignments.extend(items.iter().map(|a| Assignment {
                    principal_type: str_of(a, "principalType"),
                    principal_id: str_of(a, "principalId").to_ascii_lowercase(),
                    principal_name: str_of(a, "principalDisplayName"),
                    app_role_id: str_of(a, "appRoleId").to_ascii_lowercase(),
                }))
            },
        )
        .await
        .map_err(|e| problem(&e))?;
    assignments.sort();
    let mut nested = BTreeMap::new();
    let groups: BTreeSet<&str> =
        assignments.iter().filter(|a| a.principal_type == "Group").map(|a| a.principal_id.as_str()).collect();
    for g in groups {
        let mut names = Vec::new();
        graph
            .list(
                &format!(
                    "/groups/{}/members/microsoft.graph.group?$select=id,displayName&$count=true&$top={PAGE_SIZE}",
                    encode(g)
                ),
                true,
                "list nested groups",
                |items| names.extend(items.iter().map(|i| str_of(i, "displayName"))),
            )
            .await
            .map_err(|e| problem(&e))?;
        if !names.is_empty() {
            names.sort();
            nested.insert(g.to_owned(), names);
        }
    }
    Ok(App { id: id.to_owned(), name: str_of(&sp, "displayName"), roles, assignments, nested })
}

fn group_file(name: &str) -> String {
    format!("directory/groups/{name}.json")
}

/// `Sales Team (EU)` -> `sales-team-eu`.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// Unique names: `base`, `base-2`, ...
fn unique(base: String, fallback: &str, taken: &mut BTreeSet<String>) -> String {
    let base = if base.is_empty() { fallback.to_owned() } else { base };
    let mut name = base.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// The manifests' names for the application's roles and groups.
pub struct Names {
    /// app role id -> (role name, what the connector called it)
    pub roles: BTreeMap<String, (String, String)>,
    /// group id -> group name
    pub groups: BTreeMap<String, String>,
}

pub fn names(app: &App) -> Names {
    let mut taken = BTreeSet::new();
    let mut roles = BTreeMap::new();
    let used: BTreeSet<&str> = app.assignments.iter().map(|a| a.app_role_id.as_str()).collect();
    for id in used {
        let (base, shown) = match app.roles.iter().find(|r| r.id == id) {
            Some(r) => {
                let shown = r.value.clone().unwrap_or_else(|| r.display_name.clone());
                (slug(r.value.as_deref().unwrap_or(&r.display_name)), shown)
            }
            None if id == DEFAULT_ACCESS => ("user".to_owned(), "Default Access".to_owned()),
            None => (String::new(), id.to_owned()),
        };
        roles.insert(id.to_owned(), (unique(base, &format!("role-{id}"), &mut taken), shown));
    }
    let mut taken = BTreeSet::new();
    let mut groups = BTreeMap::new();
    for a in app.assignments.iter().filter(|a| a.principal_type == "Group") {
        if !groups.contains_key(&a.principal_id) {
            let name = unique(slug(&a.principal_name), &format!("group-{}", a.principal_id), &mut taken);
            groups.insert(a.principal_id.clone(), name);
        }
    }
    Names { roles, groups }
}

/// rollcall.yaml for `app`; `upn` names a directly assigned user by object id.
pub fn manifest(app: &App, names: &Names, upn: &BTreeMap<String, String>) -> String {
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Written by `rollcall import --from-entra-app {}` from the app role assignments of\n\
         # the enterprise application {}. `rollcall pull` refreshes the directory files.\n\
         version: 1\n\ntarget:\n  kind: goto\n\n\
         # Without scope, rollcall only manages the accounts it matches and deprovisions nothing;\n\
         # add `scope: {{domains: [...]}}` when it should own every account of your domains.\n\n\
         directory:\n  - {{ format: entra-json, path: {USERS_FILE}, pull: {{ users: all }} }}",
        app.id,
        quote(&app.name)
    );
    for (id, name) in &names.groups {
        let _ = writeln!(
            y,
            "  - {{ format: entra-group-members, group: {name}, path: {}, pull: {{ group: {id} }} }}",
            group_file(name)
        );
    }
    let _ = writeln!(y, "\nmatching: [email]\n\nroles:");
    for (id, (name, shown)) in &names.roles {
        let _ = writeln!(
            y,
            "  # TODO: the connector's app role {} ({id}): list the GoToMeeting licenses (and admin_roles)\n  \
             # it grants; `rollcall validate` reports this role as empty until then.\n  {name}:\n    licenses: []",
            quote(shown)
        );
    }
    y.push_str(
        "\nmappings:\n  email:     { from: \"ToLower([userPrincipalName])\" }\n  firstName: { from: \"[givenName]\" }\n  lastName:  { from: \"[surname]\" }\n\nassignments:\n",
    );
    let mut lines = BTreeSet::new();
    for a in &app.assignments {
        let Some((role, _)) = names.roles.get(&a.app_role_id) else { continue };
        match a.principal_type.as_str() {
            "User" => match upn.get(&a.principal_id) {
                Some(u) => {
                    lines.insert(format!("  - {{ user: {}, role: {role} }}\n", quote(u)));
                }
                None => {
                    lines.insert(format!(
                        "  # {} ({}) is assigned but was not among the pulled users\n",
                        a.principal_name, a.principal_id
                    ));
                }
            },
            "Group" => {
                let group = &names.groups[&a.principal_id];
                let mut line = format!("  - {{ group: {group}, role: {role} }}");
                if let Some(nested) = app.nested.get(&a.principal_id) {
                    let _ = write!(
                        line,
                        "   # nests {}: Entra gave the role to direct members only, rollcall expands nested groups",
                        nested.join(", ")
                    );
                }
                line.push('\n');
                lines.insert(line);
            }
            other => {
                lines.insert(format!("  # {} is a {other}, not a person: not migrated\n", a.principal_name));
            }
        }
    }
    if lines.is_empty() {
        y.push_str("  []\n");
    }
    for l in lines {
        y.push_str(&l);
    }
    y.push_str("\npolicy:\n  on_unassign: disable\n  welcome_email: false\n");
    y
}

/// `rollcall import --from-entra-app SP_ID --out DIR [--force]`.
pub fn run(app_id: &str, out: &Path, force: bool, quiet: bool) -> Result<ExitCode, Problems> {
    let app_id = app_id.trim().to_ascii_lowercase();
    if !is_object_id(&app_id) {
        return Err(Problem::new(Code::Graph, format!("`{app_id}` is not a service principal object id"))
            .help("use the Object ID on the enterprise application's overview page (Entra admin center > Enterprise applications), not the application (client) id")
            .into());
    }
    let root = out.join(MANIFEST_FILE);
    if root.exists() && !force {
        return Err(Problem::new(Code::ImportOut, format!("{} already exists", root.display()))
            .help("import into a new directory, or pass --force to overwrite")
            .into());
    }
    let settings = Settings::from_env().map_err(Problems::from)?;
    let graph = Graph::new(settings)?;
    let rt = super::runtime()?;
    let app = rt.block_on(read_app(&graph, &app_id))?;
    let names = names(&app);
    // Everything the manifest will pull, fetched once: the users file also names the directly
    // assigned users by user principal name.
    let mut entries = vec![pull::PullEntry {
        shown: USERS_FILE.to_owned(),
        path: out.join(USERS_FILE),
        format: DirectoryFormat::EntraJson,
        pull: Pull::AllUsers,
    }];
    for (id, name) in &names.groups {
        let shown = group_file(name);
        entries.push(pull::PullEntry {
            path: out.join(&shown),
            shown,
            format: DirectoryFormat::EntraGroupMembers,
            pull: Pull::Group(id.clone()),
        });
    }
    // What `rollcall pull` selects for the manifest written below, so that it finds no change.
    let attributes = ["accountEnabled", "givenName", "id", "mail", "surname", "userPrincipalName"];
    let plan = PullPlan { entries, attributes: attributes.map(str::to_owned).to_vec(), not_in_graph: Vec::new() };
    let fetched = rt.block_on(pull::fetch(&graph, &plan))?;
    let upn: BTreeMap<String, String> = fetched[0]
        .values()
        .filter_map(|line| {
            let v: Value = serde_json::from_str(line).ok()?;
            Some((str_of(&v, "id").to_ascii_lowercase(), v.get("userPrincipalName")?.as_str()?.to_owned()))
        })
        .collect();
    std::fs::create_dir_all(out)
        .map_err(|e| Problem::new(Code::Io, format!("cannot create {}: {e}", out.display())))?;
    let files = pull::store(&plan, &fetched)?;
    let text = manifest(&app, &names, &upn);
    std::fs::write(&root, text).map_err(|e| Problem::new(Code::Io, format!("cannot write {}: {e}", root.display())))?;
    if !quiet {
        let people = app.assignments.iter().filter(|a| a.principal_type == "User").count();
        eprintln!(
            "Wrote {} and {} directory files for {} ({} user and {} group assignments under {} app roles).",
            root.display(),
            files.len(),
            quote(&app.name),
            people,
            names.groups.len(),
            names.roles.len()
        );
        for (id, nested) in &app.nested {
            eprintln!(
                "note: group `{}` nests {}: Entra gave its app role to direct members only; rollcall expands nested groups, so their members get accounts too",
                names.groups[id],
                nested.join(", ")
            );
        }
        eprintln!(
            "next: give each role in {} the GoToMeeting licenses its app role stood for (the TODOs), then `rollcall validate` and `rollcall plan`.",
            root.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
