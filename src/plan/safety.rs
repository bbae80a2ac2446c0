//! The checks that block a plan: too many removals, the last SUPER_USER, license seats.
//! Always computed on the whole plan, also under `--only`.

use std::collections::BTreeMap;

use super::planner::{Grants, grants_after};
use super::{Action, ActionKind, Block, Change};
use crate::desired::Desired;
use crate::diag::Code;
use crate::live::{Grant, LiveState, SUPER_USER};

pub fn check(actions: &[Action], live: &LiveState, desired: &Desired, in_scope: usize, grants: &Grants) -> Vec<Block> {
    let mut blocked = Vec::new();
    let removals = actions.iter().filter(|a| a.action.is_removal()).count();
    let policy = &desired.policy;
    if removals as u64 > policy.max_removals_count {
        blocked.push(Block {
            code: Code::RemovalThreshold.as_str().into(),
            message: format!(
                "the plan removes {removals} accounts, more than max_removals.count ({})",
                policy.max_removals_count
            ),
        });
    }
    // Percent of the in-scope live accounts: removals / in_scope > percent / 100, in integers where possible.
    if removals > 0 && (removals as f64) * 100.0 > policy.max_removals_percent * in_scope as f64 {
        let share = if in_scope == 0 { 100.0 } else { removals as f64 * 100.0 / in_scope as f64 };
        blocked.push(Block {
            code: Code::RemovalThreshold.as_str().into(),
            message: format!(
                "the plan removes {removals} of {in_scope} in-scope accounts ({share:.1} %), more than max_removals.percent ({} %)",
                policy.max_removals_percent
            ),
        });
    }

    let after = grants_after(actions, live);
    let super_user = Grant::AdminRole(SUPER_USER.into());
    let holds_before = live.accounts.iter().filter(|a| a.grants.contains(&super_user)).count();
    let holds_after = live
        .accounts
        .iter()
        .filter(|a| match after.get(&a.key) {
            Some(Some(g)) => g.contains(&super_user),
            Some(None) => false,
            None => a.grants.contains(&super_user),
        })
        .count()
        + actions
            .iter()
            .filter(|a| {
                a.action == ActionKind::Create
                    && a.changes.iter().any(|c| matches!(c, Change::Add(g) if g.grant == super_user))
            })
            .count();
    if holds_before > 0 && holds_after == 0 {
        blocked.push(Block {
            code: Code::LastSuperUser.as_str().into(),
            message: "the plan removes the last account holding SUPER_USER: nobody could administer the account".into(),
        });
    }

    // Seats: users on each license after the plan, against the license's seats.
    let mut delta: BTreeMap<&Grant, i64> = BTreeMap::new();
    let by_key: std::collections::HashMap<_, _> = live.accounts.iter().map(|a| (&a.key, a)).collect();
    for a in actions {
        for c in &a.changes {
            match c {
                Change::Add(g) => *delta.entry(&g.grant).or_default() += 1,
                Change::Remove(g) => *delta.entry(&g.grant).or_default() -= 1,
                Change::Attribute { .. } => {}
            }
        }
        if a.action == ActionKind::Delete
            && let Some(account) = a.key.as_ref().and_then(|k| by_key.get(k))
        {
            // A deleted account frees the unmanaged licenses it held too.
            for g in account.grants.iter().filter(|g| !grants.managed.contains(g)) {
                *delta.entry(g).or_default() -= 1;
            }
        }
    }
    let mut holders: BTreeMap<&Grant, i64> = BTreeMap::new();
    for g in live.accounts.iter().flat_map(|a| &a.grants) {
        *holders.entry(g).or_default() += 1;
    }
    for license in &live.licenses {
        let Some(seats) = license.seats else { continue };
        let grant = Grant::License(license.key.clone());
        let Some(&d) = delta.get(&grant) else { continue };
        let now = holders.get(&grant).copied().unwrap_or(0);
        let then = now + d;
        if d > 0 && then > seats as i64 {
            blocked.push(Block {
                code: Code::SeatsExceeded.as_str().into(),
                message: format!(
                    "license `{}` ({}) has {seats} seats; the plan would put {then} users on it",
                    license.description, license.key
                ),
            });
        }
    }
    blocked
}
