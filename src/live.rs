//! The live account as rollcall sees it, whatever the target: accounts with their
//! attributes, grants and lock flags, and the account's licenses.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;

pub use crate::vocab::{Grant, Key, SUPER_USER, domain_of};

/// The lock flags GoTo sets on accounts an admin cannot fully change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Locks {
    /// `nameLocked`: first and last name.
    pub name: bool,
    /// `emailLocked`.
    pub email: bool,
    /// `identityReadOnly`: no identity attribute. (GoTo's "Update User" page says name, email
    /// and locale change only in the user's primary account, but no documented field tells that
    /// an account's primary account is another: such an account shows up as a refused update.)
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
    pub attributes: Attributes,
    pub grants: GrantSet,
    pub locks: Locks,
}

/// A live account's attributes by name, in name order, in one allocation. An account has a
/// handful, and each name is shared by every account that has it (`vocab::shared_name`).
/// (A `BTreeMap<String, String>` cost a 500-byte node and a string per name for each of
/// 100,000 accounts.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes(litemap::LiteMap<Arc<str>, Box<str>>);

use crate::vocab::shared_name as attribute_name;

impl Attributes {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| &**v)
    }
    /// Sets `name`, giving back the value it replaces.
    pub fn insert(&mut self, name: impl AsRef<str>, value: impl Into<Box<str>>) -> Option<Box<str>> {
        let (name, value) = (name.as_ref(), value.into());
        match self.0.get_mut(name) {
            Some(slot) => Some(std::mem::replace(slot, value)),
            None => self.0.insert(attribute_name(name), value),
        }
    }
    pub fn remove(&mut self, name: &str) -> Option<Box<str>> {
        self.0.remove(name)
    }
    /// In name order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &str)> + '_ {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }
}

impl<N: AsRef<str>, V: Into<Box<str>>> FromIterator<(N, V)> for Attributes {
    /// A name given twice keeps its last value; no room is kept beyond the attributes given.
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let map: litemap::LiteMap<_, _> =
            iter.into_iter().map(|(name, value)| (attribute_name(name.as_ref()), value.into())).collect();
        let mut pairs = map.into_tuple_vec();
        pairs.shrink_to_fit();
        Attributes(litemap::LiteMap::from_sorted_store_unchecked(pairs))
    }
}

impl<N: AsRef<str>, V: Into<Box<str>>> Extend<(N, V)> for Attributes {
    fn extend<I: IntoIterator<Item = (N, V)>>(&mut self, iter: I) {
        for (name, value) in iter {
            self.insert(name.as_ref(), value);
        }
    }
}

impl<N: AsRef<str>, V: Into<Box<str>>, const K: usize> From<[(N, V); K]> for Attributes {
    fn from(pairs: [(N, V); K]) -> Self {
        pairs.into_iter().collect()
    }
}

/// A live account's grants, in order, in one short list (an account holds one or two).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantSet(Vec<Grant>);

impl GrantSet {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn contains(&self, grant: &Grant) -> bool {
        self.0.binary_search(grant).is_ok()
    }
    /// Adds `grant`; false when it was held already.
    pub fn insert(&mut self, grant: Grant) -> bool {
        match self.0.binary_search(&grant) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, grant);
                true
            }
        }
    }
    /// Takes `grant` away; false when it was not held.
    pub fn remove(&mut self, grant: &Grant) -> bool {
        match self.0.binary_search(grant) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }
    /// In order.
    pub fn iter(&self) -> std::slice::Iter<'_, Grant> {
        self.0.iter()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<Grant> for GrantSet {
    fn from_iter<I: IntoIterator<Item = Grant>>(iter: I) -> Self {
        let mut grants: Vec<Grant> = iter.into_iter().collect();
        grants.sort_unstable();
        grants.dedup();
        GrantSet(grants)
    }
}

impl Extend<Grant> for GrantSet {
    fn extend<I: IntoIterator<Item = Grant>>(&mut self, iter: I) {
        for grant in iter {
            self.insert(grant);
        }
    }
}

impl<const K: usize> From<[Grant; K]> for GrantSet {
    fn from(grants: [Grant; K]) -> Self {
        grants.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a GrantSet {
    type Item = &'a Grant;
    type IntoIter = std::slice::Iter<'a, Grant>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for GrantSet {
    type Item = Grant;
    type IntoIter = std::vec::IntoIter<Grant>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl LiveAccount {
    /// The account's identity: GoTo's `email`, else SCIM's `userName`.
    pub fn email(&self) -> &str {
        crate::vocab::identity_of(|n| self.attributes.get(n)).unwrap_or("")
    }

    /// The target's own disabled flag (SCIM `active`), when it has one; None for GoTo,
    /// which has no such flag (there, an account holding no managed grant counts as disabled).
    pub fn active(&self) -> Option<bool> {
        self.attributes.get(ACTIVE).map(|v| !v.eq_ignore_ascii_case("false"))
    }
}

/// The live attribute that carries a target's disabled flag ("true" / "false").
pub const ACTIVE: &str = "active";

/// The live attribute that carries GoTo's user `status` as GoTo spells it (`ACTIVE`,
/// `SUSPENDED`, ...). Never mapped, never compared: shown in plans.
pub const STATUS: &str = "status";

/// The live attribute set ("true") on an account with a transfer invitation not yet accepted
/// (it appears in a license's `invitedUserKeys`). Its pending licenses count as held: the plan
/// neither creates nor grants it again, and says it is waiting for acceptance.
pub const INVITED: &str = "invited";

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
    /// The admin roles of that account, when the target has them (GoTo): the plan is blocked
    /// when it needs a role the caller lacks (`plan::roles`).
    pub caller_admin_roles: Option<BTreeSet<String>>,
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
            attributes: Attributes::from([("userName", "Ann@x.example")]),
            grants: GrantSet::new(),
            locks: Locks::default(),
        };
        assert_eq!(a.email(), "Ann@x.example");
        assert_eq!(a.active(), None);
        a.attributes.insert(ACTIVE, "false");
        assert_eq!(a.active(), Some(false));
        a.attributes.insert(ACTIVE, "true");
        assert_eq!(a.active(), Some(true));
        a.attributes.insert("email", "goto@x.example");
        assert_eq!(a.email(), "goto@x.example");
    }

    #[test]
    fn attributes_are_in_name_order_and_names_are_not_copied() {
        let given = [("timeZone", "UTC"), ("email", "a@x.example"), ("custom", "1"), ("email", "b@x.example")];
        // No room kept beyond what was given.
        assert_eq!(Attributes::from(given).0.into_tuple_vec().capacity(), 3);
        let mut a = Attributes::from(given);
        assert_eq!(a.iter().collect::<Vec<_>>(), [("custom", "1"), ("email", "b@x.example"), ("timeZone", "UTC")]);
        assert_eq!(a.insert("email", "c@x.example").as_deref(), Some("b@x.example"));
        assert_eq!(a.insert("locale", "de_DE"), None);
        assert_eq!(a.remove("custom").as_deref(), Some("1"));
        assert_eq!(a.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["email", "locale", "timeZone"]);
        // Each name is one allocation, whichever account holds it.
        let b = Attributes::from([("email", "d@x.example"), ("extensionAttribute1", "1")]);
        let c = Attributes::from([("extensionAttribute1", "2"), ("email", "e@x.example")]);
        for (x, y) in b.0.keys().zip(c.0.keys()).chain(a.0.keys().take(1).zip(b.0.keys())) {
            assert!(Arc::ptr_eq(x, y), "{x} is copied");
        }
    }

    proptest::proptest! {
        /// A grant set answers as a `BTreeSet` does, whatever is inserted and removed.
        #[test]
        fn a_grant_set_is_a_set(ops in proptest::collection::vec((proptest::bool::ANY, 0..6u8), 0..40)) {
            let grant = |n: u8| match n % 3 {
                0 => Grant::License(Key(format!("{n}"))),
                1 => Grant::AdminRole(format!("R{n}")),
                _ => Grant::ScimRole(format!("s{n}")),
            };
            let (mut set, mut model) = (GrantSet::new(), BTreeSet::new());
            for (add, n) in ops {
                if add {
                    proptest::prop_assert_eq!(set.insert(grant(n)), model.insert(grant(n)));
                } else {
                    proptest::prop_assert_eq!(set.remove(&grant(n)), model.remove(&grant(n)));
                }
                proptest::prop_assert_eq!(set.iter().collect::<Vec<_>>(), model.iter().collect::<Vec<_>>());
                for n in 0..6 {
                    proptest::prop_assert_eq!(set.contains(&grant(n)), model.contains(&grant(n)));
                }
            }
            let collected: GrantSet = model.iter().rev().chain(model.iter()).cloned().collect();
            proptest::prop_assert_eq!(collected.into_iter().collect::<Vec<_>>(), model.into_iter().collect::<Vec<_>>());
        }
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
