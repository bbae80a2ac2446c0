//! Fault injection, deterministic from a seed.

use crate::common::*;
use goto_emulator::{Config, Faults};
use serde_json::json;
use std::time::{Duration, Instant};

fn faulty(f: Faults) -> Config {
    Config { faults: f, ..Config::default() }
}

/// Statuses of `n` GET /me, or 0 for a transport error.
fn statuses(api: &Api, n: usize) -> Vec<u16> {
    (0..n)
        .map(|_| match api.http.get(api.url("/me")).bearer_auth(&api.token).send() {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        })
        .collect()
}

#[test]
fn errors_happen_before_any_effect() {
    let emu = start(Some(acme()), faulty(Faults { error_rate: 1.0, ..Faults::default() }));
    let api = Api::new(&emu);
    let before = emu.snapshot();
    let r = api.post("users", json!({"users": [{"email": "x@acme.example"}]}));
    assert!([500, 502, 503].contains(&r.status), "{}", r.status);
    let r = api.delete(&format!("users/{ALICE}"));
    assert!(r.status >= 500);
    assert_eq!(emu.snapshot(), before);
    let seen = statuses(&api, 30);
    for s in [500, 502, 503] {
        assert!(seen.contains(&s), "{s} never chosen in {seen:?}");
    }
    let c = emu.requests();
    assert_eq!((c.status_5xx, c.create, c.delete, c.me), (32, 1, 1, 30));
}

#[test]
fn error_bodies_look_like_what_clients_meet() {
    let emu = start(None, faulty(Faults { error_rate: 1.0, error_statuses: vec![502], ..Faults::default() }));
    let r = Api::new(&emu).get("/me");
    assert_eq!(r.status, 502);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/html"), "non-JSON gateway body");
    emu.set_config(faulty(Faults { error_rate: 1.0, error_statuses: vec![500], ..Faults::default() }));
    let r = Api::new(&emu).get("/me");
    assert_eq!((r.status, r.error_code().as_str()), (500, "internal.error"));
}

#[test]
fn the_same_seed_gives_the_same_faults() {
    let config = |seed| faulty(Faults { seed, error_rate: 0.4, drop_after_write: 0.0, ..Faults::default() });
    let emu = start(None, config(7));
    let api = Api::new(&emu);
    let first = statuses(&api, 40);
    assert!(first.contains(&200) && first.iter().any(|s| *s >= 500), "{first:?}");
    emu.set_config(config(7));
    assert_eq!(statuses(&api, 40), first, "replay from the same seed");
    let emu2 = start(None, config(7));
    assert_eq!(statuses(&Api::new(&emu2), 40), first, "another emulator, same seed");
    emu.set_config(config(8));
    assert_ne!(statuses(&api, 40), first, "another seed");
}

#[test]
fn the_token_endpoint_is_spared_unless_asked() {
    let emu = start(None, faulty(Faults { error_rate: 1.0, ..Faults::default() }));
    let post = || {
        http()
            .post(emu.token_url())
            .basic_auth("rollcall-test", Some("s3cret-client"))
            .body("grant_type=personal_access_token&pat=pat-123")
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(post(), 200);
    emu.set_config(faulty(Faults { error_rate: 1.0, token_endpoint: true, ..Faults::default() }));
    assert!(post() >= 500);
}

fn rate_limited(retry_after: bool) {
    let emu = start(None, faulty(Faults { rate_limit_per_second: Some(5), retry_after, ..Faults::default() }));
    let api = Api::new(&emu);
    let replies: Vec<Reply> = (0..12).map(|_| api.get("/me")).collect();
    let codes: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(codes[..5], [200; 5], "a burst of N passes: {codes:?}");
    let limited: Vec<&Reply> = replies.iter().filter(|r| r.status == 429).collect();
    assert!(!limited.is_empty(), "{codes:?}");
    for r in &limited {
        assert_eq!(r.error_code(), "too.many.requests");
        match retry_after {
            true => assert_eq!(r.headers["retry-after"], "1"),
            false => assert!(r.headers.get("retry-after").is_none()),
        }
    }
    assert_eq!(emu.requests().status_429 as usize, limited.len());
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(api.get("/me").status, 200, "the bucket refills");
}

#[test]
fn rate_limit_with_retry_after() {
    rate_limited(true);
}

#[test]
fn rate_limit_without_retry_after() {
    rate_limited(false);
}

#[test]
fn latency_is_added() {
    let emu = start(None, faulty(Faults { latency_ms: 150, ..Faults::default() }));
    let api = Api::new(&emu);
    let t = Instant::now();
    assert_eq!(api.get("/me").status, 200);
    assert!(t.elapsed() >= Duration::from_millis(150), "{:?}", t.elapsed());
}

#[test]
fn a_dropped_write_took_effect_but_the_client_sees_an_error() {
    let emu = start(Some(acme()), faulty(Faults { drop_after_write: 1.0, ..Faults::default() }));
    let api = Api::new(&emu);
    // Reads are never dropped.
    assert_eq!(api.get("/me").status, 200);
    let sent = api
        .http
        .post(api.url("users"))
        .bearer_auth(&api.token)
        .json(&json!({"users": [{"email": "d@acme.example"}]}))
        .send();
    assert!(sent.is_err(), "expected a transport error, got {:?}", sent.map(|r| r.status()));
    assert!(snap_user(&emu.snapshot(), "d@acme.example").is_some(), "the create took effect");
    let sent = api
        .http
        .put(api.url(&format!("users/{ALICE}")))
        .bearer_auth(&api.token)
        .json(&json!({"lastName": "Dropped"}))
        .send();
    assert!(sent.is_err());
    assert_eq!(snap_user(&emu.snapshot(), "alice.archer@acme.example").unwrap()["lastName"], "Dropped");
    let sent = api.http.delete(api.url(&format!("users/{ALICE}"))).bearer_auth(&api.token).send();
    assert!(sent.is_err());
    assert!(snap_user(&emu.snapshot(), "alice.archer@acme.example").is_none(), "the delete took effect");
    // A failed write is not dropped (nothing took effect): its answer arrives.
    let r = api.delete("users/1");
    assert_eq!(r.status, 404);
    let c = emu.requests();
    assert_eq!((c.dropped, c.create, c.update, c.delete), (3, 1, 1, 2));
    let log = emu.request_log();
    assert_eq!(log.iter().filter(|l| l.fault.as_deref() == Some("dropped") && l.status.is_none()).count(), 3);
}

#[test]
fn dropped_writes_follow_the_seed() {
    let config = |seed| faulty(Faults { seed, drop_after_write: 0.5, ..Faults::default() });
    let emu = start(Some(acme()), config(3));
    let api = Api::new(&emu);
    let pattern = |api: &Api| -> Vec<bool> {
        (0..16)
            .map(|i| {
                api.http
                    .put(api.url(&format!("users/{ALICE}")))
                    .bearer_auth(&api.token)
                    .json(&json!({"lastName": format!("L{i}")}))
                    .send()
                    .is_err()
            })
            .collect()
    };
    let first = pattern(&api);
    assert!(first.contains(&true) && first.contains(&false), "{first:?}");
    assert_eq!(
        snap_user(&emu.snapshot(), "alice.archer@acme.example").unwrap()["lastName"],
        "L15",
        "every write applied"
    );
    emu.set_config(config(3));
    assert_eq!(pattern(&api), first);
}
