//! What an action does to the accounts it names: the one definition, carried out on any
//! store of accounts. The `file` target runs it on a snapshot's JSON (so unknown fields
//! survive a rewrite); the live model runs it in memory (the SCIM property tests, and
//! anything that must predict an account's state after an action).

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use super::{Action, ActionKind, Change};
use crate::live::{Grant, Key, LiveAccount, LiveState};

/// Accounts an action can be carried out on.
pub trait AccountStore {
    /// The account with `key` when the action names one, else the one whose identity is
    /// `email` (case-insensitively).
    fn find(&self, key: Option<&Key>, email: &str) -> Option<usize>;
    /// A new, empty account for `email`, with the key `new_key(email)`.
    fn create(&mut self, email: &str) -> Result<usize, String>;
    fn delete(&mut self, at: usize) -> Result<(), String>;
    fn set(&mut self, at: usize, attribute: &str, value: &str) -> Result<(), String>;
    fn grant(&mut self, at: usize, grant: &Grant, add: bool) -> Result<(), String>;
}

/// Carries out `action` on `store`: a delete removes the account; a create adopts the
/// account that already has its email, else makes one; then every change is set, granted
/// or revoked. Any other action on an account that is not there is an error.
pub fn apply_action(store: &mut impl AccountStore, action: &Action) -> Result<(), String> {
    let at = match (action.action, store.find(action.key.as_ref(), &action.email)) {
        (ActionKind::Delete, Some(at)) => return store.delete(at),
        (ActionKind::Create, None) => store.create(&action.email)?,
        (_, Some(at)) => at,
        (_, None) => return Err(format!("user {} not found", action.email)),
    };
    for c in &action.changes {
        match c {
            Change::Attribute { attribute, new, .. } | Change::SecretAttribute { attribute, new, .. } => {
                store.set(at, attribute, new)?
            }
            Change::Add(g) => store.grant(at, &g.grant, true)?,
            Change::Remove(g) => store.grant(at, &g.grant, false)?,
        }
    }
    Ok(())
}

/// What an action leaves on the account it names: the attributes it sets, the grants it adds
/// and removes, whether it deletes the account. Found by carrying the action out with
/// `apply_action`; the read-back checks of the GoTo and SCIM targets hold an account to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expected {
    pub attributes: BTreeMap<String, String>,
    pub add: BTreeSet<Grant>,
    pub remove: BTreeSet<Grant>,
    pub deleted: bool,
}

impl Expected {
    pub fn of(action: &Action) -> Expected {
        let mut e = Expected::default();
        apply_action(&mut e, action).expect("recording an action cannot fail");
        e
    }

    /// What is still missing on `account` (as read back) for this, in words; empty = done.
    /// Identities (`email`, `userName`, the work email) compare case-insensitively.
    pub fn shortfall(&self, account: &LiveAccount) -> Vec<String> {
        let mut missing = Vec::new();
        for (a, v) in &self.attributes {
            let same = |have: &str| {
                if crate::vocab::case_insensitive(a) { have.eq_ignore_ascii_case(v) } else { have == v }
            };
            if !account.attributes.get(a).is_some_and(same) {
                missing.push(format!("{a} is not {}", crate::vocab::quote(v)));
            }
        }
        let one = |g: &Grant| match g {
            Grant::License(_) => "license",
            Grant::AdminRole(_) => "admin role",
            Grant::ScimRole(_) => "role",
        };
        for g in self.add.iter().filter(|g| !account.grants.contains(g)) {
            missing.push(format!("{} {} was not granted", one(g), g.id()));
        }
        for g in self.remove.iter().filter(|g| account.grants.contains(g)) {
            missing.push(format!("{} {} was not removed", one(g), g.id()));
        }
        missing
    }
}

/// Records what an action does to the one account it names.
impl AccountStore for Expected {
    fn find(&self, _: Option<&Key>, _: &str) -> Option<usize> {
        Some(0)
    }

    fn create(&mut self, _: &str) -> Result<usize, String> {
        Ok(0)
    }

    fn delete(&mut self, _: usize) -> Result<(), String> {
        self.deleted = true;
        Ok(())
    }

    fn set(&mut self, _: usize, attribute: &str, value: &str) -> Result<(), String> {
        self.attributes.insert(attribute.to_owned(), value.to_owned());
        Ok(())
    }

    fn grant(&mut self, _: usize, grant: &Grant, add: bool) -> Result<(), String> {
        let (to, from) = if add { (&mut self.add, &mut self.remove) } else { (&mut self.remove, &mut self.add) };
        from.remove(grant);
        to.insert(grant.clone());
        Ok(())
    }
}

/// The deterministic 19-digit key of an account created outside GoTo (a snapshot, the
/// live model): the same email always gets the same key.
pub fn new_key(email: &str) -> Key {
    let digest = Sha256::digest(email.to_lowercase().as_bytes());
    let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) % 1_000_000_000_000_000_000;
    Key(format!("9{n:018}"))
}

impl AccountStore for LiveState {
    fn find(&self, key: Option<&Key>, email: &str) -> Option<usize> {
        match key {
            Some(k) => self.accounts.iter().position(|a| &a.key == k),
            None => self.accounts.iter().position(|a| a.email().eq_ignore_ascii_case(email)),
        }
    }

    fn create(&mut self, email: &str) -> Result<usize, String> {
        self.accounts.push(LiveAccount {
            key: new_key(email),
            attributes: Default::default(),
            grants: Default::default(),
            locks: Default::default(),
        });
        Ok(self.accounts.len() - 1)
    }

    fn delete(&mut self, at: usize) -> Result<(), String> {
        self.accounts.remove(at);
        Ok(())
    }

    fn set(&mut self, at: usize, attribute: &str, value: &str) -> Result<(), String> {
        self.accounts[at].attributes.insert(attribute, value);
        Ok(())
    }

    fn grant(&mut self, at: usize, grant: &Grant, add: bool) -> Result<(), String> {
        let grants = &mut self.accounts[at].grants;
        if add {
            grants.insert(grant.clone());
        } else {
            grants.remove(grant);
        }
        Ok(())
    }
}

/// Carries out every action on the live model, in order; the first that cannot be carried
/// out is an error.
pub fn apply_all(live: &mut LiveState, actions: &[Action]) -> Result<(), String> {
    actions.iter().try_for_each(|a| apply_action(live, a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::GrantChange;

    #[test]
    fn what_an_action_leaves_is_what_apply_action_does_and_the_shortfall_names_the_rest() {
        let grant = |g: Grant| GrantChange { name: g.id().to_owned(), grant: g };
        let action = Action {
            action: ActionKind::Update,
            email: "ann@acme.example".into(),
            key: Some(Key::from("1")),
            reason: None,
            changes: vec![
                Change::Attribute { attribute: "email".into(), old: None, new: "Ann@acme.example".into() },
                Change::Attribute { attribute: "lastName".into(), old: Some("Lee".into()), new: "Li".into() },
                Change::Add(grant(Grant::License(Key::from("7")))),
                Change::Remove(grant(Grant::AdminRole("MANAGE_USERS".into()))),
            ],
        };
        let e = Expected::of(&action);
        let mut live = LiveState::default();
        live.accounts.push(LiveAccount {
            key: Key::from("1"),
            attributes: [("email".to_owned(), "ann@acme.example".to_owned())].into(),
            grants: [Grant::AdminRole("MANAGE_USERS".into())].into(),
            locks: Default::default(),
        });
        assert_eq!(
            e.shortfall(&live.accounts[0]),
            ["lastName is not \"Li\"", "license 7 was not granted", "admin role MANAGE_USERS was not removed"]
        );
        apply_action(&mut live, &action).unwrap();
        assert_eq!(e.shortfall(&live.accounts[0]), Vec::<String>::new(), "the email compares case-insensitively");
        assert!(!e.deleted);
    }
}
