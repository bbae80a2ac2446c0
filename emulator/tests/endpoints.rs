//! Each endpoint's shapes and behaviour (reference §3).

use crate::common::*;
use goto_emulator::{AccountRef, Config};
use serde_json::json;

#[test]
fn me_names_the_admin_and_the_account() {
    let emu = start(Some(acme()), Config::default());
    let me = Api::new(&emu).get("/me");
    assert_eq!(me.status, 200);
    let me = me.json();
    assert_eq!(me["accountKey"], ACME);
    assert_eq!(me["key"], "6582027479515412634");
    assert_eq!(me["email"], "ceo@acme.example");
    assert_eq!(me["adminRoles"], json!(["SUPER_USER"]));
    assert_eq!(me["accounts"], json!([{"key": ACME, "name": "Acme"}]));
}

#[test]
fn me_can_list_several_accounts_and_others_are_refused() {
    let config = Config {
        extra_accounts: vec![AccountRef { key: "555".into(), name: "Acme Labs".into() }],
        admin_email: Some("it-admin@acme.example".into()),
        ..Config::default()
    };
    let emu = start(Some(acme()), config);
    let api = Api::new(&emu);
    let me = api.get("/me").json();
    assert_eq!(me["email"], "it-admin@acme.example");
    assert_eq!(me["adminRoles"], json!(["SUPER_USER", "MANAGE_USERS"]));
    assert_eq!(me["accounts"].as_array().unwrap().len(), 2);
    assert_eq!(me["accounts"][1], json!({"key": "555", "name": "Acme Labs"}));
    let other = api.get("/accounts/555/users");
    assert_eq!(other.status, 403);
    assert_eq!(other.error_code(), "account.access.denied");
    let unknown = api.get("/accounts/999/users");
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.error_code(), "account.not.found");
}

#[test]
fn a_fresh_account_has_a_license_no_users_and_a_synthetic_admin() {
    let emu = start(None, Config::default());
    let api = Api::new(&emu);
    let me = api.get("/me").json();
    assert_eq!(me["adminRoles"], json!(["SUPER_USER"]));
    assert_eq!(key_str(&me["accountKey"]), emu.account_key());
    let users = api.get("users").json();
    assert_eq!(users, json!({"results": [], "fromIndex": 0, "toIndex": 0, "total": 0}));
    let lic = api.get("licenses").json();
    assert_eq!(lic["total"], 1);
    assert_eq!(lic["results"][0]["userCount"], 0);
}

#[test]
fn users_in_the_list_have_gotos_shape() {
    let emu = start(Some(acme()), Config::default());
    let v = Api::new(&emu).get("users?offset=0&pageSize=1").json();
    assert_eq!(v["total"], 43);
    let u = &v["results"][0];
    assert_eq!(
        u,
        &json!({"key": ALICE, "email": "alice.archer@acme.example", "firstName": "Alice", "lastName": "Archer",
                "locale": "en_US", "timeZone": "Europe/Berlin", "licenseKeys": [BUSINESS], "adminRoles": ["MANAGE_USERS"],
                "nameLocked": false, "emailLocked": false, "identityReadOnly": false, "status": "ACTIVE"})
    );
}

#[test]
fn get_user_and_the_not_found_error_body() {
    let emu = start(Some(acme()), Config::default());
    let api = Api::new(&emu);
    assert_eq!(api.user(ALICE)["email"], "alice.archer@acme.example");
    let r = api.get("users/123");
    assert_eq!(r.status, 404);
    let v = r.json();
    assert!(v["incidentId"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(v["errors"], json!([{"code": "user.not.found", "value": "123"}]));
}

#[test]
fn licenses_carry_seats_and_derived_holders() {
    let emu = start(Some(acme()), Config::default());
    let api = Api::new(&emu);
    let v = api.get("licenses").json();
    assert_eq!(v["total"], 3);
    assert_eq!(v["fromIndex"], 0);
    assert_eq!(v["toIndex"], 3);
    let l = &v["results"][1];
    for field in ["key", "description", "seats", "userCount", "userKeys", "products", "enabled"] {
        assert!(l.get(field).is_some(), "{field} missing in {l}");
    }
    assert_eq!(l["description"], "GoToWebinar Standard");
    assert_eq!(l["seats"], 5);
    assert_eq!(l["products"], json!(["G2W"]));
    assert_eq!(api.holders(WEBINAR), vec!["6580600897517978858", "6581514744877715292"]);
    assert_eq!(api.holders(BUSINESS).len(), 42);
}

#[test]
fn add_users_creates_and_returns_existing_users_too() {
    let emu = start(Some(acme()), Config::default());
    let api = Api::new(&emu);
    let r = api.post(
        "users",
        json!({"users": [{"email": "zoe.new@acme.example", "firstName": "Zoe", "lastName": "New", "locale": "de_DE",
                          "timeZone": "Europe/Berlin"},
                         {"email": "ALICE.ARCHER@acme.example", "firstName": "Alice", "lastName": "Archer"}],
               "licenseKeys": [WEBINAR], "adminRoles": [], "suppressEmail": true}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert!(arr[0]["key"].is_number(), "create response keys are numbers: {v}");
    assert_eq!(arr[0]["email"], "zoe.new@acme.example");
    assert_eq!(key_str(&arr[1]["key"]), ALICE);
    assert_eq!(arr[1]["email"], "alice.archer@acme.example");
    let zoe = api.user(&key_str(&arr[0]["key"]));
    assert_eq!(zoe["firstName"], "Zoe");
    assert_eq!(zoe["locale"], "de_DE");
    assert_eq!(zoe["licenseKeys"], json!([WEBINAR]));
    assert_eq!(zoe["status"], "ACTIVE");
    assert!(api.holders(WEBINAR).contains(&key_str(&arr[0]["key"])));
    assert_eq!(api.get("users").json()["total"], 44);
    let snap = emu.snapshot();
    assert_eq!(snap_user(&snap, "zoe.new@acme.example").unwrap()["licenseKeys"], json!([WEBINAR]));
    // Same request again: nothing new, same keys.
    let again = api.post("users", json!({"users": [{"email": "zoe.new@acme.example"}], "licenseKeys": [WEBINAR]}));
    assert_eq!(key_str(&again.json()[0]["key"]), key_str(&arr[0]["key"]));
    assert_eq!(api.get("users").json()["total"], 44);
}

#[test]
fn add_users_refuses_bad_requests_without_effect() {
    let emu = start(Some(acme()), Config::default());
    let api = Api::new(&emu);
    let before = emu.snapshot();
    let r = api.post("users", json!({"users": []}));
    assert_eq!((r.status, r.error_code().as_str()), (400, "request.invalid"));
    let r = api.post("users", json!({"users": [{"email": "ok@acme.example"}, {"email": "not-an-email"}]}));
    assert_eq!((r.status, r.error_code().as_str()), (400, "email.invalid"));
    let r = api.post("users", json!({"users": [{"email": "ok@acme.example"}], "licenseKeys": ["1"]}));
    assert_eq!((r.status, r.error_code().as_str()), (400, "license.not.found"));
    // GoToWebinar Enterprise has 1 seat, taken.
    let r = api.post("users", json!({"users": [{"email": "ok@acme.example"}], "licenseKeys": ["7902142105473202138"]}));
    assert_eq!((r.status, r.error_code().as_str()), (409, "license.seats.exceeded"));
    let r = api.post("users", json!("nope"));
    assert_eq!(r.status, 400);
    assert_eq!(emu.snapshot(), before);
}

#[test]
fn put_is_partial_and_refuses_a_key_in_the_body() {
    let emu = start(Some(acme()), Config::default());
    let api = Api::new(&emu);
    let r = api.put(&format!("users/{ALICE}"), json!({"lastName": "Bowman", "timeZone": "Europe/London"}));
    assert_eq!(r.status, 204, "{}", r.text);
    let u = api.user(ALICE);
    assert_eq!((u["firstName"].as_str(), u["lastName"].as_str()), (Some("Alice"), Some("Bowman")));
    assert_eq!(u["timeZone"], "Europe/London");
    assert_eq!(u["licenseKeys"], json!([BUSINESS]));
    assert_eq!(u["adminRoles"], json!(["MANAGE_USERS"]));
    let r = api.put(&format!("users/{ALICE}"), json!({"key": ALICE, "firstName": "X"}));
    assert_eq!((r.status, r.error_code().as_str()), (400, "request.invalid"));
    assert_eq!(api.user(ALICE)["firstName"], "Alice");
    let r = api.put("users/42", json!({"firstName": "X"}));
    assert_eq!((r.status, r.error_code().as_str()), (404, "user.not.found"));
    let r = api.put(&format!("users/{ALICE}"), json!({"email": "ceo@acme.example"}));
    assert_eq!((r.status, r.error_code().as_str()), (409, "user.email.conflict"));
    let r = api.put(&format!("users/{ALICE}"), json!({"adminRoles": [], "licenseKeys": [WEBINAR]}));
    assert_eq!(r.status, 204);
    let u = api.user(ALICE);
    assert_eq!((u["adminRoles"].clone(), u["licenseKeys"].clone()), (json!([]), json!([WEBINAR])));
    assert!(!api.holders(BUSINESS).contains(&ALICE.to_string()));
}

/// Seeds three locked users into acme.
fn locked_acme() -> serde_json::Value {
    let mut snap = acme();
    let users = snap["users"].as_array_mut().unwrap();
    users.push(
        json!({"key": "11", "email": "name@acme.example", "firstName": "N", "lastName": "L", "nameLocked": true}),
    );
    users.push(
        json!({"key": "12", "email": "mail@acme.example", "firstName": "M", "lastName": "L", "emailLocked": true}),
    );
    users.push(
        json!({"key": "13", "email": "ro@acme.example", "firstName": "R", "lastName": "O", "identityReadOnly": true}),
    );
    snap
}

#[test]
fn locked_identity_fields_cannot_change() {
    let emu = start(Some(locked_acme()), Config::default());
    let api = Api::new(&emu);
    let r = api.put("users/11", json!({"firstName": "New"}));
    assert_eq!((r.status, r.error_code().as_str()), (403, "user.name.locked"));
    // Unchanged values and other fields are fine.
    assert_eq!(api.put("users/11", json!({"firstName": "N", "email": "name2@acme.example"})).status, 204);
    let r = api.put("users/12", json!({"email": "other@acme.example"}));
    assert_eq!((r.status, r.error_code().as_str()), (403, "user.email.locked"));
    assert_eq!(api.put("users/12", json!({"lastName": "Changed", "email": "mail@acme.example"})).status, 204);
    for body in [json!({"firstName": "X"}), json!({"email": "x@acme.example"}), json!({"locale": "fr_FR"})] {
        let r = api.put("users/13", body);
        assert_eq!((r.status, r.error_code().as_str()), (403, "user.identity.readonly"));
    }
    // Grants are not identity.
    assert_eq!(api.put("users/13", json!({"licenseKeys": [BUSINESS], "adminRoles": ["MANAGE_USERS"]})).status, 204);
    let u = api.user("13");
    assert_eq!((u["firstName"].as_str(), u["identityReadOnly"].as_bool()), (Some("R"), Some(true)));

    emu.set_config(Config { locked_status: 400, ..Config::default() });
    assert_eq!(api.put("users/11", json!({"lastName": "New"})).status, 400);
}

#[test]
fn delete_removes_the_user_and_its_grants() {
    let emu = start(Some(acme()), Config::default());
    let api = Api::new(&emu);
    let r = api.delete(&format!("users/{ALICE}"));
    assert_eq!(r.status, 204);
    assert_eq!(api.get(&format!("users/{ALICE}")).status, 404);
    assert_eq!(api.holders(BUSINESS).len(), 41);
    let r = api.delete(&format!("users/{ALICE}"));
    assert_eq!((r.status, r.error_code().as_str()), (404, "user.not.found"));
    assert!(snap_user(&emu.snapshot(), "alice.archer@acme.example").is_none());
}

#[test]
fn filter_by_email_is_case_insensitive_and_plus_is_rejected() {
    let mut snap = acme();
    snap["users"].as_array_mut().unwrap().push(json!({"key": "21", "email": "a+b@acme.example"}));
    let emu = start(Some(snap), Config::default());
    let api = Api::new(&emu);
    let v = api.get("users?filter=email%20eq%20%22Alice.Archer@ACME.example%22").json();
    assert_eq!((v["total"].as_u64(), key_str(&v["results"][0]["key"])), (Some(1), ALICE.to_string()));
    let none = api.get("users?filter=email%20eq%20%22nobody@acme.example%22");
    assert_eq!((none.status, none.json()["total"].as_u64()), (200, Some(0)));
    // Form-style encoding: refused as GoTo does.
    let r = api.get("users?filter=email+eq+%22alice.archer@acme.example%22");
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid.query"));
    // A literal plus in an address must be %2B.
    let r = api.get("users?filter=email%20eq%20%22a+b@acme.example%22");
    assert_eq!(r.status, 400);
    let v = api.get("users?filter=email%20eq%20%22a%2Bb@acme.example%22").json();
    assert_eq!(key_str(&v["results"][0]["key"]), "21");
    let v = api.get("users?filter=key%20eq%20%2221%22").json();
    assert_eq!(v["total"], 1);
    let r = api.get("users?filter=email%20co%20%22acme%22");
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid.filter"));
    // Not in the list API either.
    assert_eq!(api.get("licenses?pageSize=10+").status, 400);
}

#[test]
fn attributes_limits_the_fields() {
    let emu = start(Some(acme()), Config::default());
    let v = Api::new(&emu).get("users?pageSize=2&attributes=key,email").json();
    assert_eq!(v["results"][0], json!({"key": ALICE, "email": "alice.archer@acme.example"}));
}

#[test]
fn the_snapshot_round_trips_and_set_snapshot_makes_drift() {
    let emu = start(Some(acme()), Config::default());
    let snap = emu.snapshot();
    assert_eq!(snap["account"], acme()["account"]);
    assert_eq!(snap["users"].as_array().unwrap().len(), 43);
    // Same users as the seed (keys as strings).
    for (a, b) in snap["users"].as_array().unwrap().iter().zip(acme()["users"].as_array().unwrap()) {
        assert_eq!(a, b);
    }
    for (a, b) in snap["licenses"].as_array().unwrap().iter().zip(acme()["licenses"].as_array().unwrap()) {
        assert_eq!(key_str(&a["key"]), key_str(&b["key"]));
        assert_eq!(a["userKeys"], b["userKeys"]);
    }
    // A second emulator seeded from the first's snapshot gives the same snapshot.
    let emu2 = start(Some(snap.clone()), Config::default());
    assert_eq!(emu2.snapshot(), snap);

    // Drift: a user renamed behind rollcall's back.
    let mut drifted = snap.clone();
    drifted["users"][0]["lastName"] = json!("Drifted");
    emu.set_snapshot(drifted);
    assert_eq!(Api::new(&emu).user(ALICE)["lastName"], "Drifted");
    assert!(emu.try_set_snapshot(json!({"users": []})).is_err());
}

#[test]
fn license_user_keys_in_a_seed_grant_the_license() {
    let snap = json!({"account": {"key": 1, "name": "A"},
        "licenses": [{"key": 5, "description": "L", "seats": 2, "products": ["G2M"], "enabled": true, "userKeys": [10]}],
        "users": [{"key": 10, "email": "a@x.example"}, {"key": "11", "email": "b@x.example", "licenseKeys": [5]}]});
    let emu = start(Some(snap), Config::default());
    assert_eq!(Api::new(&emu).holders("5"), vec!["10", "11"]);
    assert_eq!(emu.snapshot()["users"][0]["licenseKeys"], json!(["5"]));
}

#[test]
fn control_endpoints_read_and_change_the_emulator() {
    let emu = start(Some(acme()), Config::default());
    let http = http();
    let base = emu.base_url();
    let state: serde_json::Value = http.get(format!("{base}/_emulator/state")).send().unwrap().json().unwrap();
    assert_eq!(state, emu.snapshot());
    let r = http.put(format!("{base}/_emulator/state")).json(&with_users(2)).send().unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(emu.account_key(), "1234");
    let r = http.put(format!("{base}/_emulator/state")).body("{}").send().unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .put(format!("{base}/_emulator/config"))
        .json(&json!({"put_license_keys": "merge", "faults": {"seed": 9}}))
        .send();
    assert_eq!(r.unwrap().status(), 204);
    let c = emu.config();
    assert_eq!((c.put_license_keys, c.faults.seed, c.max_page_size), (goto_emulator::PutGrants::Merge, 9, 1000));
    let r = http.put(format!("{base}/_emulator/config")).json(&json!({"no_such_switch": true})).send().unwrap();
    assert_eq!(r.status(), 400);
    Api::new(&emu).get("/me");
    let counts: goto_emulator::RequestCounts =
        http.get(format!("{base}/_emulator/requests")).send().unwrap().json().unwrap();
    assert_eq!((counts.me, counts.total), (1, 1), "control requests are not counted");
    let log: serde_json::Value = http.get(format!("{base}/_emulator/log")).send().unwrap().json().unwrap();
    assert_eq!(log[0]["path"], "/admin/rest/v1/me");
    assert_eq!(http.delete(format!("{base}/_emulator/requests")).send().unwrap().status(), 204);
    assert_eq!(emu.requests().total, 0);
}

#[test]
fn counts_and_log_record_each_kind() {
    let emu = start(Some(acme()), Config::default());
    let api = Api::new(&emu);
    api.get("/me");
    api.get("users");
    api.get(&format!("users/{ALICE}"));
    api.post("users", json!({"users": [{"email": "c@acme.example"}]}));
    api.put(&format!("users/{ALICE}"), json!({"lastName": "B"}));
    api.delete(&format!("users/{ALICE}"));
    api.get("licenses");
    api.get("/nowhere");
    let c = emu.requests();
    assert_eq!(
        (c.me, c.list_users, c.get_user, c.create, c.update, c.delete, c.licenses, c.other, c.total),
        (1, 1, 1, 1, 1, 1, 1, 1, 8)
    );
    let log = emu.request_log();
    assert_eq!(log[3].body, Some(json!({"users": [{"email": "c@acme.example"}]})));
    assert_eq!(log[3].status, Some(201));
    emu.reset_requests();
    assert_eq!(emu.requests(), goto_emulator::RequestCounts::default());
}
