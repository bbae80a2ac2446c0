//! The switches for what the reference marks INFERRED or UNKNOWN.

use crate::common::*;
use goto_emulator::{Config, GrantsVisibility, PutGrants};
use serde_json::json;

const BOB: &str = "6580600897517978858"; // holds all three licenses
const ENTERPRISE: &str = "7902142105473202138";

#[test]
fn put_license_keys_replace_is_the_default() {
    let emu = start(Some(acme()), Config::default());
    let api = Api::new(&emu);
    assert_eq!(
        api.put(&format!("users/{ALICE}"), json!({"licenseKeys": [WEBINAR], "adminRoles": ["SUPER_USER"]})).status,
        204
    );
    let u = api.user(ALICE);
    assert_eq!(u["licenseKeys"], json!([WEBINAR]));
    assert_eq!(u["adminRoles"], json!(["SUPER_USER"]));
    assert!(!api.holders(BUSINESS).contains(&ALICE.to_string()));
    assert_eq!(api.put(&format!("users/{ALICE}"), json!({"licenseKeys": []})).status, 204);
    assert_eq!(api.user(ALICE)["licenseKeys"], json!([]));
}

#[test]
fn put_license_keys_merge_only_adds() {
    let emu = start(Some(acme()), Config { put_license_keys: PutGrants::Merge, ..Config::default() });
    let api = Api::new(&emu);
    assert_eq!(
        api.put(&format!("users/{ALICE}"), json!({"licenseKeys": [WEBINAR], "adminRoles": ["SUPER_USER"]})).status,
        204
    );
    let u = api.user(ALICE);
    assert_eq!(u["licenseKeys"], json!([BUSINESS, WEBINAR]));
    assert_eq!(u["adminRoles"], json!(["MANAGE_USERS", "SUPER_USER"]));
    assert_eq!(api.put(&format!("users/{ALICE}"), json!({"licenseKeys": [], "adminRoles": []})).status, 204);
    assert_eq!(api.user(ALICE)["licenseKeys"], json!([BUSINESS, WEBINAR]), "an empty list removes nothing");
}

#[test]
fn seats_are_enforced_on_put() {
    let emu = start(Some(acme()), Config::default());
    let api = Api::new(&emu);
    let r = api.put(&format!("users/{ALICE}"), json!({"licenseKeys": [ENTERPRISE]}));
    assert_eq!((r.status, r.error_code().as_str()), (409, "license.seats.exceeded"));
    assert_eq!(api.user(ALICE)["licenseKeys"], json!([BUSINESS]));
    // Freeing the seat first makes room.
    assert_eq!(api.put(&format!("users/{BOB}"), json!({"licenseKeys": [BUSINESS]})).status, 204);
    assert_eq!(api.put(&format!("users/{ALICE}"), json!({"licenseKeys": [ENTERPRISE]})).status, 204);
    emu.set_config(Config { enforce_seats: false, ..Config::default() });
    assert_eq!(api.put(&format!("users/{BOB}"), json!({"licenseKeys": [ENTERPRISE]})).status, 204);
    assert_eq!(api.holders(ENTERPRISE).len(), 2);
}

#[test]
fn add_users_does_not_grant_existing_users_by_default() {
    let emu = start(Some(acme()), Config::default());
    let api = Api::new(&emu);
    let r = api.post("users", json!({"users": [{"email": "alice.archer@acme.example"}], "licenseKeys": [WEBINAR], "adminRoles": ["SUPER_USER"]}));
    assert_eq!(r.status, 201);
    let u = api.user(ALICE);
    assert_eq!((u["licenseKeys"].clone(), u["adminRoles"].clone()), (json!([BUSINESS]), json!(["MANAGE_USERS"])));
}

#[test]
fn add_users_can_grant_existing_users() {
    let emu = start(Some(acme()), Config { add_users_grants_existing: true, ..Config::default() });
    let api = Api::new(&emu);
    let r = api.post("users", json!({"users": [{"email": "alice.archer@acme.example"}], "licenseKeys": [WEBINAR], "adminRoles": ["SUPER_USER"]}));
    assert_eq!(r.status, 201);
    let u = api.user(ALICE);
    assert_eq!(u["licenseKeys"], json!([BUSINESS, WEBINAR]));
    assert_eq!(u["adminRoles"], json!(["MANAGE_USERS", "SUPER_USER"]));
}

#[test]
fn per_user_license_keys_in_add_users_are_a_switch() {
    let body = json!({"users": [{"email": "p@acme.example", "licenseKeys": [WEBINAR]}], "licenseKeys": [BUSINESS]});
    let emu = start(Some(acme()), Config::default());
    let api = Api::new(&emu);
    let key = key_str(&api.post("users", body.clone()).json()[0]["key"]);
    assert_eq!(api.user(&key)["licenseKeys"], json!([BUSINESS]));
    let emu = start(Some(acme()), Config { per_user_license_keys: true, ..Config::default() });
    let api = Api::new(&emu);
    let key = key_str(&api.post("users", body).json()[0]["key"]);
    assert_eq!(api.user(&key)["licenseKeys"], json!([BUSINESS, WEBINAR]));
}

fn first_listed(api: &Api) -> serde_json::Value {
    api.get("users?pageSize=1").json()["results"][0].clone()
}

#[test]
fn grants_visible_in_list_and_get_by_default() {
    let emu = start(Some(acme()), Config::default());
    let api = Api::new(&emu);
    let listed = first_listed(&api);
    assert_eq!(
        (listed["licenseKeys"].clone(), listed["adminRoles"].clone()),
        (json!([BUSINESS]), json!(["MANAGE_USERS"]))
    );
}

#[test]
fn grants_visible_only_per_user() {
    let emu = start(Some(acme()), Config { grants_in_list: GrantsVisibility::GetOnly, ..Config::default() });
    let api = Api::new(&emu);
    let listed = first_listed(&api);
    assert!(listed.get("licenseKeys").is_none() && listed.get("adminRoles").is_none(), "{listed}");
    let u = api.user(ALICE);
    assert_eq!((u["licenseKeys"].clone(), u["adminRoles"].clone()), (json!([BUSINESS]), json!(["MANAGE_USERS"])));
}

#[test]
fn grants_visible_only_through_licenses() {
    let emu = start(Some(acme()), Config { grants_in_list: GrantsVisibility::LicensesOnly, ..Config::default() });
    let api = Api::new(&emu);
    let listed = first_listed(&api);
    assert!(listed.get("licenseKeys").is_none() && listed.get("adminRoles").is_none(), "{listed}");
    let u = api.user(ALICE);
    assert!(u.get("licenseKeys").is_none(), "{u}");
    assert_eq!(u["adminRoles"], json!(["MANAGE_USERS"]));
    assert!(api.holders(BUSINESS).contains(&ALICE.to_string()));
    // The state still knows, and writes still work.
    assert_eq!(api.put(&format!("users/{ALICE}"), json!({"licenseKeys": [WEBINAR]})).status, 204);
    assert!(api.holders(WEBINAR).contains(&ALICE.to_string()));
    assert_eq!(snap_user(&emu.snapshot(), "alice.archer@acme.example").unwrap()["licenseKeys"], json!([WEBINAR]));
}

#[test]
fn switches_parse_from_names() {
    assert_eq!("merge".parse::<PutGrants>(), Ok(PutGrants::Merge));
    assert_eq!("licenses-only".parse::<GrantsVisibility>(), Ok(GrantsVisibility::LicensesOnly));
    assert_eq!("get_only".parse::<GrantsVisibility>(), Ok(GrantsVisibility::GetOnly));
    assert_eq!("always".parse::<goto_emulator::KeysAsNumbers>(), Ok(goto_emulator::KeysAsNumbers::Always));
    assert!("sometimes".parse::<PutGrants>().is_err());
    let c: Config = serde_json::from_value(json!({"grants_in_list": "licenses_only"})).unwrap();
    assert_eq!((c.grants_in_list, c.client_id.as_str()), (GrantsVisibility::LicensesOnly, "rollcall-test"));
}
