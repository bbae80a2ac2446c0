//! The live account as rollcall sees it, whatever the target: accounts with their
//! attributes, grants and lock flags, and the account's licenses.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub use crate::vocab::{Grant, Key, SUPER_USER, domain_of};

/// The lock flags GoTo sets on accounts an admin cannot fully change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Locks {
    /// `nameLocked`: first and last name.
    pub name: bool,
    /// `emailLocked`.
    pub email: bool,
    /// `identityReadOnly`, or the user's primary account is another one: no identity attribute.
    pub identity: bool,
}

impl Locks {
    /// Why `attribute` cannot be changed, if it cannot.
    pub fn blocks(&self, attribute: &str) -> Option<&'static str> {
        let identity = crate::vocab::GOTO_ATTRIBUTES.contains(&attribute);
        if self.identity && identity {
            return Some("identityReadOnly");
        }
        match attribute {
            "firstName" | "lastName" if self.name => Some("nameLocked"),
            "email" if self.email => Some("emailLocked"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveAccount {
    pub key: Key,
    /// Target attributes (email included), null ones absent.
    pub attributes: BTreeMap<String, String>,
    pub grants: BTreeSet<Grant>,
    pub locks: Locks,
}

impl LiveAccount {
    /// The account's identity: GoTo's `email`, else SCIM's `userName`.
    pub fn email(&self) -> &str {
        crate::vocab::identity_of(|n| self.attributes.get(n).map(String::as_str)).unwrap_or("")
    }

    /// The target's own disabled flag (SCIM `active`), when it has one; None for GoTo,
    /// which has no such flag (there, an account holding no managed grant counts as disabled).
    pub fn active(&self) -> Option<bool> {
        self.attributes.get(ACTIVE).map(|v| !v.eq_ignore_ascii_case("false"))
    }
}

/// The live attribute that carries a target's disabled flag ("true" / "false").
pub const ACTIVE: &str = "active";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct License {
    pub key: Key,
    pub description: String,
    /// None when GoTo does not say.
    pub seats: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LiveState {
    pub account_key: Key,
    pub account_name: String,
    pub licenses: Vec<License>,
    pub accounts: Vec<LiveAccount>,
    /// Email of the account whose credential rollcall runs with (always protected).
    pub me: Option<String>,
}

impl LiveState {
    pub fn license(&self, key: &Key) -> Option<&License> {
        self.licenses.iter().find(|l| &l.key == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_digits() {
        let k: Vec<Key> =
            serde_json::from_str(r#"["6581286685341855244", 78888886011013972886849029, 7902142105473202120]"#)
                .unwrap();
        assert_eq!(k[0].as_str(), "6581286685341855244");
        assert_eq!(k[1].as_str(), "78888886011013972886849029");
        assert_eq!(k[2].as_str(), "7902142105473202120");
        assert_eq!(serde_json::to_string(&k[1]).unwrap(), r#""78888886011013972886849029""#);
    }

    #[test]
    fn identity_is_email_else_user_name_and_active_is_optional() {
        let mut a = LiveAccount {
            key: Key::from("1"),
            attributes: BTreeMap::from([("userName".to_owned(), "Ann@x.example".to_owned())]),
            grants: BTreeSet::new(),
            locks: Locks::default(),
        };
        assert_eq!(a.email(), "Ann@x.example");
        assert_eq!(a.active(), None);
        a.attributes.insert(ACTIVE.into(), "false".into());
        assert_eq!(a.active(), Some(false));
        a.attributes.insert(ACTIVE.into(), "true".into());
        assert_eq!(a.active(), Some(true));
        a.attributes.insert("email".into(), "goto@x.example".into());
        assert_eq!(a.email(), "goto@x.example");
    }

    #[test]
    fn locks_name_the_flag() {
        let l = Locks { name: true, ..Locks::default() };
        assert_eq!(l.blocks("lastName"), Some("nameLocked"));
        assert_eq!(l.blocks("email"), None);
        let l = Locks { identity: true, ..Locks::default() };
        assert_eq!(l.blocks("email"), Some("identityReadOnly"));
    }
}
