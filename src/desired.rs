//! Manifests + directory -> the accounts that should exist (pure, offline).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::config::{Assignee, Clause, ClauseValue, Manifest, MappingValue, Scope};
use crate::diag::{Code, Problem, Problems};
use crate::directory::{Attributes, Directory, Origin};
use crate::expr::Record;
use crate::live::{Key, domain_of};
use crate::manifest::{ApplyMode, OnUnassign, ScopingOp, TargetKind};

/// A grant as a role names it, before licenses are resolved against the live account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoleGrant {
    /// A license description or key, as written.
    License(String),
    AdminRole(String),
    ScimRole(String),
}

/// One target attribute of a desired account (100,000 people have five each: it is kept small).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DesiredAttribute {
    /// The target attribute: one allocation shared by every person's copy.
    pub name: Arc<str>,
    /// The value on create (the mapping's value, else its `default:`); None = omitted.
    /// For `SelectUniqueValue`, the first candidate until the planner picks one.
    /// (A constant's value is one allocation, shared by everyone.)
    pub on_create: Option<Arc<str>>,
    /// Whether `on_create` is also kept in sync on update (`apply: always`, and the mapping
    /// gave a value); see `on_update`.
    pub synced: bool,
    /// `SelectUniqueValue`: the values of its rules (then the `default:`), in order, for
    /// the planner to pick the first that no other account holds. Such an attribute is
    /// set on create only: an account that exists keeps its value.
    pub candidates: Option<Box<[String]>>,
    /// The expression calls `Redact`: the value goes to the target but is masked in
    /// every output.
    pub secret: bool,
}

impl DesiredAttribute {
    /// The value kept in sync on update; None = leave the live value as it is.
    pub fn on_update(&self) -> Option<&str> {
        self.on_create.as_deref().filter(|_| self.synced)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredAccount {
    /// The person (userPrincipalName or mail, lower-cased), for messages.
    pub person: Arc<str>,
    pub attributes: Vec<DesiredAttribute>,
    /// The GoTo user key, when the directory record carries it (`rollcall import` writes it).
    pub key: Option<Key>,
    /// Shared by everyone with the same roles (one set per distinct combination, which the
    /// planner resolves once).
    pub grants: Arc<BTreeSet<RoleGrant>>,
    /// Roles the person holds, for display; shared like `grants`.
    pub roles: Arc<BTreeSet<String>>,
    /// false: `accountEnabled: false` in the directory; desired as disabled.
    pub enabled: bool,
}

impl DesiredAccount {
    pub fn attribute(&self, name: &str) -> Option<&DesiredAttribute> {
        self.attributes.iter().find(|a| &*a.name == name)
    }
    /// The email the account is created with (and matched by): GoTo's `email`, else SCIM's
    /// `userName` (a scim manifest maps `userName` where a goto one maps `email`).
    pub fn email(&self) -> Option<&str> {
        crate::vocab::identity_of(|n| self.attribute(n).and_then(|a| a.on_create.as_deref()))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SafetyPolicy {
    pub on_unassign: OnUnassign,
    pub max_removals_count: u64,
    pub max_removals_percent: f64,
    /// In-scope accounts from which the percentage applies.
    pub max_removals_min_accounts: u64,
    /// Lower-cased emails.
    pub protect: BTreeSet<String>,
}

/// Everything the planner needs from the manifests.
#[derive(Debug, Clone)]
pub struct Desired {
    pub accounts: Vec<DesiredAccount>,
    /// Every grant some role names: the only grants rollcall adds or removes.
    pub managed: BTreeSet<RoleGrant>,
    /// Everywhere each license name is written, for plan-time errors.
    pub license_origins: BTreeMap<String, Vec<Origin>>,
    pub scope: Option<Scope>,
    pub matching: Vec<String>,
    pub policy: SafetyPolicy,
}

impl Record for Attributes {
    fn get(&self, attribute: &str) -> Option<&str> {
        Attributes::get(self, attribute)
    }
}

/// A person as expressions see them: their attributes, and what Entra's functions read
/// beyond them (their roles, the default domain, the plan's time).
struct PersonRecord<'a> {
    attributes: &'a Attributes,
    roles: Vec<&'a str>,
    domain: Option<&'a str>,
    now: Option<&'a str>,
}

impl Record for PersonRecord<'_> {
    fn get(&self, attribute: &str) -> Option<&str> {
        self.attributes.get(attribute)
    }
    fn app_roles(&self) -> Vec<&str> {
        self.roles.clone()
    }
    fn default_domain(&self) -> Option<&str> {
        self.domain
    }
    fn now(&self) -> Option<&str> {
        self.now
    }
}

/// Builds the desired state from a checked manifest (`Now()` is null: no plan is made).
pub fn build(m: &Manifest) -> Result<Desired, Problems> {
    build_at(m, None)
}

/// Builds the desired state for a plan made at `now` (Entra's `M/d/yyyy h:mm:ss tt`), the
/// value of `Now()`; apply passes the saved plan's time, so the plan is not stale by the clock.
pub fn build_at(m: &Manifest, now: Option<&str>) -> Result<Desired, Problems> {
    let RoleSets { people: roles_of, sets } = expand_assignments(m);
    let builder = Builder::new(m, now);
    // Each person is built on their own: a large organisation is built in two halves, one
    // on each core, and put back together in order (the same accounts, the same problems).
    // The roles are borrowed: memory one core frees that the other allocated costs both a lock.
    let (accounts, problems) = if crate::vocab::on_two_cores(roles_of.len()) {
        let (first, second) = roles_of.split_at(roles_of.len() / 2);
        let ((mut accounts, mut problems), (rest, more)) = std::thread::scope(|s| {
            let other = s.spawn(|| builder.people(second, &sets));
            (builder.people(first, &sets), other.join().expect("building the desired state does not panic"))
        });
        accounts.extend(rest);
        problems.0.extend(more.0);
        (accounts, problems)
    } else {
        builder.people(&roles_of, &sets)
    };
    let mut managed = BTreeSet::new();
    let mut license_origins = BTreeMap::new();
    for r in m.roles.values() {
        for (l, origin) in &r.licenses {
            managed.insert(RoleGrant::License(l.clone()));
            license_origins.entry(l.clone()).or_insert_with(Vec::new).push(origin.clone());
        }
        managed.extend(r.admin_roles.iter().cloned().map(RoleGrant::AdminRole));
        managed.extend(r.scim_roles.iter().cloned().map(RoleGrant::ScimRole));
    }
    let desired = Desired {
        accounts,
        managed,
        license_origins,
        scope: m.scope.clone(),
        matching: m.matching.clone(),
        policy: SafetyPolicy {
            on_unassign: m.policy.on_unassign,
            max_removals_count: m.policy.max_removals_count,
            max_removals_percent: m.policy.max_removals_percent,
            max_removals_min_accounts: m.policy.max_removals_min_accounts,
            protect: m.policy.protect.iter().cloned().collect(),
        },
    };
    problems.into_result(desired)
}

/// The roles and the grants of everyone with the same roles.
type Shared = (Arc<BTreeSet<String>>, Arc<BTreeSet<RoleGrant>>);

/// What building one person's desired account needs, worked out once.
struct Builder<'m> {
    m: &'m Manifest,
    now: Option<&'m str>,
    /// GoTo's `email`, SCIM's `userName`: checked to be a plausible email in scope.
    email_attribute: &'static str,
    /// Whether each mapping calls `Redact`.
    secret: Vec<bool>,
}

impl<'m> Builder<'m> {
    fn new(m: &'m Manifest, now: Option<&'m str>) -> Self {
        Builder {
            m,
            now,
            email_attribute: if m.target.kind == TargetKind::Scim { "userName" } else { "email" },
            secret: m.mappings.iter().map(|x| matches!(&x.value, MappingValue::Expr(e) if e.is_secret())).collect(),
        }
    }

    /// The desired accounts of these people (person index, index of their roles in `sets`),
    /// in this order.
    fn people(&self, roles_of: &[(usize, u32)], sets: &[Vec<&str>]) -> (Vec<DesiredAccount>, Problems) {
        let Builder { m, now, email_attribute, ref secret } = *self;
        // Each mapping's attribute name, allocated once for everyone (once per core: the
        // counts of a shared one would bounce between the cores).
        let names: Vec<Arc<str>> = m.mappings.iter().map(|x| Arc::from(x.attribute.as_str())).collect();
        // So is each constant's value.
        let constants: Vec<Option<Arc<str>>> = m
            .mappings
            .iter()
            .map(|x| match &x.value {
                MappingValue::Constant(c) => Some(Arc::from(c.as_str())),
                MappingValue::Expr(_) => None,
            })
            .collect();
        let mut problems = Problems::default();
        let mut accounts = Vec::with_capacity(roles_of.len());
        // People with the same roles share one set of roles and one of grants.
        let mut interned: Vec<Option<Shared>> = vec![None; sets.len()];
        for &(person_index, set) in roles_of {
            let person = &m.directory.people[person_index];
            if !passes_scoping(&m.scoping, &person.attributes) {
                continue;
            }
            let (roles, grants) = interned[set as usize]
                .get_or_insert_with(|| {
                    let roles = &sets[set as usize];
                    let grants = Arc::new(role_grants(m, roles));
                    (Arc::new(roles.iter().map(|r| (*r).to_owned()).collect()), grants)
                })
                .clone();
            let record = PersonRecord {
                attributes: &person.attributes,
                roles: roles.iter().map(String::as_str).collect(),
                domain: m.scope.as_ref().and_then(|s| s.domains.first()).map(String::as_str),
                now,
            };
            let attributes: Vec<DesiredAttribute> = m
                .mappings
                .iter()
                .zip(secret)
                .zip(names.iter().zip(&constants))
                .map(|((mapping, &secret), shared)| desired_attribute(mapping, shared, &record, secret))
                .collect();
            let account = DesiredAccount {
                person: Arc::clone(&person.id),
                key: person.attributes.get("key").map(|k| Key(k.to_owned())),
                enabled: person.attributes.get("accountEnabled").and_then(crate::directory::account_enabled)
                    != Some(false),
                attributes,
                grants,
                roles,
            };
            let email = account.attribute(email_attribute).and_then(|a| a.on_create.as_deref());
            if let Some((problem, fatal)) = email.and_then(|email| email_problem(m, &account.person, person, email)) {
                problems.push(problem);
                if fatal {
                    continue;
                }
            }
            accounts.push(account);
        }
        (accounts, problems)
    }
}

/// What is wrong with the email `person` would get, if anything: not a plausible address
/// (the account is left out: true), or outside the scope (kept, for the plan's other checks).
fn email_problem(m: &Manifest, id: &str, person: &crate::directory::Person, email: &str) -> Option<(Problem, bool)> {
    let here = |p: Problem| p.at(&person.origin.source, person.origin.span, "this person");
    if !crate::config::is_plausible_email(email) {
        let problem = Problem::new(
            Code::InvalidEmail,
            format!(
                "{} would get the email `{}`, which is not a plausible address",
                crate::printable::escape(id),
                crate::printable::escape(email)
            ),
        )
        .help(
            "an email needs exactly one @ and no spaces, control characters, backticks, angle brackets or double \
             quotes; fix the record or the email mapping",
        );
        return Some((here(problem), true));
    }
    let scope = m.scope.as_ref()?;
    if crate::vocab::in_domains(&scope.domains, email) || scope.exclude.iter().any(|e| e.eq_ignore_ascii_case(email)) {
        return None;
    }
    let problem =
        Problem::new(Code::EmailOutOfScope, format!("{id} would get the email {email}, outside scope.domains")).help(
            format!(
                "add `{}` to scope.domains, exclude the person, or fix the email mapping (scope: {})",
                domain_of(email),
                scope.domains.join(", ")
            ),
        );
    Some((here(problem), false))
}

/// One mapping's value for one person.
fn desired_attribute(
    mapping: &crate::config::Mapping,
    (name, constant): (&Arc<str>, &Option<Arc<str>>),
    record: &PersonRecord,
    secret: bool,
) -> DesiredAttribute {
    let (value, candidates) = match &mapping.value {
        MappingValue::Expr(e) => {
            let candidates = e.unique_candidates(record).map(|mut c| {
                if let Some(d) = mapping.default.as_ref().filter(|d| !d.is_empty() && !c.contains(d)) {
                    c.push(d.clone());
                }
                c
            });
            match candidates {
                Some(c) => (c.first().map(|v| Arc::from(v.as_str())), Some(c)),
                None => (e.eval(record).map(Arc::from), None),
            }
        }
        // `people` gives each constant mapping its value, shared.
        MappingValue::Constant(_) => (constant.clone(), None),
    };
    DesiredAttribute {
        name: name.clone(),
        synced: mapping.apply == ApplyMode::Always && candidates.is_none() && value.is_some(),
        on_create: value.or_else(|| mapping.default.as_deref().map(Arc::from)),
        candidates: candidates.map(Vec::into_boxed_slice),
        secret,
    }
}

/// Every grant the roles name.
fn role_grants(m: &Manifest, roles: &[&str]) -> BTreeSet<RoleGrant> {
    let mut grants = BTreeSet::new();
    for role in roles {
        let r = &m.roles[*role];
        grants.extend(r.licenses.iter().map(|(l, _)| RoleGrant::License(l.clone())));
        grants.extend(r.admin_roles.iter().cloned().map(RoleGrant::AdminRole));
        grants.extend(r.scim_roles.iter().cloned().map(RoleGrant::ScimRole));
    }
    grants
}

/// The roles assigned to each person directly or through nested groups, for everyone
/// assigned a role, in person order. The names are the manifest's own.
fn expand_assignments<'m>(m: &'m Manifest) -> RoleSets<'m> {
    let mut members_cache: HashMap<&str, Vec<usize>> = HashMap::new();
    // Each person's roles as the index of a distinct set (0: none yet): 100,000 people hold
    // a few sets between them, not a list each.
    let mut out: Vec<u32> = vec![0; m.directory.people.len()];
    let mut sets: Vec<Vec<&'m str>> = vec![Vec::new()];
    let mut index: HashMap<Vec<&'m str>, u32> = HashMap::from_iter([(Vec::new(), 0)]);
    // (set, role) -> the set with the role added, worked out once.
    let mut with: HashMap<(u32, &'m str), u32> = HashMap::new();
    let mut add = |set: &mut u32, role: &'m str| {
        *set = *with.entry((*set, role)).or_insert_with(|| {
            let mut roles = sets[*set as usize].clone();
            if let Err(at) = roles.binary_search(&role) {
                roles.insert(at, role);
            }
            *index.entry(roles).or_insert_with_key(|roles| {
                sets.push(roles.clone());
                u32::try_from(sets.len() - 1).expect("fewer role sets than people")
            })
        });
    };
    for a in &m.assignments {
        let role = a.role.as_str();
        match &a.who {
            Assignee::User(i) => add(&mut out[*i], role),
            Assignee::Source(entry, _) => {
                for (i, _) in m.directory.people.iter().enumerate().filter(|(_, p)| p.entry == *entry) {
                    add(&mut out[i], role);
                }
            }
            Assignee::Group(g) => {
                if !members_cache.contains_key(g.as_str()) {
                    let members = group_members(&m.directory, g);
                    members_cache.insert(g.as_str(), members);
                }
                for &i in &members_cache[g.as_str()] {
                    add(&mut out[i], role);
                }
            }
        }
    }
    RoleSets { people: out.into_iter().enumerate().filter(|&(_, set)| set != 0).collect(), sets }
}

/// Who holds which roles.
struct RoleSets<'m> {
    /// Everyone with a role, in directory order: (person index, index in `sets`).
    people: Vec<(usize, u32)>,
    /// Each distinct set of roles, sorted (the first is the empty one).
    sets: Vec<Vec<&'m str>>,
}

/// Everyone in `group`, nested groups included (validation has rejected cycles; the
/// visited set makes this terminate regardless).
pub fn group_members(directory: &Directory, group: &str) -> Vec<usize> {
    let mut seen_groups = HashSet::new();
    let mut people = Vec::new();
    let mut stack = vec![group];
    while let Some(name) = stack.pop() {
        if !seen_groups.insert(name) {
            continue;
        }
        let Some(at) = directory.group_at(name) else { continue };
        people.extend(directory.member_people(at).iter().flatten().copied());
        stack.extend(directory.groups[at].groups.iter().map(|(n, _)| n.as_str()));
    }
    people.sort_unstable();
    people.dedup();
    people
}

/// Entra's scoping filters: no filters, or any filter whose clauses all hold.
pub fn passes_scoping(filters: &[Vec<Clause>], attributes: &Attributes) -> bool {
    filters.is_empty() || filters.iter().any(|clauses| clauses.iter().all(|c| clause_holds(c, attributes)))
}

pub fn clause_holds(c: &Clause, attributes: &Attributes) -> bool {
    let v = attributes.get(&c.attribute);
    match (c.op, &c.value) {
        (ScopingOp::IsNull, _) => v.is_none_or(str::is_empty),
        (ScopingOp::IsNotNull, _) => v.is_some_and(|s| !s.is_empty()),
        (ScopingOp::IsTrue, _) => v.is_some_and(|s| s.eq_ignore_ascii_case("true")),
        (ScopingOp::IsFalse, _) => v.is_some_and(|s| s.eq_ignore_ascii_case("false")),
        // Entra compares case-insensitively in scoping filters; null equals nothing.
        (ScopingOp::Equals, ClauseValue::One(x)) => v.is_some_and(|s| s.eq_ignore_ascii_case(x)),
        (ScopingOp::NotEquals, ClauseValue::One(x)) => !v.is_some_and(|s| s.eq_ignore_ascii_case(x)),
        (ScopingOp::StartsWith, ClauseValue::One(x)) => {
            v.is_some_and(|s| s.to_lowercase().starts_with(&x.to_lowercase()))
        }
        (ScopingOp::EndsWith, ClauseValue::One(x)) => v.is_some_and(|s| s.to_lowercase().ends_with(&x.to_lowercase())),
        (ScopingOp::Matches, ClauseValue::Regex(re)) => v.is_some_and(|s| re.is_match(s)),
        (ScopingOp::NotMatches, ClauseValue::Regex(re)) => !v.is_some_and(|s| re.is_match(s)),
        (ScopingOp::In, ClauseValue::List(xs)) => v.is_some_and(|s| xs.iter().any(|x| s.eq_ignore_ascii_case(x))),
        (ScopingOp::NotIn, ClauseValue::List(xs)) => !v.is_some_and(|s| xs.iter().any(|x| s.eq_ignore_ascii_case(x))),
        // Validation pairs every op with the right kind of value.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large organisation is built in two halves, one on each core: the same accounts in
    /// the same order, and the same problems, as on one core (here from two people on).
    #[test]
    fn building_on_two_cores_gives_what_one_core_gives() {
        let tmp = tempfile::tempdir().unwrap();
        let mut people = String::from("users:\n");
        // Every seventh person gets an email outside the scope, every eleventh none that is
        // plausible: problems come from both halves.
        let id = |i: usize| {
            let domain = if i % 7 == 3 { "elsewhere.example" } else { "acme.example" };
            if i % 11 == 5 { format!("p {i}@{domain}") } else { format!("p{i}@{domain}") }
        };
        for i in 0..40 {
            people.push_str(&format!("  - {{ userPrincipalName: '{}', givenName: P{i}, dept: d{} }}\n", id(i), i % 3));
        }
        people.push_str("groups:\n  staff: { members: [");
        people.push_str(&(0..40).filter(|i| i % 4 != 0).map(|i| format!("'{}'", id(i))).collect::<Vec<_>>().join(", "));
        people.push_str("] }\n");
        std::fs::write(tmp.path().join("people.yaml"), people).unwrap();
        std::fs::write(
            tmp.path().join("rollcall.yaml"),
            r#"version: 1
target: { kind: file, path: live.json }
scope: { domains: [acme.example] }
directory: [people.yaml]
roles:
  organizer: { licenses: ["GoToMeeting Business"] }
  admin: { licenses: ["GoToMeeting Business"], admin_roles: [MANAGE_USERS] }
mappings:
  email: { from: "ToLower([userPrincipalName])" }
  firstName: { from: "[givenName]" }
  lastName: { from: "[dept]" }
assignments:
  - { group: staff, role: organizer }
  - { source: people.yaml, role: admin }
"#,
        )
        .unwrap();
        let m = crate::config::load(tmp.path()).unwrap_or_else(|p| panic!("{}", p.render_plain()));
        let on = |from: usize| {
            crate::vocab::TEST_TWO_CORES_FROM.with(|f| f.set(from));
            let built = build(&m);
            crate::vocab::TEST_TWO_CORES_FROM.with(|f| f.set(crate::vocab::TWO_CORES_FROM));
            built
        };
        let (one, two) = (on(usize::MAX), on(2));
        let (Err(one), Err(two)) = (&one, &two) else { panic!("the people with bad emails are problems") };
        assert_eq!(one.render_plain(), two.render_plain());
        // Six outside the scope, four implausible, one (38) both: counted once.
        assert_eq!(one.len(), 6 + 4 - 1, "{}", one.render_plain());
        // Without the people whose emails are problems, both build the same accounts.
        std::fs::write(
            tmp.path().join("people.yaml"),
            std::fs::read_to_string(tmp.path().join("people.yaml"))
                .unwrap()
                .replace("elsewhere", "acme")
                .replace("'p ", "'p"),
        )
        .unwrap();
        let m = crate::config::load(tmp.path()).unwrap_or_else(|p| panic!("{}", p.render_plain()));
        crate::vocab::TEST_TWO_CORES_FROM.with(|f| f.set(2));
        let two = build(&m).unwrap();
        crate::vocab::TEST_TWO_CORES_FROM.with(|f| f.set(usize::MAX));
        let one = build(&m).unwrap();
        assert_eq!(one.accounts.len(), 40);
        assert_eq!(one.accounts, two.accounts);
    }
}
