//! Turns the manifest as written into the checked model the planner uses, reporting every
//! problem in one pass (cargo-deny style): nothing reaches a target until this succeeds.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use regex::Regex;

use crate::diag::{self, Code, Problem, Problems, Source, did_you_mean};
use crate::directory::{self, Directory, Origin};
use crate::expr::{Expr, ExprErrorCode};
use crate::manifest::files::{ManifestFs, WorkTree};
use crate::manifest::yaml::{self, Spanned, has_span, scalar_offsets, span};
use crate::manifest::{ApplyMode, OnUnassign, RawManifest, ScalarOrList, ScopingOp, TargetKind};

pub const MANIFEST_FILE: &str = "rollcall.yaml";

/// A checked manifest: everything the planner needs, no spans except where plan-time
/// checks (licenses) still need to point at the file.
#[derive(Debug)]
pub struct Manifest {
    pub dir: PathBuf,
    pub root: Source,
    pub target: TargetConfig,
    pub scope: Option<Scope>,
    /// A record passes when any filter holds; a filter holds when all its clauses do.
    pub scoping: Vec<Vec<Clause>>,
    pub matching: Vec<String>,
    pub roles: BTreeMap<String, Role>,
    pub mappings: Vec<Mapping>,
    pub assignments: Vec<Assignment>,
    pub policy: Policy,
    pub directory: Directory,
    /// What validation accepts but questions (printed, never fatal).
    pub warnings: Vec<Problem>,
}

#[derive(Debug, Clone)]
pub struct TargetConfig {
    pub kind: TargetKind,
    pub path: Option<String>,
    pub account_key: Option<String>,
    pub api_url: Option<String>,
    pub token_url: Option<String>,
    pub url: Option<String>,
    pub requests_per_second: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Lower-cased.
    pub domains: Vec<String>,
    /// Lower-cased emails.
    pub exclude: Vec<String>,
}

#[derive(Debug)]
pub struct Clause {
    pub attribute: String,
    pub op: ScopingOp,
    pub value: ClauseValue,
}

#[derive(Debug)]
pub enum ClauseValue {
    None,
    One(String),
    List(Vec<String>),
    Regex(Regex),
}

#[derive(Debug, Clone)]
pub struct Role {
    pub name: String,
    /// As written (description or key), with where, for plan-time resolution.
    pub licenses: Vec<(String, Origin)>,
    pub admin_roles: Vec<String>,
    pub scim_roles: Vec<String>,
}

#[derive(Debug)]
pub struct Mapping {
    pub attribute: String,
    pub value: MappingValue,
    pub apply: ApplyMode,
    pub default: Option<String>,
}

impl Mapping {
    /// Whether the value is `SelectUniqueValue(...)`, decided by the planner.
    pub fn selects_unique(&self) -> bool {
        matches!(&self.value, MappingValue::Expr(e) if e.selects_unique())
    }
}

#[derive(Debug)]
pub enum MappingValue {
    Expr(Expr),
    Constant(String),
}

#[derive(Debug, Clone)]
pub struct Assignment {
    pub who: Assignee,
    pub role: String,
}

#[derive(Debug, Clone)]
pub enum Assignee {
    /// Index into `directory.people`.
    User(usize),
    Group(String),
    /// Everyone from the `directory:` entry with this index (and path, as written).
    Source(usize, String),
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub on_unassign: OnUnassign,
    pub max_removals_count: u64,
    pub max_removals_percent: f64,
    /// In-scope accounts from which `max_removals_percent` applies.
    pub max_removals_min_accounts: u64,
    /// Lower-cased emails.
    pub protect: Vec<String>,
    pub welcome_email: bool,
}

pub const DEFAULT_MAX_REMOVALS_COUNT: u64 = 25;
pub const DEFAULT_MAX_REMOVALS_PERCENT: f64 = 20.0;
/// As octoDNS does for its thresholds: a percentage of a handful is not a safety measure.
pub const DEFAULT_MAX_REMOVALS_MIN_ACCOUNTS: u64 = 10;

/// Reads and checks the manifest directory `dir`.
pub fn load(dir: &Path) -> Result<Manifest, Problems> {
    load_from(&WorkTree, dir)
}

/// As [`load`], telling `on_target` the checked target as soon as it is known, before the
/// directory files are read: a caller can start reading a local snapshot meanwhile. Not
/// called when the target itself is wrong.
pub fn load_watching(dir: &Path, on_target: &mut dyn FnMut(&TargetConfig)) -> Result<Manifest, Problems> {
    load_with(&WorkTree, dir, Some(on_target))
}

/// Reads and checks the manifest directory `dir` of `fs` (the work tree, or a git revision).
pub fn load_from(fs: &dyn ManifestFs, dir: &Path) -> Result<Manifest, Problems> {
    load_with(fs, dir, None)
}

fn load_with(
    fs: &dyn ManifestFs,
    dir: &Path,
    on_target: Option<&mut dyn FnMut(&TargetConfig)>,
) -> Result<Manifest, Problems> {
    let file = dir.join(MANIFEST_FILE);
    let shown = fs.display(&file);
    let text = match fs.read(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let what = if fs.is_dir(dir) { "has no rollcall.yaml" } else { "does not exist" };
            return Err(Problem::new(Code::NoManifest, format!("{} {what}", fs.display(dir)))
                .help("point rollcall at a manifest directory (one with a rollcall.yaml), or bootstrap one with `rollcall import --out DIR`")
                .into());
        }
        Err(e) => return Err(Problem::new(Code::Io, format!("cannot read {shown}: {e}")).into()),
    };
    let root = diag::source(&shown, text);
    let raw: RawManifest = yaml::parse(&root).map_err(Problems::from)?;
    Checker { root: &root, problems: Problems::default(), warnings: Vec::new(), on_target }.check(fs, dir, raw)
}

struct Checker<'a, 'w> {
    root: &'a Source,
    problems: Problems,
    warnings: Vec<Problem>,
    on_target: Option<&'w mut dyn FnMut(&TargetConfig)>,
}

impl Checker<'_, '_> {
    fn at<T>(
        &mut self,
        code: Code,
        message: impl Into<String>,
        value: &Spanned<T>,
        label: impl Into<String>,
    ) -> &mut Problem {
        let mut p = Problem::new(code, message);
        if has_span(value) {
            p = p.at(self.root, span(value), label);
        }
        self.problems.push(p);
        self.problems.0.last_mut().expect("just pushed")
    }

    fn check(mut self, fs: &dyn ManifestFs, dir: &Path, raw: RawManifest) -> Result<Manifest, Problems> {
        self.version(&raw);
        let target = self.target(&raw.target);
        if let (Some(t), Some(on_target)) = (&target, self.on_target.take()) {
            on_target(t);
        }
        let scope = raw.scope.as_ref().map(|s| self.scope(s));
        let directory = directory::load_from(fs, dir, &raw.directory, self.root, &mut self.problems);
        let scoping = self.scoping(&raw, &directory);
        let roles = self.roles(&raw, target.as_ref().map(|t| t.kind));
        let mappings = self.mappings(&raw, &directory, target.as_ref().map(|t| t.kind));
        let matching = self.matching(&raw, &mappings, target.as_ref().map(|t| t.kind));
        self.unique_on_matching(&raw, &mappings, &matching);
        self.redacted_identity(&raw, &mappings, &matching, target.as_ref().map(|t| t.kind));
        self.groups(&directory);
        let assignments = self.assignments(&raw, &roles, &directory);
        let policy = self.policy(&raw);
        let manifest = Manifest {
            dir: dir.to_path_buf(),
            root: self.root.clone(),
            target: target.unwrap_or(TargetConfig {
                kind: TargetKind::File,
                path: None,
                account_key: None,
                api_url: None,
                token_url: None,
                url: None,
                requests_per_second: 10.0,
            }),
            scope,
            scoping,
            matching,
            roles,
            mappings,
            assignments,
            policy,
            directory,
            warnings: std::mem::take(&mut self.warnings),
        };
        self.problems.into_result(manifest)
    }

    fn version(&mut self, raw: &RawManifest) {
        match &raw.version {
            None => {
                // Point at the first key: the comment lines above it are not the manifest.
                let text: &str = self.root.inner();
                let mut offset = 0;
                let mut first_key = (0, 0);
                for line in text.split_inclusive('\n') {
                    let content = line.trim_end();
                    if !content.is_empty() && !content.trim_start().starts_with('#') && content != "---" {
                        first_key = (offset, content.find(':').unwrap_or(content.len()));
                        break;
                    }
                    offset += line.len();
                }
                self.problems.push(
                    Problem::new(Code::MissingKey, "missing key `version`")
                        .at(self.root, first_key, "`version: 1` belongs above this")
                        .help("add `version: 1` as the first key of rollcall.yaml"),
                );
            }
            Some(v) if v.value != 1 => {
                self.at(
                    Code::UnsupportedVersion,
                    format!("manifest version {} is not supported", v.value),
                    v,
                    "unsupported version",
                )
                .help = Some("this rollcall reads `version: 1`".into());
            }
            Some(_) => {}
        }
    }

    fn target(&mut self, raw: &crate::manifest::RawTarget) -> Option<TargetConfig> {
        let kind = match raw.kind.value.as_str() {
            "file" => TargetKind::File,
            "goto" => TargetKind::Goto,
            "scim" => TargetKind::Scim,
            other => {
                let help = did_you_mean(other, TargetKind::NAMES)
                    .unwrap_or_else(|| format!("use one of: {}", TargetKind::NAMES.join(", ")));
                self.at(
                    Code::UnknownTargetKind,
                    format!("unknown target kind `{other}`"),
                    &raw.kind,
                    "not a target kind",
                )
                .help = Some(help);
                return None;
            }
        };
        let allowed: &[&str] = match kind {
            TargetKind::File => &["path"],
            TargetKind::Goto => &["account_key", "api_url", "token_url", "requests_per_second"],
            TargetKind::Scim => &["url", "requests_per_second"],
        };
        let present: [(&str, Option<(miette::SourceSpan, bool)>); 6] = [
            ("path", raw.path.as_ref().map(|v| (span(v), has_span(v)))),
            ("account_key", raw.account_key.as_ref().map(|v| (span(v), has_span(v)))),
            ("api_url", raw.api_url.as_ref().map(|v| (span(v), has_span(v)))),
            ("token_url", raw.token_url.as_ref().map(|v| (span(v), has_span(v)))),
            ("url", raw.url.as_ref().map(|v| (span(v), has_span(v)))),
            ("requests_per_second", raw.requests_per_second.as_ref().map(|v| (span(v), has_span(v)))),
        ];
        for (key, at) in present {
            if let Some((sp, true)) = at
                && !allowed.contains(&key)
            {
                self.problems.push(
                    Problem::new(Code::TargetKey, format!("`{key}` does not apply to a {} target", kind.as_str()))
                        .at(self.root, sp, "not used by this kind of target")
                        .help(format!("a {} target takes: {}", kind.as_str(), allowed.join(", "))),
                );
            }
        }
        let required = match kind {
            TargetKind::File => raw.path.is_none().then_some("path"),
            TargetKind::Scim => raw.url.is_none().then_some("url"),
            TargetKind::Goto => None,
        };
        if let Some(key) = required {
            self.at(Code::TargetKey, format!("a {} target needs `{key}`", kind.as_str()), &raw.kind, "this target")
                .help = Some(match kind {
                TargetKind::File => {
                    "add `path: live.json`, the snapshot file, relative to the manifest directory".into()
                }
                _ => "add `url: https://...`, the SCIM 2.0 base URL (or set ROLLCALL_SCIM_URL)".into(),
            });
        }
        for url in [&raw.api_url, &raw.token_url, &raw.url].into_iter().flatten() {
            self.url(url);
        }
        // At least 0.1 (the schema's minimum): a rate near zero would space requests by
        // years (and below about 1e-19 overflows a Duration).
        if let Some(rps) = &raw.requests_per_second
            && !(rps.value >= 0.1 && rps.value.is_finite())
        {
            self.at(Code::WrongType, "requests_per_second must be a number of at least 0.1", rps, "not a rate").help =
                Some("GoTo documents 10 requests per second; leave it out to use that".into());
        }
        Some(TargetConfig {
            kind,
            path: raw.path.as_ref().map(|v| v.value.clone()),
            account_key: raw.account_key.as_ref().map(|v| v.value.0.clone()),
            api_url: raw.api_url.as_ref().map(|v| v.value.clone()),
            token_url: raw.token_url.as_ref().map(|v| v.value.clone()),
            url: raw.url.as_ref().map(|v| v.value.clone()),
            requests_per_second: raw.requests_per_second.as_ref().map_or(10.0, |v| v.value),
        })
    }

    fn url(&mut self, value: &Spanned<String>) {
        match check_url(&value.value) {
            Ok(()) => {}
            Err(UrlProblem::Invalid(e)) => {
                self.at(Code::InvalidUrl, format!("`{}` is not a URL: {e}", value.value), value, "invalid URL").help =
                    Some("write a full URL such as https://api.getgo.com/admin/rest/v1".into());
            }
            Err(UrlProblem::Insecure(host)) => {
                self.at(Code::InsecureUrl, format!("refusing plain http:// to {host}"), value, "credentials would travel unencrypted")
                    .help = Some("use https://; http:// is accepted only for loopback hosts (localhost, 127.0.0.1, ::1), e.g. an emulator".into());
            }
        }
    }

    fn scope(&mut self, raw: &crate::manifest::RawScope) -> Scope {
        let mut scope = Scope::default();
        for d in &raw.domains {
            let domain = d.value.trim().to_lowercase();
            if !is_domain(&domain) {
                self.at(Code::InvalidDomain, format!("`{}` is not a domain name", d.value), d, "not a domain").help =
                    Some(if domain.contains('@') {
                        "scope.domains takes domains (acme.example), not email addresses".into()
                    } else {
                        "write an exact domain such as acme.example (list subdomains separately; no wildcards)".into()
                    });
            }
            scope.domains.push(domain);
        }
        for e in &raw.exclude {
            self.email(e, "scope.exclude");
            scope.exclude.push(e.value.trim().to_lowercase());
        }
        scope
    }

    fn email(&mut self, value: &Spanned<String>, what: &str) {
        if !is_email(value.value.trim()) {
            self.at(Code::InvalidEmail, format!("`{}` is not an email address", value.value), value, "not an email")
                .help = Some(format!("{what} takes email addresses such as someone@acme.example"));
        }
    }

    fn scoping(&mut self, raw: &RawManifest, directory: &Directory) -> Vec<Vec<Clause>> {
        let mut filters = Vec::new();
        for filter in &raw.scoping {
            let mut clauses = Vec::new();
            for c in &filter.0 {
                self.known_attribute(&c.attribute.value, directory, || (span(&c.attribute), has_span(&c.attribute)));
                let Some(op) = ScopingOp::parse(&c.op.value) else {
                    let names: Vec<&str> = ScopingOp::ALL.iter().map(|o| o.as_str()).collect();
                    let help = did_you_mean(&c.op.value, names.iter().copied())
                        .unwrap_or_else(|| format!("use one of: {}", names.join(", ")));
                    self.at(
                        Code::UnknownOperator,
                        format!("unknown scoping operator `{}`", c.op.value),
                        &c.op,
                        "not an operator",
                    )
                    .help = Some(help);
                    continue;
                };
                let value = match (op.operand(), &c.value) {
                    (crate::manifest::Operand::None, None) => ClauseValue::None,
                    (crate::manifest::Operand::None, Some(v)) => {
                        self.at(
                            Code::ScopingValue,
                            format!("`{}` takes no value", op.as_str()),
                            v,
                            "remove this value",
                        );
                        continue;
                    }
                    (_, None) => {
                        self.at(
                            Code::ScopingValue,
                            format!("`{}` needs a value", op.as_str()),
                            &c.op,
                            "compared with what?",
                        )
                        .help = Some(match op.operand() {
                            crate::manifest::Operand::List => "add `value: [a, b]`".into(),
                            _ => "add `value: ...`".into(),
                        });
                        continue;
                    }
                    (crate::manifest::Operand::List, Some(v)) => match &v.value {
                        ScalarOrList::List(items) => ClauseValue::List(items.clone()),
                        ScalarOrList::Scalar(s) => ClauseValue::List(vec![s.clone()]),
                    },
                    (crate::manifest::Operand::One, Some(v)) => match &v.value {
                        ScalarOrList::List(_) => {
                            self.at(
                                Code::ScopingValue,
                                format!("`{}` takes one value, not a list", op.as_str()),
                                v,
                                "a list",
                            )
                            .help = Some("use `in` / `not_in` to compare with several values".into());
                            continue;
                        }
                        ScalarOrList::Scalar(s) if matches!(op, ScopingOp::Matches | ScopingOp::NotMatches) => {
                            match Regex::new(s) {
                                Ok(re) => ClauseValue::Regex(re),
                                Err(e) => {
                                    let msg = e.to_string();
                                    let last = msg.lines().last().unwrap_or("").trim();
                                    let last = last.strip_prefix("error: ").unwrap_or(last).to_owned();
                                    self.at(Code::InvalidRegex, format!("invalid regular expression: {last}"), v, "does not compile")
                                        .help = Some("the syntax is Rust's regex crate (like .NET's without look-around); escape literal characters with \\".into());
                                    continue;
                                }
                            }
                        }
                        ScalarOrList::Scalar(s) => ClauseValue::One(s.clone()),
                    },
                };
                clauses.push(Clause { attribute: c.attribute.value.clone(), op, value });
            }
            filters.push(clauses);
        }
        filters
    }

    fn known_attribute(
        &mut self,
        name: &str,
        directory: &Directory,
        at: impl FnOnce() -> (miette::SourceSpan, bool),
    ) -> bool {
        // With no people at all, every name would be unknown: say nothing rather than nonsense.
        if directory.people.is_empty() || directory.attribute_names.contains(name) {
            return true;
        }
        let (sp, ok) = at();
        let mut p = Problem::new(Code::UnknownAttribute, format!("no directory record has the attribute `{name}`"));
        if ok {
            p = p.at(self.root, sp, "unknown attribute");
        }
        let help = did_you_mean(name, directory.attribute_names.iter().map(String::as_str)).unwrap_or_else(|| {
            "attribute names are case-sensitive and must appear in at least one directory record".into()
        });
        self.problems.push(p.help(help));
        false
    }

    fn roles(&mut self, raw: &RawManifest, kind: Option<TargetKind>) -> BTreeMap<String, Role> {
        let mut roles = BTreeMap::new();
        for (name, r) in &raw.roles.0 {
            if is_default_access(&name.value) {
                self.at(Code::DefaultAccessRole, "`Default Access` cannot be a role", name, "Entra's placeholder role").help =
                    Some("name the role after what it grants (e.g. organizer); the Entra GoToMeeting connector rejected Default Access too".into());
            }
            let grants_nothing = match kind {
                // A SCIM service may have no roles at all: a role may give only the account.
                Some(TargetKind::Scim) => false,
                Some(_) => r.licenses.is_empty() && r.admin_roles.is_empty(),
                None => false,
            };
            if grants_nothing {
                self.at(Code::EmptyRole, format!("role `{}` grants nothing", name.value), name, "empty role").help =
                    Some(match kind {
                        Some(TargetKind::Scim) => unreachable!("a scim role may grant only the account"),
                        _ => "list the `licenses` (and optionally `admin_roles`) that people with this role get".into(),
                    });
            }
            let licenses = r.licenses.iter().map(|l| (l.value.0.clone(), Origin::new(self.root, span(l)))).collect();
            roles.insert(
                name.value.clone(),
                Role {
                    name: name.value.clone(),
                    licenses,
                    admin_roles: r.admin_roles.iter().map(|a| a.value.clone()).collect(),
                    scim_roles: r.scim_roles.iter().map(|a| a.value.clone()).collect(),
                },
            );
        }
        roles
    }

    fn mappings(&mut self, raw: &RawManifest, directory: &Directory, kind: Option<TargetKind>) -> Vec<Mapping> {
        let known = kind.unwrap_or(TargetKind::Goto).attributes();
        let mut mappings = Vec::new();
        for (attr, m) in &raw.mappings.0 {
            if !known.contains(&attr.value.as_str()) {
                let help = did_you_mean(&attr.value, known.iter().copied()).unwrap_or_else(|| {
                    format!("a {} target has: {}", kind.map_or("goto", |k| k.as_str()), known.join(", "))
                });
                self.at(
                    Code::UnknownTargetAttribute,
                    format!("the target has no attribute `{}`", attr.value),
                    attr,
                    "unknown target attribute",
                )
                .help = Some(help);
            }
            let value = match (&m.from, &m.constant) {
                (Some(_), Some(c)) => {
                    self.at(
                        Code::MappingShape,
                        format!("mapping `{}` has both `from` and `constant`", attr.value),
                        c,
                        "second source",
                    )
                    .help = Some("keep `from:` for an expression or `constant:` for a fixed value, not both".into());
                    continue;
                }
                (None, None) => {
                    self.at(
                        Code::MappingShape,
                        format!("mapping `{}` has neither `from` nor `constant`", attr.value),
                        attr,
                        "no source",
                    )
                    .help = Some("add `from: \"[attribute]\"` or `constant: value`".into());
                    continue;
                }
                (None, Some(c)) => MappingValue::Constant(c.value.0.clone()),
                (Some(from), None) => match self.expression(from, directory) {
                    Some(e) => MappingValue::Expr(e),
                    None => continue,
                },
            };
            mappings.push(Mapping {
                attribute: attr.value.clone(),
                value,
                apply: m.apply,
                default: m.default.as_ref().map(|d| d.value.0.clone()),
            });
        }
        let email_attr = kind.unwrap_or(TargetKind::Goto).identity_attribute();
        if kind.is_some() && !raw.mappings.0.iter().any(|(a, _)| a.value == email_attr) {
            let top = self.root.inner().find("mappings:").map_or((0, 0), |i| (i, "mappings".len()));
            self.problems.push(
                Problem::new(Code::MissingEmailMapping, format!("no mapping produces `{email_attr}`"))
                    .at(self.root, top, "mappings")
                    .help(format!("add e.g. `{email_attr}: {{ from: \"ToLower([userPrincipalName])\" }}`")),
            );
        }
        mappings
    }

    fn expression(&mut self, from: &Spanned<String>, directory: &Directory) -> Option<Expr> {
        let offsets = scalar_offsets(self.root, from);
        match Expr::parse(&from.value) {
            Err(errors) => {
                for e in errors {
                    let code = match e.code {
                        ExprErrorCode::Syntax => Code::ExpressionSyntax,
                        ExprErrorCode::UnknownFunction => Code::UnknownFunction,
                        ExprErrorCode::ArgumentCount => Code::ArgumentCount,
                        ExprErrorCode::Placement => Code::UniqueValuePlacement,
                    };
                    let mut p =
                        Problem::new(code, e.message.clone()).at(self.root, offsets.span(e.span.clone()), e.message);
                    if let Some(h) = e.help {
                        p = p.help(h);
                    }
                    self.problems.push(p);
                }
                None
            }
            Ok(expr) => {
                let mut ok = true;
                for (name, range) in expr.references() {
                    ok &= self.known_attribute(name, directory, || (offsets.span(range), true));
                }
                ok.then_some(expr)
            }
        }
    }

    fn matching(&mut self, raw: &RawManifest, mappings: &[Mapping], kind: Option<TargetKind>) -> Vec<String> {
        let Some(list) = &raw.matching else {
            return vec![kind.unwrap_or(TargetKind::Goto).identity_attribute().into()];
        };
        if list.value.is_empty() {
            self.at(Code::UnmappedMatching, "matching is empty", list, "no attributes").help =
                Some("list at least one attribute, e.g. `matching: [email]`".into());
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for m in &list.value {
            if !seen.insert(m.value.as_str()) {
                self.at(Code::DuplicateMatching, format!("`{}` is listed twice", m.value), m, "again").help =
                    Some("each attribute may appear once in matching".into());
                continue;
            }
            let keyed = m.value == "key" && kind != Some(TargetKind::Scim);
            // A mapping whose expression is wrong is reported there; it still produces the attribute.
            if !keyed && !raw.mappings.0.iter().any(|(a, _)| a.value == m.value) {
                let mapped: Vec<&str> = mappings.iter().map(|x| x.attribute.as_str()).collect();
                let help = did_you_mean(&m.value, mapped.iter().copied()).unwrap_or_else(|| {
                    format!("match on an attribute that a mapping produces ({}) or on `key`", mapped.join(", "))
                });
                self.at(
                    Code::UnmappedMatching,
                    format!("no mapping produces `{}`", m.value),
                    m,
                    "cannot match on this",
                )
                .help = Some(help);
            }
            out.push(m.value.clone());
        }
        let last_resort = if kind == Some(TargetKind::Scim) { "userName" } else { "email" };
        if let Some(last) = list.value.last()
            && out.last().is_some_and(|l| l != last_resort)
            && out != ["key"]
            && !mappings.iter().any(|x| x.attribute == last_resort && x.selects_unique())
        {
            // Someone whose other attributes changed would be planned as a new account.
            let (line, col) = crate::diag::line_col(self.root.inner(), span(last).offset());
            self.warnings.push(
                Problem::new(
                    Code::MatchingFallback,
                    format!(
                        "matching does not end with `{last_resort}` ({}:{line}:{col}): a person whose `{}` changed would be planned as a new account",
                        self.root.name(),
                        last.value
                    ),
                )
                .at(self.root, span(last), format!("no `{last_resort}` after this"))
                .help(format!("end the list with `{last_resort}`, e.g. `matching: [{}, {last_resort}]`", out.join(", "))),
            );
        }
        if out == ["key"] {
            // A new hire has no GoTo key yet: they would be created on every plan, and their
            // account, matching nobody, disabled.
            let key = list.value.iter().find(|m| m.value == "key").unwrap_or(&list.value[0]);
            self.at(Code::UnmappedMatching, "matching on `key` alone", key, "people without a key could never match")
                .help = Some("put the email after it, e.g. `matching: [key, email]`".into());
        }
        out
    }

    /// As in Entra, `SelectUniqueValue` may not make a matching attribute: the value it
    /// picks depends on who holds what, so the person could never be found again by it.
    fn unique_on_matching(&mut self, raw: &RawManifest, mappings: &[Mapping], matching: &[String]) {
        for mapping in mappings.iter().filter(|m| matching.contains(&m.attribute)) {
            let MappingValue::Expr(e) = &mapping.value else { continue };
            let Some(from) =
                raw.mappings.0.iter().find(|(a, _)| a.value == mapping.attribute).and_then(|(_, m)| m.from.as_ref())
            else {
                continue;
            };
            if e.selects_unique() {
                let how = if raw.matching.is_some() { "listed in `matching`" } else { "matched on by default" };
                self.at(
                    Code::UniqueValuePlacement,
                    format!("`{}` is {how}, so it cannot be made by SelectUniqueValue", mapping.attribute),
                    from,
                    "SelectUniqueValue on a matching attribute",
                )
                .help = Some(format!(
                    "match on an attribute that stays the same for the person (e.g. `matching: [externalId]` with `externalId: {{ from: \"[objectId]\" }}`), or compute `{}` without SelectUniqueValue",
                    mapping.attribute
                ));
            }
        }
    }

    /// Every plan, report and log line names an account by its identity, and `explain`
    /// shows how it matched: those values cannot be masked, so `Redact` may not make them.
    fn redacted_identity(
        &mut self,
        raw: &RawManifest,
        mappings: &[Mapping],
        matching: &[String],
        kind: Option<TargetKind>,
    ) {
        let identity = kind.unwrap_or(TargetKind::Goto).identity_attribute();
        for mapping in mappings.iter().filter(|m| m.attribute == identity || matching.contains(&m.attribute)) {
            let MappingValue::Expr(e) = &mapping.value else { continue };
            let Some(from) =
                raw.mappings.0.iter().find(|(a, _)| a.value == mapping.attribute).and_then(|(_, m)| m.from.as_ref())
            else {
                continue;
            };
            if e.is_secret() {
                self.at(
                    Code::RedactedIdentity,
                    format!("`{}` names or matches the account, so it cannot be redacted", mapping.attribute),
                    from,
                    "Redact here",
                )
                .help = Some("every plan and log names the account by it: redact other attributes only".into());
            }
        }
    }

    fn groups(&mut self, directory: &Directory) {
        for (at, g) in directory.groups.iter().enumerate() {
            for ((member, origin), person) in g.members.iter().zip(directory.member_people(at)) {
                if person.is_none() {
                    self.problems.push(
                        Problem::new(
                            Code::UnknownUser,
                            format!("group `{}` lists `{member}`, who is not in the directory", g.name),
                        )
                        .at(&origin.source, origin.span, "unknown person")
                        .help("add the person to a directory source, or remove them from the group"),
                    );
                }
            }
            for (nested, origin) in &g.groups {
                if directory.group(nested).is_none() {
                    let help = did_you_mean(nested, directory.group_names())
                        .unwrap_or_else(|| "define the group in a directory file, or remove the reference".into());
                    self.problems.push(
                        Problem::new(
                            Code::UnknownGroup,
                            format!("group `{}` nests `{nested}`, which no directory source defines", g.name),
                        )
                        .at(&origin.source, origin.span, "unknown group")
                        .help(help),
                    );
                }
            }
        }
        // Cycles: depth-first, reporting each cycle once, at the reference that closes it.
        let mut state: HashMap<&str, u8> = HashMap::new(); // 1 = on the path, 2 = done
        let mut reported: HashSet<Vec<String>> = HashSet::new();
        for g in &directory.groups {
            let mut path = Vec::new();
            self.visit(directory, g.name.as_str(), &mut state, &mut path, &mut reported);
        }
    }

    fn visit<'d>(
        &mut self,
        directory: &'d Directory,
        name: &'d str,
        state: &mut HashMap<&'d str, u8>,
        path: &mut Vec<&'d str>,
        reported: &mut HashSet<Vec<String>>,
    ) {
        if state.get(name) == Some(&2) {
            return;
        }
        let Some(group) = directory.group(name) else { return };
        state.insert(name, 1);
        path.push(name);
        for (nested, origin) in &group.groups {
            match state.get(nested.as_str()) {
                Some(1) => {
                    let start = path.iter().position(|p| p == nested).unwrap_or(0);
                    let mut cycle: Vec<String> = path[start..].iter().map(|s| s.to_string()).collect();
                    let mut key = cycle.clone();
                    key.sort();
                    if reported.insert(key) {
                        cycle.push(nested.clone());
                        self.problems.push(
                            Problem::new(Code::GroupCycle, format!("groups contain each other: {}", cycle.join(" -> ")))
                                .at(&origin.source, origin.span, "this nesting closes the cycle")
                                .help("a group cannot contain itself, directly or through other groups; remove one of the nestings"),
                        );
                    }
                }
                Some(_) => {}
                None => {
                    if let Some(g) = directory.group(nested) {
                        self.visit(directory, g.name.as_str(), state, path, reported);
                    }
                }
            }
        }
        path.pop();
        state.insert(name, 2);
    }

    fn assignments(
        &mut self,
        raw: &RawManifest,
        roles: &BTreeMap<String, Role>,
        directory: &Directory,
    ) -> Vec<Assignment> {
        let mut out = Vec::new();
        for a in &raw.assignments {
            let mut ok = true;
            if is_default_access(&a.role.value) {
                self.at(Code::DefaultAccessRole, "`Default Access` is not a role rollcall can assign", &a.role, "Entra's placeholder role")
                    .help = Some("assign a role declared under `roles:` (the Entra GoToMeeting connector rejected Default Access too)".into());
                ok = false;
            } else if !roles.contains_key(&a.role.value) {
                let help = did_you_mean(&a.role.value, roles.keys().map(String::as_str)).unwrap_or_else(|| {
                    if roles.is_empty() {
                        "declare the role under `roles:`".into()
                    } else {
                        format!(
                            "declare it under `roles:`, or use one of: {}",
                            roles.keys().cloned().collect::<Vec<_>>().join(", ")
                        )
                    }
                });
                self.at(
                    Code::UnknownRole,
                    format!("role `{}` is not declared", a.role.value),
                    &a.role,
                    "undeclared role",
                )
                .help = Some(help);
                ok = false;
            }
            let who = if let Some(s) = &a.source {
                self.source_assignee(raw, a, s)
            } else {
                match (&a.user, &a.group) {
                    (Some(u), None) => match directory.person(&u.value) {
                        Some(i) => Some(Assignee::User(i)),
                        None => {
                            if !is_email(u.value.trim()) {
                                self.email(u, "`user:`");
                            } else {
                                self.at(Code::UnknownUser, format!("`{}` is not in the directory", u.value), u, "unknown person").help =
                                Some("people are named by userPrincipalName or mail, as in a directory source; add them there first".into());
                            }
                            None
                        }
                    },
                    (None, Some(g)) => match directory.group(&g.value) {
                        Some(_) => Some(Assignee::Group(g.value.clone())),
                        None => {
                            let help = did_you_mean(&g.value, directory.group_names())
                            .unwrap_or_else(|| "define the group in a directory source (groups: in YAML, or an entra-group-members export)".into());
                            self.at(
                                Code::UnknownGroup,
                                format!("group `{}` is not defined", g.value),
                                g,
                                "unknown group",
                            )
                            .help = Some(help);
                            None
                        }
                    },
                    (Some(u), Some(_)) => {
                        self.at(
                            Code::AssignmentShape,
                            "an assignment names both `user` and `group`",
                            u,
                            "one or the other",
                        )
                        .help = Some("split it into two assignments".into());
                        None
                    }
                    (None, None) => {
                        self.at(
                            Code::AssignmentShape,
                            "an assignment names neither `user` nor `group`",
                            &a.role,
                            "assigned to whom?",
                        )
                        .help = Some(
                            "add `user: someone@acme.example`, `group: name` or `source: path/of/a/directory/source`"
                                .into(),
                        );
                        None
                    }
                }
            };
            if let (Some(who), true) = (who, ok) {
                out.push(Assignment { who, role: a.role.value.clone() });
            }
        }
        out
    }

    /// `{ source: PATH, role: R }`: everyone from the directory entry whose path is PATH.
    fn source_assignee(
        &mut self,
        raw: &RawManifest,
        a: &crate::manifest::RawAssignment,
        s: &Spanned<String>,
    ) -> Option<Assignee> {
        if let Some(other) = a.user.as_ref().or(a.group.as_ref()) {
            self.at(
                Code::AssignmentShape,
                "an assignment names `source` and a `user` or `group`",
                other,
                "one or the other",
            )
            .help = Some("split it into two assignments".into());
            return None;
        }
        match raw.directory.iter().position(|d| d.path.value == s.value) {
            Some(i) => Some(Assignee::Source(i, s.value.clone())),
            None => {
                let paths: Vec<&str> = raw.directory.iter().map(|d| d.path.value.as_str()).collect();
                let help = did_you_mean(&s.value, paths.iter().copied()).unwrap_or_else(|| {
                    format!("name a `directory:` entry by its path as written there: {}", paths.join(", "))
                });
                self.at(
                    Code::UnknownSource,
                    format!("`{}` is not a directory source of this manifest", s.value),
                    s,
                    "no such directory entry",
                )
                .help = Some(help);
                None
            }
        }
    }

    fn policy(&mut self, raw: &RawManifest) -> Policy {
        let p = &raw.policy;
        let mut percent = DEFAULT_MAX_REMOVALS_PERCENT;
        let mut count = DEFAULT_MAX_REMOVALS_COUNT;
        let mut min_accounts = DEFAULT_MAX_REMOVALS_MIN_ACCOUNTS;
        if let Some(m) = &p.max_removals {
            if let Some(n) = m.min_accounts {
                min_accounts = n;
            }
            if let Some(c) = m.count {
                count = c;
            }
            if let Some(pc) = &m.percent {
                if !(0.0..=100.0).contains(&pc.value) {
                    self.at(
                        Code::InvalidThreshold,
                        format!("max_removals.percent is {}, outside 0..100", pc.value),
                        pc,
                        "not a percentage",
                    )
                    .help = Some("give a percentage of the in-scope accounts, between 0 and 100 (default 20)".into());
                }
                percent = pc.value;
            }
        }
        for e in &p.protect {
            self.email(e, "policy.protect");
        }
        Policy {
            on_unassign: p.on_unassign,
            max_removals_count: count,
            max_removals_percent: percent,
            max_removals_min_accounts: min_accounts,
            protect: p.protect.iter().map(|e| e.value.trim().to_lowercase()).collect(),
            welcome_email: p.welcome_email,
        }
    }
}

fn is_default_access(role: &str) -> bool {
    role.trim().eq_ignore_ascii_case("default access") || role.trim().eq_ignore_ascii_case("default_access")
}

pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty() && !local.contains(char::is_whitespace) && is_domain(&domain.to_lowercase())
}

/// A desired email that can be shown and sent safely: exactly one `@` with text on both sides,
/// and no whitespace, control or bidirectional characters, backticks, angle brackets or
/// double quotes (an apostrophe, as in o'neil@, is a real address).
pub fn is_plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && s.len() <= 320
        && !s
            .chars()
            .any(|c| c.is_whitespace() || crate::printable::is_unsafe_char(c) || matches!(c, '`' | '<' | '>' | '"'))
}

pub fn is_domain(s: &str) -> bool {
    s.len() <= 253
        && s.contains('.')
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii() && c.is_alphanumeric())
        })
}

pub enum UrlProblem {
    Invalid(String),
    Insecure(String),
}

/// https:// anywhere; http:// only to a loopback host.
pub fn check_url(s: &str) -> Result<(), UrlProblem> {
    let url = url::Url::parse(s).map_err(|e| UrlProblem::Invalid(e.to_string()))?;
    let host = url.host_str().ok_or_else(|| UrlProblem::Invalid("no host".into()))?.to_owned();
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&host) => Ok(()),
        "http" => Err(UrlProblem::Insecure(host)),
        other => Err(UrlProblem::Invalid(format!("scheme `{other}` (use https://)"))),
    }
}

pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_domains() {
        assert!(is_email("alice@acme.example"));
        assert!(!is_email("alice"));
        assert!(!is_email("@acme.example"));
        assert!(!is_email("a b@acme.example"));
        assert!(is_domain("acme.example"));
        assert!(!is_domain("*.acme.example"));
        assert!(!is_domain("acme"));
        assert!(!is_domain("-acme.example"));
    }

    #[test]
    fn loopback_http_only() {
        assert!(check_url("http://127.0.0.1:8080/admin").is_ok());
        assert!(check_url("http://localhost/x").is_ok());
        assert!(check_url("http://[::1]:9/x").is_ok());
        assert!(matches!(check_url("http://api.getgo.com/x"), Err(UrlProblem::Insecure(_))));
        assert!(check_url("https://api.getgo.com/admin/rest/v1").is_ok());
        assert!(matches!(check_url("ftp://x.example"), Err(UrlProblem::Invalid(_))));
    }
}
