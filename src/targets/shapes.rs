//! The GoTo Admin API's JSON shapes, read in one place: the `goto` target reads them from
//! GoTo, the `file` target from a snapshot in the same shapes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use crate::live::{Grant, Key, License, LiveAccount, Locks};

/// The user attributes a mapping may set (and the planner compares).
pub use crate::vocab::GOTO_ATTRIBUTES as ATTRIBUTES;

/// A key written as a JSON string or number (digits kept, whatever their size).
pub fn key_of(v: &Value) -> Option<Key> {
    match v {
        Value::String(s) => Some(Key(s.clone())),
        // Arbitrary precision: the number's text is its digits, however many.
        Value::Number(n) if n.is_i64() || n.is_u64() || !n.to_string().contains(['.', 'e', 'E']) => {
            Some(Key(n.to_string()))
        }
        _ => None,
    }
}

pub fn keys_of(v: Option<&Value>) -> Vec<Key> {
    v.and_then(Value::as_array).map(|a| a.iter().filter_map(key_of).collect()).unwrap_or_default()
}

/// A key as GoTo's own "Add Users" example sends it: a JSON number when it is one.
pub fn key_json(k: &Key) -> Value {
    if !k.0.is_empty() && k.0.bytes().all(|b| b.is_ascii_digit()) {
        serde_json::from_str::<serde_json::Number>(&k.0).map_or_else(|_| Value::String(k.0.clone()), Value::Number)
    } else {
        Value::String(k.0.clone())
    }
}

/// A user object as the live model sees it: attributes, `licenseKeys`, `adminRoles`, locks.
pub fn account_of(u: &Value, key: Key) -> LiveAccount {
    let mut attributes = BTreeMap::new();
    for &a in ATTRIBUTES {
        if let Some(v) = u.get(a).and_then(Value::as_str) {
            attributes.insert(a.to_owned(), v.to_owned());
        }
    }
    let mut grants: BTreeSet<Grant> = keys_of(u.get("licenseKeys")).into_iter().map(Grant::License).collect();
    grants.extend(
        u.get("adminRoles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|r| Grant::AdminRole(r.to_owned())),
    );
    let flag = |name: &str| u.get(name).and_then(Value::as_bool).unwrap_or(false);
    LiveAccount {
        key,
        attributes,
        grants,
        locks: Locks { name: flag("nameLocked"), email: flag("emailLocked"), identity: flag("identityReadOnly") },
    }
}

/// The licenses, and who holds each (a license's `userKeys`): user key -> license keys.
pub fn licenses_of<'a>(items: impl IntoIterator<Item = &'a Value>) -> (Vec<License>, HashMap<Key, Vec<Key>>) {
    let mut licenses = Vec::new();
    let mut holders: HashMap<Key, Vec<Key>> = HashMap::new();
    for l in items {
        let Some(key) = l.get("key").and_then(key_of) else { continue };
        for user in keys_of(l.get("userKeys")) {
            holders.entry(user).or_default().push(key.clone());
        }
        licenses.push(License {
            key,
            description: l.get("description").and_then(Value::as_str).unwrap_or("").to_owned(),
            seats: l.get("seats").and_then(Value::as_u64),
        });
    }
    (licenses, holders)
}

/// A `file`-target snapshot read straight into the live model (no JSON tree: a 100,000-user
/// account reads in a fraction of the time and memory). Unknown fields are ignored.
#[derive(serde::Deserialize)]
pub struct Snapshot {
    account: SnapshotAccount,
    #[serde(default)]
    licenses: Option<Vec<SnapshotLicense>>,
    #[serde(default)]
    users: Option<Vec<SnapshotUser>>,
}

#[derive(serde::Deserialize)]
struct SnapshotAccount {
    key: Key,
    #[serde(default)]
    name: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotLicense {
    key: Key,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    seats: Option<u64>,
    #[serde(default)]
    user_keys: Option<Vec<Key>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotUser {
    key: Key,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    locale: Option<String>,
    time_zone: Option<String>,
    license_keys: Option<Vec<Key>>,
    admin_roles: Option<Vec<String>>,
    name_locked: Option<bool>,
    email_locked: Option<bool>,
    identity_read_only: Option<bool>,
}

impl Snapshot {
    pub fn into_live(self) -> crate::live::LiveState {
        let mut holders: HashMap<Key, Vec<Key>> = HashMap::new();
        let licenses = self
            .licenses
            .unwrap_or_default()
            .into_iter()
            .map(|l| {
                for u in l.user_keys.unwrap_or_default() {
                    holders.entry(u).or_default().push(l.key.clone());
                }
                License { key: l.key, description: l.description.unwrap_or_default(), seats: l.seats }
            })
            .collect();
        let accounts = self
            .users
            .unwrap_or_default()
            .into_iter()
            .map(|u| {
                let mut attributes = BTreeMap::new();
                for (name, value) in [
                    ("email", u.email),
                    ("firstName", u.first_name),
                    ("lastName", u.last_name),
                    ("locale", u.locale),
                    ("timeZone", u.time_zone),
                ] {
                    if let Some(v) = value {
                        attributes.insert(name.to_owned(), v);
                    }
                }
                let mut grants: BTreeSet<Grant> =
                    u.license_keys.unwrap_or_default().into_iter().map(Grant::License).collect();
                grants.extend(holders.get(&u.key).into_iter().flatten().cloned().map(Grant::License));
                grants.extend(u.admin_roles.unwrap_or_default().into_iter().map(Grant::AdminRole));
                LiveAccount {
                    key: u.key,
                    attributes,
                    grants,
                    locks: Locks {
                        name: u.name_locked.unwrap_or(false),
                        email: u.email_locked.unwrap_or(false),
                        identity: u.identity_read_only.unwrap_or(false),
                    },
                }
            })
            .collect();
        crate::live::LiveState {
            account_key: self.account.key,
            account_name: self.account.name.unwrap_or_default(),
            licenses,
            accounts,
            me: None,
        }
    }
}
