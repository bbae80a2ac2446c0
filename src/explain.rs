//! `rollcall explain EMAIL`: every fact that decides one person's account, the question
//! Entra's provisioning logs and "provision on demand" answer (*why did, or didn't, this
//! person get an account?*).
//!
//! Two steps, because the directory is freed before the live state is read: [`facts`] reads
//! the manifests (records, groups, scoping verdicts, assignments, mapped values), [`finish`]
//! adds the live match and the planned action and settles the verdict.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Serialize;

use crate::config::{Assignee, ClauseValue, Manifest, MappingValue};
use crate::desired::{self, Desired};
use crate::diag::{self, Code, Problem};
use crate::directory::{Directory, Origin};
use crate::live::{LiveAccount, LiveState, domain_of};
use crate::manifest::{ApplyMode, ScopingOp};
use crate::plan::planner::case_insensitive;
use crate::plan::{Plan, REDACTED};
use crate::render::change_parts_in;

/// Everything `explain` says about one person or account (also its `--format json`; the
/// schema is `schema/explain.schema.json`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Explanation {
    /// The email asked about, as given.
    pub query: String,
    /// The directory person it names (their userPrincipalName, else mail), when there is one.
    pub person: Option<String>,
    /// The email the person's account has (or would have): the email mapping's value.
    pub email: Option<String>,
    /// Every place in the directory that mentions the person: their record, group memberships.
    pub records: Vec<Place>,
    /// The groups they are in, directly or through nested groups.
    pub groups: Vec<Membership>,
    /// Each scoping filter and its verdict (empty: no filters, everyone passes).
    pub scoping: Vec<FilterVerdict>,
    /// Whether the person passes scoping.
    pub in_scoping: bool,
    /// The assignments that give them a role.
    pub assignments: Vec<AssignmentFact>,
    /// Each mapped attribute, its source and its value for this person.
    pub attributes: Vec<AttributeFact>,
    /// Whether the directory record says `accountEnabled: false`.
    pub disabled_in_source: bool,
    /// The live account that matched (or, with no person, the one with this email).
    pub live: Option<LiveFact>,
    /// What the plan does to the account, if anything.
    pub action: Option<PlannedAction>,
    /// One line: the planned action, or why there is none.
    pub verdict: String,
}

/// A place in a file.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Place {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// What is there: "record", "member of group staff".
    pub what: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Membership {
    pub group: String,
    /// The nested groups from `group` down to the one that lists the person; empty when
    /// `group` lists them itself.
    pub via: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FilterVerdict {
    /// 1-based, in `scoping:` order.
    pub filter: usize,
    pub holds: bool,
    pub clauses: Vec<ClauseVerdict>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ClauseVerdict {
    /// e.g. `userType not_equals "Guest"`.
    pub clause: String,
    /// The person's value of the attribute (null: they have none).
    pub value: Option<String>,
    pub holds: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AssignmentFact {
    /// `group staff` or `user alice@acme.example`.
    pub assignee: String,
    pub role: String,
    /// What the role grants, e.g. `license GoToMeeting Business`.
    pub grants: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AttributeFact {
    pub attribute: String,
    /// The expression (`from:`), or the constant in quotes.
    pub source: String,
    /// The value for this person (null: the expression yields nothing).
    pub value: Option<String>,
    /// `always`, or `on_create` (kept in sync only on create).
    pub apply: String,
    pub default: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LiveFact {
    pub key: String,
    pub email: String,
    /// The matching attribute that found it (`email`, `key`, ...); null when the account
    /// is only named by the query.
    pub matched_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlannedAction {
    /// create, update, disable, enable, delete.
    pub action: String,
    pub reason: Option<String>,
    /// One line per change, as the text plan shows it.
    pub changes: Vec<String>,
}

/// What the manifests say, before the live state is read.
pub struct Facts {
    explanation: Explanation,
    /// The person's identity, when the query names one.
    person: Option<String>,
    excluded: bool,
}

impl Facts {
    /// Whether the query names a person, or else a live account.
    pub fn known(&self, live: &LiveState) -> bool {
        let q = self.explanation.query.trim();
        self.person.is_some() || live.accounts.iter().any(|l| l.email().eq_ignore_ascii_case(q))
    }
}

fn place(origin: &Origin, what: String) -> Place {
    let (line, column) = diag::line_col(origin.source.inner(), origin.span.offset());
    Place { file: origin.source.name().to_owned(), line, column, what }
}

/// The facts of the manifests about `query`. `None` when no person has that email,
/// userPrincipalName or mail (the live accounts may still know it).
pub fn facts(m: &Manifest, query: &str) -> Facts {
    let q = query.trim().to_lowercase();
    let email_attribute = email_attribute(m);
    let email_of = |i: usize| -> Option<String> { mapped(m, i, email_attribute) };
    let index = m
        .directory
        .person(&q)
        .or_else(|| (0..m.directory.people.len()).find(|&i| email_of(i).is_some_and(|e| e.eq_ignore_ascii_case(&q))));
    let excluded =
        |email: &str| m.scope.as_ref().is_some_and(|s| s.exclude.iter().any(|e| e.eq_ignore_ascii_case(email)));
    let Some(i) = index else {
        let explanation = Explanation {
            query: query.to_owned(),
            person: None,
            email: None,
            records: Vec::new(),
            groups: Vec::new(),
            scoping: Vec::new(),
            in_scoping: false,
            assignments: Vec::new(),
            attributes: Vec::new(),
            disabled_in_source: false,
            live: None,
            action: None,
            verdict: String::new(),
        };
        return Facts { explanation, person: None, excluded: excluded(&q) };
    };
    let person = &m.directory.people[i];
    let mut records = vec![place(&person.origin, "record".into())];
    let groups = memberships(&m.directory, i);
    for g in &m.directory.groups {
        for (member, origin) in &g.members {
            if m.directory.person(member) == Some(i) {
                records.push(place(origin, format!("member of group {}", g.name)));
            }
        }
    }
    let secret_sources = secret_sources(m);
    let scoping: Vec<FilterVerdict> = m
        .scoping
        .iter()
        .enumerate()
        .map(|(n, clauses)| {
            let clauses: Vec<ClauseVerdict> = clauses
                .iter()
                .map(|c| ClauseVerdict {
                    clause: describe_clause(c.op, &c.attribute, &c.value),
                    value: person
                        .attributes
                        .get(&c.attribute)
                        .map(|v| if secret_sources.contains(c.attribute.as_str()) { REDACTED } else { v })
                        .map(str::to_owned),
                    holds: desired::clause_holds(c, &person.attributes),
                })
                .collect();
            FilterVerdict { filter: n + 1, holds: clauses.iter().all(|c| c.holds), clauses }
        })
        .collect();
    let in_scoping = scoping.is_empty() || scoping.iter().any(|f| f.holds);
    let group_names: BTreeSet<&str> = groups.iter().map(|g| g.group.as_str()).collect();
    let assignments = m
        .assignments
        .iter()
        .filter_map(|a| {
            let assignee = match &a.who {
                Assignee::User(u) if *u == i => format!("user {}", person.id),
                Assignee::Group(g) if group_names.contains(g.as_str()) => format!("group {g}"),
                Assignee::Source(entry, path) if person.entry == *entry => format!("source {path}"),
                _ => return None,
            };
            let role = &m.roles[&a.role];
            let grants = role
                .licenses
                .iter()
                .map(|(l, _)| format!("license {l}"))
                .chain(role.admin_roles.iter().map(|r| format!("admin role {r}")))
                .chain(role.scim_roles.iter().map(|r| format!("role {r}")))
                .collect();
            Some(AssignmentFact { assignee, role: a.role.clone(), grants })
        })
        .collect();
    let attributes = attribute_facts(m, i);
    let email = attributes
        .iter()
        .find(|a| a.attribute == email_attribute)
        .and_then(|a| a.value.clone().or_else(|| a.default.clone()));
    let excluded = email.as_deref().is_some_and(excluded) || excluded(&person.id);
    let explanation = Explanation {
        query: query.to_owned(),
        person: Some(person.id.to_string()),
        email,
        records,
        groups,
        scoping,
        in_scoping,
        assignments,
        attributes,
        disabled_in_source: person.attributes.get("accountEnabled").is_some_and(|v| v.eq_ignore_ascii_case("false")),
        live: None,
        action: None,
        verdict: String::new(),
    };
    Facts { explanation, person: Some(person.id.to_string()), excluded }
}

/// Every email a query could have meant, for "did you mean".
pub fn known_emails(m: &Manifest) -> Vec<String> {
    let email_attribute = email_attribute(m);
    let mut out: Vec<String> = Vec::new();
    for (i, p) in m.directory.people.iter().enumerate() {
        out.push(p.id.to_string());
        // A redacted email is never offered as "did you mean".
        if !m.mappings.iter().any(|x| x.attribute == email_attribute && is_secret(x)) {
            out.extend(mapped(m, i, email_attribute));
        }
    }
    out
}

fn email_attribute(m: &Manifest) -> &'static str {
    if m.target.kind == crate::manifest::TargetKind::Scim { "userName" } else { "email" }
}

/// Each mapping, its source and its value for person `i` (masked when it calls `Redact`).
fn attribute_facts(m: &Manifest, i: usize) -> Vec<AttributeFact> {
    m.mappings
        .iter()
        .map(|mapping| AttributeFact {
            attribute: mapping.attribute.clone(),
            source: match &mapping.value {
                MappingValue::Expr(e) => e.to_string(),
                MappingValue::Constant(c) => crate::render::quote(c),
            },
            value: mapped(m, i, &mapping.attribute).map(|v| if is_secret(mapping) { REDACTED.to_owned() } else { v }),
            apply: match mapping.apply {
                ApplyMode::Always => "always".into(),
                ApplyMode::OnCreate => "on_create".into(),
            },
            default: mapping.default.clone(),
        })
        .collect()
}

/// The directory attributes a `Redact` mapping reads: masked wherever explain shows them.
fn secret_sources(m: &Manifest) -> BTreeSet<&str> {
    m.mappings
        .iter()
        .filter_map(|x| match &x.value {
            MappingValue::Expr(e) if e.is_secret() => Some(e.references().into_iter().map(|(name, _)| name)),
            _ => None,
        })
        .flatten()
        .collect()
}

fn is_secret(mapping: &crate::config::Mapping) -> bool {
    matches!(&mapping.value, MappingValue::Expr(e) if e.is_secret())
}

/// The value mapping `attribute` gives person `i` (its `default:` is not applied).
fn mapped(m: &Manifest, i: usize, attribute: &str) -> Option<String> {
    let mapping = m.mappings.iter().find(|x| x.attribute == attribute)?;
    match &mapping.value {
        MappingValue::Expr(e) => e.eval(&m.directory.people[i].attributes),
        MappingValue::Constant(c) => Some(c.clone()),
    }
}

fn describe_clause(op: ScopingOp, attribute: &str, value: &ClauseValue) -> String {
    let value = match value {
        ClauseValue::None => String::new(),
        ClauseValue::One(v) => format!(" {}", crate::render::quote(v)),
        ClauseValue::List(vs) => {
            format!(" [{}]", vs.iter().map(|v| crate::render::quote(v)).collect::<Vec<_>>().join(", "))
        }
        ClauseValue::Regex(re) => format!(" /{}/", re.as_str()),
    };
    format!("{attribute} {}{value}", op.as_str())
}

/// The groups person `i` is in, with the nesting that puts them there (shortest path).
fn memberships(directory: &Directory, i: usize) -> Vec<Membership> {
    let direct: BTreeSet<&str> = directory
        .groups
        .iter()
        .filter(|g| g.members.iter().any(|(m, _)| directory.person(m) == Some(i)))
        .map(|g| g.name.as_str())
        .collect();
    let mut out = Vec::new();
    for g in &directory.groups {
        // Breadth first from g through its nested groups to one that lists the person.
        let mut seen = BTreeSet::from([g.name.as_str()]);
        let mut frontier: Vec<Vec<&str>> = vec![vec![g.name.as_str()]];
        let mut found = None;
        while found.is_none() && !frontier.is_empty() {
            let mut next = Vec::new();
            for path in frontier {
                let last = *path.last().expect("paths are never empty");
                if direct.contains(last) {
                    found = Some(path);
                    break;
                }
                for (child, _) in directory.group(last).map(|x| x.groups.as_slice()).unwrap_or_default() {
                    if seen.insert(child.as_str()) {
                        let mut p = path.clone();
                        p.push(child.as_str());
                        next.push(p);
                    }
                }
            }
            frontier = next;
        }
        if let Some(path) = found {
            out.push(Membership { group: g.name.clone(), via: path[1..].iter().map(|s| (*s).to_owned()).collect() });
        }
    }
    out.sort_by(|a, b| a.via.len().cmp(&b.via.len()).then_with(|| a.group.cmp(&b.group)));
    out
}

/// The values desired state computed (with the person's roles, the default domain and the
/// plan's time, which the manifests alone do not give), masked where `Redact` asks.
fn desired_values(facts: &mut [AttributeFact], account: &desired::DesiredAccount) {
    for fact in facts {
        let Some(d) = account.attribute(&fact.attribute) else { continue };
        fact.value = if fact.apply == "always" && d.candidates.is_none() {
            d.on_update().map(str::to_owned)
        } else {
            d.on_create
                .as_deref()
                .filter(|v| fact.value.is_some() || Some(*v) != fact.default.as_deref())
                .map(str::to_owned)
        };
        if d.secret {
            fact.value = fact.value.as_ref().map(|_| REDACTED.to_owned());
        }
    }
}

/// Adds the live account and the planned action to the facts, and settles the verdict.
pub fn finish(facts: Facts, desired: &Desired, live: &LiveState, plan: &Plan) -> Explanation {
    let Facts { explanation: mut e, person, excluded } = facts;
    let wanted = person.as_deref().and_then(|p| desired.accounts.iter().find(|a| &*a.person == p));
    if let Some(account) = wanted {
        desired_values(&mut e.attributes, account);
    }
    // Which live account: the one the desired account matches, else the one with the email.
    let mut live_fact = None;
    if let Some(account) = wanted {
        for attribute in &desired.matching {
            let value = if attribute == "key" {
                account.key.as_ref().map(|k| k.as_str().to_owned())
            } else {
                account.attribute(attribute).and_then(|a| a.on_create.as_deref().map(str::to_owned))
            };
            let Some(value) = value else { continue };
            let found: Vec<&LiveAccount> = live.accounts.iter().filter(|l| same(attribute, l, &value)).collect();
            if let [one] = found.as_slice() {
                live_fact = Some(LiveFact {
                    key: one.key.as_str().to_owned(),
                    email: one.email().to_owned(),
                    matched_by: Some(attribute.clone()),
                });
                break;
            }
        }
    }
    if live_fact.is_none() {
        let email = e.email.clone().unwrap_or_else(|| e.query.trim().to_owned());
        if let Some(l) = live.accounts.iter().find(|l| l.email().eq_ignore_ascii_case(&email)) {
            live_fact =
                Some(LiveFact { key: l.key.as_str().to_owned(), email: l.email().to_owned(), matched_by: None });
        }
    }
    let live_email = live_fact.as_ref().map(|l| l.email.clone());
    let action = plan.actions.iter().find(|a| {
        live_fact.as_ref().is_some_and(|l| a.key.as_ref().is_some_and(|k| k.as_str() == l.key))
            || (a.key.is_none() && e.email.as_deref().is_some_and(|m| a.email.eq_ignore_ascii_case(m)))
    });
    let warning = plan.warnings.iter().find(|w| {
        live_email.as_deref().is_some_and(|m| w.email.eq_ignore_ascii_case(m))
            || e.email.as_deref().is_some_and(|m| w.email.eq_ignore_ascii_case(m))
    });
    e.action = action.map(|a| PlannedAction {
        action: a.action.as_str().into(),
        reason: a.reason.clone(),
        changes: a
            .changes
            .iter()
            .map(|c| {
                let (label, text, attribute, sign) = change_parts_in(a.action, c);
                match attribute {
                    Some(attr) => format!("{attr}: {text}"),
                    None => format!("{label}: {sign} {text}"),
                }
            })
            .collect(),
    });
    let account_email = live_email.clone().or_else(|| e.email.clone()).unwrap_or_else(|| e.query.clone());
    let out_of_scope = desired.scope.as_ref().is_some_and(|s| !s.domains.contains(&domain_of(&account_email)));
    let why_not_wanted = if e.person.is_none() {
        Some("not in any directory source".to_owned())
    } else if e.disabled_in_source && wanted.is_some() {
        None
    } else if !e.in_scoping {
        let failed: Vec<String> = e
            .scoping
            .iter()
            .map(|f| {
                let clause = f.clauses.iter().find(|c| !c.holds).map_or(String::new(), |c| {
                    format!(": {} is {}", c.clause, c.value.as_deref().map_or("null".into(), crate::render::quote))
                });
                format!("filter {}{clause}", f.filter)
            })
            .collect();
        Some(format!("scoped out by {}", failed.join("; ")))
    } else if e.assignments.is_empty() {
        Some("not assigned: no assignment names them or a group they are in".to_owned())
    } else {
        None
    };
    let verdict = if excluded {
        "excluded (scope.exclude): rollcall never matches, creates, changes or counts this account".to_owned()
    } else if let Some(a) = &e.action {
        let reason = match (&why_not_wanted, &a.reason) {
            (Some(why), _) => format!(" ({why})"),
            (None, Some(r)) => format!(" ({r})"),
            (None, None) => String::new(),
        };
        format!("{} {account_email}{reason}", a.action)
    } else if let Some(w) = warning {
        format!("nothing to do: {}", w.message)
    } else if let Some(why) = why_not_wanted {
        match (&live_fact, out_of_scope, desired.scope.is_none()) {
            (None, _, _) => format!("no account: {why}"),
            (Some(_), true, _) | (Some(_), _, true) => {
                format!("nothing to do: {why}, and the account is outside scope.domains, so rollcall leaves it alone")
            }
            (Some(_), false, false) => format!("nothing to do: {why}; the account holds no managed grant any more"),
        }
    } else if e.disabled_in_source {
        "nothing to do: accountEnabled is false in the source and the account is already disabled".to_owned()
    } else if live_fact.is_some() {
        "nothing to do: the account matches the manifests".to_owned()
    } else {
        "nothing to do".to_owned()
    };
    e.live = live_fact;
    e.verdict = verdict;
    e
}

fn same(attribute: &str, live: &LiveAccount, value: &str) -> bool {
    let have = if attribute == "key" { Some(live.key.as_str()) } else { live.attributes.get(attribute) };
    have.is_some_and(|h| if case_insensitive(attribute) { h.eq_ignore_ascii_case(value) } else { h == value })
}

/// The problem for an email nobody knows: exit 1, with did-you-mean.
pub fn unknown(query: &str, known: &[String], live: &LiveState) -> Problem {
    let candidates = known.iter().map(String::as_str).chain(live.accounts.iter().map(LiveAccount::email));
    let help = diag::did_you_mean(query, candidates).unwrap_or_else(|| {
        "name a person by their email, userPrincipalName or mail, or a live account by its email".into()
    });
    Problem::new(Code::UnknownUser, format!("no person and no live account has the email `{query}`")).help(help)
}

/// The explanation as text.
pub fn render(e: &Explanation) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{}", e.query);
    if let Some(p) = &e.person {
        let _ = writeln!(out, "  person: {p}");
    }
    if let Some(m) = &e.email {
        let _ = writeln!(out, "  email:  {m}");
    }
    if !e.records.is_empty() {
        out.push_str("\nRecords:\n");
        for r in &e.records {
            let _ = writeln!(out, "  {}:{}:{}  {}", r.file, r.line, r.column, r.what);
        }
    }
    if e.person.is_some() {
        out.push_str("\nGroups:\n");
        if e.groups.is_empty() {
            out.push_str("  (none)\n");
        }
        for g in &e.groups {
            if g.via.is_empty() {
                let _ = writeln!(out, "  {} (direct member)", g.group);
            } else {
                let _ = writeln!(out, "  {} via {}", g.group, g.via.join(" > "));
            }
        }
        out.push_str("\nScoping:\n");
        if e.scoping.is_empty() {
            out.push_str("  no filters: everyone is in scope\n");
        }
        for f in &e.scoping {
            let _ = writeln!(out, "  filter {}: {}", f.filter, if f.holds { "holds" } else { "fails" });
            for c in &f.clauses {
                let value = c.value.as_deref().map_or("null".into(), crate::render::quote);
                let _ = writeln!(out, "    {}: {value} -> {}", c.clause, if c.holds { "holds" } else { "fails" });
            }
        }
        out.push_str("\nAssignments:\n");
        if e.assignments.is_empty() {
            out.push_str("  (none)\n");
        }
        for a in &e.assignments {
            let _ = writeln!(out, "  {} -> role {} ({})", a.assignee, a.role, a.grants.join(", "));
        }
        out.push_str("\nAttributes:\n");
        let width = e.attributes.iter().map(|a| a.attribute.chars().count()).max().unwrap_or(0) + 1;
        for a in &e.attributes {
            let value = a.value.as_deref().map_or("null".into(), crate::render::quote);
            let note = match (&a.value, &a.default) {
                (None, Some(d)) => format!(" (default {} on create)", crate::render::quote(d)),
                _ => String::new(),
            };
            let apply = if a.apply == "on_create" { ", on create" } else { "" };
            let label = format!("{}:", a.attribute);
            let _ = writeln!(out, "  {label:<width$} {value}{note}   <- {}{apply}", a.source, width = width);
        }
    }
    out.push_str("\nLive account:\n");
    match &e.live {
        Some(l) => {
            let by = l.matched_by.as_ref().map_or(String::from(", not matched"), |a| format!(", matched by {a}"));
            let _ = writeln!(out, "  {} (key {}){by}", l.email, l.key);
        }
        None => out.push_str("  (none)\n"),
    }
    if let Some(a) = &e.action {
        let _ = writeln!(out, "\nPlan:\n  {}", a.action);
        for c in &a.changes {
            let _ = writeln!(out, "      {c}");
        }
    }
    let _ = writeln!(out, "\n{}", e.verdict);
    out
}
