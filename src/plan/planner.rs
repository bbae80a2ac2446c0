//! desired + live -> Plan. Pure: no I/O, deterministic whatever the input order.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::{Action, ActionKind, Change, GrantChange, LeftAlone, Plan, Unmanaged, Warning, safety};
use crate::desired::{Desired, DesiredAccount, RoleGrant};
use crate::diag::{Code, Problem, Problems};
use crate::live::{ACTIVE, Grant, LiveAccount, LiveState, domain_of};
use crate::manifest::OnUnassign;

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Restrict the actions to these emails (thresholds still count the whole plan).
    pub only: Vec<String>,
}

/// Resolves the grants roles name against the live account: licenses by description or key.
pub struct Grants {
    resolved: HashMap<RoleGrant, Grant>,
    pub managed: BTreeSet<Grant>,
    names: HashMap<Grant, String>,
}

impl Grants {
    pub fn resolve(desired: &Desired, live: &LiveState) -> Result<Grants, Problems> {
        let mut problems = Problems::default();
        let mut resolved = HashMap::new();
        let mut names = HashMap::new();
        for l in &live.licenses {
            names.insert(Grant::License(l.key.clone()), l.description.clone());
        }
        for g in &desired.managed {
            let grant = match g {
                RoleGrant::AdminRole(r) => Grant::AdminRole(r.clone()),
                RoleGrant::ScimRole(r) => Grant::ScimRole(r.clone()),
                RoleGrant::License(name) => {
                    let by_key: Vec<_> = live.licenses.iter().filter(|l| l.key.as_str() == name).collect();
                    let by_description: Vec<_> =
                        live.licenses.iter().filter(|l| l.description.eq_ignore_ascii_case(name)).collect();
                    let candidates = if by_key.is_empty() { by_description } else { by_key };
                    match candidates.as_slice() {
                        [one] => Grant::License(one.key.clone()),
                        [] | [_, _, ..] => {
                            let ambiguous = !candidates.is_empty();
                            let message = if ambiguous {
                                format!("{} licenses are described as `{name}`", candidates.len())
                            } else {
                                format!("the account has no license `{name}`")
                            };
                            let available: Vec<String> =
                                live.licenses.iter().map(|l| format!("{} ({})", l.description, l.key)).collect();
                            let help = if ambiguous {
                                format!(
                                    "name the license by its key instead: {}",
                                    candidates.iter().map(|l| l.key.as_str()).collect::<Vec<_>>().join(", ")
                                )
                            } else if available.is_empty() {
                                "the account lists no licenses at all".into()
                            } else {
                                format!(
                                    "name a license by description or key; the account has: {}",
                                    available.join(", ")
                                )
                            };
                            let mut p = Problem::new(Code::UnknownLicense, message).help(help);
                            if let Some(o) = desired.license_origins.get(name) {
                                p = p.at(
                                    &o.source,
                                    o.span,
                                    if ambiguous { "ambiguous license" } else { "unknown license" },
                                );
                            }
                            problems.push(p);
                            continue;
                        }
                    }
                }
            };
            resolved.insert(g.clone(), grant);
        }
        let managed = resolved.values().cloned().collect();
        problems.into_result(Grants { resolved, managed, names })
    }

    fn of(&self, account: &DesiredAccount) -> BTreeSet<Grant> {
        account.grants.iter().filter_map(|g| self.resolved.get(g).cloned()).collect()
    }

    pub fn change(&self, grant: &Grant) -> GrantChange {
        let name = match grant {
            Grant::License(k) => self.names.get(grant).cloned().unwrap_or_else(|| k.to_string()),
            Grant::AdminRole(r) | Grant::ScimRole(r) => r.clone(),
        };
        GrantChange { grant: grant.clone(), name }
    }
}

pub use crate::vocab::case_insensitive;

fn normalise(attribute: &str, value: &str) -> String {
    if case_insensitive(attribute) { value.to_lowercase() } else { value.to_owned() }
}

fn matching_value<'a>(attribute: &str, account: &'a DesiredAccount) -> Option<std::borrow::Cow<'a, str>> {
    if attribute == "key" {
        return account.key.as_ref().map(|k| k.as_str().into());
    }
    account.attribute(attribute)?.on_create.as_deref().map(|v| normalise(attribute, v).into())
}

fn live_value(attribute: &str, account: &LiveAccount) -> Option<String> {
    if attribute == "key" {
        return Some(account.key.as_str().to_owned());
    }
    account.attributes.get(attribute).map(|v| normalise(attribute, v))
}

/// Builds the plan. Errors (ambiguous matches, unknown licenses, a create without email)
/// mean no plan at all: rollcall never guesses.
pub fn plan(desired: &Desired, live: &LiveState, options: &PlanOptions) -> Result<Plan, Problems> {
    plan_resolved(desired, live, &Grants::resolve(desired, live)?, options)
}

/// `plan` with the grants already resolved against this live state.
pub fn plan_resolved(
    desired: &Desired,
    live: &LiveState,
    grants: &Grants,
    options: &PlanOptions,
) -> Result<Plan, Problems> {
    let mut problems = Problems::default();
    let mut left_alone = LeftAlone::default();
    let excluded: HashSet<String> =
        desired.scope.as_ref().map(|s| s.exclude.iter().map(|e| e.to_lowercase()).collect()).unwrap_or_default();
    let is_excluded = |email: &str| !excluded.is_empty() && excluded.contains(&email.to_lowercase());

    // Excluded accounts are invisible: never matched, created, changed or counted.
    let visible: Vec<&LiveAccount> = live
        .accounts
        .iter()
        .filter(|a| {
            let hide = is_excluded(a.email());
            left_alone.excluded += usize::from(hide);
            !hide
        })
        .collect();
    let mut wanted: Vec<&DesiredAccount> =
        desired.accounts.iter().filter(|d| !d.email().is_some_and(is_excluded)).collect();
    // Input order must not matter: people in identity order, live accounts in key order.
    wanted.sort_unstable_by(|a, b| a.person.cmp(&b.person));
    let mut visible = visible;
    visible.sort_unstable_by(|a, b| a.key.cmp(&b.key));

    // Two people must not become one account: GoTo keys accounts by email.
    let emails: Vec<Option<String>> = wanted.iter().map(|d| d.email().map(str::to_lowercase)).collect();
    let mut by_email: HashMap<&str, &str> = HashMap::with_capacity(wanted.len());
    for (d, email) in wanted.iter().zip(&emails) {
        if let Some(email) = email
            && let Some(other) = by_email.insert(email, &d.person)
        {
            problems.push(
                Problem::new(
                    Code::AmbiguousMatch,
                    format!("{other} and {} would both get the email {email}", d.person),
                )
                .help("one GoTo account has one email: fix the email mapping or the directory records of one of them"),
            );
        }
    }
    drop(by_email);
    if !problems.is_empty() {
        return Err(problems);
    }

    // Matching, by precedence.
    let indexes: Vec<HashMap<String, Vec<usize>>> = desired
        .matching
        .iter()
        .map(|attr| {
            let mut index: HashMap<String, Vec<usize>> = HashMap::with_capacity(visible.len());
            for (i, a) in visible.iter().enumerate() {
                if let Some(v) = live_value(attr, a) {
                    index.entry(v).or_default().push(i);
                }
            }
            index
        })
        .collect();
    let mut matched: Vec<Option<usize>> = vec![None; wanted.len()];
    let mut claimed: HashMap<usize, usize> = HashMap::with_capacity(wanted.len());
    for (d, account) in wanted.iter().enumerate() {
        for (attr, index) in desired.matching.iter().zip(&indexes) {
            // The email was lower-cased once above.
            let value = match attr.as_str() {
                "email" | "userName" if account.attribute(attr).is_some() => {
                    emails[d].as_deref().map(std::borrow::Cow::Borrowed)
                }
                _ => matching_value(attr, account),
            };
            let Some(value) = value else { continue };
            match index.get(value.as_ref()).map(Vec::as_slice) {
                None | Some([]) => continue,
                Some([one]) => {
                    if let Some(&other) = claimed.get(one) {
                        problems.push(
                            Problem::new(
                                Code::AmbiguousMatch,
                                format!(
                                    "{} and {} both match the live account {} ({})",
                                    wanted[other].person,
                                    account.person,
                                    visible[*one].email(),
                                    visible[*one].key
                                ),
                            )
                            .help("rollcall never guesses: make the two people's matching attributes differ, or give them distinct `key`s"),
                        );
                    } else {
                        claimed.insert(*one, d);
                        matched[d] = Some(*one);
                    }
                }
                Some(several) => {
                    let accounts: Vec<String> =
                        several.iter().map(|&i| format!("{} ({})", visible[i].email(), visible[i].key)).collect();
                    problems.push(
                        Problem::new(
                            Code::AmbiguousMatch,
                            format!("{} matches {} live accounts on `{attr}`: {}", account.person, several.len(), accounts.join(", ")),
                        )
                        .help("rollcall never guesses: put `key` first in `matching` and give the person their GoTo key, or clean up the duplicate accounts"),
                    );
                }
            }
            break;
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    let protected = |email: &str| {
        let e = email.to_lowercase();
        desired.policy.protect.contains(&e) || live.me.as_deref().is_some_and(|me| me.eq_ignore_ascii_case(&e))
    };
    let in_scope = |email: &str| desired.scope.as_ref().is_some_and(|s| s.domains.contains(&domain_of(email)));

    let mut actions = Vec::new();
    let mut warnings = Vec::new();
    let mut unmanaged = Vec::new();
    let managed_of = |a: &LiveAccount| -> BTreeSet<Grant> { a.grants.intersection(&grants.managed).cloned().collect() };
    let mut note_unmanaged = |a: &LiveAccount, left: &mut LeftAlone| {
        let extra: Vec<GrantChange> =
            a.grants.iter().filter(|g| !grants.managed.contains(g)).map(|g| grants.change(g)).collect();
        if !extra.is_empty() {
            left.unmanaged_grants += extra.len();
            unmanaged.push(Unmanaged { email: a.email().to_owned(), grants: extra });
        }
    };

    // People with the same roles want the same grants: resolve each distinct set once.
    let mut distinct: HashMap<&BTreeSet<RoleGrant>, usize> = HashMap::new();
    let mut sets: Vec<BTreeSet<Grant>> = Vec::new();
    let want_of: Vec<usize> = wanted
        .iter()
        .map(|a| {
            *distinct.entry(&a.grants).or_insert_with(|| {
                sets.push(grants.of(a));
                sets.len() - 1
            })
        })
        .collect();
    // Live accounts nothing matched, by email: a create of one of those emails is one person
    // seen twice (created and removed in one plan), never two.
    let live_by_email: HashMap<String, usize> = visible
        .iter()
        .enumerate()
        .filter(|(l, _)| !claimed.contains_key(l))
        .map(|(l, a)| (a.email().to_lowercase(), l))
        .collect();
    for (d, account) in wanted.iter().enumerate() {
        let want = &sets[want_of[d]];
        match matched[d] {
            Some(l) => {
                let live_account = visible[l];
                note_unmanaged(live_account, &mut left_alone);
                let have = managed_of(live_account);
                let email = live_account.email().to_owned();
                if !account.enabled {
                    // A target with a disabled flag (SCIM `active`) is disabled by the flag,
                    // roles kept; without one (GoTo), by stripping the managed grants.
                    let already = match live_account.active() {
                        Some(active) => !active,
                        None => have.is_empty(),
                    };
                    if already {
                        continue;
                    }
                    if protected(&email) {
                        left_alone.protected += 1;
                        warnings.push(Warning {
                            email,
                            message: "protected: kept although accountEnabled is false".into(),
                        });
                        continue;
                    }
                    actions.push(Action {
                        action: ActionKind::Disable,
                        key: Some(live_account.key.clone()),
                        reason: Some("accountEnabled is false".into()),
                        changes: disable_changes(live_account, &have, grants),
                        email,
                    });
                    continue;
                }
                let mut changes = Vec::new();
                let reactivate = live_account.active() == Some(false);
                if reactivate {
                    changes.push(Change::Attribute {
                        attribute: ACTIVE.into(),
                        old: Some("false".into()),
                        new: "true".into(),
                    });
                }
                let mut locked = Vec::new();
                for attr in &account.attributes {
                    let Some(new) = &attr.on_update else { continue };
                    let old = live_account.attributes.get(&attr.name);
                    let same = match old {
                        Some(o) if case_insensitive(&attr.name) => o.eq_ignore_ascii_case(new),
                        Some(o) => o == new,
                        None => false,
                    };
                    if same {
                        continue;
                    }
                    if let Some(flag) = live_account.locks.blocks(&attr.name) {
                        locked.push(format!("{} ({flag})", attr.name));
                        continue;
                    }
                    changes.push(Change::Attribute {
                        attribute: attr.name.clone(),
                        old: old.cloned(),
                        new: new.clone(),
                    });
                }
                if !locked.is_empty() {
                    left_alone.locked += 1;
                    warnings.push(Warning {
                        email: email.clone(),
                        message: format!("GoTo will not let an admin change {}: left as it is", locked.join(", ")),
                    });
                }
                changes.extend(want.difference(&have).map(|g| Change::Add(grants.change(g))));
                let removals: Vec<&Grant> = have.difference(want).collect();
                if !removals.is_empty() && protected(&email) {
                    left_alone.protected += 1;
                    warnings.push(Warning {
                        email: email.clone(),
                        message: "protected: grants no role gives are kept".into(),
                    });
                } else {
                    changes.extend(removals.into_iter().map(|g| Change::Remove(grants.change(g))));
                }
                if changes.is_empty() {
                    continue;
                }
                let kind = match live_account.active() {
                    Some(_) if reactivate => ActionKind::Enable,
                    Some(_) => ActionKind::Update,
                    None if have.is_empty() && !want.is_empty() => ActionKind::Enable,
                    None => ActionKind::Update,
                };
                actions.push(Action {
                    action: kind,
                    key: Some(live_account.key.clone()),
                    reason: None,
                    email,
                    changes,
                });
            }
            None => {
                if !account.enabled {
                    continue;
                }
                let Some(email) = account.email() else {
                    problems.push(
                        Problem::new(
                            Code::NullEmail,
                            format!(
                                "{} has no account yet and the email mapping yields nothing for them",
                                account.person
                            ),
                        )
                        .help(
                            "fix the email mapping or the person's directory record, or give the mapping a `default:`",
                        ),
                    );
                    continue;
                };
                let mut changes: Vec<Change> = account
                    .attributes
                    .iter()
                    .filter_map(|a| {
                        a.on_create.as_ref().map(|v| Change::Attribute {
                            attribute: a.name.clone(),
                            old: None,
                            new: v.clone(),
                        })
                    })
                    .collect();
                changes.extend(want.iter().map(|g| Change::Add(grants.change(g))));
                if let Some(&l) = live_by_email.get(email.to_lowercase().as_str()) {
                    let holder = visible[l];
                    problems.push(
                        Problem::new(
                            Code::CreateCollides,
                            format!(
                                "{} would be created as {email}, but the live account {} ({}) already has that email and matching ({}) paired it with nobody",
                                account.person,
                                holder.email(),
                                holder.key,
                                desired.matching.join(", ")
                            ),
                        )
                        .help(format!(
                            "the two are one person seen differently: end `matching` with the email (`matching: [{}, email]`; `userName` for a scim target), or fix the attribute that differs",
                            desired.matching.join(", ")
                        )),
                    );
                    continue;
                }
                actions.push(Action {
                    action: ActionKind::Create,
                    email: email.to_owned(),
                    key: None,
                    reason: None,
                    changes,
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    // Live accounts nobody wants.
    let mut in_scope_count = 0;
    let claimed_live: HashSet<usize> = claimed.keys().copied().collect();
    for (l, account) in visible.iter().enumerate() {
        let email = account.email();
        let scoped = in_scope(email);
        in_scope_count += usize::from(scoped);
        if claimed_live.contains(&l) {
            continue;
        }
        if !scoped {
            left_alone.outside_scope += 1;
            continue;
        }
        note_unmanaged(account, &mut left_alone);
        let have = managed_of(account);
        let remove = match desired.policy.on_unassign {
            OnUnassign::Keep => {
                left_alone.kept += 1;
                continue;
            }
            OnUnassign::Disable if account.active().map_or(have.is_empty(), |active| !active) => continue,
            OnUnassign::Disable => ActionKind::Disable,
            OnUnassign::Delete => ActionKind::Delete,
        };
        if protected(email) {
            left_alone.protected += 1;
            warnings.push(Warning {
                email: email.to_owned(),
                message: format!("protected: not {}d although no longer assigned", remove.as_str()),
            });
            continue;
        }
        actions.push(Action {
            action: remove,
            email: email.to_owned(),
            key: Some(account.key.clone()),
            reason: Some("no longer assigned".into()),
            changes: if remove == ActionKind::Disable {
                disable_changes(account, &have, grants)
            } else {
                have.iter().map(|g| Change::Remove(grants.change(g))).collect()
            },
        });
    }

    actions.sort_by_cached_key(|a| (a.email.to_lowercase(), a.action));
    warnings.sort();
    unmanaged.sort_by(|a, b| a.email.cmp(&b.email));
    let removals = actions.iter().filter(|a| a.action.is_removal()).count();
    let blocked = safety::check(&actions, live, desired, &grants.managed, in_scope_count);
    let only: Vec<String> =
        options.only.iter().map(|e| e.trim().to_lowercase()).collect::<BTreeSet<_>>().into_iter().collect();
    if !only.is_empty() {
        actions.retain(|a| only.binary_search(&a.email.to_lowercase()).is_ok());
        warnings.retain(|w| only.binary_search(&w.email.to_lowercase()).is_ok());
    }
    Ok(Plan {
        actions,
        warnings,
        blocked,
        left_alone,
        unmanaged,
        unscoped: desired.scope.is_none(),
        only,
        removals,
        in_scope: in_scope_count,
    })
}

/// What disabling `account` changes: its `active` flag when the target has one (SCIM: the
/// roles stay, so enabling restores the account as it was), else every managed grant (GoTo).
fn disable_changes(account: &LiveAccount, have: &BTreeSet<Grant>, grants: &Grants) -> Vec<Change> {
    match account.active() {
        Some(_) => vec![Change::Attribute { attribute: ACTIVE.into(), old: Some("true".into()), new: "false".into() }],
        None => have.iter().map(|g| Change::Remove(grants.change(g))).collect(),
    }
}
