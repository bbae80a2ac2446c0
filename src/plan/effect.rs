//! What an action does to the accounts it names: the one definition, carried out on any
//! store of accounts. The `file` target runs it on a snapshot's JSON (so unknown fields
//! survive a rewrite); the live model runs it in memory (the SCIM property tests, and
//! anything that must predict an account's state after an action).

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
        self.accounts[at].attributes.insert(attribute.to_owned(), value.to_owned());
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
