//! `SelectUniqueValue`: which of a person's candidates they get, decided with every
//! account in view (an expression sees one person only).
//!
//! The rule, the same whatever order the directory lists people in:
//! - A person whose account exists (matched) keeps that account's value: no churn.
//! - Taken are the values of every live account (excluded ones too: the target holds
//!   them) and of every desired account whose value is not selected, compared without
//!   case for emails and `userName`.
//! - The people to be created pick in the order of their identity (userPrincipalName,
//!   else mail, lower-cased): each gets the first candidate not yet taken, which is then
//!   taken. When every candidate is taken, that is an error naming them all.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::desired::DesiredAccount;
use crate::diag::{Code, Problem, Problems};
use crate::live::{LiveAccount, LiveState};

use super::planner::normalise;

/// The accounts of `wanted` whose selected values this plan decides, by index in `wanted`
/// (sorted by person), with the value picked as `on_create`. Empty when no mapping uses
/// `SelectUniqueValue`.
pub(super) fn resolve(
    wanted: &[&DesiredAccount],
    matched: &[Option<usize>],
    visible: &[&LiveAccount],
    live: &LiveState,
) -> Result<BTreeMap<usize, DesiredAccount>, Problems> {
    let selected: BTreeSet<&str> =
        wanted.iter().flat_map(|d| d.attributes.iter().filter(|a| a.candidates.is_some()).map(|a| &*a.name)).collect();
    let mut out: BTreeMap<usize, DesiredAccount> = BTreeMap::new();
    let mut problems = Problems::default();
    for attribute in selected {
        let mut taken: HashSet<String> =
            live.accounts.iter().filter_map(|a| a.attributes.get(attribute)).map(|v| normalise(attribute, v)).collect();
        taken.extend(
            wanted
                .iter()
                .filter_map(|d| d.attribute(attribute))
                .filter(|a| a.candidates.is_none())
                .filter_map(|a| a.on_create.as_deref())
                .map(|v| normalise(attribute, v)),
        );
        for (d, account) in wanted.iter().enumerate() {
            let Some(selected) = account.attribute(attribute).filter(|a| a.candidates.is_some()) else {
                continue;
            };
            let candidates = selected.candidates.as_deref().unwrap_or_default();
            let value = match matched[d] {
                Some(l) => visible[l].attributes.get(attribute).map(str::to_owned),
                // Someone disabled in the directory is not created: they hold nothing.
                None if !account.enabled => continue,
                None => match candidates.iter().find(|c| !taken.contains(&normalise(attribute, c))) {
                    Some(free) => {
                        taken.insert(normalise(attribute, free));
                        Some(free.clone())
                    }
                    None => {
                        problems.push(exhausted(account, attribute, candidates, selected.secret));
                        continue;
                    }
                },
            };
            let resolved = out.entry(d).or_insert_with(|| (*account).clone());
            if let Some(a) = resolved.attributes.iter_mut().find(|a| &*a.name == attribute) {
                a.on_create = value.map(std::sync::Arc::from);
            }
        }
    }
    problems.into_result(out)
}

fn exhausted(account: &DesiredAccount, attribute: &str, candidates: &[String], secret: bool) -> Problem {
    let listed: Vec<String> = candidates
        .iter()
        .map(|c| if secret { crate::plan::REDACTED.into() } else { format!("`{}`", crate::printable::escape(c)) })
        .collect();
    let message = if candidates.is_empty() {
        format!(
            "{} would be created, but every rule of SelectUniqueValue for `{attribute}` yields nothing",
            account.person
        )
    } else {
        format!(
            "{} would be created, but every value SelectUniqueValue offers for `{attribute}` is held by another account: {}",
            account.person,
            listed.join(", ")
        )
    };
    Problem::new(Code::UniqueValueExhausted, message).help(
        "add a rule to the SelectUniqueValue (e.g. one with a number: Join(\"\", [givenName], \"2\")), or a `default:`",
    )
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;
    use crate::desired::{Desired, DesiredAttribute, SafetyPolicy};
    use crate::live::{Key, Locks};
    use crate::manifest::OnUnassign;
    use crate::plan::{ActionKind, Change, PlanOptions, plan};

    /// A person to be created whose `email` is `SelectUniqueValue` over `candidates`.
    fn person(id: &str, candidates: &[&str]) -> DesiredAccount {
        let candidates: Vec<String> = candidates.iter().map(|c| c.to_string()).collect();
        DesiredAccount {
            person: id.into(),
            attributes: vec![
                DesiredAttribute {
                    name: "email".into(),
                    on_create: candidates.first().map(|c| c.as_str().into()),
                    candidates: Some(candidates.into()),
                    ..Default::default()
                },
                DesiredAttribute {
                    name: "firstName".into(),
                    on_create: Some(id.into()),
                    synced: true,
                    ..Default::default()
                },
            ],
            key: None,
            grants: Default::default(),
            roles: Default::default(),
            enabled: true,
        }
    }

    fn live(key: &str, email: &str) -> LiveAccount {
        let attributes = crate::live::Attributes::from([("email", email)]);
        LiveAccount { key: Key(key.into()), attributes, grants: Default::default(), locks: Locks::default() }
    }

    fn state(accounts: Vec<LiveAccount>) -> LiveState {
        LiveState {
            account_key: Key("1".into()),
            account_name: "Acme".into(),
            licenses: Vec::new(),
            accounts,
            me: None,
            caller_admin_roles: None,
        }
    }

    /// Each person's email after resolving, by person (`-` when not decided).
    fn picked(wanted: &[DesiredAccount], matched: &[Option<usize>], live: &LiveState) -> Result<String, String> {
        let refs: Vec<&DesiredAccount> = wanted.iter().collect();
        let visible: Vec<&LiveAccount> = live.accounts.iter().collect();
        let out = resolve(&refs, matched, &visible, live).map_err(|p| p.render_plain())?;
        Ok(wanted
            .iter()
            .enumerate()
            .map(|(d, a)| format!("{}={}", a.person, out.get(&d).and_then(|r| r.email()).unwrap_or("-")))
            .collect::<Vec<_>>()
            .join(" "))
    }

    #[test]
    fn two_people_who_would_collide_get_the_first_and_the_second_candidate() {
        let wanted = [
            person("jane.doe", &["jane@acme.example", "jdoe@acme.example"]),
            person("jane.dunn", &["jane@acme.example", "jdunn@acme.example"]),
        ];
        assert_eq!(
            picked(&wanted, &[None, None], &state(vec![])).unwrap(),
            "jane.doe=jane@acme.example jane.dunn=jdunn@acme.example"
        );
    }

    #[test]
    fn a_live_account_holding_the_first_candidate_in_another_case_pushes_to_the_second() {
        let wanted = [person("jane.doe", &["jane@acme.example", "jdoe@acme.example"])];
        let live = state(vec![live("7", "JANE@Acme.example")]);
        assert_eq!(picked(&wanted, &[None], &live).unwrap(), "jane.doe=jdoe@acme.example");
    }

    #[test]
    fn a_matched_person_keeps_the_value_of_their_account() {
        // Their account has the first candidate: it is theirs, not someone else's.
        let wanted = [person("jane.doe", &["jane@acme.example", "jdoe@acme.example"])];
        let live = state(vec![live("7", "j.doe.old@acme.example")]);
        assert_eq!(picked(&wanted, &[Some(0)], &live).unwrap(), "jane.doe=j.doe.old@acme.example");
    }

    #[test]
    fn a_value_another_person_gets_without_selecting_is_taken() {
        let mut plain = person("jane.roe", &[]);
        plain.attributes[0] = DesiredAttribute {
            name: "email".into(),
            on_create: Some("jane@acme.example".into()),
            ..Default::default()
        };
        // Sorted first, yet the plain email wins: it is not the planner's to move.
        let wanted = [person("jane.doe", &["jane@acme.example", "jdoe@acme.example"]), plain];
        assert_eq!(picked(&wanted, &[None, None], &state(vec![])).unwrap(), "jane.doe=jdoe@acme.example jane.roe=-");
    }

    #[test]
    fn someone_disabled_in_the_directory_takes_nothing() {
        let mut off = person("jane.aaa", &["jane@acme.example"]);
        off.enabled = false;
        let wanted = [off, person("jane.doe", &["jane@acme.example", "jdoe@acme.example"])];
        assert_eq!(picked(&wanted, &[None, None], &state(vec![])).unwrap(), "jane.aaa=- jane.doe=jane@acme.example");
    }

    #[test]
    fn microsofts_example_upn() {
        // [E-FN] SelectUniqueValue example (candidates from expr::tests::library::UNIQUE_UPN):
        // John.Smith@contoso.com if free, else J.Smith@contoso.com, else Jo.Smith@contoso.com.
        let john = || [person("john", &["John.Smith@contoso.com", "J.Smith@contoso.com", "Jo.Smith@contoso.com"])];
        assert_eq!(picked(&john(), &[None], &state(vec![])).unwrap(), "john=John.Smith@contoso.com");
        let one = state(vec![live("1", "john.smith@contoso.com")]);
        assert_eq!(picked(&john(), &[None], &one).unwrap(), "john=J.Smith@contoso.com");
        let two = state(vec![live("1", "John.Smith@contoso.com"), live("2", "J.Smith@contoso.com")]);
        assert_eq!(picked(&john(), &[None], &two).unwrap(), "john=Jo.Smith@contoso.com");
    }

    #[test]
    fn every_candidate_taken_is_an_error_naming_them() {
        let wanted = [person("jane.doe", &["jane@acme.example", "jdoe@acme.example"])];
        let live = state(vec![live("7", "jane@acme.example"), live("8", "jdoe@acme.example")]);
        let err = picked(&wanted, &[None], &live).unwrap_err();
        let err: String = err.split_whitespace().filter(|w| *w != "│").collect::<Vec<_>>().join(" ");
        assert!(err.contains("rollcall::unique-value-exhausted"), "{err}");
        assert!(err.contains("jane.doe would be created, but every value SelectUniqueValue offers for `email` is held by another account: `jane@acme.example`, `jdoe@acme.example`"), "{err}");
    }

    fn desired(accounts: Vec<DesiredAccount>) -> Desired {
        Desired {
            accounts,
            managed: BTreeSet::new(),
            license_origins: BTreeMap::new(),
            scope: None,
            matching: vec!["key".into()],
            policy: SafetyPolicy {
                on_unassign: OnUnassign::Keep,
                max_removals_count: 25,
                max_removals_percent: 20.0,
                max_removals_min_accounts: 10,
                protect: BTreeSet::new(),
            },
        }
    }

    /// The emails the plan creates, in the plan's order.
    fn created(accounts: Vec<DesiredAccount>, live: &LiveState) -> Vec<(String, String)> {
        let plan = plan(&desired(accounts), live, &PlanOptions::default()).expect("plans");
        plan.actions
            .iter()
            .filter(|a| a.action == ActionKind::Create)
            .map(|a| {
                let first = a.changes.iter().find_map(|c| match c {
                    Change::Attribute { attribute, new, .. } if attribute == "firstName" => Some(new.clone()),
                    _ => None,
                });
                (a.email.clone(), first.unwrap_or_default())
            })
            .collect()
    }

    proptest! {
        /// Who gets which value depends on who the people are, never on the order the
        /// directory lists them in.
        #[test]
        fn input_order_does_not_change_the_values_picked(
            order in Just((0..6).collect::<Vec<usize>>()).prop_shuffle(),
            occupied in proptest::bool::ANY,
        ) {
            let people = |order: &[usize]| -> Vec<DesiredAccount> {
                order
                    .iter()
                    .map(|&i| {
                        let id = format!("jane{i}");
                        let own = format!("jane{}@acme.example", i % 3);
                        person(&id, &["jane@acme.example", "j@acme.example", own.as_str(), &format!("{id}@acme.example")])
                    })
                    .collect()
            };
            let live = state(if occupied { vec![live("7", "Jane@acme.example")] } else { vec![] });
            let sorted: Vec<usize> = (0..6).collect();
            prop_assert_eq!(created(people(&order), &live), created(people(&sorted), &live));
        }
    }

    #[test]
    fn the_first_in_identity_order_gets_the_first_candidate() {
        let live = state(vec![]);
        let picked = created(
            vec![
                person("zoe", &["z@acme.example", "zoe@acme.example"]),
                person("zach", &["z@acme.example", "zach@acme.example"]),
            ],
            &live,
        );
        assert_eq!(
            picked,
            [("z@acme.example".to_owned(), "zach".to_owned()), ("zoe@acme.example".to_owned(), "zoe".to_owned())]
        );
    }
}
