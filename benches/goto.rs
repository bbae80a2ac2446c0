//! The GoTo target against the emulator limited to 100 requests/s: apply 2,000 creates and
//! 2,000 updates, then a plan over 10,000 live accounts. Prints requests by kind and wall
//! time against the floor the rate limit sets (requests / rate).
//!
//! cargo bench --bench goto

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use goto_emulator::{Config, Emulator};
use serde_json::{Value, json};

const RATE: u32 = 100;

fn org(dir: &Path, people: usize, rps: u32) {
    let mut yaml = String::from("users:\n");
    for i in 0..people {
        yaml.push_str(&format!(
            "  - {{userPrincipalName: p{i:05}@acme.example, givenName: Given{i}, surname: Family{i}}}\n"
        ));
    }
    yaml.push_str("groups:\n  staff:\n    members:\n");
    for i in 0..people {
        yaml.push_str(&format!("      - p{i:05}@acme.example\n"));
    }
    std::fs::write(dir.join("people.yaml"), yaml).unwrap();
    std::fs::write(
        dir.join("rollcall.yaml"),
        format!(
            "version: 1\ntarget: {{kind: goto, requests_per_second: {rps}}}\nscope: {{domains: [acme.example]}}\ndirectory: [people.yaml]\n\
             roles: {{organizer: {{licenses: [\"GoToMeeting Business\"]}}}}\n\
             mappings:\n  email: {{from: \"[userPrincipalName]\"}}\n  firstName: {{from: \"[givenName]\"}}\n  lastName: {{from: \"[surname]\"}}\n\
             assignments: [{{group: staff, role: organizer}}]\npolicy: {{max_removals: {{count: 100000, percent: 100}}}}\n"
        ),
    )
    .unwrap();
}

/// `existing` accounts p00000.. with drifted last names (or current ones), holding the license.
fn snapshot(existing: usize, drifted: bool) -> Value {
    let users: Vec<Value> = (0..existing)
        .map(|i| {
            json!({"key": format!("{}", 7_000_000_000_000_000_000u64 + i as u64), "email": format!("p{i:05}@acme.example"),
                   "firstName": format!("Given{i}"), "lastName": if drifted { format!("Old{i}") } else { format!("Family{i}") },
                   "licenseKeys": ["1"], "adminRoles": [], "nameLocked": false, "emailLocked": false, "identityReadOnly": false})
        })
        .collect();
    json!({"account": {"key": "4152318826743922179", "name": "Bench"},
           "licenses": [{"key": "1", "description": "GoToMeeting Business", "seats": 100000}],
           "users": users})
}

fn rollcall(dir: &Path, emu: &Emulator, args: &[&str]) -> (f64, std::process::Output) {
    let t = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(args)
        .arg(dir)
        .env("ROLLCALL_API_URL", emu.api_url())
        .env("ROLLCALL_TOKEN_URL", emu.token_url())
        .env("GOTO_CLIENT_ID", "rollcall-test")
        .env("GOTO_CLIENT_SECRET", "s3cret-client")
        .env("GOTO_PAT", "pat-123")
        .env_remove("GOTO_ACCESS_TOKEN")
        .output()
        .expect("rollcall runs");
    (t.elapsed().as_secs_f64(), o)
}

fn main() {
    let mut config = Config::default();
    config.faults.rate_limit_per_second = Some(RATE);

    // Apply: 2,000 creates and 2,000 updates.
    let tmp = tempfile::tempdir().unwrap();
    org(tmp.path(), 4000, RATE);
    let emu = Emulator::start(Some(snapshot(2000, true)), config.clone()).unwrap();
    let (plan_secs, o) = rollcall(tmp.path(), &emu, &["plan"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Plan: 2000 to create, 2000 to update"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    emu.reset_requests();
    let (secs, o) = rollcall(tmp.path(), &emu, &["apply", "--auto-approve"]);
    let report = String::from_utf8_lossy(&o.stdout);
    let n = emu.requests();
    let floor = n.total as f64 / RATE as f64;
    println!("apply 2000 creates + 2000 updates at {RATE} requests/s (plan before it: {plan_secs:.1} s):");
    println!(
        "  requests: {} total = {} token, {} /me, {} list users, {} licenses, {} get user, {} create, {} update, {} delete; {} answered 429",
        n.total, n.token, n.me, n.list_users, n.licenses, n.get_user, n.create, n.update, n.delete, n.status_429
    );
    println!("  create requests per account: 1 per {:.0}", 2000.0 / n.create.max(1) as f64);
    println!(
        "  wall {secs:.1} s; floor {floor:.1} s ({} requests / {RATE} per s); {:+.1} % over the floor",
        n.total,
        (secs / floor - 1.0) * 100.0
    );
    println!("  {}", report.lines().rev().find(|l| l.starts_with("Apply complete")).unwrap_or("no report line"));
    let (_, o) = rollcall(tmp.path(), &emu, &["plan", "--detailed-exitcode"]);
    println!("  plan after apply: exit {:?} (0 = no changes)", o.status.code());
    emu.shutdown();

    // Plan over 10,000 live accounts.
    let tmp = tempfile::tempdir().unwrap();
    org(tmp.path(), 10_000, RATE);
    let emu = Emulator::start(Some(snapshot(10_000, false)), config).unwrap();
    let (secs, o) = rollcall(tmp.path(), &emu, &["plan"]);
    let n = emu.requests();
    println!(
        "plan over 10000 live accounts at {RATE} requests/s: {secs:.2} s wall, {} requests ({} list users, {} licenses, {} token, {} /me); {}",
        n.total,
        n.list_users,
        n.licenses,
        n.token,
        n.me,
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .find(|l| l.starts_with("No changes") || l.starts_with("Plan:"))
            .unwrap_or("?")
    );
}
