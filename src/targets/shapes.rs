//! The GoTo Admin API's JSON shapes, read in one place: the `goto` target reads them from
//! GoTo, the `file` target from a snapshot in the same shapes.

use std::collections::HashMap;

use serde_json::Value;

use crate::live::{Attributes, Grant, GrantSet, Key, License, LiveAccount, Locks};

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
    let mut attributes = Attributes::new();
    let mut grants = GrantSet::new();
    let mut locks = Locks::default();
    // One pass over the user's fields: a lookup per field would hash every name again, for
    // each of 100,000 users.
    for (name, v) in u.as_object().into_iter().flatten() {
        match name.as_str() {
            "licenseKeys" => grants.extend(keys_of(Some(v)).into_iter().map(Grant::License)),
            "adminRoles" => grants.extend(
                v.as_array().into_iter().flatten().filter_map(Value::as_str).map(|r| Grant::AdminRole(r.to_owned())),
            ),
            "nameLocked" => locks.name = v.as_bool().unwrap_or(false),
            "emailLocked" => locks.email = v.as_bool().unwrap_or(false),
            "identityReadOnly" => locks.identity = v.as_bool().unwrap_or(false),
            attribute => {
                if let (Some(a), Some(v)) = (ATTRIBUTES.iter().find(|a| **a == attribute), v.as_str()) {
                    attributes.insert(a, v);
                }
            }
        }
    }
    LiveAccount { key, attributes, grants, locks }
}

/// A user as the account's user list shows them.
#[derive(Debug, PartialEq)]
pub struct Listed {
    /// None for an entry without a usable key (kept, so that paging counts it; never planned).
    pub key: Option<Key>,
    pub account: LiveAccount,
    /// GoTo's `status`, as it spells it.
    pub status: Option<String>,
    /// Whether the entry has an `adminRoles` field (null counts): without one, the user's
    /// admin roles are read one by one when they matter.
    pub roles_shown: bool,
}

impl Listed {
    /// From the user's JSON, field by field as leniently as `account_of`.
    pub fn of(u: &Value) -> Listed {
        let key = u.get("key").and_then(key_of);
        Listed {
            account: account_of(u, key.clone().unwrap_or_default()),
            key,
            status: u.get("status").and_then(Value::as_str).map(str::to_owned),
            roles_shown: u.get("adminRoles").is_some(),
        }
    }
}

/// A page of the user list (`{"results": [...], "total": N}`) read as JSON values: any
/// answer at all, as leniently as the rest of the client reads GoTo's answers.
pub fn listed_values(text: &str) -> (Vec<Listed>, Option<u64>) {
    let page: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let users = page.get("results").and_then(Value::as_array).map(|a| a.iter().map(Listed::of).collect());
    (users.unwrap_or_default(), page.get("total").and_then(Value::as_u64))
}

/// A page of the user list read straight into `Listed` users, without a JSON tree (a
/// 100,000-user account is 100 such pages). `None` when the page is anything but the plain
/// shape: a field of another type, a user without a key, a field twice... `listed_values`
/// reads such a page, and `tests` hold the two to the same result on the plain shape.
pub fn listed_page(text: &str) -> Option<(Vec<Listed>, Option<u64>)> {
    /// Present and null is not absent: `adminRoles: null` shows the roles (none).
    #[derive(Default)]
    enum Roles {
        #[default]
        Absent,
        Shown(Vec<String>),
    }
    impl<'de> serde::Deserialize<'de> for Roles {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Ok(Roles::Shown(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default()))
        }
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct User {
        key: Key,
        email: Option<String>,
        first_name: Option<String>,
        last_name: Option<String>,
        locale: Option<String>,
        time_zone: Option<String>,
        status: Option<String>,
        license_keys: Option<Vec<Key>>,
        #[serde(default)]
        admin_roles: Roles,
        name_locked: Option<bool>,
        email_locked: Option<bool>,
        identity_read_only: Option<bool>,
    }
    #[derive(serde::Deserialize)]
    struct Page {
        #[serde(default)]
        results: Vec<User>,
        total: Option<u64>,
    }
    let page: Page = serde_json::from_str(text).ok()?;
    let users = page.results.into_iter().map(|u| {
        let mut grants: GrantSet = u.license_keys.into_iter().flatten().map(Grant::License).collect();
        let roles_shown = match u.admin_roles {
            Roles::Absent => false,
            Roles::Shown(roles) => {
                grants.extend(roles.into_iter().map(Grant::AdminRole));
                true
            }
        };
        Listed {
            key: Some(u.key.clone()),
            account: typed_account(
                u.key,
                [u.email, u.first_name, u.last_name, u.locale, u.time_zone],
                grants,
                [u.name_locked, u.email_locked, u.identity_read_only],
            ),
            status: u.status,
            roles_shown,
        }
    });
    Some((users.collect(), page.total))
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

/// A live account from a typed user's fields (a listed page's or a snapshot's): the values of
/// `ATTRIBUTES` in its order (null ones absent), and `nameLocked`, `emailLocked`,
/// `identityReadOnly` (absent: false).
fn typed_account(key: Key, values: [Option<String>; 5], grants: GrantSet, locks: [Option<bool>; 3]) -> LiveAccount {
    let [name, email, identity] = locks.map(|flag| flag.unwrap_or(false));
    LiveAccount {
        key,
        attributes: ATTRIBUTES.iter().zip(values).filter_map(|(a, v)| Some((a, v?))).collect(),
        grants,
        locks: Locks { name, email, identity },
    }
}

/// A `file`-target snapshot read straight into the live model (no JSON tree: a 100,000-user
/// account reads in a fraction of the time and memory). Unknown fields are ignored.
#[derive(serde::Deserialize)]
pub struct Snapshot {
    account: SnapshotAccount,
    #[serde(default)]
    licenses: Option<Vec<SnapshotLicense>>,
    #[serde(default)]
    users: Option<SnapshotUsers>,
}

/// A snapshot's users, each made a live account as soon as it is read: a list of
/// 100,000 `SnapshotUser`s first would cost 26 MB more at the run's busiest moment.
/// (The licenses' `userKeys`, which may come after the users, are added by `into_live`.)
struct SnapshotUsers(Vec<LiveAccount>);

impl<'de> serde::Deserialize<'de> for SnapshotUsers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = SnapshotUsers;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of users")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<SnapshotUsers, A::Error> {
                let mut accounts = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
                while let Some(user) = seq.next_element::<SnapshotUser>()? {
                    accounts.push(user.into_account());
                }
                accounts.shrink_to_fit();
                Ok(SnapshotUsers(accounts))
            }
        }
        d.deserialize_seq(V)
    }
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

impl SnapshotUser {
    /// The live account, with the licenses the user lists (not yet those that list the user).
    fn into_account(self) -> LiveAccount {
        let mut grants: GrantSet = self.license_keys.unwrap_or_default().into_iter().map(Grant::License).collect();
        grants.extend(self.admin_roles.unwrap_or_default().into_iter().map(Grant::AdminRole));
        typed_account(
            self.key,
            [self.email, self.first_name, self.last_name, self.locale, self.time_zone],
            grants,
            [self.name_locked, self.email_locked, self.identity_read_only],
        )
    }
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
        let mut accounts = self.users.map(|u| u.0).unwrap_or_default();
        if !holders.is_empty() {
            for account in &mut accounts {
                if let Some(held) = holders.get(&account.key) {
                    account.grants.extend(held.iter().cloned().map(Grant::License));
                }
            }
        }
        crate::live::LiveState {
            account_key: self.account.key,
            account_name: self.account.name.unwrap_or_default(),
            licenses,
            accounts,
            me: None,
            caller_admin_roles: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_snapshot_license_list_grants_its_holders_wherever_it_stands() {
        let users = r#"[{"key": "1", "email": "a@x.example", "licenseKeys": ["7"], "adminRoles": ["MANAGE_USERS"]},
                        {"key": "2", "email": "b@x.example"}, {"key": "3", "email": "c@x.example"}]"#;
        let licenses = r#"[{"key": "7", "userKeys": ["2"]}, {"key": "8", "userKeys": ["2", "3"]}]"#;
        for text in [
            format!(r#"{{"account": {{"key": "9"}}, "users": {users}, "licenses": {licenses}}}"#),
            format!(r#"{{"licenses": {licenses}, "account": {{"key": "9"}}, "users": {users}}}"#),
        ] {
            let typed = serde_json::from_str::<Snapshot>(&text).unwrap().into_live();
            let from_value = super::super::file::live_state(&serde_json::from_str(&text).unwrap()).unwrap();
            assert_eq!(typed, from_value);
            let held = |i: usize| typed.accounts[i].grants.iter().map(|g| g.id().to_owned()).collect::<Vec<_>>();
            assert_eq!([held(0), held(1), held(2)], [vec!["7", "MANAGE_USERS"], vec!["7", "8"], vec!["8"]]);
        }
    }

    /// The typed page either refuses or reads exactly what the JSON values give.
    fn agrees(text: &str) -> bool {
        let typed = listed_page(text);
        if let Some(typed) = &typed {
            assert_eq!(typed, &listed_values(text), "the typed page read {text} differently");
        }
        typed.is_some()
    }

    #[test]
    fn a_plain_page_is_read_typed_exactly_as_from_json_values() {
        for text in [
            r#"{"results": [], "total": 0}"#,
            r#"{"results": [{"key": "6581286685341856603", "email": "ada@acme.example", "firstName": "Ada", "lastName": "L", "locale": "en_US", "timeZone": "Europe/Berlin", "licenseKeys": ["7902142105473202120", 42], "adminRoles": ["MANAGE_USERS"], "nameLocked": true, "emailLocked": false, "identityReadOnly": null, "status": "ACTIVE", "other": {"x": [1, 2]}}], "total": 1}"#,
            r#"{"results": [{"key": 78888886011013972886849029, "email": null, "adminRoles": null}, {"key": "2"}]}"#,
            r#"{"total": 3}"#,
        ] {
            assert!(agrees(text), "the typed page gave up on {text}");
        }
        // `adminRoles: null` shows the roles; an absent field does not.
        let (users, _) = listed_page(r#"{"results": [{"key": "1", "adminRoles": null}, {"key": "2"}]}"#).unwrap();
        assert_eq!((users[0].roles_shown, users[1].roles_shown), (true, false));
    }

    #[test]
    fn anything_else_is_read_from_json_values() {
        for text in [
            "",
            "not json",
            r#"[{"key": "1"}]"#,
            r#"{"results": [{"email": "keyless@acme.example"}], "total": 1}"#,
            r#"{"results": [{"key": 1.5}]}"#,
            r#"{"results": [{"key": "1", "locale": 5}]}"#,
            r#"{"results": [{"key": "1", "email": "a@x", "email": "b@x"}]}"#,
            r#"{"results": [{"key": "1", "adminRoles": ["A", 1]}]}"#,
            r#"{"results": [{"key": "1", "nameLocked": "true"}]}"#,
            r#"{"results": [{"key": "1", "licenseKeys": "1"}]}"#,
            r#"{"results": {"key": "1"}, "total": 1}"#,
            r#"{"results": [], "total": -1}"#,
            r#"{"results": [], "total": "1"}"#,
        ] {
            assert!(!agrees(text), "the typed page took {text}");
        }
        // and the JSON values keep what they can: the keyless user, for paging to count
        let (users, total) = listed_values(r#"{"results": [{"email": "keyless@acme.example"}], "total": 1}"#);
        assert_eq!((users.len(), users[0].key.clone(), total), (1, None, Some(1)));
    }

    /// A user field: mostly of its own type, now and then null, absent or of another type.
    fn field(name: &'static str, value: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
        let odd = prop::sample::select(vec!["null", "5", "1.5", "true", "\"x\"", "[]", "{}", "[\"A\", 1]"]);
        prop_oneof![
            8 => prop::sample::select(value.to_vec()).prop_map(move |v| Some(format!("\"{name}\": {v}"))),
            1 => Just(None),
            1 => odd.prop_map(move |v| Some(format!("\"{name}\": {v}"))),
        ]
    }

    fn user() -> impl Strategy<Value = String> {
        (
            field("key", &["\"6581286685341856603\"", "42", "78888886011013972886849029"]),
            field("email", &["\"ada@acme.example\"", "\"\""]),
            field("firstName", &["\"Zoë\""]),
            field("timeZone", &["\"Europe/Berlin\""]),
            field("licenseKeys", &["[\"7902142105473202120\"]", "[1, \"2\"]", "[]"]),
            field("adminRoles", &["[\"MANAGE_USERS\"]", "[]", "null"]),
            field("nameLocked", &["true", "false"]),
            field("status", &["\"ACTIVE\"", "\"SUSPENDED\""]),
            any::<bool>(),
        )
            .prop_map(|(key, email, first, tz, licenses, roles, locked, status, twice)| {
                let mut fields: Vec<String> =
                    [key, email, first, tz, licenses, roles, locked, status].into_iter().flatten().collect();
                if twice && let Some(f) = fields.first().cloned() {
                    fields.push(f);
                }
                format!("{{{}}}", fields.join(", "))
            })
    }

    #[test]
    fn the_generated_pages_are_often_read_typed() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::{Config, TestRng, TestRunner};
        let mut runner =
            TestRunner::new_with_rng(Config::default(), TestRng::deterministic_rng(Config::default().rng_algorithm));
        let pages = prop::collection::vec(user(), 0..3)
            .prop_map(|u| format!("{{\"results\": [{}], \"total\": 9}}", u.join(", ")));
        let typed = (0..200).filter(|_| agrees(&pages.new_tree(&mut runner).expect("a page").current())).count();
        assert!(typed >= 40, "only {typed} of 200 generated pages were read typed");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        #[test]
        fn a_typed_page_never_reads_differently(users in prop::collection::vec(user(), 0..4), total in prop::option::of(0..5u64)) {
            let total = total.map_or(String::new(), |t| format!(", \"total\": {t}"));
            agrees(&format!("{{\"results\": [{}]{total}}}", users.join(", ")));
        }
    }
}
