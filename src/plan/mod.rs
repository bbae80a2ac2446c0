//! A Plan: what apply would do to the live account, as plain data.
//!
//! Built by the pure `planner::plan` from desired and live state; rendered by `render`,
//! executed by `apply`. Actions are ordered by email.

pub mod effect;
pub mod planner;
#[cfg(test)]
mod proptests;
pub mod roles;
pub mod safety;
#[cfg(test)]
mod tests;
mod unique;

use serde::{Deserialize, Serialize};

use crate::diag::Code;
use crate::live::{Grant, Key};

pub use planner::{PlanOptions, plan};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Create,
    Update,
    Disable,
    Enable,
    Delete,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Create => "create",
            ActionKind::Update => "update",
            ActionKind::Disable => "disable",
            ActionKind::Enable => "enable",
            ActionKind::Delete => "delete",
        }
    }
    pub fn is_removal(self) -> bool {
        matches!(self, ActionKind::Disable | ActionKind::Delete)
    }
}

/// One grant in a plan: what it is and how people know it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GrantChange {
    pub grant: Grant,
    /// The license description, or the role name.
    pub name: String,
}

/// One change of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// An attribute set (old is null on create, or when the live account has none).
    Attribute { attribute: String, old: Option<String>, new: String },
    /// An attribute set whose mapping calls `Redact`: in memory the clear values (what the
    /// target receives); written anywhere (plan file, JSON, audit log) as `[redacted]`.
    SecretAttribute {
        attribute: String,
        #[serde(serialize_with = "redacted_option")]
        old: Option<String>,
        #[serde(serialize_with = "redacted")]
        new: String,
    },
    /// A grant added.
    Add(GrantChange),
    /// A grant removed.
    Remove(GrantChange),
}

/// What a redacted value is shown as, everywhere (Entra shows `[Redact]`): the same mark
/// as a secret taken out of what a server said.
pub use crate::redact::REDACTED;

fn redacted<S: serde::Serializer>(_: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(REDACTED)
}

fn redacted_option<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str(REDACTED),
        None => s.serialize_none(),
    }
}

impl Change {
    /// The change as written out: a secret attribute's values are `[redacted]` (what a
    /// saved plan holds, so a recomputed plan is compared with it in this form).
    pub fn masked(&self) -> Change {
        match self {
            Change::SecretAttribute { attribute, old, .. } => Change::SecretAttribute {
                attribute: attribute.clone(),
                old: old.as_ref().map(|_| REDACTED.to_owned()),
                new: REDACTED.to_owned(),
            },
            other => other.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Action {
    pub action: ActionKind,
    pub email: String,
    /// The live account's key (absent on create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub key: Option<Key>,
    /// Why, for removals ("no longer assigned", "accountEnabled is false").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub changes: Vec<Change>,
}

impl Action {
    /// The action as a saved plan holds it (secret values `[redacted]`).
    pub fn masked(&self) -> Action {
        Action { changes: self.changes.iter().map(Change::masked).collect(), ..self.clone() }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub disable: usize,
    pub enable: usize,
    pub delete: usize,
}

impl Summary {
    pub fn of(actions: &[Action]) -> Self {
        let mut s = Summary::default();
        for a in actions {
            *match a.action {
                ActionKind::Create => &mut s.create,
                ActionKind::Update => &mut s.update,
                ActionKind::Disable => &mut s.disable,
                ActionKind::Enable => &mut s.enable,
                ActionKind::Delete => &mut s.delete,
            } += 1;
        }
        s
    }
    pub fn total(&self) -> usize {
        self.create + self.update + self.disable + self.enable + self.delete
    }
    pub fn removals(&self) -> usize {
        self.disable + self.delete
    }
}

/// Something the plan will not do and the reviewer should know.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Warning {
    pub email: String,
    pub message: String,
}

/// Why a plan is blocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Block {
    /// Which check blocked it (rollcall::removal-threshold, ...).
    #[schemars(with = "String")]
    pub code: Code,
    pub message: String,
}

/// Grants rollcall found and leaves alone because no role names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Unmanaged {
    pub email: String,
    pub grants: Vec<GrantChange>,
}

/// What rollcall saw and deliberately left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeftAlone {
    /// Live accounts outside scope.domains (or, without a scope, not matched).
    pub outside_scope: usize,
    /// Live accounts in scope.exclude.
    pub excluded: usize,
    /// Protected accounts that would otherwise have been disabled, deleted or stripped.
    pub protected: usize,
    /// Unassigned in-scope accounts kept because on_unassign is keep.
    pub kept: usize,
    /// Grants no role names, on accounts rollcall manages.
    pub unmanaged_grants: usize,
    /// Accounts with changes GoTo will not let an admin make.
    pub locked: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub warnings: Vec<Warning>,
    pub blocked: Vec<Block>,
    pub left_alone: LeftAlone,
    pub unmanaged: Vec<Unmanaged>,
    /// No `scope:`: nothing is ever deprovisioned.
    pub unscoped: bool,
    /// The `--only` restriction, lower-cased; empty = everything.
    pub only: Vec<String>,
    /// Removals and in-scope accounts of the whole plan (before `--only`).
    pub removals: usize,
    pub in_scope: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        Summary::of(&self.actions)
    }
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn a_secret_change_is_written_masked_and_compares_masked() {
        let update =
            Change::SecretAttribute { attribute: "lastName".into(), old: Some("Old".into()), new: "New".into() };
        let json = serde_json::to_string(&update).unwrap();
        assert_eq!(
            json,
            r#"{"change":"secret_attribute","attribute":"lastName","old":"[redacted]","new":"[redacted]"}"#
        );
        let read: Change = serde_json::from_str(&json).unwrap();
        assert_eq!(read, update.masked());
        assert_ne!(read, update, "in memory the clear values stay, for the target");
        let create = Change::SecretAttribute { attribute: "lastName".into(), old: None, new: "New".into() };
        assert_eq!(
            serde_json::to_string(&create).unwrap(),
            r#"{"change":"secret_attribute","attribute":"lastName","old":null,"new":"[redacted]"}"#
        );
        let plain = Change::Attribute { attribute: "firstName".into(), old: None, new: "Ann".into() };
        assert_eq!(plain.masked(), plain);
    }
}
