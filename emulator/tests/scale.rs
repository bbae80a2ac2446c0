//! The account is indexed by key and email: lookups follow email changes, deletes and users
//! added in the same request, and a large account stays fast (rollcall's benchmarks run the
//! emulator with 100,000 users).

use crate::common::{Api, key_str, start, with_users};
use goto_emulator::Config;
use serde_json::json;
use std::time::{Duration, Instant};

fn total(api: &Api, filter: &str) -> u64 {
    let r = api.get(&format!("users?filter={}", filter.replace(' ', "%20").replace('"', "%22").replace('@', "%40")));
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["total"].as_u64().unwrap()
}

#[test]
fn lookups_follow_email_changes_deletes_and_users_added_together() {
    let emu = start(Some(with_users(5)), Config::default());
    let api = Api::new(&emu);
    let key1 = "6000000000000000001";
    assert_eq!(api.put(&format!("users/{key1}"), json!({"email": "renamed@example.com"})).status, 204);
    assert_eq!(total(&api, "email eq \"RENAMED@example.com\""), 1);
    assert_eq!(total(&api, "email eq \"user001@example.com\""), 0);
    // The old email is free again; the new one is taken.
    let r = api.post("users", json!({"users": [{"email": "user001@example.com"}, {"email": "Renamed@Example.com"}]}));
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert_ne!(key_str(&v[0]["key"]), key1);
    assert_eq!(key_str(&v[1]["key"]), key1);
    // Deleting shifts the users after it; they are still found by key and email.
    assert_eq!(api.delete("users/6000000000000000002").status, 204);
    assert_eq!(api.user("6000000000000000003")["email"], "user003@example.com");
    assert_eq!(total(&api, "email eq \"user004@example.com\""), 1);
    assert_eq!(api.get("users/6000000000000000002").status, 404);
    let r = api.put("users/6000000000000000004", json!({"email": "USER003@example.com"}));
    assert_eq!(r.status, 409, "{}", r.text);
    // The same new person twice in one request is created once.
    let r = api.post("users", json!({"users": [{"email": "twice@example.com"}, {"email": "TWICE@example.com"}]}));
    let v = r.json();
    assert_eq!(key_str(&v[0]["key"]), key_str(&v[1]["key"]));
    assert_eq!(total(&api, "email eq \"twice@example.com\""), 1);
    assert_eq!(api.get("users").json()["total"], 4 + 1 + 1);
}

#[test]
fn a_large_account_stays_fast() {
    let n = 50_000;
    let mut seed = with_users(n);
    seed["licenses"][0]["seats"] = json!(100_000);
    let started = Instant::now();
    let emu = start(Some(seed), Config::default());
    let api = Api::new(&emu);
    let mut listed = 0;
    for page in 0..10 {
        let v = api.get(&format!("users?offset={}&pageSize=1000", page * 5000)).json();
        assert_eq!(v["total"], n);
        listed += v["results"].as_array().unwrap().len();
    }
    assert_eq!(listed, 10_000);
    for b in 0..10 {
        let users: Vec<_> = (0..50).map(|i| json!({"email": format!("new{b}.{i}@example.com")})).collect();
        assert_eq!(api.post("users", json!({"users": users, "licenseKeys": ["77"]})).status, 201);
    }
    for i in 0..100 {
        let key = format!("{}", 6_000_000_000_000_000_000u64 + i * 400);
        assert_eq!(api.put(&format!("users/{key}"), json!({"lastName": "Changed", "licenseKeys": ["77"]})).status, 204);
    }
    assert_eq!(api.get("users?pageSize=1").json()["total"], n + 500);
    // Before the account was indexed, seeding alone took minutes at this size in a debug build.
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
}
