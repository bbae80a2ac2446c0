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

use super::super::RawDirectoryFile;
use super::span;

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
    pub attributes: Vec<(String, Option<String>)>,
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
                .map(|u| User { span: span(&u), attributes: u.value.0.into_iter().map(|(k, v)| (k, v.0)).collect() })
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

/// `text` as a directory file, or `None` when it is not in the plain shape (then serde reads it).
pub fn read(text: &str) -> Option<DirectoryFile> {
    if text.len() > MAX_INPUT {
        return None;
    }
    // serde-saphyr's parser settings: the defaults, comments not reported.
    let options = granit_parser::options! { emit_comments: false };
    let mut r = Reader { events: Parser::new_from_str_with_options(text, options) };
    r.expect(|e| matches!(e, Event::StreamStart))?;
    r.expect(|e| matches!(e, Event::DocumentStart(..)))?;
    let mut file = DirectoryFile::default();
    r.mapping_start()?;
    let (mut users, mut groups) = (false, false);
    loop {
        match r.next()? {
            (Event::MappingEnd, _) => break,
            (Event::Scalar(key, style, 0, None), _) if !nullish(&key, style) => match &*key {
                "users" if !users => {
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
    r.expect(|e| matches!(e, Event::DocumentEnd))?;
    r.expect(|e| matches!(e, Event::StreamEnd))?;
    Some(file)
}

struct Reader<'a> {
    events: Parser<'a, granit_parser::StrInput<'a>>,
}

impl<'a> Reader<'a> {
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
        loop {
            let span = match self.next()? {
                (Event::SequenceEnd, _) => return Some(users),
                (Event::MappingStart(_, 0, None), span) => span,
                _ => return None,
            };
            let mut attributes: Vec<(String, Option<String>)> = Vec::with_capacity(8);
            loop {
                let key = match self.next()? {
                    (Event::MappingEnd, _) => break,
                    (Event::Scalar(key, style, 0, None), _) if !nullish(&key, style) && key != "<<" => key,
                    _ => return None,
                };
                // A key twice is serde's error to report.
                if attributes.iter().any(|(k, _)| *k == *key) {
                    return None;
                }
                let value = match self.next()? {
                    (Event::Scalar(value, style, 0, None), _) => (!nullish(&value, style)).then(|| value.into_owned()),
                    _ => return None,
                };
                attributes.push((key.into_owned(), value));
            }
            users.push(User { span: source_span(&span), attributes });
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
                Group { name: name.into_owned(), span: source_span(&span), members: Vec::new(), groups: Vec::new() };
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
                            list.push((value.into_owned(), source_span(&span)));
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

/// The byte span serde-saphyr gives the node of this event.
fn source_span(span: &Span) -> SourceSpan {
    match (span.start.byte_offset(), span.end.byte_offset()) {
        (Some(start), Some(end)) => (start, end.saturating_sub(start)).into(),
        _ => (0, 0).into(),
    }
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
        use proptest::strategy::ValueTree;
        use proptest::test_runner::{Config, TestRng, TestRunner};
        let mut runner =
            TestRunner::new_with_rng(Config::default(), TestRng::deterministic_rng(Config::default().rng_algorithm));
        let strategy = file();
        let fast =
            (0..200).filter(|_| agrees(&strategy.new_tree(&mut runner).expect("a file").current()).is_some()).count();
        assert!(fast >= 60, "only {fast} of 200 generated files took the fast path");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        #[test]
        fn the_fast_path_never_disagrees_with_serde(text in file()) {
            agrees(&text);
        }
    }
}
