//! Diagnostics: every problem rollcall reports about its input, with a stable code,
//! the place in the file and what to do about it.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};

/// A loaded text file that diagnostics point into. The text is the one read (a `String`, not
/// an `Arc<str>`, which would copy it: a 16 MB directory file is 16 MB more to allocate).
pub type Source = Arc<NamedSource<String>>;

pub fn source(name: impl AsRef<str>, text: impl Into<String>) -> Source {
    Arc::new(NamedSource::new(name, text.into()).with_language("yaml"))
}

macro_rules! codes {
    ($($variant:ident => $code:literal : $doc:literal,)*) => {
        /// Stable diagnostic codes. Users grep for them and scripts match on them: never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $(#[doc = $doc] $variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }
            pub fn description(self) -> &'static str {
                match self { $(Code::$variant => $doc,)* }
            }
            /// The code spelled `s` (`rollcall::…`), if there is one.
            pub fn parse(s: &str) -> Option<Code> {
                Code::ALL.iter().copied().find(|c| c.as_str() == s)
            }
        }

        /// Codes travel in plan files as their stable spelling.
        impl serde::Serialize for Code {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for Code {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Code, D::Error> {
                let s = String::deserialize(d)?;
                Code::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown diagnostic code `{s}`")))
            }
        }
    };
}

codes! {
    Io => "rollcall::io": "a file or directory could not be read or written",
    NoManifest => "rollcall::no-manifest": "the manifest directory has no rollcall.yaml",
    YamlSyntax => "rollcall::yaml-syntax": "the file is not valid YAML",
    DuplicateKey => "rollcall::duplicate-key": "a mapping has the same key twice",
    UnknownKey => "rollcall::unknown-key": "a key that rollcall does not know",
    WrongType => "rollcall::wrong-type": "a value of the wrong type",
    MissingKey => "rollcall::missing-key": "a required key is absent",
    UnsupportedVersion => "rollcall::unsupported-version": "the manifest version is not one this rollcall reads",
    UnknownTargetKind => "rollcall::unknown-target-kind": "target.kind is not file, goto or scim",
    TargetKey => "rollcall::target-key": "a target key that does not belong to this kind of target, or one that is missing",
    CredentialInManifest => "rollcall::credential-in-manifest": "a secret written into a manifest instead of the environment",
    InsecureUrl => "rollcall::insecure-url": "an http:// URL to a host that is not loopback",
    InvalidUrl => "rollcall::invalid-url": "a URL that cannot be parsed",
    UnknownRole => "rollcall::unknown-role": "an assignment names a role that roles: does not declare",
    DefaultAccessRole => "rollcall::default-access-role": "the Entra role Default Access is not a GoToMeeting role",
    EmptyRole => "rollcall::empty-role": "a role that grants nothing for its target",
    UnknownGroup => "rollcall::unknown-group": "a group that no directory source defines",
    UnknownUser => "rollcall::unknown-user": "a person that no directory source defines",
    UnknownSource => "rollcall::unknown-source": "an assignment names a directory source that directory: does not list",
    GroupCycle => "rollcall::group-cycle": "groups that contain each other",
    DuplicateGroup => "rollcall::duplicate-group": "the same group defined twice",
    DuplicateUser => "rollcall::duplicate-user": "the same person in two directory records",
    MissingIdentity => "rollcall::missing-identity": "a directory record with neither userPrincipalName nor mail",
    AssignmentShape => "rollcall::assignment-shape": "an assignment needs exactly one of user: or group:",
    MappingShape => "rollcall::mapping-shape": "a mapping needs exactly one of from: or constant:",
    UnknownTargetAttribute => "rollcall::unknown-target-attribute": "a mapping to an attribute the target does not have",
    MissingEmailMapping => "rollcall::missing-email-mapping": "no mapping produces the account email",
    UnmappedMatching => "rollcall::unmapped-matching": "matching on an attribute that no mapping produces",
    DuplicateMatching => "rollcall::duplicate-matching": "the same matching attribute listed twice",
    InvalidEmail => "rollcall::invalid-email": "a value that is not an email address",
    InvalidDomain => "rollcall::invalid-domain": "a scope domain that is not a domain name",
    EmailOutOfScope => "rollcall::email-out-of-scope": "a desired account whose email is outside scope.domains",
    UnknownOperator => "rollcall::unknown-operator": "a scoping clause with an op rollcall does not know",
    ScopingValue => "rollcall::scoping-value": "a scoping clause whose value is missing, superfluous or of the wrong type",
    InvalidRegex => "rollcall::invalid-regex": "a regular expression that does not compile",
    InvalidThreshold => "rollcall::invalid-threshold": "max_removals out of range",
    MissingDirectoryFile => "rollcall::missing-directory-file": "a directory source whose file does not exist",
    DirectoryFormat => "rollcall::directory-format": "a directory source with an unknown format or missing keys",
    CsvRow => "rollcall::csv-row": "a CSV row that does not fit the header",
    MalformedJson => "rollcall::malformed-json": "a JSON directory export that cannot be read",
    ExpressionSyntax => "rollcall::expression-syntax": "a mapping expression that does not parse",
    UnknownFunction => "rollcall::unknown-function": "a mapping expression calls a function rollcall does not have",
    ArgumentCount => "rollcall::argument-count": "a function called with the wrong number of arguments",
    UnknownAttribute => "rollcall::unknown-attribute": "an attribute that no directory record has",
    NullEmail => "rollcall::null-email": "the email mapping yields nothing for a person who must be created",
    UnknownLicense => "rollcall::unknown-license": "a role names a license the account does not have",
    AmbiguousMatch => "rollcall::ambiguous-match": "matching found two accounts for one person, or one account for two people",
    RemovalThreshold => "rollcall::removal-threshold": "the plan removes more accounts than policy allows",
    LastSuperUser => "rollcall::last-super-user": "the plan removes the last SUPER_USER",
    SeatsExceeded => "rollcall::seats-exceeded": "the plan puts more users on a license than it has seats",
    InsufficientAdminRole => "rollcall::insufficient-admin-role": "the plan needs a GoTo admin role the credential's user does not hold",
    StalePlan => "rollcall::stale-plan": "the manifests or the account changed since the plan was made",
    PlanFile => "rollcall::plan-file": "a plan file that cannot be read",
    PlanDir => "rollcall::plan-dir": "a plan applied to manifests other than the ones it was made for",
    OnlyWithPlanFile => "rollcall::only-with-plan-file": "--only given with a plan file, which keeps its own --only set",
    UnsafePath => "rollcall::unsafe-path": "a directory path that leads outside the manifest directory",
    Confirmation => "rollcall::confirmation-required": "apply needs a yes on a terminal, or --auto-approve",
    Target => "rollcall::target": "the target could not be reached, or refused a request",
    Credentials => "rollcall::credentials": "credentials missing from the environment",
    Snapshot => "rollcall::snapshot": "a file-target snapshot that cannot be read or written",
    Git => "rollcall::git": "a git repository or revision that cannot be read",
    ImportOut => "rollcall::import-out": "import was given nowhere to write, or would overwrite manifests",
    PullShape => "rollcall::pull-shape": "a directory source's pull: that is not exactly one of users: all, filter: or group:, or sits on a source it cannot fill",
    Graph => "rollcall::graph": "Microsoft Graph could not be reached, or refused a request",
    SnapshotLocked => "rollcall::snapshot-locked": "another apply is writing the file-target snapshot",
    AuditLog => "rollcall::audit-log": "the audit log cannot be opened or written",
    CreateCollides => "rollcall::create-collides": "a create whose email belongs to a live account that matching did not pair",
    MatchingFallback => "rollcall::matching-fallback": "matching has no email (or userName) as its last resort",
    InvalidBoolean => "rollcall::invalid-boolean": "a value that must be true or false and is neither",
    PartialExport => "rollcall::partial-export": "a directory export that is one page of several",
    UniqueValuePlacement => "rollcall::unique-value-placement": "SelectUniqueValue inside another call, or on a matching attribute",
    RedactedIdentity => "rollcall::redacted-identity": "Redact on the attribute that names the account, or on a matching attribute",
    UniqueValueExhausted => "rollcall::unique-value-exhausted": "every candidate of a SelectUniqueValue is held by another account",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem, pointing into a file when it can.
#[derive(Debug, Clone)]
pub struct Problem {
    pub code: Code,
    pub message: String,
    pub source: Option<Source>,
    pub labels: Vec<LabeledSpan>,
    pub help: Option<String>,
}

impl Problem {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Problem { code, message: message.into(), source: None, labels: Vec::new(), help: None }
    }

    /// Points at `span` of `source` with a label.
    pub fn at(mut self, source: &Source, span: impl Into<SourceSpan>, label: impl Into<String>) -> Self {
        self.source = Some(source.clone());
        self.labels.push(LabeledSpan::new_with_span(Some(label.into()), span));
        self
    }

    /// A second place in the same file.
    pub fn also(mut self, span: impl Into<SourceSpan>, label: impl Into<String>) -> Self {
        self.labels.push(LabeledSpan::new_with_span(Some(label.into()), span));
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// What to render: a snippet whose line is too long to read (a 10 MB value, a minified
    /// export on one line) would flood the terminal, so such a problem says where instead.
    pub fn for_display(&self) -> std::borrow::Cow<'_, Problem> {
        match self.without_unsafe_text() {
            Some(clean) => std::borrow::Cow::Owned(clean.shortened().into_owned()),
            None => self.shortened(),
        }
    }

    /// A copy whose message and snippet cannot rewrite the terminal: a hostile directory
    /// export may hold ANSI escapes or U+202E. Control and bidirectional characters in the
    /// file become `?` (or U+FFFD for three-byte ones), byte for byte, so spans stay put.
    fn without_unsafe_text(&self) -> Option<Problem> {
        let bad = |c: char| c != '\n' && c != '\t' && c != '\r' && crate::printable::is_unsafe_char(c);
        let text: Option<&str> = self.source.as_ref().map(|s| &**s.inner());
        let dirty_source = text.is_some_and(|t| t.chars().any(bad));
        if !dirty_source && !self.message.chars().any(bad) && !self.help.as_deref().unwrap_or("").chars().any(bad) {
            return None;
        }
        let keep_lines =
            |s: &str| s.split('\n').map(|l| crate::printable::escape(l).into_owned()).collect::<Vec<_>>().join("\n");
        let mut clean = self.clone();
        clean.message = keep_lines(&self.message);
        clean.help = self.help.as_deref().map(keep_lines);
        if let (true, Some(src), Some(text)) = (dirty_source, &self.source, text) {
            let mut safe = String::with_capacity(text.len());
            for c in text.chars() {
                match c.len_utf8() {
                    _ if !bad(c) => safe.push(c),
                    3 => safe.push('\u{FFFD}'),
                    n => safe.extend(std::iter::repeat_n('?', n)),
                }
            }
            clean.source = Some(source(src.name(), safe));
        }
        Some(clean)
    }

    fn shortened(&self) -> std::borrow::Cow<'_, Problem> {
        const LONGEST_LINE: usize = 1000;
        let too_long = self.source.as_ref().is_some_and(|src| {
            let text: &str = src.inner();
            self.labels.iter().any(|l| {
                let at = floor_char_boundary(text, l.offset().min(text.len()));
                let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
                end - start > LONGEST_LINE || l.len() > LONGEST_LINE
            })
        });
        if !too_long {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut short = self.clone();
        if let Some(at) = self.location() {
            short.message = format!("{} (at {at}; the line is too long to show)", short.message);
        }
        short.source = None;
        short.labels.clear();
        std::borrow::Cow::Owned(short)
    }

    /// Where the problem is, as `file:line:col`, for plain one-line output.
    pub fn location(&self) -> Option<String> {
        let src = self.source.as_ref()?;
        let span = self.labels.first()?.inner();
        let text: &str = src.inner();
        let (line, col) = line_col(text, span.offset());
        Some(format!("{}:{line}:{col}", src.name()))
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// "did you mean `x`?" when a candidate is close enough to be a likely typo.
pub fn did_you_mean<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let lower = wrong.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code.as_str()))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s.as_ref() as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() { None } else { Some(Box::new(self.labels.iter().cloned())) }
    }
}

/// Many problems, reported together.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn push(&mut self, p: Problem) {
        self.0.push(p);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Every problem is a safety block (a plan refused by policy, not an error): exit 3.
    pub fn is_block(&self) -> bool {
        !self.0.is_empty()
            && self
                .0
                .iter()
                .all(|p| matches!(p.code, Code::RemovalThreshold | Code::LastSuperUser | Code::SeatsExceeded))
    }
    /// Ok(value) when nothing was reported.
    pub fn into_result<T>(self, value: T) -> Result<T, Problems> {
        if self.0.is_empty() { Ok(value) } else { Err(self) }
    }
    /// Renders every problem without colour, as the tests and non-terminals see them.
    pub fn render_plain(&self) -> String {
        let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100)
            .with_links(false);
        let mut out = String::new();
        for p in &self.0 {
            let _ = handler.render_report(&mut out, p.for_display().as_ref());
            out.push('\n');
        }
        out
    }
}

/// Prints what validation accepts but questions to stderr, each as `warning[code]: ...`.
pub fn warn(warnings: &[Problem]) {
    for w in warnings {
        let mut text = format!("warning[{}]: {}", w.code, w.message);
        if let Some(h) = &w.help {
            text.push_str(&format!("\n  help: {h}"));
        }
        eprintln!("{text}");
    }
}

impl From<Problem> for Problems {
    fn from(p: Problem) -> Self {
        Problems(vec![p])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate diagnostic code {s}");
            let name = s.strip_prefix("rollcall::").expect("codes start with rollcall::");
            assert!(
                !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{s} is not kebab-case"
            );
            assert!(!code.description().is_empty());
        }
    }

    #[test]
    fn line_col_counts_characters() {
        let text = "a: zoë\nrole: x\n";
        assert_eq!(line_col(text, text.find("role").unwrap()), (2, 1));
        assert_eq!(line_col(text, text.find('x').unwrap()), (2, 7));
        assert_eq!(line_col(text, 6), (1, 6));
    }

    #[test]
    fn a_problem_on_a_huge_line_says_where_instead_of_showing_it() {
        let text = format!("a: 1\nb: \"{}\"\n", "x".repeat(5000));
        let src = source("big.yaml", text.clone());
        let p = Problem::new(Code::WrongType, "too big").at(&src, (text.find('"').unwrap(), 3), "here");
        let rendered = Problems(vec![p]).render_plain();
        assert!(rendered.len() < 500, "{rendered}");
        assert!(rendered.contains("too big (at big.yaml:2:4; the line is too long to show)"), "{rendered}");
        let small = Problem::new(Code::WrongType, "small").at(&source("s.yaml", "a: 1\n"), (3, 1), "here");
        assert!(Problems(vec![small]).render_plain().contains("s.yaml:1:4"));
    }

    #[test]
    fn suggestions_only_for_close_names() {
        assert_eq!(did_you_mean("organiser", ["organizer", "admin"]).as_deref(), Some("did you mean `organizer`?"));
        assert_eq!(did_you_mean("zzz", ["organizer", "admin"]), None);
    }
}
