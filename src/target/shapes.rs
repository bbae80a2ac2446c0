//! The GoTo Admin API's JSON shapes, read in one place: the `goto` target reads them from
//! GoTo, the `file` target from a snapshot in the same shapes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use crate::live::{Grant, Key, License, LiveAccount, Locks};

/// The user attributes a mapping may set (and the planner compares).
pub const ATTRIBUTES: [&str; 5] = ["email", "firstName", "lastName", "locale", "timeZone"];

/// A key written as a JSON string or number (digits kept, whatever their size).
pub fn key_of(v: &Value) -> Option<Key> {
    serde_json::from_value(v.clone()).ok()
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
    for a in ATTRIBUTES {
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

/// The live accounts of a users list, with the licenses their `userKeys` give them.
pub fn accounts_of<'a>(
    users: impl IntoIterator<Item = &'a Value>,
    holders: &HashMap<Key, Vec<Key>>,
) -> Vec<LiveAccount> {
    users
        .into_iter()
        .filter_map(|u| {
            let key = u.get("key").and_then(key_of)?;
            let mut account = account_of(u, key.clone());
            account.grants.extend(holders.get(&key).into_iter().flatten().cloned().map(Grant::License));
            Some(account)
        })
        .collect()
}
