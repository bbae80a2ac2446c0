//! The planner alone: 100,000 desired people against 100,000 live accounts with 1 % drift
//! (names changed by hand, people who left, people who joined). Prints time and memory.
//!
//! cargo bench --bench planner

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use rollcall::config::Scope;
use rollcall::desired::{Desired, DesiredAccount, DesiredAttribute, RoleGrant, SafetyPolicy};
use rollcall::live::{Grant, Key, License, LiveAccount, LiveState, Locks};
use rollcall::manifest::OnUnassign;
use rollcall::plan::{PlanOptions, plan};

fn vm(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn attr(name: &str, v: String) -> DesiredAttribute {
    let v: std::sync::Arc<str> = v.into();
    DesiredAttribute { name: name.into(), on_create: Some(v.clone()), synced: true, ..Default::default() }
}

fn world(n: usize) -> (Desired, LiveState) {
    let business = "7902142105473202120";
    let mut people = Vec::with_capacity(n);
    // As `desired` builds them: everyone with the same roles shares one set.
    let grants = std::sync::Arc::new([RoleGrant::License("GoToMeeting Business".into())].into());
    let roles = std::sync::Arc::new(["organizer".into()].into());
    let mut accounts = Vec::with_capacity(n);
    for i in 0..n {
        let email = format!("person{i:06}@acme.example");
        let drift = i % 100;
        // 1 % drift: 0.4 % renamed by hand, 0.3 % left, 0.3 % joined.
        if drift != 1 && drift != 2 && drift != 3 {
            people.push(DesiredAccount {
                person: email.as_str().into(),
                attributes: vec![
                    attr("email", email.clone()),
                    attr("firstName", format!("First{i}")),
                    attr("lastName", format!("Last{i}")),
                    DesiredAttribute {
                        name: "timeZone".into(),
                        on_create: Some("Europe/Berlin".into()),

                        ..Default::default()
                    },
                ],
                key: None,
                grants: std::sync::Arc::clone(&grants),
                roles: std::sync::Arc::clone(&roles),
                enabled: true,
            });
        }
        if drift != 4 && drift != 5 && drift != 6 {
            let mut attributes = rollcall::live::Attributes::new();
            attributes.insert("email", email);
            attributes.insert("firstName", format!("First{i}"));
            attributes.insert("lastName", if drift >= 96 { format!("Lst{i}") } else { format!("Last{i}") });
            attributes.insert("timeZone", "Europe/Berlin".to_owned());
            accounts.push(LiveAccount {
                key: Key(format!("{}", 6_000_000_000_000_000_000u64 + i as u64)),
                attributes,
                grants: [Grant::License(Key(business.into()))].into(),
                locks: Locks::default(),
            });
        }
    }
    let desired = Desired {
        accounts: people,
        managed: [RoleGrant::License("GoToMeeting Business".into())].into(),
        license_origins: BTreeMap::new(),
        scope: Some(Scope { domains: vec!["acme.example".into()], exclude: vec![] }),
        matching: vec!["email".into()],
        policy: SafetyPolicy {
            on_unassign: OnUnassign::Disable,
            max_removals_count: 25,
            max_removals_percent: 20.0,
            max_removals_min_accounts: 0,
            protect: BTreeSet::new(),
        },
    };
    let live = LiveState {
        account_key: Key("4152318826743922179".into()),
        account_name: "Acme".into(),
        licenses: vec![License {
            key: Key(business.into()),
            description: "GoToMeeting Business".into(),
            seats: Some(200_000),
        }],
        accounts,
        me: None,
        caller_admin_roles: None,
    };
    (desired, live)
}

fn main() {
    for n in [10_000, 100_000] {
        let (desired, live) = world(n);
        let rss_before = vm("VmRSS:");
        let mut best = f64::MAX;
        let mut summary = None;
        for _ in 0..3 {
            let t = Instant::now();
            let p = plan(&desired, &live, &PlanOptions::default()).expect("plans");
            best = best.min(t.elapsed().as_secs_f64());
            summary = Some(p.summary());
        }
        let s = summary.unwrap();
        println!(
            "planner {n} desired x {} live: {:.0} ms (best of 3); plan: {} create, {} update, {} disable; peak RSS {} MB (inputs {} MB)",
            live.accounts.len(),
            best * 1000.0,
            s.create,
            s.update,
            s.disable,
            vm("VmHWM:") / 1024,
            rss_before / 1024,
        );
    }
}
