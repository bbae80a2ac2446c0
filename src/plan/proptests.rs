//! Properties of the planner over generated organisations and accounts.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::config::Scope;
use crate::desired::{Desired, DesiredAccount, DesiredAttribute, RoleGrant, SafetyPolicy};
use crate::live::{Grant, Key, License, LiveAccount, LiveState, Locks, domain_of};
use crate::manifest::OnUnassign;

const BUSINESS: &str = "100";
const WEBINAR: &str = "200";
const NAMES: [&str; 4] = ["Ann", "Bob", "Cy", "Di"];
const DOMAINS: [&str; 3] = ["acme.example", "acme.example", "other.example"];

fn managed() -> BTreeSet<RoleGrant> {
    [RoleGrant::License("GoToMeeting Business".into()), RoleGrant::AdminRole("MANAGE_USERS".into())].into()
}

fn role_grants() -> impl Strategy<Value = BTreeSet<RoleGrant>> {
    prop::sample::subsequence(managed().into_iter().collect::<Vec<_>>(), 0..=2).prop_map(|v| v.into_iter().collect())
}

fn live_grants() -> impl Strategy<Value = BTreeSet<Grant>> {
    let all = vec![
        Grant::License(Key(BUSINESS.into())),
        Grant::License(Key(WEBINAR.into())),
        Grant::AdminRole("MANAGE_USERS".into()),
        Grant::AdminRole("SUPER_USER".into()),
    ];
    prop::sample::subsequence(all, 0..=4).prop_map(|v| v.into_iter().collect())
}

fn desired_account() -> impl Strategy<Value = DesiredAccount> {
    (0..12usize, 0..4usize, 0..4usize, role_grants(), prop::bool::weighted(0.85), any::<bool>(), any::<bool>())
        .prop_map(|(i, first, last, grants, enabled, last_on_create, null_last)| {
            let email = format!("u{i}@acme.example");
            let last_value = (!null_last).then(|| NAMES[last].to_owned());
            DesiredAccount {
                person: email.as_str().into(),
                attributes: vec![
                    DesiredAttribute {
                        name: "email".into(),
                        on_create: Some(email.as_str().into()),
                        synced: true,
                        ..Default::default()
                    },
                    DesiredAttribute {
                        name: "firstName".into(),
                        on_create: Some(NAMES[first].into()),
                        synced: true,
                        ..Default::default()
                    },
                    DesiredAttribute {
                        name: "lastName".into(),
                        on_create: last_value.as_deref().map(Into::into),
                        synced: !last_on_create,
                        ..Default::default()
                    },
                ],
                key: None,
                grants: grants.into(),
                roles: Default::default(),
                enabled,
            }
        })
}

fn live_account() -> impl Strategy<Value = LiveAccount> {
    (0..12usize, 0..3usize, 0..4usize, 0..4usize, live_grants(), prop::bool::weighted(0.2)).prop_map(
        |(i, domain, first, last, grants, name_locked)| {
            let mut attributes = crate::live::Attributes::new();
            attributes.insert("email", format!("u{i}@{}", DOMAINS[domain]));
            attributes.insert("firstName", NAMES[first].to_owned());
            attributes.insert("lastName", NAMES[last].to_owned());
            LiveAccount {
                key: Key::default(),
                attributes,
                grants: grants.into_iter().collect(),
                locks: Locks { name: name_locked, ..Locks::default() },
            }
        },
    )
}

#[derive(Debug, Clone)]
struct Case {
    desired: Desired,
    live: LiveState,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(desired_account(), 0..12),
        prop::collection::vec(live_account(), 0..14),
        prop::sample::select(vec![OnUnassign::Disable, OnUnassign::Delete, OnUnassign::Keep]),
        prop::collection::btree_set(0..12usize, 0..3),
        prop::collection::btree_set(0..12usize, 0..3),
        prop::option::of(0..12usize),
        any::<bool>(),
    )
        .prop_map(|(mut people, mut accounts, on_unassign, protect, exclude, me, scoped)| {
            // People and accounts are unique by email, as in a directory and in GoTo.
            let mut seen = BTreeSet::new();
            people.retain(|p| seen.insert(p.person.clone()));
            let mut seen = BTreeSet::new();
            accounts.retain(|a| seen.insert(a.email().to_owned()));
            for (n, a) in accounts.iter_mut().enumerate() {
                a.key = Key(format!("{}", 1000 + n));
            }
            let desired = Desired {
                accounts: people,
                managed: managed(),
                license_origins: BTreeMap::new(),
                scope: scoped.then(|| Scope {
                    domains: vec!["acme.example".into()],
                    exclude: exclude.iter().map(|i| format!("u{i}@acme.example")).collect(),
                }),
                matching: vec!["email".into()],
                policy: SafetyPolicy {
                    on_unassign,
                    max_removals_count: 25,
                    max_removals_percent: 20.0,
                    max_removals_min_accounts: 0,
                    protect: protect.iter().map(|i| format!("u{i}@acme.example")).collect(),
                },
            };
            let live = LiveState {
                account_key: Key("1".into()),
                account_name: "Acme".into(),
                licenses: vec![
                    License {
                        key: Key(BUSINESS.into()),
                        description: "GoToMeeting Business".into(),
                        seats: Some(1000),
                    },
                    License { key: Key(WEBINAR.into()), description: "GoToWebinar".into(), seats: None },
                ],
                accounts,
                me: me.map(|i| format!("u{i}@acme.example")),
                caller_admin_roles: None,
            };
            Case { desired, live }
        })
}

fn shuffled<T: Clone>(v: &[T], seed: u64) -> Vec<T> {
    let mut out = v.to_vec();
    let mut s = seed | 1;
    for i in (1..out.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        out.swap(i, (s % (i as u64 + 1)) as usize);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Through the `file` target's real write path: the account is a snapshot on disk, the
    /// plan is applied by `FileTarget::apply`, and the second plan reads the file back.
    #[test]
    fn a_plan_right_after_apply_is_empty(c in case()) {
        use crate::targets::{Target, file::FileTarget};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.json");
        std::fs::write(&path, serde_json::to_string(&crate::import::snapshot(&c.live)).unwrap()).unwrap();
        let mut target = FileTarget::new(path.clone());
        let live = target.read().expect("a snapshot rollcall wrote reads back");
        let by_key = |l: &LiveState| l.accounts.iter().map(|a| (a.key.clone(), a.clone())).collect::<BTreeMap<_, _>>();
        prop_assert_eq!(by_key(&live), by_key(&c.live), "the snapshot holds the generated accounts");
        let first = plan(&c.desired, &live, &PlanOptions::default()).expect("generated cases are unambiguous");
        let report = crate::apply::execute(&mut target, &first.actions, &live, None).expect("the file target applies");
        prop_assert!(
            report.results.iter().all(|(_, o)| *o == crate::targets::Outcome::Done),
            "outcomes: {:?}", report.results
        );
        let after = FileTarget::new(path).read().expect("the rewritten snapshot reads back");
        let second = plan(&c.desired, &after, &PlanOptions::default()).expect("still unambiguous");
        prop_assert!(second.actions.is_empty(), "second plan: {:#?}", second.actions);
    }

    #[test]
    fn input_order_never_changes_the_plan(c in case(), seed in any::<u64>()) {
        let p = plan(&c.desired, &c.live, &PlanOptions::default()).unwrap();
        let mut d = c.desired.clone();
        d.accounts = shuffled(&d.accounts, seed);
        let mut l = c.live.clone();
        l.accounts = shuffled(&l.accounts, seed.rotate_left(17));
        l.licenses = shuffled(&l.licenses, seed.rotate_left(33));
        prop_assert_eq!(p, plan(&d, &l, &PlanOptions::default()).unwrap());
    }

    /// A large organisation is planned in two halves, one on each core: the halves give the
    /// plan, and the problems, that one core gives (here from two people on).
    #[test]
    fn planning_on_two_cores_gives_the_plan_of_one(c in case()) {
        let on = |from: usize| {
            crate::vocab::TEST_TWO_CORES_FROM.with(|f| f.set(from));
            let p = plan(&c.desired, &c.live, &PlanOptions::default());
            crate::vocab::TEST_TWO_CORES_FROM.with(|f| f.set(usize::MAX));
            format!("{p:#?}")
        };
        prop_assert_eq!(on(usize::MAX), on(2));
    }

    #[test]
    fn safety_invariants_hold(c in case()) {
        let p = plan(&c.desired, &c.live, &PlanOptions::default()).unwrap();
        let excluded: BTreeSet<String> = c.desired.scope.iter().flat_map(|s| s.exclude.clone()).collect();
        let desired_emails: BTreeSet<String> = c.desired.accounts.iter().map(|d| d.person.to_string()).collect();
        for a in &p.actions {
            let email = a.email.to_lowercase();
            // excluded accounts are invisible
            prop_assert!(!excluded.contains(&email), "touched excluded {}", email);
            if a.action.is_removal() {
                // never protected, never the credential's own account
                prop_assert!(!c.desired.policy.protect.contains(&email), "removed protected {}", email);
                prop_assert!(c.live.me.as_deref() != Some(email.as_str()), "removed own account {}", email);
                // never outside scope, and without a scope only people desired as disabled
                match &c.desired.scope {
                    Some(s) => prop_assert!(s.domains.contains(&domain_of(&email)), "removed out-of-scope {}", email),
                    None => prop_assert!(desired_emails.contains(&email) && a.action == ActionKind::Disable),
                }
            }
            let protected = c.desired.policy.protect.contains(&email) || c.live.me.as_deref() == Some(email.as_str());
            for ch in &a.changes {
                if let Change::Add(g) | Change::Remove(g) = ch {
                    // unmanaged grants are never changed
                    prop_assert!(
                        matches!(&g.grant, Grant::License(k) if k.as_str() == BUSINESS)
                            || g.grant == Grant::AdminRole("MANAGE_USERS".into()),
                        "changed unmanaged grant {:?}", g.grant
                    );
                    if protected {
                        prop_assert!(matches!(ch, Change::Add(_)), "stripped protected {}", email);
                    }
                }
            }
        }
    }

    #[test]
    fn only_restricts_to_a_subset_with_the_same_blocks(c in case(), pick in prop::collection::btree_set(0..12usize, 0..3)) {
        let whole = plan(&c.desired, &c.live, &PlanOptions::default()).unwrap();
        let only: Vec<String> = pick.iter().map(|i| format!("U{i}@acme.example")).collect();
        prop_assume!(!only.is_empty());
        let part = plan(&c.desired, &c.live, &PlanOptions { only: only.clone() }).unwrap();
        prop_assert_eq!(&whole.blocked, &part.blocked);
        for a in &part.actions {
            prop_assert!(only.iter().any(|o| o.eq_ignore_ascii_case(&a.email)));
            prop_assert!(whole.actions.contains(a));
        }
        let expected: Vec<_> = whole.actions.iter().filter(|a| only.iter().any(|o| o.eq_ignore_ascii_case(&a.email))).collect();
        prop_assert_eq!(expected.len(), part.actions.len());
    }
}

// SCIM: identity `userName`, a real disabled flag (`active`), roles as grants.

fn scim_managed() -> BTreeSet<RoleGrant> {
    [RoleGrant::ScimRole("member".into()), RoleGrant::ScimRole("organizer".into())].into()
}

fn scim_case() -> impl Strategy<Value = Case> {
    let person = (
        0..12usize,
        0..4usize,
        prop::sample::subsequence(vec!["member", "organizer"], 0..=2),
        prop::bool::weighted(0.85),
    )
        .prop_map(|(i, first, roles, enabled)| {
            let user_name = format!("u{i}@acme.example");
            DesiredAccount {
                person: user_name.as_str().into(),
                attributes: vec![
                    DesiredAttribute {
                        name: "userName".into(),
                        on_create: Some(user_name.as_str().into()),
                        synced: true,
                        ..Default::default()
                    },
                    DesiredAttribute {
                        name: "name.givenName".into(),
                        on_create: Some(NAMES[first].into()),
                        synced: true,
                        ..Default::default()
                    },
                ],
                key: None,
                grants: std::sync::Arc::new(roles.into_iter().map(|r| RoleGrant::ScimRole(r.into())).collect()),
                roles: Default::default(),
                enabled,
            }
        });
    let account = (
        0..12usize,
        0..3usize,
        0..4usize,
        any::<bool>(),
        prop::sample::subsequence(vec!["member", "organizer", "auditor"], 0..=3),
    )
        .prop_map(|(i, domain, first, active, roles)| LiveAccount {
            key: Key::default(),
            attributes: crate::live::Attributes::from([
                ("userName".to_owned(), format!("U{i}@{}", DOMAINS[domain])),
                ("name.givenName".to_owned(), NAMES[first].to_owned()),
                ("active".to_owned(), active.to_string()),
            ]),
            grants: roles.into_iter().map(|r| Grant::ScimRole(r.into())).collect(),
            locks: Locks::default(),
        });
    (
        prop::collection::vec(person, 0..12),
        prop::collection::vec(account, 0..14),
        prop::sample::select(vec![OnUnassign::Disable, OnUnassign::Delete, OnUnassign::Keep]),
        prop::collection::btree_set(0..12usize, 0..3),
        any::<bool>(),
    )
        .prop_map(|(mut people, mut accounts, on_unassign, protect, scoped)| {
            let mut seen = BTreeSet::new();
            people.retain(|p| seen.insert(p.person.clone()));
            let mut seen = BTreeSet::new();
            accounts.retain(|a| seen.insert(a.email().to_lowercase()));
            for (n, a) in accounts.iter_mut().enumerate() {
                a.key = Key(format!("{}", 1000 + n));
            }
            let desired = Desired {
                accounts: people,
                managed: scim_managed(),
                license_origins: BTreeMap::new(),
                scope: scoped.then(|| Scope { domains: vec!["acme.example".into()], exclude: Vec::new() }),
                matching: vec!["userName".into()],
                policy: SafetyPolicy {
                    on_unassign,
                    max_removals_count: 25,
                    max_removals_percent: 20.0,
                    max_removals_min_accounts: 0,
                    protect: protect.iter().map(|i| format!("u{i}@acme.example")).collect(),
                },
            };
            let live =
                LiveState { account_key: Key("https://scim.example/v2".into()), accounts, ..LiveState::default() };
            Case { desired, live }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn scim_a_plan_right_after_apply_is_empty(c in scim_case()) {
        let first = plan(&c.desired, &c.live, &PlanOptions::default()).expect("generated cases are unambiguous");
        let mut after = c.live.clone();
        effect::apply_all(&mut after, &first.actions).expect("a plan applies to the state it was made from");
        let second = plan(&c.desired, &after, &PlanOptions::default()).expect("still unambiguous");
        prop_assert!(second.actions.is_empty(), "second plan: {:#?}", second.actions);
    }

    #[test]
    fn scim_disable_and_enable_flip_active_and_never_strip_roles(c in scim_case()) {
        let p = plan(&c.desired, &c.live, &PlanOptions::default()).unwrap();
        let flip = |old: &str, new: &str| Change::Attribute { attribute: "active".into(), old: Some(old.into()), new: new.into() };
        for a in &p.actions {
            let live = c.live.accounts.iter().find(|l| Some(&l.key) == a.key.as_ref());
            match a.action {
                ActionKind::Disable => {
                    prop_assert_eq!(&a.changes, &vec![flip("true", "false")]);
                    prop_assert_eq!(live.and_then(LiveAccount::active), Some(true));
                }
                ActionKind::Enable => {
                    prop_assert!(a.changes.contains(&flip("false", "true")), "{:?}", a);
                    prop_assert_eq!(live.and_then(LiveAccount::active), Some(false));
                }
                ActionKind::Update => {
                    prop_assert_eq!(live.and_then(LiveAccount::active), Some(true));
                    let flips = a.changes.iter().any(|ch| matches!(ch, Change::Attribute { attribute, .. } if attribute == "active"));
                    prop_assert!(!flips, "an update flipped active: {:?}", a);
                }
                ActionKind::Create | ActionKind::Delete => {}
            }
            for ch in &a.changes {
                if let Change::Add(g) | Change::Remove(g) = ch {
                    prop_assert!(g.grant != Grant::ScimRole("auditor".into()), "changed an unmanaged role");
                }
            }
        }
    }
}
