//! `rollcall pull` and `rollcall import --from-entra-app` through the real binary against the
//! Microsoft Graph emulator, and plans of the pulled directory against the GoTo emulator.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use goto_emulator::graph::{AppRole, GraphConfig, GraphEmulator, Group, ServicePrincipal, Tenant, User};
use goto_emulator::{Config, Emulator};
use serde_json::Value;

const SECRET: &str = "graph-client-secret-very-secret";
const FEDERATED: &str = "eyJhbGciOiJSUzI1NiJ9.federated-very-secret.sig";
const GOTO_TOKEN: &str = "at-static-very-secret";

fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}
const SALES: &str = "5a1e5000-0000-4000-8000-000000000001";
const SALES_EU: &str = "5a1e5000-0000-4000-8000-000000000002";
const EXPANSION: &str = "5a1e5000-0000-4000-8000-000000000003";
const APP: &str = "a9900000-0000-4000-8000-000000000001";
const ROLE_ORGANIZER: &str = "a0000000-0000-4000-8000-00000000000a";
const ROLE_ADMIN: &str = "a0000000-0000-4000-8000-00000000000b";

fn user(n: u32, name: &str, surname: &str) -> User {
    User::new(&id(n), &format!("{}@acme.example", name.to_lowercase()), name, surname)
}

/// Five people; `sales` holds ann and bob and nests `sales-eu` (cho); dan and eve are in no group.
fn tenant() -> Tenant {
    Tenant {
        users: vec![
            user(1, "Ann", "Archer"),
            user(2, "Bob", "Baker"),
            user(3, "Cho", "Chen"),
            user(4, "Dan", "Dunn"),
            user(5, "Eve", "Evans"),
        ],
        groups: vec![
            Group { id: SALES.into(), display_name: "Sales".into(), members: vec![id(1), id(2), SALES_EU.into()] },
            Group { id: SALES_EU.into(), display_name: "Sales EU".into(), members: vec![id(3)] },
        ],
        service_principals: vec![ServicePrincipal {
            id: APP.into(),
            app_id: "b0000000-0000-4000-8000-000000000001".into(),
            display_name: "GoToMeeting".into(),
            app_roles: vec![
                AppRole { id: ROLE_ORGANIZER.into(), value: "Organizer".into(), display_name: "Organizer".into() },
                AppRole { id: ROLE_ADMIN.into(), value: "Admin".into(), display_name: "Administrator".into() },
            ],
            assigned_to: vec![
                (SALES.into(), ROLE_ORGANIZER.into()),
                (id(4), ROLE_ORGANIZER.into()),
                (id(5), ROLE_ADMIN.into()),
            ],
        }],
    }
}

fn graph_config() -> GraphConfig {
    GraphConfig { client_secret: SECRET.into(), federated_token: FEDERATED.into(), ..GraphConfig::default() }
}

const MANIFEST: &str = r#"version: 1
target: {kind: goto, requests_per_second: 400}
scope: {domains: [acme.example]}
directory:
  - { format: entra-json, path: exports/users.json, pull: { users: all } }
  - { format: entra-group-members, group: sales, path: exports/sales.json, pull: { group: SALES } }
roles:
  organizer: {licenses: ["GoToMeeting Business"]}
mappings:
  email: {from: "ToLower([userPrincipalName])"}
  firstName: {from: "[givenName]"}
  lastName: {from: "[surname]"}
assignments:
  - {group: sales, role: organizer}
policy: {max_removals: {count: 25, percent: 100}}
"#;

struct Site {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    graph: GraphEmulator,
    goto: Emulator,
}

impl Site {
    fn new() -> Site {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("acme");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("rollcall.yaml"), MANIFEST.replace("SALES", SALES)).unwrap();
        let graph = GraphEmulator::start(tenant(), graph_config()).unwrap();
        let goto = Emulator::start(None, Config { access_token: GOTO_TOKEN.into(), ..Config::default() }).unwrap();
        Site { _tmp: tmp, dir, graph, goto }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let c = self.graph.config();
        let mut cmd = crate::support::rollcall();
        cmd.args(args)
            .current_dir(self.dir.parent().unwrap())
            .env_remove("AZURE_FEDERATED_TOKEN_FILE")
            .env_remove("GITHUB_ACTIONS")
            .env("AZURE_TENANT_ID", &c.tenant_id)
            .env("AZURE_CLIENT_ID", &c.client_id)
            .env("AZURE_CLIENT_SECRET", SECRET)
            .env("AZURE_AUTHORITY_HOST", self.graph.authority_host())
            .env("ROLLCALL_GRAPH_URL", self.graph.graph_url())
            .env("ROLLCALL_API_URL", self.goto.api_url())
            .env("ROLLCALL_TOKEN_URL", self.goto.token_url())
            .env("GOTO_ACCESS_TOKEN", GOTO_TOKEN);
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn d(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap()
    }

    /// The plan's actions as `action email`, sorted.
    fn plan(&self) -> Vec<String> {
        let out = self.run(&["plan", self.d(), "--format", "json"]);
        assert!(out.status.success(), "{}", text(&out));
        let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut actions: Vec<String> = plan["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| format!("{} {}", a["action"].as_str().unwrap(), a["email"].as_str().unwrap()))
            .collect();
        actions.sort();
        actions
    }
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Records (lines without their separating comma) only in `before`, and only in `after`.
/// Besides these, a diff shows at most the last record's line gaining or losing its comma.
fn line_diff(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let b: BTreeSet<&str> = before.lines().map(|l| l.trim_end_matches(',')).collect();
    let a: BTreeSet<&str> = after.lines().map(|l| l.trim_end_matches(',')).collect();
    let raw = |x: &str, y: &str| {
        let y: BTreeSet<&str> = y.lines().collect();
        x.lines().filter(|l| !y.contains(l)).count()
    };
    let (removed, added): (Vec<String>, Vec<String>) =
        (b.difference(&a).map(|s| (*s).to_owned()).collect(), a.difference(&b).map(|s| (*s).to_owned()).collect());
    assert!(raw(before, after) <= removed.len() + 1 && raw(after, before) <= added.len() + 1);
    (removed, added)
}

#[test]
fn pull_writes_the_files_the_readers_take_and_plan_shows_the_joiners() {
    let site = Site::new();
    // Before the first pull the manifest does not validate: the files do not exist yet.
    let out = site.run(&["validate", site.d()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = site.run(&["pull", site.d(), "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "exports/users.json: created, 5 added, 0 removed, 0 changed (5 records)\n\
         exports/sales.json: created, 3 added, 0 removed, 0 changed (3 records)\n"
    );
    let members = site.file("exports/sales.json");
    assert_eq!(
        members,
        format!(
            "[\n\
             {{\"id\": \"{}\", \"mail\": \"ann@acme.example\", \"userPrincipalName\": \"ann@acme.example\"}},\n\
             {{\"id\": \"{}\", \"mail\": \"bob@acme.example\", \"userPrincipalName\": \"bob@acme.example\"}},\n\
             {{\"id\": \"{}\", \"mail\": \"cho@acme.example\", \"userPrincipalName\": \"cho@acme.example\"}}\n\
             ]\n",
            id(1),
            id(2),
            id(3)
        )
    );
    let users = site.file("exports/users.json");
    assert_eq!(users.lines().count(), 7, "one record per line:\n{users}");
    assert!(users.contains(&format!(
        "{{\"id\": \"{}\", \"accountEnabled\": true, \"givenName\": \"Ann\", \"mail\": \"ann@acme.example\", \"surname\": \"Archer\", \"userPrincipalName\": \"ann@acme.example\"}},",
        id(1)
    )));
    // Only what the manifest uses (and what rollcall always needs) is selected.
    let log = site.graph.request_log();
    let users_query = log.iter().find(|r| r.path == "/v1.0/users").and_then(|r| r.query.clone()).unwrap();
    assert!(users_query.contains("$select=accountEnabled,givenName,id,mail,surname,userPrincipalName&$top=999"));
    let members_request = log.iter().find(|r| r.path.contains("transitiveMembers")).unwrap();
    assert_eq!(members_request.consistency_level.as_deref(), Some("eventual"));
    let out = site.run(&["validate", site.d()]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        site.plan(),
        ["create ann@acme.example", "create bob@acme.example", "create cho@acme.example"],
        "the group's transitive members are the joiners"
    );
    // Pulled again with nothing changed in Graph: no rewrite, exit 0.
    let out = site.run(&["pull", site.d(), "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("exports/users.json: unchanged, 0 added, 0 removed, 0 changed")
    );
    assert_eq!(site.file("exports/sales.json"), members);
}

#[test]
fn a_change_in_graph_is_a_minimal_diff_and_the_expected_plan() {
    let site = Site::new();
    assert_eq!(site.run(&["pull", site.d()]).status.code(), Some(0));
    let out = site.run(&["apply", site.d(), "--auto-approve"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(site.plan().is_empty());
    let (users_before, sales_before) = (site.file("exports/users.json"), site.file("exports/sales.json"));
    site.graph.update(|t| {
        // A leaver, a rename, a new direct member, and a new group nested in sales.
        t.users.retain(|u| u.id != id(2));
        t.groups[0].members.retain(|m| *m != id(2));
        t.users[0].set("surname", "Archer-Smith");
        t.groups[0].members.push(id(4));
        t.groups.push(Group { id: EXPANSION.into(), display_name: "Expansion".into(), members: vec![id(5)] });
        t.groups[1].members.push(EXPANSION.into());
    });
    let out = site.run(&["pull", site.d(), "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "exports/users.json: updated, 0 added, 1 removed, 1 changed (4 records)\n\
         exports/sales.json: updated, 2 added, 1 removed, 0 changed (4 records)\n"
    );
    let (removed, added) = line_diff(&users_before, &site.file("exports/users.json"));
    assert_eq!(removed.len(), 2, "bob's line and ann's old line: {removed:?}");
    assert_eq!(added.len(), 1, "ann's new line: {added:?}");
    assert!(added[0].contains("Archer-Smith") && removed.iter().any(|l| l.contains("bob@")));
    let (removed, added) = line_diff(&sales_before, &site.file("exports/sales.json"));
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(removed[0].contains("bob@"));
    assert_eq!(added.len(), 2, "{added:?}");
    assert!(added.iter().any(|l| l.contains("dan@")) && added.iter().any(|l| l.contains("eve@")));
    assert_eq!(
        site.plan(),
        ["create dan@acme.example", "create eve@acme.example", "disable bob@acme.example", "update ann@acme.example"]
    );
}

#[test]
fn pull_follows_next_links_over_several_pages() {
    let site = Site::new();
    site.graph.set_config(GraphConfig { serve_at_most: Some(2), ..graph_config() });
    let out = site.run(&["pull", site.d()]);
    assert!(out.status.success(), "{}", text(&out));
    let counts = site.graph.requests();
    assert_eq!(counts.users, 3, "5 users at 2 a page: {counts:?}");
    assert_eq!(counts.group_members, 2, "3 members at 2 a page: {counts:?}");
    let skip_tokens = site
        .graph
        .request_log()
        .iter()
        .filter(|r| r.query.as_deref().is_some_and(|q| q.contains("$skiptoken")))
        .count();
    assert_eq!(skip_tokens, 3);
    assert_eq!(site.file("exports/users.json").lines().count(), 7);
}

#[test]
fn throttling_and_a_page_failing_mid_way_leave_the_files_intact_then_converge() {
    let site = Site::new();
    site.graph.set_config(GraphConfig { serve_at_most: Some(2), ..graph_config() });
    assert!(site.run(&["pull", site.d()]).status.success());
    let before = (site.file("exports/users.json"), site.file("exports/sales.json"));
    site.graph.update(|t| t.users.retain(|u| u.id != id(5)));

    // The second page of users fails every time: nothing is written, exit 1.
    let mut config = GraphConfig { serve_at_most: Some(2), ..graph_config() };
    config.faults.fail_page = Some(2);
    site.graph.set_config(config);
    let out = site.run(&["pull", site.d(), "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rollcall::graph") && stderr.contains("503"), "{stderr}");
    assert_eq!((site.file("exports/users.json"), site.file("exports/sales.json")), before);

    // A group that disappeared after the users were fetched: nothing is written either.
    site.graph.set_config(GraphConfig { serve_at_most: Some(2), ..graph_config() });
    let groups = site.graph.tenant().groups;
    site.graph.update(|t| t.groups.clear());
    let out = site.run(&["pull", site.d()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Request_ResourceNotFound"), "{}", text(&out));
    assert_eq!((site.file("exports/users.json"), site.file("exports/sales.json")), before);
    site.graph.update(|t| t.groups = groups);

    // 429s with Retry-After are waited out; the pull converges.
    let mut config = GraphConfig { serve_at_most: Some(2), ..graph_config() };
    config.faults.throttle_next = 2;
    config.faults.retry_after_secs = 1;
    config.faults.unavailable_next = 1;
    site.graph.set_config(config);
    site.graph.reset_requests();
    let out = site.run(&["pull", site.d(), "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let counts = site.graph.requests();
    assert_eq!((counts.status_429, counts.status_5xx), (2, 1), "{counts:?}");
    assert!(!site.file("exports/users.json").contains("eve@"));
    assert_eq!(site.file("exports/sales.json"), before.1);
}

#[test]
fn no_secret_in_any_output_file_or_log() {
    let site = Site::new();
    let token_file = site.dir.parent().unwrap().join("federated-token");
    std::fs::write(&token_file, FEDERATED).unwrap();
    let mut outputs = Vec::new();
    // Client secret, verbose (every request logged).
    outputs.push(site.run(&["pull", site.d(), "-vv"]));
    // Workload identity federation.
    let out = site
        .cmd(&["pull", site.d(), "-vv"])
        .env_remove("AZURE_CLIENT_SECRET")
        .env("AZURE_FEDERATED_TOKEN_FILE", &token_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    outputs.push(out);
    // A wrong secret fails, without printing either.
    let out = site.cmd(&["pull", site.d()]).env("AZURE_CLIENT_SECRET", "wrong-secret-value").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AADSTS7000215"), "{}", text(&out));
    outputs.push(out);
    let mut everything: Vec<String> = outputs.iter().map(text).collect();
    for f in ["exports/users.json", "exports/sales.json", "rollcall.yaml"] {
        everything.push(site.file(f));
    }
    for text in &everything {
        for secret in [SECRET, FEDERATED, "wrong-secret-value", "emulated-"] {
            assert!(!text.contains(secret), "`{secret}` leaked:\n{text}");
        }
    }
    let counts = site.graph.requests();
    assert_eq!(counts.token, 3, "one token per run: {counts:?}");
}

#[test]
fn pull_needs_credentials_and_a_valid_pull_entry() {
    let site = Site::new();
    let out =
        site.cmd(&["pull", site.d()]).env_remove("AZURE_CLIENT_SECRET").env_remove("AZURE_TENANT_ID").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("AZURE_TENANT_ID, AZURE_CLIENT_SECRET (or AZURE_FEDERATED_TOKEN_FILE) not set"),
        "{stderr}"
    );
    let out = site.cmd(&["pull", site.d()]).env("ROLLCALL_GRAPH_URL", "http://graph.example.com").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rollcall::insecure-url"), "{}", text(&out));
    std::fs::write(
        site.dir.join("rollcall.yaml"),
        MANIFEST
            .replace("pull: { group: SALES }", "pull: { group: Sales }")
            .replace("pull: { users: all }", "pull: { users: all, filter: \"x\" }"),
    )
    .unwrap();
    let out = site.run(&["pull", site.d()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rollcall::pull-shape"), "{stderr}");
    assert!(stderr.contains("`Sales` is not a group object id"), "{stderr}");
    assert!(stderr.contains("exactly one of `users: all`, `filter:` or `group:`"), "{stderr}");
    assert!(stderr.contains("rollcall.yaml:5:"), "points at the entry: {stderr}");
    assert_eq!(site.graph.requests().total, 0, "invalid input never reaches Graph");
    // validate reports the same.
    let out = site.run(&["validate", site.d()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("rollcall::pull-shape"));
}

#[test]
fn a_manifest_broken_outside_directory_can_still_be_pulled() {
    let site = Site::new();
    let yaml = site.file("rollcall.yaml").replace("roles:\n", "rolez: {}\nroles:\n");
    std::fs::write(site.dir.join("rollcall.yaml"), yaml).unwrap();
    let out = site.run(&["pull", site.d()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not validate outside `directory:`"), "{}", text(&out));
    assert!(site.file("exports/users.json").contains("\"surname\": \"Archer\""));
}

#[test]
fn a_filter_pull_asks_graph_with_an_advanced_query() {
    let site = Site::new();
    std::fs::write(
        site.dir.join("rollcall.yaml"),
        MANIFEST
            .replace(
                "pull: { users: all }",
                "pull: { filter: \"endswith(userPrincipalName,'@acme.example') and surname ne 'Dunn'\" }",
            )
            .replace("SALES", SALES),
    )
    .unwrap();
    let out = site.run(&["pull", site.d()]);
    assert!(out.status.success(), "{}", text(&out));
    let users = site.file("exports/users.json");
    assert!(!users.contains("dan@") && users.contains("eve@"), "{users}");
}

fn write_role_licenses(dir: &Path) {
    let path = dir.join("rollcall.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    let yaml = yaml
        .replace("  organizer:\n    licenses: []", "  organizer:\n    licenses: [\"GoToMeeting Business\"]")
        .replace(
            "  admin:\n    licenses: []",
            "  admin:\n    licenses: [\"GoToMeeting Business\"]\n    admin_roles: [MANAGE_USERS]",
        );
    std::fs::write(path, yaml).unwrap();
}

#[test]
fn import_from_the_entra_app_reproduces_its_assignments() {
    let site = Site::new();
    let out_dir = site.dir.parent().unwrap().join("migrated");
    let out = site.run(&["import", "--from-entra-app", APP, "--out", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("group `sales` nests Sales EU: Entra gave its app role to direct members only; rollcall expands nested groups"),
        "{stderr}"
    );
    let yaml = std::fs::read_to_string(out_dir.join("rollcall.yaml")).unwrap();
    assert!(yaml.contains("# TODO: the connector's app role \"Organizer\""), "{yaml}");
    assert!(yaml.contains(&format!("path: directory/groups/sales.json, pull: {{ group: {SALES} }}")), "{yaml}");
    assert!(
        yaml.contains("  - { user: \"dan@acme.example\", role: organizer }")
            || yaml.contains("  - { user: dan@acme.example, role: organizer }"),
        "{yaml}"
    );
    // The files are what `rollcall pull` writes for this manifest.
    let out = site.run(&["pull", out_dir.to_str().unwrap(), "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Until the roles are mapped, validation says so.
    let out = site.run(&["validate", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("role `organizer` grants nothing") && stderr.contains("role `admin` grants nothing"),
        "{stderr}"
    );
    write_role_licenses(&out_dir);
    let out = site.run(&["plan", out_dir.to_str().unwrap(), "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut actions: Vec<String> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{} {}", a["action"].as_str().unwrap(), a["email"].as_str().unwrap()))
        .collect();
    actions.sort();
    // sales (ann, bob, and cho through the nested group) and dan: organizer; eve: admin.
    assert_eq!(
        actions,
        [
            "create ann@acme.example",
            "create bob@acme.example",
            "create cho@acme.example",
            "create dan@acme.example",
            "create eve@acme.example"
        ]
    );
    let eve =
        plan["actions"].as_array().unwrap().iter().find(|a| a["email"] == "eve@acme.example").unwrap().to_string();
    assert!(eve.contains("MANAGE_USERS"), "{eve}");
    let dan =
        plan["actions"].as_array().unwrap().iter().find(|a| a["email"] == "dan@acme.example").unwrap().to_string();
    assert!(!dan.contains("MANAGE_USERS") && dan.contains("GoToMeeting Business"), "{dan}");
    // Importing again over it is refused without --force.
    let out = site.run(&["import", "--from-entra-app", APP, "--out", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}
