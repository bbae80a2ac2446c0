//! A directory file read straight from the YAML parser's events: the fast path for large
//! directory files. Serde (`parse::<RawDirectoryFile>`) costs about twice what the events
//! alone do, so a file in the plain shape rollcall's directory files have — `users:` a list
//! of mappings of scalars, `groups:` a mapping of `members`/`groups` lists — is read here.
//!
//! The events are the very ones serde-saphyr reads (the same parser), and so are the spans.
//! Anything outside the plain shape — an anchor, alias, tag, merge key, duplicate key, a
//! null where a name belongs, a second document, a syntax error, an unknown key — makes
//! this reader give up (`None`), and the caller parses the file with serde, which says
//! precisely what is wrong. It never decides anything serde would decide differently:
//! `tests` hold the two to the same result.

use granit_parser::{Event, Parser, ScalarStyle, Span};
use miette::SourceSpan;
use std::sync::Arc;

use super::super::RawDirectoryFile;
use super::span;

mod split;

/// A directory file: its people and groups, with the spans diagnostics underline.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DirectoryFile {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct User {
    /// Where the record's mapping starts.
    pub span: SourceSpan,
    /// In file order; `None` for a null value.
    /// Each name shared (`vocab::shared_name`), each value as long as it is.
    pub attributes: Vec<(Arc<str>, Option<Box<str>>)>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub span: SourceSpan,
    pub members: Vec<(String, SourceSpan)>,
    pub groups: Vec<(String, SourceSpan)>,
}

impl From<RawDirectoryFile> for DirectoryFile {
    fn from(raw: RawDirectoryFile) -> Self {
        let names = |list: Vec<super::Spanned<String>>| list.into_iter().map(|m| (m.value.clone(), span(&m))).collect();
        DirectoryFile {
            users: raw
                .users
                .into_iter()
                .map(|u| User {
                    span: span(&u),
                    attributes: u
                        .value
                        .0
                        .into_iter()
                        .map(|(k, v)| (crate::vocab::shared_name(&k), v.0.map(String::into_boxed_str)))
                        .collect(),
                })
                .collect(),
            groups: raw
                .groups
                .0
                .into_iter()
                .map(|(name, g)| Group {
                    span: span(&name),
                    name: name.value,
                    members: names(g.members),
                    groups: names(g.groups),
                })
                .collect(),
        }
    }
}

/// Larger inputs go to serde, whose budget refuses them with a diagnostic.
const MAX_INPUT: usize = 256 * 1024 * 1024;

/// Files from this size on are read on two cores when they can be cut (`split`).
const SPLIT_FROM: usize = 1 << 20;

/// `text` as a directory file, or `None` when it is not in the plain shape (then serde reads it).
pub fn read(text: &str) -> Option<DirectoryFile> {
    read_with(text, SPLIT_FROM)
}

/// `read`, cutting files from `split_from` bytes on where `split` finds a safe cut.
fn read_with(text: &str, split_from: usize) -> Option<DirectoryFile> {
    if text.len() > MAX_INPUT {
        return None;
    }
    if text.len() >= split_from
        && let Some(cut) = split::find(text)
        && let Some(file) = read_in_halves(text, cut)
    {
        return Some(file);
    }
    read_document(text, Shift::NONE, None)
}

/// The head (the file without the items from `cut.at` to `cut.end`) on this core, the tail
/// (those items) on the other; `None` when either is not in the plain shape, or the head's
/// `users` key is not where the cut says (then the file is read whole).
fn read_in_halves(text: &str, cut: split::Cut) -> Option<DirectoryFile> {
    let mut head = String::with_capacity(text.len() - (cut.end - cut.at));
    head.push_str(&text[..cut.at]);
    head.push_str(&text[cut.end..]);
    let (head, tail) = std::thread::scope(|s| {
        let tail = s.spawn(|| read_items(&text[cut.at..cut.end], cut.at));
        let head = read_document(&head, Shift { from: cut.at, by: cut.end - cut.at }, Some(cut.users));
        (head, tail.join().ok().flatten())
    });
    let mut file = head?;
    file.users.extend(tail?);
    Some(file)
}

/// A list of user records on its own (the tail of a cut file), its spans moved by `by`.
fn read_items(text: &str, by: usize) -> Option<Vec<User>> {
    let mut r = Reader::new(text, Shift { from: 0, by });
    r.expect(|e| matches!(e, Event::StreamStart))?;
    r.expect(|e| matches!(e, Event::DocumentStart(..)))?;
    let users = r.users()?;
    r.expect(|e| matches!(e, Event::DocumentEnd))?;
    r.expect(|e| matches!(e, Event::StreamEnd))?;
    Some(users)
}

/// A whole document; with `users_at`, its `users` key must be at that offset.
fn read_document(text: &str, shift: Shift, users_at: Option<usize>) -> Option<DirectoryFile> {
    let mut r = Reader::new(text, shift);
    r.expect(|e| matches!(e, Event::StreamStart))?;
    r.expect(|e| matches!(e, Event::DocumentStart(..)))?;
    let mut file = DirectoryFile::default();
    r.mapping_start()?;
    let (mut users, mut groups) = (false, false);
    loop {
        match r.next()? {
            (Event::MappingEnd, _) => break,
            (Event::Scalar(key, style, 0, None), span) if !nullish(&key, style) => match &*key {
                "users" if !users => {
                    if users_at.is_some_and(|at| span.start.byte_offset() != Some(at)) {
                        return None;
                    }
                    users = true;
                    file.users = r.users()?;
                }
                "groups" if !groups => {
                    groups = true;
                    file.groups = r.groups()?;
                }
                _ => return None,
            },
            _ => return None,
        }
    }
    if users_at.is_some() && !users {
        return None;
    }
    r.expect(|e| matches!(e, Event::DocumentEnd))?;
    r.expect(|e| matches!(e, Event::StreamEnd))?;
    Some(file)
}

/// Spans from `from` on are `by` bytes further in the file than in the text read.
#[derive(Clone, Copy)]
struct Shift {
    from: usize,
    by: usize,
}

impl Shift {
    const NONE: Shift = Shift { from: usize::MAX, by: 0 };
}

struct Reader<'a> {
    events: Parser<'a, granit_parser::StrInput<'a>>,
    shift: Shift,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str, shift: Shift) -> Self {
        // serde-saphyr's parser settings: the defaults, comments not reported.
        let options = granit_parser::options! { emit_comments: false };
        Reader { events: Parser::new_from_str_with_options(text, options), shift }
    }

    /// The byte span serde-saphyr gives the node of this event, where it is in the file.
    fn span(&self, span: &Span) -> SourceSpan {
        match (span.start.byte_offset(), span.end.byte_offset()) {
            (Some(start), Some(end)) => {
                let at = if start >= self.shift.from { start + self.shift.by } else { start };
                (at, end.saturating_sub(start)).into()
            }
            _ => (0, 0).into(),
        }
    }

    fn next(&mut self) -> Option<(Event<'a>, Span)> {
        self.events.next()?.ok()
    }

    fn expect(&mut self, want: impl Fn(&Event<'a>) -> bool) -> Option<Span> {
        let (event, span) = self.next()?;
        want(&event).then_some(span)
    }

    /// A mapping with neither anchor nor tag.
    fn mapping_start(&mut self) -> Option<Span> {
        self.expect(|e| matches!(e, Event::MappingStart(_, 0, None)))
    }

    fn sequence_start(&mut self) -> Option<Span> {
        self.expect(|e| matches!(e, Event::SequenceStart(_, 0, None)))
    }

    fn users(&mut self) -> Option<Vec<User>> {
        self.sequence_start()?;
        let mut users = Vec::new();
        // One list reused for every record's attributes, each record then given a copy of
        // just the size it needs.
        let mut attributes: Vec<(Arc<str>, Option<Box<str>>)> = Vec::with_capacity(8);
        loop {
            let span = match self.next()? {
                (Event::SequenceEnd, _) => return Some(users),
                (Event::MappingStart(_, 0, None), span) => span,
                _ => return None,
            };
            loop {
                let key = match self.next()? {
                    (Event::MappingEnd, _) => break,
                    (Event::Scalar(key, style, 0, None), _) if !nullish(&key, style) && key != "<<" => key,
                    _ => return None,
                };
                // A key twice is serde's error to report.
                if attributes.iter().any(|(k, _)| **k == *key) {
                    return None;
                }
                let value = match self.next()? {
                    (Event::Scalar(value, style, 0, None), _) => {
                        (!nullish(&value, style)).then(|| Box::from(value.as_ref()))
                    }
                    _ => return None,
                };
                attributes.push((crate::vocab::shared_name(&key), value));
            }
            let mut exact = Vec::with_capacity(attributes.len());
            exact.append(&mut attributes);
            users.push(User { span: self.span(&span), attributes: exact });
        }
    }

    fn groups(&mut self) -> Option<Vec<Group>> {
        self.mapping_start()?;
        let mut groups: Vec<Group> = Vec::new();
        loop {
            let (name, span) = match self.next()? {
                (Event::MappingEnd, _) => return Some(groups),
                (Event::Scalar(name, style, 0, None), span) if !nullish(&name, style) && name != "<<" => (name, span),
                _ => return None,
            };
            if groups.iter().any(|g| *g.name == *name) {
                return None;
            }
            let mut group =
                Group { name: name.into_owned(), span: self.span(&span), members: Vec::new(), groups: Vec::new() };
            self.mapping_start()?;
            let (mut members, mut nested) = (false, false);
            loop {
                let list = match self.next()? {
                    (Event::MappingEnd, _) => break,
                    (Event::Scalar(key, style, 0, None), _) if !nullish(&key, style) => match &*key {
                        "members" if !members => {
                            members = true;
                            &mut group.members
                        }
                        "groups" if !nested => {
                            nested = true;
                            &mut group.groups
                        }
                        _ => return None,
                    },
                    _ => return None,
                };
                self.sequence_start()?;
                loop {
                    match self.next()? {
                        (Event::SequenceEnd, _) => break,
                        (Event::Scalar(value, style, 0, None), span) if !nullish(&value, style) => {
                            list.push((value.into_owned(), self.span(&span)));
                        }
                        _ => return None,
                    }
                }
            }
            groups.push(group);
        }
    }
}

/// serde-saphyr's null: a plain scalar spelled as YAML's null.
fn nullish(value: &str, style: ScalarStyle) -> bool {
    style == ScalarStyle::Plain && matches!(value, "" | "~" | "null" | "Null" | "NULL")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::diag;

    /// What serde makes of `text` (None: it refuses the file).
    fn by_serde(text: &str) -> Option<DirectoryFile> {
        super::super::parse::<RawDirectoryFile>(&diag::source("people.yaml", text.to_owned()))
            .ok()
            .map(DirectoryFile::from)
    }

    /// The fast path either gives up or agrees with serde, spans included.
    fn agrees(text: &str) -> Option<DirectoryFile> {
        let fast = read(text);
        if let Some(fast) = &fast {
            assert_eq!(Some(fast), by_serde(text).as_ref(), "the fast path read {text:?} differently");
        }
        fast
    }

    #[test]
    fn plain_files_are_read_from_events_exactly_as_serde_reads_them() {
        for text in [
            "users:\n  - userPrincipalName: ada@acme.example\n    givenName: Ada\n",
            "users:\n- userPrincipalName: ada@acme.example\n  employeeId: 007\n  accountEnabled: false\n",
            "# people\nusers:\n  - {userPrincipalName: 'ada@acme.example', surname: \"Lovelace\\u00e9\", mail: ~}\n",
            "users:\n  - userPrincipalName: a@x.example\n    note: |\n      two\n      lines\n    other: >-\n      folded\n      text\n",
            "users: []\ngroups: {}\n",
            "groups:\n  staff:\n    groups: [eng, 'ops']\n  eng:\n    members:\n      - ada@acme.example\n      - \"bob@acme.example\"\n  ops: {}\n",
            "users:\n  - userPrincipalName: a@x.example\n    empty: ''\n    nothing:\n    tilde: ~\n    word: null\n    quoted: 'null'\n",
            "---\nusers:\n  - userPrincipalName: a@x.example\n...\n",
            "users:\n  - userPrincipalName: zoë@x.example\n    displayName: Zoë Ærø 🙂\n    long: this is a plain\n      scalar over two lines\n",
            "users:\n  - userPrincipalName: a@x.example\n    n: 1.50\n    hex: 0x1F\n    b: yes\n    date: 2024-01-01\n",
        ] {
            assert!(agrees(text).is_some(), "the fast path gave up on a plain file: {text:?}");
        }
    }

    #[test]
    fn anything_else_is_left_to_serde() {
        for text in [
            "",
            "users:\n  - &a {userPrincipalName: a@x.example}\n  - *a\n",
            "users:\n  - userPrincipalName: !!str a@x.example\n",
            "users:\n  - userPrincipalName: a@x.example\n    userPrincipalName: b@x.example\n",
            "users:\n  - <<: {givenName: A}\n    userPrincipalName: a@x.example\n",
            "users:\n  - userPrincipalName: a@x.example\npeople: []\n",
            "users:\n  - userPrincipalName: [a, b]\n",
            "users:\n  - ~: a\n",
            "users:\nusers: []\n",
            "users: [a, b]\n",
            "groups:\n  staff:\n    members: [~]\n",
            "groups:\n  staff:\n    owners: [a]\n",
            "groups:\n  staff:\n  eng: {}\n",
            "groups:\n  staff: {}\n  staff: {}\n",
            "users:\n  - userPrincipalName: a@x.example\n---\nusers: []\n",
            "users:\n  - userPrincipalName: 'unterminated\n",
            "users:\n\t- userPrincipalName: a@x.example\n",
        ] {
            assert_eq!(agrees(text), None, "the fast path took {text:?}");
        }
    }

    /// A scalar in one of YAML's spellings: mostly ordinary text, now and then text that is
    /// something else when written plain (a key, an alias, a tag, a flow collection...).
    fn scalar() -> impl Strategy<Value = String> {
        let ordinary = prop::sample::select(vec![
            "ada@acme.example",
            "Zoë",
            "a b",
            "1.5",
            "007",
            "yes",
            "false",
            "null",
            "~",
            "",
            "#not",
            "it's",
            "é🙂",
            "a,b",
            "x:y",
        ]);
        let hazard = prop::sample::select(vec![
            "x: y",
            "\"q\"",
            "- dash",
            "tab\there",
            "*star",
            "&amp",
            "!bang",
            "[x]",
            "{y}",
            "<<",
            "line\nbreak",
        ]);
        let word = prop_oneof![6 => ordinary, 1 => hazard];
        (word, prop_oneof![3 => Just(0usize), 1 => Just(1), 1 => Just(2), 1 => Just(3)]).prop_map(|(w, style)| {
            match style {
                0 => w.to_owned(),
                1 => format!("'{}'", w.replace('\'', "''")),
                2 => format!("{:?}", w),
                _ => format!("|-\n        {}", w.replace('\n', "\n        ")),
            }
        })
    }

    fn file() -> impl Strategy<Value = String> {
        let keys = vec!["userPrincipalName", "mail", "givenName", "surname", "groups", "users"];
        let user = prop::sample::subsequence(keys, 0..4).prop_flat_map(|keys| {
            let n = keys.len();
            (Just(keys), prop::collection::vec(scalar(), n))
        });
        let groups = prop::sample::subsequence(vec!["staff", "eng", "ops", "~"], 0..3).prop_flat_map(|names| {
            let n = names.len();
            (Just(names), prop::collection::vec((prop::collection::vec(scalar(), 0..3), any::<bool>()), n))
        });
        (prop::collection::vec((user, any::<bool>()), 0..4), groups, any::<u8>()).prop_map(
            |(users, (names, groups), noise)| {
                let mut text = String::from(if users.is_empty() { "users: []\n" } else { "users:\n" });
                for ((keys, values), flow) in users {
                    let fields: Vec<(&str, String)> = keys.into_iter().zip(values).collect();
                    if flow {
                        let inner: Vec<String> = fields
                            .iter()
                            .filter(|(_, v)| !v.starts_with('|'))
                            .map(|(k, v)| format!("{k}: {v}"))
                            .collect();
                        text.push_str(&format!("  - {{{}}}\n", inner.join(", ")));
                    } else if fields.is_empty() {
                        text.push_str("  - {}\n");
                    } else {
                        for (i, (k, v)) in fields.iter().enumerate() {
                            let lead = if i == 0 { "  - " } else { "    " };
                            text.push_str(&format!("{lead}{k}: {v}\n"));
                        }
                    }
                }
                text.push_str(if names.is_empty() { "groups: {}\n" } else { "groups:\n" });
                for (name, (members, nested)) in names.into_iter().zip(groups) {
                    let field = if nested { "groups" } else { "members" };
                    let members: Vec<&String> = members.iter().filter(|m| !m.starts_with('|')).collect();
                    if members.is_empty() {
                        text.push_str(&format!("  {name}:\n    {field}: []\n"));
                        continue;
                    }
                    text.push_str(&format!("  {name}:\n    {field}:\n"));
                    for m in members {
                        text.push_str(&format!("      - {m}\n"));
                    }
                }
                // Now and then a stray character somewhere: the fast path must give up
                // wherever serde refuses, and agree wherever it accepts.
                if noise % 3 == 0 && !text.is_empty() {
                    let at = (usize::from(noise) * 7919) % text.len();
                    let at = (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
                    text.insert(at, ['\t', ':', '-', '&', '"', '\'', ' ', '#'][usize::from(noise) % 8]);
                }
                text
            },
        )
    }

    /// The property below is worth something only if the generated files often take the
    /// fast path (not just serde's): a fixed sample of them must.
    #[test]
    fn the_generated_files_mostly_take_the_fast_path() {
        let fast = of_200(file(), |text| agrees(text).is_some());
        assert!(fast >= 60, "only {fast} of 200 generated files took the fast path");
    }

    /// How many of a fixed sample of 200 `strategy` values `counts` (the same 200 every run).
    fn of_200(strategy: impl Strategy<Value = String>, counts: impl Fn(&str) -> bool) -> usize {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::{Config, TestRng, TestRunner};
        let mut runner =
            TestRunner::new_with_rng(Config::default(), TestRng::deterministic_rng(Config::default().rng_algorithm));
        (0..200).filter(|_| counts(&strategy.new_tree(&mut runner).expect("a file").current())).count()
    }

    /// A file read in halves on two cores reads as it does whole (and as serde reads it);
    /// true when it was read in halves.
    fn halves_agree(text: &str) -> bool {
        let whole = read_with(text, usize::MAX);
        let halves = read_with(text, 0);
        assert_eq!(halves, whole, "read in halves, {text:?} reads differently");
        if let Some(fast) = &whole {
            assert_eq!(Some(fast), by_serde(text).as_ref(), "the fast path read {text:?} differently");
        }
        split::find(text).and_then(|cut| read_in_halves(text, cut)).is_some()
    }

    #[test]
    fn a_file_cut_in_two_reads_as_it_does_whole() {
        let plain = "groups:\n  staff:\n    members: [a@x.example, c@x.example]\nusers:\n  - userPrincipalName: a@x.example\n    surname: O'Connor\n  - userPrincipalName: b@x.example\n    note: |\n      two\n      lines\n  # a comment\n\n  - userPrincipalName: c@x.example\n    long: a plain\n      scalar\n  - userPrincipalName: d@x.example\ngroups2: x\n";
        assert!(!halves_agree(plain), "an unknown key after the list: not the plain shape, read by serde");
        let plain = plain.replace("groups2: x\n", "");
        assert!(halves_agree(&plain), "a plain file is read in halves");
        let groups_after = format!(
            "{}groups:\n  ops:\n    members:\n      - d@x.example\n",
            plain.split_once("users:").map(|(_, u)| format!("users:{u}")).unwrap()
        );
        assert!(halves_agree(&groups_after), "groups after the list are read from the head, moved back");
        let file = read_with(&groups_after, 0).unwrap();
        let ops = &file.groups[0].members[0];
        assert_eq!(&groups_after[ops.1.offset()..ops.1.offset() + ops.1.len()], "d@x.example");
        // A `users:` line inside a quoted scalar before the real list: the head finds the key
        // elsewhere, and the file is read whole.
        let decoy = "groups:\n  staff:\n    members:\n      - 'a@x.example\nusers:\n  - userPrincipalName: e@x.example\n  - userPrincipalName: f@x.example\n  - userPrincipalName: g@x.example\nx'\nusers:\n  - userPrincipalName: a@x.example\n";
        assert!(split::find(decoy).is_some(), "the decoy line is taken for the list");
        assert!(read_with(decoy, usize::MAX).is_some(), "the decoy is valid YAML: a member over several lines");
        assert!(!halves_agree(decoy), "but the head does not find the key there");
        // A quoted scalar over an item line: cut there, the head's quote would close in the
        // line after the list and the tail would read the rest as an item of its own.
        let quoted = "users:\n  - userPrincipalName: a@x.example\n    note: 'first\n  - userPrincipalName: fake@x.example\n      more'\nx: y'\n";
        assert!(!halves_agree(quoted), "a list with a quote in it is read whole");
    }

    /// Files with a long `users:` list: mostly plain items, now and then a quote, a flow
    /// collection, a multi-line scalar, a comment or a stray line; before it, groups with
    /// now and then a quoted scalar over several lines that holds a decoy `users:` list.
    fn long_file() -> impl Strategy<Value = String> {
        let item = (scalar(), scalar(), any::<u8>());
        (prop::collection::vec(item, 2..12), any::<u8>(), prop::sample::select(vec![0usize, 2, 4])).prop_map(
            |(items, decoy, indent)| {
                let pad = " ".repeat(indent);
                let mut text = String::from("groups:\n  staff:\n    members:\n      - u0@x.example\n");
                if decoy % 4 == 0 {
                    text.push_str(
                        "      - 'a@x.example\nusers:\n  - userPrincipalName: d@x.example\n  - mail: e@x.example\nx'\n",
                    );
                }
                text.push_str("users:\n");
                for (i, (given, other, shape)) in items.into_iter().enumerate() {
                    text.push_str(&format!("{pad}- userPrincipalName: u{i}@x.example\n"));
                    // mostly a plain item; sometimes a value from `scalar()` (quotes, block
                    // scalars, hazards), a comment or a stray line
                    match shape % 24 {
                        0 => text.push_str(&format!("{pad}  givenName: {given}\n")),
                        1 => text.push_str(&format!("{pad}  surname: {other}\n")),
                        2 => text.push_str(&format!("{pad}# {given}\n")),
                        3 => text.push_str(&format!("{}stray: {other}\n", " ".repeat(indent / 2))),
                        // a quoted scalar over a line that looks like an item
                        4 => text.push_str(&format!(
                            "{pad}  note: 'open\n{pad}- userPrincipalName: fake{i}@x.example\n{pad}    closed'\n"
                        )),
                        _ => text.push_str(&format!("{pad}  givenName: G{i}\n{pad}  surname: O'S{i}\n")),
                    }
                }
                if decoy % 7 == 1 {
                    text.push_str("groups2: {}\n");
                }
                text
            },
        )
    }

    #[test]
    fn the_long_files_are_often_read_in_halves() {
        let halves = of_200(long_file(), halves_agree);
        assert!(halves >= 40, "only {halves} of 200 generated files were read in halves");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        #[test]
        fn the_fast_path_never_disagrees_with_serde(text in file()) {
            agrees(&text);
            halves_agree(&text);
        }

        #[test]
        fn a_long_file_reads_the_same_in_halves_and_whole(text in long_file()) {
            halves_agree(&text);
        }
    }
}
