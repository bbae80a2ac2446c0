//! Which GoTo admin roles the caller needs for a plan's actions, and the block when it lacks
//! one: found before any write instead of a 403 after part of the plan.
//!
//! From GoTo's documentation (docs/goto.md cites it): creating users needs `ADD_USERS`
//! (legacy "Create User"), distributing licenses `MANAGE_SEATS` and granting admin roles
//! `SUPER_USER` (SailPoint's GoToMeeting connector, administrator permissions), changing a
//! user `MANAGE_USERS` ("Update User"); `SUPER_USER` may do everything. Deleting a user is
//! documented nowhere: rollcall asks for `MANAGE_USERS`, as for any other change of a user.

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, ActionKind, Block, Change};
use crate::diag::Code;
use crate::live::{Grant, LiveState, SUPER_USER};

/// The admin role each kind of work needs (besides SUPER_USER, which may do everything).
pub const ADD_USERS: &str = "ADD_USERS";
pub const MANAGE_SEATS: &str = "MANAGE_SEATS";
pub const MANAGE_USERS: &str = "MANAGE_USERS";

/// Kinds of work and the role each needs, as plans and `rollcall check` name them.
pub const TO_CREATE_USERS: (&str, &str) = (ADD_USERS, "create users");
pub const TO_GIVE_LICENSES: (&str, &str) = (MANAGE_SEATS, "give or take licenses");
pub const TO_GRANT_ADMIN_ROLES: (&str, &str) = (SUPER_USER, "grant or remove admin roles");

/// What `action` needs: (role, what for).
pub fn needs(action: &Action) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if action.action == ActionKind::Create {
        out.push(TO_CREATE_USERS);
    }
    if action.action == ActionKind::Delete {
        out.push((MANAGE_USERS, "delete users"));
    }
    for c in &action.changes {
        let need = match c {
            Change::Attribute { .. } | Change::SecretAttribute { .. } if action.action != ActionKind::Create => {
                (MANAGE_USERS, "change users")
            }
            Change::Attribute { .. } | Change::SecretAttribute { .. } => continue,
            Change::Add(g) | Change::Remove(g) => match g.grant {
                Grant::License(_) => TO_GIVE_LICENSES,
                Grant::AdminRole(_) => TO_GRANT_ADMIN_ROLES,
                Grant::ScimRole(_) => continue,
            },
        };
        if !out.contains(&need) {
            out.push(need);
        }
    }
    out
}

/// Roles the plan needs that `have` lacks: role -> (what for, how many actions).
pub fn missing<'a>(
    actions: impl IntoIterator<Item = &'a Action>,
    have: &BTreeSet<String>,
) -> BTreeMap<&'static str, (&'static str, usize)> {
    let mut out: BTreeMap<&'static str, (&'static str, usize)> = BTreeMap::new();
    if have.contains(SUPER_USER) {
        return out;
    }
    for a in actions {
        for (role, why) in needs(a) {
            if !have.contains(role) {
                out.entry(role).or_insert((why, 0)).1 += 1;
            }
        }
    }
    out
}

/// The block for a plan the caller cannot apply (None when it can, or the roles are unknown).
pub fn check(actions: &[Action], live: &LiveState) -> Option<Block> {
    let have = live.caller_admin_roles.as_ref()?;
    let missing = missing(actions, have);
    if missing.is_empty() {
        return None;
    }
    let lacks: Vec<String> = missing
        .iter()
        .map(|(role, (why, n))| format!("{role} to {why} ({n} action{})", if *n == 1 { "" } else { "s" }))
        .collect();
    Some(Block {
        code: Code::InsufficientAdminRole,
        message: format!(
            "the credential's user {} holds {}; this plan needs {}: give that user the role(s) in GoTo's Admin Center, or run rollcall with another administrator's credential",
            live.me.as_deref().unwrap_or("(unknown)"),
            if have.is_empty() {
                "no admin role".to_owned()
            } else {
                have.iter().cloned().collect::<Vec<_>>().join(", ")
            },
            lacks.join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::{Action, ActionKind, Change, missing, needs};
    use crate::live::{Grant, Key};
    use crate::plan::GrantChange;

    fn action(kind: ActionKind, changes: Vec<Change>) -> Action {
        Action { action: kind, email: "a@x.example".into(), key: None, reason: None, changes }
    }

    fn license() -> Change {
        Change::Add(GrantChange { grant: Grant::License(Key::from("1")), name: "L".into() })
    }

    #[test]
    fn each_change_names_the_role_it_needs() {
        let create = action(ActionKind::Create, vec![license()]);
        assert_eq!(needs(&create).iter().map(|n| n.0).collect::<Vec<_>>(), ["ADD_USERS", "MANAGE_SEATS"]);
        let rename = action(
            ActionKind::Update,
            vec![Change::Attribute { attribute: "lastName".into(), old: None, new: "B".into() }],
        );
        assert_eq!(needs(&rename).iter().map(|n| n.0).collect::<Vec<_>>(), ["MANAGE_USERS"]);
        let role = action(
            ActionKind::Update,
            vec![Change::Remove(GrantChange { grant: Grant::AdminRole("MANAGE_USERS".into()), name: "M".into() })],
        );
        assert_eq!(needs(&role).iter().map(|n| n.0).collect::<Vec<_>>(), ["SUPER_USER"]);
        let have: BTreeSet<String> = ["MANAGE_USERS".to_owned(), "ADD_USERS".to_owned()].into();
        let m = missing([&create, &rename, &role], &have);
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), ["MANAGE_SEATS", "SUPER_USER"]);
        assert!(missing([&create, &role], &["SUPER_USER".to_owned()].into()).is_empty(), "SUPER_USER may do all");
    }
}
