//! Applies a plan to a live model in memory: what a faithful target would end up with.
//! The `file` target writes through this; the property tests use it to check that a plan
//! right after apply is empty.

use super::{Action, ActionKind, Change};
use crate::live::{Key, LiveAccount, LiveState};

/// Applies one action. `new_key` names an account that a create makes.
pub fn apply_action(live: &mut LiveState, action: &Action, new_key: impl FnOnce() -> Key) {
    let position = match &action.key {
        Some(k) => live.accounts.iter().position(|a| &a.key == k),
        None => live.accounts.iter().position(|a| a.email().eq_ignore_ascii_case(&action.email)),
    };
    if action.action == ActionKind::Delete {
        if let Some(i) = position {
            live.accounts.remove(i);
        }
        return;
    }
    let i = match position {
        Some(i) => i,
        None => {
            live.accounts.push(LiveAccount {
                key: new_key(),
                attributes: Default::default(),
                grants: Default::default(),
                locks: Default::default(),
            });
            live.accounts.len() - 1
        }
    };
    let account = &mut live.accounts[i];
    for c in &action.changes {
        match c {
            Change::Attribute { attribute, new, .. } => {
                account.attributes.insert(attribute.clone(), new.clone());
            }
            Change::Add(g) => {
                account.grants.insert(g.grant.clone());
            }
            Change::Remove(g) => {
                account.grants.remove(&g.grant);
            }
        }
    }
}

/// Applies every action, giving created accounts keys `prefix` + a counter.
pub fn apply_all(live: &mut LiveState, actions: &[Action]) {
    let mut n = live.accounts.len();
    for a in actions {
        apply_action(live, a, || {
            n += 1;
            Key(format!("9{n:018}"))
        });
    }
}
