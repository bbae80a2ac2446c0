//! `rollcall pull` of 100,000 users and 50 groups from the Microsoft Graph emulator, through
//! the real binary: prints requests by kind, wall time and peak memory, for a first pull
//! (every file created) and a second one after 1 % of the directory changed.
//!
//! cargo bench --bench pull

use std::path::Path;
use std::time::Instant;

// The organisation generator is not used here: only the measuring.
#[allow(dead_code)]
mod common;

use common::measure::{self, Measured};

use goto_emulator::graph::{GraphConfig, GraphEmulator, Group, Tenant, User};

const USERS: usize = 100_000;
const GROUPS: usize = 50;
/// Each group holds this many users directly; every fifth group also nests the next one.
const MEMBERS: usize = 2_000;

fn id(prefix: u32, n: usize) -> String {
    format!("{prefix:08x}-0000-4000-8000-{n:012}")
}

fn tenant() -> Tenant {
    let users = (0..USERS)
        .map(|i| {
            let mut u =
                User::new(&id(1, i), &format!("p{i:06}@acme.example"), &format!("Given{i}"), &format!("Family{i}"));
            u.set("department", ["Sales", "Engineering", "Support", "Finance"][i % 4]);
            u
        })
        .collect();
    let groups = (0..GROUPS)
        .map(|g| {
            let mut members: Vec<String> = (0..MEMBERS).map(|k| id(1, (g * MEMBERS + k) % USERS)).collect();
            if g % 5 == 0 && g + 1 < GROUPS {
                members.push(id(2, g + 1));
            }
            Group { id: id(2, g), display_name: format!("Group {g}"), members }
        })
        .collect();
    Tenant { users, groups, service_principals: Vec::new() }
}

fn manifest(dir: &Path) {
    let mut yaml = String::from(
        "version: 1\ntarget: {kind: file, path: live.json}\ndirectory:\n  - { format: entra-json, path: exports/users.json, pull: { users: all } }\n",
    );
    for g in 0..GROUPS {
        yaml.push_str(&format!(
            "  - {{ format: entra-group-members, group: g{g}, path: exports/groups/g{g}.json, pull: {{ group: {} }} }}\n",
            id(2, g)
        ));
    }
    yaml.push_str(
        "roles:\n  organizer: {licenses: [\"GoToMeeting Business\"]}\nmappings:\n  email: {from: \"ToLower([userPrincipalName])\"}\n  firstName: {from: \"[givenName]\"}\n  lastName: {from: \"[surname]\"}\nscoping:\n  - {attribute: department, op: not_equals, value: Finance}\nassignments:\n  - {group: g0, role: organizer}\n",
    );
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("rollcall.yaml"), yaml).unwrap();
}

/// `rollcall pull DIR` pointed at the emulator, peak memory from /usr/bin/time when present.
fn pull(emu: &GraphEmulator, dir: &Path, report_dir: &Path) -> Measured {
    std::fs::create_dir_all(report_dir).unwrap();
    let c = emu.config();
    measure::rollcall_with(&["pull", dir.to_str().unwrap(), "--detailed-exitcode"], report_dir, |cmd| {
        cmd.env_remove("AZURE_FEDERATED_TOKEN_FILE")
            .env("AZURE_TENANT_ID", &c.tenant_id)
            .env("AZURE_CLIENT_ID", &c.client_id)
            .env("AZURE_CLIENT_SECRET", &c.client_secret)
            .env("AZURE_AUTHORITY_HOST", emu.authority_host())
            .env("ROLLCALL_GRAPH_URL", emu.graph_url());
    })
}

fn report(step: &str, emu: &GraphEmulator, m: &Measured) {
    let c = emu.requests();
    assert!(
        matches!(m.output.status.code(), Some(0 | 2)),
        "{step}: {}\n{}",
        String::from_utf8_lossy(&m.output.stdout),
        String::from_utf8_lossy(&m.output.stderr)
    );
    println!(
        "{step:<28} {:>8.2} s  {:>6.1} MB peak  requests: {} (token {}, users {}, group members {})",
        m.wall.as_secs_f64(),
        m.peak_kb as f64 / 1024.0,
        c.total,
        c.token,
        c.users,
        c.group_members
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("org");
    manifest(&dir);
    let built = Instant::now();
    let emu = GraphEmulator::start(tenant(), GraphConfig::default()).unwrap();
    println!(
        "rollcall pull: {USERS} users, {GROUPS} groups of {MEMBERS} direct members (every fifth nests the next); emulator ready in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    let first = pull(&emu, &dir, &tmp.path().join("time.1"));
    report("first pull (all created)", &emu, &first);
    let bytes: u64 = walk(&dir.join("exports"));
    println!("{:<28} {:>8.1} MB written", "", bytes as f64 / 1e6);
    emu.reset_requests();
    emu.update(|t| {
        for (k, u) in t.users.iter_mut().enumerate().filter(|(k, _)| k % 100 == 0) {
            u.set("surname", format!("Renamed{k}"));
        }
    });
    let second = pull(&emu, &dir, &tmp.path().join("time.2"));
    report("second pull (1 % renamed)", &emu, &second);
    print!(
        "{}",
        String::from_utf8_lossy(&second.output.stdout).lines().take(2).map(|l| format!("  {l}\n")).collect::<String>()
    );
}

fn walk(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|d| {
            d.flatten()
                .map(|e| if e.path().is_dir() { walk(&e.path()) } else { e.metadata().map_or(0, |m| m.len()) })
                .sum()
        })
        .unwrap_or(0)
}
