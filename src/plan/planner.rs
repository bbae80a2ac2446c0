//! desired + live -> Plan. Pure: no I/O, deterministic whatever the input order.

use std::borrow::Cow;
use std::collections::BTreeSet;

// The planner's maps hold every account: foldhash, not SipHash (seeded per run all the same).
use foldhash::{HashMap, HashMapExt, HashSet};

use super::{Action, ActionKind, Change, GrantChange, LeftAlone, Plan, Unmanaged, Warning, safety};
use crate::desired::{Desired, DesiredAccount, DesiredAttribute, RoleGrant};
use crate::diag::{Code, Problem, Problems};
use crate::live::{ACTIVE, Grant, LiveAccount, LiveState};
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
                            // At every line that names it: each is a place to fix.
                            let label = if ambiguous { "ambiguous license" } else { "unknown license" };
                            match desired.license_origins.get(name).map(Vec::as_slice) {
                                Some(origins) if !origins.is_empty() => {
                                    for o in origins {
                                        problems.push(
                                            Problem::new(Code::UnknownLicense, message.clone())
                                                .help(help.clone())
                                                .at(&o.source, o.span, label),
                                        );
                                    }
                                }
                                _ => problems.push(Problem::new(Code::UnknownLicense, message).help(help)),
                            }
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

pub(super) fn normalise(attribute: &str, value: &str) -> String {
    if case_insensitive(attribute) { value.to_lowercase() } else { value.to_owned() }
}

fn matching_value<'a>(attribute: &str, account: &'a DesiredAccount) -> Option<Cow<'a, str>> {
    if attribute == "key" {
        return account.key.as_ref().map(|k| k.as_str().into());
    }
    account.attribute(attribute)?.on_create.as_deref().map(|v| normalise(attribute, v).into())
}

/// The value `account` is matched by on `attribute` (lower-cased where case does not count),
/// borrowed when it needs no change.
fn live_value<'a>(attribute: &str, account: &'a LiveAccount) -> Option<Cow<'a, str>> {
    if attribute == "key" {
        return Some(account.key.as_str().into());
    }
    let value = account.attributes.get(attribute)?;
    Some(if case_insensitive(attribute) { crate::vocab::lowercase(value) } else { value.into() })
}

/// Builds the plan. Errors (ambiguous matches, unknown licenses, a create without email)
/// mean no plan at all: rollcall never guesses.
pub fn plan(desired: &Desired, live: &LiveState, options: &PlanOptions) -> Result<Plan, Problems> {
    plan_resolved(desired, live, &Grants::resolve(desired, live)?, options)
}

/// `plan` with the grants already resolved against this live state. The steps, in order:
/// who is visible (exclusions), one email per person, matching by precedence, an action
/// for each wanted person, then for each live account nobody wants, then the safety checks
/// and `--only`.
pub fn plan_resolved(
    desired: &Desired,
    live: &LiveState,
    grants: &Grants,
    options: &PlanOptions,
) -> Result<Plan, Problems> {
    let mut planner = Planner {
        desired,
        live,
        grants,
        left_alone: LeftAlone::default(),
        actions: Vec::new(),
        warnings: Vec::new(),
        unmanaged: Vec::new(),
    };
    let (wanted, visible) = planner.visible();
    // The people's emails are checked while the live accounts are indexed.
    let (emails, indexes) = both(
        crate::vocab::on_two_cores(wanted.len()),
        || distinct_emails(&wanted),
        || desired.matching.iter().map(|attr| Index::of(attr, &visible)).collect::<Vec<_>>(),
    );
    let matched = match_accounts(desired, &wanted, &visible, &emails?, &indexes)?;
    // SelectUniqueValue is never on a matching attribute: it is decided after matching.
    let selected = super::unique::resolve(&wanted, &matched, &visible, live)?;
    let wanted: Vec<&DesiredAccount> =
        wanted.iter().enumerate().map(|(d, account)| selected.get(&d).unwrap_or(account)).collect();
    // Which visible accounts some person matched, by index.
    let mut claimed = vec![false; visible.len()];
    for &l in matched.iter().flatten() {
        claimed[l] = true;
    }
    planner.wanted(&wanted, &visible, &matched, &claimed)?;
    let in_scope = planner.unwanted(&visible, &claimed);
    Ok(planner.finish(in_scope, options))
}

/// `a` and `b`, on two cores when `parallel`.
fn both<A: Send, B: Send>(parallel: bool, a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    if !parallel {
        return (a(), b());
    }
    std::thread::scope(|s| {
        let b = s.spawn(b);
        (a(), b.join().expect("planning does not panic"))
    })
}

/// The wanted people with what matching found for each, and the grants each wants.
struct People<'p, 'a> {
    wanted: &'p [&'a DesiredAccount],
    visible: &'p [&'a LiveAccount],
    matched: &'p [Option<usize>],
    /// The distinct sets of grants people want, and which one each person wants.
    sets: &'p [BTreeSet<Grant>],
    want: &'p [usize],
    unmatched_by_email: &'p HashMap<String, &'a LiveAccount>,
}

/// The state of one planning run: its inputs and what it has decided so far.
struct Planner<'a> {
    desired: &'a Desired,
    live: &'a LiveState,
    grants: &'a Grants,
    left_alone: LeftAlone,
    actions: Vec<Action>,
    warnings: Vec<Warning>,
    unmanaged: Vec<Unmanaged>,
}

impl<'a> Planner<'a> {
    /// The people and live accounts rollcall may see: excluded ones are invisible (never
    /// matched, created, changed or counted). People in identity order, live accounts in
    /// key order, so that input order never matters.
    fn visible(&mut self) -> (Vec<&'a DesiredAccount>, Vec<&'a LiveAccount>) {
        let excluded: HashSet<String> = self
            .desired
            .scope
            .as_ref()
            .map(|s| s.exclude.iter().map(|e| e.to_lowercase()).collect())
            .unwrap_or_default();
        let is_excluded = |email: &str| excluded.contains(crate::vocab::lowercase(email).as_ref());
        let mut visible: Vec<&LiveAccount> =
            self.live.accounts.iter().filter(|a| excluded.is_empty() || !is_excluded(a.email())).collect();
        self.left_alone.excluded += self.live.accounts.len() - visible.len();
        let mut wanted: Vec<&DesiredAccount> = self
            .desired
            .accounts
            .iter()
            .filter(|d| excluded.is_empty() || !d.email().is_some_and(is_excluded))
            .collect();
        both(
            crate::vocab::on_two_cores(wanted.len()),
            || wanted.sort_unstable_by(|a, b| a.person.cmp(&b.person)),
            || visible.sort_unstable_by(|a, b| a.key.cmp(&b.key)),
        );
        (wanted, visible)
    }

    fn protected(&self, email: &str) -> bool {
        let e = email.to_lowercase();
        self.desired.policy.protect.contains(&e)
            || self.live.me.as_deref().is_some_and(|me| me.eq_ignore_ascii_case(&e))
    }

    /// Lists the grants of `a` that no role names (rollcall leaves them alone).
    fn note_unmanaged(&mut self, a: &LiveAccount) {
        let extra: Vec<GrantChange> =
            a.grants.iter().filter(|g| !self.grants.managed.contains(g)).map(|g| self.grants.change(g)).collect();
        if !extra.is_empty() {
            self.left_alone.unmanaged_grants += extra.len();
            self.unmanaged.push(Unmanaged { email: a.email().to_owned(), grants: extra });
        }
    }

    fn warn(&mut self, email: &str, message: impl Into<String>) {
        self.warnings.push(Warning { email: email.to_owned(), message: message.into() });
    }

    /// An action for each wanted person: update, enable or disable the matched account, or
    /// create one.
    fn wanted(
        &mut self,
        wanted: &[&DesiredAccount],
        visible: &[&LiveAccount],
        matched: &[Option<usize>],
        claimed: &[bool],
    ) -> Result<(), Problems> {
        // Live accounts nothing matched, by email: a create of one of those emails is one
        // person seen twice (created and removed in one plan), never two.
        let unmatched_by_email: HashMap<String, &LiveAccount> = visible
            .iter()
            .enumerate()
            .filter(|(l, _)| !claimed[*l])
            .map(|(_, a)| (a.email().to_lowercase(), *a))
            .collect();
        // People with the same roles want the same grants: resolve each distinct set once.
        // People with the same roles share one set (`desired` interns them): keyed by address.
        let mut distinct: HashMap<*const BTreeSet<RoleGrant>, usize> = HashMap::new();
        let mut sets: Vec<BTreeSet<Grant>> = Vec::new();
        let want: Vec<usize> = wanted
            .iter()
            .map(|account| {
                *distinct.entry(std::sync::Arc::as_ptr(&account.grants)).or_insert_with(|| {
                    sets.push(self.grants.of(account));
                    sets.len() - 1
                })
            })
            .collect();
        let people =
            People { wanted, visible, matched, sets: &sets, want: &want, unmatched_by_email: &unmatched_by_email };
        // Each person is decided on their own: a large organisation in two halves, one on each
        // core, put back together in order (`finish` sorts the actions all the same).
        if !crate::vocab::on_two_cores(wanted.len()) {
            return self.decide(&people, 0..wanted.len()).into_result(());
        }
        let mut other = self.fork();
        let half = wanted.len() / 2;
        let (mut problems, more) = std::thread::scope(|s| {
            let second = s.spawn(|| other.decide(&people, half..wanted.len()));
            (self.decide(&people, 0..half), second.join().expect("planning does not panic"))
        });
        self.join(other);
        problems.0.extend(more.0);
        problems.into_result(())
    }

    /// The actions for the wanted people in `range`.
    fn decide(&mut self, people: &People, range: std::ops::Range<usize>) -> Problems {
        let mut problems = Problems::default();
        for d in range {
            let (account, want) = (people.wanted[d], &people.sets[people.want[d]]);
            match people.matched[d] {
                Some(l) => self.matched(account, people.visible[l], want),
                None => {
                    if let Err(p) = self.create(account, want, people.unmatched_by_email) {
                        problems.push(p);
                    }
                }
            }
        }
        problems
    }

    /// A planner with the same inputs that has decided nothing yet.
    fn fork(&self) -> Planner<'a> {
        Planner {
            desired: self.desired,
            live: self.live,
            grants: self.grants,
            left_alone: LeftAlone::default(),
            actions: Vec::new(),
            warnings: Vec::new(),
            unmanaged: Vec::new(),
        }
    }

    /// Takes over what `other` decided, after what this one did.
    fn join(&mut self, other: Planner<'a>) {
        self.actions.extend(other.actions);
        self.warnings.extend(other.warnings);
        self.unmanaged.extend(other.unmanaged);
        // Every count by name: a count added to `LeftAlone` does not compile until it is added here.
        let LeftAlone { outside_scope, excluded, protected, kept, unmanaged_grants, locked } = other.left_alone;
        let a = &mut self.left_alone;
        a.outside_scope += outside_scope;
        a.excluded += excluded;
        a.protected += protected;
        a.kept += kept;
        a.unmanaged_grants += unmanaged_grants;
        a.locked += locked;
    }

    /// The action, if any, that takes the matched `live_account` to what `account` wants.
    fn matched(&mut self, account: &DesiredAccount, live_account: &LiveAccount, want: &BTreeSet<Grant>) {
        self.note_unmanaged(live_account);
        let managed = &self.grants.managed;
        let holds_none = held(managed, live_account).next().is_none();
        let email = live_account.email();
        if let Some(message) = status_note(live_account) {
            self.warn(email, message);
        }
        if !account.enabled {
            // A target with a disabled flag (SCIM `active`) is disabled by the flag,
            // roles kept; without one (GoTo), by stripping the managed grants.
            let already = match live_account.active() {
                Some(active) => !active,
                None => holds_none,
            };
            if already {
                return;
            }
            if self.protected(email) {
                self.left_alone.protected += 1;
                self.warn(email, "protected: kept although accountEnabled is false");
                return;
            }
            self.actions.push(Action {
                action: ActionKind::Disable,
                key: Some(live_account.key.clone()),
                reason: Some("accountEnabled is false".into()),
                changes: disable_changes(live_account, held(managed, live_account), self.grants),
                email: email.to_owned(),
            });
            return;
        }
        let reactivate = live_account.active() == Some(false);
        let mut changes = Vec::new();
        if reactivate {
            changes.push(Change::Attribute { attribute: ACTIVE.into(), old: Some("false".into()), new: "true".into() });
        }
        changes.extend(self.attribute_changes(account, live_account));
        // `want` holds managed grants only: what the account lacks of it is to be added.
        changes.extend(
            want.iter().filter(|g| !live_account.grants.contains(g)).map(|g| Change::Add(self.grants.change(g))),
        );
        let removals: Vec<&Grant> = held(managed, live_account).filter(|g| !want.contains(*g)).collect();
        if !removals.is_empty() && self.protected(email) {
            self.left_alone.protected += 1;
            self.warn(email, "protected: grants no role gives are kept");
        } else {
            changes.extend(removals.into_iter().map(|g| Change::Remove(self.grants.change(g))));
        }
        if changes.is_empty() {
            return;
        }
        let kind = match live_account.active() {
            Some(_) if reactivate => ActionKind::Enable,
            Some(_) => ActionKind::Update,
            None if holds_none && !want.is_empty() => ActionKind::Enable,
            None => ActionKind::Update,
        };
        let email = email.to_owned();
        self.actions.push(Action { action: kind, key: Some(live_account.key.clone()), reason: None, email, changes });
    }

    /// The attributes of `live_account` that differ from what `account` wants on update;
    /// those GoTo will not let an admin change are left as they are, with a warning.
    fn attribute_changes(&mut self, account: &DesiredAccount, live_account: &LiveAccount) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut locked = Vec::new();
        for attr in &account.attributes {
            let Some(new) = attr.on_update() else { continue };
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
            changes.push(attribute_change(attr, old.map(str::to_owned), new.to_string()));
        }
        if !locked.is_empty() {
            self.left_alone.locked += 1;
            self.warn(
                live_account.email(),
                format!("GoTo will not let an admin change {}: left as it is", locked.join(", ")),
            );
        }
        changes
    }

    /// A create for a wanted person that no live account matched; an error when an
    /// unmatched live account already has the email.
    fn create(
        &mut self,
        account: &DesiredAccount,
        want: &BTreeSet<Grant>,
        unmatched_by_email: &HashMap<String, &LiveAccount>,
    ) -> Result<(), Problem> {
        if !account.enabled {
            return Ok(());
        }
        let Some(email) = account.email() else {
            return Err(Problem::new(
                Code::NullEmail,
                format!("{} has no account yet and the email mapping yields nothing for them", account.person),
            )
            .help("fix the email mapping or the person's directory record, or give the mapping a `default:`"));
        };
        let mut changes: Vec<Change> = account
            .attributes
            .iter()
            .filter_map(|a| a.on_create.as_ref().map(|v| attribute_change(a, None, v.to_string())))
            .collect();
        changes.extend(want.iter().map(|g| Change::Add(self.grants.change(g))));
        if let Some(holder) = unmatched_by_email.get(email.to_lowercase().as_str()) {
            let matching = self.desired.matching.join(", ");
            return Err(Problem::new(
                Code::CreateCollides,
                format!(
                    "{} would be created as {email}, but the live account {} ({}) already has that email and matching ({matching}) paired it with nobody",
                    account.person,
                    holder.email(),
                    holder.key,
                ),
            )
            .help(format!(
                "the two are one person seen differently: end `matching` with the email (`matching: [{matching}, email]`; `userName` for a scim target), or fix the attribute that differs"
            )));
        }
        self.actions.push(Action {
            action: ActionKind::Create,
            email: email.to_owned(),
            key: None,
            reason: None,
            changes,
        });
        Ok(())
    }

    /// Deprovisions each in-scope live account that nobody wants, per `on_unassign`.
    /// Returns how many visible accounts are in scope.
    fn unwanted(&mut self, visible: &[&LiveAccount], claimed: &[bool]) -> usize {
        let scope = self.desired.scope.as_ref();
        let mut in_scope_count = 0;
        for (l, account) in visible.iter().enumerate() {
            let email = account.email();
            let scoped = scope.is_some_and(|s| crate::vocab::in_domains(&s.domains, email));
            in_scope_count += usize::from(scoped);
            if claimed[l] {
                continue;
            }
            if !scoped {
                self.left_alone.outside_scope += 1;
                continue;
            }
            self.note_unmanaged(account);
            let managed = &self.grants.managed;
            let remove = match self.desired.policy.on_unassign {
                OnUnassign::Keep => {
                    self.left_alone.kept += 1;
                    continue;
                }
                OnUnassign::Disable
                    if account.active().map_or(held(managed, account).next().is_none(), |active| !active) =>
                {
                    continue;
                }
                OnUnassign::Disable => ActionKind::Disable,
                OnUnassign::Delete => ActionKind::Delete,
            };
            if self.protected(email) {
                self.left_alone.protected += 1;
                self.warn(email, format!("protected: not {}d although no longer assigned", remove.as_str()));
                continue;
            }
            self.actions.push(Action {
                action: remove,
                email: email.to_owned(),
                key: Some(account.key.clone()),
                reason: Some("no longer assigned".into()),
                changes: if remove == ActionKind::Disable {
                    disable_changes(account, held(managed, account), self.grants)
                } else {
                    held(managed, account).map(|g| Change::Remove(self.grants.change(g))).collect()
                },
            });
        }
        in_scope_count
    }

    /// Deterministic order, the safety checks on the whole plan, then `--only`.
    fn finish(self, in_scope: usize, options: &PlanOptions) -> Plan {
        let Planner { desired, live, grants, mut actions, mut warnings, mut unmanaged, left_alone } = self;
        actions.sort_by_cached_key(|a| (a.email.to_lowercase(), a.action));
        warnings.sort();
        unmanaged.sort_by(|a, b| a.email.cmp(&b.email));
        let removals = actions.iter().filter(|a| a.action.is_removal()).count();
        let mut blocked = safety::check(&actions, live, desired, &grants.managed, in_scope);
        // Judged on the whole plan, as the thresholds are: a caller who cannot apply it is told now.
        blocked.extend(super::roles::check(&actions, live));
        let only: Vec<String> =
            options.only.iter().map(|e| e.trim().to_lowercase()).collect::<BTreeSet<_>>().into_iter().collect();
        if !only.is_empty() {
            actions.retain(|a| only.binary_search(&a.email.to_lowercase()).is_ok());
            warnings.retain(|w| only.binary_search(&w.email.to_lowercase()).is_ok());
        }
        Plan {
            actions,
            warnings,
            blocked,
            left_alone,
            unmanaged,
            unscoped: desired.scope.is_none(),
            only,
            removals,
            in_scope,
        }
    }
}

/// Two people must not become one account (GoTo keys accounts by email): each person's
/// email, lower-cased once, or an error naming both people.
fn distinct_emails(wanted: &[&DesiredAccount]) -> Result<Vec<Option<String>>, Problems> {
    let mut problems = Problems::default();
    // An email SelectUniqueValue makes is not yet decided (the planner makes it unique).
    let decided = |d: &DesiredAccount| {
        !["email", "userName"].iter().any(|n| d.attribute(n).is_some_and(|a| a.candidates.is_some()))
    };
    let emails: Vec<Option<String>> =
        wanted.iter().map(|d| d.email().filter(|_| decided(d)).map(str::to_lowercase)).collect();
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
    problems.into_result(emails)
}

/// Matching by precedence: for each wanted person, the first matching attribute whose value
/// matches exactly one visible account wins. Two people on one account, or one person on
/// several accounts, is an error: rollcall never guesses.
fn match_accounts(
    desired: &Desired,
    wanted: &[&DesiredAccount],
    visible: &[&LiveAccount],
    emails: &[Option<String>],
    indexes: &[Index],
) -> Result<Vec<Option<usize>>, Problems> {
    let mut problems = Problems::default();
    let mut matched: Vec<Option<usize>> = vec![None; wanted.len()];
    // The person who matched each visible account, by index.
    let mut claimed: Vec<Option<usize>> = vec![None; visible.len()];
    for (d, account) in wanted.iter().enumerate() {
        for (attr, index) in desired.matching.iter().zip(indexes) {
            // The email was lower-cased once already.
            let value = match attr.as_str() {
                "email" | "userName" if account.attribute(attr).is_some() => {
                    emails[d].as_deref().map(std::borrow::Cow::Borrowed)
                }
                _ => matching_value(attr, account),
            };
            let Some(value) = value else { continue };
            match index.get(value.as_ref()) {
                None | Some([]) => continue,
                Some([one]) => {
                    if let Some(other) = claimed[*one] {
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
                        claimed[*one] = Some(d);
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
    problems.into_result(matched)
}

/// The visible accounts by their value of one matching attribute. Most values name one
/// account: those take no list of their own.
struct Index<'a> {
    one: HashMap<Cow<'a, str>, usize>,
    several: HashMap<Cow<'a, str>, Vec<usize>>,
}

impl<'a> Index<'a> {
    fn of(attribute: &str, visible: &[&'a LiveAccount]) -> Index<'a> {
        let mut one: HashMap<Cow<'a, str>, usize> = HashMap::with_capacity(visible.len());
        let mut several: HashMap<Cow<'a, str>, Vec<usize>> = HashMap::new();
        for (i, a) in visible.iter().enumerate() {
            let Some(v) = live_value(attribute, a) else { continue };
            if let Some(list) = several.get_mut(&v) {
                list.push(i);
            } else if let Some(&first) = one.get(&v) {
                several.insert(v, vec![first, i]);
            } else {
                one.insert(v, i);
            }
        }
        Index { one, several }
    }

    /// The accounts holding `value`, in `visible` order.
    fn get(&self, value: &str) -> Option<&[usize]> {
        match self.several.get(value) {
            Some(list) => Some(list),
            None => self.one.get(value).map(std::slice::from_ref),
        }
    }
}

/// An attribute set: secret (masked in every output) when its mapping calls `Redact`.
fn attribute_change(attr: &DesiredAttribute, old: Option<String>, new: String) -> Change {
    let attribute = attr.name.to_string();
    if attr.secret {
        Change::SecretAttribute { attribute, old, new }
    } else {
        Change::Attribute { attribute, old, new }
    }
}

/// How GoTo shows an account rollcall wants, when that is not simply active: a transfer
/// invitation waiting for acceptance (its licenses count as held), or a status of its own.
fn status_note(account: &LiveAccount) -> Option<String> {
    if account.attributes.get(crate::live::INVITED).is_some_and(|v| v == "true") {
        return Some(
            "invited, waiting for acceptance (GoTo sent a transfer invitation; nothing to do until they accept)".into(),
        );
    }
    match account.attributes.get(crate::live::STATUS) {
        Some(s) if !s.eq_ignore_ascii_case("ACTIVE") && !s.is_empty() => {
            Some(format!("GoTo shows this account as {s}"))
        }
        _ => None,
    }
}

/// What disabling `account` changes: its `active` flag when the target has one (SCIM: the
/// roles stay, so enabling restores the account as it was), else every managed grant (GoTo).
fn disable_changes<'g>(account: &LiveAccount, have: impl Iterator<Item = &'g Grant>, grants: &Grants) -> Vec<Change> {
    match account.active() {
        Some(_) => vec![Change::Attribute { attribute: ACTIVE.into(), old: Some("true".into()), new: "false".into() }],
        None => have.map(|g| Change::Remove(grants.change(g))).collect(),
    }
}

/// The grants of `account` that some role names (the ones rollcall adds and removes), in order.
fn held<'g>(managed: &'g BTreeSet<Grant>, account: &'g LiveAccount) -> impl Iterator<Item = &'g Grant> + 'g {
    account.grants.iter().filter(|g| managed.contains(*g))
}
