use goto_emulator::{Config, Emulator};
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};
use std::time::Duration;

pub const ACME: &str = "4152318826743922179";
pub const BUSINESS: &str = "7902142105473202120";
pub const WEBINAR: &str = "7902142105473202121";
pub const ALICE: &str = "6581956508604418269";

/// examples/acme/live.json, the repository's `file` target example.
pub fn acme() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/acme/live.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn start(seed: Option<Value>, config: Config) -> Emulator {
    Emulator::start(seed, config).expect("emulator starts")
}

/// An account with `n` users (no grants) and one license.
pub fn with_users(n: usize) -> Value {
    let users: Vec<Value> = (0..n)
        .map(|i| {
            json!({"key": format!("{}", 6_000_000_000_000_000_000u64 + i as u64),
                   "email": format!("user{i:03}@example.com"), "firstName": "User", "lastName": format!("{i:03}")})
        })
        .collect();
    json!({"account": {"key": "1234", "name": "Paging"},
           "licenses": [{"key": "77", "description": "G2M", "seats": 1000, "products": ["G2M"], "enabled": true}],
           "users": users})
}

pub fn http() -> Client {
    Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
}

/// A small client for the emulated Admin API, authenticated with the static access token.
pub struct Api {
    pub http: Client,
    pub api: String,
    pub account: String,
    pub token: String,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// GoTo's error body: the first error's code.
    pub fn error_code(&self) -> String {
        let v = self.json();
        assert!(v["incidentId"].is_string(), "no incidentId in {v}");
        v["errors"][0]["code"].as_str().unwrap().to_string()
    }
}

fn reply(r: Response) -> Reply {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    Reply { status, headers, text: r.text().unwrap() }
}

impl Api {
    pub fn new(emu: &Emulator) -> Api {
        Api { http: http(), api: emu.api_url(), account: emu.account_key(), token: "at-static".into() }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("{}{}", self.api, path)
        } else {
            format!("{}/accounts/{}/{}", self.api, self.account, path)
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        reply(self.http.get(self.url(path)).bearer_auth(&self.token).send().unwrap())
    }

    pub fn post(&self, path: &str, body: Value) -> Reply {
        reply(self.http.post(self.url(path)).bearer_auth(&self.token).json(&body).send().unwrap())
    }

    pub fn put(&self, path: &str, body: Value) -> Reply {
        reply(self.http.put(self.url(path)).bearer_auth(&self.token).json(&body).send().unwrap())
    }

    pub fn delete(&self, path: &str) -> Reply {
        reply(self.http.delete(self.url(path)).bearer_auth(&self.token).send().unwrap())
    }

    /// A user as the per-user GET shows it.
    pub fn user(&self, key: &str) -> Value {
        let r = self.get(&format!("users/{key}"));
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()
    }

    /// The license's holders according to `/licenses`, as strings.
    pub fn holders(&self, license: &str) -> Vec<String> {
        let v = self.get("licenses?pageSize=1000").json();
        let l = v["results"].as_array().unwrap().iter().find(|l| key_str(&l["key"]) == license).unwrap().clone();
        let keys: Vec<String> = l["userKeys"].as_array().unwrap().iter().map(key_str).collect();
        assert_eq!(l["userCount"].as_u64().unwrap() as usize, keys.len());
        keys
    }
}

/// A key written as a string or a number, as its digits.
pub fn key_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a key: {other}"),
    }
}

/// The snapshot's user with this email.
pub fn snap_user(snapshot: &Value, email: &str) -> Option<Value> {
    snapshot["users"].as_array().unwrap().iter().find(|u| u["email"] == email).cloned()
}
