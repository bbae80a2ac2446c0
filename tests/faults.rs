//! Fault sweep: apply converges under each of the emulator's faults alone and all together,
//! and the report's counts are what happened to the account (counted from its state before
//! and after).

use std::collections::{BTreeMap, BTreeSet};

use goto_emulator::{Config, Faults, RequestCounts};
use serde_json::Value;

use crate::emulated::{Site, World, report_counts};

/// 160 actions: 60 creates, 50 updates, 20 enables, 30 disables.
const WORLD: World = World { people: 200, create: 60, rename: 50, regrant: 20, leavers: 30 };
/// rollcall's rate; the rate-limited cases give the emulator a quarter of it. The emulator's
/// bucket lets LIMIT through at once and LIMIT a second after, so at half of RATE rollcall
/// (160 requests and more) would hit it only when it kept its full pace for over a second:
/// under CPU load it did not, and the 429 case failed with "the fault did not happen".
const RATE: u32 = 80;
const LIMIT: u32 = 20;

/// What the report should say, from the account before and after: an account that appeared
/// was created; one that went from holding grants (licenses, admin roles) to none was
/// disabled, the other way enabled; any other change is an update.
fn counted(before: &Value, after: &Value) -> BTreeMap<String, usize> {
    let index = |s: &Value| -> BTreeMap<String, Value> {
        s["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| (u["email"].as_str().unwrap().to_lowercase(), u.clone()))
            .collect()
    };
    let (before, after) = (index(before), index(after));
    let licensed =
        |u: &Value| ["licenseKeys", "adminRoles"].iter().any(|f| u[*f].as_array().is_some_and(|l| !l.is_empty()));
    let mut c: BTreeMap<String, usize> =
        ["created", "updated", "disabled", "enabled", "deleted", "failed"].iter().map(|k| (k.to_string(), 0)).collect();
    for (email, u) in &after {
        let kind = match before.get(email) {
            None => "created",
            Some(b) if b == u => continue,
            Some(b) if licensed(b) && !licensed(u) => "disabled",
            Some(b) if !licensed(b) && licensed(u) => "enabled",
            Some(_) => "updated",
        };
        *c.get_mut(kind).unwrap() += 1;
    }
    c.insert("deleted".into(), before.keys().filter(|e| !after.contains_key(*e)).count());
    c
}

/// Licenses held and admin roles granted, over all accounts.
fn grants(s: &Value) -> (usize, usize) {
    let users = s["users"].as_array().unwrap();
    let n = |f: &str| users.iter().map(|u| u[f].as_array().map_or(0, Vec::len)).sum();
    (n("licenseKeys"), n("adminRoles"))
}

/// Whether the emulator's counts show that the fault happened.
type Happened = fn(&RequestCounts) -> bool;

fn sweep_case(name: &str, faults: Faults, check: Happened) {
    let site = Site::world(&WORLD, RATE, Config { faults, ..Config::default() });
    let before = site.emu.snapshot();
    let line = site.apply_ok(name);
    let after = site.emu.snapshot();
    let n = site.emu.requests();
    assert!(check(&n), "{name}: the fault did not happen: {n:?}");
    assert_eq!(report_counts(&line), counted(&before, &after), "{name}: {line}");
    let wanted = (WORLD.people + WORLD.people.div_ceil(7), WORLD.people.div_ceil(10));
    assert_eq!(grants(&after), wanted, "{name}: licenses and admin roles held");
    WORLD.assert_converged(&after, name);
    // The account is right, and rollcall agrees: nothing left to do (asked without faults).
    site.emu.set_config(Config::default());
    site.assert_no_changes(name);
    eprintln!(
        "{name}: {line} ({} requests, {} answered 429, {} 5xx, {} dropped)",
        n.total, n.status_429, n.status_5xx, n.dropped
    );
}

#[test]
fn apply_converges_under_each_fault_and_all_together_and_reports_what_happened() {
    let rate_limited = Faults { rate_limit_per_second: Some(LIMIT), ..Faults::default() };
    let cases: Vec<(&str, Faults, Happened)> = vec![
        ("429 without Retry-After", rate_limited.clone(), |n| n.status_429 > 0),
        ("429 with Retry-After", Faults { retry_after: true, ..rate_limited.clone() }, |n| n.status_429 > 0),
        ("5xx at 20 %", Faults { seed: 11, error_rate: 0.2, ..Faults::default() }, |n| n.status_5xx > 0),
        ("latency 25 ms", Faults { latency_ms: 25, ..Faults::default() }, |n| n.total > 0),
        (
            "connection dropped after 20 % of writes",
            Faults { seed: 12, drop_after_write: 0.2, ..Faults::default() },
            |n| n.dropped > 0,
        ),
        (
            "all together",
            Faults {
                seed: 13,
                // Lower than alone: latency, retries and backoff slow rollcall down, and the
                // limit must still be hit whatever the machine's load.
                rate_limit_per_second: Some(LIMIT / 2),
                retry_after: true,
                error_rate: 0.2,
                latency_ms: 25,
                drop_after_write: 0.2,
                ..Faults::default()
            },
            |n| n.status_429 > 0 && n.status_5xx > 0 && n.dropped > 0,
        ),
    ];
    for (name, faults, check) in cases {
        sweep_case(name, faults, check);
    }
}

#[test]
fn counting_from_state_sees_every_kind_of_change() {
    // The oracle of the sweep, on a tiny example: one of each.
    let before: Value = serde_json::json!({"users": [
        {"email": "a@x", "lastName": "A", "licenseKeys": ["1"]},
        {"email": "b@x", "lastName": "B", "licenseKeys": ["1"]},
        {"email": "c@x", "lastName": "C", "licenseKeys": []},
        {"email": "d@x", "lastName": "D", "licenseKeys": ["1"]},
        {"email": "e@x", "lastName": "E", "licenseKeys": ["1"]},
        {"email": "g@x", "lastName": "G", "licenseKeys": [], "adminRoles": ["MANAGE_USERS"]}]});
    let after: Value = serde_json::json!({"users": [
        {"email": "a@x", "lastName": "A2", "licenseKeys": ["1"]},
        {"email": "b@x", "lastName": "B", "licenseKeys": []},
        {"email": "c@x", "lastName": "C", "licenseKeys": ["1"]},
        {"email": "d@x", "lastName": "D", "licenseKeys": ["1"]},
        {"email": "f@x", "lastName": "F", "licenseKeys": ["1"]},
        {"email": "g@x", "lastName": "G", "licenseKeys": ["1"], "adminRoles": ["MANAGE_USERS"]}]});
    let c = counted(&before, &after);
    let ones: BTreeSet<&str> = c.iter().filter(|(_, n)| **n == 1).map(|(k, _)| k.as_str()).collect();
    assert_eq!(ones, ["created", "deleted", "disabled", "enabled"].into());
    assert_eq!(c["updated"], 2, "a and g (g held an admin role: not disabled)");
    assert_eq!(c["failed"], 0);
}
