//! The OAuth token endpoint (reference §2) and bearer authentication.

use crate::common::*;
use goto_emulator::Config;
use serde_json::Value;
use std::time::Duration;

fn token(emu: &goto_emulator::Emulator, id: &str, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let body: Vec<String> = form.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let r = http()
        .post(emu.token_url())
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body.join("&"))
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap())
}

fn me_with(emu: &goto_emulator::Emulator, token: &str) -> Reply {
    let mut api = Api::new(emu);
    api.token = token.to_string();
    api.get("/me")
}

#[test]
fn a_personal_access_token_buys_a_bearer_token() {
    let emu = start(Some(acme()), Config::default());
    let (status, v) =
        token(&emu, "rollcall-test", "s3cret-client", &[("grant_type", "personal_access_token"), ("pat", "pat-123")]);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(v["principal"], "ceo@acme.example");
    assert!(v["scope"].as_str().unwrap().contains("identity:"));
    let at = v["access_token"].as_str().unwrap();
    assert_eq!(me_with(&emu, at).status, 200);
    assert_eq!(emu.requests().token, 1);
}

#[test]
fn a_refresh_token_buys_a_bearer_token_and_is_not_returned() {
    let emu = start(None, Config::default());
    let (status, v) =
        token(&emu, "rollcall-test", "s3cret-client", &[("grant_type", "refresh_token"), ("refresh_token", "rt-123")]);
    assert_eq!(status, 200, "{v}");
    assert!(v.get("refresh_token").is_none(), "refresh responses omit refresh_token: {v}");
    assert_eq!(me_with(&emu, v["access_token"].as_str().unwrap()).status, 200);
}

#[test]
fn wrong_credentials_are_401() {
    let emu = start(None, Config::default());
    let pat = [("grant_type", "personal_access_token"), ("pat", "pat-123")];
    assert_eq!(token(&emu, "rollcall-test", "wrong", &pat).0, 401);
    assert_eq!(token(&emu, "someone-else", "s3cret-client", &pat).0, 401);
    let (s, v) =
        token(&emu, "rollcall-test", "s3cret-client", &[("grant_type", "personal_access_token"), ("pat", "nope")]);
    assert_eq!((s, v["error"].as_str()), (401, Some("invalid_grant")));
    let (s, _) =
        token(&emu, "rollcall-test", "s3cret-client", &[("grant_type", "refresh_token"), ("refresh_token", "old")]);
    assert_eq!(s, 401);
    // client_credentials is not a GoTo grant (reference §2.2).
    let (s, _) = token(&emu, "rollcall-test", "s3cret-client", &[("grant_type", "client_credentials")]);
    assert_eq!(s, 401);
    let r = http().post(emu.token_url()).body("grant_type=personal_access_token&pat=pat-123").send().unwrap();
    assert_eq!(r.status(), 401, "no HTTP Basic client auth");
}

#[test]
fn the_admin_api_wants_a_valid_bearer_token() {
    let emu = start(None, Config::default());
    let r = http().get(format!("{}/me", emu.api_url())).send().unwrap();
    assert_eq!(r.status(), 401);
    let r = me_with(&emu, "made-up");
    assert_eq!((r.status, r.error_code().as_str()), (401, "not.authenticated"));
    emu.set_config(Config { access_token: String::new(), ..Config::default() });
    assert_eq!(me_with(&emu, "at-static").status, 401, "the static token can be turned off");
    assert_eq!(me_with(&emu, "").status, 401);
}

#[test]
fn issued_tokens_expire() {
    let emu = start(None, Config { token_ttl_ms: 300, ..Config::default() });
    let (_, v) =
        token(&emu, "rollcall-test", "s3cret-client", &[("grant_type", "personal_access_token"), ("pat", "pat-123")]);
    assert_eq!(v["expires_in"], 1);
    let at = v["access_token"].as_str().unwrap().to_string();
    assert_eq!(me_with(&emu, &at).status, 200);
    std::thread::sleep(Duration::from_millis(450));
    let r = me_with(&emu, &at);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["errors"][0]["code"], "not.authenticated");
    // A new exchange works again; the static token never expires.
    let (_, v) =
        token(&emu, "rollcall-test", "s3cret-client", &[("grant_type", "refresh_token"), ("refresh_token", "rt-123")]);
    assert_eq!(me_with(&emu, v["access_token"].as_str().unwrap()).status, 200);
    assert_eq!(me_with(&emu, "at-static").status, 200);
}

#[test]
fn credentials_are_configurable() {
    let config = Config {
        client_id: "cid".into(),
        client_secret: "csecret".into(),
        pat: "my pat/+=".into(),
        ..Config::default()
    };
    let emu = start(None, config);
    // Form-encoded PAT with reserved characters.
    let (s, v) = token(&emu, "cid", "csecret", &[("grant_type", "personal_access_token"), ("pat", "my+pat%2F%2B%3D")]);
    assert_eq!(s, 200, "{v}");
}
