//! The checks that block a plan: too many removals, the last SUPER_USER, license seats.
//! Always computed on the whole plan, also under `--only`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Action, ActionKind, Block, Change};
use crate::desired::Desired;
use crate::diag::Code;
use crate::live::{Grant, Key, LiveAccount, LiveState, SUPER_USER};

/// Whether an action takes the account away: a disable, a delete, or an update that leaves it
/// holding none of the managed licenses it held (an edited role stripping a license from many
/// accounts is a mass removal, whatever the action is called).
fn removes(a: &Action, by_key: &HashMap<&Key, &LiveAccount>, managed: &BTreeSet<Grant>) -> bool {
    if a.action.is_removal() {
        return true;
    }
    if a.action != ActionKind::Update {
        return false;
    }
    let Some(account) = a.key.as_ref().and_then(|k| by_key.get(k)) else { return false };
    let license = |g: &Grant| matches!(g, Grant::License(_)) && managed.contains(g);
    let removed: BTreeSet<&Grant> =
        a.changes.iter().filter_map(|c| if let Change::Remove(g) = c { Some(&g.grant) } else { None }).collect();
    let added = a.changes.iter().any(|c| matches!(c, Change::Add(g) if license(&g.grant)));
    let held: Vec<&Grant> = account.grants.iter().filter(|g| license(g)).collect();
    !added && !held.is_empty() && held.iter().all(|g| removed.contains(g))
}

pub fn check(
    actions: &[Action],
    live: &LiveState,
    desired: &Desired,
    managed: &BTreeSet<Grant>,
    in_scope: usize,
) -> Vec<Block> {
    let mut blocked = Vec::new();
    let all: HashMap<&Key, &LiveAccount> = live.accounts.iter().map(|a| (&a.key, a)).collect();
    let removals = actions.iter().filter(|a| removes(a, &all, managed)).count();
    let policy = &desired.policy;
    if removals as u64 > policy.max_removals_count {
        blocked.push(Block {
            code: Code::RemovalThreshold,
            message: format!(
                "the plan removes {removals} accounts, more than max_removals.count ({})",
                policy.max_removals_count
            ),
        });
    }
    // Percent of the in-scope live accounts: removals / in_scope > percent / 100, in integers where possible.
    // The percentage applies from min_accounts in scope: 1 of 3 is 33 %, and no accident.
    if removals > 0
        && in_scope as u64 >= policy.max_removals_min_accounts
        && (removals as f64) * 100.0 > policy.max_removals_percent * in_scope as f64
    {
        let share = if in_scope == 0 { 100.0 } else { removals as f64 * 100.0 / in_scope as f64 };
        blocked.push(Block {
            code: Code::RemovalThreshold,
            message: format!(
                "the plan removes {removals} of {in_scope} in-scope accounts ({share:.1} %), more than max_removals.percent ({} %)",
                policy.max_removals_percent
            ),
        });
    }

    // Only the accounts the plan touches can change; count from the actions.
    let by_key: HashMap<&Key, &LiveAccount> = if actions.iter().any(|a| a.action == ActionKind::Delete) {
        live.accounts.iter().map(|a| (&a.key, a)).collect()
    } else {
        HashMap::new()
    };
    let deleted = |a: &Action| -> Option<&LiveAccount> {
        (a.action == ActionKind::Delete).then(|| a.key.as_ref().and_then(|k| by_key.get(k).copied())).flatten()
    };
    let super_user = Grant::AdminRole(SUPER_USER.into());
    let holds_before = live.accounts.iter().filter(|a| a.grants.contains(&super_user)).count() as i64;
    let mut holds_after = holds_before;
    // Seats: users on each license after the plan, against the license's seats.
    let mut delta: BTreeMap<&Grant, i64> = BTreeMap::new();
    let mut adds: BTreeMap<&Grant, i64> = BTreeMap::new();
    for a in actions {
        for c in &a.changes {
            match c {
                Change::Add(g) => {
                    *delta.entry(&g.grant).or_default() += 1;
                    *adds.entry(&g.grant).or_default() += 1;
                }
                Change::Remove(g) => *delta.entry(&g.grant).or_default() -= 1,
                Change::Attribute { .. } | Change::SecretAttribute { .. } => {}
            }
        }
        if let Some(account) = deleted(a) {
            // A deleted account frees every grant it held, managed or not.
            for g in account
                .grants
                .iter()
                .filter(|g| !a.changes.iter().any(|c| matches!(c, Change::Remove(r) if &r.grant == *g)))
            {
                *delta.entry(g).or_default() -= 1;
            }
        }
    }
    holds_after += delta.get(&super_user).copied().unwrap_or(0);
    if holds_before > 0 && holds_after <= 0 {
        blocked.push(Block {
            code: Code::LastSuperUser,
            message: "the plan removes the last account holding SUPER_USER: nobody could administer the account".into(),
        });
    }
    let seated: Vec<Grant> = live
        .licenses
        .iter()
        .filter(|l| l.seats.is_some() && adds.contains_key(&Grant::License(l.key.clone())))
        .map(|l| Grant::License(l.key.clone()))
        .collect();
    let mut holders: BTreeMap<&Grant, i64> = BTreeMap::new();
    if !seated.is_empty() {
        for a in &live.accounts {
            for g in &seated {
                if a.grants.contains(g) {
                    *holders.entry(g).or_default() += 1;
                }
            }
        }
    }
    for license in &live.licenses {
        let Some(seats) = license.seats else { continue };
        let grant = Grant::License(license.key.clone());
        // Judged on the holders after the plan: an account already over its seats is not let
        // take on more holders because the plan also frees some.
        if !adds.contains_key(&grant) {
            continue;
        }
        let d = delta.get(&grant).copied().unwrap_or(0);
        let now = holders.get(&grant).copied().unwrap_or(0);
        let then = now + d;
        if then > seats as i64 {
            blocked.push(Block {
                code: Code::SeatsExceeded,
                message: format!(
                    "license `{}` ({}) has {seats} seats; the plan would put {then} users on it",
                    license.description, license.key
                ),
            });
        }
    }
    blocked
}
