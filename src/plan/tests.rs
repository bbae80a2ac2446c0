//! Planner tests: each builds a small desired model and a fake live account, plans, and pins
//! the plan as the text a reviewer would read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::*;
use crate::config::Scope;
use crate::desired::{Desired, DesiredAccount, DesiredAttribute, RoleGrant, SafetyPolicy};
use crate::live::{Grant, Key, License, LiveAccount, LiveState, Locks};
use crate::manifest::OnUnassign;
use crate::render::{TargetInfo, text};

const BUSINESS: &str = "7902142105473202120";
const WEBINAR: &str = "7902142105473202999";

/// The desired side: a role `organizer` (GoToMeeting Business), `admin` (plus MANAGE_USERS),
/// scope acme.example, matching on email.
struct World {
    desired: Desired,
    live: LiveState,
    only: Vec<String>,
}

fn world() -> World {
    let managed: BTreeSet<RoleGrant> =
        [RoleGrant::License("GoToMeeting Business".into()), RoleGrant::AdminRole("MANAGE_USERS".into())].into();
    World {
        desired: Desired {
            accounts: Vec::new(),
            managed,
            license_origins: BTreeMap::new(),
            scope: Some(Scope { domains: vec!["acme.example".into()], exclude: vec![] }),
            matching: vec!["email".into()],
            policy: SafetyPolicy {
                on_unassign: OnUnassign::Disable,
                max_removals_count: 25,
                max_removals_percent: 100.0,
                max_removals_min_accounts: 0,
                protect: BTreeSet::new(),
            },
        },
        live: LiveState {
            account_key: Key("4152318826743922179".into()),
            account_name: "Acme".into(),
            licenses: vec![
                License { key: Key(BUSINESS.into()), description: "GoToMeeting Business".into(), seats: Some(100) },
                License { key: Key(WEBINAR.into()), description: "GoToWebinar".into(), seats: Some(10) },
            ],
            accounts: Vec::new(),
            me: None,
            caller_admin_roles: None,
        },
        only: Vec::new(),
    }
}

fn attr(name: &str, value: &str) -> DesiredAttribute {
    DesiredAttribute { name: name.into(), on_create: Some(value.into()), synced: true, ..Default::default() }
}

/// An organizer named `first last` with email `email`.
fn person(email: &str, first: &str, last: &str) -> DesiredAccount {
    DesiredAccount {
        person: email.to_lowercase().into(),
        attributes: vec![attr("email", email), attr("firstName", first), attr("lastName", last)],
        key: None,
        grants: Arc::new([RoleGrant::License("GoToMeeting Business".into())].into()),
        roles: Arc::new(["organizer".into()].into()),
        enabled: true,
    }
}

fn admin(mut p: DesiredAccount) -> DesiredAccount {
    Arc::make_mut(&mut p.grants).insert(RoleGrant::AdminRole("MANAGE_USERS".into()));
    Arc::make_mut(&mut p.roles).insert("admin".into());
    p
}

fn business() -> Grant {
    Grant::License(Key(BUSINESS.into()))
}

/// A live account holding `grants`.
fn account(key: &str, email: &str, first: &str, last: &str, grants: &[Grant]) -> LiveAccount {
    let mut attributes = crate::live::Attributes::new();
    attributes.insert("email", email.to_owned());
    attributes.insert("firstName", first.to_owned());
    attributes.insert("lastName", last.to_owned());
    LiveAccount { key: Key(key.into()), attributes, grants: grants.iter().cloned().collect(), locks: Locks::default() }
}

impl World {
    fn want(mut self, p: DesiredAccount) -> Self {
        self.desired.accounts.push(p);
        self
    }
    fn has(mut self, a: LiveAccount) -> Self {
        self.live.accounts.push(a);
        self
    }
    fn plan(&self) -> Result<Plan, String> {
        plan(&self.desired, &self.live, &PlanOptions { only: self.only.clone() }).map_err(|p| p.render_plain())
    }
    /// The plan as a reviewer reads it, or the errors.
    fn text(&self) -> String {
        let target = TargetInfo { kind: "goto".into(), account: "4152318826743922179".into(), name: "Acme".into() };
        match self.plan() {
            Ok(p) => text::render(&p, &target, false),
            Err(e) => e,
        }
    }
}

#[test]
fn an_empty_world_has_no_changes() {
    insta::assert_snapshot!(world().text(), @"No changes. The account matches the manifests.");
}

#[test]
fn every_action_kind() {
    let mut w = world()
        // new person: create
        .want(person("alice@acme.example", "Alice", "Archer"))
        // drifted name: update
        .want(person("bob@acme.example", "Bob", "Smith"))
        .has(account("2", "bob@acme.example", "Bob", "Smth", &[business()]))
        // holds no managed grant: enable
        .want(person("dave@acme.example", "Dave", "Doe"))
        .has(account("4", "dave@acme.example", "Dave", "Doe", &[]))
        // left: disable
        .has(account("3", "carol@acme.example", "Carol", "Cole", &[business()]));
    insta::assert_snapshot!(w.text(), @r#"
    rollcall will change GoTo account 4152318826743922179 (Acme):

      + create alice@acme.example
          email:     "alice@acme.example"
          firstName: "Alice"
          lastName:  "Archer"
          licenses:  + GoToMeeting Business
      ~ update bob@acme.example
          lastName: "Smth" -> "Smith"
      - disable carol@acme.example   (no longer assigned)
          licenses: - GoToMeeting Business
      + enable dave@acme.example
          licenses: + GoToMeeting Business

    Plan: 1 to create, 1 to update, 1 to disable, 1 to enable, 0 to delete.
    "#);
    w.desired.policy.on_unassign = OnUnassign::Delete;
    let p = w.plan().unwrap();
    let carol = p.actions.iter().find(|a| a.email == "carol@acme.example").unwrap();
    assert_eq!(carol.action, ActionKind::Delete);
}

#[test]
fn matching_precedence_key_first_renames_in_place() {
    let mut w = world();
    w.desired.matching = vec!["key".into(), "email".into()];
    let mut renamed = person("robert@acme.example", "Bob", "Smith");
    renamed.key = Some(Key("2".into()));
    let w = w.want(renamed).has(account("2", "bob@acme.example", "Bob", "Smith", &[business()]));
    insta::assert_snapshot!(w.text(), @r#"
    rollcall will change GoTo account 4152318826743922179 (Acme):

      ~ update bob@acme.example
          email: "bob@acme.example" -> "robert@acme.example"

    Plan: 0 to create, 1 to update, 0 to disable, 0 to enable, 0 to delete.
    "#);
}

#[test]
fn matching_falls_through_to_the_next_attribute_and_email_ignores_case() {
    let mut w = world();
    w.desired.matching = vec!["key".into(), "email".into()];
    // no key on the person: email decides, case-insensitively
    let w = w.want(person("Bob@Acme.Example", "Bob", "Smith")).has(account(
        "2",
        "bob@acme.example",
        "Bob",
        "Smith",
        &[business()],
    ));
    insta::assert_snapshot!(w.text(), @"No changes. The account matches the manifests.");
}

#[test]
fn without_key_matching_a_rename_is_a_create_and_a_disable() {
    let w = world().want(person("robert@acme.example", "Bob", "Smith")).has(account(
        "2",
        "bob@acme.example",
        "Bob",
        "Smith",
        &[business()],
    ));
    let p = w.plan().unwrap();
    let kinds: Vec<_> = p.actions.iter().map(|a| (a.action, a.email.as_str())).collect();
    assert_eq!(kinds, [(ActionKind::Disable, "bob@acme.example"), (ActionKind::Create, "robert@acme.example")]);
}

#[test]
fn two_live_accounts_matching_one_person_is_an_error() {
    let mut w = world();
    w.desired.matching = vec!["firstName".into()];
    let w = w
        .want(person("bob@acme.example", "Bob", "Smith"))
        .has(account("2", "bob@acme.example", "Bob", "Smith", &[business()]))
        .has(account("5", "bobby@acme.example", "Bob", "Jones", &[business()]));
    insta::assert_snapshot!(w.text(), @"
    rollcall::ambiguous-match

      × bob@acme.example matches 2 live accounts on `firstName`: bob@acme.example (2),
      │ bobby@acme.example (5)
      help: rollcall never guesses: put `key` first in `matching` and give the person their GoTo key,
            or clean up the duplicate accounts
    ");
}

#[test]
fn two_people_matching_one_live_account_is_an_error() {
    let mut w = world();
    w.desired.matching = vec!["lastName".into()];
    let w = w
        .want(person("bob@acme.example", "Bob", "Smith"))
        .want(person("jane@acme.example", "Jane", "Smith"))
        .has(account("2", "bob@acme.example", "Bob", "Smith", &[business()]));
    insta::assert_snapshot!(w.text(), @r"
    rollcall::ambiguous-match

      × bob@acme.example and jane@acme.example both match the live account bob@acme.example (2)
      help: rollcall never guesses: make the two people's matching attributes differ, or give them
            distinct `key`s
    ");
}

#[test]
fn scope_exclude_and_outside_accounts_are_left_alone() {
    let mut w = world()
        .has(account("1", "ceo@acme.example", "Cee", "Eo", &[business()]))
        .has(account("2", "partner@other.example", "Pat", "Ner", &[business()]))
        .has(account("3", "gone@acme.example", "Gone", "Person", &[business()]));
    w.desired.scope.as_mut().unwrap().exclude = vec!["ceo@acme.example".into()];
    // A desired person who is excluded is invisible too: not created.
    let w = w.want(person("CEO@acme.example", "Cee", "Eo"));
    insta::assert_snapshot!(w.text(), @r"
    rollcall will change GoTo account 4152318826743922179 (Acme):

      - disable gone@acme.example   (no longer assigned)
          licenses: - GoToMeeting Business

    Plan: 0 to create, 0 to update, 1 to disable, 0 to enable, 0 to delete.
    Left alone: 1 account outside scope, 1 excluded account.
    ");
}

#[test]
fn protected_accounts_and_the_credentials_own_account_are_never_removed_or_stripped() {
    let mut w = world()
        .has(account(
            "1",
            "it-admin@acme.example",
            "It",
            "Admin",
            &[business(), Grant::AdminRole("MANAGE_USERS".into())],
        ))
        .has(account("2", "robot@acme.example", "Ro", "Bot", &[business()]))
        // protected and desired with fewer grants: the extra grant stays
        .want(person("it-admin@acme.example", "It", "Admin"));
    w.desired.policy.protect = ["it-admin@acme.example".into()].into();
    w.live.me = Some("ROBOT@acme.example".into());
    w.desired.policy.on_unassign = OnUnassign::Delete;
    insta::assert_snapshot!(w.text(), @r"
    No changes. The account matches the manifests.
    Left alone: 2 protected accounts.

    Warnings:
      ! it-admin@acme.example: protected: grants no role gives are kept
      ! robot@acme.example: protected: not deleted although no longer assigned
    ");
}

#[test]
fn protected_accounts_may_still_be_created_and_updated() {
    let mut w = world()
        .want(person("it-admin@acme.example", "It", "Admin"))
        .want(person("new-admin@acme.example", "New", "Admin"))
        .has(account("1", "it-admin@acme.example", "It", "Admn", &[business()]));
    w.desired.policy.protect = ["it-admin@acme.example".into(), "new-admin@acme.example".into()].into();
    let p = w.plan().unwrap();
    let kinds: Vec<_> = p.actions.iter().map(|a| a.action).collect();
    assert_eq!(kinds, [ActionKind::Update, ActionKind::Create]);
}

#[test]
fn on_unassign_keep_touches_nothing() {
    let mut w = world().has(account("3", "gone@acme.example", "Gone", "Person", &[business()]));
    w.desired.policy.on_unassign = OnUnassign::Keep;
    insta::assert_snapshot!(w.text(), @r"
    No changes. The account matches the manifests.
    Left alone: 1 unassigned account kept (on_unassign: keep).
    ");
}

#[test]
fn on_unassign_disable_skips_accounts_already_disabled_and_delete_removes_them() {
    let mut w = world().has(account("3", "gone@acme.example", "Gone", "Person", &[])).has(account(
        "4",
        "hand@acme.example",
        "Hand",
        "Given",
        &[Grant::License(Key(WEBINAR.into()))],
    ));
    // An in-scope account with no managed grant counts as disabled already.
    insta::assert_snapshot!(w.text(), @r"
    No changes. The account matches the manifests.
    Left alone: 1 unmanaged grant.

    Unmanaged grants (no role names them; rollcall leaves them alone):
      = hand@acme.example: license GoToWebinar (7902142105473202999)
    ");
    w.desired.policy.on_unassign = OnUnassign::Delete;
    insta::assert_snapshot!(w.text(), @r"
    rollcall will change GoTo account 4152318826743922179 (Acme):

      - delete gone@acme.example   (no longer assigned)
      - delete hand@acme.example   (no longer assigned)

    Plan: 0 to create, 0 to update, 0 to disable, 0 to enable, 2 to delete.
    Left alone: 1 unmanaged grant.

    Unmanaged grants (no role names them; rollcall leaves them alone):
      = hand@acme.example: license GoToWebinar (7902142105473202999)
    ");
}

#[test]
fn role_union_and_unmanaged_grants_untouched() {
    let w = world()
        .want(admin(person("ann@acme.example", "Ann", "Admin")))
        // holds GoToWebinar by hand: never added or removed
        .has(account("1", "ann@acme.example", "Ann", "Admin", &[business(), Grant::License(Key(WEBINAR.into()))]));
    insta::assert_snapshot!(w.text(), @r"
    rollcall will change GoTo account 4152318826743922179 (Acme):

      ~ update ann@acme.example
          admin roles: + MANAGE_USERS

    Plan: 0 to create, 1 to update, 0 to disable, 0 to enable, 0 to delete.
    Left alone: 1 unmanaged grant.

    Unmanaged grants (no role names them; rollcall leaves them alone):
      = ann@acme.example: license GoToWebinar (7902142105473202999)
    ");
    let p = w.plan().unwrap();
    assert_eq!(p.unmanaged.len(), 1);
    assert_eq!(p.unmanaged[0].grants[0].name, "GoToWebinar");
}

#[test]
fn a_role_taken_away_removes_only_its_grant() {
    let w = world().want(person("ann@acme.example", "Ann", "Admin")).has(account(
        "1",
        "ann@acme.example",
        "Ann",
        "Admin",
        &[business(), Grant::AdminRole("MANAGE_USERS".into()), Grant::AdminRole("SUPER_USER".into())],
    ));
    insta::assert_snapshot!(w.text(), @r"
    rollcall will change GoTo account 4152318826743922179 (Acme):

      ~ update ann@acme.example
          admin roles: - MANAGE_USERS

    Plan: 0 to create, 1 to update, 0 to disable, 0 to enable, 0 to delete.
    Left alone: 1 unmanaged grant.

    Unmanaged grants (no role names them; rollcall leaves them alone):
      = ann@acme.example: admin role SUPER_USER
    ");
}

#[test]
fn on_create_mappings_and_null_results() {
    let mut p = person("alice@acme.example", "Alice", "Archer");
    // timeZone: on_create constant; locale: expression yielded null, default used on create
    p.attributes.push(DesiredAttribute {
        name: "timeZone".into(),
        on_create: Some("Europe/Berlin".into()),

        ..Default::default()
    });
    p.attributes.push(DesiredAttribute {
        name: "locale".into(),
        on_create: Some("en_US".into()),

        ..Default::default()
    });
    // lastName: null, no default: omitted on create, left alone on update
    p.attributes[2] = DesiredAttribute { name: "lastName".into(), on_create: None, ..Default::default() };
    let w = world().want(p.clone());
    insta::assert_snapshot!(w.text(), @r#"
    rollcall will change GoTo account 4152318826743922179 (Acme):

      + create alice@acme.example
          email:     "alice@acme.example"
          firstName: "Alice"
          timeZone:  "Europe/Berlin"
          locale:    "en_US"
          licenses:  + GoToMeeting Business

    Plan: 1 to create, 0 to update, 0 to disable, 0 to enable, 0 to delete.
    "#);
    // Existing account with other values: on_create and null attributes stay as they are.
    let mut live = account("1", "alice@acme.example", "Alice", "Anderson", &[business()]);
    live.attributes.insert("timeZone", "America/New_York");
    let w = world().want(p).has(live);
    insta::assert_snapshot!(w.text(), @"No changes. The account matches the manifests.");
}

#[test]
fn a_create_without_email_is_an_error_naming_the_person() {
    let mut p = person("alice@acme.example", "Alice", "Archer");
    p.attributes[0] = DesiredAttribute { name: "email".into(), on_create: None, ..Default::default() };
    insta::assert_snapshot!(world().want(p).text(), @r"
    rollcall::null-email

      × alice@acme.example has no account yet and the email mapping yields nothing for them
      help: fix the email mapping or the person's directory record, or give the mapping a `default:`
    ");
}

#[test]
fn people_desired_as_disabled() {
    let mut bob = person("bob@acme.example", "Bob", "Smith");
    bob.enabled = false;
    let mut new = person("new@acme.example", "New", "Person");
    new.enabled = false;
    let mut w = world().want(bob).want(new).has(account("2", "bob@acme.example", "Bob", "Smith", &[business()]));
    // disabled whatever on_unassign says; a disabled person without an account is not created
    w.desired.policy.on_unassign = OnUnassign::Keep;
    insta::assert_snapshot!(w.text(), @r"
    rollcall will change GoTo account 4152318826743922179 (Acme):

      - disable bob@acme.example   (accountEnabled is false)
          licenses: - GoToMeeting Business

    Plan: 0 to create, 0 to update, 1 to disable, 0 to enable, 0 to delete.
    ");
}

#[test]
fn locked_accounts_get_a_warning_instead_of_an_update() {
    let mut locked = account("2", "bob@acme.example", "Bob", "Smth", &[]);
    locked.locks = Locks { name: true, ..Locks::default() };
    let w = world().want(person("bob@acme.example", "Bob", "Smith")).has(locked);
    insta::assert_snapshot!(w.text(), @r"
    rollcall will change GoTo account 4152318826743922179 (Acme):

      + enable bob@acme.example
          licenses: + GoToMeeting Business

    Plan: 0 to create, 0 to update, 0 to disable, 1 to enable, 0 to delete.
    Left alone: 1 account GoTo will not let rollcall change.

    Warnings:
      ! bob@acme.example: GoTo will not let an admin change lastName (nameLocked): left as it is
    ");
}

#[test]
fn only_restricts_actions_but_thresholds_count_the_whole_plan() {
    let mut w = world().want(person("alice@acme.example", "Alice", "Archer"));
    for i in 0..3 {
        w = w.has(account(&i.to_string(), &format!("gone{i}@acme.example"), "Gone", "Person", &[business()]));
    }
    w.desired.policy.max_removals_count = 2;
    w.only = vec!["Alice@acme.example".into()];
    insta::assert_snapshot!(w.text(), @r#"
    rollcall will change GoTo account 4152318826743922179 (Acme):

      + create alice@acme.example
          email:     "alice@acme.example"
          firstName: "Alice"
          lastName:  "Archer"
          licenses:  + GoToMeeting Business

    Plan: 1 to create, 0 to update, 0 to disable, 0 to enable, 0 to delete.
    Restricted to: alice@acme.example (--only).

    Blocked: the plan removes 3 accounts, more than max_removals.count (2)
      [rollcall::removal-threshold]
    apply refuses this plan unless --allow-removals is given.
    "#);
}

fn with_leavers(n: usize, stay: usize) -> World {
    let mut w = world();
    for i in 0..n {
        w = w.has(account(&format!("1{i:03}"), &format!("gone{i:03}@acme.example"), "Gone", "Person", &[business()]));
    }
    for i in 0..stay {
        let email = format!("stay{i:03}@acme.example");
        w = w.want(person(&email, "Stay", "Person")).has(account(
            &format!("2{i:03}"),
            &email,
            "Stay",
            "Person",
            &[business()],
        ));
    }
    w
}

#[test]
fn removal_threshold_by_count_at_the_limit_and_one_over() {
    let mut w = with_leavers(25, 200);
    assert!(w.plan().unwrap().blocked.is_empty(), "25 removals with count 25 is allowed");
    w = w.has(account("1999", "gone999@acme.example", "Gone", "Person", &[business()]));
    let p = w.plan().unwrap();
    assert_eq!(p.blocked.len(), 1);
    insta::assert_snapshot!(p.blocked[0].message, @"the plan removes 26 accounts, more than max_removals.count (25)");
}

#[test]
fn removal_threshold_by_percent_at_the_limit_and_one_over() {
    // 10 removals of 50 in-scope accounts = exactly 20 %
    let mut w = with_leavers(10, 40);
    w.desired.policy.max_removals_percent = 20.0;
    assert!(w.plan().unwrap().blocked.is_empty(), "exactly 20 % is allowed");
    let mut w = with_leavers(11, 39);
    w.desired.policy.max_removals_percent = 20.0;
    let p = w.plan().unwrap();
    insta::assert_snapshot!(p.blocked[0].message, @"the plan removes 11 of 50 in-scope accounts (22.0 %), more than max_removals.percent (20 %)");
}

#[test]
fn the_last_super_user_cannot_be_removed() {
    let mut w = world().has(account(
        "1",
        "boss@acme.example",
        "Bo",
        "Ss",
        &[business(), Grant::AdminRole("SUPER_USER".into())],
    ));
    w.desired.managed.insert(RoleGrant::AdminRole("SUPER_USER".into()));
    let p = w.plan().unwrap();
    assert_eq!(p.summary().disable, 1);
    insta::assert_snapshot!(format!("{}: {}", p.blocked[0].code, p.blocked[0].message), @"rollcall::last-super-user: the plan removes the last account holding SUPER_USER: nobody could administer the account");
    // With a second super user outside the plan, it is fine.
    let w = w.has(account("9", "other@other.example", "Ot", "Her", &[Grant::AdminRole("SUPER_USER".into())]));
    assert!(w.plan().unwrap().blocked.is_empty());
}

#[test]
fn seats_are_never_exceeded() {
    let mut w = world();
    w.live.licenses[0].seats = Some(2);
    let w = w
        .has(account("1", "a@acme.example", "A", "A", &[business()]))
        .want(person("a@acme.example", "A", "A"))
        .want(person("b@acme.example", "B", "B"));
    assert!(w.plan().unwrap().blocked.is_empty(), "2 users on 2 seats");
    let w = w.want(person("c@acme.example", "C", "C"));
    let p = w.plan().unwrap();
    insta::assert_snapshot!(p.blocked[0].message, @"license `GoToMeeting Business` (7902142105473202120) has 2 seats; the plan would put 3 users on it");
}

#[test]
fn unknown_license_is_a_plan_error() {
    let mut w = world().want(person("a@acme.example", "A", "A"));
    w.desired.managed.insert(RoleGrant::License("GoToMeeting Pro".into()));
    insta::assert_snapshot!(w.text(), @r"
    rollcall::unknown-license

      × the account has no license `GoToMeeting Pro`
      help: name a license by description or key; the account has: GoToMeeting Business
            (7902142105473202120), GoToWebinar (7902142105473202999)
    ");
}

#[test]
fn licenses_resolve_by_key_too() {
    let mut w = world();
    w.desired.managed = [RoleGrant::License(BUSINESS.into())].into();
    let mut p = person("a@acme.example", "A", "A");
    p.grants = Arc::new([RoleGrant::License(BUSINESS.into())].into());
    let w = w.want(p).has(account("1", "a@acme.example", "A", "A", &[business()]));
    insta::assert_snapshot!(w.text(), @"No changes. The account matches the manifests.");
}

#[test]
fn without_scope_nothing_is_deprovisioned_and_the_plan_says_so() {
    let mut w = world()
        .want(person("a@acme.example", "A", "Anew"))
        .has(account("1", "a@acme.example", "A", "Old", &[business()]))
        .has(account("2", "gone@acme.example", "Gone", "Person", &[business()]));
    w.desired.scope = None;
    insta::assert_snapshot!(w.text(), @r#"
    rollcall will change GoTo account 4152318826743922179 (Acme):

      ~ update a@acme.example
          lastName: "Old" -> "Anew"

    Plan: 0 to create, 1 to update, 0 to disable, 0 to enable, 0 to delete.
    Left alone: 1 account outside scope.
    No scope: only matched accounts are managed, and nothing is ever deprovisioned.
    "#);
}

// SCIM: a target with a real disabled flag (`active`), identity `userName`, roles as grants.

fn scim_world() -> World {
    let mut w = world();
    w.desired.managed = [RoleGrant::ScimRole("member".into()), RoleGrant::ScimRole("organizer".into())].into();
    w.desired.matching = vec!["userName".into()];
    w.live.licenses.clear();
    w
}

fn scim_person(user_name: &str, given: &str, roles: &[&str]) -> DesiredAccount {
    DesiredAccount {
        person: user_name.to_lowercase().into(),
        attributes: vec![attr("userName", user_name), attr("name.givenName", given)],
        key: None,
        grants: Arc::new(roles.iter().map(|r| RoleGrant::ScimRole((*r).into())).collect()),
        roles: Arc::new(["member".into()].into()),
        enabled: true,
    }
}

fn scim_account(key: &str, user_name: &str, given: &str, active: bool, roles: &[&str]) -> LiveAccount {
    let attributes = crate::live::Attributes::from([
        ("userName".to_owned(), user_name.to_owned()),
        ("name.givenName".to_owned(), given.to_owned()),
        ("active".to_owned(), active.to_string()),
    ]);
    LiveAccount {
        key: Key(key.into()),
        attributes,
        grants: roles.iter().map(|r| Grant::ScimRole((*r).into())).collect(),
        locks: Locks::default(),
    }
}

impl World {
    fn scim_text(&self) -> String {
        let target =
            TargetInfo { kind: "scim".into(), account: "https://scim.acme.example/v2".into(), name: String::new() };
        match self.plan() {
            Ok(p) => text::render(&p, &target, false),
            Err(e) => e,
        }
    }
}

#[test]
fn scim_disables_with_active_false_and_keeps_the_roles() {
    let mut w = scim_world()
        // new: create (identity = userName)
        .want(scim_person("Ann@acme.example", "Ann", &["member"]))
        // drift and a role: update, never enable, although it holds no managed role
        .want(scim_person("bob@acme.example", "Bob", &["member", "organizer"]))
        .has(scim_account("2", "bob@acme.example", "Rob", true, &["auditor"]))
        // inactive and wanted: enable, with its drift in the same action
        .want(scim_person("dave@acme.example", "Dave", &["member"]))
        .has(scim_account("4", "Dave@acme.example", "Davey", false, &["member"]))
        // active, no longer assigned: disable by the flag, roles untouched
        .has(scim_account("3", "carol@acme.example", "Carol", true, &["member", "auditor"]))
        // already inactive, no longer assigned: nothing to do
        .has(scim_account("5", "erin@acme.example", "Erin", false, &["member"]))
        // active, holding no managed role, no longer assigned: still an active account
        .has(scim_account("6", "finn@acme.example", "Finn", true, &[]));
    insta::assert_snapshot!(w.scim_text(), @r#"
    rollcall will change SCIM service https://scim.acme.example/v2:

      + create Ann@acme.example
          userName:       "Ann@acme.example"
          name.givenName: "Ann"
          roles:          + member
      ~ update bob@acme.example
          name.givenName: "Rob" -> "Bob"
          roles:          + member
          roles:          + organizer
      - disable carol@acme.example   (no longer assigned)
          active: "true" -> "false"
      + enable Dave@acme.example
          active:         "false" -> "true"
          name.givenName: "Davey" -> "Dave"
      - disable finn@acme.example   (no longer assigned)
          active: "true" -> "false"

    Plan: 1 to create, 1 to update, 2 to disable, 1 to enable, 0 to delete.
    Left alone: 2 unmanaged grants.

    Unmanaged grants (no role names them; rollcall leaves them alone):
      = bob@acme.example: role auditor
      = carol@acme.example: role auditor
    "#);
    // Delete mode deletes the inactive account too.
    w.desired.policy.on_unassign = OnUnassign::Delete;
    let p = w.plan().unwrap();
    let deleted: Vec<_> =
        p.actions.iter().filter(|a| a.action == ActionKind::Delete).map(|a| a.email.as_str()).collect();
    assert_eq!(deleted, ["carol@acme.example", "erin@acme.example", "finn@acme.example"]);
}

#[test]
fn scim_account_enabled_false_sets_active_false_once() {
    let mut off = scim_person("bob@acme.example", "Bob", &["member"]);
    off.enabled = false;
    let w = scim_world().want(off.clone()).has(scim_account("2", "bob@acme.example", "Bob", true, &["member"]));
    insta::assert_snapshot!(w.scim_text(), @r#"
    rollcall will change SCIM service https://scim.acme.example/v2:

      - disable bob@acme.example   (accountEnabled is false)
          active: "true" -> "false"

    Plan: 0 to create, 0 to update, 1 to disable, 0 to enable, 0 to delete.
    "#);
    // Applied: nothing more to do, although the account still holds its role.
    let mut after = w.live.clone();
    effect::apply_all(&mut after, &w.plan().unwrap().actions).unwrap();
    assert_eq!(after.accounts[0].active(), Some(false));
    assert!(plan(&w.desired, &after, &PlanOptions::default()).unwrap().actions.is_empty());
    // Protected: warned about, not disabled.
    let mut w = scim_world().want(off).has(scim_account("2", "bob@acme.example", "Bob", true, &["member"]));
    w.desired.policy.protect.insert("bob@acme.example".into());
    let p = w.plan().unwrap();
    assert!(p.actions.is_empty());
    assert_eq!(p.warnings[0].message, "protected: kept although accountEnabled is false");
}

#[test]
fn scim_user_name_and_work_email_ignore_case_when_matching_and_comparing() {
    const WORK: &str = "emails[type eq \"work\"].value";
    let mut w = scim_world();
    w.desired.matching = vec![WORK.into()];
    let mut p = scim_person("bob@acme.example", "Bob", &["member"]);
    p.attributes.push(attr(WORK, "Bob@Acme.example"));
    let mut live = scim_account("2", "BOB@acme.example", "Bob", true, &["member"]);
    live.attributes.insert(WORK, "bob@acme.EXAMPLE");
    let w = w.want(p).has(live);
    insta::assert_snapshot!(w.scim_text(), @"No changes. The account matches the manifests.");
}

#[test]
fn two_people_with_one_email_is_an_error() {
    let mut twin = person("bob@acme.example", "Robert", "Smith");
    twin.person = "robert.smith@acme.example".into();
    let w = world().want(person("bob@acme.example", "Bob", "Smith")).want(twin);
    insta::assert_snapshot!(w.text(), @"
    rollcall::ambiguous-match

      × bob@acme.example and robert.smith@acme.example would both get the email bob@acme.example
      help: one GoTo account has one email: fix the email mapping or the directory records of one of
            them
    ");
}
