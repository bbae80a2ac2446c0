//! Keys as JSON strings or numbers, beyond 2^53 and beyond 64 bits, without losing digits (§3.3).

use crate::common::*;
use goto_emulator::{Config, KeysAsNumbers};
use serde_json::json;

const BIG_USER: &str = "78888886011013972886849029"; // D1's create example: beyond u64
const BIG_LICENSE: &str = "9007199254740993"; // 2^53 + 1: f64 would round it to ...992

fn big() -> serde_json::Value {
    // Keys given as numbers in the seed, which must keep their digits.
    serde_json::from_str(&format!(
        r#"{{"account": {{"key": 4152318826743922179, "name": "Big"}},
            "licenses": [{{"key": {BIG_LICENSE}, "description": "L", "seats": 10, "products": ["G2M"], "enabled": true}}],
            "users": [{{"key": {BIG_USER}, "email": "big@example.com", "licenseKeys": [{BIG_LICENSE}]}}]}}"#
    ))
    .unwrap()
}

#[test]
fn documented_mode_strings_in_lists_numbers_in_licenses_and_creates() {
    let emu = start(Some(big()), Config::default());
    let api = Api::new(&emu);
    let list = api.get("users");
    assert!(list.text.contains(&format!(r#""key":"{BIG_USER}""#)), "{}", list.text);
    assert!(list.text.contains(&format!(r#""licenseKeys":["{BIG_LICENSE}"]"#)), "{}", list.text);
    let one = api.get(&format!("users/{BIG_USER}"));
    assert_eq!(one.status, 200);
    assert!(one.text.contains(&format!(r#""key":"{BIG_USER}""#)));
    let lic = api.get("licenses");
    assert!(lic.text.contains(&format!(r#""key":{BIG_LICENSE},"#)), "{}", lic.text);
    assert!(lic.text.contains(&format!(r#""userKeys":[{BIG_USER}]"#)), "{}", lic.text);
    let me = api.get("/me");
    assert!(me.text.contains(r#""accountKey":"4152318826743922179""#), "{}", me.text);
    // The license key sent back as a number is understood.
    let created = api.post(
        "users",
        serde_json::from_str(&format!(
            r#"{{"users": [{{"email": "n@example.com"}}], "licenseKeys": [{BIG_LICENSE}]}}"#
        ))
        .unwrap(),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(created.text.starts_with(r#"[{"key":6"#), "{}", created.text);
    assert_eq!(api.holders(BIG_LICENSE).len(), 2);
    // The snapshot writes keys as strings, digits intact.
    let snap = emu.snapshot();
    assert_eq!(snap["users"][0]["key"], json!(BIG_USER));
    assert_eq!(snap["licenses"][0]["key"], json!(BIG_LICENSE));
    assert_eq!(snap["account"]["key"], json!("4152318826743922179"));
}

#[test]
fn always_mode_sends_numbers_everywhere() {
    let emu = start(Some(big()), Config { keys_as_numbers: KeysAsNumbers::Always, ..Config::default() });
    let api = Api::new(&emu);
    let list = api.get("users");
    assert!(list.text.contains(&format!(r#""key":{BIG_USER},"#)), "{}", list.text);
    assert!(list.text.contains(&format!(r#""licenseKeys":[{BIG_LICENSE}]"#)), "{}", list.text);
    let me = api.get("/me");
    assert!(me.text.contains(r#""accountKey":4152318826743922179"#), "{}", me.text);
    assert!(me.text.contains(r#""accounts":[{"key":4152318826743922179"#), "{}", me.text);
    // Path keys are the same digits.
    assert_eq!(api.get(&format!("users/{BIG_USER}")).status, 200);
}

#[test]
fn never_mode_sends_strings_everywhere() {
    let emu = start(Some(big()), Config { keys_as_numbers: KeysAsNumbers::Never, ..Config::default() });
    let api = Api::new(&emu);
    let lic = api.get("licenses");
    assert!(lic.text.contains(&format!(r#""key":"{BIG_LICENSE}""#)), "{}", lic.text);
    assert!(lic.text.contains(&format!(r#""userKeys":["{BIG_USER}"]"#)), "{}", lic.text);
    let created = api.post("users", json!({"users": [{"email": "n@example.com"}]}));
    assert!(created.text.starts_with(r#"[{"key":"6"#), "{}", created.text);
}

#[test]
fn generated_keys_can_exceed_64_bits() {
    let emu = start(None, Config { new_key_prefix: "7888888601".into(), ..Config::default() });
    let api = Api::new(&emu);
    let created = api.post("users", json!({"users": [{"email": "a@example.com"}, {"email": "b@example.com"}]}));
    let v = created.json();
    let (a, b) = (key_str(&v[0]["key"]), key_str(&v[1]["key"]));
    assert!(a.len() > 20 && a.starts_with("7888888601"), "{a}");
    assert_ne!(a, b);
    assert!(created.text.contains(&format!(r#""key":{a},"#)), "a number with every digit: {}", created.text);
    assert_eq!(api.user(&a)["key"], json!(a));
    assert_eq!(api.delete(&format!("users/{b}")).status, 204);
}
