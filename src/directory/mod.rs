//! Where people and groups come from: rollcall YAML, Entra JSON exports, CSV.
//!
//! Every source is read into one `Directory`; a person is identified by
//! `userPrincipalName`, else `mail`, case-insensitively.

mod csv;
mod entra;
mod yaml;

// The index holds every person twice over: foldhash, not SipHash.
use foldhash::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::SourceSpan;

use crate::diag::{self, Code, Problem, Problems, Source};
use crate::manifest::files::{ManifestFs, WorkTree};
use crate::manifest::yaml::span;
use crate::manifest::{DirectoryFormat, RawDirectorySource};

/// A person's source attributes; null attributes are absent. Each name is shared by every
/// record that has it (`vocab::shared_name`): 100,000 records do not hold 100,000 copies of
/// "userPrincipalName".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes(Vec<(Arc<str>, Box<str>)>);

impl Attributes {
    fn with_capacity(n: usize) -> Self {
        Attributes(Vec::with_capacity(n))
    }
    /// The attributes a reader gave, null ones left out (in the reader's own allocation).
    fn from_read(read: Vec<(Arc<str>, Option<Box<str>>)>) -> Self {
        Attributes(read.into_iter().filter_map(|(name, value)| Some((name, value?))).collect())
    }
    /// Adds an attribute read from a source (a record names each once).
    fn push(&mut self, name: &str, value: impl Into<Box<str>>) {
        self.0.push((crate::vocab::shared_name(name), value.into()));
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| &**k == name).map(|(_, v)| &**v)
    }
    /// Sets or replaces an attribute.
    pub fn set(&mut self, name: &str, value: impl Into<Box<str>>) {
        match self.0.iter_mut().find(|(k, _)| &**k == name) {
            Some(slot) => slot.1 = value.into(),
            None => self.push(name, value),
        }
    }
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }
}

/// Where something was written: a file and a span in it.
#[derive(Debug, Clone)]
pub struct Origin {
    pub source: Source,
    pub span: SourceSpan,
}

impl Origin {
    pub fn new(source: &Source, span: impl Into<SourceSpan>) -> Self {
        Origin { source: source.clone(), span: span.into() }
    }
}

#[derive(Debug, Clone)]
pub struct Person {
    /// userPrincipalName, else mail, lower-cased (shared with the directory's index).
    pub id: Arc<str>,
    pub attributes: Attributes,
    pub origin: Origin,
    /// The manifest's `directory:` entry the record comes from (0-based), for
    /// `{ source: ..., role: ... }` assignments.
    pub entry: usize,
}

impl Person {
    /// A record's identity: `userPrincipalName`, else `mail`.
    pub fn identity(attributes: &Attributes) -> Option<String> {
        attributes
            .get("userPrincipalName")
            .filter(|s| !s.trim().is_empty())
            .or_else(|| attributes.get("mail").filter(|s| !s.trim().is_empty()))
            .map(|s| s.trim().to_lowercase())
    }
}

#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub members: Vec<(String, Origin)>,
    pub groups: Vec<(String, Origin)>,
    pub origin: Origin,
}

#[derive(Debug, Default)]
pub struct Directory {
    pub people: Vec<Person>,
    pub groups: Vec<Group>,
    /// Every attribute name some record has.
    pub attribute_names: std::collections::BTreeSet<String>,
    /// lower-cased userPrincipalName or mail -> index in `people`.
    index: HashMap<Arc<str>, usize>,
    group_index: HashMap<String, usize>,
    /// Each group's members as people, looked up once (`member_people`).
    members: std::sync::OnceLock<Vec<Vec<Option<usize>>>>,
}

impl Directory {
    /// The people `group` (an index into `groups`) lists, in its order: `None` for a member
    /// who is not in the directory. Validation and desired state both walk every group: the
    /// 100,000 lookups are made once, on first use, for a directory that is loaded whole.
    pub fn member_people(&self, group: usize) -> &[Option<usize>] {
        let all = self.members.get_or_init(|| {
            self.groups.iter().map(|g| g.members.iter().map(|(m, _)| self.person(m)).collect()).collect()
        });
        &all[group]
    }
    /// The index into `groups` of the group with this name.
    pub fn group_at(&self, name: &str) -> Option<usize> {
        self.group_index.get(name).copied()
    }
    /// The person a reference (userPrincipalName or mail, any case) names.
    pub fn person(&self, reference: &str) -> Option<usize> {
        self.index.get(crate::vocab::lowercase(reference.trim()).as_ref()).copied()
    }
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.group_index.get(name).map(|&i| &self.groups[i])
    }
    pub fn group_names(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().map(|g| g.name.as_str())
    }

    fn add_person(&mut self, person: Person, problems: &mut Problems) {
        if let Some(&other) = self.index.get(&person.id) {
            let first = &self.people[other];
            let mut p = Problem::new(Code::DuplicateUser, format!("{} is in the directory twice", person.id)).at(
                &person.origin.source,
                person.origin.span,
                "this record",
            );
            if Source::ptr_eq(&first.origin.source, &person.origin.source) {
                p = p.also(first.origin.span, "the same person first here");
            } else {
                let (line, col) = diag::line_col(first.origin.source.inner(), first.origin.span.offset());
                p.message = format!("{} (first in {}:{line}:{col})", p.message, first.origin.source.name());
            }
            problems.push(
                p.help("a person must appear in exactly one record; remove one of them or merge their attributes"),
            );
            return;
        }
        for name in person.attributes.names() {
            if !self.attribute_names.contains(name) {
                self.attribute_names.insert(name.to_owned());
            }
        }
        let i = self.people.len();
        self.index.insert(Arc::clone(&person.id), i);
        for key in ["userPrincipalName", "mail"] {
            // Usually the id itself: a copy only for a reference not yet indexed.
            if let Some(v) = person.attributes.get(key).map(|v| crate::vocab::lowercase(v.trim()))
                && !self.index.contains_key(v.as_ref())
            {
                self.index.insert(v.into(), i);
            }
        }
        self.people.push(person);
    }

    fn add_group(&mut self, group: Group, problems: &mut Problems) {
        if let Some(&other) = self.group_index.get(&group.name) {
            let first = &self.groups[other].origin;
            problems.push(
                Problem::new(Code::DuplicateGroup, format!("group `{}` is defined twice", group.name))
                    .at(&group.origin.source, group.origin.span, "defined again here")
                    .help(format!("it is first defined in {}; keep one definition", first.source.name())),
            );
            return;
        }
        self.group_index.insert(group.name.clone(), self.groups.len());
        self.groups.push(group);
    }
}

/// `accountEnabled` is `true` or `false` (any case, trimmed: the spellings Entra's JSON and
/// CSV exports use); anything else is a diagnostic at the value, never a guess.
fn check_account_enabled(record: &Record, problems: &mut Problems) {
    let Some(value) = record.attributes.get("accountEnabled") else { return };
    if account_enabled(value).is_some() {
        return;
    }
    let text: &str = record.origin.source.inner();
    let span = value_span(text, record.origin.span, value).unwrap_or(record.origin.span);
    problems.push(
        Problem::new(Code::InvalidBoolean, format!("accountEnabled is {value:?}, which is neither true nor false"))
            .at(&record.origin.source, span, "not true or false")
            .help("write true or false; rollcall does not guess whether this person should keep their account"),
    );
}

/// `accountEnabled` as a boolean: `true`/`false`, any case, trimmed.
pub fn account_enabled(value: &str) -> Option<bool> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Where `value` of `accountEnabled` is written: after the key on the record's lines when
/// the key is there (YAML, JSON), else the value standing alone in the record's line (CSV).
fn value_span(text: &str, record: SourceSpan, value: &str) -> Option<SourceSpan> {
    let needle = value.trim();
    if needle.is_empty() {
        return None;
    }
    let from = text[..record.offset().min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let mut to = (from + 8192).min(text.len());
    while !text.is_char_boundary(to) {
        to -= 1;
    }
    let window = &text[from..to];
    let after = window.find("accountEnabled").map_or(0, |i| i + "accountEnabled".len());
    let alone = |at: usize| {
        let before = window[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        let next = window[at + needle.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        before && next
    };
    let at = window[after..].match_indices(needle).map(|(i, _)| after + i).find(|&i| alone(i))?;
    Some((from + at, needle.len()).into())
}

/// A record read from some source, before identity checks.
struct Record {
    attributes: Attributes,
    origin: Origin,
}

/// What one source file contributes.
#[derive(Default)]
struct Contribution {
    records: Vec<Record>,
    groups: Vec<Group>,
    /// (group, member, where): memberships a record states itself (a CSV `groups` column).
    memberships: Vec<(String, String, Origin)>,
}

/// An entra-group-members file: the group it names, where, and its members.
type GroupMembers = (String, Origin, Vec<(String, Origin)>);

/// Reads every directory source of the manifest in `dir`.
pub fn load(dir: &Path, sources: &[RawDirectorySource], root: &Source, problems: &mut Problems) -> Directory {
    load_from(&WorkTree, dir, sources, root, problems)
}

/// Reads every directory source of the manifest in `dir` of `fs`.
pub fn load_from(
    fs: &dyn ManifestFs,
    dir: &Path,
    sources: &[RawDirectorySource],
    root: &Source,
    problems: &mut Problems,
) -> Directory {
    let mut steps = Vec::new();
    for entry in sources.iter().enumerate() {
        read_entry(fs, dir, entry, root, &mut steps);
    }
    // Files are parsed concurrently (they are independent) and merged in manifest order, so
    // that people, groups and problems come out exactly as a sequential read would give them.
    let outcomes = parse_all(&steps);
    merge(steps, outcomes, problems)
}

/// The parsed files' people and groups, and every problem, in manifest order.
fn merge(steps: Vec<Step>, outcomes: Vec<Option<(Parsed, Problems)>>, problems: &mut Problems) -> Directory {
    let mut directory = Directory::default();
    let mut group_member_files: Vec<GroupMembers> = Vec::new();
    let mut memberships = Vec::new();
    // Room for everyone at once (the list lives until the plan is made).
    let records = outcomes.iter().flatten().map(|(parsed, _)| match parsed {
        Parsed::Contribution(Some(c)) => c.records.len(),
        _ => 0,
    });
    directory.people.reserve_exact(records.sum());
    for (step, outcome) in steps.into_iter().zip(outcomes) {
        let (entry, (contribution, file_problems)) = match (step, outcome) {
            (Step::Report(p), _) => {
                problems.push(p);
                continue;
            }
            (Step::Parse(parse), outcome) => (parse.entry, outcome.expect("every parse step has an outcome")),
        };
        problems.0.extend(file_problems.0);
        match contribution {
            Parsed::Members(group, origin, members) => group_member_files.push((group, origin, members)),
            Parsed::Contribution(None) => {}
            Parsed::Contribution(Some(contribution)) => {
                for record in contribution.records {
                    check_account_enabled(&record, problems);
                    match Person::identity(&record.attributes) {
                        Some(id) => directory.add_person(
                            Person { id: id.into(), attributes: record.attributes, origin: record.origin, entry },
                            problems,
                        ),
                        None => problems.push(
                            Problem::new(Code::MissingIdentity, "this record has neither userPrincipalName nor mail")
                                .at(&record.origin.source, record.origin.span, "who is this?")
                                .help("rollcall identifies people by userPrincipalName, else mail; add one of them"),
                        ),
                    }
                }
                for group in contribution.groups {
                    directory.add_group(group, problems);
                }
                memberships.extend(contribution.memberships);
            }
        }
    }
    // Group-member files name a group and its members; the group may also be defined in YAML
    // (then the members are added to it).
    for (name, origin, members) in group_member_files {
        match directory.group_index.get(&name) {
            Some(&i) => directory.groups[i].members.extend(members),
            None => directory.add_group(Group { name, members, groups: Vec::new(), origin }, problems),
        }
    }
    // A CSV `groups` column: the group is created by its first member unless defined elsewhere.
    for (name, member, origin) in memberships {
        match directory.group_index.get(&name) {
            Some(&i) => directory.groups[i].members.push((member, origin)),
            None => directory.add_group(
                Group { name, members: vec![(member, origin.clone())], groups: Vec::new(), origin },
                problems,
            ),
        }
    }
    directory
}

/// What one `directory:` entry contributes to `steps`: a problem with the entry, or a
/// parse of each file it names.
fn read_entry(
    fs: &dyn ManifestFs,
    dir: &Path,
    (entry_index, entry): (usize, &RawDirectorySource),
    root: &Source,
    steps: &mut Vec<Step>,
) {
    let format =
        match &entry.format {
            Some(f) => match DirectoryFormat::parse(&f.value) {
                Some(fmt) => fmt,
                None => {
                    let mut p = Problem::new(Code::DirectoryFormat, format!("unknown directory format `{}`", f.value))
                        .at(root, span(f), "not a format rollcall reads");
                    p = p.help(
                        diag::did_you_mean(&f.value, DirectoryFormat::NAMES)
                            .unwrap_or_else(|| format!("use one of: {}", DirectoryFormat::NAMES.join(", "))),
                    );
                    steps.push(Step::Report(p));
                    return;
                }
            },
            None => infer_format(&entry.path.value),
        };
    if let Err(p) = pull_of(entry, format, root) {
        steps.push(Step::Report(p));
    }
    if format == DirectoryFormat::EntraGroupMembers && entry.group.is_none() {
        steps.push(Step::Report(
            Problem::new(Code::DirectoryFormat, "an entra-group-members source needs `group:`")
                .at(root, span(&entry.path), "whose members are these?")
                .help("add `group: <name>`, the group this file lists the members of"),
        ));
        return;
    }
    if let Err(why) = confined(&entry.path.value) {
        steps.push(Step::Report(
            Problem::new(Code::UnsafePath, format!("the directory path `{}` {why}", diag_text(&entry.path.value)))
                .at(root, span(&entry.path), "outside the manifest directory")
                .help(
                    "directory files live inside the manifest directory: give a relative path without `..` out of it",
                ),
        ));
        return;
    }
    let files = match expand(fs, dir, &entry.path.value) {
        Ok(files) if !files.is_empty() => files,
        Ok(_) => {
            steps.push(Step::Report(
                Problem::new(Code::MissingDirectoryFile, format!("no file matches `{}`", entry.path.value))
                    .at(root, span(&entry.path), "nothing here")
                    .help(format!("paths are relative to the manifest directory {}", dir.display())),
            ));
            return;
        }
        Err(e) => {
            steps.push(Step::Report(
                Problem::new(Code::MissingDirectoryFile, format!("invalid path pattern `{}`: {e}", entry.path.value))
                    .at(root, span(&entry.path), "invalid pattern"),
            ));
            return;
        }
    };
    for file in files {
        let shown = fs.display(&file);
        if !fs.inside(dir, &file) {
            steps.push(Step::Report(
                Problem::new(
                    Code::UnsafePath,
                    format!("{} leads outside the manifest directory (a symbolic link)", diag_text(&shown)),
                )
                .at(root, span(&entry.path), "listed here")
                .help("directory files live inside the manifest directory: copy the file in instead of linking to it"),
            ));
            continue;
        }
        match fs.read(&file) {
            Ok(text) => {
                // A UTF-8 byte order mark (Excel's CSV, PowerShell's JSON) is not content.
                let text = match text.strip_prefix('\u{feff}') {
                    Some(rest) => rest.to_owned(),
                    None => text,
                };
                let group = entry.group.as_ref().map(|g| (g.value.clone(), Origin::new(root, span(g))));
                steps.push(Step::Parse(Parse {
                    format,
                    source: diag::source(&shown, text),
                    group,
                    entry: entry_index,
                }));
            }
            Err(e) => steps.push(Step::Report(
                Problem::new(Code::MissingDirectoryFile, format!("cannot read {shown}: {e}"))
                    .at(root, span(&entry.path), "listed here")
                    .help("check that the file exists and is readable UTF-8"),
            )),
        }
    }
}

/// What reading the directory sources does, in manifest order.
enum Step {
    /// A problem found while resolving the sources.
    Report(Problem),
    Parse(Parse),
}

struct Parse {
    format: DirectoryFormat,
    source: Source,
    /// entra-group-members: the group the file lists, and where the manifest names it.
    group: Option<(String, Origin)>,
    /// Index of the `directory:` entry.
    entry: usize,
}

enum Parsed {
    Contribution(Option<Contribution>),
    Members(String, Origin, Vec<(String, Origin)>),
}

impl Parse {
    fn run(&self) -> (Parsed, Problems) {
        let mut problems = Problems::default();
        let parsed = match self.format {
            DirectoryFormat::Yaml => Parsed::Contribution(yaml::read(&self.source, &mut problems)),
            DirectoryFormat::EntraJson => Parsed::Contribution(entra::read_users(&self.source, &mut problems)),
            DirectoryFormat::Csv => Parsed::Contribution(csv::read(&self.source, &mut problems)),
            DirectoryFormat::EntraGroupMembers => {
                let (group, origin) = self.group.clone().expect("checked when the source was resolved");
                Parsed::Members(group, origin, entra::read_members(&self.source, &mut problems))
            }
        };
        (parsed, problems)
    }
}

/// Runs the parse steps on up to `available_parallelism` threads; the outcome of step `i`
/// is at `i` (`None` for the other steps).
fn parse_all(steps: &[Step]) -> Vec<Option<(Parsed, Problems)>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Mutex, PoisonError};

    let jobs = steps.iter().filter(|s| matches!(s, Step::Parse(_))).count();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(jobs);
    if threads <= 1 {
        return steps.iter().map(|s| if let Step::Parse(p) = s { Some(p.run()) } else { None }).collect();
    }
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new((0..steps.len()).map(|_| None).collect::<Vec<_>>());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(step) = steps.get(i) else { break };
                    if let Step::Parse(p) = step {
                        let outcome = p.run();
                        outcomes.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(outcome);
                    }
                }
            });
        }
    });
    outcomes.into_inner().unwrap_or_else(PoisonError::into_inner)
}

/// Where `rollcall pull` fetches a directory file from in Microsoft Graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pull {
    /// `/users`: every user of the tenant.
    AllUsers,
    /// `/users?$filter=...`
    Filter(String),
    /// `/groups/{id}/transitiveMembers/microsoft.graph.user`
    Group(String),
}

/// The checked `pull:` of a directory source: `None` when it has none.
pub fn pull_of(entry: &RawDirectorySource, format: DirectoryFormat, root: &Source) -> Result<Option<Pull>, Problem> {
    let Some(raw) = &entry.pull else { return Ok(None) };
    let at = |message: String, label: &str, help: &str| {
        let mut p = Problem::new(Code::PullShape, message);
        if crate::manifest::yaml::has_span(raw) {
            p = p.at(root, span(raw), label);
        }
        p.help(help.to_owned())
    };
    if !matches!(format, DirectoryFormat::EntraJson | DirectoryFormat::EntraGroupMembers) {
        return Err(at(
            format!("`pull:` fills entra-json and entra-group-members files, not {} files", format_name(format)),
            "rollcall pull cannot write this format",
            "add `format: entra-json` (or entra-group-members with `group:`), or remove `pull:`",
        ));
    }
    if entry.path.value.contains(['*', '?', '[']) {
        return Err(at(
            format!("`pull:` needs one file, and `{}` is a pattern", entry.path.value),
            "pulled into which file?",
            "name one file in `path:` (a new one is created by `rollcall pull`)",
        ));
    }
    let r = &raw.value;
    let pull = match (&r.users, &r.filter, &r.group) {
        (Some(u), None, None) if u.value == "all" => Pull::AllUsers,
        (Some(u), None, None) => {
            return Err(at(
                format!("`users: {}` is not a pull; the only value is `all`", u.value),
                "expected `users: all`",
                "write `users: all`, or `filter: \"<OData $filter>\"` for some of them",
            ));
        }
        (None, Some(f), None) if !f.value.trim().is_empty() => Pull::Filter(f.value.trim().to_owned()),
        (None, None, Some(g)) if is_object_id(&g.value) => Pull::Group(g.value.trim().to_ascii_lowercase()),
        (None, None, Some(g)) => {
            return Err(at(
                format!("`{}` is not a group object id", g.value),
                "expected a GUID such as 0b1f...-...",
                "name the group by its object id (Entra admin center > Groups > the group > Object ID); names can repeat, ids cannot",
            ));
        }
        _ => {
            return Err(at(
                "`pull:` takes exactly one of `users: all`, `filter:` or `group:`".to_owned(),
                "one of them, once",
                "e.g. `pull: { users: all }`, `pull: { filter: \"department eq 'Sales'\" }` or `pull: { group: <object id> }`",
            ));
        }
    };
    if format == DirectoryFormat::EntraGroupMembers && !matches!(pull, Pull::Group(_)) {
        return Err(at(
            "an entra-group-members file lists one group's members: its `pull:` is `group: <object id>`".to_owned(),
            "not a group",
            "use `pull: { group: <object id> }` here, or `format: entra-json` for a list of users",
        ));
    }
    Ok(Some(pull))
}

/// An Entra object id: a GUID (8-4-4-4-12 hex digits).
pub fn is_object_id(s: &str) -> bool {
    let s = s.trim();
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn format_name(format: DirectoryFormat) -> &'static str {
    match format {
        DirectoryFormat::Yaml => "yaml",
        DirectoryFormat::EntraJson => "entra-json",
        DirectoryFormat::EntraGroupMembers => "entra-group-members",
        DirectoryFormat::Csv => "csv",
    }
}

/// The format of a directory source: as written, else from the file's extension.
pub fn format_of(entry: &RawDirectorySource) -> Option<DirectoryFormat> {
    match &entry.format {
        Some(f) => DirectoryFormat::parse(&f.value),
        None => Some(infer_format(&entry.path.value)),
    }
}

fn infer_format(path: &str) -> DirectoryFormat {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".json") {
        DirectoryFormat::EntraJson
    } else if lower.ends_with(".csv") {
        DirectoryFormat::Csv
    } else {
        DirectoryFormat::Yaml
    }
}

/// Why a directory path or glob may not be read: absolute, or `..` out of the folder.
fn confined(pattern: &str) -> Result<(), &'static str> {
    let path = Path::new(pattern);
    if path.has_root() || path.components().any(|c| matches!(c, std::path::Component::Prefix(_))) {
        return Err("is absolute");
    }
    let mut depth = 0usize;
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                depth = depth.checked_sub(1).ok_or("leads out of the manifest directory with `..`")?
            }
            std::path::Component::Normal(_) => depth += 1,
            _ => {}
        }
    }
    Ok(())
}

fn diag_text(s: &str) -> String {
    crate::printable::escape(s).into_owned()
}

/// A path or glob, relative to the manifest directory, to the files it names (sorted).
fn expand(fs: &dyn ManifestFs, dir: &Path, pattern: &str) -> Result<Vec<PathBuf>, glob::PatternError> {
    let full = dir.join(pattern);
    if !pattern.contains(['*', '?', '[']) {
        return Ok(if fs.is_file(&full) { vec![full] } else { Vec::new() });
    }
    fs.glob(&full.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_prefers_upn_then_mail() {
        let mut a = Attributes::default();
        a.set("mail", "Bob@Acme.Example");
        assert_eq!(Person::identity(&a).as_deref(), Some("bob@acme.example"));
        a.set("userPrincipalName", "robert@acme.example");
        assert_eq!(Person::identity(&a).as_deref(), Some("robert@acme.example"));
    }

    #[test]
    fn every_source_shares_one_copy_of_each_attribute_name() {
        let mut problems = Problems::default();
        let yaml = diag::source(
            "people.yaml",
            "users:\n  - { userPrincipalName: a@x.example, givenName: A }\n  - { userPrincipalName: b@x.example, givenName: B }\n",
        );
        let entra = diag::source(
            "users.json",
            r#"[{"userPrincipalName": "c@x.example", "give\u006eName": "C"}, {"userPrincipalName": "d@x.example", "givenName": "D"}]"#,
        );
        let csv = diag::source("people.csv", "userPrincipalName,givenName\ne@x.example,E\nf@x.example,F\n");
        let records: Vec<Record> = [
            yaml::read(&yaml, &mut problems),
            entra::read_users(&entra, &mut problems),
            csv::read(&csv, &mut problems),
        ]
        .into_iter()
        .flat_map(|c| c.expect("each source reads").records)
        .collect();
        assert!(problems.0.is_empty(), "{problems:?}");
        assert_eq!(records.len(), 6);
        let names: Vec<&Arc<str>> = records.iter().flat_map(|r| r.attributes.0.iter().map(|(n, _)| n)).collect();
        assert_eq!(names.len(), 12);
        let upn = names.iter().find(|n| &***n as &str == "userPrincipalName").unwrap();
        let given = names.iter().find(|n| &***n as &str == "givenName").unwrap();
        for name in &names {
            let shared = if &***name as &str == "givenName" { given } else { upn };
            assert!(Arc::ptr_eq(name, shared), "{name} is a copy of its own");
        }
        // An escaped name is the same name.
        assert_eq!(records[2].attributes.get("givenName"), Some("C"));
    }
}
