//! The emulated account: parsing a `file` target snapshot, rendering GoTo's shapes.

use serde_json::{Map, Number, Value, json};
use std::collections::HashMap;
use std::str::FromStr;

#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub key: String,
    pub name: String,
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug)]
pub(crate) struct License {
    pub key: String,
    pub description: String,
    pub seats: Option<u64>,
    pub products: Vec<String>,
    pub enabled: bool,
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug)]
pub(crate) struct User {
    pub key: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub locale: String,
    pub time_zone: String,
    pub license_keys: Vec<String>,
    pub admin_roles: Vec<String>,
    pub name_locked: bool,
    pub email_locked: bool,
    pub identity_read_only: bool,
    pub status: String,
    /// Licenses of a transfer invitation not yet accepted (the licenses' `invitedUserKeys`);
    /// non-empty: the user is invited, waiting for acceptance.
    pub invited_license_keys: Vec<String>,
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug)]
pub(crate) struct State {
    pub account: Account,
    pub licenses: Vec<License>,
    /// In the order seeded or created. Changed only through the methods below, which keep
    /// the indexes by key and by (lower-cased) email: lookups stay fast at 100,000 users.
    users: Vec<User>,
    by_key: HashMap<String, usize>,
    by_email: HashMap<String, usize>,
    pub next_key: u64,
}

pub(crate) const DEFAULT_LOCALE: &str = "en_US";
pub(crate) const DEFAULT_TIME_ZONE: &str = "America/Los_Angeles";
const FIRST_NEW_KEY: u64 = 6_600_000_000_000_000_001;

/// A key given as a JSON string or number, as its digits (no rounding through f64).
pub(crate) fn key_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A key as JSON: a number when asked and when it is all digits, else a string.
pub(crate) fn key_json(key: &str, as_number: bool) -> Value {
    let digits = !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) && (key == "0" || !key.starts_with('0'));
    if as_number
        && digits
        && let Ok(n) = Number::from_str(key)
    {
        return Value::Number(n);
    }
    Value::String(key.to_string())
}

fn keys_of(v: Option<&Value>, what: &str) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => {
            let mut out: Vec<String> = Vec::new();
            for k in a {
                let k = key_of(k).ok_or_else(|| format!("{what}: not a key: {k}"))?;
                if !out.contains(&k) {
                    out.push(k);
                }
            }
            Ok(out)
        }
        Some(other) => Err(format!("{what}: expected an array, got {other}")),
    }
}

fn strings_of(v: Option<&Value>, what: &str) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => {
            let mut out: Vec<String> = Vec::new();
            for s in a {
                let s = s.as_str().ok_or_else(|| format!("{what}: not a string: {s}"))?;
                if !out.iter().any(|o| o == s) {
                    out.push(s.to_string());
                }
            }
            Ok(out)
        }
        Some(other) => Err(format!("{what}: expected an array, got {other}")),
    }
}

fn string_of(o: &Map<String, Value>, field: &str, default: &str) -> Result<String, String> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(default.to_string()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!("{field}: expected a string, got {other}")),
    }
}

fn bool_of(o: &Map<String, Value>, field: &str) -> Result<bool, String> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(format!("{field}: expected a boolean, got {other}")),
    }
}

fn rest(o: &Map<String, Value>, known: &[&str]) -> Map<String, Value> {
    o.iter().filter(|(k, _)| !known.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

const USER_FIELDS: &[&str] = &[
    "key",
    "email",
    "firstName",
    "lastName",
    "locale",
    "timeZone",
    "licenseKeys",
    "adminRoles",
    "nameLocked",
    "emailLocked",
    "identityReadOnly",
    "status",
];
const LICENSE_FIELDS: &[&str] =
    &["key", "description", "seats", "products", "enabled", "userCount", "userKeys", "invitedUserKeys"];

impl State {
    /// A fresh account: one GoToMeeting license, no users.
    pub fn fresh() -> State {
        State {
            account: Account { key: "4100000000000000001".into(), name: "Emulated Account".into(), extra: Map::new() },
            licenses: vec![License {
                key: "7900000000000000001".into(),
                description: "GoToMeeting Business".into(),
                seats: Some(100),
                products: vec!["G2M".into()],
                enabled: true,
                extra: Map::new(),
            }],
            users: Vec::new(),
            by_key: HashMap::new(),
            by_email: HashMap::new(),
            next_key: FIRST_NEW_KEY,
        }
    }

    /// Parses a `file` target snapshot: `{"account": {"key","name"}, "licenses": [...], "users": [...]}`.
    /// A user holds a license when its `licenseKeys` or the license's `userKeys` say so;
    /// `userCount` is recomputed.
    pub fn from_snapshot(v: &Value) -> Result<State, String> {
        let root = v.as_object().ok_or("snapshot: expected an object")?;
        let acc = root.get("account").and_then(Value::as_object).ok_or("snapshot: missing object `account`")?;
        let account = Account {
            key: acc.get("key").and_then(key_of).ok_or("account.key: missing")?,
            name: string_of(acc, "name", "")?,
            extra: rest(acc, &["key", "name"]),
        };
        let mut licenses = Vec::new();
        let mut holders: Vec<(String, Vec<String>)> = Vec::new();
        let mut invited: Vec<(String, Vec<String>)> = Vec::new();
        for (i, l) in
            root.get("licenses").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate()
        {
            let l = l.as_object().ok_or_else(|| format!("licenses[{i}]: expected an object"))?;
            let key = l.get("key").and_then(key_of).ok_or_else(|| format!("licenses[{i}].key: missing"))?;
            if licenses.iter().any(|x: &License| x.key == key) {
                return Err(format!("licenses[{i}].key: duplicate {key}"));
            }
            let seats = match l.get("seats") {
                None | Some(Value::Null) => None,
                Some(s) => Some(s.as_u64().ok_or_else(|| format!("licenses[{i}].seats: expected a count"))?),
            };
            holders.push((key.clone(), keys_of(l.get("userKeys"), &format!("licenses[{i}].userKeys"))?));
            invited.push((key.clone(), keys_of(l.get("invitedUserKeys"), &format!("licenses[{i}].invitedUserKeys"))?));
            licenses.push(License {
                key,
                description: string_of(l, "description", "")?,
                seats,
                products: strings_of(l.get("products"), &format!("licenses[{i}].products"))?,
                enabled: match l.get("enabled") {
                    None | Some(Value::Null) => true,
                    Some(b) => b.as_bool().ok_or_else(|| format!("licenses[{i}].enabled: expected a boolean"))?,
                },
                extra: rest(l, LICENSE_FIELDS),
            });
        }
        let mut users: Vec<User> = Vec::new();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        let mut by_email: HashMap<String, usize> = HashMap::new();
        for (i, u) in root.get("users").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
            let o = u.as_object().ok_or_else(|| format!("users[{i}]: expected an object"))?;
            let ctx = |e: String| format!("users[{i}].{e}");
            let key = o.get("key").and_then(key_of).ok_or_else(|| format!("users[{i}].key: missing"))?;
            let email = string_of(o, "email", "").map_err(ctx)?;
            if email.is_empty() {
                return Err(format!("users[{i}].email: missing"));
            }
            if by_key.insert(key.clone(), users.len()).is_some() {
                return Err(format!("users[{i}].key: duplicate {key}"));
            }
            if by_email.insert(email.to_ascii_lowercase(), users.len()).is_some() {
                return Err(format!("users[{i}].email: duplicate {email}"));
            }
            users.push(User {
                key,
                email,
                first_name: string_of(o, "firstName", "").map_err(ctx)?,
                last_name: string_of(o, "lastName", "").map_err(ctx)?,
                locale: string_of(o, "locale", DEFAULT_LOCALE).map_err(ctx)?,
                time_zone: string_of(o, "timeZone", DEFAULT_TIME_ZONE).map_err(ctx)?,
                license_keys: keys_of(o.get("licenseKeys"), "licenseKeys").map_err(ctx)?,
                admin_roles: strings_of(o.get("adminRoles"), "adminRoles").map_err(ctx)?,
                name_locked: bool_of(o, "nameLocked").map_err(ctx)?,
                email_locked: bool_of(o, "emailLocked").map_err(ctx)?,
                identity_read_only: bool_of(o, "identityReadOnly").map_err(ctx)?,
                status: string_of(o, "status", "ACTIVE").map_err(ctx)?,
                invited_license_keys: Vec::new(),
                extra: rest(o, USER_FIELDS),
            });
        }
        for (lkey, ukeys) in holders {
            for uk in ukeys {
                if let Some(&i) = by_key.get(&uk)
                    && !users[i].license_keys.contains(&lkey)
                {
                    users[i].license_keys.push(lkey.clone());
                }
            }
        }
        for (lkey, ukeys) in invited {
            for uk in ukeys {
                if let Some(&i) = by_key.get(&uk)
                    && !users[i].invited_license_keys.contains(&lkey)
                {
                    users[i].invited_license_keys.push(lkey.clone());
                }
            }
        }
        Ok(State { account, licenses, users, by_key, by_email, next_key: FIRST_NEW_KEY })
    }

    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// A user to change in place; its key and email stay (see `set_email`).
    pub fn user_mut(&mut self, idx: usize) -> &mut User {
        &mut self.users[idx]
    }

    /// Adds a user at the end (its key and email must be new).
    pub fn push_user(&mut self, u: User) {
        self.by_key.insert(u.key.clone(), self.users.len());
        self.by_email.insert(u.email.to_ascii_lowercase(), self.users.len());
        self.users.push(u);
    }

    /// Changes a user's email (the caller has checked that no other user has it).
    pub fn set_email(&mut self, idx: usize, email: String) {
        let old = std::mem::replace(&mut self.users[idx].email, email);
        if self.by_email.get(&old.to_ascii_lowercase()) == Some(&idx) {
            self.by_email.remove(&old.to_ascii_lowercase());
        }
        self.by_email.insert(self.users[idx].email.to_ascii_lowercase(), idx);
    }

    /// Removes a user, keeping the others in order.
    pub fn remove_user(&mut self, idx: usize) -> User {
        let u = self.users.remove(idx);
        self.by_key = self.users.iter().enumerate().map(|(i, u)| (u.key.clone(), i)).collect();
        self.by_email = self.users.iter().enumerate().map(|(i, u)| (u.email.to_ascii_lowercase(), i)).collect();
        u
    }

    /// How many users hold a license.
    pub fn holder_count(&self, license_key: &str) -> usize {
        self.users.iter().filter(|u| u.license_keys.iter().any(|k| k == license_key)).count()
    }

    /// The state as a `file` target snapshot (keys as strings; licenses' `userCount`/`userKeys` derived).
    pub fn to_snapshot(&self) -> Value {
        let mut account = Map::new();
        account.insert("key".into(), Value::String(self.account.key.clone()));
        account.insert("name".into(), Value::String(self.account.name.clone()));
        account.extend(self.account.extra.clone());
        json!({
            "account": account,
            "licenses": self.licenses.iter().map(|l| self.license_json(l, false)).collect::<Vec<_>>(),
            "users": self.users.iter().map(|u| user_json(u, false, true, true)).collect::<Vec<_>>(),
        })
    }

    pub fn holders(&self, license_key: &str) -> Vec<&User> {
        self.users.iter().filter(|u| u.license_keys.iter().any(|k| k == license_key)).collect()
    }

    pub fn license_json(&self, l: &License, keys_as_numbers: bool) -> Value {
        let holders = self.holders(&l.key);
        let mut o = Map::new();
        o.insert("key".into(), key_json(&l.key, keys_as_numbers));
        o.insert("description".into(), Value::String(l.description.clone()));
        if let Some(s) = l.seats {
            o.insert("seats".into(), Value::from(s));
        }
        o.insert("products".into(), Value::from(l.products.clone()));
        o.insert("enabled".into(), Value::Bool(l.enabled));
        o.insert("userCount".into(), Value::from(holders.len()));
        o.insert("userKeys".into(), Value::Array(holders.iter().map(|u| key_json(&u.key, keys_as_numbers)).collect()));
        let invited = self.users.iter().filter(|u| u.invited_license_keys.iter().any(|k| k == &l.key));
        o.insert("invitedUserKeys".into(), Value::Array(invited.map(|u| key_json(&u.key, keys_as_numbers)).collect()));
        o.extend(l.extra.clone());
        Value::Object(o)
    }

    pub fn user_index(&self, key: &str) -> Option<usize> {
        self.by_key.get(key).copied()
    }

    /// The invited user accepts: pending licenses become held, the status active.
    pub fn accept_invitation(&mut self, email: &str) -> bool {
        let Some(i) = self.user_by_email(email) else { return false };
        let u = &mut self.users[i];
        if u.invited_license_keys.is_empty() {
            return false;
        }
        for k in std::mem::take(&mut u.invited_license_keys) {
            if !u.license_keys.contains(&k) {
                u.license_keys.push(k);
            }
        }
        u.status = "ACTIVE".into();
        true
    }

    pub fn user_by_email(&self, email: &str) -> Option<usize> {
        self.by_email.get(&email.to_ascii_lowercase()).copied()
    }
}

/// A user in GoTo's shape.
pub(crate) fn user_json(u: &User, keys_as_numbers: bool, show_licenses: bool, show_roles: bool) -> Value {
    let mut o = Map::new();
    o.insert("key".into(), key_json(&u.key, keys_as_numbers));
    o.insert("email".into(), Value::String(u.email.clone()));
    o.insert("firstName".into(), Value::String(u.first_name.clone()));
    o.insert("lastName".into(), Value::String(u.last_name.clone()));
    o.insert("locale".into(), Value::String(u.locale.clone()));
    o.insert("timeZone".into(), Value::String(u.time_zone.clone()));
    if show_licenses {
        o.insert(
            "licenseKeys".into(),
            Value::Array(u.license_keys.iter().map(|k| key_json(k, keys_as_numbers)).collect()),
        );
    }
    if show_roles {
        o.insert("adminRoles".into(), Value::from(u.admin_roles.clone()));
    }
    o.insert("nameLocked".into(), Value::Bool(u.name_locked));
    o.insert("emailLocked".into(), Value::Bool(u.email_locked));
    o.insert("identityReadOnly".into(), Value::Bool(u.identity_read_only));
    o.insert("status".into(), Value::String(u.status.clone()));
    for (k, v) in &u.extra {
        o.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Value::Object(o)
}

/// Parses the key arrays that requests carry (`licenseKeys`); strings or numbers.
pub(crate) fn request_keys(v: Option<&Value>, what: &str) -> Result<Option<Vec<String>>, String> {
    match v {
        None => Ok(None),
        Some(v) => keys_of(Some(v), what).map(Some),
    }
}

pub(crate) fn request_strings(v: Option<&Value>, what: &str) -> Result<Option<Vec<String>>, String> {
    match v {
        None => Ok(None),
        Some(v) => strings_of(Some(v), what).map(Some),
    }
}
