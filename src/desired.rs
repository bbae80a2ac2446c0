//! Manifests + directory -> the accounts that should exist (pure, offline).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

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

/// One target attribute of a desired account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DesiredAttribute {
    pub name: String,
    /// The value on create (the mapping's value, else its `default:`); None = omitted.
    /// For `SelectUniqueValue`, the first candidate until the planner picks one.
    pub on_create: Option<String>,
    /// The value kept in sync on update; None = leave the live value as it is.
    pub on_update: Option<String>,
    /// `SelectUniqueValue`: the values of its rules (then the `default:`), in order, for
    /// the planner to pick the first that no other account holds. Such an attribute is
    /// set on create only: an account that exists keeps its value.
    pub candidates: Option<Vec<String>>,
    /// The expression calls `Redact`: the value goes to the target but is masked in
    /// every output.
    pub secret: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredAccount {
    /// The person (userPrincipalName or mail, lower-cased), for messages.
    pub person: String,
    pub attributes: Vec<DesiredAttribute>,
    /// The GoTo user key, when the directory record carries it (`rollcall import` writes it).
    pub key: Option<Key>,
    pub grants: BTreeSet<RoleGrant>,
    /// Roles the person holds, for display.
    pub roles: BTreeSet<String>,
    /// false: `accountEnabled: false` in the directory; desired as disabled.
    pub enabled: bool,
}

impl DesiredAccount {
    pub fn attribute(&self, name: &str) -> Option<&DesiredAttribute> {
        self.attributes.iter().find(|a| a.name == name)
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
    let mut problems = Problems::default();
    let roles_of = expand_assignments(m);
    let email_attribute = if m.target.kind == TargetKind::Scim { "userName" } else { "email" };
    let mut accounts = Vec::with_capacity(roles_of.len());
    // Whether each mapping calls `Redact`, once rather than per person.
    let secret: Vec<bool> =
        m.mappings.iter().map(|x| matches!(&x.value, MappingValue::Expr(e) if e.is_secret())).collect();
    for (person_index, roles) in roles_of {
        let person = &m.directory.people[person_index];
        if !passes_scoping(&m.scoping, &person.attributes) {
            continue;
        }
        let mut grants = BTreeSet::new();
        for role in &roles {
            let r = &m.roles[role];
            grants.extend(r.licenses.iter().map(|(l, _)| RoleGrant::License(l.clone())));
            grants.extend(r.admin_roles.iter().cloned().map(RoleGrant::AdminRole));
            grants.extend(r.scim_roles.iter().cloned().map(RoleGrant::ScimRole));
        }
        let record = PersonRecord {
            attributes: &person.attributes,
            roles: roles.iter().map(String::as_str).collect(),
            domain: m.scope.as_ref().and_then(|s| s.domains.first()).map(String::as_str),
            now,
        };
        let attributes: Vec<DesiredAttribute> = m
            .mappings
            .iter()
            .zip(&secret)
            .map(|(mapping, &secret)| desired_attribute(mapping, &record, secret))
            .collect();
        let account = DesiredAccount {
            person: person.id.clone(),
            key: person.attributes.get("key").map(|k| Key(k.to_owned())),
            enabled: person.attributes.get("accountEnabled").and_then(crate::directory::account_enabled) != Some(false),
            attributes,
            grants,
            roles,
        };
        let email = account.attribute(email_attribute).and_then(|a| a.on_create.as_deref());
        if let Some(email) = email.filter(|e| !crate::config::is_plausible_email(e)) {
            problems.push(
                Problem::new(
                    Code::InvalidEmail,
                    format!(
                        "{} would get the email `{}`, which is not a plausible address",
                        crate::printable::escape(&account.person),
                        crate::printable::escape(email)
                    ),
                )
                .at(&person.origin.source, person.origin.span, "this person")
                .help(
                    "an email needs exactly one @ and no spaces, control characters, backticks, angle brackets \
                     or double quotes; fix the record or the email mapping",
                ),
            );
            continue;
        }
        if let (Some(scope), Some(email)) = (&m.scope, email) {
            let domain = domain_of(email);
            if !scope.exclude.iter().any(|e| e.eq_ignore_ascii_case(email)) && !scope.domains.contains(&domain) {
                problems.push(
                    Problem::new(
                        Code::EmailOutOfScope,
                        format!("{} would get the email {email}, outside scope.domains", account.person),
                    )
                    .at(&person.origin.source, person.origin.span, "this person")
                    .help(format!(
                        "add `{domain}` to scope.domains, exclude the person, or fix the email mapping (scope: {})",
                        scope.domains.join(", ")
                    )),
                );
            }
        }
        accounts.push(account);
    }
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

/// One mapping's value for one person.
fn desired_attribute(mapping: &crate::config::Mapping, record: &PersonRecord, secret: bool) -> DesiredAttribute {
    let (value, candidates) = match &mapping.value {
        MappingValue::Expr(e) => {
            let candidates = e.unique_candidates(record).map(|mut c| {
                if let Some(d) = mapping.default.as_ref().filter(|d| !d.is_empty() && !c.contains(d)) {
                    c.push(d.clone());
                }
                c
            });
            match candidates {
                Some(c) => (c.first().cloned(), Some(c)),
                None => (e.eval(record), None),
            }
        }
        MappingValue::Constant(c) => (Some(c.clone()), None),
    };
    DesiredAttribute {
        name: mapping.attribute.clone(),
        on_update: if mapping.apply == ApplyMode::Always && candidates.is_none() { value.clone() } else { None },
        on_create: value.or_else(|| mapping.default.clone()),
        candidates,
        secret,
    }
}

/// person index -> the roles assigned to them, directly or through (nested) groups.
fn expand_assignments(m: &Manifest) -> BTreeMap<usize, BTreeSet<String>> {
    let mut members_cache: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut out: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for a in &m.assignments {
        match &a.who {
            Assignee::User(i) => {
                out.entry(*i).or_default().insert(a.role.clone());
            }
            Assignee::Source(entry, _) => {
                for (i, _) in m.directory.people.iter().enumerate().filter(|(_, p)| p.entry == *entry) {
                    out.entry(i).or_default().insert(a.role.clone());
                }
            }
            Assignee::Group(g) => {
                if !members_cache.contains_key(g.as_str()) {
                    let members = group_members(&m.directory, g);
                    members_cache.insert(g.as_str(), members);
                }
                for &i in &members_cache[g.as_str()] {
                    out.entry(i).or_default().insert(a.role.clone());
                }
            }
        }
    }
    out
}

/// Everyone in `group`, nested groups included (validation has rejected cycles; the
/// visited set makes this terminate regardless).
pub fn group_members(directory: &Directory, group: &str) -> Vec<usize> {
    let mut seen_groups = HashSet::new();
    let mut people = BTreeSet::new();
    let mut stack = vec![group];
    while let Some(name) = stack.pop() {
        if !seen_groups.insert(name) {
            continue;
        }
        let Some(g) = directory.group(name) else { continue };
        people.extend(g.members.iter().filter_map(|(m, _)| directory.person(m)));
        stack.extend(g.groups.iter().map(|(n, _)| n.as_str()));
    }
    people.into_iter().collect()
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
